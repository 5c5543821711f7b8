import CSwatch
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// ListenSpecial=, ListenMessageQueue=, ListenNetlink=, vsock and the options of those kinds
/// (Symlinks=, Timestamping=, PassPacketInfo=), bound by `Listener` and read back with
/// fstat/getsockopt/readlink as the service or its admin sees them.
@Suite struct ListenerKindsTests {

    private func bind(
        _ kind: ListenKind, _ address: ListenAddress, _ configure: (inout SocketOptions) -> Void = { _ in }
    ) throws(ListenerError) -> Listener {
        var options = SocketOptions()
        configure(&options)
        return try Listener.bind(ListenDirective(kind: kind, address: address), options: options)
    }

    private func accessMode(_ fd: FileDescriptor) -> CInt { fcntl(fd.rawValue, F_GETFL) & O_ACCMODE }

    @Test func specialCharacterDeviceIsReadOnlyUnlessWritable() throws {
        // /dev/ptmx can be polled (/dev/null cannot); each open is a new pty's master.
        let readOnly = try bind(.special, .special(path: "/dev/ptmx"))
        #expect(accessMode(readOnly.fd) == O_RDONLY)
        #expect(LinuxTestSupport.isCloseOnExec(readOnly.fd))
        #expect(try readOnly.fd.fileStatus().st_mode & S_IFMT == S_IFCHR)
        let writable = try bind(.special, .special(path: "/dev/ptmx")) { $0.writable = true }
        #expect(accessMode(writable.fd) == O_RDWR)
        #expect(writable.path == nil, "a special file is never removed")
        writable.close(removeOnStop: true)
        #expect(LinuxTestSupport.status("/dev/ptmx") != nil)
    }

