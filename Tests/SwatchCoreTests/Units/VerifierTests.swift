import Testing
@testable import SwatchCore

/// `swatchd verify` through the library: FILE as given, exit codes, the seed's units.
@Suite struct VerifierTests {
    static let repository: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    static let refusal = "is not enforced by this build; refusing to run the unit with less isolation than it asks for."

    /// The seed's units load with nothing but the warning about their missing program, now that
    /// their restricting keys (DynamicUser=, PrivateDevices=, CapabilityBoundingSet=) are enforced
    /// (swatchd.service(5), "SANDBOXING").
    @Test(arguments: ["first", "single", "multi"])
    func seedUnitsLoadWithOnlyTheMissingProgramWarning(folder: String) {
        let directory = Self.repository + "/conf/seed/" + folder
        let report = Verifier.verify(unitDirectories: [directory], files: [], context: .current())
        #expect(report.units.diagnostics.filter { $0.severity == .error } == [])
        #expect(report.units.diagnostics.map(\.message) == [
            "Program of ExecStart= is not executable (No such file or directory), the unit will fail to start until it is: /opt/hello/bin/hello",
        ])
        #expect(report.exitCode == 0)
        #expect(report.lines.allSatisfy { $0.hasPrefix("conf/seed/\(folder)/") || $0.hasPrefix(directory + "/") })
    }

    @Test func namesFilesAsTheyWereGiven() {
        let directory = Self.repository + "/Tests/IntegrationTests/Fixtures/units/warning-unknown-key/"
        let report = Verifier.verify(unitDirectories: [directory], files: [], context: .current())
        #expect(report.lines == [directory + "hello.service:3: Unknown key 'ExecStrat' in section [Service], ignoring."])
        #expect(report.exitCode == 0)
        let file = Verifier.verify(unitDirectories: [], files: [directory + "hello.service"], context: .current())
        #expect(file.lines == report.lines)
    }

    @Test func failsOnAMissingDirectory() {
        let report = Verifier.verify(unitDirectories: ["/nonexistent/units"], files: [], context: .current())
        #expect(report.lines == ["swatchd: Failed to open unit directory /nonexistent/units: No such file or directory"])
        #expect(report.exitCode == 1)
    }

    @Test func refusesAnUnreadableFile() {
        let report = Verifier.verify(unitDirectories: [], files: ["/nonexistent/a.service"], context: .current())
        #expect(report.lines == ["/nonexistent/a.service:1: Failed to read unit file: No such file or directory; refusing the unit."])
        #expect(report.units.refused["a.service"] != nil)
        #expect(report.exitCode == 1)
    }

    /// A unit dir that holds a name already found in an earlier dir is shadowed (systemd's search path).
    @Test func takesAUnitFromTheFirstDirectory() {
        let fixtures = Self.repository + "/Tests/IntegrationTests/Fixtures/units/"
        let report = Verifier.verify(unitDirectories: [fixtures + "good-dropins", fixtures + "warning-unknown-key"],
                                     files: [], context: .current())
        #expect(report.lines == [])
        #expect(report.units.services.values.map(\.path.description) == [fixtures + "good-dropins/hello.service"])
        #expect(report.units.services.values.first?.restartSec == .milliseconds(500))
        #expect(report.units.services.values.first?.environment.map(\.0) == ["B"])
    }
}
