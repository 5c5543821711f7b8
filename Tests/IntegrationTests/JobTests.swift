// Jobs and dependencies as a systemctl user sees them (swatchctl(1),
// systemd.unit(5)): start and stop wait for their jobs, --no-block does not, a
// failed job says why, After=/Requires=/Wants=/Conflicts= order and pull in
// units, and a SIGTERM stops everything in reverse order. The services write
// timestamps and pids; the order is read from those, not from the log.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct JobTests {
        private func python(_ service: String, _ arguments: String) -> String {
            "/usr/bin/python3 \(Harness.service(service)) \(arguments)"
        }

        /// Services/recorder.py: `start NAME <ns>` when it starts, then READY=1 — so that a
        /// unit ordered after it starts after that line — and `stop NAME <ns>` at SIGTERM.
        private func recorder(_ name: String, log: String, unit: String = "") throws -> String {
            "[Unit]\n\(unit)\n[Service]\nType=notify\nExecStart=\(python("recorder.py", "\(name) \(log)"))\n"
        }

        private func events(_ path: String) -> [(String, UInt64)] {
            (readText(path) ?? "").split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3, let t = UInt64(parts[2]) else { return nil }
                return ("\(parts[0]) \(parts[1])", t)
            }
        }

        private func order(_ path: String) -> [String] { events(path).sorted { $0.1 < $1.1 }.map(\.0) }

        /// Services/victim.py writes its pid to `report` and ignores SIGTERM.
        private func stubborn(report: String, timeoutStopSec: String) -> String {
            "[Service]\nExecStart=\(python("victim.py", "\(report) --ignore TERM"))\nTimeoutStopSec=\(timeoutStopSec)\n"
        }

        @Test(.timeLimit(.minutes(1)))
        func startWaitsForReadyAndIsActiveRightAfter() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("slow.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("slow.service", """
                [Service]
                Type=notify
                ExecStart=\(python("notify_steps.py", "sleep:1 send:READY=1 forever"))
                """)
            try daemon.start()
            let began = ContinuousClock.now
            let start = try daemon.ctl("start", "slow.service")
            let took = ContinuousClock.now - began
            #expect(start.exitCode == 0, "\(start)")
            #expect(took >= .seconds(1), "start returned after \(took), before READY=1")
            let active = try daemon.ctl("is-active", "slow.service")
            #expect(active.standardOutput == "active\n", "\(active)")
            try daemon.waitForLog(containing: "Started slow.service.")
        }

        @Test(.timeLimit(.minutes(1)))
        func noBlockReturnsWhileTheUnitIsActivating() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("slow.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("slow.service", """
                [Service]
                Type=notify
                ExecStart=\(python("notify_steps.py", "sleep:3 send:READY=1 forever"))
                """)
            try daemon.start()
            let start = try daemon.ctl("--no-block", "start", "slow.service")
            #expect(start.exitCode == 0, "\(start)")
            #expect(try daemon.property("ActiveState", of: "slow.service") == "activating")
            let jobs = try daemon.ctl("list-jobs")
            #expect(jobs.standardOutput.contains("slow.service"), "\(jobs)")
            #expect(jobs.standardOutput.contains("start"), "\(jobs)")
        }

        @Test(.timeLimit(.minutes(1)))
        func stopReturnsOnlyAfterAStubbornServiceIsKilled() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("stubborn")
            try daemon.write("stubborn.service", stubborn(report: report, timeoutStopSec: "1s"))
            try daemon.start()
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            let began = ContinuousClock.now
            let stop = try daemon.ctl("stop", "stubborn.service")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(ContinuousClock.now - began >= .seconds(1), "stop returned before TimeoutStopSec=")
            #expect(!Processes.isAlive(pid), "stop returned while the process was still there")
            // As systemd: a stop that had to SIGKILL ends failed, Result=timeout.
            #expect(try daemon.property("ActiveState", of: "stubborn.service") == "failed")
            #expect(try daemon.property("Result", of: "stubborn.service") == "timeout")
        }

        @Test(.timeLimit(.minutes(1)))
        func aFailingStartExitsOneWithSystemctlsMessage() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // Two distinct ports: two calls of free() may both get the port the kernel picks next.
            let ports = try Ports.free(2)
            try daemon.write("broken.socket", Units.tcpSocket(ports[0]))
            try daemon.write("broken.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
            try daemon.write("ghost.socket", Units.tcpSocket(ports[1]))
            try daemon.write("ghost.service", "[Service]\nExecStart=/nonexistent/ghost\n")
            try daemon.start()
            let start = try daemon.ctl("start", "broken.service")
            #expect(start.exitCode == 1, "\(start)")
            #expect(start.standardError.contains(
                "Job for broken.service failed because the control process exited with error code."), "\(start)")
            #expect(start.standardError.contains("See \"swatchctl status broken.service\""), "\(start)")
            let ghost = try daemon.ctl("start", "ghost.service")
            #expect(ghost.exitCode == 1, "\(ghost)")
            #expect(ghost.standardError.contains("Job for ghost.service failed"), "\(ghost)")
            try daemon.waitForLog(containing: "Failed to start ghost.service.")
        }

        @Test(.timeLimit(.minutes(1)))
        func afterAndRequiresOrderTheStartAndTheReverseStop() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            try daemon.write("db.service", try recorder("db", log: log))
            try daemon.write("app.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("app.service", try recorder("app", log: log, unit: "Requires=db.service\nAfter=db.service"))
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "db.service", toBe: "active")
            #expect(try daemon.ctl("stop", "db.service").exitCode == 0)
            try waitUntil("db stopped once") { order(log).contains("stop db") }

            #expect(try daemon.ctl("start", "app.service").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "db.service") == "active", "Requires= pulled it in")
            try waitUntil("both started: \(order(log))") { order(log).filter { $0.hasPrefix("start") }.count == 3 }
            #expect(Array(order(log).suffix(2)) == ["start db", "start app"])

            #expect(try daemon.ctl("stop", "db.service").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "app.service") == "inactive", "Requires= stopped it too")
            #expect(Array(order(log).suffix(2)) == ["stop app", "stop db"], "the reverse order")
        }

        /// A dependency's name keeps its escapes, as systemd's does: `Requires=disk-sda\x2d1.service`
        /// pulls in the unit of that file, not a `disk-sda-1.service`.
        @Test(.timeLimit(.minutes(1)))
        func aDependencyNamesTheUnitWithItsEscapes() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            let disk = #"disk-sda\x2d1.service"#
            try daemon.write(disk, try recorder("disk", log: log))
            try daemon.write("app.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("app.service", try recorder("app", log: log, unit: "Requires=\(disk)\nAfter=\(disk)"))
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: disk, toBe: "active")
            #expect(try daemon.ctl("stop", disk).exitCode == 0)
            let start = try daemon.ctl("start", "app.service")
            #expect(start.exitCode == 0, "\(start)")
            #expect(try daemon.property("ActiveState", of: disk) == "active", "Requires= pulled it in")
            try waitUntil("both started: \(order(log))") { Array(order(log).suffix(2)) == ["start disk", "start app"] }
        }

        /// An instance of a template that a unit or swatchctl names is made from the template with
        /// its own `%i` (systemd.unit(5)), and starts when something pulls it in: a Requires= at
        /// start-up, OnFailure=, `swatchctl start`.
        @Test(.timeLimit(.minutes(1)))
        func anInstanceNamedByADependencyOrByStartIsMadeFromItsTemplate() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order"), alert = daemon.path("alert")
            try daemon.write("worker@.service", try recorder("worker-%i", log: log))
            try daemon.write("app.service", try recorder("app", log: log, unit: "Requires=worker@eu.service\nAfter=worker@eu.service"))
            try daemon.write("alert@.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo %i > \(alert)'\n")
            try daemon.write("job.service", "[Unit]\nOnFailure=alert@%n.service\n[Service]\nType=oneshot\nExecStart=/bin/false\n")
            try daemon.start()
            try waitUntil("app started after its worker: \(order(log))") { order(log) == ["start worker-eu", "start app"] }
            try waitUntil("job.service's failure ran alert@job.service.service") { readText(alert) == "job.service\n" }
            #expect(try daemon.property("ActiveState", of: "worker@us.service") == "inactive")

            let start = try daemon.ctl("start", "worker@us.service")
            #expect(start.exitCode == 0, "\(start)")
            #expect(try daemon.property("ActiveState", of: "worker@us.service") == "active")
            #expect(order(log).last == "start worker-us")
            let missing = try daemon.ctl("start", "nothing@us.service")
            #expect(missing.exitCode != 0 && missing.standardError.contains("Unit nothing@us.service not found."), "\(missing)")

            // Stopped, nothing needs worker@us.service: it is unloaded, its lines stay, and a
            // start makes it again. worker@eu.service, which app.service requires, stays loaded.
            #expect(try daemon.ctl("stop", "worker@us.service").exitCode == 0)
            try waitUntil("worker@us.service unloaded") {
                !(try daemon.ctl("list-units", "--all").standardOutput.contains("worker@us.service"))
            }
            #expect(try daemon.ctl("list-units", "--all").standardOutput.contains("worker@eu.service"))
            let logs = try daemon.ctl("logs", "worker@us.service")
            #expect(logs.exitCode == 0 && logs.standardOutput.contains("Started worker@us.service"), "\(logs)")
            #expect(try daemon.ctl("start", "worker@us.service").exitCode == 0)
            #expect(order(log).last == "start worker-us")
        }

        /// A masked unit (linked to /dev/null) is said to be masked, as systemctl says it: by
        /// start and by status, for a unit of its own and for an instance of a template alike.
        @Test(.timeLimit(.minutes(1)))
        func aMaskedUnitOrInstanceIsSaidToBeMasked() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("worker@.service", "[Service]\nExecStart=/bin/sleep 60\n")
            #expect(symlink("/dev/null", daemon.unitDirectory + "/worker@eu.service") == 0)
            #expect(symlink("/dev/null", daemon.unitDirectory + "/old.service") == 0)
            try daemon.start()
            for unit in ["worker@eu.service", "old.service"] {
                let start = try daemon.ctl("start", unit)
                #expect(start.exitCode != 0 && start.standardError.contains("Failed to start \(unit): Unit \(unit) is masked."),
                        "\(start)")
                let status = try daemon.ctl("status", unit)
                #expect(status.standardOutput.contains("Loaded: masked (Reason: Unit \(unit) is masked.)"), "\(status)")
                #expect(try daemon.ctl("stop", unit).exitCode == 0)
            }
            #expect(try daemon.ctl("start", "worker@us.service").exitCode == 0, "another instance runs")
        }

        /// An Accept=yes connection's instance has its template's dependencies: the backend it
        /// requires starts first, an instance it names is made with the connection's `%i`, and
        /// the connection is served once they are up; that instance goes with the connection.
        @Test(.timeLimit(.minutes(1)))
        func anAcceptedConnectionStartsWhatItsTemplateRequiresFirst() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order"), audit = daemon.path("audit")
            let ports = try Ports.free(2)
            try daemon.write("db.socket", Units.tcpSocket(ports[0]))
            try daemon.write("db.service", try recorder("db", log: log))
            try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(ports[1])\nAccept=yes\n")
            try daemon.write("echo@.service", "[Unit]\nRequires=db.service\nAfter=db.service\n"
                             + "Wants=audit@%i.service\nAfter=audit@%i.service\n"
                             + "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            // An instance the template names with the connection's own %i.
            try daemon.write("audit@.service", "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo %i >> \(audit)'\n")
            try daemon.start()
            #expect(try daemon.property("ActiveState", of: "db.service") == "inactive")
            let client = try Client.connect(.loopback4(ports[1]), type: SOCK_STREAM, timeout: .seconds(3))
            defer { close(client) }
            try Client.write("ping\n", to: client)
            #expect(try Client.readLine(client) == "ping")
            #expect(order(log) == ["start db"])
            #expect(try daemon.property("ActiveState", of: "db.service") == "active")
            let instance = try #require(readText(audit)?.split(separator: "\n").first.map(String.init), "audit@ ran before the echo")
            #expect(instance.hasPrefix("0-127.0.0.1:\(ports[1])-127.0.0.1:"), "\(instance)")
            #expect(try daemon.ctl("list-units", "--all").standardOutput.contains("audit@\(instance).service"))
            // The connection ends: its instance goes, and the audit instance nothing names any more with it.
            shutdown(client, Int32(SHUT_RDWR))
            try waitUntil("audit@\(instance).service unloaded") {
                !(try daemon.ctl("list-units", "--all").standardOutput.contains("audit@"))
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func wantsOfAFailingUnitDoesNotFailTheWantingOne() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            let ports = try Ports.free(2)
            try daemon.write("flaky.socket", Units.tcpSocket(ports[0]))
            try daemon.write("flaky.service", "[Service]\nType=oneshot\nExecStart=/bin/false\n")
            try daemon.write("app.socket", Units.tcpSocket(ports[1]))
            try daemon.write("app.service", try recorder("app", log: log, unit: "Wants=flaky.service\nAfter=flaky.service"))
            try daemon.start()
            let start = try daemon.ctl("start", "app.service")
            #expect(start.exitCode == 0, "\(start)")
            #expect(try daemon.property("ActiveState", of: "app.service") == "active")
            #expect(try daemon.property("ActiveState", of: "flaky.service") == "failed")
        }

        @Test(.timeLimit(.minutes(1)))
        func conflictsStopsTheOtherUnit() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            try daemon.write("blue.service", try recorder("blue", log: log))
            try daemon.write("green.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("green.service", try recorder("green", log: log, unit: "Conflicts=blue.service\nAfter=blue.service"))
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "blue.service", toBe: "active")
            #expect(try daemon.ctl("start", "green.service").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "blue.service") == "inactive")
            try waitUntil("green started after blue stopped: \(order(log))") {
                Array(order(log).suffix(2)) == ["stop blue", "start green"]
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func sigtermStopsEverythingInReverseOrder() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            try daemon.write("a.service", try recorder("a", log: log))
            try daemon.write("b.service", try recorder("b", log: log, unit: "After=a.service"))
            try daemon.write("c.service", try recorder("c", log: log, unit: "After=b.service"))
            try daemon.start()
            try waitUntil("all three started: \(order(log))") { order(log).count == 3 }
            #expect(order(log) == ["start a", "start b", "start c"])
            #expect(try daemon.stop() == .exited(0))
            #expect(Array(order(log).suffix(3)) == ["stop c", "stop b", "stop a"])
        }

        /// A start that arrives while swatchd stops everything is refused, as systemd refuses a
        /// destructive transaction during shutdown; taken, it would leave the unit running and
        /// swatchd would never exit.
        @Test(.timeLimit(.minutes(1)))
        func aStartDuringShutdownIsRefusedAndSwatchdStillExits() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("stubborn")
            try daemon.write("stubborn.service", stubborn(report: report, timeoutStopSec: "5s"))
            try daemon.write("later.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("later.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            try daemon.start()
            _ = try waitForReport(report)
            daemon.signal(SIGTERM)
            try daemon.waitForLog(containing: "Stopping stubborn.service...")
            let start = try daemon.ctl("start", "later.service")
            #expect(start.exitCode == 1, "\(start)")
            #expect(start.standardError.contains(
                "Failed to start later.service: Transaction for later.service/start is destructive"), "\(start)")
            #expect(daemon.waitForExit(timeout: .seconds(20)) == .exited(0), "swatchd exits once stubborn.service is killed")
        }

        /// A restart propagated along Requires=/After= goes as systemd's: the unit that needs the
        /// other stops first and starts last, so it never runs while its dependency is down.
        @Test(.timeLimit(.minutes(1)))
        func aRestartStopsWhatIsAfterItFirstAndStartsItLast() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let log = daemon.path("order")
            try daemon.write("db.service", try recorder("db", log: log))
            try daemon.write("app.service", try recorder("app", log: log, unit: "Requires=db.service\nAfter=db.service"))
            try daemon.start()
            try waitUntil("both started: \(order(log))") { order(log) == ["start db", "start app"] }
            let restart = try daemon.ctl("restart", "db.service")
            #expect(restart.exitCode == 0, "\(restart)")
            try waitUntil("both restarted: \(order(log))") { order(log).count == 6 }
            #expect(Array(order(log).suffix(4)) == ["stop app", "stop db", "start db", "start app"])
        }

        /// The dependency keys that propagate, through swatchctl: a reload of `db` reloads what
        /// it PropagatesReloadTo=, a restart restarts what Requires= it, a stop stops what it
        /// PropagatesStopTo=; RefuseManualStart= refuses `swatchctl start` with systemd's words,
        /// while a dependency still starts that unit.
        @Test(.timeLimit(.minutes(1)))
        func propagationAndManualRefusalThroughSwatchctl() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let reloaded = daemon.path("reloaded")
            try daemon.write("db.service", """
                [Unit]
                PropagatesReloadTo=cache.service
                PropagatesStopTo=metrics.service
                [Service]
                ExecStart=/bin/sleep 1001
                ExecReload=/bin/true
                """)
            try daemon.write("cache.service", """
                [Service]
                ExecStart=/bin/sleep 1002
                ExecReload=/bin/sh -c 'echo cache >> \(reloaded)'
                """)
            try daemon.write("app.service", "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 1003\n")
            try daemon.write("metrics.service", "[Service]\nExecStart=/bin/sleep 1004\n")
            try daemon.write("guarded.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("guarded.service", "[Unit]\nRefuseManualStart=yes\n[Service]\nExecStart=/bin/sleep 1005\n")
            try daemon.write("user.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("user.service", "[Unit]\nRequires=guarded.service\n[Service]\nExecStart=/bin/sleep 1006\n")
            try daemon.start()
            for unit in ["db", "cache", "app", "metrics"] {
                try daemon.waitForProperty("ActiveState", of: "\(unit).service", toBe: "active")
            }

            #expect(try daemon.property("PropagatesReloadTo", of: "db.service") == "cache.service")
            #expect(try daemon.property("PropagatesStopTo", of: "db.service") == "metrics.service")
            #expect(try daemon.property("Type", of: "db.service") == "simple")

            #expect(try daemon.ctl("reload", "db.service").exitCode == 0)
            try waitUntil("cache.service's ExecReload= ran\n\(daemon.log)") { readText(reloaded) == "cache\n" }

            let app = try daemon.property("MainPID", of: "app.service")
            #expect(try daemon.ctl("restart", "db.service").exitCode == 0)
            try waitUntil("app.service was restarted with db.service\n\(daemon.log)") {
                let now = try daemon.property("MainPID", of: "app.service")
                let state = try daemon.property("ActiveState", of: "app.service")
                return now != app && now != "0" && state == "active"
            }
            try daemon.waitForProperty("ActiveState", of: "metrics.service", toBe: "inactive")

            let refused = try daemon.ctl("start", "guarded.service")
            #expect(refused.exitCode != 0)
            #expect(refused.standardError.contains("Failed to start guarded.service: Operation refused, unit guarded.service may be requested by dependency only"),
                    "\(refused)")
            #expect(try daemon.property("ActiveState", of: "guarded.service") == "inactive")
            #expect(try daemon.ctl("start", "user.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "guarded.service", toBe: "active")
        }

        /// StopWhenUnneeded=: the unit stops once the unit that required it is gone, and a start
        /// of it alone ends in a stop; JobTimeoutSec= fails the request of a start that never
        /// gets ready while the service goes on starting; RequiresMountsFor= is shown.
        @Test(.timeLimit(.minutes(1)))
        func stopWhenUnneededAndJobTimeouts() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("db.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("db.service", "[Unit]\nStopWhenUnneeded=yes\nRequiresMountsFor=/var/lib/db /run\n[Service]\nExecStart=/bin/sleep 1011\n")
            try daemon.write("app.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("app.service", "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 1012\n")
            try daemon.write("stuck.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("stuck.service", """
                [Unit]
                JobTimeoutSec=1s
                [Service]
                Type=notify
                ExecStart=/bin/sleep 1013
                """)
            try daemon.start()
            #expect(try daemon.property("RequiresMountsFor", of: "db.service") == "/var/lib/db /run")

            #expect(try daemon.ctl("start", "app.service").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "db.service") == "active")
            #expect(try daemon.ctl("stop", "app.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "db.service", toBe: "inactive")
            try daemon.waitForLog(containing: "db.service: Unit not needed anymore. Stopping.")
            #expect(try daemon.ctl("start", "db.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "db.service", toBe: "inactive")

            let start = try daemon.ctl("start", "stuck.service")
            #expect(start.exitCode == 1, "\(start)")
            #expect(start.standardError.contains("Job for stuck.service timed out."), "\(start)")
            #expect(try daemon.property("ActiveState", of: "stuck.service") == "activating")
            try daemon.waitForLog(containing: "stuck.service: Job stuck.service/start timed out.")
            #expect(try daemon.ctl("list-jobs").standardOutput.contains("stuck") == false)
        }

        /// try-reload-or-restart (force-reload) reloads or restarts a unit that is up and leaves one
        /// that is down alone; condrestart is try-restart.
        @Test(.timeLimit(.minutes(1)))
        func forceReloadAndCondrestartLeaveAStoppedUnitAlone() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let reloaded = daemon.path("reloaded")
            try daemon.write("web.service", """
                [Service]
                ExecStart=/bin/sleep 1021
                ExecReload=/bin/sh -c 'echo web >> \(reloaded)'
                """)
            try daemon.write("idle.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("idle.service", "[Service]\nExecStart=/bin/sleep 1022\nExecReload=/bin/true\n")
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "web.service", toBe: "active")
            let web = try daemon.property("MainPID", of: "web.service")
            #expect(try daemon.ctl("force-reload", "web.service", "idle.service").exitCode == 0)
            #expect(readText(reloaded) == "web\n")
            #expect(try daemon.property("MainPID", of: "web.service") == web, "reloaded, not restarted")
            #expect(try daemon.ctl("condrestart", "idle.service").exitCode == 0)
            #expect(try daemon.ctl("condreload", "idle.service").exitCode == 0)
            #expect(try daemon.property("ActiveState", of: "idle.service") == "inactive")
            #expect(try daemon.ctl("condrestart", "web.service").exitCode == 0)
            #expect(try daemon.property("MainPID", of: "web.service") != web, "restarted")
        }
}
}
