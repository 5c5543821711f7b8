import CSwatch
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// Every Listen*= address form and the socket options of systemd.socket(5),
/// read back with getsockopt/stat as a service (or its admin) would see them.
/// Ports are ephemeral (`ListenStream=0`), paths are in fresh temporary directories.
@Suite struct ListenerTests {

    private func directive(_ kind: ListenKind, _ address: ListenAddress) -> ListenDirective {
        ListenDirective(kind: kind, address: address)
    }

    private func bind(
        _ kind: ListenKind, _ address: ListenAddress, _ configure: (inout SocketOptions) -> Void = { _ in }
    ) throws(ListenerError) -> Listener {
        var options = SocketOptions()
        configure(&options)
        return try Listener.bind(directive(kind, address), options: options)
    }

    private func int(_ listener: Listener, _ level: Int, _ name: CInt) throws -> CInt {
        try listener.fd.option(CInt(level), name)
    }

    private func int(_ listener: Listener, _ level: CInt, _ name: CInt) throws -> CInt {
        try listener.fd.option(level, name)
    }

    // MARK: - Address forms

    @Test func barePortIsOneDualStackSocketAnsweringIPv4AndIPv6() throws {
        let listener = try bind(.stream, .port(0)) {
            $0.bindIPv6Only = .both
            $0.reusePort = true
            $0.noDelay = true
        }
        #expect(listener.boundAddress == "[::]:0")
        #expect(try int(listener, SOL_SOCKET, SO_DOMAIN) == AF_INET6)
        #expect(try int(listener, IPPROTO_IPV6, IPV6_V6ONLY) == 0)
        #expect(try int(listener, SOL_SOCKET, SO_REUSEPORT) == 1)
        #expect(try int(listener, IPPROTO_TCP, TCP_NODELAY) == 1)
        #expect(try int(listener, SOL_SOCKET, SO_ACCEPTCONN) == 1)
        #expect(listener.warnings.isEmpty)
        let port = try #require(listener.localPort)
        #expect(port != 0)

        #expect(try listener.acceptConnection() == nil)  // nothing waiting: nil, not a block

        for host in ["127.0.0.1", "::1"] {
            let address = host.contains(":") ? try SocketAddress.ipv6(host, port: port, scope: nil)
                                             : try SocketAddress.ipv4(host, port: port)
            let client = try LinuxTestSupport.connect(address).get()
            defer { try? client.close() }
            let clientPort = try #require(try SocketAddress.local(of: client).hostAndPort?.port)
            let connection = try #require(try listener.acceptConnection())
            defer { try? connection.fd.close() }
            // REMOTE_ADDR as systemd gives it: IPv4-mapped peers in IPv4 form.
            #expect(connection.remoteAddress == host)
            #expect(connection.remotePort == clientPort)
            #expect(LinuxTestSupport.isCloseOnExec(connection.fd))
            #expect(!LinuxTestSupport.isNonBlocking(connection.fd))
            // Accepted TCP sockets inherit TCP_NODELAY (docs/HACKING.md "Sockets").
            #expect(try connection.fd.option(CInt(IPPROTO_TCP), TCP_NODELAY) == 1)
        }
    }

    @Test func ipv6OnlyRefusesIPv4() throws {
        let listener = try bind(.stream, .port(0)) { $0.bindIPv6Only = .ipv6Only }
        #expect(try int(listener, IPPROTO_IPV6, IPV6_V6ONLY) == 1)
        let port = try #require(listener.localPort)
        let refused = LinuxTestSupport.connect(try .ipv4("127.0.0.1", port: port))
        #expect(throws: Errno.connectionRefused) { try refused.get() }
        let accepted = try LinuxTestSupport.connect(try .ipv6("::1", port: port, scope: nil)).get()
        try accepted.close()
    }

    @Test func defaultBindIPv6OnlyIsDualStackToo() throws {
        let listener = try bind(.stream, .port(0))
        #expect(try int(listener, IPPROTO_IPV6, IPV6_V6ONLY) == 0)
    }

