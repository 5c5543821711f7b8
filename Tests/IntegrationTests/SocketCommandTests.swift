// A socket unit's own commands (ExecStartPre=, ExecStartPost=, ExecStopPost=,
// systemd.socket(5)), as a user sees them: when they run relative to the bind
// and the close (read from `ss`, run by the commands themselves), with the
// unit's Environment=, and what a failing one leaves (swatchctl status, the port).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct SocketCommandTests {
        /// A command that writes what `ss -ltnH` shows into `file`.
        private func listenersInto(_ file: String) -> String {
            "/bin/sh -c '/usr/bin/ss -ltnH > \(file)'"
        }

        private func listens(_ text: String?, on port: UInt16) -> Bool {
            ListeningSocket.parse(text ?? "", port: port).isEmpty == false
        }

        /// x.socket on 127.0.0.1:PORT with `lines` after its ListenStream=, and the x.service
        /// it activates.
        private func writeSocket(_ daemon: Daemon, port: UInt16, _ lines: String) throws {
            try daemon.write("x.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\n" + lines)
            try daemon.write("x.service", "[Service]\nExecStart=/bin/true\n")
        }

        @Test(.timeLimit(.minutes(1)))
        func startCommandsRunBeforeAndAfterTheBindWithTheUnitsEnvironment() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let pre = daemon.path("pre"), post = daemon.path("post"), greeting = daemon.path("greeting")
            try writeSocket(daemon, port: port, """
                Environment=GREETING=hello
                ExecStartPre=\(listenersInto(pre))
                ExecStartPre=/bin/sh -c 'echo $GREETING > \(greeting)'
                ExecStartPost=\(listenersInto(post))
                """)
            try daemon.start()
            try waitUntil("x.socket is listening\n\(daemon.log)") {
                try daemon.property("SubState", of: "x.socket") == "listening"
            }
            #expect(FileManager.default.fileExists(atPath: pre), "ExecStartPre= ran")
            #expect(!listens(readText(pre), on: port), "ExecStartPre= ran before the bind: \(readText(pre) ?? "")")
            #expect(listens(readText(post), on: port), "ExecStartPost= ran after the bind: \(readText(post) ?? "")")
            #expect(readText(greeting) == "hello\n")
            #expect(try ListeningSocket.onPort(port).count == 1)
        }

        /// PassFileDescriptorsToExec=yes: ExecStartPost= and ExecStopPost= take the listener with
        /// python3-systemd's listen_fds_with_names() (sd_listen_fds(3)); ExecStartPre= runs before
        /// the bind and gets nothing.
        @Test(.timeLimit(.minutes(1)))
        func passFileDescriptorsToExecHandsTheCommandsTheListener() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            // What the command was passed, fd 3's port, and whether it blocks.
            func report(_ file: String) -> String {
                "/usr/bin/python3 -c \"import socket, sys; from systemd import daemon; fds = daemon.listen_fds_with_names(); "
                    + "port = socket.socket(fileno=3).getsockname()[1] if fds else 0; "
                    + "open(sys.argv[1], 'w').write(repr(fds) + ' ' + str(port))\" \(file)"
            }
            try writeSocket(daemon, port: port, """
                FileDescriptorName=web
                PassFileDescriptorsToExec=yes
                ExecStartPre=\(report(daemon.path("pre")))
                ExecStartPost=\(report(daemon.path("post")))
                ExecStopPost=\(report(daemon.path("stoppost")))
                """)
            try daemon.start()
            try daemon.waitForProperty("SubState", of: "x.socket", toBe: "listening")
            #expect(readText(daemon.path("pre")) == "{} 0")
            #expect(readText(daemon.path("post")) == "{3: 'web'} \(port)")
            let stop = try daemon.ctl("stop", "x.socket")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(readText(daemon.path("stoppost")) == "{3: 'web'} \(port)")
            #expect(try ListeningSocket.onPort(port).isEmpty, "closed once ExecStopPost= has it")
        }

        @Test(.timeLimit(.minutes(1)))
        func theCommandsRunAsTheUserTheSocketUnitNames() throws {
            guard getuid() == 0 else { return }   // User= needs root
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let ids = daemon.path("ids")
            try writeSocket(daemon, port: port, """
                User=nobody
                ExecStartPre=/usr/bin/id -u
                StandardOutput=file:\(ids)
                """)
            try daemon.start()
            try daemon.waitForProperty("SubState", of: "x.socket", toBe: "listening")
            let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
            #expect(readText(ids) == "\(nobody)\n")
        }

        @Test(.timeLimit(.minutes(1)))
        func stopRunsExecStopPostOnceTheListenersAreClosed() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let stopped = daemon.path("stopped")
            try writeSocket(daemon, port: port, """
                ExecStopPost=\(listenersInto(stopped))
                """)
            try daemon.start()
            #expect(try ListeningSocket.onPort(port).count == 1)
            #expect(!FileManager.default.fileExists(atPath: stopped))
            let stop = try daemon.ctl("stop", "x.socket")
            #expect(stop.exitCode == 0, "\(stop)")
            // The stop returns once ExecStopPost= is through.
            let seen = try #require(readText(stopped), "ExecStopPost= ran before stop returned\n\(daemon.log)")
            #expect(!listens(seen, on: port), "ExecStopPost= ran after the close: \(seen)")
            #expect(try !swatchdListens(daemon, on: port))
            #expect(try daemon.property("ActiveState", of: "x.socket") == "inactive")
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func aFailingExecStartPreLeavesTheSocketFailedAndThePortClosed() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // Two distinct ports: two calls of free() may both get the port the kernel picks next,
            // and other.socket would then be what listens on x.socket's.
            let ports = try Ports.free(2)
            let port = ports[0]
            try writeSocket(daemon, port: port, """
                ExecStartPre=/bin/sh -c 'exit 3'
                """)
            try daemon.write("other.socket", "[Socket]\nListenStream=127.0.0.1:\(ports[1])\n")
            try daemon.write("other.service", "[Service]\nExecStart=/bin/true\n")
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "x.socket", toBe: "failed")
            let status = try daemon.ctl("status", "x.socket")
            #expect(status.exitCode == 3, "\(status)")
            #expect(status.standardOutput.contains("Active: failed (Result: exit-code)"), "\(status)")
            #expect(try !swatchdListens(daemon, on: port), "nothing bound")
            #expect(try daemon.property("ActiveState", of: "other.socket") == "active", "the other units come up")
            let start = try daemon.ctl("start", "x.socket")
            #expect(start.exitCode == 1, "a start runs it again, and fails again: \(start)")
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func anExecStartPreThatHangsIsKilledAfterTimeoutSec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try writeSocket(daemon, port: port, """
                ExecStartPre=/bin/sleep 60
                TimeoutSec=1
                """)
            try daemon.start()
            #expect(try daemon.property("SubState", of: "x.socket") == "start-pre")
            try daemon.waitForProperty("ActiveState", of: "x.socket", toBe: "failed")
            #expect(try daemon.property("Result", of: "x.socket") == "timeout")
            #expect(try !swatchdListens(daemon, on: port))
            try waitUntil("the sleep is reaped") { daemon.children.isEmpty }
        }
    }
}

