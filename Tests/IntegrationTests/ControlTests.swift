// swatchctl as a user drives it (swatchctl(1)): every command and its exit code against a running daemon, the
// systemctl shapes a user reads (status, the stop warning, list headers,
// show's KEY=VALUE), --json that parses, logs -f following a service, and
// nobody refused. Exit codes are systemctl's (systemctl(1) "EXIT STATUS",
// LSB): status 0 active / 3 not active / 4 no such unit; is-active 0/3;
// is-failed 0 when failed; start/stop of an unknown unit 5.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ControlTests {
        /// `/usr/bin/python3 Services/NAME ARGS` for ExecStart=.
        private func python(_ service: String, _ arguments: String) -> String {
            "/usr/bin/python3 \(Harness.service(service)) \(arguments)"
        }

        /// A daemon with hello.socket on `port` and the example service behind it.
        private func helloDaemon(port: UInt16, extra: [String: String] = [:]) throws -> Daemon {
            let daemon = try Daemon()
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            for (name, text) in extra { try daemon.write(name, text) }
            try daemon.start()
            return daemon
        }

        /// An alias (a symlink to a unit of another name, as `systemctl enable`
        /// makes for Alias=) is one unit: it runs once, and swatchctl resolves the name.
        @Test(.timeLimit(.minutes(1)))
        func anAliasIsTheSameUnitUnderAnotherName() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("real.service", "[Service]\nExecStart=/bin/sleep 300\n")
            #expect(symlink("real.service", daemon.unitDirectory + "/alias.service") == 0)
            try daemon.start()
            try daemon.waitForChildren(1)
            let status = try daemon.ctl("status", "alias.service")
            #expect(status.exitCode == 0, "\(status)")
            #expect(status.lines.first?.hasSuffix(" real.service") == true, "\(status)")
            #expect(try daemon.ctl("stop", "alias.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "real.service", toBe: "inactive")
            #expect(!(try daemon.ctl("list-units").standardOutput.contains("alias.service")))
        }

        /// A glob names the loaded units it matches, as with systemctl: `stop 'web-*'` stops
        /// both web services and leaves the other one running.
        @Test(.timeLimit(.minutes(1)))
        func aGlobStopsTheUnitsItMatches() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            for name in ["web-a", "web-b", "db"] {
                try daemon.write("\(name).service", "[Service]\nExecStart=/bin/sleep 300\n")
            }
            try daemon.start()
            try daemon.waitForChildren(3)
            let stop = try daemon.ctl("stop", "web-*")
            #expect(stop.exitCode == 0, "\(stop)")
            let states = try daemon.ctl("is-active", "web-a", "web-b", "db")
            #expect(states.standardOutput == "inactive\ninactive\nactive\n", "\(states)")
        }

        /// A glob that matches more units than one request line holds (swatchd(8), LIMITS: 4096
        /// bytes) works as a short one: swatchctl sends the units in several requests. It
        /// answered "Connection reset by peer" before, having lost the daemon's refusal.
        @Test(.timeLimit(.minutes(1)))
        func aGlobOverMoreUnitsThanOneRequestHoldsStopsAndStartsThemAll() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let names = (1...200).map { "a-glob-over-many-units-\($0)" }
            for name in names { try daemon.write("\(name).service", "[Service]\nExecStart=/bin/sleep 300\n") }
            try daemon.write("other.service", "[Service]\nExecStart=/bin/sleep 300\n")
            try daemon.start()
            try daemon.waitForChildren(201)
            let stop = try daemon.ctl("stop", "a-glob-over-many-units-*")
            #expect(stop.exitCode == 0, "\(stop)")
            let stopped = try daemon.ctl(["is-active"] + names + ["other"])
            #expect(stopped.standardOutput == String(repeating: "inactive\n", count: 200) + "active\n", "\(stopped)")
            let status = try daemon.ctl("status", "a-glob-over-many-units-*")
            #expect(status.lines.filter { $0.hasPrefix("○ a-glob-over-many-units-") }.count == 200, "\(status)")
            let start = try daemon.ctl("start", "a-glob-over-many-units-*")
            #expect(start.exitCode == 0, "\(start)")
            let started = try daemon.ctl(["is-active"] + names)
            #expect(started.standardOutput == String(repeating: "active\n", count: 200), "\(started)")
            // What is not cut (the lines of several units' logs interleave) gets the daemon's refusal.
            let logs = try daemon.ctl(["logs"] + names)
            #expect(logs.exitCode == 64 && logs.standardError == "Request longer than 4096 bytes\n", "\(logs)")
        }

        /// `cat`: the unit file and its drop-ins, each after `# PATH`, as systemctl cat.
        @Test(.timeLimit(.minutes(1)))
        func catPrintsTheUnitFileAndItsDropIns() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let unit = "[Service]\nExecStart=/bin/sleep 300\n", dropIn = "[Service]\nEnvironment=A=1\n"
            try daemon.write("cat.service", unit)
            try daemon.write("cat.service.d/env.conf", dropIn)
            try daemon.start()
            let cat = try daemon.ctl("cat", "cat")
            #expect(cat.exitCode == 0, "\(cat)")
            let directory = daemon.unitDirectory
            #expect(cat.standardOutput
                == "# \(directory)/cat.service\n\(unit)\n# \(directory)/cat.service.d/env.conf\n\(dropIn)", "\(cat)")
            #expect(try daemon.ctl("cat", "nothing.service").exitCode == 4)
        }

        // MARK: status

        @Test(.timeLimit(.minutes(1)))
        func statusShowsInactiveThenActiveWithMainPIDAndTriggeredBy() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }

            let before = try daemon.ctl("status", "hello.service")
            #expect(before.exitCode == 3, "\(before)")
            #expect(before.lines.contains("     Loaded: loaded (\(daemon.unitDirectory)/hello.service)"), "\(before)")
            #expect(before.lines.contains("     Active: inactive (dead)"), "\(before)")
            #expect(before.lines.contains("TriggeredBy: ● hello.socket"), "\(before)")
            #expect(!before.standardOutput.contains("Main PID:"), "\(before)")

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let pid = try #require(pid_t(try waitForReport(daemon.path("report"))["PID"] ?? ""))
            try daemon.waitForProperty("ActiveState", of: "hello.service", toBe: "active")

            let after = try daemon.ctl("status", "hello.service")
            #expect(after.exitCode == 0, "\(after)")
            #expect(after.lines.contains { $0.hasPrefix("     Active: active (running) since ") && $0.hasSuffix(" ago") }, "\(after)")
            #expect(after.lines.contains("   Main PID: \(pid) (swatchd-hello)"), "\(after)")
            #expect(after.lines.contains("TriggeredBy: ● hello.socket"), "\(after)")
            // STATUS= of swatchd-hello, and the service's own output at the end.
            #expect(after.lines.contains { $0.hasPrefix("     Status: \"") }, "\(after)")
            #expect(after.lines.contains { $0.contains("hello.service[\(pid)]: ") }, "\(after)")

            // The `hello` shorthand is hello.service, as systemctl mangles it.
            #expect(try daemon.ctl("status", "hello").lines.contains("   Main PID: \(pid) (swatchd-hello)"))

            let socket = try daemon.ctl("status", "hello.socket")
            #expect(socket.exitCode == 0, "\(socket)")
            #expect(socket.lines.contains("   Triggers: ● hello.service"), "\(socket)")
            #expect(socket.lines.contains { $0.hasPrefix("     Listen: ") && $0.contains(":\(port)") }, "\(socket)")

            // No unit names: every unit.
            let all = try daemon.ctl("status")
            #expect(all.exitCode == 0, "\(all)")
            #expect(all.standardOutput.contains("hello.service") && all.standardOutput.contains("hello.socket"), "\(all)")
        }

        @Test(.timeLimit(.minutes(1)))
        func statusOfAnUnknownUnitExits4() throws {
            let daemon = try helloDaemon(port: try Ports.free())
            defer { daemon.cleanUp() }
            let result = try daemon.ctl("status", "nosuch.service")
            #expect(result.exitCode == 4, "\(result)")
            #expect(result.standardError.contains("Unit nosuch.service could not be found."), "\(result)")
            // As systemctl: the message on stderr, nothing on stdout. (Seen
            // failing: swatchctl prints one empty line.)
            #expect(result.standardOutput.isEmpty, "\(result)")
            // One known and one unknown unit: still 4 (systemctl: the worst wins).
            #expect(try daemon.ctl("status", "hello.service", "nosuch.service").exitCode == 4)
        }

        // MARK: start, stop, restart

        @Test(.timeLimit(.minutes(1)))
        func stopWarnsThatTheSocketCanStillActivateTheServiceAndStartRestartWork() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }

            let started = try daemon.ctl("start", "hello.service")
            #expect(started.exitCode == 0, "\(started)")
            let first = try daemon.waitForMainPID(of: "hello.service")
            #expect(Processes.isAlive(first))
            #expect(try daemon.ctl("is-active", "hello.service").exitCode == 0)

            let restarted = try daemon.ctl("restart", "hello.service")
            #expect(restarted.exitCode == 0, "\(restarted)")
            let second = try daemon.waitForMainPID(of: "hello.service", replacing: first)
            try waitUntil("the first main process \(first) is gone after restart") { !Processes.isAlive(first) }
            #expect(Processes.isAlive(second))
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)

            let stopped = try daemon.ctl("stop", "hello.service")
            #expect(stopped.exitCode == 0, "\(stopped)")
            #expect(stopped.standardError == """
                Warning: Stopping hello.service, but it can still be activated by:
                  hello.socket

                """, "\(stopped)")
            try waitUntil("the main process \(second) is gone after stop") { !Processes.isAlive(second) }
            let inactive = try daemon.ctl("is-active", "hello.service")
            #expect(inactive.exitCode == 3, "\(inactive)")
            #expect(inactive.standardOutput == "inactive\n", "\(inactive)")
            #expect(try daemon.property("MainPID", of: "hello.service") == "0")

            // Stopping the socket: no warning, and the port is closed.
            let socketStopped = try daemon.ctl("stop", "hello.socket")
            #expect(socketStopped.exitCode == 0 && socketStopped.standardError.isEmpty, "\(socketStopped)")
            #expect(throws: ClientError.self) { try Client.get(.loopback4(port), timeout: .seconds(2)) }
            #expect(try daemon.ctl("start", "hello.socket").exitCode == 0)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
        }

        @Test(.timeLimit(.minutes(1)))
        func startAndStopOfAnUnknownUnitExit5() throws {
            let daemon = try helloDaemon(port: try Ports.free())
            defer { daemon.cleanUp() }
            for verb in ["start", "stop", "restart"] {
                let result = try daemon.ctl(verb, "nosuch.service")
                #expect(result.exitCode == 5, "\(verb): \(result)")
                #expect(result.standardError.contains("Unit nosuch.service not found."), "\(verb): \(result)")
            }
        }

        // MARK: reload, kill

        @Test(.timeLimit(.minutes(1)))
        func reloadRunsExecReloadWithMainPID() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), reloaded = daemon.path("reloaded")
            // ${MAINPID} is substituted by swatchd; $$MAINPID reaches sh as
            // $MAINPID, read from the hook's environment (systemd.service(5):
            // "$MAINPID" in ExecReload=).
            try daemon.write("r.service", """
                [Service]
                ExecStart=\(python("victim.py", "\(report) --record \(daemon.path("signals"))"))
                ExecReload=/bin/sh -c 'echo ${MAINPID} $$MAINPID > \(reloaded)'
                """)
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            try daemon.waitForProperty("MainPID", of: "r.service", toBe: "\(pid)")

            let result = try daemon.ctl("reload", "r.service")
            #expect(result.exitCode == 0, "\(result)")
            let written = try waitFor("ExecReload= wrote \(reloaded)\n\(daemon.log)") { readText(reloaded) }
            #expect(written == "\(pid) \(pid)\n")
            // Reloading is not restarting.
            #expect(Processes.isAlive(pid))
            #expect(try daemon.property("MainPID", of: "r.service") == "\(pid)")
        }

        /// Type=notify-reload: `reload` sends ReloadSignal= to the main process and is done
        /// when the service has said RELOADING=1 and READY=1 (python3-systemd's sd_notify).
        @Test(.timeLimit(.minutes(1)))
        func reloadOfANotifyReloadServiceSignalsItAndWaitsForItsReady() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("r.service", """
                [Service]
                Type=notify-reload
                ReloadSignal=SIGUSR1
                ExecStart=\(python("notify_reload.py", "\(report) USR1"))
                """)
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            try daemon.waitForProperty("ActiveState", of: "r.service", toBe: "active")

            for count in 1...2 {
                let result = try daemon.ctl("reload", "r.service")
                #expect(result.exitCode == 0, "\(result)")
                // Written before its READY=1: there when the reload job is done.
                #expect(readText(report)?.contains("RELOADS=\(count)\n") == true, "\(readText(report) ?? "")")
            }
            #expect(try daemon.property("ActiveState", of: "r.service") == "active")
            #expect(try daemon.property("MainPID", of: "r.service") == "\(pid)")
            #expect(Processes.isAlive(pid))
        }

        @Test(.timeLimit(.minutes(1)))
        func killSendsTheNamedSignalToTheService() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), signals = daemon.path("signals")
            try daemon.write("v.service", """
                [Service]
                ExecStart=\(python("victim.py", "\(report) --record \(signals) --ignore USR1,USR2"))
                """)
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))

            let usr1 = try daemon.ctl("kill", "--signal", "SIGUSR1", "v.service")
            #expect(usr1.exitCode == 0, "\(usr1)")
            try waitUntil("victim.py records SIGUSR1\n\(daemon.log)") { readText(signals) == "main USR1\n" }
            // -s and a bare name, as systemctl's `kill -s USR2`.
            #expect(try daemon.ctl("kill", "-s", "USR2", "v").exitCode == 0)
            try waitUntil("victim.py records SIGUSR2\n\(daemon.log)") { readText(signals) == "main USR1\nmain USR2\n" }
            #expect(Processes.isAlive(pid), "an ignored signal ended the service")
            #expect(try daemon.property("ActiveState", of: "v.service") == "active")

            let bad = try daemon.ctl("kill", "--signal", "SIGNOPE", "v.service")
            #expect(bad.exitCode != 0 && bad.standardError.contains("SIGNOPE"), "\(bad)")
            #expect(readText(signals) == "main USR1\nmain USR2\n")
        }

        // MARK: lists

        @Test(.timeLimit(.minutes(1)))
        func listUnitsAndListSocketsShowEveryUnitAndListener() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }

            let units = try daemon.ctl("list-units")
            #expect(units.exitCode == 0, "\(units)")
            let header = try #require(units.lines.first, "\(units)")
            #expect(header.split(separator: " ") == ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"], "\(units)")
            func row(_ unit: String) -> [Substring]? {
                units.lines.first { $0.split(separator: " ").first == Substring(unit) }.map { $0.split(separator: " ") }
            }
            #expect(row("hello.service")?.prefix(4) == ["hello.service", "loaded", "inactive", "dead"], "\(units)")
            #expect(row("hello.socket")?.prefix(4) == ["hello.socket", "loaded", "active", "listening"], "\(units)")
            #expect(units.lines.contains("2 loaded units listed."), "\(units)")

            let sockets = try daemon.ctl("list-sockets")
            #expect(sockets.exitCode == 0, "\(sockets)")
            #expect(sockets.lines.first?.split(separator: " ") == ["LISTEN", "UNIT", "ACTIVATES"], "\(sockets)")
            let listener = sockets.lines.dropFirst().first { $0.contains(":\(port) ") }?.split(separator: " ")
            #expect(listener?.dropFirst() == ["hello.socket", "hello.service"], "\(sockets)")
            #expect(sockets.lines.contains("1 sockets listed."), "\(sockets)")
        }

        // MARK: is-active, is-failed, reset-failed, show

        @Test(.timeLimit(.minutes(1)))
        func isFailedAndResetFailedFollowAFailedService() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // No socket: it comes up with the daemon, exits 3, and is failed.
            try daemon.write("broken.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo about-to-fail; exit 3'
                """)
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")

            let failed = try daemon.ctl("is-failed", "broken.service")
            #expect(failed.exitCode == 0 && failed.standardOutput == "failed\n", "\(failed)")
            let active = try daemon.ctl("is-active", "broken.service")
            #expect(active.exitCode == 3 && active.standardOutput == "failed\n", "\(active)")
            let status = try daemon.ctl("status", "broken.service")
            #expect(status.exitCode == 3, "\(status)")
            #expect(status.lines.contains { $0.hasPrefix("     Active: failed (Result: exit-code)") }, "\(status)")
            #expect(status.lines.contains { $0.hasSuffix("]: about-to-fail") }, "\(status)")
            let show = try daemon.ctl("show", "broken.service")
            #expect(show.property("Result") == "exit-code", "\(show)")
            #expect(show.property("ExecMainStatus") == "3", "\(show)")
            #expect(show.property("ExecMainCode") == "1", "\(show)")  // CLD_EXITED
            #expect(show.property("SubState") == "failed", "\(show)")
            #expect(show.property("MainPID") == "0", "\(show)")
            // The process that failed, as systemctl keeps it: ExecMainPID= and
            // `Main PID: N (code=exited, status=3/…)`. (Seen failing:
            // swatchd answers ExecMainPID=0, so status has no Main PID: line.)
            let failedLine = try #require(daemon.logLines(containing: "]: about-to-fail").first)
            let failedPID = failedLine.split(separator: "[").dropFirst().first?.split(separator: "]").first.map(String.init)
            #expect(show.property("ExecMainPID") == failedPID, "\(show)\n\(failedLine)")
            #expect(status.lines.contains { $0.hasPrefix("   Main PID: \(failedPID ?? "?") (code=exited, status=3") }, "\(status)")

            let reset = try daemon.ctl("reset-failed", "broken.service")
            #expect(reset.exitCode == 0, "\(reset)")
            let after = try daemon.ctl("is-failed", "broken.service")
            #expect(after.exitCode == 1 && after.standardOutput == "inactive\n", "\(after)")
            #expect(try daemon.property("Result", of: "broken.service") == "success")

            // is-active of a unit swatchd does not know: inactive, 3 (as systemctl).
            let unknown = try daemon.ctl("is-active", "nosuch.service")
            #expect(unknown.exitCode == 3 && unknown.standardOutput == "inactive\n", "\(unknown)")

            // reset-failed with no unit resets every failed unit.
            #expect(try daemon.ctl("restart", "broken.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")
            #expect(try daemon.ctl("reset-failed").exitCode == 0)
            #expect(try daemon.ctl("is-failed", "broken.service").exitCode == 1)

            // A glob resets the failed units it matches, as systemctl's reset-failed PATTERN...
            #expect(try daemon.ctl("restart", "broken.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")
            #expect(try daemon.ctl("reset-failed", "bro*").exitCode == 0)
            #expect(try daemon.ctl("is-failed", "broken.service").exitCode == 1)
        }

        @Test(.timeLimit(.minutes(1)))
        func showPrintsSystemctlsProperties() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let attempts = daemon.path("attempts")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            // Fails twice, then stays: two automatic restarts.
            try daemon.write("flaky.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo x >> \(attempts); test "$(wc -l < \(attempts))" -ge 3 && exec sleep 60; exit 1'
                Restart=on-failure
                RestartSec=100ms
                """)
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let pid = try daemon.waitForMainPID(of: "hello.service")

            let service = try daemon.ctl("show", "hello.service")
            #expect(service.exitCode == 0, "\(service)")
            #expect(service.property("Id") == "hello.service", "\(service)")
            #expect(service.property("ActiveState") == "active", "\(service)")
            #expect(service.property("SubState") == "running", "\(service)")
            #expect(service.property("Result") == "success", "\(service)")
            #expect(service.property("MainPID") == "\(pid)", "\(service)")
            #expect(service.property("NRestarts") == "0", "\(service)")
            #expect(service.property("ExecMainStatus") == "0", "\(service)")
            #expect(service.property("TriggeredBy") == "hello.socket", "\(service)")
            #expect(service.property("FragmentPath") == daemon.unitDirectory + "/hello.service", "\(service)")

            let socket = try daemon.ctl("show", "hello.socket")
            #expect(socket.property("Id") == "hello.socket", "\(socket)")
            #expect(socket.property("ActiveState") == "active", "\(socket)")
            #expect(socket.property("Triggers") == "hello.service", "\(socket)")
            let listen = socket.properties["Listen"] ?? []
            #expect(listen.count == 1 && listen[0].contains(":\(port)"), "\(socket)")

            // -p picks properties, --value drops the names (systemctl show).
            let picked = try daemon.ctl("show", "-p", "MainPID", "--value", "hello.service")
            #expect(picked.standardOutput == "\(pid)\n", "\(picked)")

            try daemon.waitForProperty("NRestarts", of: "flaky.service", toBe: "2")
            let flaky = try daemon.ctl("show", "flaky.service")
            #expect(flaky.property("ActiveState") == "active", "\(flaky)")
            #expect(flaky.property("SubState") == "running", "\(flaky)")
            #expect((readText(attempts) ?? "").split(separator: "\n").count == 3)
        }

        // MARK: daemon-reload

        @Test(.timeLimit(.minutes(1)))
        func daemonReloadPicksUpANewUnit() throws {
            let daemon = try helloDaemon(port: try Ports.free())
            defer { daemon.cleanUp() }
            #expect(try daemon.ctl("status", "later.service").exitCode == 4)
            try daemon.write("later.service", """
                [Service]
                ExecStart=/bin/sleep 60
                """)
            let result = try daemon.ctl("daemon-reload")
            #expect(result.exitCode == 0, "\(result)")
            #expect(try daemon.ctl("list-units").lines.contains { $0.split(separator: " ").first == "later.service" })
            try daemon.waitForProperty("ActiveState", of: "later.service", toBe: "active")
        }

        /// LogLevelMax= keeps the lines above it, and swatchd's own messages about the unit
        /// above it, out of `swatchctl logs`; SyslogLevelPrefix=no keeps a `<N>` as text.
        @Test(.timeLimit(.minutes(1)))
        func logLevelMaxAndSyslogLevelPrefixShapeTheLogs() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("quiet.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo "<7>quiet-debug"; echo "<3>quiet-error"; echo quiet-plain; echo quiet-end; exec sleep 300'
                LogLevelMax=warning
                SyslogLevel=warning
                """)
            try daemon.write("raw.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo "<3>raw-text"; exec sleep 301'
                SyslogLevelPrefix=no
                """)
            try daemon.start()
            try waitUntil("both services wrote\n\(daemon.log)") {
                let all = try daemon.ctl("logs").standardOutput
                return all.contains("quiet-end") && all.contains("raw-text")
            }
            let quiet = try daemon.ctl("logs", "quiet.service").lines
            #expect(quiet.contains { $0.hasSuffix(": quiet-error") } && quiet.contains { $0.hasSuffix(": quiet-plain") },
                    "\(quiet)")
            #expect(!quiet.contains { $0.contains("quiet-debug") }, "a debug line above LogLevelMax=warning")
            #expect(!quiet.contains { $0.contains("Started quiet.service") }, "swatchd's info line about it too")
            #expect(try daemon.ctl("logs", "raw.service").lines.contains { $0.hasSuffix(": <3>raw-text") })
            #expect(try daemon.ctl("logs", "raw.service").lines.contains { $0.contains("Started raw.service") })
        }

        /// status draws the service's cgroup as systemctl does: `CGroup:` and the path `show` gives as
        /// ControlGroup=, then every process in it by pid with its command line.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "cgroup tracking needs root"))
        func statusShowsTheProcessesOfTheCgroup() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("two.service", "[Service]\nExecStart=/bin/sh -c 'sleep 300 & exec sleep 301'\n")
            try daemon.start()
            let main = try daemon.waitForMainPID(of: "two.service")
            try daemon.waitForProperty("TasksCurrent", of: "two.service", toBe: "2")
            let group = try #require(try daemon.property("ControlGroup", of: "two.service"))
            #expect(group.hasSuffix("/two.service") && readText("/proc/\(main)/cgroup")?.contains("0::\(group)\n") == true,
                    "\(group)")
            let status = try daemon.ctl("status", "two")
            let lines = status.lines
            let row = try #require(lines.firstIndex(of: "     CGroup: \(group)"), "\(status)")
            try #require(lines.count > row + 2, "\(status)")
            let child = try #require(lines[row + 2].split(separator: "─").last?.split(separator: " ").first.flatMap { pid_t($0) },
                                     "\(status)")
            #expect(Array(lines[(row + 1)...(row + 2)])
                    == ["             ├─\(main) sleep 301", "             └─\(child) sleep 300"], "\(status)")
            #expect(child > main)
            // CPU: from the group's cpu.stat, as CPUUsageNSec= in show.
            #expect(lines.contains { $0.hasPrefix("        CPU: ") }, "\(status)")
            #expect(UInt64(try daemon.property("CPUUsageNSec", of: "two.service") ?? "") != nil)
        }

        // MARK: systemctl's habits

        /// What a systemd user types: -q, --failed, status -n, logs of every unit, a typo, a
        /// systemctl verb swatchctl lacks, SWATCHD_RUNTIME_DIR, NeedDaemonReload= after a touch.
        @Test(.timeLimit(.minutes(1)))
        func systemctlHabitsWorkAgainstTheDaemon() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("one.service", """
                [Service]
                ExecStart=/bin/sh -c 'for i in 1 2 3 4 5 6; do echo one-$i; done; exec sleep 300'
                """)
            try daemon.write("two.service", "[Service]\nExecStart=/bin/sh -c 'echo two-1; exec sleep 300'\n")
            try daemon.write("broken.service", "[Service]\nExecStart=/bin/false\n")
            try daemon.start()
            try waitUntil("both services' lines are kept\n\(daemon.log)") {
                let all = try daemon.ctl("logs").standardOutput
                return all.contains("one-6") && all.contains("two-1")
            }
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")
            try daemon.waitForProperty("ActiveState", of: "one.service", toBe: "active")

            // logs without a unit: both units' lines, each under its own name.
            let all = try daemon.ctl("logs")
            #expect(all.exitCode == 0, "\(all)")
            #expect(all.lines.contains { $0.contains(" one.service[") && $0.hasSuffix(": one-6") }, "\(all)")
            #expect(all.lines.contains { $0.contains(" two.service[") && $0.hasSuffix(": two-1") }, "\(all)")
            let recent = try daemon.ctl("logs", "--since", "-10min", "--until", "now")
            #expect(recent.exitCode == 0 && recent.standardOutput.contains("two-1"), "\(recent)")
            #expect(try daemon.ctl("logs", "--until", "yesterday").standardOutput.isEmpty)
            // Several units, and a glob, as journalctl -u one.service -u 't*': their lines and no other's.
            let both = try daemon.ctl("logs", "one", "t*")
            #expect(both.exitCode == 0, "\(both)")
            #expect(both.lines.contains { $0.hasSuffix(": one-6") } && both.lines.contains { $0.hasSuffix(": two-1") }, "\(both)")
            #expect(!both.lines.contains { $0.contains("broken.service") }, "\(both)")
            let unknown = try daemon.ctl("logs", "one", "nope")
            #expect(unknown.exitCode == 4 && unknown.standardOutput.isEmpty, "\(unknown)")
            #expect(unknown.standardError.contains("Unit nope.service could not be found."), "\(unknown)")

            // -q: the exit code and nothing else.
            for (arguments, code) in [(["is-active", "-q", "one"], Int32(0)), (["is-active", "--quiet", "broken"], 3),
                                      (["is-failed", "-q", "broken"], 0), (["is-failed", "-q", "one"], 1)] {
                let run = try daemon.ctl(arguments)
                #expect(run.exitCode == code, "\(arguments): \(run)")
                #expect(run.standardOutput.isEmpty && run.standardError.isEmpty, "\(arguments): \(run)")
            }

            let failed = try daemon.ctl("list-units", "--failed")
            #expect(failed.exitCode == 0, "\(failed)")
            let rows = failed.lines.dropFirst().prefix { !$0.isEmpty }
            #expect(rows.count == 1 && rows.first?.contains("broken.service") == true, "\(failed)")
            #expect(failed.lines.contains("1 loaded units listed."), "\(failed)")

            // status -n 3: the last three lines of the unit's log, the same `logs -n 3` prints.
            let status = try daemon.ctl("status", "-n", "3", "one")
            #expect(status.exitCode == 0, "\(status)")
            let logLines = status.lines.reversed().drop { $0.isEmpty }.prefix { !$0.isEmpty }.reversed()
            #expect(Array(logLines) == (try daemon.ctl("logs", "-n", "3", "one.service")).lines.filter { !$0.isEmpty },
                    "\(status)")
            #expect(logLines.count == 3, "\(status)")

            let typo = try daemon.ctl("stauts", "one")
            #expect(typo.exitCode == 64 && typo.standardError == "Unknown command 'stauts'; did you mean 'status'?\n", "\(typo)")
            let enable = try daemon.ctl("enable", "one")
            #expect(enable.exitCode == 1, "\(enable)")
            #expect(enable.standardError.hasPrefix("swatchctl: 'enable' is not a command of swatchctl: a unit in a unit directory is enabled"),
                    "\(enable)")

            // SWATCHD_RUNTIME_DIR stands for --runtime-dir.
            let fromEnvironment = try Command.run(
                [try Harness.binary("swatchctl"), "is-active", "one"],
                environment: ["PATH": "/usr/bin:/bin", "SWATCHD_RUNTIME_DIR": daemon.runtimeDirectory])
            #expect(fromEnvironment.status == .exited(0) && fromEnvironment.standardOutput == "active\n", "\(fromEnvironment)")

            // A unit file changed on disk: NeedDaemonReload=yes and status's warning, until daemon-reload.
            #expect(try daemon.property("NeedDaemonReload", of: "one.service") == "no")
            var stamps = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, daemon.unitDirectory + "/one.service", &stamps, 0) == 0)
            #expect(try daemon.property("NeedDaemonReload", of: "one.service") == "yes")
            #expect(try daemon.property("NeedDaemonReload", of: "two.service") == "no")
            let changed = try daemon.ctl("status", "one")
            #expect(changed.standardError.contains("Warning: The unit file, source configuration file or drop-ins of "
                + "one.service changed on disk. Run 'swatchctl daemon-reload' to reload units."), "\(changed)")
            #expect(try daemon.ctl("daemon-reload").exitCode == 0)
            #expect(try daemon.property("NeedDaemonReload", of: "one.service") == "no")
            #expect(!(try daemon.ctl("status", "one")).standardError.contains("changed on disk"))
        }

        /// verify: a User= this machine does not know is a warning with its place; the unit still verifies.
        @Test(.timeLimit(.minutes(1)))
        func verifyWarnsOfAnUnknownUser() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try "[Service]\nExecStart=/bin/true\nUser=nosuchuser-swatchd\n"
                .write(toFile: directory.path + "/hello.service", atomically: true, encoding: .utf8)
            let result = try Command.run([try Harness.binary("swatchd"), "verify", "--unit-dir", directory.path])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(result.standardError.contains("\(directory.path)/hello.service:3: User=nosuchuser-swatchd: no such user "
                + "on this machine (it may exist at run time)"), "\(result.standardError)")
        }

        // MARK: logs

        @Test(.timeLimit(.minutes(1)))
        func logsPrintsTheLastLinesAndFollowsNewOnes() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let fifo = daemon.path("fifo")
            guard mkfifo(fifo, 0o600) == 0 else { throw HarnessError("mkfifo: \(String(cString: strerror(errno)))") }
            // Prints three lines, then whatever is written into the FIFO.
            try daemon.write("talk.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo line-one; echo line-two; echo line-three; while true; do cat \(fifo); done'
                """)
            try daemon.start()
            try waitUntil("talk.service's three lines are kept\n\(daemon.log)") {
                try daemon.ctl("logs", "talk.service").standardOutput.contains("line-three")
            }

            let all = try daemon.ctl("logs", "talk.service")
            #expect(all.exitCode == 0, "\(all)")
            let serviceLines = all.lines.filter { $0.contains("talk.service[") }
            #expect(serviceLines.map { $0.split(separator: " ").last.map(String.init) } == ["line-one", "line-two", "line-three"], "\(all)")
            let two = try daemon.ctl("logs", "talk.service", "-n", "2")
            #expect(two.exitCode == 0, "\(two)")
            #expect(two.lines.filter { !$0.isEmpty }.count == 2, "\(two)")
            #expect(two.lines.first?.hasSuffix("line-two") == true && two.lines.dropFirst().first?.hasSuffix("line-three") == true, "\(two)")
            #expect(try daemon.ctl("logs", "nosuch.service").exitCode == 4)

            // logs -f: the kept lines, then a new line as the service prints it.
            let followed = daemon.path("follow.out")
            let follower = try daemon.followLogs(of: "talk.service", into: followed)
            defer { daemon.stopFollowing(follower) }
            try waitUntil("logs -f prints the kept lines: \(readText(followed) ?? "")") {
                readText(followed)?.contains("line-three") == true
            }
            #expect(readText(followed)?.contains("line-four") == false)
            try waitUntil("talk.service reads its FIFO") { (try? Client.writeFIFO("line-four\n", to: fifo)) != nil }
            try waitUntil("logs -f prints the new line\n\(readText(followed) ?? "")\n\(daemon.log)") {
                readText(followed)?.split(separator: "\n").contains { $0.contains("talk.service[") && $0.hasSuffix(": line-four") } == true
            }
            // Still following: it has not exited by itself.
            #expect(Command.wait(follower, timeout: .milliseconds(200)) == nil, "logs -f exited")
            try waitUntil("talk.service reads its FIFO again") { (try? Client.writeFIFO("line-five\n", to: fifo)) != nil }
            try waitUntil("logs -f prints the next line too\n\(readText(followed) ?? "")") {
                readText(followed)?.contains("line-five") == true
            }
        }

        // MARK: --json, --no-pager

        @Test(.timeLimit(.minutes(1)))
        func jsonOutputParsesForEveryReadCommand() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let pid = try daemon.waitForMainPID(of: "hello.service")

            let status = try daemon.ctl("--json", "status", "hello.service")
            #expect(status.exitCode == 0, "\(status)")
            let statusObjects = try #require(try status.json() as? [[String: Any]], "\(status)")
            #expect(statusObjects.count == 1)
            #expect(statusObjects.first?["Id"] as? String == "hello.service")
            #expect(statusObjects.first?["ActiveState"] as? String == "active")
            #expect(statusObjects.first?["MainPID"] as? Int == Int(pid))
            #expect(statusObjects.first?["TriggeredBy"] as? [String] == ["hello.socket"])

            // --json after the command name as well.
            let show = try daemon.ctl("show", "--json", "hello.socket")
            let showObjects = try #require(try show.json() as? [[String: Any]], "\(show)")
            #expect(showObjects.first?["Id"] as? String == "hello.socket")
            #expect(showObjects.first?["Triggers"] as? [String] == ["hello.service"])
            let listen = showObjects.first?["Listen"] as? [[String: Any]]
            #expect((listen?.first?["Address"] as? String)?.hasSuffix(":\(port)") == true, "\(show)")

            let units = try daemon.ctl("--json", "list-units")
            let unitObjects = try #require(try units.json() as? [[String: Any]], "\(units)")
            #expect(Set(unitObjects.compactMap { $0["Id"] as? String }) == ["hello.service", "hello.socket"])

            let sockets = try daemon.ctl("--json", "list-sockets")
            let socketObjects = try #require(try sockets.json() as? [[String: Any]], "\(sockets)")
            #expect(socketObjects.count == 1)
            #expect(socketObjects.first?["Id"] as? String == "hello.socket")
            #expect(socketObjects.first?["Triggers"] as? [String] == ["hello.service"])

            let isActive = try daemon.ctl("--json", "is-active", "hello.service")
            #expect(try isActive.json() is [String: Any], "\(isActive)")
        }

        @Test(.timeLimit(.minutes(1)))
        func noPagerIsAccepted() throws {
            let daemon = try helloDaemon(port: try Ports.free())
            defer { daemon.cleanUp() }
            for arguments in [["--no-pager", "status", "hello.service"], ["status", "--no-pager", "hello.service"],
                              ["list-units", "--no-pager"], ["--no-pager", "show", "hello.socket"]] {
                let plain = try daemon.ctl(arguments.filter { $0 != "--no-pager" })
                let result = try daemon.ctl(arguments)
                #expect(result.exitCode == plain.exitCode, "\(arguments): \(result)")
                #expect(result.standardError.isEmpty, "\(arguments): \(result)")
                #expect(!result.standardOutput.isEmpty, "\(arguments): \(result)")
            }
        }

        // MARK: Who may control swatchd

        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "setpriv to nobody needs root"))
        func nobodyIsRefusedAndChangesNothing() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let pid = try daemon.waitForMainPID(of: "hello.service")
            try daemon.write("later.service", "[Service]\nExecStart=/bin/sleep 60\n")

            for arguments in [["stop", "hello.service"], ["kill", "hello.service"], ["daemon-reload"], ["status", "hello.service"]] {
                let result = try daemon.ctl(arguments, asUser: 65534)
                #expect(result.exitCode != 0 && result.exitCode != nil, "\(arguments): \(result)")
                // The socket is 0600 in a 0700 dir: connect() fails with EACCES.
                #expect(result.standardError.contains("Permission denied") || result.standardError.contains("Access denied"),
                        "\(arguments): \(result)")
                #expect(!result.standardOutput.contains("Main PID"), "\(arguments): \(result)")
            }
            // Nothing changed: the same main process, and the new unit not loaded.
            #expect(Processes.isAlive(pid))
            #expect(try daemon.property("MainPID", of: "hello.service") == "\(pid)")
            #expect(try daemon.ctl("status", "later.service").exitCode == 4)
        }

        /// The daemon's own check (SO_PEERCRED), not only the file mode:
        /// with the socket and its dirs opened to everyone, nobody still
        /// gets `Access denied` and nothing changes.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "setpriv to nobody needs root"))
        func nobodyIsRefusedByTheDaemonEvenWhenTheSocketFileIsOpen() throws {
            let port = try Ports.free()
            let daemon = try helloDaemon(port: port)
            defer { daemon.cleanUp() }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let pid = try daemon.waitForMainPID(of: "hello.service")
            let control = daemon.runtimeDirectory + "/control"
            #expect(try FileStatus(control).permissions == 0o600)
            chmod(daemon.directory, 0o711)
            chmod(daemon.runtimeDirectory, 0o711)
            chmod(control, 0o666)
            try daemon.write("later.service", "[Service]\nExecStart=/bin/sleep 60\n")

            for arguments in [["stop", "hello.service"], ["kill", "--signal", "SIGKILL", "hello.service"], ["daemon-reload"],
                              ["status", "hello.service"]] {
                let result = try daemon.ctl(arguments, asUser: 65534)
                #expect(result.exitCode != 0 && result.exitCode != nil, "\(arguments): \(result)")
                #expect(result.standardError.contains("Access denied"), "\(arguments): \(result)")
                #expect(!result.standardOutput.contains("Main PID"), "\(arguments): \(result)")
            }
            #expect(Processes.isAlive(pid))
            #expect(try daemon.property("MainPID", of: "hello.service") == "\(pid)")
            #expect(try daemon.ctl("status", "later.service").exitCode == 4)
            try daemon.checkRunning()
        }

        // MARK: The seed's session ("Done when")

        /// seed/README's session with swatchctl for systemctl: both sockets
        /// trigger hello.service, curl starts it, stop warns with both
        /// socket names, the next curl starts it again.
        @Test(.timeLimit(.minutes(1)))
        func theSeedsSessionWorksWithSwatchctl() throws {
            let ports = try Ports.free(2)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // DynamicUser= and PrivateDevices= stay when this build enforces
            // them (verify accepts the seed's lines), else they are dropped
            // as VerifyTests expects (swatchd.service(5): refused, not run with less).
            let sandboxingEnforced = try seedVerifies(ports: ports)
            let units = SeedUnits.adapted(
                SeedUnits.multi, ports: ["80": ports[0], "443": ports[1]],
                execStart: try Harness.sandboxVisibleBinary("swatchd-hello"),
                dropping: sandboxingEnforced ? [] : ["DynamicUser", "PrivateDevices"])
            for (name, text) in units { try daemon.write(name, text) }
            try daemon.start()

            let startSockets = try daemon.ctl("start", "hello-http.socket", "hello-https.socket")
            #expect(startSockets.exitCode == 0, "\(startSockets)")

            let idle = try daemon.ctl("status", "hello.service")
            #expect(idle.exitCode == 3, "\(idle)")
            #expect(idle.lines.contains("     Active: inactive (dead)"), "\(idle)")
            let triggeredBy = try #require(idle.lines.firstIndex(of: "TriggeredBy: ● hello-http.socket"), "\(idle)")
            #expect(idle.lines.dropFirst(triggeredBy + 1).first == "             ● hello-https.socket", "\(idle)")

            #expect(try curl("http://localhost:\(ports[0])/") == "Hello World!\n")
            let first = try daemon.waitForMainPID(of: "hello.service")
            let running = try daemon.ctl("status", "hello.service")
            #expect(running.exitCode == 0, "\(running)")
            #expect(running.lines.contains("   Main PID: \(first) (swatchd-hello)"), "\(running)")
            #expect(try curl("http://localhost:\(ports[1])/") == "Hello World!\n")

            let stop = try daemon.ctl("stop", "hello.service")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(stop.standardError == """
                Warning: Stopping hello.service, but it can still be activated by:
                  hello-http.socket
                  hello-https.socket

                """, "\(stop)")
            try waitUntil("hello.service's process \(first) is gone") { !Processes.isAlive(first) }
            #expect(try daemon.ctl("is-active", "hello.service").exitCode == 3)

            #expect(try curl("http://localhost:\(ports[0])/") == "Hello World!\n")
            let second = try daemon.waitForMainPID(of: "hello.service", replacing: first)
            #expect(second != first)
            #expect(try curl("http://[::1]:\(ports[1])/") == "Hello World!\n")
        }

        /// `swatchd verify` of the seed's multi/ units with only the ports and
        /// ExecStart= adapted: exit 0 once the sandboxing work has landed.
        private func seedVerifies(ports: [UInt16]) throws -> Bool {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let units = SeedUnits.adapted(
                SeedUnits.multi, ports: ["80": ports[0], "443": ports[1]],
                execStart: try Harness.sandboxVisibleBinary("swatchd-hello"), dropping: [])
            for (name, text) in units {
                try text.write(toFile: directory.path + "/" + name, atomically: true, encoding: .utf8)
            }
            let result = try Command.run([try Harness.binary("swatchd"), "verify", "--unit-dir", directory.path])
            return result.status == .exited(0)
        }

        /// `curl -s URL`'s body; throws when curl fails.
        private func curl(_ url: String) throws -> String {
            let result = try Command.run(["/usr/bin/curl", "-sS", "--max-time", "10", url])
            guard result.status == .exited(0) else { throw HarnessError("curl \(url): \(result.status): \(result.standardError)") }
            return result.standardOutput
        }
    }
}
