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

    /// The directories of a swatchd that was killed (nobody holds their lock)
    /// go at the next start; a live unit's stay.
    @Test func onlyDirectoriesNobodyHoldsAreRemovedAsStale() throws {
        let base = ShortTemporaryDirectory()
        #expect(mkdir(base.path + "/t", 0o755) == 0 && mkdir(base.path + "/v", 0o755) == 0)
        let bases = (base.path + "/t", base.path + "/v")
        let live = try PrivateTemporaryDirectories.create(for: "live.service", bases: bases)
        defer { live.remove() }
        var killed = try PrivateTemporaryDirectories.create(for: "killed.service", bases: bases)
        // What a SIGKILL of swatchd does: the locks go, the directories stay.
        for lock in killed.locks { try lock.close() }
        killed.locks = []

        // A unit whose processes were left running keeps its directories.
        var leftOver = try PrivateTemporaryDirectories.create(for: "left.service", bases: bases)
        for lock in leftOver.locks { try lock.close() }
        leftOver.locks = []
        defer { leftOver.remove() }

        let removed = PrivateTemporaryDirectories.removeStale(bases: [bases.0, bases.1], keeping: ["left.service"])
        #expect(Set(removed) == [FileSystem.parent(of: killed.tmp)!, FileSystem.parent(of: killed.varTmp)!])
        #expect(access(leftOver.tmp, F_OK) == 0)
        #expect(access(killed.tmp, F_OK) != 0 && access(killed.varTmp, F_OK) != 0)
        #expect(access(live.tmp, F_OK) == 0 && access(live.varTmp, F_OK) == 0)
    }

    /// The sweep goes a bounded number of entries at a time, so that swatchd's loop looks
    /// for events between its steps, and still finds the stale directory among the others.
    @Test func theSweepGoesInStepsOfABoundedNumberOfEntries() throws {
        let base = ShortTemporaryDirectory()
        for index in 0..<40 { #expect(mkdir(base.path + "/other-\(index)", 0o755) == 0) }
        var killed = try PrivateTemporaryDirectories.create(for: "killed.service", bases: (base.path, base.path))
        for lock in killed.locks { try lock.close() }
        killed.locks = []

        let sweep = PrivateTemporaryDirectories.StaleSweep(bases: [base.path])
        var removed: [String] = []
        var steps = 0
        while sweep.step(batch: 10, removed: { removed.append($0) }) { steps += 1 }
        // 40 others, two stale directories, `.` and `..`: at least four full steps before the end.
        #expect(steps >= 4)
        #expect(Set(removed) == [FileSystem.parent(of: killed.tmp)!, FileSystem.parent(of: killed.varTmp)!])
        #expect(!sweep.step(removed: { removed.append($0) }))
    }
}
