import Testing
@testable import SwatchCore

/// Every folder of Tests/IntegrationTests/Fixtures/units against its expected.txt:
/// the exact `FILE:LINE: message` lines, verify's exit status, and which units the
/// daemon loads or refuses (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").
@Suite struct UnitFixtureTests {
    static let root: String = {
        // …/Tests/SwatchCoreTests/Units/UnitFixtureTests.swift → …/Tests/IntegrationTests/Fixtures/units
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/IntegrationTests/Fixtures/units"
    }()

    static let folders: [String] = (UnitDirectory.list(root) ?? []).filter { UnitDirectory.kind(root + "/" + $0) == .directory }

    /// What expected.txt says.
    struct Expectation {
        var exit: Int32 = -1
        var loaded: [String] = []
        var refused: [String] = []
        var lines: [String] = []

        init(_ text: String) {
            for line in text.split(separator: "\n").map(String.init) where !line.hasPrefix("#") {
                if line.hasPrefix("exit ") { exit = Int32(line.dropFirst(5))! }
                else if line.hasPrefix("loaded:") { loaded = line.dropFirst(7).split(separator: " ").map(String.init) }
                else if line.hasPrefix("refused:") { refused = line.dropFirst(8).split(separator: " ").map(String.init) }
                else { lines.append(line) }
            }
        }
    }

    @Test func thereIsAFixtureForEveryProblem() {
        #expect(Self.folders.filter { $0.hasPrefix("error-") }.count >= 15)
        #expect(Self.folders.filter { $0.hasPrefix("warning-") }.count >= 5)
    }

    @Test(arguments: folders)
    func matchesExpected(folder: String) throws {
        let directory = Self.root + "/" + folder
        let bytes = try UnitDirectory.read(directory + "/expected.txt").get()
        let expected = Expectation(String(decoding: bytes, as: UTF8.self))
        let report = Verifier.verify(unitDirectories: [directory], files: [], context: .current())
        #expect(report.lines.map { $0.replacing(directory + "/", with: "") } == expected.lines)
        #expect(report.exitCode == expected.exit)
        let units = report.units
        let loaded = (units.sockets.keys.map(\.description) + units.services.keys.map(\.description)).sorted()
        #expect(loaded == expected.loaded.sorted())
        #expect(units.refused.keys.sorted() == expected.refused.sorted())
        // A refused unit is refused for errors only, and every error belongs to a refused unit.
        #expect(units.refused.values.allSatisfy { $0.allSatisfy { $0.severity == .error } })
        #expect(units.diagnostics.filter { $0.severity == .error }.allSatisfy { units.refused[$0.unit ?? ""] != nil })
    }
}
