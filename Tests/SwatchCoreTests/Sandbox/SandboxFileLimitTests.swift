import Glibc
import Logging
import Testing
@testable import SwatchCore

/// The file limit swatchd was started with, given back to a service that sets none
/// (Linux/FileLimit.swift): the first step of its plan, before anything of the unit's.
@Suite struct SandboxFileLimitTests {
    private let command = ExecCommand(path: "/bin/true", arguments: ["/bin/true"])
    private let name = UnitName(prefix: "web", type: .service)

    private func steps(inherited: LimitValue?, _ configure: (inout ServiceUnit) -> Void = { _ in }) throws -> [SandboxStep] {
        var unit = ServiceUnit(name: name, path: "web.service")
        configure(&unit)
        let runtime = ShortTemporaryDirectory()  // where a sandbox's staging directory goes
        let preparation = SandboxPreparation(runtimeDirectory: runtime.path, environment: [:], home: "/nonexistent",
                                             logger: Logger(label: "swatchd") { _ in SwiftLogNoOpLogHandler() },
                                             unprivilegedIDs: nil, inheritedFileLimit: inherited)
        return try preparation.steps(for: unit, name: name, command: command, invocationID: String(repeating: "0", count: 32),
                                     notifySocketPath: nil)
    }

    private func fileLimits(_ steps: [SandboxStep]) -> [SandboxOperation] {
        steps.map(\.operation).filter {
            if case .setLimit(let resource, _, _) = $0 { resource == Int32(RLIMIT_NOFILE.rawValue) } else { false }
        }
    }

    @Test func aServiceWithoutLimitNOFILEGetsTheInheritedLimitFirst() throws {
        let inherited = LimitValue(soft: 1024, hard: 4096)
        let bare = try steps(inherited: inherited)
        #expect(bare.first?.operation == .setLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 1024, hard: 4096))
        #expect(fileLimits(bare).count == 1)
        // With a sandbox of its own too, still first (SandboxStep.Kind.executionOrder: limits lead).
        let sandboxed = try steps(inherited: inherited) { $0.sandbox.nice = 5 }
        #expect(sandboxed.first?.operation == .setLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 1024, hard: 4096))
        #expect(sandboxed.contains { $0.operation == .setNice(5) })
    }

    @Test func limitNOFILEOfTheUnitIsTheOnlyOne() throws {
        let own = try steps(inherited: LimitValue(soft: 1024, hard: 4096)) {
            $0.sandbox.limits[.nofile] = LimitValue(soft: 100, hard: 200)
        }
        #expect(fileLimits(own) == [.setLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 100, hard: 200)])
    }

    @Test func nothingIsAddedWhenSwatchdRaisedNothing() throws {
        #expect(fileLimits(try steps(inherited: nil)).isEmpty)
    }

    @Test func socketsLeaveSixtyFourDescriptorsOrAQuarterBelowTheLimit() {
        #expect(FileLimit.ceiling(below: 1024) == 960)
        #expect(FileLimit.ceiling(below: 524_288) == 524_224)
        #expect(FileLimit.ceiling(below: 96) == 72)
        #expect(FileLimit.ceiling(below: 0) == 0)
    }
}
