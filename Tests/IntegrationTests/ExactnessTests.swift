// systemd's exact semantics as a service and a client see them
// (man/swatchd.service.5): SIGPIPE ignored unless IgnoreSIGPIPE=no,
// RuntimeMaxSec=, named exit statuses, the machine's conditions, restart with
// RestartKillSignal=, and what reset-failed forgets.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ExactnessTests {
        /// SigIgn: of /proc/self/status, as the program itself sees it at its start.
        private func ignoredSignals(in path: String) throws -> UInt64 {
            let text = try waitFor("\(path) is written", timeout: .seconds(10)) { () -> String? in
                guard let t = readText(path), t.contains("\n") else { return nil }
                return t
            }
            let value = text.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            return try #require(UInt64(value, radix: 16), "\(text)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aServiceStartsWithSIGPIPEIgnoredUnlessIgnoreSIGPIPENo() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let yes = daemon.path("yes.out"), no = daemon.path("no.out")
            // grep execs straight from the spawner: no shell or runtime in between
            // changes the dispositions it was given.
            try daemon.write("yes.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/grep SigIgn /proc/self/status
                StandardOutput=file:\(yes)
                """)
            try daemon.write("no.service", """
                [Service]
                Type=oneshot
                IgnoreSIGPIPE=no
                ExecStart=/bin/grep SigIgn /proc/self/status
                StandardOutput=truncate:\(no)
                """)
            try daemon.start()
            let pipe: UInt64 = 1 << (UInt64(SIGPIPE) - 1)
            #expect(try ignoredSignals(in: yes) == pipe)
            #expect(try ignoredSignals(in: no) == 0)
            #expect(daemon.logLines(containing: "Unsupported key 'IgnoreSIGPIPE'").isEmpty)
        }

        @Test(.timeLimit(.minutes(1)))
        func runtimeMaxSecStopsTheServiceWithResultTimeout() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("short.service", """
                [Service]
                ExecStart=/bin/sleep 600
                RuntimeMaxSec=1
                """)
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "short.service", toBe: "active")
            let started = ContinuousClock.now
            try daemon.waitForProperty("Result", of: "short.service", toBe: "timeout", timeout: .seconds(10))
            #expect(ContinuousClock.now - started >= .milliseconds(500))
            #expect(try daemon.property("ActiveState", of: "short.service") == "failed")
            _ = try daemon.waitForLog(containing: "short.service", "Service reached runtime time limit. Stopping.")
        }

        @Test(.timeLimit(.minutes(1)))
        func namedExitStatusesCount() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("dataerr.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/sh -c 'exit 65'
                SuccessExitStatus=DATAERR TEMPFAIL
                """)
            try daemon.write("plain.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/sh -c 'exit 65'
                """)
            try daemon.start()
            try daemon.waitForProperty("Result", of: "plain.service", toBe: "exit-code")
            try daemon.waitForProperty("ActiveState", of: "dataerr.service", toBe: "inactive")
            #expect(try daemon.property("Result", of: "dataerr.service") == "success")
        }

        /// ConditionFirstBoot=/ConditionVirtualization=/ConditionCapability= are tested:
        /// a unit whose condition does not hold is skipped, as under systemd.
        @Test(.timeLimit(.minutes(1)))
        func theMachineConditionsSkipAUnit() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let firstBoot = access("/run/systemd/first-boot", F_OK) == 0
            let ran = daemon.path("ran")
            try daemon.write("firstboot.service", """
                [Unit]
                ConditionFirstBoot=\(firstBoot ? "no" : "yes")
                [Service]
                Type=oneshot
                ExecStart=/bin/touch \(ran).firstboot
                """)
            try daemon.write("nocap.service", """
                [Unit]
                ConditionCapability=!CAP_CHOWN
                ConditionVirtualization=|yes
                ConditionVirtualization=|no
                [Service]
                Type=oneshot
                ExecStart=/bin/touch \(ran).nocap
                """)
            try daemon.write("held.service", """
                [Unit]
                ConditionFirstBoot=\(firstBoot ? "yes" : "no")
                ConditionACPower=|true
                ConditionACPower=|false
                [Service]
                Type=oneshot
                ExecStart=/bin/touch \(ran).held
                """)
            try daemon.start()
            try waitUntil("held.service ran") { access(ran + ".held", F_OK) == 0 }
            _ = try daemon.waitForLog(containing: "firstboot.service was skipped because of an unmet condition check (ConditionFirstBoot=")
            _ = try daemon.waitForLog(containing: "nocap.service was skipped because of an unmet condition check (ConditionCapability=!CAP_CHOWN)")
            #expect(access(ran + ".firstboot", F_OK) != 0 && access(ran + ".nocap", F_OK) != 0)
        }

        /// `swatchctl restart` stops with RestartKillSignal=, `stop` with KillSignal=.
        @Test(.timeLimit(.minutes(1)))
        func restartSendsRestartKillSignalAndResetFailedForgetsNRestarts() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let signals = daemon.path("signals")
            // Records each signal it gets (USR1 for a restart), then exits.
            try daemon.write("sig.service", """
                [Service]
                ExecStart=/bin/sh -c 'trap "echo USR1 >> \(signals); exit 0" USR1; trap "echo TERM >> \(signals); exit 0" TERM; while :; do sleep 0.1; done'
                RestartKillSignal=SIGUSR1
                KillMode=mixed
                """)
            try daemon.start()
            try daemon.waitForProperty("SubState", of: "sig.service", toBe: "running")
            let restart = try daemon.ctl("restart", "sig.service")
            #expect(restart.exitCode == 0, "\(restart)")
            try waitUntil("the restart's signal is recorded") { (readText(signals) ?? "").contains("USR1") }
            try daemon.waitForProperty("SubState", of: "sig.service", toBe: "running")
            #expect(try daemon.ctl("stop", "sig.service").exitCode == 0)
            try waitUntil("the stop's signal is recorded") { (readText(signals) ?? "").contains("TERM") }
            #expect(readText(signals) == "USR1\nTERM\n")
        }
    }
}
