import CSwatch
import Glibc
import SystemPackage

/// A socket address as the kernel takes it (`struct sockaddr_storage` and its
/// length), built from the text forms of systemd.socket(5). Internal to the
/// Linux layer: the rest of swatchd speaks `ListenAddress`.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    var family: CInt { CInt(storage.ss_family) }

    /// Why an address could not be built (the caller names the address).
    enum Problem: Error {
        case invalid
        case unknownInterface(String)
        case pathTooLong
    }

    /// `[::]:port`, the wildcard of a bare port.
    static func ipv6Any(port: UInt16) -> SocketAddress {
        var address = SocketAddress()
        address.withStorage(of: sockaddr_in6.self) { sin6 in
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_addr = in6addr_any
        }
        address.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        return address
    }

    /// `0.0.0.0:port`, the wildcard of a bare port without IPv6.
    static func ipv4Any(port: UInt16) -> SocketAddress {
        var address = SocketAddress()
        address.withStorage(of: sockaddr_in.self) { sin in
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = INADDR_ANY
        }
        address.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return address
    }

    /// `a.b.c.d:port`
    static func ipv4(_ text: String, port: UInt16) throws(Problem) -> SocketAddress {
        var address = SocketAddress()
        var ok = false
        address.withStorage(of: sockaddr_in.self) { sin in
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            ok = text.withCString { inet_pton(AF_INET, $0, &sin.sin_addr) } == 1
        }
        guard ok else { throw .invalid }
        address.length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return address
    }

    /// `[v6]:port` or `[v6%scope]:port`; the scope is an interface name or index.
    static func ipv6(_ text: String, port: UInt16, scope: String?) throws(Problem) -> SocketAddress {
        var scopeID: UInt32 = 0
        if let scope {
            if let index = UInt32(scope) {
                scopeID = index
            } else {
                scopeID = if_nametoindex(scope)
                guard scopeID != 0 else { throw .unknownInterface(scope) }
            }
        }
        var address = SocketAddress()
        var ok = false
        address.withStorage(of: sockaddr_in6.self) { sin6 in
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = scopeID
            ok = text.withCString { inet_pton(AF_INET6, $0, &sin6.sin6_addr) } == 1
        }
        guard ok else { throw .invalid }
        address.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        return address
    }

    /// A unix socket at `path`, or in the abstract namespace when `abstract`
    /// (a leading NUL, and a length that ends at the name: no trailing NUL, as
    /// systemd and sd_notify(3) count it).
    static func unix(_ name: String, abstract: Bool) throws(Problem) -> SocketAddress {
        let bytes = Array(name.utf8)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        // A path needs room for its NUL; an abstract name for its leading NUL.
        guard bytes.count + 1 <= capacity, !bytes.isEmpty || abstract else { throw .pathTooLong }
        var address = SocketAddress()
        address.withStorage(of: sockaddr_un.self) { sun in
            sun.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sun.sun_path) { path in
                let start = abstract ? 1 : 0
                for (index, byte) in bytes.enumerated() { path[start + index] = byte }
            }
        }
        let base = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        address.length = socklen_t(abstract ? base + 1 + bytes.count : base + bytes.count + 1)
        return address
    }

    /// `struct sockaddr_nl` (netlink(7)): family, pad, port id 0 (the kernel assigns one),
    /// the multicast group mask. Built by bytes: Glibc does not import linux/netlink.h.
    static func netlink(groups: UInt32) -> SocketAddress {
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
            raw.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: groups, toByteOffset: 8, as: UInt32.self)
        }
        address.length = 12
        return address
    }

    /// `struct sockaddr_vm` (vsock(7)): family, reserved, port, CID, flags; 16 bytes.
    static func vsock(cid: UInt32, port: UInt32) -> SocketAddress {
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { raw in
            raw.storeBytes(of: sa_family_t(AF_VSOCK), toByteOffset: 0, as: sa_family_t.self)
            raw.storeBytes(of: port, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: cid, toByteOffset: 8, as: UInt32.self)
        }
        address.length = 16
        return address
    }

    /// Runs `body` with the storage seen as a `T` (sockaddr_in, sockaddr_in6, sockaddr_un).
    mutating func withStorage<T>(of: T.Type, _ body: (inout T) -> Void) {
        withUnsafeMutableBytes(of: &storage) { raw in
            body(&raw.baseAddress!.assumingMemoryBound(to: T.self).pointee)
        }
    }

    /// Runs `body` with a `sockaddr` pointer and length, for bind/connect/sendto.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Host text and port of an IP address: `127.0.0.1` for an IPv4-mapped
    /// IPv6 peer (as systemd's REMOTE_ADDR), no brackets; nil for other families.
    var hostAndPort: (host: String, port: UInt16)? {
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: storage) { raw in
                var sin = raw.load(as: sockaddr_in.self)
                return Self.text(AF_INET, &sin.sin_addr).map { ($0, UInt16(bigEndian: sin.sin_port)) }
            }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { raw in
                var sin6 = raw.load(as: sockaddr_in6.self)
                let port = UInt16(bigEndian: sin6.sin6_port)
                let bytes = withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) }
                if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                    return ("\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])", port)
                }
                return Self.text(AF_INET6, &sin6.sin6_addr).map { ($0, port) }
            }
        default:
            return nil
        }
    }

    /// inet_ntop(3) of the address at `address`, through a buffer on the stack: each
    /// Accept=yes connection's instance name has two (an array and a copy of it were
    /// ~2,000 instructions each).
    private static func text(_ family: CInt, _ address: UnsafeRawPointer) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
            guard let text = inet_ntop(family, address, buffer.baseAddress, socklen_t(buffer.count)) else { return nil }
            return String(cString: text)
        }
    }

    /// The local address of a socket. The corresponding C function is `getsockname`.
    static func local(of fd: FileDescriptor) throws(Errno) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try retryingOnInterrupt { () -> CInt in
            withUnsafeMutableBytes(of: &storage) { raw in
                getsockname(fd.rawValue, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
            }
        }
        return SocketAddress(storage: storage, length: length)
    }
}
