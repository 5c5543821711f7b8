import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

@Suite struct PrivateTemporaryDirectoriesTests {
    private func mode(_ path: String) -> mode_t? {
        (try? FileSystem.linkStatus(path)).flatMap { $0 }.map { $0.st_mode & 0o7777 }
    }

    /// As systemd lays them out: BASE/swatchd-private-UNIT-XXXXXX (0700) holding tmp (1777).
    @Test func makesAClosedOuterAndAnOpenInnerDirectoryBelowEachBase() throws {
        let base = ShortTemporaryDirectory()
        #expect(mkdir(base.path + "/t", 0o755) == 0)
        #expect(mkdir(base.path + "/v", 0o755) == 0)
        let made = try PrivateTemporaryDirectories.create(for: "hello.service", bases: (base.path + "/t", base.path + "/v"))
        for (path, parent) in [(made.tmp, base.path + "/t"), (made.varTmp, base.path + "/v")] {
            let outer = try #require(FileSystem.parent(of: path))
            #expect(outer.hasPrefix(parent + "/swatchd-private-hello.service-"))
            #expect(path == outer + "/tmp")
            #expect(mode(outer) == 0o700)
            #expect(mode(path) == 0o1777)
        }
        #expect(made.tmp != made.varTmp)
        #expect(mkdir(made.tmp + "/left-behind", 0o755) == 0)
        made.remove()
        #expect(ServiceDirectories.entries(of: base.path + "/t").isEmpty)
        #expect(ServiceDirectories.entries(of: base.path + "/v").isEmpty)
    }

    /// A missing /var/tmp fails the creation naming it, and takes back the /tmp half.
    @Test func aMissingBaseIsNamedAndNothingIsLeftBehind() throws {
        let base = ShortTemporaryDirectory()
        #expect(mkdir(base.path + "/t", 0o755) == 0)
        #expect(throws: PrivateTemporaryDirectories.CreationError(base: base.path + "/missing", errno: .noSuchFileOrDirectory)) {
            _ = try PrivateTemporaryDirectories.create(for: "hello.service", bases: (base.path + "/t", base.path + "/missing"))
        }
        #expect(ServiceDirectories.entries(of: base.path + "/t").isEmpty)
    }
}
