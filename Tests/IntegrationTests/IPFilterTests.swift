// IPAddressAllow=, IPAddressDeny=, RestrictNetworkInterfaces= and IPIngressFilterPath=/IPEgressFilterPath= as a service meets them (swatchd.service(5), "RESOURCE
// CONTROL"; systemd.resource-control(5)): the built swatchd puts BPF programs on the
// service's cgroup2 group, and whether Services/ip_probe.py's TCP connects to a listener of
// the test get through (the handshake needs both directions) is the evidence. Root only: a cgroup2 group and bpf(2).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0, "bpf(2) and a cgroup2 group need root")) struct IPFilterTests {
        /// Writes a oneshot unit NAME.service per entry of `units` (its extra lines), which runs
        /// Services/ip_probe.py against `targets`, starts `daemon` and reads back, for each
        /// unit, what each connect got (`ok`, `timeout` or an errno name), in the order of `targets`.
        private func probe(_ units: [String: String], _ targets: [String], _ daemon: Daemon) throws -> [String: [String]] {
            for (name, lines) in units {
                try daemon.write("\(name).service", """
                    [Service]
                    Type=oneshot
                    ExecStart=/usr/bin/python3 \(Harness.service("ip_probe.py")) \(targets.joined(separator: " "))
                    \(lines)
                    """)
            }
            try daemon.start()
            var seen: [String: [String]] = [:]
            for name in units.keys {
                let lines = try waitFor("\(name).service answers its probes\n\(daemon.log)", timeout: .seconds(20)) {
                    try daemon.checkRunning()
                    let lines = daemon.logLines(containing: "\(name).service[", "ip: ")
                    return lines.count == targets.count ? lines : nil
                }
                seen[name] = targets.map { target in
                    lines.first { $0.contains("ip: \(target) ") }.flatMap { $0.split(separator: " ").last.map(String.init) } ?? "?"
                }
            }
            return seen
        }

        @Test(.timeLimit(.minutes(1)))
        func connectsPassOnlyWhereTheListsSay() throws {
            let port = try Ports.free()
            let listener = try Ports.occupy(port)  // [::]:port, dual-stack: 127.0.0.1, 127.0.0.2 and ::1
            defer { close(listener) }
            // Nobody accepts: room in the queue for every connection that passes (a full queue
            // drops the SYN, which would look like the filter's drop).
            listen(listener, 128)
            let targets = ["127.0.0.1:\(port)", "127.0.0.2:\(port)", "[::1]:\(port)"]
            let units: [String: String] = [
                "denied": "IPAddressDeny=any",
                "excepted": "IPAddressDeny=any\nIPAddressAllow=localhost",
                "one": "IPAddressDeny=127.0.0.2",
                "six": "IPAddressDeny=::1/128",
                "narrow": "IPAddressDeny=127.0.0.0/8 ::1\nIPAddressAllow=127.0.0.2/32",
                "free": "",
                // RestrictNetworkInterfaces=: loopback traffic goes by `lo` both ways.
                "onlylo": "RestrictNetworkInterfaces=lo",
                "exceptlo": "RestrictNetworkInterfaces=~lo",
                "nowhere": "RestrictNetworkInterfaces=swatch-none",
                "both": "RestrictNetworkInterfaces=lo\nIPAddressDeny=127.0.0.2",
            ]
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let seen = try probe(units, targets, daemon)
            #expect(daemon.logLines(containing: "Failed to spawn").isEmpty, "\(daemon.log)")
            // In the order of `targets`: 127.0.0.1, 127.0.0.2, ::1. A dropped SYN is sent again
            // until connect gives up (TCP ignores the egress drop's EPERM): the probe's timeout.
            #expect(seen["denied"] == ["timeout", "timeout", "timeout"])
            #expect(seen["excepted"] == ["ok", "ok", "ok"])
            #expect(seen["one"] == ["ok", "timeout", "ok"])
            #expect(seen["six"] == ["ok", "ok", "timeout"])
            #expect(seen["narrow"] == ["timeout", "ok", "timeout"])
            #expect(seen["free"] == ["ok", "ok", "ok"])
            #expect(seen["onlylo"] == ["ok", "ok", "ok"])
            #expect(seen["exceptlo"] == ["timeout", "timeout", "timeout"])
            #expect(seen["nowhere"] == ["timeout", "timeout", "timeout"], "an allow list of no interface that exists")
            #expect(seen["both"] == ["ok", "timeout", "ok"])
        }

        /// IPIngressFilterPath=/IPEgressFilterPath=: programs clang built and bpftool pinned on a
        /// bpf file system, attached beside swatchd's own for the sockets the service makes. One
        /// that drops everything stops the handshake whichever way it faces; one that passes
        /// everything leaves IPAddressDeny= its say (all the programs of a hook must pass a
        /// packet). Each command of a start attaches them anew (ExecStartPre=, then ExecStart=).
        /// A path where nothing is pinned fails the start, naming the key.
        @Test(.timeLimit(.minutes(1)))
        func pinnedFilterProgramsJoinSwatchdsOwn() throws {
            let bpffs = try pinFilterPrograms()
            defer { unpin(bpffs) }
            let port = try Ports.free()
            let listener = try Ports.occupy(port)
            defer { close(listener) }
            listen(listener, 128)
            let targets = ["127.0.0.1:\(port)", "127.0.0.2:\(port)"]
            let units: [String: String] = [
                "ingress": "IPIngressFilterPath=\(bpffs)/drop",
                "egress": "IPEgressFilterPath=\(bpffs)/drop",
                "beside": "ExecStartPre=/bin/true\nIPIngressFilterPath=\(bpffs)/pass\nIPEgressFilterPath=\(bpffs)/pass\nIPAddressDeny=127.0.0.2",
                "free": "",
            ]
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("missing.service", "[Service]\nExecStart=/bin/true\nIPEgressFilterPath=\(bpffs)/none\n")
            let seen = try probe(units, targets, daemon)
            #expect(seen["ingress"] == ["timeout", "timeout"])
            #expect(seen["egress"] == ["timeout", "timeout"])
            #expect(seen["beside"] == ["ok", "timeout"])
            #expect(seen["free"] == ["ok", "ok"])
            try daemon.waitForLog(containing: "missing.service", "IPEgressFilterPath=",
                                  "cannot open the BPF program pinned at \(bpffs)/none", "No such file or directory")
        }

        /// A group kept from an earlier start (KillMode=process left a process in it) still holds
        /// that start's programs. The next start puts on those of the unit as a daemon-reload
        /// left it: a filter taken away is gone, a changed one replaces the old.
        @Test(.timeLimit(.minutes(1)))
        func aKeptGroupTakesTheProgramsOfTheUnitAsItIsNow() throws {
            let probe = try KeptGroupProbe()
            defer { probe.cleanUp() }
            try probe.write("IPAddressDeny=127.0.0.2")
            try probe.daemon.start()
            #expect(try probe.results(1) == ["ok", "timeout"])
            try probe.reloadAndStart("")
            #expect(try probe.results(2) == ["ok", "ok"], "the filter the reload took away is still on")
            try probe.reloadAndStart("IPAddressDeny=127.0.0.1")
            #expect(try probe.results(3) == ["timeout", "ok"])
            #expect(probe.daemon.logLines(containing: "Failed to spawn").isEmpty, "\(probe.daemon.log)")
        }

        /// A program attached without BPF_F_ALLOW_MULTI, as swatchd attached its own before and
        /// as a group kept over the re-exec into this one still has it, allows no other beside
        /// it: the next start replaces it in place with swatchd's one, and takes that off before
        /// putting on several.
        @Test(.timeLimit(.minutes(1)))
        func aProgramAttachedWithoutMultiGivesWay() throws {
            let bpffs = try pinFilterPrograms()
            defer { unpin(bpffs) }
            let probe = try KeptGroupProbe()
            defer { probe.cleanUp() }
            try probe.write("")
            try probe.daemon.start()
            #expect(try probe.results(1) == ["ok", "ok"])
            let group = try #require(probe.group(), "probe.service's group, through its leftover process")
            let attached = try Command.run(["/usr/bin/python3", Harness.service("bpf_attach.py"), group, bpffs + "/drop", "ingress"])
            try #require(attached.status == .exited(0), "\(attached.standardError)")
            try probe.reloadAndStart("IPAddressDeny=127.0.0.2")
            #expect(try probe.results(2) == ["ok", "timeout"], "the program attached without the flag is still on")
            try probe.reloadAndStart("IPIngressFilterPath=\(bpffs)/pass\nIPAddressDeny=127.0.0.1")
            #expect(try probe.results(3) == ["timeout", "ok"])
            #expect(probe.daemon.logLines(containing: "Failed to spawn").isEmpty, "\(probe.daemon.log)")
        }

        /// probe.service, a oneshot that leaves a `sleep` in its group (KillMode=process), so that
        /// the group and its programs outlive each start, then runs Services/ip_probe.py.
        private struct KeptGroupProbe {
            let daemon: Daemon
            let targets: [String]
            let listener: Int32
            var leftovers: String { daemon.path("leftovers") }

            init() throws {
                daemon = try Daemon()
                let port = try Ports.free()
                listener = try Ports.occupy(port)
                listen(listener, 128)
                targets = ["127.0.0.1:\(port)", "127.0.0.2:\(port)"]
            }

            func write(_ filter: String) throws {
                try daemon.write("probe.service", """
                    [Service]
                    Type=oneshot
                    KillMode=process
                    ExecStart=/bin/sh -c 'sleep 60 & echo $$! >> \(leftovers); exec /usr/bin/python3 \(Harness.service("ip_probe.py")) \(targets.joined(separator: " "))'
                    \(filter)
                    """)
            }

            /// What the probes of the `round`th start got, in the order of `targets`.
            func results(_ round: Int) throws -> [String] {
                let lines = try waitFor("probe.service's round \(round) of probes\n\(daemon.log)", timeout: .seconds(20)) {
                    try daemon.checkRunning()
                    let lines = daemon.logLines(containing: "probe.service[", "ip: ")
                    return lines.count == 2 * round ? lines.suffix(2) : nil
                }
                return lines.map { $0.split(separator: " ").last.map(String.init) ?? "?" }
            }

            func reloadAndStart(_ filter: String) throws {
                try write(filter)
                #expect(try daemon.ctl("daemon-reload").status == .exited(0))
                #expect(try daemon.ctl("start", "probe.service").status == .exited(0))
            }

            private var leftoverPIDs: [pid_t] {
                ((try? String(contentsOfFile: leftovers, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
            }

            /// The group's directory, read off a leftover process.
            func group() -> String? { leftoverPIDs.first.flatMap(Processes.cgroupDirectory(of:)) }

            func cleanUp() {
                daemon.cleanUp()
                for pid in leftoverPIDs { kill(pid, SIGKILL) }
                close(listener)
            }
        }

        /// The ingress program on its own: datagrams to the service from a denied source
        /// address are dropped, from another one delivered. The denied one is sent first;
        /// loopback keeps the order, so had it passed, it would be read before the other.
        @Test(.timeLimit(.minutes(1)))
        func datagramsFromADeniedSourceAreDropped() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("receiver.service", """
                [Service]
                ExecStart=/usr/bin/python3 \(Harness.service("udp_probe.py")) \(port) from-allowed
                IPAddressDeny=127.0.0.3
                """)
            try daemon.start()
            try daemon.waitForLog(containing: "receiver.service[", "udp: ready", timeout: .seconds(10))
            for (source, payload) in [("127.0.0.3", "from-denied"), ("127.0.0.1", "from-allowed")] {
                let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                defer { close(fd) }
                try #require(Endpoint.ipv4(source, 0).withSocketAddress { bind(fd, $0, $1) } == 0, "bind \(source)")
                let sent = Endpoint.ipv4("127.0.0.1", port).withSocketAddress { address, length in
                    payload.withCString { sendto(fd, $0, strlen($0), 0, address, length) }
                }
                try #require(sent == payload.utf8.count, "sendto from \(source)")
            }
            try daemon.waitForLog(containing: "receiver.service[", "udp: from-allowed", timeout: .seconds(10))
            #expect(daemon.logLines(containing: "udp: from-denied").isEmpty, "\(daemon.log)")
        }

        /// SocketBindAllow=/SocketBindDeny=: the service's own bind(2) calls, as python3 makes
        /// them, succeed or fail with EPERM as the rules say (an allow rule wins over a deny
        /// rule; a rule of one family leaves the other alone).
        @Test(.timeLimit(.minutes(1)))
        func bindsPassOnlyWhereTheRulesSay() throws {
            let port = try Ports.free(), other = try Ports.free()
            let probe = "import socket, errno\n"
                + "for family, kind, host, port in [(socket.AF_INET, socket.SOCK_STREAM, '127.0.0.1', \(port)), "
                + "(socket.AF_INET, socket.SOCK_STREAM, '127.0.0.1', \(other)), (socket.AF_INET, socket.SOCK_DGRAM, '127.0.0.1', \(port)), "
                + "(socket.AF_INET6, socket.SOCK_STREAM, '::1', \(port))]:\n"
                + "    s = socket.socket(family, kind)\n"
                + "    try:\n        s.bind((host, port)); print('ok')\n"
                + "    except OSError as e:\n        print(errno.errorcode[e.errno])\n"
                + "    s.close()\n"
            let script = probeFile(probe)
            defer { unlink(script) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let seen = try daemon.outputsOfOneshots(running: "/usr/bin/python3 \(script)", [
                ("tcp", "SocketBindAllow=tcp:\(port)\nSocketBindDeny=any"),
                ("six", "SocketBindDeny=ipv6:any"),
                ("range", "SocketBindDeny=ipv4:udp:1-65535\nSocketBindDeny=ipv4:tcp:\(other)"),
                ("free", "SocketBindAllow=any"),
            ])
            // In the order of the probe: TCP 127.0.0.1:port, TCP :other, UDP :port, TCP [::1]:port.
            #expect(seen["tcp"] == ["ok", "EPERM", "EPERM", "ok", ""])
            #expect(seen["six"] == ["ok", "ok", "ok", "EPERM", ""])
            #expect(seen["range"] == ["ok", "EPERM", "EPERM", "ok", ""])
            #expect(seen["free"] == ["ok", "ok", "ok", "ok", ""])
        }

        /// Programs clang builds and bpftool pins on a bpf file system of the test's own: `drop`
        /// and `pass`, cgroup/skb. Returns the file system's path.
        private func pinFilterPrograms() throws -> String {
            let bpffs = "/run/swatch-bpffs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: bpffs, withIntermediateDirectories: false)
            let mounted = try Command.run(["/bin/mount", "-t", "bpf", "bpf", bpffs])
            guard mounted.status == .exited(0) else {
                try? FileManager.default.removeItem(atPath: bpffs)
                throw HarnessError("mount -t bpf: \(mounted.standardError)")
            }
            do {
                // The toolchain's clang, which builds the tests (it has the BPF target), from PATH.
                let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                let clang: String = try #require(directories.map { "\($0)/clang" }.first { (path: String) in access(path, X_OK) == 0 },
                                                 "no clang on PATH")
                let build = try TemporaryDirectory()
                defer { build.remove() }
                for (name, verdict) in [("drop", 0), ("pass", 1)] {
                    let source = build.path + "/\(name).c"
                    try """
                        __attribute__((section("cgroup_skb/ingress"), used)) int \(name)(void *skb) { return \(verdict); }
                        char _license[] __attribute__((section("license"), used)) = "GPL";
                        """.write(toFile: source, atomically: true, encoding: .utf8)
                    let compiled = try Command.run([clang, "-target", "bpf", "-O2", "-c", source, "-o", build.path + "/\(name).o"])
                    try #require(compiled.status == .exited(0), "\(compiled.standardError)")
                    let pinned = try Command.run(["/usr/sbin/bpftool", "prog", "load", build.path + "/\(name).o", bpffs + "/\(name)",
                                                  "type", "cgroup/skb"])
                    try #require(pinned.status == .exited(0), "\(pinned.standardError)")
                }
            } catch {
                unpin(bpffs)
                throw error
            }
            return bpffs
        }

        private func unpin(_ bpffs: String) {
            _ = try? Command.run(["/bin/umount", bpffs])
            try? FileManager.default.removeItem(atPath: bpffs)
        }

        /// The probe's text in a file of its own, readable by everyone.
        private func probeFile(_ probe: String) -> String {
            let path = "/run/swatch-bind-probe-\(getpid()).py"
            FileManager.default.createFile(atPath: path, contents: Data(probe.utf8), attributes: [.posixPermissions: 0o644])
            return path
        }
    }
}
