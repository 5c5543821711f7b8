import Testing
@testable import SwatchCore

@Suite struct DaemonCommandLineTests {
    @Test func servesWithRepeatedUnitDirsAndBothFlagSpellings() throws {
        let c = try DaemonCommand.parse(["--unit-dir", "a", "--unit-dir=b", "--runtime-dir", "/tmp/r",
                                         "--log-target=stderr", "--log-level", "debug"])
        var o = DaemonOptions()
        o.unitDirectories = ["a", "b"]
        o.runtimeDirectory = "/tmp/r"
        o.logTarget = "stderr"
        o.logLevel = "debug"
        #expect(c == .serve(o))
    }

    @Test func verifyTakesDirsAndFiles() throws {
        #expect(try DaemonCommand.parse(["verify", "--unit-dir", "conf", "x.service", "y.socket"])
                == .verify(unitDirectories: ["conf"], files: ["x.service", "y.socket"]))
    }

    @Test func runTakesTheCommandAfterDashDash() throws {
        guard case .run(let adHoc, _) = try DaemonCommand.parse(["run", "-l", "8080", "--fdname", "web", "--notify",
                                                                 "--watch", "bin/hello", "--", "hello", "--flag"]) else {
            Issue.record("not a run command")
            return
        }
        #expect(adHoc.listen == ["8080"])
        #expect(adHoc.fdNames == ["web"])
        #expect(adHoc.notify)
        #expect(adHoc.watch == ["bin/hello"])
        #expect(adHoc.command == ["hello", "--flag"])
    }

    @Test func rejectsWhatItDoesNotKnow() {
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--frobnicate"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--log-target", "syslog"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--unit-dir"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["run", "--", "x"]) }
    }
}
