// Socket activation as a user sees it (swatchd.socket(5)): the built swatchd
// on temp unit dirs, real sockets, real clients; what the service observes
// is checked from inside it (swatchd-hello --report, python3-systemd).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ActivationTests {
        // MARK: Lazy start

        @Test(.timeLimit(.minutes(1)))
        func startsNothingBeforeTheFirstConnectionAndExactlyOneProcessOnIt() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()

            #expect(holdsNever(for: .milliseconds(300)) { !daemon.children.isEmpty },
                    "a service started before any connection")
            #expect(readReport(report) == nil)

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let service = try daemon.waitForChildren(1)[0]
            #expect(service.command == "swatchd-hello")
            #expect(try waitForReport(report)["PID"] == "\(service.pid)")

            // More connections go to the running service: still one process.
            for _ in 0..<5 { #expect(try Client.body(.loopback4(port)) == Client.helloBody) }
            #expect(daemon.children.map(\.pid) == [service.pid])
        }

        @Test(.timeLimit(.minutes(1)))
        func answersIPv4AndIPv6ThroughOneDualStackListener() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()

            let listeners = try ListeningSocket.onPort(port)
            #expect(listeners.count == 1, "\(listeners)")
            #expect(listeners.first?.localAddress == "*:\(port)" || listeners.first?.localAddress == "[::]:\(port)")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try Client.body(.loopback6(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["FD3_FAMILY"] == "inet6")
            #expect(seen["FD3_V6ONLY"] == "0")
        }

        @Test(.timeLimit(.minutes(1)))
        func bindsExplicitAddressesAndIPv6Only() throws {
            let ports = try Ports.free(3)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), v6Report = daemon.path("v6report")
            try daemon.write("pair.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(ports[0])
                ListenStream=[::1]:\(ports[1])
                """)
            try daemon.write("pair.service", try Units.helloService(report: report))
            try daemon.write("v6.socket", """
                [Socket]
                ListenStream=\(ports[2])
                BindIPv6Only=ipv6-only
                """)
            try daemon.write("v6.service", try Units.helloService(report: v6Report))
            try daemon.start()

            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
            #expect(try Client.body(.loopback6(ports[1])) == Client.helloBody)
            let pair = try waitForReport(report)
            #expect(pair["LISTEN_FDS"] == "2")
            #expect(pair["FDS"] == "0,1,2,3,4")
            #expect(pair["FD3_FAMILY"] == "inet")
            #expect(pair["FD4_FAMILY"] == "inet6")
            #expect(pair["LISTEN_FDNAMES"] == "pair.socket:pair.socket")

            #expect(try Client.body(.loopback6(ports[2])) == Client.helloBody)
            #expect(try waitForReport(v6Report)["FD3_V6ONLY"] == "1")
            #expect(throws: ClientError.self) { try Client.get(.loopback4(ports[2]), timeout: .seconds(2)) }
        }

        @Test(.timeLimit(.minutes(1)))
        func runsTheHelloExampleWithItsPlainExecStartName() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let example = Harness.repositoryRoot + "/conf/examples/hello/"
            for name in ["hello.socket", "hello.service"] {
                let text = try String(contentsOfFile: example + name, encoding: .utf8)
                try daemon.write(name, text.replacingOccurrences(of: "ListenStream=8080", with: "ListenStream=\(port)"))
            }
            try daemon.start()
            // ExecStart=swatchd-hello is found in swatchd's own PATH (swatchd.service(5)).
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try Client.body(.loopback6(port)) == Client.helloBody)
            #expect(try daemon.waitForChildren(1)[0].command == "swatchd-hello")
        }

        // MARK: What the service receives

        @Test(.timeLimit(.minutes(1)))
        func handsTheServiceExactlyItsSocketAndACleanEnvironment() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)

            #expect(seen["FD3_FAMILY"] == "inet6")
            #expect(seen["FD3_TYPE"] == "stream")
            #expect(seen["FD3_REUSEPORT"] == "1")
            #expect(seen["FD3_V6ONLY"] == "0")
            // The report reads the listener; accepted sockets inherit TCP_NODELAY (docs/HACKING.md "Sockets").
            #expect(seen["FD3_NODELAY"] == "1")
            #expect(seen["LISTEN_PID"] == seen["PID"])
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["LISTEN_FDNAMES"] == "hello.socket")
            // Not swatchd's stray fd \(Daemon.strayFD), nor anything of swatchd's.
            #expect(seen["FDS"] == "0,1,2,3")
            #expect(seen["CWD"] == "/")
            #expect(seen["UMASK"] == "0022")

            let names = Set((seen["ENV"] ?? "").split(separator: ",").map(String.init))
            #expect(!names.contains(Daemon.secretName))
            // PATH is the service's own fixed one and NOTIFY_SOCKET swatchd's
            // own socket (Type=notify); every other name of swatchd's env is a leak.
            let leaked = names.intersection(daemon.environment.keys).subtracting(["PATH", "NOTIFY_SOCKET"])
            #expect(leaked.isEmpty, "leaked from swatchd's environment: \(leaked.sorted())")
            let unexpected = names.subtracting(Units.protocolVariables)
            #expect(unexpected.isEmpty, "not a variable swatchd.service(5) lists: \(unexpected.sorted())")
            #expect(names.isSuperset(of: ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "PATH", "NOTIFY_SOCKET"]))
        }

        /// Among 100 other units' listening sockets: with that many descriptors open, a child
        /// takes its own over swatchd's socket pair instead of copying swatchd's table
        /// (docs/HACKING.md "Spawning"), and still sees exactly its one socket.
        @Test(.timeLimit(.minutes(1)))
        func amongAHundredUnitsTheServiceGetsExactlyItsSocket() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            for index in 0..<100 {
                try daemon.write("idle\(index).socket", "[Socket]\nListenStream=\(daemon.path("idle\(index).sock"))\n")
                try daemon.write("idle\(index).service", "[Service]\nExecStart=/bin/true\n")
            }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(daemon.openFDs.count > 100, "\(daemon.openFDs)")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["FDS"] == "0,1,2,3")
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["LISTEN_FDNAMES"] == "hello.socket")
            #expect(seen["LISTEN_PID"] == seen["PID"])
            #expect(seen["FD3_TYPE"] == "stream")
        }

        /// SWATCHD_DESCRIPTOR_HANDOFF=0 (swatchd(8), ENVIRONMENT): no socket pair at swatchd's fds
        /// 3 and 4, where Daemon.run makes it first thing; the child copies the table and closes
        /// what is not its own, and the service sees exactly the same descriptors either way.
        /// A value that is not a boolean is named on stderr and leaves the handoff on.
        @Test(.timeLimit(.minutes(1)), arguments: [nil, "0", "no", "maybe"])
        func theDescriptorHandoffCanBeTurnedOff(setting: String?) throws {
            let port = try Ports.free()
            let daemon = try Daemon(environment: setting.map { ["SWATCHD_DESCRIPTOR_HANDOFF": $0] } ?? [:])
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            let pair = try [3, 4].map { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/fd/\($0)") }
            let handoff = setting != "0" && setting != "no"
            #expect(pair.allSatisfy { $0.hasPrefix("socket:") } == handoff, "\(pair)")
            let complaint = "Failed to parse SWATCHD_DESCRIPTOR_HANDOFF='maybe' as a boolean, ignoring"
            #expect(daemon.log.contains(complaint) == (setting == "maybe"), "\(daemon.log)")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["FDS"] == "0,1,2,3")
            #expect(seen["LISTEN_FDS"] == "1" && seen["FD3_TYPE"] == "stream")
        }

        @Test(.timeLimit(.minutes(1)))
        func setsEverySocketOptionOfTheUnit() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), credReport = daemon.path("credreport")
            try daemon.write("opts.socket", """
                [Socket]
                ListenStream=\(port)
                BindIPv6Only=both
                ReusePort=yes
                NoDelay=yes
                Backlog=42
                KeepAlive=yes
                KeepAliveTimeSec=77
                KeepAliveIntervalSec=11
                KeepAliveProbes=5
                ReceiveBuffer=300000
                SendBuffer=400000
                Mark=42
                FreeBind=yes
                Transparent=yes
                TCPCongestion=reno
                PassPIDFD=yes
                AcceptFileDescriptors=no
                """)
            try daemon.write("opts.service", try Units.helloService(report: report))
            let credPath = daemon.path("cred.sock")
            try daemon.write("cred.socket", """
                [Socket]
                ListenStream=\(credPath)
                PassCredentials=yes
                PassPIDFD=yes
                AcceptFileDescriptors=no
                """)
            try daemon.write("cred.service", try Units.helloService(report: credReport))
            try daemon.start()

            // Backlog= from outside: Send-Q of the LISTEN row (docs/HACKING.md "Sockets").
            #expect(try ListeningSocket.onPort(port).map(\.backlog) == [42])

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["FD3_REUSEPORT"] == "1")
            #expect(seen["FD3_NODELAY"] == "1")
            #expect(seen["FD3_KEEPALIVE"] == "1")
            #expect(seen["FD3_KEEPIDLE"] == "77")
            #expect(seen["FD3_KEEPINTVL"] == "11")
            #expect(seen["FD3_KEEPCNT"] == "5")
            // The kernel doubles buffer sizes (socket(7)): at least what was asked.
            #expect((Int(seen["FD3_RCVBUF"] ?? "") ?? 0) >= 300_000, "RCVBUF \(seen["FD3_RCVBUF"] ?? "-")")
            #expect((Int(seen["FD3_SNDBUF"] ?? "") ?? 0) >= 400_000, "SNDBUF \(seen["FD3_SNDBUF"] ?? "-")")
            #expect(seen["FD3_MARK"] == "42")
            #expect(seen["FD3_FREEBIND"] == "1")
            // Needs CAP_NET_ADMIN; the tests run as root.
            #expect(seen["FD3_TRANSPARENT"] == "1")
            // SO_PASSCRED is the unix socket's below (a TCP socket may not even report it).
            #expect(seen["FD3_PASSCRED"] != "1")
            #expect(seen["FD3_CONGESTION"] == "reno")
            // PassPIDFD= and AcceptFileDescriptors= are af_unix's alone: not tried, no warning.
            #expect(!daemon.log.contains("SO_PASSPIDFD") && !daemon.log.contains("SO_PASSRIGHTS"), "\(daemon.log)")

            #expect(try Client.body(.unix(credPath)) == Client.helloBody)
            let cred = try waitForReport(credReport)
            #expect(cred["FD3_FAMILY"] == "unix")
            #expect(cred["FD3_PASSCRED"] == "1")
            #expect(cred["FD3_PASSPIDFD"] == "1")
            #expect(cred["FD3_PASSRIGHTS"] == "0")
            #expect(cred["FD3_CONGESTION"] == "n/a")
            // A peer's descriptors never reach the service: the kernel refuses them at the
            // sender (python3's socket module, as another program sends them).
            let sent = try Command.run(["/usr/bin/python3", "-c", """
                import array, socket, sys
                peer = socket.socket(socket.AF_UNIX)
                peer.connect(sys.argv[1])
                try:
                    peer.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0]))])
                    print("sent")
                except OSError as error:
                    print(error.strerror)
                """, credPath])
            #expect(sent.standardOutput == "Operation not permitted\n", "\(sent)")
        }

        /// FlushPending=yes: a connection the service never accepted is accepted and closed when
        /// the service ends (the client reads EOF), not left to start it again; the socket
        /// still starts it for the next one.
        @Test(.timeLimit(.minutes(1)))
        func flushPendingClosesTheConnectionsTheServiceLeft() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let runs = daemon.path("runs")
            try daemon.write("lazy.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nFlushPending=yes\n")
            try daemon.write("lazy.service", "[Service]\nExecStart=/bin/sh -c 'echo run >> \(runs)'\n")
            try daemon.start()
            for run in 1...2 {
                let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
                defer { close(connection) }
                #expect(try Client.readLine(connection) == nil, "closed once the service has ended")
                #expect(readText(runs)?.split(separator: "\n").count == run, "\(daemon.log)")
                // Listening again once the flush is over: a connection made during it would go too.
                try daemon.waitForProperty("SubState", of: "lazy.socket", toBe: "listening")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func givesTheServiceEnvironmentFileAndWorkingDirectory() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let work = daemon.path("work")
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try """
                # a comment, and an empty line

                FROM_FILE=file-value
                QUOTED="two words"
                """.write(toFile: daemon.path("envfile"), atomically: true, encoding: .utf8)
            // No socket: the service starts when swatchd starts. Relative
            // paths land in WorkingDirectory=. No `$` or `%`: systemd would
            // expand them in ExecStart=.
            try daemon.write("env.service", """
                [Service]
                Environment=FROM_UNIT=unit-value
                EnvironmentFile=\(daemon.path("envfile"))
                WorkingDirectory=\(work)
                ExecStart=/bin/sh -c 'pwd > pwd.tmp && env > env.tmp && mv pwd.tmp pwd.out && mv env.tmp env.out'
                """)
            try daemon.start()

            let environment = try waitFor("the service wrote \(work)/env.out\n\(daemon.log)") {
                readText(work + "/env.out")
            }
            let variables = Dictionary(
                environment.split(separator: "\n").compactMap { line -> (String, String)? in
                    guard let equals = line.firstIndex(of: "=") else { return nil }
                    return (String(line[..<equals]), String(line[line.index(after: equals)...]))
                }, uniquingKeysWith: { $1 })
            #expect(readText(work + "/pwd.out") == work + "\n")
            #expect(variables["FROM_UNIT"] == "unit-value")
            #expect(variables["FROM_FILE"] == "file-value")
            #expect(variables["QUOTED"] == "two words")
            #expect(variables[Daemon.secretName] == nil)
            #expect(variables["SWATCH_TEST_OTHER"] == nil)
            #expect(variables["NOTIFY_SOCKET"] != daemon.notifyPath)
            #expect(variables["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            #expect(variables["INVOCATION_ID"]?.isEmpty == false)
        }

        @Test(.timeLimit(.minutes(1)))
        func createsSocketFilesWithModeOwnerAndDirectoriesAndRemovesThemOnStop() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let socketPath = daemon.path("a/b/fs.sock"), fifoPath = daemon.path("a/b/fifo")
            let keptPath = daemon.path("kept.sock")
            try daemon.write("fs.socket", """
                [Socket]
                ListenStream=\(socketPath)
                ListenFIFO=\(fifoPath)
                SocketMode=0640
                SocketUser=nobody
                SocketGroup=nogroup
                DirectoryMode=0710
                RemoveOnStop=yes
                """)
            try daemon.write("fs.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello"))\n")
            try daemon.write("kept.socket", "[Socket]\nListenStream=\(keptPath)\n")
            try daemon.write("kept.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello"))\n")
            // A stale socket file from an earlier run is replaced (as systemd does before bind: src/shared/socket-label.c).
            let stale = try Daemon.bindDatagramSocket(keptPath)
            close(stale)
            try daemon.start()

            let socketStatus = try FileStatus(socketPath)
            #expect(socketStatus.type == S_IFSOCK)
            #expect(socketStatus.permissions == 0o640)
            #expect(socketStatus.owner == 65534)
            #expect(socketStatus.group == 65534)
            let fifoStatus = try FileStatus(fifoPath)
            #expect(fifoStatus.type == S_IFIFO)
            #expect(fifoStatus.permissions == 0o640)
            for directory in ["a", "a/b"] {
                let status = try FileStatus(daemon.path(directory))
                #expect(status.type == S_IFDIR)
                #expect(status.permissions == 0o710, "\(directory)")
            }
            #expect(try Client.body(.unix(socketPath)) == Client.helloBody)
            #expect(try Client.body(.unix(keptPath)) == Client.helloBody, "the stale socket file was not replaced")

            #expect(try daemon.stop() == .exited(0))
            #expect(access(socketPath, F_OK) != 0, "RemoveOnStop=yes left \(socketPath)")
            #expect(access(fifoPath, F_OK) != 0, "RemoveOnStop=yes left \(fifoPath)")
            #expect(Daemon.isSocket(keptPath), "RemoveOnStop= defaults to no")
        }

        // MARK: Several sockets

        /// The seed's two-socket case with the example service: libsystemd's
        /// sd_listen_fds_with_names sees the names of FileDescriptorName=.
        @Test(.timeLimit(.minutes(1)))
        func passesTheSeedsTwoNamedSocketsToTheExample() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try writeSeedMulti(to: daemon, ports: ports, execStart: "\(try Harness.binary("swatchd-hello")) --report \(report)")
            try daemon.start()

            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            #expect(try Client.body(.loopback6(ports[0])) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDS"] == "2")
            #expect(seen["LISTEN_FDNAMES"] == "http:https")
            #expect(seen["FDS"] == "0,1,2,3,4")
            #expect(seen["FD3_NAME"] == "http")
            #expect(seen["FD4_NAME"] == "https")
            #expect(seen["LISTEN_PID"] == seen["PID"])
            #expect(daemon.children.count == 1)
        }

        /// The same, seen by another client of the protocol: Debian's
        /// python3-systemd, `systemd.daemon.listen_fds_with_names()`.
        @Test(.timeLimit(.minutes(1)))
        func passesTheSeedsTwoNamedSocketsToPython3Systemd() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try writeSeedMulti(to: daemon, ports: ports,
                               execStart: "/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report)")
            try daemon.start()

            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["FDS"] == "3,4")
            #expect(seen["NAMES"] == "http,https")
            #expect(seen["FD3_NAME"] == "http")
            #expect(seen["FD4_NAME"] == "https")
            #expect(seen["LISTEN_PID"] == seen["PID"])
        }

        /// The seed's hello.service is BindTo= its two sockets: stopping one
        /// stops the service (and that port refuses); starting the service
        /// by hand makes the socket listen again (systemd.unit(5), BindsTo=).
        @Test(.timeLimit(.minutes(1)))
        func theSeedsServiceGoesWithASocketItIsBoundTo() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try writeSeedMulti(to: daemon, ports: ports, execStart: try Harness.binary("swatchd-hello"))
            try daemon.start()
            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
            try daemon.waitForProperty("ActiveState", of: "hello.service", toBe: "active")

            // The stop waits for both jobs: the service bound to the socket goes first.
            #expect(try daemon.ctl("stop", "hello-http.socket").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "hello.service") == "inactive")
            try daemon.waitForLog(containing: "Stopped hello.service")
            #expect(throws: ClientError.self) { try Client.get(.loopback4(ports[0]), timeout: .seconds(2)) }
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody, "the other socket still activates it")

            #expect(try daemon.ctl("start", "hello.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "hello-http.socket", toBe: "active")
            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
        }

        private func writeSeedMulti(to daemon: Daemon, ports: [UInt16], execStart: String) throws {
            let units = SeedUnits.adapted(
                SeedUnits.multi, ports: ["80": ports[0], "443": ports[1]], execStart: execStart,
                dropping: ["DynamicUser", "PrivateDevices"])
            for (name, text) in units { try daemon.write(name, text) }
        }

        // MARK: The socket outlives the service

        @Test(.timeLimit(.minutes(1)))
        func keepsTheSocketWhenTheServiceIsKilledAndStartsItAgain() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let first = try waitForReport(report)
            let firstPID = try #require(pid_t(first["PID"] ?? ""))
            try FileManager.default.removeItem(atPath: report)

            kill(firstPID, SIGKILL)
            // Made while the service is down (or not yet reaped): answered
            // from the backlog by the next activation, never refused.
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try Client.body(.loopback6(port)) == Client.helloBody)
            #expect(try ListeningSocket.onPort(port).count == 1)
            let second = try waitForReport(report)
            #expect(second["PID"] != first["PID"])
            #expect(!Processes.isAlive(firstPID))
            #expect(daemon.children.map(\.pid) == [pid_t(second["PID"] ?? "")].compactMap { $0 })
        }

        // MARK: Other kinds of listeners

        @Test(.timeLimit(.minutes(1)))
        func activatesOnAUnixStreamSocket() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("http.sock"), report = daemon.path("report")
            try daemon.write("unix.socket", "[Socket]\nListenStream=\(path)\n")
            try daemon.write("unix.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(Daemon.isSocket(path))
            #expect(daemon.children.isEmpty)
            #expect(try Client.body(.unix(path)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["FD3_FAMILY"] == "unix")
            #expect(seen["FD3_TYPE"] == "stream")
        }

        @Test(.timeLimit(.minutes(1)))
        func activatesOnAnAbstractUnixSocket() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // Unique per run: the abstract namespace is machine-wide.
            let name = "@" + (daemon.directory as NSString).lastPathComponent + "-abstract"
            let report = daemon.path("report")
            try daemon.write("abstract.socket", "[Socket]\nListenStream=\(name)\n")
            try daemon.write("abstract.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(try Client.body(.unix(name)) == Client.helloBody)
            #expect(try waitForReport(report)["FD3_FAMILY"] == "unix")
        }

        @Test(.timeLimit(.minutes(1)))
        func activatesOnAUnixDatagramSocketWhoseServiceReadsTheDatagrams() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("dgram.sock"), received = daemon.path("received")
            try daemon.write("dgram.socket", "[Socket]\nListenDatagram=\(path)\n")
            try daemon.write("dgram.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("dgram_reader.py")) \(received)
                """)
            try daemon.start()
            #expect(daemon.children.isEmpty)
            try Client.sendDatagram("first", to: .unix(path))
            try waitUntil("the service received the first datagram\n\(daemon.log)", timeout: .seconds(10)) {
                readText(received) == "first\n"
            }
            try Client.sendDatagram("second", to: .unix(path))
            try waitUntil("the service received the second datagram") { readText(received) == "first\nsecond\n" }
            #expect(daemon.children.count == 1)
        }

        @Test(.timeLimit(.minutes(1)))
        func activatesOnAUDPPort() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("udp.socket", "[Socket]\nListenDatagram=127.0.0.1:\(port)\n")
            try daemon.write("udp.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report)
                """)
            try daemon.start()
            #expect(daemon.children.isEmpty)
            // The first datagram waits in the socket while the service starts.
            #expect(try Client.exchangeDatagram("ping", with: .loopback4(port)) == "ping")
            #expect(try Client.exchangeDatagram("pong", with: .loopback4(port)) == "pong")
            #expect(try waitForReport(report)["FD3_NAME"] == "udp.socket")
            #expect(daemon.children.count == 1)
        }

        @Test(.timeLimit(.minutes(1)))
        func activatesOnASequentialPacketSocket() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("seq.sock"), report = daemon.path("report")
            try daemon.write("seq.socket", "[Socket]\nListenSequentialPacket=\(path)\n")
            try daemon.write("seq.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report) --echo
                """)
            try daemon.start()
            #expect(daemon.children.isEmpty)
            #expect(try Client.exchangePacket("ping", with: .unix(path)) == "ping")
            #expect(try waitForReport(report)["FD3_NAME"] == "seq.socket")
        }

        @Test(.timeLimit(.minutes(1)))
        func activatesOnAFIFO() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let fifo = daemon.path("fifo"), received = daemon.path("received"), report = daemon.path("report")
            let starts = daemon.path("starts")
            try daemon.write("fifo.socket", "[Socket]\nListenFIFO=\(fifo)\n")
            // The shell reads the FIFO on fd 3 and counts its starts.
            try daemon.write("fifo.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo start >> \(starts) && exec cat <&3 >> \(received)'
                """)
            let helloFIFO = daemon.path("fifo2")
            try daemon.write("fifo2.socket", "[Socket]\nListenFIFO=\(helloFIFO)\n")
            try daemon.write("fifo2.service", try Units.helloService(report: report, type: "simple"))
            try daemon.start()
            #expect(try FileStatus(fifo).type == S_IFIFO)
            #expect(daemon.children.isEmpty)

            try Client.writeFIFO("through the fifo\n", to: fifo)
            try waitUntil("the service read the FIFO\n\(daemon.log)", timeout: .seconds(10)) {
                readText(received) == "through the fifo\n"
            }
            // The writer has closed: a FIFO that swatchd holds only for
            // reading would now poll as hung up forever and respawn the
            // service in a loop (systemd opens it O_RDWR).
            #expect(holdsNever(for: .milliseconds(500)) { (readText(starts) ?? "").count > "start\n".count },
                    "the FIFO's service was started \((readText(starts) ?? "").split(separator: "\n").count) times")
            try Client.writeFIFO("wake up\n", to: helloFIFO)
            let seen = try waitForReport(report)
            #expect(seen["FD3_TYPE"] == "fifo")
            #expect(seen["FDS"] == "0,1,2,3")
        }

        // MARK: Accept=yes (inetd style, systemd.socket(5))

        @Test(.timeLimit(.minutes(1)))
        func runsOneEchoInstancePerConnectionWithTheEchoExample() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let example = Harness.repositoryRoot + "/conf/examples/echo/"
            for name in ["echo.socket", "echo@.service"] {
                let text = try String(contentsOfFile: example + name, encoding: .utf8)
                try daemon.write(name, text.replacingOccurrences(of: "ListenStream=7777", with: "ListenStream=\(port)"))
            }
            try daemon.start()
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(3))
            defer { close(first) }
            let second = try Client.connect(.loopback6(port), type: SOCK_STREAM, timeout: .seconds(3))
            defer { close(second) }
            try Client.write("one\n", to: first)
            try Client.write("two\n", to: second)
            #expect(try Client.readLine(second) == "two")
            #expect(try Client.readLine(first) == "one")
            let instances = try daemon.waitForChildren(2)
            #expect(instances.allSatisfy { $0.command == "cat" })
            // Each instance ends with its connection.
            shutdown(first, Int32(SHUT_WR))
            #expect(try Client.readLine(first) == nil)
            try waitUntil("the first instance exits with its connection") { daemon.children.count == 1 }
        }

        @Test(.timeLimit(.minutes(1)))
        func handsAnAcceptedConnectionAsFD3NamedConnection() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("hello@.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello")) --report \(report)\n")
            try daemon.start()

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["LISTEN_FDNAMES"] == "connection")
            #expect(seen["FDS"] == "0,1,2,3")
            #expect(seen["FD3_TYPE"] == "stream")
            #expect(seen["LISTEN_PID"] == seen["PID"])
            let names = Set((seen["ENV"] ?? "").split(separator: ",").map(String.init))
            #expect(names.isSuperset(of: ["REMOTE_ADDR", "REMOTE_PORT"]))
        }

        /// StandardInput=socket: the connection is stdin and, as
        /// StandardOutput= follows it (systemd.exec(5)), stdout — the
        /// inetd way; REMOTE_ADDR/REMOTE_PORT name the peer.
        @Test(.timeLimit(.minutes(1)))
        func handsAnAcceptedConnectionOnStdinAndStdoutWithTheRemoteAddress() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("env.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("env@.service", "[Service]\nExecStart=/usr/bin/env\nStandardInput=socket\n")
            try daemon.start()

            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(connection) }
            var local = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(connection, $0, &length) }
            }
            var variables: [String: String] = [:]
            while let line = try Client.readLine(connection) {
                guard let equals = line.firstIndex(of: "=") else { continue }
                variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
            #expect(variables["REMOTE_ADDR"] == "127.0.0.1", "env's output did not come through the connection\n\(daemon.log)")
            #expect(variables["REMOTE_PORT"] == "\(UInt16(bigEndian: local.sin_port))")
            #expect(variables[Daemon.secretName] == nil)
        }

        @Test(.timeLimit(.minutes(1)))
        func closesConnectionsBeyondMaxConnections() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\nMaxConnections=1\n")
            try daemon.write("hello@.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello"))\n")
            try daemon.start()
            // The instance waits for a request that has not been sent yet.
            let held = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(held) }
            try daemon.waitForChildren(1)
            let excess = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(3))
            defer { close(excess) }
            _ = try? Client.write("GET / HTTP/1.0\r\n\r\n", to: excess)
            // Refused (systemd.socket(5)): accepted and closed at once — EOF
            // or a reset; neither "HTTP/1.1 200" nor left waiting in the backlog.
            do {
                let answer = try Client.readLine(excess)
                #expect(answer == nil, "a connection beyond MaxConnections=1 was served: \(answer ?? "")")
            } catch {
                #expect(error.code == ECONNRESET, "a connection beyond MaxConnections=1 was not closed: \(error)")
            }
            #expect(daemon.children.count == 1)
            // The held one is still served.
            try Client.write("GET / HTTP/1.0\r\n\r\n", to: held)
            #expect(try Client.readLine(held)?.hasPrefix("HTTP/1.1 200") == true)
        }

        /// A daemon whose `hi.socket` (Accept=yes, with `limits`) has each connection answered
        /// `hi`, and `count` connections made to it while it is stopped (SIGSTOP), so that they
        /// all wait together when it looks; each is checked to be answered.
        private func connectionsWaitingTogether(_ count: Int, limits: String) throws -> Daemon {
            let port = try Ports.free()
            let daemon = try Daemon()
            do {
                try daemon.write("hi.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n\(limits)")
                try daemon.write("hi@.service", "[Service]\nExecStart=/bin/echo hi\nStandardInput=socket\n")
                try daemon.start()
                daemon.signal(SIGSTOP)
                var clients: [Int32] = []
                defer { for client in clients { close(client) } }
                for _ in 0..<count { clients.append(try Client.connect(.loopback4(port), type: SOCK_STREAM)) }
                daemon.signal(SIGCONT)
                for client in clients {
                    #expect(try Client.readLine(client) == "hi", "a waiting connection was not served\n\(daemon.log)")
                }
                return daemon
            } catch {
                daemon.cleanUp()
                throw error
            }
        }

        /// Each Accept=yes connection counts against TriggerLimitBurst= (swatchd.socket(5)), as
        /// systemd counts one socket_enter_running() per connection: six waiting together on a
        /// limit of three are three instances, then the socket stops watching for its back-off,
        /// then the other three are served.
        @Test(.timeLimit(.minutes(1)))
        func connectionsWaitingTogetherCountEachAgainstTheTriggerLimit() throws {
            let daemon = try connectionsWaitingTogether(6, limits: "TriggerLimitBurst=3\nTriggerLimitIntervalSec=30s\n")
            defer { daemon.cleanUp() }
            let hit = try daemon.waitForLog(containing: "hi.socket: Trigger limit hit (3 in 30s)")
            #expect(daemon.logLines(containing: "Trigger limit hit").count == 1, "\(hit)")
        }

        /// PollLimitBurst= (swatchd.socket(5)): five connections waiting together on a limit of
        /// two in 1s are served two by two, the socket unwatched in between, and none is lost
        /// or refused; the trigger limit (three in 1s), which the five at once would hit, is
        /// never reached.
        @Test(.timeLimit(.minutes(1)))
        func overThePollLimitConnectionsWaitAndAreServed() throws {
            let daemon = try connectionsWaitingTogether(
                5, limits: "PollLimitBurst=2\nPollLimitIntervalSec=1s\nTriggerLimitBurst=3\nTriggerLimitIntervalSec=1s\n")
            defer { daemon.cleanUp() }
            _ = try daemon.waitForLog(containing: "hi.socket: Poll limit hit (2 in 1s) on 127.0.0.1:", "not watching it for")
            #expect(daemon.logLines(containing: "Trigger limit hit").isEmpty, "\(daemon.log)")
            try daemon.checkRunning()
        }

        /// The poll limit is each listener's, as systemd's: while the listener a flood came on
        /// is paused, a connection on the unit's other listener is served at once. Instance
        /// numbers follow the accepts: the other listener's comes before the flooded one's last.
        @Test(.timeLimit(.minutes(1)))
        func aPausedListenerLeavesTheUnitsOtherListenersServing() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hi.socket", "[Socket]\nListenStream=127.0.0.1:\(ports[0])\nListenStream=127.0.0.1:\(ports[1])\n"
                             + "Accept=yes\nPollLimitBurst=2\nPollLimitIntervalSec=3s\nTriggerLimitBurst=0\n")
            try daemon.write("hi@.service", "[Service]\nExecStart=/bin/echo hi\nStandardInput=socket\n")
            try daemon.start(logLevel: "debug")
            daemon.signal(SIGSTOP)
            var flood: [Int32] = []
            defer { for client in flood { close(client) } }
            for _ in 0..<3 { flood.append(try Client.connect(.loopback4(ports[0]), type: SOCK_STREAM)) }
            daemon.signal(SIGCONT)
            for client in flood.prefix(2) { #expect(try Client.readLine(client) == "hi") }
            try daemon.waitForLog(containing: "hi.socket: Poll limit hit (2 in 3s) on 127.0.0.1:\(ports[0]), not watching it")
            let other = try Client.connect(.loopback4(ports[1]), type: SOCK_STREAM)
            defer { close(other) }
            #expect(try Client.readLine(other) == "hi")
            #expect(try Client.readLine(flood[2]) == "hi", "the flooded listener's last connection is served once its pause ends")
            try waitUntil("swatchd logs the four instances") { daemon.logLines(containing: "Starting hi@").count == 4 }
            func instance(on port: UInt16) -> [Int] {
                daemon.logLines(containing: "Starting hi@").compactMap { line in
                    guard let at = line.range(of: "Starting hi@"), line.contains("-127.0.0.1:\(port)-") else { return nil }
                    return Int(line[at.upperBound...].prefix { $0.isNumber })
                }
            }
            let (flooded, quiet) = (instance(on: ports[0]), instance(on: ports[1]))
            #expect(flooded.count == 3 && quiet.count == 1, "\(flooded) \(quiet)\n\(daemon.log)")
            #expect(quiet.first.map { $0 < flooded.max()! } == true, "served while the other listener was paused: \(quiet) \(flooded)")
            // The exact check: the quiet listener's instance started before the pause ended. (A pause
            // of the whole unit would have held its connection back until then.)
            let lines = daemon.log.split(separator: "\n")
            let started = lines.firstIndex { $0.contains("Starting hi@") && $0.contains("-127.0.0.1:\(ports[1])-") }
            let resumed = lines.firstIndex { $0.contains("hi.socket: Watching 127.0.0.1:\(ports[0]) again") }
            #expect(started != nil && resumed != nil && started! < resumed!, "\(daemon.log)")
        }

        /// Each Accept=yes instance lives in a cgroup of its own (KillMode= stops what it left),
        /// taken from a pool: the group an ended instance emptied hosts the next one, with no
        /// mkdir or rmdir per connection; none is left once swatchd exits.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "cgroup tracking needs root"))
        func acceptInstancesHaveGroupsOfTheirOwnThatLaterInstancesReuse() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hold.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("hold@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start()
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            let firstPID = try daemon.waitForChildren(1)[0].pid
            let second = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(second) }
            let instances = try daemon.waitForChildren(2).map(\.pid)
            let secondPID = try #require(instances.first { $0 != firstPID })
            let firstGroup = try #require(Processes.cgroupDirectory(of: firstPID))
            let secondGroup = try #require(Processes.cgroupDirectory(of: secondPID))
            try #require(firstGroup.contains("/swatchd-"), "no cgroup tracking here: \(firstGroup)")
            #expect(firstGroup != secondGroup, "two instances share a cgroup")
            let fdsWithTwo = daemon.openFDs.count

            // The first ends with its connection; once swatchd reaped it, its group is free.
            close(first)
            try waitUntil("swatchd reaps the first instance") { kill(firstPID, 0) != 0 }
            let third = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(third) }
            let thirdPID = try #require(try daemon.waitForChildren(2).map(\.pid).first { $0 != secondPID })
            #expect(Processes.cgroupDirectory(of: thirdPID) == firstGroup)
            // swatchd keeps a slot's directory and cgroup.events open while it has the slot: the
            // reused one brought no descriptor more, and none went missing.
            #expect(daemon.openFDs.count == fdsWithTwo, "\(daemon.openFDs)")

            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            for group in [firstGroup, secondGroup] { #expect(access(group, F_OK) != 0, "swatchd left \(group)") }
        }

        /// Under a hard file limit low for the instances alive at once, the slots keep no
        /// descriptors past the ones swatchd keeps for its own work (Linux/FileLimit.swift): 40
        /// instances at once, 80 descriptors if each slot kept two, all start and answer under a
        /// limit of 96, and no start fails for want of descriptors.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "cgroup tracking needs root"))
        func manyLiveInstancesUnderALowFileLimitAllStart() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\nMaxConnections=64\n")
            try daemon.write("echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start(launcher: ["/usr/bin/prlimit", "--nofile=96:96"])
            var clients: [Int32] = []
            defer { for client in clients { close(client) } }
            for _ in 0..<40 { clients.append(try Client.connect(.loopback4(port), type: SOCK_STREAM)) }
            try daemon.waitForChildren(40, timeout: .seconds(20))
            for (index, client) in clients.enumerated() {
                let line = Array("client \(index)\n".utf8)
                #expect(Glibc.send(client, line, line.count, 0) == line.count)
                #expect(try Client.readLine(client) == "client \(index)")
            }
            #expect(daemon.logLines(containing: "Too many open files").isEmpty, "\(daemon.log)")
            #expect(daemon.openFDs.count < 96 - 16, "\(daemon.openFDs.count) open: \(daemon.openFDs)")
        }

        /// A failed Accept=yes instance stays loaded as failed, as systemd keeps it, so that
        /// `list-units --state=failed` and `status` tell of it, until `reset-failed`; a socket keeps
        /// its last MaxConnections= of them, and they do not count as connections.
        @Test(.timeLimit(.minutes(1)))
        func failedAcceptInstancesStayFailedUntilResetFailed() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try Units.writeLineEcho(port: port, then: "exit 3", to: daemon)
            try daemon.start()
            func failedInstances() throws -> [String] {
                let listing = try daemon.ctl("list-units", "--state=failed")
                return listing.lines.compactMap { line in
                    line.split(separator: " ").first { $0.hasPrefix("echo@") }.map(String.init)
                }
            }
            func serve(_ text: String) throws {
                let client = try Client.connect(.loopback4(port), type: SOCK_STREAM)
                defer { close(client) }
                #expect(try Client.exchangeLine(text, on: client) == text)
            }

            try serve("one")
            try waitUntil("the first instance is failed\n\(daemon.log)") { try failedInstances().count == 1 }
            let first = try failedInstances()[0]
            #expect(first.hasPrefix("echo@0-127.0.0.1:\(port)-127.0.0.1:"), "\(first)")
            let status = try daemon.ctl("status", first)
            #expect(status.exitCode == 3 && status.lines.contains { $0.hasPrefix("     Active: failed (Result: exit-code)") },
                    "\(status)")
            let socketStatus = try daemon.ctl("status", "echo.socket")
            #expect(socketStatus.lines.contains("   Triggers: ● \(first)"), "\(socketStatus)")
            let start = try daemon.ctl("start", first)
            #expect(start.exitCode != 0 && start.standardError.contains("Operation refused"), "\(start)")

            // Two more fail: the first is unloaded, the last two stay; the socket serves on.
            try serve("two")
            try waitUntil("the second instance is failed\n\(daemon.log)") { try failedInstances().count == 2 }
            try serve("three")
            try waitUntil("the first instance is unloaded\n\(daemon.log)") {
                let failed = try failedInstances()
                return failed.count == 2 && !failed.contains(first)
            }
            #expect(try failedInstances().allSatisfy { $0.hasPrefix("echo@1-") || $0.hasPrefix("echo@2-") })

            #expect(try daemon.ctl("reset-failed").exitCode == 0)
            #expect(try failedInstances().isEmpty)
            try serve("four")
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
        }

        /// A running Accept=yes instance is not restarted: its process holds the connection, and
        /// a new one could not be handed it. The restart is refused and the client is still served.
        @Test(.timeLimit(.minutes(1)))
        func aRunningAcceptInstanceIsNotRestarted() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start()
            let client = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(client) }
            #expect(try Client.exchangeLine("one", on: client) == "one")
            let listing = try daemon.ctl("list-units")
            let instance = try #require(listing.lines.compactMap { $0.split(separator: " ").first { $0.hasPrefix("echo@0-") } }.first)
            let restart = try daemon.ctl("restart", String(instance))
            #expect(restart.exitCode != 0 && restart.standardError.contains("Operation refused"), "\(restart)")
            #expect(try Client.exchangeLine("two", on: client) == "two", "the same process serves on")
            #expect(try daemon.property("ActiveState", of: String(instance)) == "active")
        }

        /// Restart= in the template does not restart an instance that failed: its connection went
        /// to its first process, and a second would run without it. It ends failed, started once.
        @Test(.timeLimit(.minutes(1)))
        func restartInTheTemplateDoesNotRestartAnInstance() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try Units.writeLineEcho(port: port, then: "exit 1", service: "Restart=on-failure\nRestartSec=0", to: daemon)
            try daemon.start()
            let client = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(client) }
            #expect(try Client.exchangeLine("one", on: client) == "one")
            #expect(try Client.readLine(client) == nil, "the connection ends with the instance")
            try waitUntil("the instance is failed\n\(daemon.log)") {
                try daemon.ctl("list-units", "--state=failed").standardOutput.contains("echo@0-")
            }
            #expect(daemon.logLines(containing: "Starting echo@0-").count == 1, "\(daemon.log)")
            #expect(daemon.logLines(containing: "Scheduled restart job").isEmpty, "\(daemon.log)")
        }

        // MARK: One unit's trouble is that unit's alone

        @Test(.timeLimit(.minutes(1)))
        func reportsAPortInUseOnceAndServesTheOtherUnits() throws {
            let ports = try Ports.free(2)
            let busy = try Ports.occupy(ports[0])
            defer { close(busy) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("busy.socket", "[Socket]\nListenStream=\(ports[0])\n")
            try daemon.write("busy.service", try Units.helloService(report: daemon.path("busy")))
            try daemon.write("ok.socket", Units.tcpSocket(ports[1]))
            try daemon.write("ok.service", try Units.helloService(report: daemon.path("ok")))
            try daemon.start()

            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            let line = try daemon.waitForLog(containing: "busy.socket", "\(ports[0])", "Address already in use")
            #expect(daemon.logLines(containing: "Address already in use").count == 1, "\(daemon.log)")
            #expect(!line.contains("ok.socket"))
            // busy.service is socket-activated: without its socket it must not start on its own
            // (it would bind the port itself, behind the unit's back).
            #expect(holdsNever(for: .milliseconds(300)) { readText(daemon.path("busy")) != nil }, "\(daemon.log)")
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func logsASpawnFailureWithTheUnitsNameAndServesTheOtherUnits() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("ghost.socket", "[Socket]\nListenStream=\(ports[0])\n")
            try daemon.write("ghost.service", "[Service]\nExecStart=/nonexistent/ghost-program\n")
            try daemon.write("ok.socket", Units.tcpSocket(ports[1]))
            try daemon.write("ok.service", try Units.helloService(report: daemon.path("ok")))
            try daemon.start()

            // Nobody answers this one; the connection only triggers the spawn.
            let trigger = try Client.connect(.loopback4(ports[0]), type: SOCK_STREAM)
            defer { close(trigger) }
            try daemon.waitForLog(containing: "Failed to spawn ghost.service: /nonexistent/ghost-program: No such file or directory")
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            try daemon.checkRunning()
        }

        /// A restriction this build does not enforce (RootImage=) is
        /// refused (swatchd.service(5), "RESTRICTING KEYS"): never run with less isolation instead. (It was
        /// DynamicUser=, then PrivatePIDs=, until this build enforced them: SandboxTests.)
        @Test(.timeLimit(.minutes(1)))
        func refusesAUnitWithAnUnenforcedRestrictionAndServesTheOtherUnits() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let refusedReport = daemon.path("dyn")
            try daemon.write("dyn.socket", "[Socket]\nListenStream=\(ports[0])\n")
            try daemon.write("dyn.service", """
                [Service]
                ExecStart=\(try Harness.binary("swatchd-hello")) --report \(refusedReport)
                RootImage=/srv/dyn.raw
                """)
            try daemon.write("ok.socket", Units.tcpSocket(ports[1]))
            try daemon.write("ok.service", try Units.helloService(report: daemon.path("ok")))
            try daemon.start()

            try daemon.waitForLog(containing: "dyn.service", "RootImage")
            // Whether or not its socket is bound, a connection must not run it.
            let trigger = try? Client.connect(.loopback4(ports[0]), type: SOCK_STREAM, timeout: .seconds(2))
            defer { if let trigger { close(trigger) } }
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            #expect(holdsNever(for: .milliseconds(500)) { readReport(refusedReport) != nil },
                    "the refused unit ran")
            #expect(daemon.children.allSatisfy { !Processes.arguments(of: $0.pid).contains(refusedReport) })
            try daemon.checkRunning()
        }

        // MARK: swatchd's own life

        @Test(.timeLimit(.minutes(1)))
        func stopsItsServicesAndExitsZeroOnSIGTERM() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("a.socket", Units.tcpSocket(ports[0]))
            try daemon.write("a.service", try Units.helloService(report: daemon.path("a")))
            try daemon.write("b.socket", Units.tcpSocket(ports[1]))
            try daemon.write("b.service", try Units.helloService(report: daemon.path("b")))
            try daemon.start()
            #expect(try Client.body(.loopback4(ports[0])) == Client.helloBody)
            #expect(try Client.body(.loopback4(ports[1])) == Client.helloBody)
            let services = try daemon.waitForChildren(2).map(\.pid)
            // Where swatchd tracks services with cgroups (swatchd(8), "PROCESS TRACKING"), it removes them at exit.
            let cgroups = services.compactMap(Processes.cgroupDirectory(of:))

            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            for pid in services { #expect(!Processes.isAlive(pid), "service \(pid) outlived swatchd") }
            for directory in cgroups { #expect(access(directory, F_OK) != 0, "swatchd left its cgroup \(directory)") }
            // The listeners are closed with it.
            #expect(try ListeningSocket.onPort(ports[0]).isEmpty)
            #expect(throws: ClientError.self) { try Client.get(.loopback4(ports[1]), timeout: .seconds(2)) }
        }

        @Test(.timeLimit(.minutes(1)))
        func sendsReadyToItsOwnNotifySocketOnceItsListenersAreBound() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            try daemon.start(waitForReady: false)
            try waitUntil("READY=1 reaches swatchd's NOTIFY_SOCKET\n\(daemon.log)", timeout: .seconds(10)) {
                try daemon.checkRunning()
                return daemon.receivedReady
            }
            // Ready means bound: a connection now is queued, not refused.
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            close(connection)
        }

        /// docs/HACKING.md "Conventions": check /proc/<pid>/fd for leaks around integration tests.
        @Test(.timeLimit(.minutes(1)))
        func keepsItsOwnFDCountOverAThousandActivations() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // As under systemd, 1000 activations in a few seconds need the poll
            // limit (15 per 2 s), the trigger limit (20 per 2 s) and the start
            // limit (5 per 10 s) off.
            try daemon.write("once.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(port)
                PollLimitIntervalSec=0
                TriggerLimitIntervalSec=0
                """)
            try daemon.write("once.service", """
                [Unit]
                StartLimitIntervalSec=0

                [Service]
                ExecStart=\(try Harness.binary("swatchd-hello")) --exit-after 1
                Restart=no
                """)
            try daemon.start()

            /// One activation: a request, its answer, and the service gone.
            func activate() throws {
                #expect(try Client.body(.loopback4(port)) == Client.helloBody)
                try waitUntil("the one-request service has exited\n\(daemon.log.suffix(2000))",
                              timeout: .seconds(10), interval: .milliseconds(2)) {
                    daemon.children.isEmpty
                }
            }
            try activate()
            // Settled: the same count over 10 polls (pipes of the exited
            // service may be closed a moment after it is reaped).
            var afterFirst = daemon.openFDs
            try waitUntil("swatchd's fd count settles") {
                var stable = true
                for _ in 0..<10 {
                    pause(.milliseconds(20))
                    let now = daemon.openFDs
                    if now != afterFirst { afterFirst = now; stable = false; break }
                }
                return stable
            }
            let before = Processes.describeFDs(of: daemon.pid)

            let clock = ContinuousClock()
            let started = clock.now
            for _ in 2...1000 { try activate() }
            let elapsed = clock.now - started

            var after: [Int32] = []
            let settled = (try? waitUntil("the fd count is back", timeout: .seconds(2)) {
                after = daemon.openFDs
                return after.count == afterFirst.count
            }) != nil
            #expect(settled, """
                swatchd had \(afterFirst.count) fds after the first activation, \(after.count) after 1000 \
                (999 took \(elapsed)): before \(before), after \(Processes.describeFDs(of: daemon.pid))
                """)
            try daemon.checkRunning()
        }
    }
}

/// Unit texts the activation tests share.
enum Units {
    /// The variables a service may see (swatchd.service(5), "EXECUTION ENVIRONMENT"); USER/LOGNAME/HOME/SHELL
    /// only with User=, which these tests do not set.
    static let protocolVariables: Set<String> = [
        "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
        "MAINPID", "PATH", "INVOCATION_ID", "JOURNAL_STREAM",
    ]

    /// An inetd-style pair on 127.0.0.1:`port`: echo.socket (Accept=yes, MaxConnections=2) and
    /// echo@.service, whose shell reads one line from the connection, echoes it and then runs
    /// `then` (its exit status is the instance's); `service`: more lines of its [Service] section.
    static func writeLineEcho(port: UInt16, then: String, service: String = "", to daemon: Daemon) throws {
        try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\nMaxConnections=2\n")
        try daemon.write("echo@.service", """
            [Service]
            ExecStart=/bin/sh -c 'read line; echo "$line"; \(then)'
            StandardInput=socket
            \(service)
            """)
    }

    /// The seed's socket: a bare port, dual-stack, ReusePort=, NoDelay=.
    static func tcpSocket(_ port: UInt16) -> String {
        """
        [Socket]
        ListenStream=\(port)
        BindIPv6Only=both
        ReusePort=true
        NoDelay=true
        """
    }

    /// The example service with `--report` (Type=notify: READY=1 after the report).
    static func helloService(report: String, type: String = "notify", arguments: String = "") throws -> String {
        """
        [Service]
        Type=\(type)
        ExecStart=\(try Harness.binary("swatchd-hello")) --report \(report)\(arguments.isEmpty ? "" : " " + arguments)
        """
    }
}

/// stat(2) of a path: type, permission bits, owner.
struct FileStatus {
    var type: mode_t
    var permissions: mode_t
    var owner: uid_t
    var group: gid_t

    init(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            throw HarnessError("stat \(path): \(String(cString: strerror(errno)))")
        }
        type = status.st_mode & S_IFMT
        permissions = status.st_mode & 0o7777
        owner = status.st_uid
        group = status.st_gid
    }
}
