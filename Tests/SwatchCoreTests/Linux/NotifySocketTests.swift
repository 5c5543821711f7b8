import CSwatch
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// The notify socket as sd_notify(3) clients and systemd.service(5) NotifyAccess= see it: sender
/// attribution by SCM_CREDENTIALS, and the datagrams that must be dropped.
@Suite struct NotifySocketTests {
    /// Waits until the socket has a datagram, then receives it.
    private func receive(_ socket: NotifySocket) throws -> NotifyDatagram? {
        var entry = pollfd(fd: socket.fd.rawValue, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 10_000) == 1 else { return nil }
        return try socket.receive()
    }

    @Test func attributesADatagramToTheChildThatSentIt() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let socket = try NotifySocket(path: directory + "/notify")
        #expect(LinuxTestSupport.status(socket.path).map { $0.st_mode & 0o777 } == 0o666)
        #expect(try socket.fd.option(SOL_SOCKET, SO_PASSCRED) == 1)
        #expect(LinuxTestSupport.isCloseOnExec(socket.fd) && LinuxTestSupport.isNonBlocking(socket.fd))

        // A separate program sends, as a service would (python3-systemd: docs/HACKING.md "libsystemd and the journal").
        let client = """
            import os, socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(b"READY=1\\nSTATUS=serving", os.environ["NOTIFY_SOCKET"])
            """
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/usr/bin/python3", arguments: ["python3", "-c", client],
            environment: ["NOTIFY_SOCKET=\(socket.path)"]))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))

        let datagram = try #require(try receive(socket))
        #expect(datagram.dropped == nil)
        #expect(datagram.sender?.pid == pid)
        #expect(datagram.sender?.uid == getuid())
        #expect(String(decoding: datagram.text, as: UTF8.self) == "READY=1\nSTATUS=serving")
        #expect(datagram.fds.isEmpty)
        #expect(try socket.receive() == nil)  // nothing more: nil, not a block
    }

    @Test func dropsOversizedDatagramsAndReportsTheirRealSize() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let socket = try NotifySocket(path: directory + "/notify")

        let largest = "STATUS=" + String(repeating: "x", count: 4095 - 7)
        try NotifySocket.sendNotify(largest, to: socket.path)
        let accepted = try #require(try receive(socket))
        #expect(accepted.dropped == nil)
        #expect(accepted.text.count == 4095)
        #expect(accepted.sender?.pid == getpid())

        for size in [4096, 6000] {
            try NotifySocket.sendNotify("STATUS=" + String(repeating: "y", count: size - 7), to: socket.path)
            let dropped = try #require(try receive(socket))
            #expect(dropped.dropped == .tooLarge(size))
            #expect(dropped.text.isEmpty)
        }
    }

    @Test func dropsDatagramsWithANULAndClosesTheirFds() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let socket = try NotifySocket(path: directory + "/notify")

        // Send the write end of a pipe with the bad datagram; once every copy
        // of it is closed, the read end sees end-of-file.
        let (read, write) = try FileDescriptor.closeOnExecPipe()
        defer { try? read.close() }
        _ = fcntl(read.rawValue, F_SETFL, O_NONBLOCK)
        try NotifySocket.sendNotify("READY=1\0WATCHDOG=1", to: socket.path, fds: [write])
        try write.close()

        let dropped = try #require(try receive(socket))
        #expect(dropped.dropped == .containsNUL)
        #expect(dropped.fds.isEmpty)
        // EOF: swatchd's copy was closed. Not necessarily at once: a child another test is
        // spawning in parallel holds a CLOEXEC copy until its execve.
        var byte: UInt8 = 0
        #expect(LinuxTestSupport.eventually(within: 5) { Glibc.read(read.rawValue, &byte, 1) == 0 })
    }

    @Test func passesReceivedFdsToTheCallerCloseOnExec() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let socket = try NotifySocket(path: directory + "/notify")
        let (read, write) = try FileDescriptor.closeOnExecPipe()
        defer { try? read.close(); try? write.close() }

        try NotifySocket.sendNotify("FDSTORE=1\nFDNAME=pipe", to: socket.path, fds: [read, write])
        let datagram = try #require(try receive(socket))
        #expect(datagram.dropped == nil)
        #expect(datagram.fds.count == 2)
        defer { for fd in datagram.fds { try? fd.close() } }
        #expect(datagram.fds.allSatisfy { LinuxTestSupport.isCloseOnExec($0) })
        // The received write end reaches our read end.
        _ = try datagram.fds[1].writeAll("z".utf8)
        var byte: UInt8 = 0
        #expect(Glibc.read(read.rawValue, &byte, 1) == 1 && byte == UInt8(ascii: "z"))
    }

    @Test func sendsToAnAbstractNotifySocket() throws {
        let name = "swatch-notify-\(getpid())-\(MonotonicClock.now())"
        let receiver = socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        defer { close(receiver) }
        let address = try SocketAddress.unix(name, abstract: true)
        #expect(address.withSockaddr { bind(receiver, $0, $1) } == 0)
        try NotifySocket.sendNotify("READY=1", to: "@" + name)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(receiver, &buffer, buffer.count, CInt(MSG_DONTWAIT))
        #expect(count == 7 && Array(buffer[0..<7]) == Array("READY=1".utf8))
        #expect(throws: Errno.invalidArgument) { try NotifySocket.sendNotify("READY=1", to: "relative/path") }
    }

    @Test func replacesAStaleSocketOfAnEarlierRun() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let path = directory + "/notify"
        do {
            _ = try NotifySocket(path: path)  // deinit closes, the file stays behind
        }
        #expect(LinuxTestSupport.status(path) != nil)
        let socket = try NotifySocket(path: path)
        try NotifySocket.sendNotify("READY=1", to: path)
        #expect(try receive(socket)?.dropped == nil)
        socket.close()
        #expect(LinuxTestSupport.status(path) == nil)
    }
}
