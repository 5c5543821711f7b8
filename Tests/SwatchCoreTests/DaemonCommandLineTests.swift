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

    /// An empty directory would silently be the working directory (relative paths are taken from it).
    @Test func anEmptyDirectoryIsAUsageError() {
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--runtime-dir", ""]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["--unit-dir="]) }
        #expect(throws: UsageError.self) { try DaemonCommand.parse(["run", "--runtime-dir", "", "-l", "8080", "--", "/bin/true"]) }
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

    @Test func helpOfEachCommandIsItsOwn() throws {
        #expect(try DaemonCommand.parse(["--help"]) == .help(DaemonCommand.usage))
        #expect(try DaemonCommand.parse(["verify", "--help"]) == .help(DaemonCommand.verifyUsage))
        #expect(try DaemonCommand.parse(["run", "--help"]) == .help(DaemonCommand.runUsage))
        #expect(try DaemonCommand.parse(["run", "-l", "80", "-h", "--", "x"]) == .help(DaemonCommand.runUsage))
    }

    @Test func runTakesEveryOption() throws {
        guard case .run(let adHoc, let options) = try DaemonCommand.parse([
            "run", "-l", "8080", "--listen=[::1]:9", "--fdname", "a:b", "-d", "--inetd", "--watchdog", "5s",
            "--restart", "always", "-E", "K=V", "--env=L=W", "--cwd", "src", "--unit", "dev", "-p", "User=nobody",
            "--property=Backlog=4", "--runtime-dir", "/tmp/r", "prog", "--flag",
        ]) else {
            Issue.record("not a run command")
            return
        }
        #expect(adHoc.listen == ["8080", "[::1]:9"])
        #expect(adHoc.fdNames == ["a", "b"])
        #expect(adHoc.datagram && adHoc.inetd && adHoc.accept)
        #expect(adHoc.watchdog == "5s" && adHoc.restart == "always")
        #expect(adHoc.environment == ["K=V", "L=W"])
        #expect(adHoc.workingDirectory == "src" && adHoc.unitName == "dev")
        #expect(adHoc.properties == ["User=nobody", "Backlog=4"])
        #expect(adHoc.command == ["prog", "--flag"])
        #expect(options.runtimeDirectory == "/tmp/r")
    }

    @Test func runRefusesWhatCannotGoIntoAUnitFile() {
        for arguments in [
            ["run", "-l", "80", "-p", "NoSuchKey=1", "--", "x"],
            ["run", "-l", "80", "-p", "Environment=A=1\nExecStartPre=/bin/evil", "--", "x"],
            ["run", "-l", "80", "-p", "Description=ends in \\", "--", "x"],
            ["run", "-l", "80", "--fdname", "a b", "--", "x"],
            ["run", "-l", "80", "--fdname", "a", "--fdname", "b", "--", "x"],
            ["run", "-l", "80", "--unit", "a/b", "--", "x"],
            ["run", "-l", "80", "-E", "=value", "--", "x"],
            ["run", "-l", "80", "--unit-dir", "d", "--", "x"],
            ["run", "-l", "80", "--bogus", "--", "x"],
        ] {
            #expect(throws: UsageError.self, "\(arguments)") { try DaemonCommand.parse(arguments) }
        }
    }

    @Test func propertiesGoToTheUnitThatKnowsThem() {
        #expect(AdHocKeyPlacement.of("Environment") == .service(section: "Service"))
        #expect(AdHocKeyPlacement.of("Backlog") == .socket)
        #expect(AdHocKeyPlacement.of("Description") == .service(section: "Unit"))
        #expect(AdHocKeyPlacement.of("Frobnicate") == nil)
    }
}
