// Listen*= addresses in the forms of systemd.socket(5) and socket_address_parse()
// (src/shared/socket-netlink.c): a port, `a.b.c.d:port`, `[v6]:port`
// (`[v6%iface]:port`), `/path` (at most 107 bytes: sun_path holds 108 with the
// NUL), `@abstract`, `vsock:CID:PORT` (socket_address_parse_vsock(), src/basic/socket-util.c);
// and ListenNetlink='s `FAMILY GROUP` (socket_address_parse_netlink()).

import Glibc

extension ListenAddress {
    /// The most a unix socket path may hold: sizeof(sun_path) minus the terminating NUL.
    static let maxUnixPathLength = 107

    /// Parses the value of ListenStream=/ListenDatagram=/ListenSequentialPacket= (or of
    /// `swatchd run -l`); the error says what is wrong, for the caller to name the key.
    package static func parse(_ text: String) -> Result<ListenAddress, ListenAddressError> {
        if text.hasPrefix("vsock:") { return parseVsock(text.dropFirst("vsock:".count)) }
        if text.hasPrefix("/") {
            guard text.utf8.count <= maxUnixPathLength else {
                return .failure(.init("Unix socket path is longer than \(maxUnixPathLength) bytes"))
            }
            guard ValueParser.isAbsolutePath(text) else { return .failure(.init("Invalid socket path")) }
            return .success(.unix(path: text))
        }
        if text.hasPrefix("@") {
            guard text.utf8.count - 1 <= maxUnixPathLength, text.count > 1 else {
                return .failure(.init("Abstract socket name is empty or longer than \(maxUnixPathLength) bytes"))
            }
            return .success(.abstract(name: String(text.dropFirst())))
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.init("Missing ']' in IPv6 address")) }
            var host = String(text[text.index(after: text.startIndex)..<close])
            let tail = text[text.index(after: close)...]
            guard tail.first == ":", let port = port(tail.dropFirst()) else {
                return .failure(.init("Invalid or missing port (1-65535)"))
            }
            var scope: String?
            if let percent = host.firstIndex(of: "%") {
                scope = String(host[host.index(after: percent)...])
                host = String(host[..<percent])
                guard let s = scope, !s.isEmpty, s.utf8.count < 16 else { return .failure(.init("Invalid interface name")) }
            }
            guard isAddress(host, family: AF_INET6) else { return .failure(.init("Invalid IPv6 address")) }
            return .success(.ipv6(address: host, port: port, scope: scope))
        }
        // By byte, as socket_address_parse() looks for the colon (strrchr()).
        if let colon = text.utf8.lastIndex(of: UInt8(ascii: ":")) {
            let host = String(decoding: text.utf8[..<colon], as: UTF8.self)
            guard isAddress(host, family: AF_INET) else { return .failure(.init("Invalid IPv4 address")) }
            guard let port = port(Substring(text.utf8[text.utf8.index(after: colon)...])) else {
                return .failure(.init("Invalid port (1-65535)"))
            }
            return .success(.ipv4(address: host, port: port))
        }
        guard let port = port(Substring(text)) else {
            return .failure(.init(text.allSatisfy(\.isASCIIDigit) && !text.isEmpty
                ? "Port is outside 1-65535" : "Not a port, address or absolute path"))
        }
        return .success(.port(port))
    }

    /// `CID:PORT` after `vsock:`. The CID is empty (any), `hypervisor` (0), `local` (1),
    /// `host` (2) or a number; the port any 32-bit number but VMADDR_PORT_ANY (vsock_parse_cid(),
    /// vsock_parse_port()).
    private static func parseVsock(_ text: Substring) -> Result<ListenAddress, ListenAddressError> {
        guard let colon = text.firstIndex(of: ":") else { return .failure(.init("Missing ':' before the vsock port")) }
        let cidText = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = decimal(portText), port != UInt32.max else {
            return .failure(.init("Invalid vsock port (0-4294967294)"))
        }
        let cid: UInt32?
        switch cidText {
        case "": cid = nil
        case "hypervisor": cid = 0
        case "local": cid = 1
        case "host": cid = 2
        default:
            guard let number = decimal(cidText) else { return .failure(.init("Invalid vsock CID")) }
            cid = number
        }
        return .success(.vsock(cid: cid, port: port))
    }

    private static func decimal(_ text: Substring) -> UInt32? {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit) else { return nil }
        return UInt32(text)
    }

    /// systemd's netlink_family table (src/basic/socket-util.c), by protocol number (netlink(7)).
    static let netlinkFamilies: [(name: String, protocol: Int32)] = [
        ("route", 0), ("firewall", 3), ("inet-diag", 4), ("nflog", 5), ("xfrm", 6), ("selinux", 7),
        ("iscsi", 8), ("audit", 9), ("fib-lookup", 10), ("connector", 11), ("netfilter", 12),
        ("ip6-fw", 13), ("dnrtmsg", 14), ("kobject-uevent", 15), ("generic", 16), ("scsitransport", 18),
        ("ecryptfs", 19), ("rdma", 20),
    ]

    /// The family's name, or its number where the table has none (as systemd prints it).
    package static func netlinkFamilyName(_ proto: Int32) -> String {
        netlinkFamilies.first { $0.protocol == proto }?.name ?? String(proto)
    }

    /// ListenNetlink=`FAMILY [GROUP]`: a family name of the table or a number (the
    /// table's lookup falls back to numbers), then an optional multicast group mask.
    package static func parseNetlink(_ text: String) -> Result<ListenAddress, ListenAddressError> {
        let words = text.splitAtWhitespace()
        guard let first = words.first else { return .failure(.init("Missing netlink family")) }
        let proto: Int32
        if let known = netlinkFamilies.first(where: { $0.name == first }) {
            proto = known.protocol
        } else if first.allSatisfy(\.isASCIIDigit), let number = Int32(first) {
            proto = number
        } else {
            return .failure(.init("Unknown netlink family"))
        }
        guard words.count <= 2 else { return .failure(.init("Expected FAMILY GROUP")) }
        var group: UInt32 = 0
        if words.count == 2 {
            guard let number = decimal(words[1]) else { return .failure(.init("Invalid netlink group")) }
            group = number
        }
        return .success(.netlink(protocol: proto, group: group))
    }

    /// ListenMessageQueue=: `/name`, no other slash, at most NAME_MAX (255) bytes after
    /// the slash (mq_overview(7); mq_open(3) refuses anything else).
    package static func isMessageQueueName(_ text: String) -> Bool {
        text.hasPrefix("/") && text.utf8.count >= 2 && text.utf8.count <= 256 && !text.dropFirst().contains("/")
    }

    private static func port(_ text: Substring) -> UInt16? {
        // Digits by byte: Character tests and Int(_:) were most of a ListenStream= value's parse.
        guard !text.isEmpty else { return nil }
        var n = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(byte - UInt8(ascii: "0"))
            guard n <= 65535 else { return nil }
        }
        return n >= 1 ? UInt16(n) : nil
    }

    /// inet_pton() accepts it.
    private static func isAddress(_ host: String, family: Int32) -> Bool {
        // A stack buffer and the string's own C bytes: an array and a utf8CString copy
        // were two thirds of the instructions of a ListenStream= address.
        var buffer = in6_addr()
        return host.withCString { inet_pton(family, $0, &buffer) } == 1
    }
}

/// Why a Listen*= value is not an address.
package struct ListenAddressError: Error, Sendable {
    package var problem: String
    init(_ problem: String) { self.problem = problem }
}