    @Test func specialRefusesADirectoryAndAMissingFile() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        #expect(throws: ListenerError(.notSpecial, directory, .fileExists)) { try bind(.special, .special(path: directory)) }
        #expect(throws: ListenerError(.openSpecial, directory + "/none", .noSuchFileOrDirectory)) {
            try bind(.special, .special(path: directory + "/none"))
        }
        // A regular file on disk: epoll refuses it (EPERM), as systemd's watch does.
        let plain = directory + "/plain"
        try LinuxTestSupport.open(plain, O_WRONLY | O_CREAT).close()
        #expect(throws: ListenerError(.watchSpecial, plain, .notPermitted)) { try bind(.special, .special(path: plain)) }
        // /dev/null: a character device without poll. systemd's socket_watch_fds() fails the unit.
        #expect(throws: ListenerError(.watchSpecial, "/dev/null", .notPermitted)) {
            try bind(.special, .special(path: "/dev/null"))
        }
        // A /proc file with poll support is fine.
        let mounts = try bind(.special, .special(path: "/proc/self/mounts"))
        #expect(accessMode(mounts.fd) == O_RDONLY)
    }

    @Test func messageQueueIsCreatedWithModeAndSizesAndRemovedOnlyWithRemoveOnStop() throws {
        let name = "/swatch-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = swatch_mq_unlink(name) }
        let listener = try bind(.messageQueue, .messageQueue(name: name)) {
            $0.socketMode = 0o600
            $0.messageQueueMaxMessages = 3
            $0.messageQueueMessageSize = 64
        }
        let info = try listener.fd.fileStatus()
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(accessMode(listener.fd) == O_RDONLY)
        #expect(LinuxTestSupport.isCloseOnExec(listener.fd))
        #expect(LinuxTestSupport.isNonBlocking(listener.fd))
        // read(2) on a queue's fd gives its status line (mq_overview(7)).
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = try buffer.withUnsafeMutableBytes { try listener.fd.read(into: $0) }
        #expect(String(decoding: buffer[0..<count], as: UTF8.self).hasPrefix("QSIZE:0"))

        listener.close(removeOnStop: false)
        let again = try bind(.messageQueue, .messageQueue(name: name))
        again.close(removeOnStop: true)
        // Gone: opening it without O_CREAT fails now. The shim always adds O_CREAT, so ask the kernel via a new
        // queue's absence: a fresh create with O_EXCL succeeds only if the old one was unlinked.
        let fd = swatch_mq_open(name, O_RDONLY | O_CLOEXEC | O_EXCL, 0o600, 0, 0)
        #expect(fd >= 0, "the queue was not removed: \(Errno(rawValue: errno))")
        if fd >= 0 { close(fd) }
    }

    @Test func netlinkSocketHasItsFamilyAndProtocol() throws {
        let listener = try bind(.netlink, .netlink(protocol: 0, group: 0)) {
            $0.passPacketInfo = true
            $0.passCredentials = true
            $0.receiveBuffer = 65536
        }
        #expect(listener.warnings == [])
        #expect(try listener.fd.option(SOL_SOCKET, SO_DOMAIN) == AF_NETLINK)
        #expect(try listener.fd.option(SOL_SOCKET, SO_PROTOCOL) == 0)
        #expect(try listener.fd.option(SOL_SOCKET, SO_TYPE) == CInt(SOCK_RAW.rawValue))
        #expect(try listener.fd.option(SWATCH_SOL_NETLINK, SWATCH_NETLINK_PKTINFO) == 1)
        #expect(try listener.fd.option(SOL_SOCKET, SO_PASSCRED) == 1)
        #expect(try listener.fd.option(SOL_SOCKET, SO_RCVBUF) >= 65536)
        #expect(LinuxTestSupport.isCloseOnExec(listener.fd))
    }

    @Test func datagramTimestampingAndPacketInfo() throws {
        let micro = try bind(.datagram, .ipv4(address: "127.0.0.1", port: 0)) {
            $0.timestamping = .us
            $0.passPacketInfo = true
        }
        #expect(micro.warnings == [])
        #expect(try micro.fd.option(SOL_SOCKET, SWATCH_SO_TIMESTAMP) == 1)
        #expect(try micro.fd.option(CInt(IPPROTO_IP), IP_PKTINFO) == 1)
        let nano = try bind(.datagram, .ipv6(address: "::1", port: 0, scope: nil)) {
            $0.timestamping = .ns
            $0.passPacketInfo = true
        }
        #expect(try nano.fd.option(SOL_SOCKET, SWATCH_SO_TIMESTAMPNS) == 1)
        #expect(try nano.fd.option(CInt(IPPROTO_IPV6), IPV6_RECVPKTINFO) == 1)
        // A unix socket has no packet info: a warning, the socket still works.
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let unix = try bind(.datagram, .unix(path: directory + "/d.sock")) { $0.passPacketInfo = true }
        #expect(unix.warnings.count == 1)
    }

    @Test func symlinksPointToThePathAndGoWithRemoveOnStop() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/s.sock", link = directory + "/links/l.sock"
        let listener = try bind(.stream, .unix(path: path)) {
            $0.symlinks = [link]
            $0.removeOnStop = true
        }
        #expect(listener.warnings == [])
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(link, &buffer, buffer.count)
        #expect(count > 0 && String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) == path)
        listener.close(removeOnStop: true)
        #expect(LinuxTestSupport.status(path) == nil)
        #expect(readlink(link, &buffer, buffer.count) < 0)

        // Something in the way stays without RemoveOnStop= (a warning), and is replaced with it.
        try LinuxTestSupport.open(link, O_WRONLY | O_CREAT).close()
        let keeping = try bind(.stream, .unix(path: path)) { $0.symlinks = [link] }
        #expect(keeping.warnings.count == 1)
        keeping.close(removeOnStop: false)
        let replacing = try bind(.stream, .unix(path: path)) {
            $0.symlinks = [link]
            $0.removeOnStop = true
        }
        #expect(replacing.warnings == [])
        #expect(readlink(link, &buffer, buffer.count) > 0)
    }

    /// PassPIDFD= and AcceptFileDescriptors=no on unix sockets: read back as the service sees
    /// them, and a peer's descriptors (SCM_RIGHTS) refused by the kernel (EPERM) before they
    /// reach the service, where the default lets them through. TCP sockets have neither option.
    @Test func unixSocketsPassPIDFDsAndRefuseDescriptors() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        func option(_ listener: Listener, _ name: CInt) throws -> CInt { try listener.fd.option(SOL_SOCKET, name) }

        let stream = try bind(.stream, .unix(path: directory + "/s.sock")) {
            $0.passPIDFD = true
            $0.acceptFileDescriptors = false
        }
        #expect(stream.warnings == [])
        #expect(try option(stream, SWATCH_SO_PASSPIDFD) == 1)
        #expect(try option(stream, SWATCH_SO_PASSRIGHTS) == 0)

        let closed = try bind(.datagram, .unix(path: directory + "/closed.sock")) { $0.acceptFileDescriptors = false }
        let open = try bind(.datagram, .unix(path: directory + "/open.sock"))
        #expect(try option(open, SWATCH_SO_PASSRIGHTS) == 1)
        #expect(try option(open, SWATCH_SO_PASSPIDFD) == 0)
        let passed = FileDescriptor.standardInput
        #expect(throws: Errno.notPermitted) { try NotifySocket.sendNotify("fd", to: directory + "/closed.sock", fds: [passed]) }
        try NotifySocket.sendNotify("plain", to: directory + "/closed.sock")
        try NotifySocket.sendNotify("fd", to: directory + "/open.sock", fds: [passed])
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = try buffer.withUnsafeMutableBytes { try closed.fd.read(into: $0) }
        #expect(Array(buffer[0..<count]) == Array("plain".utf8))
        _ = open

        let tcp = try bind(.stream, .ipv4(address: "127.0.0.1", port: 0)) {
            $0.passPIDFD = true
            $0.acceptFileDescriptors = false
        }
        #expect(tcp.warnings == [])
    }

    /// FlushPending=: the datagrams waiting on a socket are read and dropped, without waiting
    /// even where the service left the socket blocking (the flag is the open file's); the
    /// socket takes new ones after.
    @Test func flushPendingDropsTheWaitingDatagrams() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/d.sock"
        let listener = try bind(.datagram, .unix(path: path))
        for text in ["one", "two", "three"] { try NotifySocket.sendNotify(text, to: path) }
        _ = fcntl(listener.fd.rawValue, F_SETFL, fcntl(listener.fd.rawValue, F_GETFL) & ~O_NONBLOCK)
        listener.flushPending()
        var entry = pollfd(fd: listener.fd.rawValue, events: Int16(POLLIN), revents: 0)
        #expect(poll(&entry, 1, 0) == 0, "nothing left to read")
        var buffer = [UInt8](repeating: 0, count: 16)
        try NotifySocket.sendNotify("after", to: path)
        let count = try buffer.withUnsafeMutableBytes { try listener.fd.read(into: $0) }
        #expect(Array(buffer[0..<count]) == Array("after".utf8))
    }

    @Test func vsockBindsOrFailsWithTheKernelsError() throws {
        // CID 12345 is not this machine's: EADDRNOTAVAIL from bind, or EAFNOSUPPORT from
        // socket() where the kernel has no vsock. Either way the listener is not made.
        do {
            _ = try bind(.stream, .vsock(cid: 12345, port: 5000))
            Issue.record("bound a vsock socket to a foreign CID")
        } catch {
            #expect([.bind, .createSocket].contains(error.operation))
            #expect(error.address == "vsock:12345:5000")
            #expect([.addressNotAvailable, .addressFamilyNotSupported].contains(error.errno))
        }
    }
}