extension Integration {
    /// Socket templates: `x@.socket` with `%i` in its listener, one instance linked in the
    /// unit dir (as `systemctl enable x@a.socket` links it) and one made by `swatchctl start`.
    @Suite struct SocketTemplateTests {
        @Test(.timeLimit(.minutes(1)))
        func twoInstancesListenOnTheirOwnPathsAndStartTheirOwnServices() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("x@.socket", "[Socket]\nListenStream=\(daemon.path("x-%i.sock"))\n")
            try daemon.write("x@.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(daemon.path("report-%i"))
                """)
            #expect(symlink("x@.socket", daemon.unitDirectory + "/x@a.socket") == 0)
            try daemon.start()
            #expect(Daemon.isSocket(daemon.path("x-a.sock")), "the linked instance listens at start-up")
            #expect(!FileManager.default.fileExists(atPath: daemon.path("x-b.sock")))
            let start = try daemon.ctl("start", "x@b.socket")
            #expect(start.exitCode == 0, "\(start)")
            #expect(Daemon.isSocket(daemon.path("x-b.sock")))
            for instance in ["a", "b"] {
                let body = try Client.body(.unix(daemon.path("x-\(instance).sock")))
                #expect(body == Client.helloBody)
                let report = try #require(readText(daemon.path("report-\(instance)")))
                #expect(report.contains("LISTEN_FDNAMES=x@\(instance).socket\n"), "\(report)")
                #expect(try daemon.property("ActiveState", of: "x@\(instance).service") == "active")
            }
            #expect(try daemon.property("ActiveState", of: "x@.socket") == nil, "the template is no unit")
        }

        @Test(.timeLimit(.minutes(1)))
        func anInstanceMadeByStartOutlivesReloadAndReexecOnTheSameSocket() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("x@.socket", "[Socket]\nListenStream=\(daemon.path("x-%i.sock"))\n")
            try daemon.write("x@.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(daemon.path("report-%i"))
                """)
            try daemon.start()
            #expect(try daemon.ctl("start", "x@b.socket").exitCode == 0)
            var inode = stat()
            #expect(stat(daemon.path("x-b.sock"), &inode) == 0)
            for verb in ["daemon-reload", "daemon-reexec"] {
                let result = try daemon.ctl(verb)
                #expect(result.exitCode == 0, "\(verb): \(result)")
                #expect(try daemon.property("SubState", of: "x@b.socket") == "listening", "after \(verb)\n\(daemon.log)")
                var now = stat()
                #expect(stat(daemon.path("x-b.sock"), &now) == 0 && now.st_ino == inode.st_ino, "the same socket after \(verb)")
            }
            #expect(try Client.body(.unix(daemon.path("x-b.sock"))) == Client.helloBody)
        }
    }
}

