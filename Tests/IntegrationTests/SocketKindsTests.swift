// The listener kinds beyond stream, datagram and FIFO (systemd.socket(5): ListenSpecial=,
// ListenMessageQueue=, ListenNetlink=, vsock addresses) and the options that go with them
// (Writable=, MessageQueue*=, Symlinks=, Timestamping=, PassPacketInfo=), as the service
// sees its fds (Services/fd_probe.py: fstat, readlink, getsockopt, recvmsg) and as a client or
// `swatchctl status` sees the socket.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct SocketKindsTests {
        /// `/usr/bin/python3 Services/fd_probe.py REPORT ACTION` for ExecStart=.
        private func probe(_ report: String, _ action: String = "") -> String {
            "/usr/bin/python3 \(Harness.service("fd_probe.py")) \(report) \(action)"
        }

        /// The `Listen:` lines of `swatchctl status UNIT`, as systemctl prints them.
        private func listenLines(_ daemon: Daemon, _ unit: String) throws -> [String] {
            let status = try daemon.ctl("status", unit)
            var lines: [String] = []
            var inListen = false
            for line in status.lines {
                if line.hasPrefix("     Listen: ") {
                    inListen = true
                    lines.append(String(line.dropFirst("     Listen: ".count)))
                } else if inListen, line.hasPrefix(String(repeating: " ", count: 13)), line.hasSuffix(")") {
                    lines.append(String(line.dropFirst(13)))
                } else {
                    inListen = false
                }
            }
            return lines
        }

        /// python3 with ctypes, as another program using the queue would (mq_open(3), mq_send(3)).
        private func mq(_ script: String, _ arguments: String...) throws -> Command.Output {
            try Command.run(["/usr/bin/python3", "-c", """
                import ctypes, os, sys
                libc = ctypes.CDLL("libc.so.6", use_errno=True)
                \(script)
                """] + arguments)
        }

        /// Whether another process can open the queue `name`: `opened`, or why not.
        private func mqOpen(_ name: String) throws -> Command.Output {
            try mq("""
                fd = libc.mq_open(sys.argv[1].encode(), os.O_RDONLY)
                print("opened" if fd >= 0 else os.strerror(ctypes.get_errno()))
                """, name)
        }

        // MARK: ListenSpecial=, Writable=

        /// _IOW('T', 0x31, int) and _IOR('T', 0x30, unsigned int) of asm-generic/ioctls.h.
        private static let TIOCSPTLCK: UInt = 0x4004_5431
        private static let TIOCGPTN: UInt = 0x8004_5430

        /// A new pseudo-terminal: the master fd (the test's end) and the slave's path.
        private func openPty() throws -> (master: Int32, slave: String) {
            let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard master >= 0 else { throw HarnessError("open /dev/ptmx: \(String(cString: strerror(errno)))") }
            var unlock: CInt = 0, number: CUnsignedInt = 0
            guard ioctl(master, Self.TIOCSPTLCK, &unlock) == 0, ioctl(master, Self.TIOCGPTN, &number) == 0 else {
                close(master)
                throw HarnessError("pty ioctl: \(String(cString: strerror(errno)))")
            }
            return (master, "/dev/pts/\(number)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aLineOnACharacterDeviceStartsTheServiceWhichReadsItAndAnswersThroughWritable() throws {
            let (master, slave) = try openPty()
            defer { close(master) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("tty.socket", "[Socket]\nListenSpecial=\(slave)\nWritable=yes\n")
            try daemon.write("tty.service", "[Service]\nExecStart=\(probe(report, "--line"))\n")
            try daemon.start()
            #expect(daemon.children.isEmpty, "started before anything was written")
            #expect(try listenLines(daemon, "tty.socket") == ["\(slave) (Special)"])

            _ = "hello\n".withCString { write(master, $0, 6) }
            let seen = try waitForReport(report)
            #expect(seen["FDS"] == "3")
            #expect(seen["FD3_NAME"] == "tty.socket")
            #expect(seen["FD3_LINK"] == slave)
            #expect(seen["FD3_KIND"] == "chr")
            #expect(seen["FD3_ACCESS"] == "rw")
            #expect(seen["LINE"] == "hello")
            // The answer came back through the same file, written by the service.
            var received = ""
            try waitUntil("the service's answer reaches the pty's master: \(received.debugDescription)") {
                var buffer = [UInt8](repeating: 0, count: 256)
                var poll = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                if Glibc.poll(&poll, 1, 0) == 1 {
                    let count = read(master, &buffer, buffer.count)
                    if count > 0 { received += String(decoding: buffer[..<count], as: UTF8.self) }
                }
                return received.contains("got:hello")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func aSpecialFileIsReadOnlyWithoutWritable() throws {
            let (master, slave) = try openPty()
            defer { close(master) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("tty.socket", "[Socket]\nListenSpecial=\(slave)\n")
            try daemon.write("tty.service", "[Service]\nExecStart=\(probe(report, "--line"))\n")
            try daemon.start()
            _ = "ro\n".withCString { write(master, $0, 3) }
            let seen = try waitForReport(report)
            #expect(seen["FD3_ACCESS"] == "r")
            #expect(seen["LINE"] == "ro")
        }

        /// A regular file on disk cannot be waited for with epoll (EPERM): systemd's
        /// socket_watch_fds() fails the unit; swatchd leaves it out at start-up with the reason.
        @Test(.timeLimit(.minutes(1)))
        func aRegularFileIsLeftOutWithTheReasonAndTheOtherUnitsRun() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let plain = daemon.path("plain"), report = daemon.path("report"), fifo = daemon.path("fifo")
            try "a line\n".write(toFile: plain, atomically: true, encoding: .utf8)
            try daemon.write("plain.socket", "[Socket]\nListenSpecial=\(plain)\n")
            try daemon.write("plain.service", "[Service]\nExecStart=\(probe(daemon.path("never")))\n")
            try daemon.write("ok.socket", "[Socket]\nListenFIFO=\(fifo)\n")
            try daemon.write("ok.service", "[Service]\nExecStart=\(probe(report))\n")
            try daemon.start()
            let line = try daemon.waitForLog(containing: "plain.socket", "Failed to watch special file \(plain)",
                                             "Operation not permitted")
            #expect(!line.contains("ok.socket"))
            try Client.writeFIFO("x\n", to: fifo)
            #expect(try waitForReport(report)["FD3_KIND"] == "fifo")
            #expect(readText(daemon.path("never")) == nil)
            try daemon.checkRunning()
        }

        // MARK: ListenMessageQueue=

        /// FlushPending=yes: the message a service left on its queue is thrown away when the
        /// service ends (mq_receive(3)), so it does not start the service again.
        @Test(.timeLimit(.minutes(1)))
        func flushPendingEmptiesTheQueueTheServiceLeft() throws {
            let name = "/swatch-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? mq("libc.mq_unlink(sys.argv[1].encode())", name) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let runs = daemon.path("runs")
            try daemon.write("q.socket", "[Socket]\nListenMessageQueue=\(name)\nFlushPending=yes\n")
            try daemon.write("q.service", "[Service]\nExecStart=/bin/sh -c 'echo run >> \(runs)'\n")
            try daemon.start()
            let sent = try mq("""
                fd = libc.mq_open(sys.argv[1].encode(), os.O_WRONLY)
                assert fd >= 0, os.strerror(ctypes.get_errno())
                for message in (b"one", b"two"):
                    assert libc.mq_send(fd, message, len(message), 0) == 0, os.strerror(ctypes.get_errno())
                """, name)
            #expect(sent.status == .exited(0), "\(sent.standardError)")
            try waitUntil("q.service ran\n\(daemon.log)") { readText(runs) != nil }
            try daemon.waitForProperty("ActiveState", of: "q.service", toBe: "inactive")
            try daemon.waitForProperty("SubState", of: "q.socket", toBe: "listening")
            // QSIZE: the bytes queued (mq_overview(7)), read as another program would.
            let left = try mq("""
                fd = libc.mq_open(sys.argv[1].encode(), os.O_RDONLY | os.O_NONBLOCK)
                assert fd >= 0, os.strerror(ctypes.get_errno())
                print(os.read(fd, 256).decode().split()[0])
                """, name)
            #expect(left.standardOutput == "QSIZE:0\n", "\(left)")
            #expect(readText(runs) == "run\n", "started again by what it left")
        }

        @Test(.timeLimit(.minutes(1)))
        func aMessageOnTheQueueStartsTheServiceWhichReceivesItAndRemoveOnStopUnlinksTheQueue() throws {
            let name = "/swatch-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? mq("libc.mq_unlink(sys.argv[1].encode())", name) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("q.socket", """
                [Socket]
                ListenMessageQueue=\(name)
                SocketMode=0600
                MessageQueueMaxMessages=4
                MessageQueueMessageSize=64
                RemoveOnStop=yes
                """)
            try daemon.write("q.service", "[Service]\nExecStart=\(probe(report, "--mqueue"))\n")
            try daemon.start()
            #expect(try listenLines(daemon, "q.socket") == ["\(name) (MessageQueue)"])
            #expect(daemon.children.isEmpty, "started before a message was sent")

            let sent = try mq("""
                fd = libc.mq_open(sys.argv[1].encode(), os.O_WRONLY)
                assert fd >= 0, os.strerror(ctypes.get_errno())
                message = sys.argv[2].encode()
                assert libc.mq_send(fd, message, len(message), 0) == 0, os.strerror(ctypes.get_errno())
                """, name, "through the queue")
            #expect(sent.status == .exited(0), "\(sent.standardError)")
            let seen = try waitForReport(report)
            #expect(seen["MESSAGE"] == "through the queue", "\(seen)")
            #expect(seen["MQ_MAXMSG"] == "4")
            #expect(seen["MQ_MSGSIZE"] == "64")
            #expect(seen["FD3_NAME"] == "q.socket")
            #expect(seen["FD3_LINK"] == name)
            #expect(seen["FD3_ACCESS"] == "r")

            let stopped = try daemon.ctl("stop", "q.socket")
            #expect(stopped.exitCode == 0, "\(stopped)")
            let reopened = try mqOpen(name)
            #expect(reopened.standardOutput == "No such file or directory\n", "\(reopened.standardError)")
        }

        // MARK: ListenNetlink=

        @Test(.timeLimit(.minutes(1)))
        func theServiceGetsNetlinkSocketsOfTheFamilyWithTheReceiveBuffer() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("nl.socket", """
                [Socket]
                ListenNetlink=route 0
                ListenNetlink=kobject-uevent 1
                ReceiveBuffer=1M
                PassCredentials=yes
                """)
            try daemon.write("nl.service", "[Service]\nExecStart=\(probe(report))\n")
            try daemon.start()
            #expect(try listenLines(daemon, "nl.socket") == ["route 0 (Netlink)", "kobject-uevent 1 (Netlink)"])
            // Nothing may arrive on these groups in a test: start it by hand (it still gets its sockets).
            let started = try daemon.ctl("start", "nl.service")
            #expect(started.exitCode == 0, "\(started)")
            let seen = try waitForReport(report)
            #expect(seen["FDS"] == "3,4")
            #expect(seen["FD3_DOMAIN"] == "\(AF_NETLINK)")
            #expect(seen["FD3_TYPE"] == "\(SOCK_RAW.rawValue)")
            #expect(seen["FD3_PROTOCOL"] == "0")
            #expect(seen["FD4_PROTOCOL"] == "15")
            #expect(seen["FD4_NAME"] == "nl.socket")
            // The kernel doubles the value it stores (socket(7)); as root SO_RCVBUFFORCE passes rmem_max.
            #expect(Int(seen["FD3_RCVBUF"] ?? "") == 2 * 1024 * 1024, "\(seen)")
        }

        // MARK: Symlinks=

        @Test(.timeLimit(.minutes(1)))
        func aClientConnectsThroughASymlinkAndRemoveOnStopRemovesIt() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("s.sock"), first = daemon.path("links/a.sock"), second = daemon.path("b.sock")
            let report = daemon.path("report")
            try daemon.write("echo.socket", "[Socket]\nListenStream=\(path)\nSymlinks=\(first) \(second)\nRemoveOnStop=yes\n")
            try daemon.write("echo.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report) --echo
                """)
            try daemon.start()
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: first) == path)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: second) == path)
            let connection = try Client.connect(.unix(first), type: SOCK_STREAM)
            defer { close(connection) }
            try Client.write("through the link\n", to: connection)
            #expect(try Client.readLine(connection) == "through the link")

            let stopped = try daemon.ctl("stop", "echo.socket")
            #expect(stopped.exitCode == 0, "\(stopped)")
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: first)) == nil)
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: second)) == nil)
        }

        /// daemon-reload with other options binds the path anew; RemoveOnStop= of the old
        /// listener must not remove the path, the queue or the links the new one holds.
        @Test(.timeLimit(.minutes(1)))
        func aReloadThatRebindsKeepsThePathTheQueueAndTheLinks() throws {
            let name = "/swatch-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? mq("libc.mq_unlink(sys.argv[1].encode())", name) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("s.sock"), link = daemon.path("l.sock"), report = daemon.path("report")
            let unit = { (backlog: Int) in
                "[Socket]\nListenStream=\(path)\nSymlinks=\(link)\nRemoveOnStop=yes\nBacklog=\(backlog)\n"
            }
            try daemon.write("echo.socket", unit(10))
            try daemon.write("echo.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report) --echo
                """)
            try daemon.write("q.socket", "[Socket]\nListenMessageQueue=\(name)\nRemoveOnStop=yes\nSocketMode=0600\n")
            try daemon.write("q.service", "[Service]\nExecStart=/bin/true\n")
            try daemon.start()
            try daemon.write("echo.socket", unit(20))
            try daemon.write("q.socket", "[Socket]\nListenMessageQueue=\(name)\nRemoveOnStop=yes\nSocketMode=0640\n")
            let reload = try daemon.ctl("daemon-reload")
            #expect(reload.exitCode == 0, "\(reload)")
            _ = try daemon.waitForLog(containing: "echo.socket", "Bound \(path) anew")
            _ = try daemon.waitForLog(containing: "q.socket", "Bound \(name) anew")
            let connection = try Client.connect(.unix(link), type: SOCK_STREAM)
            defer { close(connection) }
            try Client.write("after the reload\n", to: connection)
            #expect(try Client.readLine(connection) == "after the reload")
            let reopened = try mqOpen(name)
            #expect(reopened.standardOutput == "opened\n", "\(reopened.standardError)")
        }

        /// daemon-reexec carries every kind over as the same open file: what swatchd's fds
        /// point to is unchanged, and a message sent afterwards still starts the service.
        @Test(.timeLimit(.minutes(1)))
        func daemonReexecKeepsTheQueueTheNetlinkSocketAndTheSpecialFile() throws {
            let name = "/swatch-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { _ = try? mq("libc.mq_unlink(sys.argv[1].encode())", name) }
            let (master, slave) = try openPty()
            defer { close(master) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("q.socket", """
                [Socket]
                ListenMessageQueue=\(name)
                ListenNetlink=route 0
                ListenSpecial=\(slave)
                """)
            try daemon.write("q.service", "[Service]\nExecStart=\(probe(report, "--mqueue"))\n")
            try daemon.start()
            // Not 3 and 4: the spawner's socket pair, which each exec makes anew
            // (docs/HACKING.md "Spawning", "The child does not copy swatchd's descriptor table").
            let links = { () -> [String] in
                daemon.openFDs.filter { $0 > 4 }
                    .compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/fd/\($0)") }
                    .filter { $0 == name || $0 == slave || $0.hasPrefix("socket:") }.sorted()
            }
            let before = links()
            #expect(before.contains(name) && before.contains(slave), "\(before)")
            let reexec = try daemon.ctl("daemon-reexec")
            #expect(reexec.exitCode == 0, "\(reexec)")
            try daemon.waitForLog(containing: "re-executed")
            #expect(links() == before)
            #expect(try listenLines(daemon, "q.socket") == ["\(name) (MessageQueue)", "route 0 (Netlink)", "\(slave) (Special)"])

            let sent = try mq("""
                fd = libc.mq_open(sys.argv[1].encode(), os.O_WRONLY)
                assert fd >= 0, os.strerror(ctypes.get_errno())
                assert libc.mq_send(fd, b"after", 5, 0) == 0, os.strerror(ctypes.get_errno())
                """, name)
            #expect(sent.status == .exited(0), "\(sent.standardError)")
            let seen = try waitForReport(report)
            #expect(seen["MESSAGE"] == "after")
            #expect(seen["FDS"] == "3,4,5")
            #expect(seen["FD4_DOMAIN"] == "\(AF_NETLINK)")
            #expect(seen["FD5_LINK"] == slave)
        }

        // MARK: Timestamping=, PassPacketInfo=

        @Test(.timeLimit(.minutes(1)))
        func datagramsCarryTheirTimestampAndPacketInfo() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("a.socket", "[Socket]\nListenDatagram=127.0.0.1:\(ports[0])\nTimestamping=us\nPassPacketInfo=yes\nService=d.service\n")
            try daemon.write("b.socket", "[Socket]\nListenDatagram=[::1]:\(ports[1])\nTimestamping=ns\nPassPacketInfo=yes\nService=d.service\n")
            try daemon.write("d.service", "[Service]\nExecStart=\(probe(report, "--recvmsg"))\n")
            try daemon.start()
            try Client.sendDatagram("four", to: .loopback4(ports[0]))
            try Client.sendDatagram("six", to: .loopback6(ports[1]))
            let seen = try waitForReport(report)
            #expect(seen["DATA3"] == "four")
            #expect(seen["CMSG3"] == "SCM_TIMESTAMP,IP_PKTINFO", "\(seen)")
            #expect(seen["PKTINFO3"] == "127.0.0.1")
            #expect(seen["DATA4"] == "six")
            #expect(seen["CMSG4"] == "SCM_TIMESTAMPNS,IPV6_PKTINFO", "\(seen)")
            #expect(seen["PKTINFO4"] == "::1")
        }

        @Test(.timeLimit(.minutes(1)))
        func withoutTheOptionsADatagramCarriesNoControlMessage() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("d.socket", "[Socket]\nListenDatagram=127.0.0.1:\(port)\n")
            try daemon.write("d.service", "[Service]\nExecStart=\(probe(report, "--recvmsg"))\n")
            try daemon.start()
            try Client.sendDatagram("plain", to: .loopback4(port))
            let seen = try waitForReport(report)
            #expect(seen["DATA3"] == "plain")
            #expect(seen["CMSG3"] == "")
        }

        // MARK: vsock

        /// A CID that is not this machine's fails to bind (EADDRNOTAVAIL), or socket() fails where
        /// the kernel has no vsock (EAFNOSUPPORT): either way the unit is left out, logged like a
        /// port in use, and the others run.
        @Test(.timeLimit(.minutes(1)))
        func aVsockAddressThatCannotBeBoundIsLoggedAndTheOtherUnitsRun() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("vm.socket", "[Socket]\nListenStream=vsock:12345:\(port)\n")
            try daemon.write("vm.service", "[Service]\nExecStart=\(probe(daemon.path("never")))\n")
            try daemon.write("ok.socket", "[Socket]\nListenDatagram=127.0.0.1:\(port)\n")
            try daemon.write("ok.service", "[Service]\nExecStart=\(probe(report, "--recvmsg"))\n")
            try daemon.start()
            let line = try daemon.waitForLog(containing: "vm.socket", "vsock:12345:\(port)")
            #expect(line.contains("Cannot assign requested address") || line.contains("Address family not supported"),
                    "\(line)")
            try Client.sendDatagram("still here", to: .loopback4(port))
            #expect(try waitForReport(report)["DATA3"] == "still here")
            #expect(readText(daemon.path("never")) == nil)
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func verifyAcceptsTheNewKindsAndOptions() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("all.socket", """
                [Socket]
                ListenSpecial=/dev/kmsg
                ListenMessageQueue=/swatch-verify
                ListenNetlink=kobject-uevent 1
                ListenStream=vsock::1234
                ListenFIFO=/run/swatch-verify.fifo
                Writable=yes
                MessageQueueMaxMessages=8
                MessageQueueMessageSize=256
                Symlinks=/run/swatch-verify.link
                Timestamping=ns
                PassPacketInfo=yes
                """)
            try daemon.write("all.service", "[Service]\nExecStart=/bin/true\n")
            let result = try Command.run([try Harness.binary("swatchd"), "verify", "--unit-dir", daemon.unitDirectory])
            #expect(result.status == .exited(0), "\(result.standardOutput)\(result.standardError)")
            #expect(!result.standardError.contains("all.socket"), "\(result.standardError)")
        }
    }
}
