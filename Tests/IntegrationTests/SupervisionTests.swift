// Supervision as a user sees it (swatchd.service(5), sd_notify(3)):
// sd_notify, the watchdog, Restart= and the start limit, stop escalation,
// KillMode=, service types, Exec* hooks, trigger-limit throttling, and the
// promise of socket activation under SIGKILL. The daemon's state is seen
// through processes, files the services write, clients' results and, for
// systemd's own result names, the log.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct SupervisionTests {
        /// `/usr/bin/python3 Services/NAME ARGS` for ExecStart=.
        private func python(_ service: String, _ arguments: String) -> String {
            "/usr/bin/python3 \(Harness.service(service)) \(arguments)"
        }

        /// `/bin/sh -c 'echo WORD >> FILE'`: a hook that records that it ran.
        private func record(_ word: String, in file: String) -> String {
            "/bin/sh -c 'echo \(word) >> \(file)'"
        }

        private func lines(_ path: String) -> [String] {
            (readText(path) ?? "").split(separator: "\n").map(String.init)
        }

        // MARK: Watchdog

        @Test(.timeLimit(.minutes(1)))
        func abortsKillsAndRestartsAServiceThatStopsPingingButKeepsOneThatPings() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("wd"), signals = daemon.path("wd.signals")
            let pingerReport = daemon.path("pinger"), pingerSignals = daemon.path("pinger.signals")
            // Pings for 1 s, then stops; ignores SIGABRT so that only the
            // SIGKILL after TimeoutAbortSec= can end it.
            try daemon.write("wd.service", """
                [Service]
                Type=notify
                ExecStart=\(python("victim.py", "\(report) --record \(signals) --ignore ABRT --notify --watchdog-for 1"))
                WatchdogSec=1
                TimeoutAbortSec=1
                Restart=on-watchdog
                RestartSec=0
                """)
            try daemon.write("pinger.service", """
                [Service]
                Type=notify
                ExecStart=\(python("victim.py", "\(pingerReport) --record \(pingerSignals) --notify --watchdog-for 600"))
                WatchdogSec=1
                """)
            try daemon.start()
            let clock = ContinuousClock()
            let first = try waitForReport(report)
            let started = clock.now
            let firstPID = try #require(pid_t(first["PID"] ?? ""))
            #expect(first["WATCHDOG_USEC"] == "1000000")
            let pinger = try waitForReport(pingerReport)

            try waitUntil("the watchdog sends SIGABRT\n\(daemon.log)", timeout: .seconds(6)) {
                lines(signals).contains("main ABRT")
            }
            let aborted = clock.now
            try waitUntil("the service is SIGKILLed after TimeoutAbortSec=\n\(daemon.log)", timeout: .seconds(5)) {
                !Processes.isAlive(firstPID)
            }
            let killed = clock.now
            #expect(killed - aborted >= .milliseconds(700), "killed \(killed - aborted) after SIGABRT, before TimeoutAbortSec=1")
            let second = try waitFor("the service is restarted\n\(daemon.log)", timeout: .seconds(5)) {
                readReport(report).flatMap { $0["PID"] != first["PID"] ? $0 : nil }
            }
            // Pinging 1 s + WatchdogSec 1 s + TimeoutAbortSec 1 s, and python's start-up.
            #expect(clock.now - started < .seconds(6))
            #expect(second["PID"] != first["PID"])

            // The pinging one is left alone over 3 × WatchdogSec.
            let window = started + .seconds(3)
            if clock.now < window { pause(window - clock.now) }
            #expect(readReport(pingerReport)?["PID"] == pinger["PID"])
            #expect(Processes.isAlive(pid_t(pinger["PID"] ?? "") ?? 0))
            #expect(lines(pingerSignals).isEmpty)
        }

        @Test(.timeLimit(.minutes(1)))
        func ignoresReadyAndWatchdogFromAForeignProcess() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let slowReport = daemon.path("slow"), posted = daemon.path("posted")
            let starvedReport = daemon.path("starved"), starvedSignals = daemon.path("starved.signals")
            // READY=1 after 2 s; ExecStartPost= runs once the service is started.
            try daemon.write("slow.service", """
                [Service]
                Type=notify
                ExecStart=\(python("notify.py", "--delay 2 --report \(slowReport)"))
                ExecStartPost=\(record("post", in: posted))
                """)
            // Ready, but never pings: only foreign WATCHDOG=1 would keep it.
            try daemon.write("starved.service", """
                [Service]
                Type=notify
                ExecStart=\(python("victim.py", "\(starvedReport) --record \(starvedSignals) --notify"))
                WatchdogSec=1
                """)
            try daemon.start()
            _ = try waitForReport(slowReport)
            _ = try waitForReport(starvedReport)
            let clock = ContinuousClock()
            let reported = clock.now
            let notify = Endpoint.unix(daemon.runtimeDirectory + "/notify")
            #expect(Daemon.isSocket(daemon.runtimeDirectory + "/notify"))
            // From the test's own pid: no service's main process.
            var postedEarly = false
            while clock.now - reported < .milliseconds(1500) {
                try? Client.sendDatagram("READY=1", to: notify)
                try? Client.sendDatagram("WATCHDOG=1", to: notify)
                if readText(posted) != nil { postedEarly = true }
                pause(.milliseconds(100))
            }
            #expect(!postedEarly, "a foreign READY=1 started slow.service")
            try waitUntil("slow.service's own READY=1 starts it\n\(daemon.log)", timeout: .seconds(5)) {
                readText(posted) == "post\n"
            }
            try waitUntil("the watchdog fires on starved.service despite foreign WATCHDOG=1\n\(daemon.log)",
                          timeout: .seconds(5)) {
                lines(starvedSignals).contains("main ABRT")
            }
        }

        // MARK: Restart= and the start limit

        /// A service that hits its start limit (swatchd.socket(5), TriggerLimitBurst=) leaves its sockets in the
        /// throttled state of the trigger limit — not watched for a back-off,
        /// then watched again — instead of failing the socket for good.
        @Test(.timeLimit(.minutes(1)))
        func aStartLimitedServiceThrottlesItsSocketThenWatchesAgain() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let starts = daemon.path("starts")
            try daemon.write("crash.socket", Units.tcpSocket(port))
            try daemon.write("crash.service", """
                [Unit]
                StartLimitIntervalSec=30
                StartLimitBurst=2

                [Service]
                ExecStart=/bin/sh -c 'echo start >> \(starts); exit 1'
                """)
            try daemon.start()
            // The connection stays in the backlog (nobody accepts it): each death re-triggers.
            let client = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(client) }
            try daemon.waitForLog(containing: "crash.socket", "start limit", "not watching")
            try daemon.waitForProperty("SubState", of: "crash.socket", toBe: "throttled")
            #expect(lines(starts).count == 2, "\(daemon.log)")
            #expect(try daemon.property("Result", of: "crash.service") == "start-limit-hit")
            // The back-off ends: the socket is watched again (the start limit still holds the service).
            try daemon.waitForLog(containing: "crash.socket", "Watching again", timeout: .seconds(5))
            #expect(try daemon.ctl("is-active", "crash.socket").exitCode == 0)
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func endsFailedAtTheStartLimitWhileOtherUnitsServe() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let starts = daemon.path("starts")
            try daemon.write("crash.service", """
                [Unit]
                StartLimitIntervalSec=10
                StartLimitBurst=3

                [Service]
                ExecStart=/bin/sh -c 'echo start >> \(starts) && exit 1'
                Restart=on-failure
                RestartSec=100ms
                """)
            try daemon.write("ok.socket", Units.tcpSocket(port))
            try daemon.write("ok.service", try Units.helloService(report: daemon.path("ok")))
            try daemon.start()

            try waitUntil("crash.service has started 3 times\n\(daemon.log)") { lines(starts).count >= 3 }
            // RestartSec=100ms: a fourth start would come within the window.
            #expect(holdsNever(for: .milliseconds(1500)) { lines(starts).count > 3 }, "\(lines(starts).count) starts")
            try daemon.waitForLog(containing: "crash.service", "start-limit-hit")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            try daemon.checkRunning()
        }

        // MARK: Stopping

        @Test(.timeLimit(.minutes(1)))
        func killsAServiceThatIgnoresSIGTERMAfterTimeoutStopSec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("stubborn"), signals = daemon.path("signals")
            try daemon.write("stubborn.service", """
                [Service]
                ExecStart=\(python("victim.py", "\(report) --record \(signals) --ignore TERM"))
                TimeoutStopSec=1
                """)
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))

            let clock = ContinuousClock()
            let stopping = clock.now
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            let took = clock.now - stopping
            // Once: systemd's cgroup kill skips the main pid it already signalled
            // (a second SIGTERM means "exit now" to many programs).
            #expect(lines(signals) == ["main TERM"])
            #expect(!Processes.isAlive(pid))
            #expect(took >= .milliseconds(900), "swatchd exited \(took) after SIGTERM, before TimeoutStopSec=1")
            #expect(took < .seconds(5))
        }

        /// KillMode= (systemd.kill(5)): control-group signals every process
        /// of the service, double-forked orphans included; mixed sends
        /// SIGTERM to the main process and SIGKILL to the rest; process
        /// signals the main process only and leaves the rest running.
        @Test(.timeLimit(.minutes(1)), arguments: ["control-group", "mixed", "process"])
        func stopsTheServicesProcessesPerKillMode(_ mode: String) throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("family"), signals = daemon.path("signals")
            try daemon.write("family.service", """
                [Service]
                ExecStart=\(python("victim.py", "\(report) --record \(signals) --children 1 --orphan"))
                KillMode=\(mode)
                TimeoutStopSec=3
                """)
            try daemon.start()
            let family = try waitForReport(report)
            let main = try #require(pid_t(family["PID"] ?? ""))
            let child = try #require(pid_t(family["CHILDREN"] ?? ""))
            let orphan = try #require(pid_t(family["ORPHAN"] ?? ""))
            // KillMode=process survivors keep their cgroup alive after swatchd
            // exits: the test kills them and removes it.
            let cgroup = Processes.cgroupDirectory(of: main)
            defer {
                for pid in [main, child, orphan] where Processes.isAlive(pid) { kill(pid, SIGKILL) }
                if let cgroup {
                    try? waitUntil("\(cgroup) is empty", timeout: .seconds(2)) { rmdir(cgroup) == 0 || errno == ENOENT }
                    rmdir((cgroup as NSString).deletingLastPathComponent)
                }
            }
            #expect(ProcessStat(pid: orphan)?.parent != main, "the orphan should have been reparented")

            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            // Sorted, not a set: KillSignal= reaches each process once
            // (systemd's cgroup kill skips the main pid it already signalled).
            let received = lines(signals).sorted()
            #expect(!Processes.isAlive(main))
            switch mode {
            case "control-group":
                #expect(received == ["child1 TERM", "main TERM", "orphan TERM"])
                #expect(!Processes.isAlive(child))
                #expect(!Processes.isAlive(orphan), "KillMode=control-group missed a double-forked grandchild")
            case "mixed":
                #expect(received == ["main TERM"])
                #expect(!Processes.isAlive(child))
                #expect(!Processes.isAlive(orphan), "KillMode=mixed missed a double-forked grandchild")
            default:
                #expect(received == ["main TERM"])
                #expect(Processes.isAlive(child), "KillMode=process killed a child")
                #expect(Processes.isAlive(orphan), "KillMode=process killed a grandchild")
            }
        }

        // MARK: Service types

        /// Type=exec is started once execve() succeeded: an ExecStart= that
        /// cannot be executed never reaches ExecStartPost=.
        @Test(.timeLimit(.minutes(1)))
        func startsTypeExecOnlyOnceTheProgramIsExecuted() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let missingPost = daemon.path("missing.post"), okPost = daemon.path("ok.post")
            try daemon.write("missing.service", """
                [Service]
                Type=exec
                ExecStart=/nonexistent/program
                ExecStartPost=\(record("post", in: missingPost))
                """)
            try daemon.write("ok.service", """
                [Service]
                Type=exec
                ExecStart=/bin/sleep 300
                ExecStartPost=\(record("post", in: okPost))
                """)
            try daemon.start()
            try waitUntil("ok.service's ExecStartPost= runs\n\(daemon.log)") { readText(okPost) == "post\n" }
            try daemon.waitForLog(containing: "Failed to spawn missing.service", "No such file or directory")
            #expect(holdsNever(for: .milliseconds(500)) { readText(missingPost) != nil },
                    "ExecStartPost= ran after a failed execve")
        }

        /// Type=oneshot: every ExecStart= in order, then ExecStartPost=;
        /// without RemainAfterExit= the service stops at once (ExecStop=
        /// runs), with it the service stays active until swatchd stops it
        /// (systemd's service_enter_running()).
        @Test(.timeLimit(.minutes(1)))
        func runsOneshotCommandsInOrderAndHonoursRemainAfterExit() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let once = daemon.path("once"), remain = daemon.path("remain")
            for (name, file, remains) in [("once", once, "no"), ("remain", remain, "yes")] {
                try daemon.write("\(name).service", """
                    [Service]
                    Type=oneshot
                    RemainAfterExit=\(remains)
                    ExecStart=\(record("one", in: file))
                    ExecStart=\(record("two", in: file))
                    ExecStartPost=\(record("post", in: file))
                    ExecStop=\(record("stop", in: file))
                    """)
            }
            try daemon.start()
            try waitUntil("once.service ran and stopped\n\(daemon.log)") { lines(once) == ["one", "two", "post", "stop"] }
            try waitUntil("remain.service ran\n\(daemon.log)") { lines(remain) == ["one", "two", "post"] }
            #expect(holdsNever(for: .milliseconds(500)) { lines(remain).count > 3 }, "RemainAfterExit=yes stopped at once")
            #expect(try daemon.stop() == .exited(0))
            #expect(lines(remain) == ["one", "two", "post", "stop"])
            #expect(lines(once) == ["one", "two", "post", "stop"])
        }

        /// Type=forking with PIDFile=: the daemon's forked child is the main
        /// process — killing it is a main-process exit that Restart= sees.
        @Test(.timeLimit(.minutes(1)))
        func supervisesTheForkedMainProcessOfPIDFile() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let pidFile = daemon.path("forking.pid"), report = daemon.path("forking")
            try daemon.write("forking.service", """
                [Service]
                Type=forking
                PIDFile=\(pidFile)
                ExecStart=\(python("forking.py", "\(pidFile) \(report)"))
                Restart=always
                RestartSec=0
                """)
            try daemon.start()
            let first = try waitForReport(report)
            let firstPID = try #require(pid_t(first["PID"] ?? ""))
            let parent = try #require(pid_t(first["PARENT"] ?? ""))
            try waitUntil("the forking parent exits once the PID file is written") { !Processes.isAlive(parent) }
            #expect(Processes.isAlive(firstPID))
            try FileManager.default.removeItem(atPath: report)
            kill(firstPID, SIGKILL)
            let second = try waitFor("the forked main process is restarted\n\(daemon.log)", timeout: .seconds(10)) {
                readReport(report)
            }
            #expect(second["PID"] != first["PID"])
            // On stop, the main process from the PID file gets SIGTERM.
            #expect(try daemon.stop() == .exited(0))
            #expect(!Processes.isAlive(pid_t(second["PID"] ?? "") ?? 0))
        }

        /// While the start process of Type=forking runs, it is the control process and there
        /// is no main one (systemctl show: `MainPID=0`, `ControlPID=`; status: `Cntrl PID:`),
        /// as in systemd's service_enter_start(); once it exits, the daemon it left is the main
        /// process. An ExecStop= that runs beside the main process follows it on one line.
        @Test(.timeLimit(.minutes(1)))
        func theStartProcessOfForkingIsAControlProcess() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let started = daemon.path("started"), stopping = daemon.path("stopping")
            #expect(mkfifo(started, 0o600) == 0 && mkfifo(stopping, 0o600) == 0)
            try daemon.write("forking.service", """
                [Service]
                Type=forking
                ExecStart=/bin/sh -c 'sleep 1000 & read line < \(started)'
                ExecStop=/bin/sh -c 'read line < \(stopping); kill $MAINPID'
                """)
            try daemon.start()
            let start = try waitFor("the start process runs\n\(daemon.log)") {
                pid_t(try daemon.property("ControlPID", of: "forking.service") ?? "").flatMap { $0 > 0 ? $0 : nil }
            }
            #expect(try daemon.property("MainPID", of: "forking.service") == "0")
            let starting = try daemon.ctl("status", "forking.service")
            #expect(starting.lines.contains("  Cntrl PID: \(start) (sh)"), "\(starting)")
            #expect(!starting.standardOutput.contains("Main PID"), "\(starting)")

            // A writer opening the FIFO lets the start process's `read` return.
            try "go\n".write(toFile: started, atomically: false, encoding: .utf8)
            let main = try daemon.waitForMainPID(of: "forking.service")
            #expect(ProcessStat(pid: main)?.command == "sleep")
            try daemon.waitForProperty("ActiveState", of: "forking.service", toBe: "active")
            #expect(try daemon.property("ControlPID", of: "forking.service") == "0")

            #expect(try daemon.ctl("stop", "--no-block", "forking.service").exitCode == 0)
            let stop = try waitFor("ExecStop= runs\n\(daemon.log)") {
                pid_t(try daemon.property("ControlPID", of: "forking.service") ?? "").flatMap { $0 > 0 ? $0 : nil }
            }
            let stoppingStatus = try daemon.ctl("status", "forking.service")
            #expect(stoppingStatus.lines.contains("   Main PID: \(main) (sleep); Control PID: \(stop) (sh)"),
                    "\(stoppingStatus)")
            try "go\n".write(toFile: stopping, atomically: false, encoding: .utf8)
            try daemon.waitForProperty("ActiveState", of: "forking.service", toBe: "inactive")
            #expect(!Processes.isAlive(main))
        }

        // MARK: Exec hooks

        /// ExecStartPre= (a failing `-` one is ignored), ExecStartPost=,
        /// ExecStop=, ExecStopPost= in order around a main process that exits
        /// cleanly; ExecStopPost= sees $SERVICE_RESULT, $EXIT_CODE and
        /// $EXIT_STATUS (systemd.exec(5)) for an exit code and for a signal;
        /// a failing ExecStartPre= without `-` means ExecStart= never runs.
        @Test(.timeLimit(.minutes(1)))
        func runsExecHooksInOrderAndTellsExecStopPostHowTheServiceEnded() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let order = daemon.path("order")
            func stopPost(_ name: String) -> String { "/bin/sh -c 'env > \(daemon.path(name)).tmp && mv \(daemon.path(name)).tmp \(daemon.path(name))'" }
            try daemon.write("clean.service", """
                [Service]
                ExecStartPre=-/bin/false
                ExecStartPre=\(record("startpre", in: order))
                ExecStart=/bin/sh -c 'until grep -qs startpost \(order); do sleep 0.02; done'
                ExecStartPost=\(record("startpost", in: order))
                ExecStop=\(record("stop", in: order))
                ExecStopPost=\(record("stoppost", in: order))
                ExecStopPost=\(stopPost("clean.env"))
                """)
            try daemon.write("three.service", """
                [Service]
                ExecStart=/bin/sh -c 'exit 3'
                ExecStopPost=\(stopPost("three.env"))
                """)
            let killedStarted = daemon.path("killed.started")
            try daemon.write("killed.service", """
                [Service]
                ExecStart=/bin/sleep 300
                ExecStartPost=\(record("started", in: killedStarted))
                ExecStopPost=\(stopPost("killed.env"))
                """)
            let neverRan = daemon.path("never")
            try daemon.write("badpre.service", """
                [Service]
                ExecStartPre=/bin/false
                ExecStart=\(record("main", in: neverRan))
                ExecStopPost=\(stopPost("badpre.env"))
                """)
            try daemon.start()

            try waitUntil("clean.service ran every hook\n\(daemon.log)") { readText(daemon.path("clean.env")) != nil }
            #expect(lines(order) == ["startpre", "startpost", "stop", "stoppost"])
            let clean = try #require(readEnvironment(daemon.path("clean.env")))
            #expect(clean["SERVICE_RESULT"] == "success")
            #expect(clean["EXIT_CODE"] == "exited")
            #expect(clean["EXIT_STATUS"] == "0")

            let three = try waitFor("three.service's ExecStopPost= ran\n\(daemon.log)") { readEnvironment(daemon.path("three.env")) }
            #expect(three["SERVICE_RESULT"] == "exit-code")
            #expect(three["EXIT_CODE"] == "exited")
            #expect(three["EXIT_STATUS"] == "3")

            try waitUntil("killed.service started") { readText(killedStarted) != nil }
            let sleeper = try #require(daemon.children.first { Processes.arguments(of: $0.pid) == ["/bin/sleep", "300"] })
            kill(sleeper.pid, SIGKILL)
            let killed = try waitFor("killed.service's ExecStopPost= ran\n\(daemon.log)") { readEnvironment(daemon.path("killed.env")) }
            #expect(killed["SERVICE_RESULT"] == "signal")
            #expect(killed["EXIT_CODE"] == "killed")
            #expect(killed["EXIT_STATUS"] == "KILL")

            let badpre = try waitFor("badpre.service's ExecStopPost= ran\n\(daemon.log)") { readEnvironment(daemon.path("badpre.env")) }
            #expect(badpre["SERVICE_RESULT"] == "exit-code")
            #expect(readText(neverRan) == nil, "ExecStart= ran after a failing ExecStartPre=")
        }

        // MARK: sd_notify details

        /// Type=notify: TimeoutStartSec= ends a start that never says READY=1;
        /// EXTEND_TIMEOUT_USEC= gives a slow one more time.
        @Test(.timeLimit(.minutes(1)))
        func failsANotifyStartAfterTimeoutStartSecUnlessExtended() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let slowReport = daemon.path("slow"), slowPost = daemon.path("slow.post")
            let extendedReport = daemon.path("extended"), extendedPost = daemon.path("extended.post")
            try daemon.write("slow.service", """
                [Service]
                Type=notify
                TimeoutStartSec=1
                ExecStart=\(python("notify_steps.py", "report:\(slowReport) sleep:3 send:READY=1 forever"))
                ExecStartPost=\(record("post", in: slowPost))
                """)
            try daemon.write("extended.service", """
                [Service]
                Type=notify
                TimeoutStartSec=1
                ExecStart=\(python("notify_steps.py", "send:EXTEND_TIMEOUT_USEC=4000000 report:\(extendedReport) sleep:2 send:READY=1 forever"))
                ExecStartPost=\(record("post", in: extendedPost))
                """)
            try daemon.start()
            let slow = try #require(pid_t(try waitForReport(slowReport)["PID"] ?? ""))
            let extended = try #require(pid_t(try waitForReport(extendedReport)["PID"] ?? ""))
            try waitUntil("slow.service is stopped after TimeoutStartSec=1\n\(daemon.log)", timeout: .seconds(4)) {
                !Processes.isAlive(slow)
            }
            try daemon.waitForLog(containing: "slow.service", "timed out")
            try waitUntil("extended.service starts after its READY=1\n\(daemon.log)", timeout: .seconds(6)) {
                readText(extendedPost) == "post\n"
            }
            #expect(Processes.isAlive(extended))
            #expect(readText(slowPost) == nil, "ExecStartPost= ran for a start that timed out")
        }

        /// Datagrams of 4096 bytes or more (truncated) and datagrams holding
        /// a NUL are dropped (as systemd does: src/core/manager.c): READY=1 in them does not count.
        @Test(.timeLimit(.minutes(1)))
        func dropsOversizedAndNULHoldingNotifications() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), posted = daemon.path("posted")
            try daemon.write("picky.service", """
                [Service]
                Type=notify
                ExecStart=\(python("notify_steps.py", "report:\(report) pad:READY=1:5000 nul:READY=1 sleep:1.5 raw:READY=1 forever"))
                ExecStartPost=\(record("post", in: posted))
                """)
            try daemon.start()
            _ = try waitForReport(report)
            let clock = ContinuousClock()
            let reported = clock.now
            try waitUntil("the well-formed READY=1 starts the service\n\(daemon.log)", timeout: .seconds(6)) {
                readText(posted) == "post\n"
            }
            #expect(clock.now - reported >= .milliseconds(1200),
                    "started \(clock.now - reported) after the report: an oversized or NUL-holding READY=1 was taken")
        }

        /// MAINPID= sent by the main process moves supervision to that pid:
        /// after the old main process exits, killing the new one is what
        /// Restart= sees.
        @Test(.timeLimit(.minutes(1)))
        func movesSupervisionToTheProcessNamedByMAINPID() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("handover.service", """
                [Service]
                Type=notify
                ExecStart=\(python("notify_steps.py", "fork send:MAINPID={child}\\nREADY=1 sleep:0.2 report:\(report) exit:0"))
                Restart=always
                RestartSec=0
                """)
            try daemon.start()
            let first = try waitForReport(report)
            let oldMain = try #require(pid_t(first["PID"] ?? ""))
            let newMain = try #require(pid_t(first["CHILD"] ?? ""))
            try waitUntil("the old main process exits") { !Processes.isAlive(oldMain) }
            // The service lives on in the new main process: no restart.
            #expect(holdsNever(for: .milliseconds(500)) { readReport(report)?["PID"] != first["PID"] },
                    "restarted when the old main process exited\n\(daemon.log)")
            #expect(Processes.isAlive(newMain))
            try FileManager.default.removeItem(atPath: report)
            kill(newMain, SIGKILL)
            let second = try waitFor("killing the new main process restarts the service\n\(daemon.log)") {
                readReport(report)
            }
            #expect(second["PID"] != first["PID"])
        }

        /// keeper.socket on `port` and keeper.service, fdstore.py with a store and `keys`.
        private func writeKeeper(_ daemon: Daemon, port: UInt16, _ keys: String) throws {
            try daemon.write("keeper.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\n")
            try daemon.write("keeper.service", """
                [Service]
                ExecStart=\(python("fdstore.py", ""))
                NotifyAccess=main
                FileDescriptorStoreMax=4
                \(keys)
                """)
        }

        /// FDSTORE=1: a service stores a client's connection, is restarted,
        /// finds it by name (LISTEN_FDNAMES) and keeps talking on it.
        @Test(.timeLimit(.minutes(1)))
        func keepsAStoredConnectionAcrossARestart() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try writeKeeper(daemon, port: port, "Restart=always\nRestartSec=0")
            try daemon.start()
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(connection) }
            let stored = try #require(try Client.readLine(connection))
            #expect(stored.hasPrefix("stored by "))
            let found = try #require(try Client.readLine(connection), "the connection was closed\n\(daemon.log)")
            #expect(found.hasPrefix("found by "))
            #expect(found.dropFirst("found by ".count) != stored.dropFirst("stored by ".count), "not a new process")
            try Client.write("still here\n", to: connection)
            #expect(try Client.readLine(connection) == "still here")
        }

        /// FileDescriptorStorePreserve=yes: the stored connection outlives the service's end,
        /// not only its restarts; a later start finds it.
        @Test(.timeLimit(.minutes(1)))
        func fileDescriptorStorePreserveYesKeepsTheStoreWhileStopped() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try writeKeeper(daemon, port: port, "FileDescriptorStorePreserve=yes")
            try daemon.start()
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(connection) }
            #expect(try Client.readLine(connection)?.hasPrefix("stored by ") == true)
            try daemon.waitForProperty("ActiveState", of: "keeper.service", toBe: "failed")
            #expect(try daemon.property("NFileDescriptorStore", of: "keeper.service") == "1")
            #expect(try daemon.ctl("start", "keeper.service").exitCode == 0)
            let found = try #require(try Client.readLine(connection), "the connection was closed\n\(daemon.log)")
            #expect(found.hasPrefix("found by "))
            try Client.write("still here\n", to: connection)
            #expect(try Client.readLine(connection) == "still here")
        }

        /// ExitType=cgroup: a script that starts a daemon in the background and exits leaves
        /// the service active, without a main process, until that daemon ends too.
        @Test(.timeLimit(.minutes(1)))
        func exitTypeCgroupKeepsTheServiceWhileItsGroupRuns() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let go = daemon.path("go")
            try daemon.write("background.service", """
                [Service]
                ExitType=cgroup
                ExecStart=/bin/sh -c '(while [ ! -e \(go) ]; do sleep 0.02; done) & exit 0'
                """)
            try daemon.start()
            try daemon.waitForProperty("ExecMainCode", of: "background.service", toBe: "1")
            #expect(try daemon.property("ActiveState", of: "background.service") == "active")
            #expect(try daemon.property("MainPID", of: "background.service") == "0")
            _ = FileManager.default.createFile(atPath: go, contents: nil)
            try daemon.waitForProperty("ActiveState", of: "background.service", toBe: "inactive")
            #expect(try daemon.property("Result", of: "background.service") == "success")
        }

        /// TimeoutStartFailureMode=kill: a service that never says READY=1 is sent SIGKILL, not
        /// SIGTERM, when TimeoutStartSec= runs out.
        @Test(.timeLimit(.minutes(1)))
        func timeoutStartFailureModeKillSendsSIGKILL() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("late.service", """
                [Service]
                Type=notify
                ExecStart=/bin/sleep 300
                TimeoutStartSec=300ms
                TimeoutStartFailureMode=kill
                """)
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "late.service", toBe: "failed")
            #expect(try daemon.property("Result", of: "late.service") == "timeout")
            #expect(try daemon.property("ExecMainCode", of: "late.service") == "2", "killed by a signal")
            #expect(try daemon.property("ExecMainStatus", of: "late.service") == "\(SIGKILL)")
            #expect(daemon.log.contains("late.service: start operation timed out. Killing."), "\(daemon.log)")
        }

        // MARK: Stop and restart details

        /// SendSIGKILL=no: after TimeoutStopSec= swatchd gives up on the
        /// process instead of killing it.
        @Test(.timeLimit(.minutes(1)))
        func leavesAStubbornServiceAliveWithSendSIGKILLNo() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("stubborn"), signals = daemon.path("signals")
            try daemon.write("stubborn.service", """
                [Service]
                ExecStart=\(python("victim.py", "\(report) --record \(signals) --ignore TERM"))
                TimeoutStopSec=1
                SendSIGKILL=no
                """)
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            let cgroup = Processes.cgroupDirectory(of: pid)
            defer {
                kill(pid, SIGKILL)
                if let cgroup {
                    try? waitUntil("\(cgroup) is empty", timeout: .seconds(2)) { rmdir(cgroup) == 0 || errno == ENOENT }
                    rmdir((cgroup as NSString).deletingLastPathComponent)
                }
            }
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            #expect(lines(signals).first == "main TERM")
            #expect(Processes.isAlive(pid), "SendSIGKILL=no, yet the service was killed")
        }

        /// RestartSteps= and RestartMaxDelaySec=: the delay grows from
        /// RestartSec= towards RestartMaxDelaySec= (systemd.service(5)).
        @Test(.timeLimit(.minutes(1)))
        func growsTheRestartDelayInRestartSteps() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let starts = daemon.path("starts")
            // `%%` is a literal `%` in a unit file (systemd.unit(5) specifiers).
            try daemon.write("flaky.service", """
                [Unit]
                StartLimitIntervalSec=0

                [Service]
                ExecStart=/bin/sh -c 'date +%%s.%%N >> \(starts) && exit 1'
                Restart=on-failure
                RestartSec=100ms
                RestartSteps=3
                RestartMaxDelaySec=2s
                """)
            try daemon.start()
            try waitUntil("flaky.service has started 5 times\n\(daemon.log)", timeout: .seconds(10)) {
                lines(starts).count >= 5
            }
            let times = lines(starts).prefix(5).compactMap(Double.init)
            try #require(times.count == 5, "\(lines(starts))")
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            // 0.1 s, then ×(2/0.1)^(1/3) ≈ 2.7 per step: 0.27 s, 0.74 s, 2 s.
            #expect(gaps[0] < 0.5, "gaps \(gaps)")
            for index in 1..<gaps.count {
                #expect(gaps[index] > gaps[index - 1] * 1.5, "gaps \(gaps)")
            }
            #expect(gaps[3] >= 1.8 && gaps[3] < 2.6, "gaps \(gaps)")
        }

        // MARK: Trigger limits and the promise of socket activation

        /// A datagram service that exits without reading leaves its socket
        /// readable (docs/HACKING.md "Sockets"): without a limit swatchd would respawn it in a
        /// tight loop. The trigger limit throttles it — swatchd stays almost
        /// idle — and the throttle is temporary: once the service reads
        /// again, the socket is served.
        @Test(.timeLimit(.minutes(1)))
        func throttlesADatagramStormCheaplyAndServesAgainAfterIt() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let path = daemon.path("storm.sock"), starts = daemon.path("starts")
            let drain = daemon.path("drain"), received = daemon.path("received")
            try daemon.write("storm.socket", """
                [Socket]
                ListenDatagram=\(path)
                TriggerLimitIntervalSec=2s
                TriggerLimitBurst=20
                """)
            try daemon.write("storm.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo x >> \(starts); test -e \(drain) || exit 0; exec \(python("dgram_reader.py", received))'
                """)
            try daemon.start()
            try Client.sendDatagram("storm", to: .unix(path))
            try waitUntil("the storm begins\n\(daemon.log)") { lines(starts).count >= 5 }

            let before = try #require(ProcessStat(pid: daemon.pid))
            let startsBefore = lines(starts).count
            pause(.seconds(5))
            let after = try #require(ProcessStat(pid: daemon.pid))
            let ticks = (after.userTicks + after.systemTicks) - (before.userTicks + before.systemTicks)
            let seconds = Double(ticks) / Double(Processes.ticksPerSecond)
            let activations = lines(starts).count - startsBefore
            // 5% of one core; an unthrottled loop burns most of it (~1000 spawns/s).
            #expect(seconds < 0.25, "swatchd used \(seconds) s of CPU in 5 s of storm (\(activations) activations)")
            // TriggerLimitBurst=20 per 2 s, and a back-off that grows: at most 3 bursts.
            #expect(activations <= 60, "\(activations) activations in 5 s")
            try daemon.waitForLog(containing: "storm.socket")
            try daemon.checkRunning()

            // The storm ends: the next activation reads, and a new datagram is served.
            #expect(FileManager.default.createFile(atPath: drain, contents: nil))
            try Client.sendDatagram("after", to: .unix(path))
            try waitUntil("the socket is served again after the storm\n\(daemon.log)", timeout: .seconds(30)) {
                lines(received).contains("after")
            }
            #expect(lines(received).first == "storm")
        }

        /// The promise of socket activation, measured: 2000
        /// requests over 10 s while the service is SIGKILLed every second;
        /// not one connection refused or dropped.
        @Test(.timeLimit(.minutes(1)))
        func refusesNoConnectionWhileTheServiceIsKilledEverySecond() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", """
                [Unit]
                StartLimitIntervalSec=10
                StartLimitBurst=1000

                [Service]
                Type=notify
                ExecStart=\(try Harness.binary("swatchd-hello"))
                Restart=always
                RestartSec=0
                """)
            try daemon.start()

            let clock = ContinuousClock()
            let begin = clock.now
            var lastKill = begin
            var kills = 0
            var killed: Set<pid_t> = []
            var failures: [String] = []
            for request in 0..<2000 {
                // Paced over 10 s: request n is due at n × 5 ms.
                let due = begin + .milliseconds(5 * request)
                if clock.now < due { pause(due - clock.now) }
                if clock.now - lastKill >= .seconds(1) {
                    for service in daemon.children {
                        kill(service.pid, SIGKILL)
                        killed.insert(service.pid)
                    }
                    kills += 1
                    lastKill = clock.now
                }
                do {
                    let body = try Client.body(.loopback4(port))
                    if body != Client.helloBody { failures.append("request \(request): \(body.debugDescription)") }
                } catch {
                    failures.append("request \(request): \(error)")
                }
            }
            #expect(failures.isEmpty, "\(failures.count) of 2000 failed: \(failures.prefix(10))")
            #expect(kills >= 9)
            #expect(killed.count >= 9, "the service was killed only \(killed.count) times: it did not come back?")
            try daemon.checkRunning()
        }
    }
}

/// Parses `env` output (`KEY=VALUE` lines); nil while the file does not exist.
func readEnvironment(_ path: String) -> [String: String]? { readReport(path) }
