import Glibc

/// The few POSIX helpers swatchd-hello needs: errno text, socket options,
/// the monotonic clock. No Foundation: the example stays small.
enum Posix {
    /// "EACCES: Permission denied" — the symbolic name where it is one a test
    /// is likely to meet, then strerror's text.
    static func describe(errno code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EACCES: "EACCES", EINVAL: "EINVAL",
            EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
            EAFNOSUPPORT: "EAFNOSUPPORT", ENOTSOCK: "ENOTSOCK", EBADF: "EBADF",
            ENOPROTOOPT: "ENOPROTOOPT", EOPNOTSUPP: "EOPNOTSUPP", EMFILE: "EMFILE",
        ]
        let text = String(cString: strerror(code))
        return "\(names[code] ?? "errno \(code)"): \(text)"
    }

    /// An integer socket option, or nil when the socket does not have it
    /// (a TCP option on a unix socket, any option on a FIFO).
    /// The corresponding C function is `getsockopt`.
    static func socketOption(_ fd: Int32, level: Int32, name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    /// Reads a string socket option (TCP_CONGESTION), nil when the fd has none.
    static func socketOptionText(_ fd: Int32, level: Int32, name: Int32) -> String? {
        var bytes = [UInt8](repeating: 0, count: 64)
        var length = socklen_t(bytes.count)
        guard getsockopt(fd, level, name, &bytes, &length) == 0 else { return nil }
        return String(decoding: bytes.prefix(Int(length)).prefix(while: { $0 != 0 }), as: UTF8.self)
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt`.
    static func setSocketOption(_ fd: Int32, level: Int32, name: Int32, to value: Int32) -> Bool {
        var value = value
        return setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Writes one line to stderr (fd 2, unbuffered: a supervisor capturing
    /// the output sees it at once), prefixed with the program name.
    static func log(_ message: String) {
        let line = Array("swatchd-hello: \(message)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Milliseconds on CLOCK_MONOTONIC, for the watchdog schedule.
    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Binds a new TCP socket to `port` on every address and listens: `[::]`
    /// with IPV6_V6ONLY=0 (dual-stack, like the seed's Elixir release), or
    /// `0.0.0.0` where the kernel has no IPv6. Returns the fd, or the errno.
    static func listenTCP(port: UInt16) -> Result<Int32, Errno> {
        let stream = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var fd = socket(AF_INET6, stream, 0)
        var status: Int32
        if fd >= 0 {
            _ = setSocketOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, to: 0)
            _ = setSocketOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, to: 1)
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian  // sin6_addr zeroed: in6addr_any
            status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else if errno == EAFNOSUPPORT {
            fd = socket(AF_INET, stream, 0)
            guard fd >= 0 else { return .failure(Errno(errno)) }
            _ = setSocketOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, to: 1)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian  // sin_addr zeroed: INADDR_ANY
            status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            return .failure(Errno(errno))
        }
        if status == 0 { status = listen(fd, SOMAXCONN) }
        guard status == 0 else {
            let error = Errno(errno)
            close(fd)
            return .failure(error)
        }
        return .success(fd)
    }
}

/// An errno value carried as a Swift error.
struct Errno: Error, CustomStringConvertible {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { Posix.describe(errno: code) }
}
