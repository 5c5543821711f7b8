import Glibc

/// An address a test client connects or sends to.
enum Endpoint: CustomStringConvertible {
    case ipv4(String, UInt16)
    case ipv6(String, UInt16)
    /// A unix socket path, or `@name` for the abstract namespace.
    case unix(String)

    static func loopback4(_ port: UInt16) -> Endpoint { .ipv4("127.0.0.1", port) }
    static func loopback6(_ port: UInt16) -> Endpoint { .ipv6("::1", port) }

    var description: String {
        switch self {
        case .ipv4(let host, let port): "\(host):\(port)"
        case .ipv6(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }

    var family: Int32 {
        switch self {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        case .unix: AF_UNIX
        }
    }

    /// Calls `body` with the sockaddr of this endpoint and its length.
    func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch self {
        case .ipv4(let host, let port):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(let host, let port):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .unix(let path):
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(path.utf8)
            let abstract = bytes.first == UInt8(ascii: "@")
            if abstract { bytes[0] = 0 }  // the abstract namespace: a leading NUL
            precondition(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "unix socket path too long: \(path)")
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
            // An abstract name is exactly its bytes; a path ends at its NUL.
            let length = pathOffset + bytes.count + (abstract ? 0 : 1)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
            }
        }
    }
}

/// A socket call that failed: which call, on what, and the errno.
struct ClientError: Error, CustomStringConvertible {
    var operation: String
    var endpoint: String
    var code: Int32

    var isRefused: Bool { code == ECONNREFUSED }
    var description: String { "\(operation) \(endpoint): \(String(cString: strerror(code))) (errno \(code))" }
}

/// Test clients over raw sockets: HTTP GET, datagrams, sequential packets,
/// FIFO writes. Every call has a timeout (SO_RCVTIMEO/SO_SNDTIMEO, which on
/// Linux also bounds connect).
enum Client {
    /// The answer of swatchd-hello and of listen_fds.py.
    static let helloBody = "Hello World!\n"

    /// Sends `GET /` and returns the whole response (the servers close after it).
    static func get(_ endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(ClientError) -> String {
        let fd = try connect(endpoint, type: SOCK_STREAM, timeout: timeout)
        defer { close(fd) }
        try send(fd, Array("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".utf8), endpoint)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientError(operation: "recv", endpoint: endpoint.description, code: errno)
            }
            response += buffer[..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// The body of a GET, or the error; for `#expect(Client.body(of:) == helloBody)`.
    static func body(_ endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(ClientError) -> String {
        let response = try get(endpoint, timeout: timeout)
        guard let range = response.range(of: "\r\n\r\n") else { return response }
        return String(response[range.upperBound...])
    }

    /// Reads one line (without its newline) from a connected socket; nil at EOF.
    static func readLine(_ fd: Int32) throws(ClientError) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = recv(fd, &byte, 1, 0)
            if count == 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientError(operation: "recv", endpoint: "fd \(fd)", code: errno)
            }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    /// Writes `text` to a connected socket.
    static func write(_ text: String, to fd: Int32) throws(ClientError) {
        try send(fd, Array(text.utf8), .unix("fd \(fd)"))
    }

    /// Writes `text` and a newline to a connected socket and reads the line that comes back (nil at EOF).
    static func exchangeLine(_ text: String, on fd: Int32) throws(ClientError) -> String? {
        try write(text + "\n", to: fd)
        return try readLine(fd)
    }

    /// Sends one datagram to a unix datagram socket (path or @abstract).
    static func sendDatagram(_ text: String, to endpoint: Endpoint) throws(ClientError) {
        let fd = try socket(endpoint, type: SOCK_DGRAM, timeout: .seconds(5))
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let sent = endpoint.withSocketAddress { address, length in
            sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), address, length)
        }
        guard sent == bytes.count else { throw ClientError(operation: "sendto", endpoint: endpoint.description, code: errno) }
    }