extension Integration {
    /// `Sockets=`: two socket units feed one service, which sees both in LISTEN_FDNAMES
    /// (python3-systemd's listen_fds_with_names(), Services/listen_fds.py).
    @Suite struct ServiceSocketsTests {
        @Test(.timeLimit(.minutes(1)))
        func twoSocketUnitsFeedOneServiceThatNamesThem() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let ports = try Ports.free(2)
            let report = daemon.path("report")
            try daemon.write("a.socket", "[Socket]\nListenStream=127.0.0.1:\(ports[0])\n")
            try daemon.write("b.socket", "[Socket]\nListenStream=127.0.0.1:\(ports[1])\nFileDescriptorName=bee\n")
            try daemon.write("x.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report)
                Sockets=a.socket b.socket
                """)
            try daemon.start()
            #expect(try daemon.property("ActiveState", of: "x.service") == "inactive", "it waits for traffic")
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            let text = try #require(readText(report))
            #expect(text.contains("LISTEN_FDS=2\n"), "\(text)")
            #expect(text.contains("LISTEN_FDNAMES=a.socket:bee\n"), "\(text)")
            #expect(text.contains("NAMES=a.socket,bee\n"), "\(text)")
            // The same process serves the other socket.
            let pid = try daemon.property("MainPID", of: "x.service")
            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
            #expect(try daemon.property("MainPID", of: "x.service") == pid)
        }

        /// `Sockets=` naming a socket unit that is not there: `verify` and the daemon say so at
        /// the line, and the service still runs on the socket that is.
        @Test(.timeLimit(.minutes(1)))
        func aMissingSocketIsWarnedAtItsLineAndTheServiceRunsWithout() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try daemon.write("a.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\n")
            try daemon.write("x.service", """
                [Service]
                ExecStart=\(try Harness.binary("swatchd-hello"))
                Sockets=a.socket nosuch.socket
                """)
            let warning = "\(daemon.unitDirectory)/x.service:3: Sockets= names nosuch.socket, which is not loaded: "
                + "the service starts without it"
            let verify = try Command.run([try Harness.binary("swatchd"), "verify", "--unit-dir", daemon.unitDirectory])
            #expect(verify.status == .exited(0), "\(verify.standardError)")
            #expect(verify.standardError.contains(warning), "\(verify.standardError)")
            try daemon.start()
            #expect(daemon.log.contains(warning), "\(daemon.log)")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
        }

        /// OpenFile=: swatchd opens the files, as root, and passes them after the sockets, named as
        /// python3-systemd's listen_fds_with_names() reads them; a `graceful` one that is missing is
        /// left out; a service running as nobody reads a root-only file through its fd; a missing
        /// file that is not graceful fails the start.
        @Test(.timeLimit(.minutes(1)))
        func openFilePassesFilesSwatchdOpens() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), data = daemon.path("data.txt"), log = daemon.path("out.log")
            try "secret\n".write(toFile: data, atomically: true, encoding: .utf8)
            #expect(chmod(data, 0o600) == 0)
            try "".write(toFile: log, atomically: true, encoding: .utf8)
            #expect(chmod(log, 0o600) == 0)
            // A unix socket the test listens on: swatchd connects to it.
            let peer = daemon.path("peer.sock")
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            defer { close(listener) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in peer.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0 && listen(listener, 4) == 0)
            try daemon.write("names.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report)
                OpenFile=\(data):data:read-only
                OpenFile=/nonexistent/swatchd-gone:gone:graceful
                OpenFile=\(log)
                OpenFile=\(peer):peer
                """)
            try daemon.write("reader.service", """
                [Service]
                Type=oneshot
                User=nobody
                ExecStart=/bin/sh -c 'cat <&3 >&4'
                OpenFile=\(data)::read-only
                OpenFile=\(log)::append
                """)
            try daemon.write("broken.service", "[Service]\nExecStart=/bin/true\nOpenFile=/nonexistent/swatchd-missing\n")
            try daemon.start()
            let text = try waitFor("names.service reported\n\(daemon.log)") { readText(report) }
            #expect(text.contains("LISTEN_FDS=3\n") && text.contains("LISTEN_FDNAMES=data:out.log:peer\n"), "\(text)")
            #expect(text.contains("FDS=3,4,5\n") && text.contains("NAMES=data,out.log,peer\n"), "\(text)")
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            #expect(poll(&entry, 1, 5000) == 1, "swatchd connected to the socket")
            try waitUntil("nobody copied the root-only file through its fds\n\(daemon.log)") { readText(log) == "secret\n" }
            try daemon.waitForLog(containing: "Failed to open OpenFile= file '/nonexistent/swatchd-missing': No such file or directory")
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")
        }
    }
}

