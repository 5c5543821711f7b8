// Start-up problems of swatchd itself end it with `swatchd: …` naming what
// failed and exit 1 (docs/HACKING.md "Conventions"); a unit dir that is not there is a warning.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct StartupTests {
        @Test(.timeLimit(.minutes(1)))
        func anUnusableRuntimeDirectoryEndsStartUpNamingIt() throws {
            let result = try Command.run([try Harness.binary("swatchd"), "--runtime-dir", "/proc/no-such-dir/rt",
                                          "--log-target", "stderr"], timeout: .seconds(10))
            #expect(result.status == .exited(1))
            #expect(result.standardError.contains(
                "swatchd: Failed to create runtime directory /proc/no-such-dir/rt: No such file or directory"),
                    "\(result.standardError)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aMissingUnitDirectoryIsWarnedAboutAndTheDaemonRuns() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.start(arguments: ["--unit-dir", "/nonexistent-swatchd-units"])
            try daemon.waitForLog(containing: "No units from unit directory /nonexistent-swatchd-units")
            try daemon.checkRunning()
        }

        /// `--unit-dir` and `--runtime-dir` relative to where swatchd was started are read
        /// there, not below `/`; the service's NOTIFY_SOCKET is absolute (the service runs in `/`,
        /// and sd_notify(3) takes no relative path), and swatchctl started in the same place finds it.
        @Test(.timeLimit(.minutes(1)))
        func relativeDirectoriesAreTheStartingDirectorys() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let units = daemon.path("relative-units")
            try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
            let report = daemon.path("report")
            try Units.tcpSocket(port).write(toFile: units + "/rel.socket", atomically: true, encoding: .utf8)
            try Units.helloService(report: report)
                .write(toFile: units + "/rel.service", atomically: true, encoding: .utf8)
            let inDirectory = ["/usr/bin/env", "-C", daemon.directory]
            // The later --runtime-dir wins; the first --unit-dir (empty) has no units.
            try daemon.start(waitForReady: false, arguments: ["--unit-dir", "relative-units", "--runtime-dir", "rel-run"],
                             launcher: inDirectory)
            try waitFor("swatchd's control socket in its starting directory\n\(daemon.log)") {
                try daemon.checkRunning()
                return Daemon.isSocket(daemon.path("rel-run/control")) ? true : nil
            }
            #expect(!FileManager.default.fileExists(atPath: "/rel-run"))
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            _ = try waitForReport(report)
            // Type=notify: active only once READY=1 came through the notify socket.
            let status = try Command.run(inDirectory + [try Harness.binary("swatchctl"), "--runtime-dir", "rel-run",
                                                        "is-active", "rel.service"], timeout: .seconds(10))
            #expect(status.status == .exited(0) && status.standardOutput == "active\n", "\(status)\n\(daemon.log)")
        }

        /// Where /proc is not mounted (an init's first moments, a chroot, a container whose
        /// runtime mounts none), both programs still read their command lines: Swift's
        /// `CommandLine` finds argv through /proc/self/maps, and is empty there
        /// (Sources/CSwatch/arguments.c). Without them, `swatchd --version` would start a daemon.
        @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"), .timeLimit(.minutes(1)))
        func withoutProcTheCommandLineIsStillRead() throws {
            let withoutProc = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                               "umount -l /proc && [ ! -e /proc/self ] && exec \"$@\"", "sh"]
            let version = try Command.run(withoutProc + [try Harness.binary("swatchd"), "--version"],
                                          timeout: .seconds(10))
            #expect(version.status == .exited(0) && version.standardOutput == "swatchd 0.1.0\n", "\(version)")
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let listing = try Command.run(
                withoutProc + [try Harness.binary("swatchctl"), "--runtime-dir", directory.path, "list-units"],
                timeout: .seconds(10))
            #expect(listing.status == .exited(1), "\(listing)")
            #expect(listing.standardError.hasPrefix("Failed to connect to swatchd at \(directory.path)/control"),
                    "\(listing)")
        }

        /// Started with its standard streams closed (`swatchd <&- >&- 2>&-`, as a careless
        /// init may), swatchd puts /dev/null in their place before it opens anything, so no
        /// socket or epoll instance of its own becomes its stderr; its services are served.
        @Test(.timeLimit(.minutes(1)))
        func closedStandardStreamsBecomeDevNullAndTheServicesAreServed() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start(launcher: ["/bin/sh", "-c", "exec \"$@\" <&- >&- 2>&-", "sh"])
            let fds = Processes.describeFDs(of: daemon.pid)
            #expect([fds[0], fds[1], fds[2]] == ["/dev/null", "/dev/null", "/dev/null"], "\(fds)")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try waitForReport(report)["FDS"] == "0,1,2,3")
            try daemon.checkRunning()
        }

        /// Started with a soft RLIMIT_NOFILE below what its sockets need (a descriptor each), swatchd
        /// raises its own to the hard limit and listens on every one; its services get the limit it
        /// was started with, a unit's LimitNOFILE= its own, and so after a re-exec too
        /// (Sources/SwatchCore/Linux/FileLimit.swift).
        @Test(.timeLimit(.minutes(2)))
        func moreSocketsThanTheSoftFileLimitAllListenAndServicesGetTheLimitBack() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let count = 80
            try Self.writeSocketPairs(count, to: daemon)
            // What a probe sees: the "Max open files" line of its /proc/self/limits, soft and hard.
            func probe(_ name: String, _ settings: String = "") throws {
                try daemon.write("\(name).service", """
                    [Service]
                    Type=oneshot
                    ExecStart=/bin/sh -c 'grep "^Max open files" /proc/self/limits'
                    StandardOutput=truncate:\(daemon.path(name))
                    \(settings)
                    """)
            }
            try probe("inherits")
            try probe("own", "LimitNOFILE=100:200")
            try probe("after-reexec")
            func limits(_ text: String?) -> [Substring] { (text ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).dropFirst(3).prefix(2).map { $0 } }
            try daemon.start(launcher: ["/usr/bin/prlimit", "--nofile=64:4096"])
            for index in 0..<count {
                #expect(Daemon.isSocket(daemon.path("s\(index).sock")), "s\(index).sock listens\n\(daemon.log)")
            }
            #expect(daemon.logLines(containing: "Too many open files").isEmpty, "\(daemon.log)")
            #expect(limits(readText("/proc/\(daemon.pid)/limits").flatMap { text in
                text.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) }) == ["4096", "4096"])

            for name in ["inherits", "own"] {
                #expect(try daemon.ctl("start", "\(name).service").exitCode == 0)
            }
            #expect(limits(readText(daemon.path("inherits"))) == ["64", "4096"], "\(daemon.log)")
            #expect(limits(readText(daemon.path("own"))) == ["100", "200"], "\(daemon.log)")

            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(try daemon.ctl("start", "after-reexec.service").exitCode == 0)
            #expect(limits(readText(daemon.path("after-reexec"))) == ["64", "4096"], "\(daemon.log)")
            #expect(Daemon.isSocket(daemon.path("s\(count - 1).sock")))
        }

        /// A hard RLIMIT_NOFILE too low for every socket: the sockets past the descriptors swatchd
        /// keeps for itself fail, each named, and the rest listen; swatchd runs, answers swatchctl
        /// and starts services (Sources/SwatchCore/Linux/FileLimit.swift).
        @Test(.timeLimit(.minutes(2)))
        func socketsPastTheHardFileLimitFailAndSwatchdStillRuns() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let count = 80
            try Self.writeSocketPairs(count, to: daemon)
            try daemon.write("probe.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/true
                """)
            try daemon.start(launcher: ["/usr/bin/prlimit", "--nofile=96:96"])
            let listening = (0..<count).filter { Daemon.isSocket(daemon.path("s\($0).sock")) }.count
            let refused = daemon.logLines(containing: "Failed to create socket for", "Too many open files").count
            #expect(listening > 0 && refused > 0 && listening + refused == count, "\(listening) + \(refused)\n\(daemon.log)")
            let failed = try daemon.ctl("list-units", "--state=failed")
            #expect(failed.exitCode == 0 && failed.standardOutput.contains("s\(count - 1).socket"), "\(failed)")
            #expect(try daemon.ctl("start", "probe.service").exitCode == 0, "\(daemon.log)")
            try daemon.checkRunning()
        }

        /// `count` socket units on unix sockets in the daemon's directory (s0.sock, ...), a
        /// descriptor each, and their services.
        static func writeSocketPairs(_ count: Int, to daemon: Daemon) throws {
            for index in 0..<count {
                try daemon.write("s\(index).socket", "[Socket]\nListenStream=\(daemon.path("s\(index).sock"))\n")
                try daemon.write("s\(index).service", "[Service]\nExecStart=/bin/cat\n")
            }
        }
    }
}