    /// Connects a SOCK_SEQPACKET socket, sends `text` as one packet and
    /// returns the first packet that comes back.
    static func exchangePacket(_ text: String, with endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(ClientError) -> String {
        let fd = try connect(endpoint, type: SOCK_SEQPACKET, timeout: timeout)
        defer { close(fd) }
        try send(fd, Array(text.utf8), endpoint)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var count: Int
        repeat { count = recv(fd, &buffer, buffer.count, 0) } while count < 0 && errno == EINTR
        guard count >= 0 else { throw ClientError(operation: "recv", endpoint: endpoint.description, code: errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Sends `text` as one datagram from a connected SOCK_DGRAM socket and
    /// returns the first datagram that comes back (UDP echo).
    static func exchangeDatagram(_ text: String, with endpoint: Endpoint, timeout: Duration = .seconds(10)) throws(ClientError) -> String {
        let fd = try connect(endpoint, type: SOCK_DGRAM, timeout: timeout)
        defer { close(fd) }
        try send(fd, Array(text.utf8), endpoint)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var count: Int
        repeat { count = recv(fd, &buffer, buffer.count, 0) } while count < 0 && errno == EINTR
        guard count >= 0 else { throw ClientError(operation: "recv", endpoint: endpoint.description, code: errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Writes `text` into a FIFO that someone (swatchd) holds open for
    /// reading; ENXIO means nobody does.
    static func writeFIFO(_ text: String, to path: String) throws(ClientError) {
        let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw ClientError(operation: "open", endpoint: path, code: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else {
            throw ClientError(operation: "write", endpoint: path, code: errno)
        }
    }

    /// A connected socket of `type` (SOCK_STREAM, SOCK_SEQPACKET); the caller closes it.
    static func connect(_ endpoint: Endpoint, type: __socket_type, timeout: Duration = .seconds(10)) throws(ClientError) -> Int32 {
        let fd = try socket(endpoint, type: type, timeout: timeout)
        var result: Int32
        repeat {
            result = endpoint.withSocketAddress { Glibc.connect(fd, $0, $1) }
        } while result != 0 && errno == EINTR
        guard result == 0 else {
            let error = ClientError(operation: "connect", endpoint: endpoint.description, code: errno)
            close(fd)
            throw error
        }
        return fd
    }

    private static func socket(_ endpoint: Endpoint, type: __socket_type, timeout: Duration) throws(ClientError) -> Int32 {
        let fd = Glibc.socket(endpoint.family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError(operation: "socket", endpoint: endpoint.description, code: errno) }
        let (seconds, attoseconds) = timeout.components
        var time = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], _ endpoint: Endpoint) throws(ClientError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ClientError(operation: "send", endpoint: endpoint.description, code: errno)
            }
            sent += count
        }
    }
}

/// Free TCP ports on the loopback interfaces.
enum Ports {
    /// A port that is free on 127.0.0.1 and on [::] right now: bound to 0 on
    /// IPv4 to let the kernel pick, then checked by binding it on IPv6, and
    /// closed. (Another program may take it before swatchd binds it; no
    /// program on this machine picks ports in the ephemeral range on purpose.)
    static func free() throws -> UInt16 {
        for _ in 0..<50 {
            let fd4 = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd4) }
            guard Endpoint.ipv4("127.0.0.1", 0).withSocketAddress({ bind(fd4, $0, $1) }) == 0 else { continue }
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd4, $0, &length) }
            }
            let port = UInt16(bigEndian: address.sin_port)
            let fd6 = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(fd6) }
            var v6only: Int32 = 1
            setsockopt(fd6, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size))
            if Endpoint.ipv6("::", port).withSocketAddress({ bind(fd6, $0, $1) }) == 0 { return port }
        }
        throw HarnessError("no free port found on 127.0.0.1 and [::]")
    }

    /// `count` distinct free ports.
    static func free(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        while ports.count < count {
            let port = try free()
            if !ports.contains(port) { ports.append(port) }
        }
        return ports
    }

    /// A TCP socket listening on `[::]:port` dual-stack without SO_REUSEPORT:
    /// it keeps that port busy. The caller closes it.
    static func occupy(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var off: Int32 = 0
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        guard Endpoint.ipv6("::", port).withSocketAddress({ bind(fd, $0, $1) }) == 0, listen(fd, 8) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("cannot occupy port \(port): \(message)")
        }
        return fd
    }
}
