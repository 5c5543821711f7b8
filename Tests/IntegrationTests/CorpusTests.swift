// The unit files this machine already has: `swatchd verify` over the
// systemd package's own services and sockets (/lib/systemd/system), each
// socket with its service. A unit that loaded when Fixtures/corpus-loads.txt
// was written must still load; the count is printed for README's "unit files
// you already have".
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct CorpusTests {
        static let directory = "/lib/systemd/system"

        /// The non-template services and sockets of the directory.
        private func corpus() -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory)) ?? []
            return names.filter { name in
                (name.hasSuffix(".service") || name.hasSuffix(".socket")) && !name.contains("@.")
            }.sorted()
        }

        /// A unit's file; a socket's comes with its service's, as swatchd loads them from a unit
        /// directory: Service= or the service of the same name, when the directory has it.
        private func files(of name: String) -> [String] {
            let path = Self.directory + "/" + name
            guard name.hasSuffix(".socket") else { return [path] }
            let named = (readText(path) ?? "").split(separator: "\n").last { $0.hasPrefix("Service=") }
            let service = named.map { String($0.dropFirst("Service=".count)) }
                ?? String(name.dropLast(".socket".count)) + ".service"
            let servicePath = Self.directory + "/" + service
            return FileManager.default.fileExists(atPath: servicePath) ? [path, servicePath] : [path]
        }

        @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.fileExists(atPath: "/lib/systemd/system")))
        func theUnitsThatLoadedStillLoad() throws {
            let swatchd = try Harness.binary("swatchd")
            var loads: [String] = []
            for name in corpus() {
                let output = try Command.run([swatchd, "verify"] + files(of: name), timeout: .seconds(30))
                if case .exited(0) = output.status { loads.append(name) }
            }
            let total = corpus().count
            print("swatchd verify: \(loads.count) of \(total) units of \(Self.directory) load")
            let fixture = Harness.repositoryRoot + "/Tests/IntegrationTests/Fixtures/corpus-loads.txt"
            let expected = (readText(fixture) ?? "").split(separator: "\n").map(String.init)
            // Only those this machine has: another systemd version ships other units.
            let present = Set(corpus())
            let lost = expected.filter { present.contains($0) && !loads.contains($0) }
            #expect(lost == [], "units that loaded before and no longer load")
        }
    }
}
