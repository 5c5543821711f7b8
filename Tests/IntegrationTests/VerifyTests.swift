// `swatchd verify [--unit-dir DIR]... [FILE...]` (swatchd(8), swatchd.service(5)): parse and
// validate, run nothing; `FILE:LINE: message` on stderr with FILE as given;
// exit 0 exactly when the daemon would load every unit.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct VerifyTests {
        /// Runs `swatchd verify ARGS...`.
        private func verify(_ arguments: [String]) throws -> Command.Output {
            // The built products on PATH, as after `make install`: the
            // examples' plain `ExecStart=swatchd-hello` is found there.
            let path = (Harness.binaryDirectory.map { $0 + ":" } ?? "") + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            return try Command.run([try Harness.binary("swatchd"), "verify"] + arguments,
                                   environment: ["PATH": path], timeout: .seconds(20))
        }

        @Test(.timeLimit(.minutes(1)), arguments: ["hello", "multi", "echo"])
        func acceptsTheExampleUnits(_ example: String) throws {
            let directory = Harness.repositoryRoot + "/conf/examples/" + example
            let result = try verify(["--unit-dir", directory])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(!result.standardError.contains("rror"), "\(result.standardError)")
        }

        @Test(.timeLimit(.minutes(1)))
        func acceptsFilesGivenByPath() throws {
            let example = Harness.repositoryRoot + "/conf/examples/hello/"
            let result = try verify([example + "hello.socket", example + "hello.service"])
            #expect(result.status == .exited(0), "\(result.standardError)")
        }

        /// Every broken line is reported as FILE:LINE: with FILE as given —
        /// all of them, not just the first (docs/HACKING.md "Conventions").
        @Test(.timeLimit(.minutes(1)))
        func reportsEveryBrokenLineWithFileAndLineAndExitsOne() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let broken = try BrokenUnits.write(into: directory.path)

            let byPath = try verify(broken.files.map(\.path))
            #expect(byPath.status == .exited(1), "\(byPath.standardError)")
            for expected in broken.files {
                let prefix = "\(expected.path):\(expected.line):"
                let lines = byPath.standardError.split(separator: "\n").filter { $0.hasPrefix(prefix) }
                #expect(!lines.isEmpty, "no \(prefix) in:\n\(byPath.standardError)")
                if let fragment = expected.mentions {
                    #expect(lines.contains { $0.contains(fragment) }, "\(prefix) should mention \(fragment):\n\(byPath.standardError)")
                }
            }

            // Through --unit-dir, FILE is DIR/NAME.
            let byDirectory = try verify(["--unit-dir", directory.path])
            #expect(byDirectory.status == .exited(1), "\(byDirectory.standardError)")
            for expected in broken.files {
                #expect(byDirectory.standardError.contains("\(expected.path):\(expected.line):"),
                        "\(expected.path):\(expected.line): missing in:\n\(byDirectory.standardError)")
            }
            // The good unit among them draws no complaint.
            #expect(!byDirectory.standardError.contains("good.service:"), "\(byDirectory.standardError)")
        }

        /// The fixtures of swatchd.service(5) "WHAT HAPPENS TO A PROBLEM" (Fixtures/units/*/expected.txt):
        /// verify's exit status and every diagnostic, in order, each as
        /// `FOLDER/FILE:LINE: message` — FILE as found through --unit-dir.
        @Test(.timeLimit(.minutes(1)), arguments: UnitFixture.all)
        func reportsWhatEachFixtureExpects(_ fixture: UnitFixture) throws {
            let result = try verify(["--unit-dir", fixture.directory])
            #expect(result.status == .exited(fixture.exitStatus), "\(fixture.name): \(result.standardError)")
            let printed = result.standardError.split(separator: "\n").map(String.init)
            var searchFrom = 0
            for diagnostic in fixture.diagnostics {
                let line = fixture.directory + "/" + diagnostic
                guard let index = printed[searchFrom...].firstIndex(of: line) else {
                    Issue.record("\(fixture.name): missing or out of order: \(line)\nstderr:\n\(result.standardError)")
                    continue
                }
                searchFrom = index + 1
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func warnsAboutAnUnknownKeyAndExitsZero() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.path + "/typo.service"
            try "[Service]\nExecStart=/bin/true\nExecStrat=/bin/false\nX-Custom=fine\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            let result = try verify([path])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(result.standardError.contains("\(path):3:"), "\(result.standardError)")
            #expect(result.standardError.contains("ExecStrat"))
            // X- keys are for the user: no warning about line 4.
            #expect(!result.standardError.contains("\(path):4:"), "\(result.standardError)")
        }

        /// A missing program may be installed later: a warning, exit 0 (swatchd.service(5)).
        @Test(.timeLimit(.minutes(1)))
        func warnsAboutAMissingProgramAndExitsZero() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.path + "/later.service"
            try "[Service]\nExecStart=/opt/not-installed-yet/bin/hello start\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            let result = try verify([path])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(result.standardError.contains("/opt/not-installed-yet/bin/hello"), "\(result.standardError)")
        }

        /// Reading a unit file leaves its access time as it was (O_NOATIME), though relatime
        /// would update it for a file read the first time since it changed. And a reader that
        /// does not own the files, to whom O_NOATIME is refused, still reads them.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "setpriv to nobody needs root"))
        func readsUnitFilesWithoutTouchingTheirAccessTime() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            chmod(directory.path, 0o755)
            let socket = directory.path + "/old.socket", service = directory.path + "/old.service"
            try "[Socket]\nListenStream=127.0.0.1:9\n".write(toFile: socket, atomically: true, encoding: .utf8)
            try "[Service]\nExecStart=/bin/true\n".write(toFile: service, atomically: true, encoding: .utf8)
            // An access time before the modification time: the next plain read would update it.
            var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
            func accessTime(_ path: String) -> Int {
                var info = stat()
                return stat(path, &info) == 0 ? info.st_atim.tv_sec : -1
            }
            for path in [socket, service] {
                #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
                chmod(path, 0o644)
            }
            let result = try verify(["--unit-dir", directory.path])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(accessTime(socket) == 1_000_000_000 && accessTime(service) == 1_000_000_000)
            // Its control case: a plain read does update it on this file system.
            _ = try Command.run(["/bin/cat", service])
            #expect(accessTime(service) != 1_000_000_000, "relatime did not update the access time: the check above proves nothing")
            // As nobody, who does not own the files: EPERM for O_NOATIME, and read without it.
            let nobody = try Command.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                          try Harness.binary("swatchd"), "verify", "--unit-dir", directory.path])
            #expect(nobody.status == .exited(0) && !nobody.standardError.contains("rror"), "\(nobody.standardError)")
        }

        @Test(.timeLimit(.minutes(1)))
        func runsAndBindsNothing() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let marker = directory.path + "/ran"
            try "[Service]\nExecStart=/bin/touch \(marker)\n"
                .write(toFile: directory.path + "/touch.service", atomically: true, encoding: .utf8)
            try "[Socket]\nListenStream=\(port)\n"
                .write(toFile: directory.path + "/port.socket", atomically: true, encoding: .utf8)
            try "[Service]\nExecStart=/bin/touch \(marker)\n"
                .write(toFile: directory.path + "/port.service", atomically: true, encoding: .utf8)
            let result = try verify(["--unit-dir", directory.path])
            #expect(result.status == .exited(0), "\(result.standardError)")
            #expect(access(marker, F_OK) != 0, "verify ran a service")
            // Still free: verify did not bind it (and is gone anyway).
            let fd = try Ports.occupy(port)
            close(fd)
        }

        /// The seed's units ask for DynamicUser=, PrivateDevices= and (first/)
        /// CapabilityBoundingSet=, which this build enforces (swatchd.service(5), "SANDBOXING"): they
        /// load, and the only warning is the seed's own missing program.
        @Test(.timeLimit(.minutes(1)), arguments: ["first", "single", "multi"])
        func acceptsTheSeedsSandboxing(_ name: String) throws {
            let units = ["first": SeedUnits.first, "single": SeedUnits.single, "multi": SeedUnits.multi][name]!
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            for (file, text) in units {
                try (text + "\n").write(toFile: directory.path + "/" + file, atomically: true, encoding: .utf8)
            }
            let result = try verify(["--unit-dir", directory.path])
            #expect(result.status == .exited(0), "seed/\(name): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1 && lines.allSatisfy { $0.hasSuffix("/opt/hello/bin/hello") },
                    "seed/\(name): \(result.standardError)")
        }

        /// Without its sandboxing lines, the seed's two-socket case loads:
        /// BindTo= (the old spelling), After=, Requires=sockets.target and the
        /// missing /opt/hello/bin/hello are no errors.
        @Test(.timeLimit(.minutes(1)))
        func acceptsTheSeedsTwoSocketCaseWithoutSandboxing() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let units = SeedUnits.multi.mapValues { text in
                text.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix("DynamicUser=") && !$0.hasPrefix("PrivateDevices=") }
                    .joined(separator: "\n") + "\n"
            }
            for (file, text) in units {
                try text.write(toFile: directory.path + "/" + file, atomically: true, encoding: .utf8)
            }
            let result = try verify(["--unit-dir", directory.path])
            #expect(result.status == .exited(0), "\(result.standardError)")
        }

        /// The copy of the seed in the repository, when there is one.
        @Test(.timeLimit(.minutes(1)),
              .enabled(if: FileManager.default.fileExists(atPath: Harness.repositoryRoot + "/conf/seed/multi")))
        func acceptsTheRepositorysSeedCopy() throws {
            for name in ["first", "single", "multi"] {
                let result = try verify(["--unit-dir", Harness.repositoryRoot + "/conf/seed/" + name])
                #expect(result.status == .exited(0), "conf/seed/\(name): \(result.standardError)")
                #expect(!result.standardError.contains("DynamicUser"), "conf/seed/\(name): \(result.standardError)")
            }
        }
    }
}