extension Integration {
    /// FDPOLL= (sd_notify(3)): a stored fd whose peer closes is dropped from the store,
    /// unless it was stored with FDPOLL=0 (Services/fdpoll.py).
    @Suite struct FDStorePollTests {
        @Test(.timeLimit(.minutes(1)))
        func aStoredFDThatHangsUpIsDroppedUnlessFDPOLLIsZero() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("x.service", """
                [Service]
                Type=notify
                ExecStart=/usr/bin/python3 \(Harness.service("fdpoll.py")) \(report)
                FileDescriptorStoreMax=4
                """)
            try daemon.start()
            try waitUntil("the service stored its fds\n\(daemon.log)") { readText(report) == "stored\n" }
            // Both peers are closed; the polled fd goes, the unpolled one stays.
            try daemon.waitForProperty("NFileDescriptorStore", of: "x.service", toBe: "1")
            let restart = try daemon.ctl("restart", "x.service")
            #expect(restart.exitCode == 0, "\(restart)")
            try waitUntil("the new process reported its fds\n\(daemon.log)") {
                readText(report)?.hasPrefix("LISTEN_FDNAMES=") == true
            }
            #expect(readText(report) == "LISTEN_FDNAMES=unpolled\n")
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func storedFDsAreStillWatchedAfterAReexec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("x.service", """
                [Service]
                Type=notify
                ExecStart=/usr/bin/python3 \(Harness.service("fdpoll.py")) \(report) --hold
                FileDescriptorStoreMax=4
                """)
            try daemon.start()
            try waitUntil("the service stored its fds\n\(daemon.log)") { readText(report) == "stored\n" }
            try daemon.waitForProperty("NFileDescriptorStore", of: "x.service", toBe: "2")
            let reexec = try daemon.ctl("daemon-reexec")
            #expect(reexec.exitCode == 0, "\(reexec)")
            let pid = try #require(try daemon.property("MainPID", of: "x.service").flatMap { Int32($0) })
            kill(pid, SIGUSR1)
            // The re-executed swatchd watches the polled one, and still not the other.
            try daemon.waitForProperty("NFileDescriptorStore", of: "x.service", toBe: "1")
            #expect(try daemon.ctl("restart", "x.service").exitCode == 0)
            try waitUntil("the new process reported its fds\n\(daemon.log)") {
                readText(report)?.hasPrefix("LISTEN_FDNAMES=") == true
            }
            #expect(readText(report) == "LISTEN_FDNAMES=unpolled\n", "FDPOLL=0 carried over")
            try daemon.checkRunning()
        }
    }
}

