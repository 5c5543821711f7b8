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
    }
}