/// A folder of broken units, each with the line verify must name.
enum BrokenUnits {
    struct Expected {
        var path: String
        var line: Int
        /// A word the message must contain, when one is certain.
        var mentions: String?
    }

    /// Writes the units into `directory`; returns what verify must report.
    static func write(into directory: String) throws -> (files: [Expected], good: String) {
        let units: [(name: String, text: String, line: Int, mentions: String?)] = [
            ("bad-bool.socket", "[Socket]\nListenStream=127.0.0.1:9\nReusePort=yess\n", 3, "yess"),
            ("bad-port.socket", "[Socket]\nListenStream=99999\n", 2, "99999"),
            ("bad-restart.service", "[Service]\nExecStart=/bin/true\nRestart=sometimes\n", 3, "sometimes"),
            ("bad-span.service", "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\nRestartSec=5 parsecs\n", 6, nil),
            ("bad-signal.service", "[Service]\nExecStart=/bin/true\nKillSignal=SIGFROB\n", 3, "SIGFROB"),
            ("bad-quote.service", "[Service]\n# a comment\nExecStart=/bin/echo \"unbalanced\n", 3, nil),
            ("relative.service", "[Service]\nExecStart=bin/hello\n", 2, nil),
            ("restricted.service", "[Service]\nExecStart=/bin/true\nRootImage=/srv/restricted.raw\n", 3, "RootImage"),
            ("bad-private-users.service", "[Service]\nExecStart=/bin/true\nPrivateUsers=self\n", 3, "PrivateUsers="),
            ("continued.service", "[Service]\nExecStart=/bin/true \\\n  --flag\nType=sometimes\n", 4, "sometimes"),
        ]
        var expected: [Expected] = []
        for unit in units {
            let path = directory + "/" + unit.name
            try unit.text.write(toFile: path, atomically: true, encoding: .utf8)
            expected.append(Expected(path: path, line: unit.line, mentions: unit.mentions))
        }
        let good = directory + "/good.service"
        try "[Service]\nExecStart=/bin/true\n".write(toFile: good, atomically: true, encoding: .utf8)
        return (expected, good)
    }
}

/// One folder of Tests/IntegrationTests/Fixtures/units and its expected.txt
/// (format in that folder's README.md).
struct UnitFixture: CustomTestStringConvertible, Sendable {
    var name: String
    var directory: String
    var exitStatus: Int32
    /// `FILE:LINE: message` lines, FILE relative to the folder, in order.
    var diagnostics: [String]

    var testDescription: String { name }

    /// Every fixture folder with an expected.txt, sorted by name.
    static let all: [UnitFixture] = {
        let root = Harness.repositoryRoot + "/Tests/IntegrationTests/Fixtures/units"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().compactMap { name in
            guard let text = readText(root + "/" + name + "/expected.txt") else { return nil }
            var fixture = UnitFixture(name: name, directory: root + "/" + name, exitStatus: -1, diagnostics: [])
            for line in text.split(separator: "\n").map(String.init) {
                if line.hasPrefix("#") || line.hasPrefix("loaded:") || line.hasPrefix("refused:") { continue }
                if line.hasPrefix("exit "), let status = Int32(line.dropFirst(5)) {
                    fixture.exitStatus = status
                } else if !line.isEmpty {
                    fixture.diagnostics.append(line)
                }
            }
            return fixture
        }
    }()
}