extension Integration {
    /// MaxConnectionsPerSource= with Accept=yes: a second connection from the same address
    /// while the first one's instance runs is closed at once, and logged.
    @Suite struct MaxConnectionsPerSourceTests {
        @Test(.timeLimit(.minutes(1)))
        func aSecondLoopbackConnectionIsClosedWhileTheFirstIsServed() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try daemon.write("echo.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(port)
                Accept=yes
                MaxConnectionsPerSource=1
                """)
            try daemon.write("echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start()
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(first) }
            try Client.write("one\n", to: first)
            #expect(try Client.readLine(first) == "one", "the first connection is served")
            let second = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(second) }
            #expect(try Client.readLine(second) == nil, "closed without an answer")
            try daemon.waitForLog(containing: "echo.socket: Too many incoming connections (2) from source 127.0.0.1, dropping connection.")
            // The first one goes on, and once it is gone the source has room again.
            try Client.write("still\n", to: first)
            #expect(try Client.readLine(first) == "still")
            shutdown(first, Int32(SHUT_WR))
            #expect(try Client.readLine(first) == nil)
            try waitUntil("the first instance is gone\n\(daemon.log)") { daemon.children.isEmpty }
            let third = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(third) }
            try Client.write("three\n", to: third)
            #expect(try Client.readLine(third) == "three")
            try daemon.checkRunning()
        }

        /// daemon-reexec carries each instance's source over (Manager+Reexec.swift): the
        /// new swatchd still refuses a second connection from a source whose first
        /// instance runs — by address, and a unix peer by its UID ("UID 0": a word with a space).
        @Test(.timeLimit(.minutes(1)))
        func theCountsOutliveADaemonReexec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let path = daemon.path("echo.sock")
            for (name, listen) in [("echo", "127.0.0.1:\(port)"), ("local", path)] {
                try daemon.write("\(name).socket", "[Socket]\nListenStream=\(listen)\nAccept=yes\nMaxConnectionsPerSource=1\n")
                try daemon.write("\(name)@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            }
            try daemon.start()
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(first) }
            let firstLocal = try Client.connect(.unix(path), type: SOCK_STREAM)
            defer { close(firstLocal) }
            for connection in [first, firstLocal] {
                try Client.write("one\n", to: connection)
                #expect(try Client.readLine(connection) == "one", "the first connections are served")
            }
            let reexec = try daemon.ctl("daemon-reexec")
            #expect(reexec.exitCode == 0, "\(reexec)")
            try daemon.waitForLog(containing: "re-executed")
            let second = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(second) }
            #expect(try Client.readLine(second) == nil, "closed without an answer")
            let secondLocal = try Client.connect(.unix(path), type: SOCK_STREAM)
            defer { close(secondLocal) }
            #expect(try Client.readLine(secondLocal) == nil, "closed without an answer")
            try daemon.waitForLog(containing: "echo.socket: Too many incoming connections (2) from source 127.0.0.1, dropping connection.")
            try daemon.waitForLog(containing: "local.socket: Too many incoming connections (2) from source UID \(getuid()), dropping connection.")
            for connection in [first, firstLocal] {
                try Client.write("still\n", to: connection)
                #expect(try Client.readLine(connection) == "still")
            }
            try daemon.checkRunning()
        }
    }
}

/// Whether swatchd holds a listener on `port`: what a closed port means here. Not "nothing
/// listens on it": once swatchd holds nothing there, Ports.free() in a test running beside this
/// one may hand the same port to its daemon.
private func swatchdListens(_ daemon: Daemon, on port: UInt16) throws -> Bool {
    !(try ListenerInode.onPort(port)).isDisjoint(with: ListenerInode.held(by: daemon.pid))
}
