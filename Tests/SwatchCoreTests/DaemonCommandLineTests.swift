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

    @Test func exitWithTakesAServiceNameAsSwatchctlMangles() throws {
        guard case .serve(let o) = try DaemonCommand.parse(["--exit-with", "hello"]) else {
            Issue.record("not serve")
            return
        }
        #expect(o.exitWith == UnitName(prefix: "hello", type: .service))
        guard case .serve(let p) = try DaemonCommand.parse(["--exit-with=echo@1.service"]) else {
            Issue.record("not serve")
            return
        }
        #expect(p.exitWith == UnitName(prefix: "echo", instance: "1", type: .service))
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--exit-with", "hello.socket"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--exit-with", "echo@.service"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--exit-with", "a b"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--exit-with"]) }
    }

    @Test func defaultTimeoutStopIsATimeSpanWithZeroMeaningNone() throws {
        func span(_ text: String) throws -> TimeSpan? {
            guard case .serve(let o) = try DaemonCommand.parse(["--default-timeout-stop", text]) else { return nil }
            return o.defaultTimeoutStop
        }
        #expect(try span("10s") == .seconds(10))
        #expect(try span("1min 30s") == .seconds(90))
        #expect(try span("500ms") == .milliseconds(500))
        #expect(try span("0") == .infinity)
        #expect(try span("infinity") == .infinity)
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--default-timeout-stop", "soon"]) }
        guard case .serve(let o) = try DaemonCommand.parse([]) else { return }
        #expect(o.defaultTimeoutStop == nil && o.exitWith == nil)
    }

    @Test func rejectsWhatItDoesNotKnow() {
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--frobnicate"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--log-target", "syslog"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--unit-dir"]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["run", "--", "x"]) }
    }
}
