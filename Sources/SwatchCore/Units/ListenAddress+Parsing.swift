// Listen*= addresses in the forms of systemd.socket(5) and socket_address_parse()
// (src/shared/socket-netlink.c): a port, `a.b.c.d:port`, `[v6]:port`
// (`[v6%iface]:port`), `/path` (at most 107 bytes: sun_path holds 108 with the
// NUL), `@abstract`.

import Glibc

extension ListenAddress {
    /// The most a unix socket path may hold: sizeof(sun_path) minus the terminating NUL.
    static let maxUnixPathLength = 107

    /// Parses the value of ListenStream=/ListenDatagram=/ListenSequentialPacket= (or of
    /// `swatchd run -l`); the error says what is wrong, for the caller to name the key.
    package static func parse(_ text: String) -> Result<ListenAddress, ListenAddressError> {
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
        if let colon = text.lastIndex(of: ":") {
            let host = String(text[..<colon])
            guard isAddress(host, family: AF_INET) else { return .failure(.init("Invalid IPv4 address")) }
            guard let port = port(text[text.index(after: colon)...]) else {
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

    private static func port(_ text: Substring) -> UInt16? {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let n = Int(text), (1...65535).contains(n) else { return nil }
        return UInt16(n)
    }

    /// inet_pton() accepts it.
    private static func isAddress(_ host: String, family: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(family, host, &buffer) == 1
    }
}

/// Why a Listen*= value is not an address.
package struct ListenAddressError: Error, Sendable {
    package var problem: String
    init(_ problem: String) { self.problem = problem }
}