    @Test func ipv4Address() throws {
        let listener = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0))
        #expect(try int(listener, SOL_SOCKET, SO_DOMAIN) == AF_INET)
        #expect(try SocketAddress.local(of: listener.fd).hostAndPort?.host == "127.0.0.1")
        #expect(try int(listener, SOL_SOCKET, SO_REUSEADDR) == 1)
    }

    @Test func ipv6AddressWithInterfaceScope() throws {
        // fe80::1 is not assigned to lo: FreeBind= lets it bind all the same.
        let listener = try bind(.datagram, .ipv6(address: "fe80::1", port: 0, scope: "lo")) { $0.freeBind = true }
        let local = try SocketAddress.local(of: listener.fd)
        let scope = withUnsafeBytes(of: local.storage) { $0.load(as: sockaddr_in6.self).sin6_scope_id }
        #expect(scope == if_nametoindex("lo"))
        #expect(local.hostAndPort?.host == "fe80::1")
        #expect(try int(listener, IPPROTO_IPV6, IPV6_FREEBIND) == 1)
    }

    @Test func unknownInterfaceIsOneClearError() {
        #expect(throws: ListenerError(.resolveInterface("nosuchif0"), "[fe80::1%nosuchif0]:80", .operationNotSupportedByDevice)) {
            try bind(.stream, .ipv6(address: "fe80::1", port: 80, scope: "nosuchif0"))
        }
        do {
            _ = try bind(.stream, .ipv6(address: "fe80::1", port: 80, scope: "nosuchif0"))
        } catch {
            #expect(error.description == "Failed to resolve interface 'nosuchif0' of [fe80::1%nosuchif0]:80: No such device")
        }
        #expect(throws: ListenerError.self) { try bind(.stream, .ipv4(address: "300.1.2.3", port: 80)) }
    }

    @Test func unixStreamSocketWithModeOwnerAndParentDirectories() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/a/b/s.sock"
        let listener = try bind(.stream, .unix(path: path)) {
            $0.directoryMode = 0o750
            $0.socketMode = 0o600
            $0.socketUser = "nobody"
            $0.socketGroup = "65534"
        }
        let info = try #require(LinuxTestSupport.status(path))
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o600)
        #expect(info.st_uid == 65534)
        #expect(info.st_gid == 65534)
        for created in [directory + "/a", directory + "/a/b"] {
            #expect(LinuxTestSupport.status(created).map { $0.st_mode & 0o7777 } == 0o750)
        }
        #expect(try int(listener, SOL_SOCKET, SO_DOMAIN) == AF_UNIX)
        let client = try LinuxTestSupport.connect(try .unix(path, abstract: false)).get()
        try client.close()
        let connection = try #require(try listener.acceptConnection())
        #expect(connection.remoteAddress == nil && connection.remotePort == nil)
        try connection.fd.close()
    }

    @Test func socketUserAloneAlsoSetsItsPrimaryGroup() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/s.sock"
        _ = try bind(.stream, .unix(path: path)) { $0.socketUser = "nobody" }
        #expect(LinuxTestSupport.status(path).map { ($0.st_uid, $0.st_gid) }.map { $0 == 65534 && $1 == 65534 } == true)
        #expect(LinuxTestSupport.status(path).map { $0.st_mode & 0o7777 } == 0o666)  // SocketMode= default
        #expect(throws: ListenerError(.resolveUser("no-such-user-swatch"), directory + "/t.sock", nil)) {
            try bind(.stream, .unix(path: directory + "/t.sock")) { $0.socketUser = "no-such-user-swatch" }
        }
    }

    @Test func staleSocketFileIsReplacedButOtherFilesAreNot() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/s.sock"
        let first = try bind(.stream, .unix(path: path))
        first.close(removeOnStop: false)
        // Left behind, as after a crash: the file is there, nobody answers. (A child another
        // test is spawning at this moment holds a copy of every fd until its exec closes
        // them: the socket is gone once that copy is.)
        #expect(LinuxTestSupport.status(path) != nil)
        let address = try SocketAddress.unix(path, abstract: false)
        #expect(LinuxTestSupport.eventually {
            switch LinuxTestSupport.connect(address) {
            case .failure(let errno): return errno == .connectionRefused
            case .success(let fd): try? fd.close(); return false
            }
        })

        let second = try bind(.stream, .unix(path: path))
        try LinuxTestSupport.connect(try .unix(path, abstract: false)).get().close()
        second.close(removeOnStop: true)
        #expect(LinuxTestSupport.status(path) == nil)  // RemoveOnStop=

        // A regular file is never removed: the bind fails instead.
        let regular = directory + "/data"
        try LinuxTestSupport.open(regular, O_WRONLY | O_CREAT).close()
        #expect(throws: ListenerError(.bind, regular, .addressInUse)) { try bind(.stream, .unix(path: regular)) }
        #expect(LinuxTestSupport.status(regular).map { $0.st_mode & S_IFMT } == S_IFREG)
    }

    @Test func abstractSocketHasNoFile() throws {
        let name = "swatch-test-\(getpid())-\(MonotonicClock.now())"
        let listener = try bind(.sequentialPacket, .abstract(name: name))
        #expect(listener.path == nil)
        #expect(try int(listener, SOL_SOCKET, SO_TYPE) == CInt(SOCK_SEQPACKET.rawValue))
        let client = try LinuxTestSupport.connect(
            try .unix(name, abstract: true), type: CInt(SOCK_SEQPACKET.rawValue)).get()
        try client.close()
        // The abstract name is exact: no trailing NUL counted, so another process using sd_notify-style lengths finds it.
        let local = try SocketAddress.local(of: listener.fd)
        #expect(Int(local.length) == MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + 1 + name.utf8.count)
    }

    @Test func datagramSocketsAreNotListening() throws {
        let udp = try bind(.datagram, .ipv4(address: "127.0.0.1", port: 0)) { $0.broadcast = true }
        #expect(try int(udp, SOL_SOCKET, SO_TYPE) == CInt(SOCK_DGRAM.rawValue))
        #expect(try int(udp, SOL_SOCKET, SO_ACCEPTCONN) == 0)
        #expect(try int(udp, SOL_SOCKET, SO_BROADCAST) == 1)

        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let unixDatagram = try bind(.datagram, .unix(path: directory + "/d.sock")) { $0.passCredentials = true }
        #expect(try int(unixDatagram, SOL_SOCKET, SO_TYPE) == CInt(SOCK_DGRAM.rawValue))
        #expect(try int(unixDatagram, SOL_SOCKET, SO_PASSCRED) == 1)
        for listener in [udp, unixDatagram] {
            #expect(LinuxTestSupport.isCloseOnExec(listener.fd))
            #expect(LinuxTestSupport.isNonBlocking(listener.fd))
        }
    }

    @Test func fifoWithModeAndPipeSize() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/sub/f.fifo"
        let listener = try bind(.fifo, .fifo(path: path)) {
            $0.socketMode = 0o620
            $0.pipeSize = 131_072
            $0.socketGroup = "nogroup"
        }
        let info = try #require(LinuxTestSupport.status(path))
        #expect(info.st_mode & S_IFMT == S_IFIFO)
        #expect(info.st_mode & 0o7777 == 0o620)
        #expect(info.st_gid == 65534)
        #expect(fcntl(listener.fd.rawValue, SWATCH_F_GETPIPE_SZ) == 131_072)
        #expect(LinuxTestSupport.isCloseOnExec(listener.fd))
        #expect(LinuxTestSupport.isNonBlocking(listener.fd))

        let writer = LinuxTestSupport.open(path, O_WRONLY | O_NONBLOCK)
        _ = try writer.writeAll("ping".utf8)
        try writer.close()
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try buffer.withUnsafeMutableBytes { try listener.fd.read(into: $0) }
        #expect(Array(buffer[0..<count]) == Array("ping".utf8))

        // Reopened: the existing FIFO is reused.
        listener.close(removeOnStop: false)
        let again = try bind(.fifo, .fifo(path: path))
        again.close(removeOnStop: true)
        #expect(LinuxTestSupport.status(path) == nil)

        // Something else at the path is an error.
        let regular = directory + "/plain"
        try LinuxTestSupport.open(regular, O_WRONLY | O_CREAT).close()
        #expect(throws: ListenerError(.notFIFO, regular, .fileExists)) { try bind(.fifo, .fifo(path: regular)) }
    }

    // MARK: - Options

    @Test func tcpOptionsReadBack() throws {
        let listener = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0)) {
            $0.keepAlive = true
            $0.keepAliveTime = .seconds(600)
            $0.keepAliveInterval = .seconds(30)
            $0.keepAliveProbes = 4
            $0.noDelay = true
            $0.deferAcceptSec = .seconds(5)
            $0.receiveBuffer = 65_536
            $0.sendBuffer = 98_304
            $0.mark = 42
            $0.priority = 3
            $0.ipTOS = 0x10
            $0.ipTTL = 33
            $0.freeBind = true
            $0.transparent = true
            $0.reusePort = true
            $0.passCredentials = true  // unix sockets only: not tried here, and no warning
            $0.bindToDevice = "lo"
        }
        #expect(listener.warnings == [])
        #expect(try int(listener, SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(try int(listener, IPPROTO_TCP, TCP_KEEPIDLE) == 600)
        #expect(try int(listener, IPPROTO_TCP, TCP_KEEPINTVL) == 30)
        #expect(try int(listener, IPPROTO_TCP, TCP_KEEPCNT) == 4)
        #expect(try int(listener, IPPROTO_TCP, TCP_NODELAY) == 1)
        // The kernel stores TCP_DEFER_ACCEPT as retransmissions and rounds up.
        #expect(try int(listener, IPPROTO_TCP, TCP_DEFER_ACCEPT) >= 5)
        // socket(7): the kernel doubles the value it is given.
        #expect(try int(listener, SOL_SOCKET, SO_RCVBUF) == 131_072)
        #expect(try int(listener, SOL_SOCKET, SO_SNDBUF) == 196_608)
        #expect(try int(listener, SOL_SOCKET, SO_MARK) == 42)
        #expect(try int(listener, SOL_SOCKET, SO_PRIORITY) == 3)
        #expect(try int(listener, IPPROTO_IP, IP_TOS) == 0x10)
        #expect(try int(listener, IPPROTO_IP, IP_TTL) == 33)
        #expect(try int(listener, IPPROTO_IP, IP_FREEBIND) == 1)
        #expect(try int(listener, IPPROTO_IP, IP_TRANSPARENT) == 1)
        #expect(try int(listener, SOL_SOCKET, SO_REUSEPORT) == 1)
        var device = [CChar](repeating: 0, count: 32)
        var length = socklen_t(device.count)
        #expect(getsockopt(listener.fd.rawValue, SOL_SOCKET, SO_BINDTODEVICE, &device, &length) == 0)
        #expect(String(decoding: device.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "lo")
    }

    /// No getsockopt reports a backlog; `ss -ltn` shows it as the Send-Q of the LISTEN row (docs/HACKING.md "Sockets").
    @Test func backlogIsSeenByss() throws {
        let listener = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0)) { $0.backlog = 17 }
        let port = try #require(listener.localPort)
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let output = LinuxTestSupport.open(directory + "/ss", O_WRONLY | O_CREAT)
        defer { try? output.close() }
        let ss = try #require(Spawner.resolveExecutable("ss", path: "/usr/sbin:/usr/bin:/sbin:/bin"))
        let pid = try Spawner.spawn(SpawnRequest(
            executable: ss, arguments: ["ss", "-ltnH", "sport = :\(port)"], stdout: output))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        // State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
        let columns = LinuxTestSupport.read(directory + "/ss").split(whereSeparator: { $0 == " " || $0 == "\n" })
        #expect(columns.count >= 4)
        #expect(columns.first == "LISTEN")
        #expect(columns.dropFirst(2).first == "17")
        #expect(columns.dropFirst(3).first == "127.0.0.1:\(port)")
    }

    @Test func ipv6TTLUsesUnicastHops() throws {
        let listener = try bind(.stream, .ipv6(address: "::1", port: 0, scope: nil)) { $0.ipTTL = 17 }
        #expect(try int(listener, IPPROTO_IPV6, IPV6_UNICAST_HOPS) == 17)
        #expect(listener.warnings == [])
    }

    /// TCPCongestion=: the algorithm a service's connections start with (tcp(7)); one the
    /// kernel does not have is a warning, as in systemd's socket_apply_socket_options().
    @Test func tcpCongestionIsTheListenersAlgorithm() throws {
        var name = [CChar](repeating: 0, count: 16)
        func algorithm(_ listener: Listener) -> String {
            var length = socklen_t(name.count)
            #expect(getsockopt(listener.fd.rawValue, CInt(IPPROTO_TCP), TCP_CONGESTION, &name, &length) == 0)
            return String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        // reno is built into every kernel (net/ipv4/tcp_cong.c); the default here is another one.
        let reno = try bind(.stream, .ipv6(address: "::1", port: 0, scope: nil)) { $0.tcpCongestion = "reno" }
        #expect(reno.warnings == [])
        #expect(algorithm(reno) == "reno")
        let unknown = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0)) { $0.tcpCongestion = "nosuchalgorithm" }
        #expect(unknown.warnings == [
            "Failed to set TCP_CONGESTION socket option on 127.0.0.1:0, ignoring: No such file or directory",
        ])
        #expect(algorithm(unknown) != "nosuchalgorithm")
        // Not tried on a socket that is not TCP.
        let udp = try bind(.datagram, .ipv4(address: "127.0.0.1", port: 0)) { $0.tcpCongestion = "reno" }
        #expect(udp.warnings == [])
    }

    @Test func unknownDeviceIsFatalLikeSystemd() {
        #expect(throws: ListenerError(.setOption("SO_BINDTODEVICE"), "127.0.0.1:0", .operationNotSupportedByDevice)) {
            try bind(.stream, .ipv4(address: "127.0.0.1", port: 0)) { $0.bindToDevice = "nosuchif0" }
        }
    }

    @Test func portInUseNamesTheAddressAndTheReason() throws {
        let first = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0))
        let port = try #require(first.localPort)
        do {
            _ = try bind(.stream, .ipv4(address: "127.0.0.1", port: port))
            Issue.record("a second bind of 127.0.0.1:\(port) succeeded")
        } catch {
            #expect(error == ListenerError(.bind, "127.0.0.1:\(port)", .addressInUse))
            #expect(error.description == "Failed to bind 127.0.0.1:\(port): Address already in use")
        }
        // ReusePort= on both sides is the one way to share a port.
        _ = first
    }

    @Test func identityIsTheOpenFile() throws {
        let listener = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0))
        let other = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0))
        let dup = try listener.fd.duplicate()
        defer { try? dup.close() }
        var info = stat()
        fstat(dup.rawValue, &info)
        #expect(listener.identity.inode == UInt64(info.st_ino))
        #expect(listener.identity.device == UInt64(info.st_dev))
        #expect(other.identity.inode != listener.identity.inode)
    }

    @Test func unixPathTooLongIsAnError() {
        let path = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: ListenerError(.bind, path, .fileNameTooLong)) { try bind(.stream, .unix(path: path)) }
    }
}
