// Condition…=/Assert…= as a user of systemd expects them (systemd.unit(5),
// "Conditions and Asserts"): an unmet condition skips the start quietly and
// says so in the log and in `status`; a failed assertion fails the start
// request; a socket unit whose condition fails does not listen.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ConditionTests {
        @Test(.timeLimit(.minutes(1)))
        func anUnmetConditionSkipsTheStartUntilItHolds() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let flag = daemon.path("configured"), ran = daemon.path("ran")
            try daemon.write("gated.service", """
                [Unit]
                ConditionPathExists=\(flag)
                ConditionPathIsDirectory=!\(flag)
                [Service]
                ExecStart=/bin/sh -c 'touch \(ran); exec sleep 300'
                """)
            try daemon.start()
            try daemon.waitForLog(
                containing: "gated.service was skipped because of an unmet condition check (ConditionPathExists=\(flag)).")
            let skipped = try daemon.ctl("status", "gated.service")
            #expect(skipped.exitCode == 3, "\(skipped)")
            #expect(skipped.lines.contains("     Active: inactive (dead)"), "\(skipped)")
            #expect(skipped.lines.contains { $0.hasPrefix("  Condition: start condition unmet at ") && $0.hasSuffix(" ago") },
                    "\(skipped)")
            #expect(skipped.lines.contains("             └─ ConditionPathExists=\(flag) was not met"), "\(skipped)")
            let show = try daemon.ctl("show", "gated.service")
            #expect(show.property("ConditionResult") == "no" && show.property("AssertResult") == "yes", "\(show)")
            #expect(show.property("FailedCondition") == "ConditionPathExists=\(flag)", "\(show)")
            #expect(access(ran, F_OK) != 0)

            // Once it holds, a start runs the service and the condition is no longer reported.
            try "".write(toFile: flag, atomically: true, encoding: .utf8)
            #expect(try daemon.ctl("start", "gated.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "gated.service", toBe: "active")
            try waitUntil("the service ran") { access(ran, F_OK) == 0 }
            let running = try daemon.ctl("status", "gated.service")
            #expect(!running.standardOutput.contains("Condition:"), "\(running)")
        }

        /// The conditions on the machine, against this machine: its architecture, kernel, CPUs and
        /// memory, and a credential passed to swatchd as a container manager passes them.
        @Test(.timeLimit(.minutes(1)))
        func machineConditionsHoldForThisMachineOnly() throws {
            let credentials = try TemporaryDirectory()
            defer { credentials.remove() }
            try "secret".write(toFile: credentials.path + "/token", atomically: true, encoding: .utf8)
            let daemon = try Daemon(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
            defer { daemon.cleanUp() }
            try daemon.write("fits.service", """
                [Unit]
                ConditionArchitecture=native
                ConditionKernelVersion=">=3.0" "!=1.0"
                ConditionCPUs=>=1
                ConditionMemory=>=16M
                ConditionCredential=token
                ConditionOSRelease=ID!=swatchd-no-such-os
                ConditionKernelModuleLoaded=!swatchd_no_such_module
                ConditionArchitecture=|!x86-64
                ConditionCPUFeature=|sse2
                ConditionMemoryPressure=100%
                ConditionPathIsEncrypted=!/proc
                ConditionFirmware=!smbios-field(swatchd_no_such_field = x)
                [Service]
                ExecStart=/bin/sleep 300
                """)
            try daemon.write("board.service", "[Unit]\nConditionFirmware=device-tree-compatible(swatchd,none)\n[Service]\nExecStart=/bin/sleep 303\n")
            try daemon.write("old.service", "[Unit]\nConditionKernelVersion=<2.6\n[Service]\nExecStart=/bin/sleep 301\n")
            try daemon.write("elsewhere.service", "[Unit]\nConditionCredential=absent\n[Service]\nExecStart=/bin/sleep 302\n")
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "fits.service", toBe: "active")
            try daemon.waitForLog(
                containing: "old.service was skipped because of an unmet condition check (ConditionKernelVersion=<2.6).")
            try daemon.waitForLog(
                containing: "elsewhere.service was skipped because of an unmet condition check (ConditionCredential=absent).")
            try daemon.waitForLog(containing: "board.service was skipped because of an unmet condition check "
                + "(ConditionFirmware=device-tree-compatible(swatchd,none)).")
        }

        @Test(.timeLimit(.minutes(1)))
        func aFailedAssertionFailsTheStartRequest() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let missing = daemon.path("missing"), ran = daemon.path("ran")
            try daemon.write("asserted.service", """
                [Unit]
                AssertPathExists=\(missing)
                [Service]
                ExecStart=/bin/touch \(ran)
                """)
            try daemon.start()
            try daemon.waitForLog(
                containing: "asserted.service was skipped because of a failed assertion check (AssertPathExists=\(missing)).")
            let start = try daemon.ctl("start", "asserted.service")
            #expect(start.exitCode == 1, "\(start)")
            #expect(start.standardError.contains("Assertion failed on job for asserted.service."), "\(start)")
            let status = try daemon.ctl("status", "asserted.service")
            #expect(status.lines.contains { $0.hasPrefix("     Assert: start assertion failed at ") }, "\(status)")
            #expect(status.lines.contains("             └─ AssertPathExists=\(missing) was not met"), "\(status)")
            #expect(access(ran, F_OK) != 0)
        }

        /// ExecCondition=: exit 1–254 skips the start (dead, Result=exec-condition, no
        /// restart); exit 0 goes on; 255 fails the unit (systemd.service(5)).
        @Test(.timeLimit(.minutes(1)))
        func execConditionSkipsOnOneTo254AndFailsOn255() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let flag = daemon.path("flag"), ran = daemon.path("ran")
            try daemon.write("checked.service", """
                [Service]
                ExecCondition=/bin/sh -c 'test -e \(flag) || exit 1'
                ExecStart=/bin/sh -c 'touch \(ran); exec sleep 300'
                Restart=always
                """)
            try daemon.write("broken.service", """
                [Service]
                ExecCondition=/bin/sh -c 'exit 255'
                ExecStart=/bin/touch \(ran)
                """)
            try daemon.start()
            try daemon.waitForLog(containing: "checked.service: Skipped due to 'exec-condition'.")
            try daemon.waitForProperty("Result", of: "checked.service", toBe: "exec-condition")
            #expect(try daemon.property("ActiveState", of: "checked.service") == "inactive")
            try daemon.waitForProperty("ActiveState", of: "broken.service", toBe: "failed")
            #expect(try daemon.property("Result", of: "broken.service") == "exit-code")
            #expect(access(ran, F_OK) != 0)
            #expect(daemon.logLines(containing: "checked.service: Restarting").isEmpty)

            try "".write(toFile: flag, atomically: true, encoding: .utf8)
            #expect(try daemon.ctl("start", "checked.service").exitCode == 0)
            try daemon.waitForProperty("ActiveState", of: "checked.service", toBe: "active")
            try waitUntil("the service ran") { access(ran, F_OK) == 0 }
            #expect(try daemon.property("Result", of: "checked.service") == "success")
        }

        /// A socket unit's own condition: skipped, it binds nothing, and its service
        /// does not start on its own either.
        @Test(.timeLimit(.minutes(1)))
        func aSocketWhoseConditionFailsDoesNotListen() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let ran = daemon.path("ran")
            try daemon.write("hello.socket", "[Unit]\nConditionEnvironment=SWATCH_TEST_NO_SUCH_VARIABLE\n" + Units.tcpSocket(port))
            try daemon.write("hello.service", "[Service]\nExecStart=/bin/touch \(ran)\n")
            try daemon.start()
            try daemon.waitForLog(containing:
                "hello.socket was skipped because of an unmet condition check (ConditionEnvironment=SWATCH_TEST_NO_SUCH_VARIABLE).")
            do {
                _ = try Client.get(.loopback4(port), timeout: .seconds(2))
                Issue.record("something listens on \(port)")
            } catch {
                #expect(error.isRefused, "\(error)")
            }
            #expect(access(ran, F_OK) != 0)
        }
    }
}
