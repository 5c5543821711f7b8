import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// A service's processes are tracked beyond its main pid: a double-forked
/// grandchild, reparented away from swatchd, still belongs to the service.
@Suite struct ProcessTrackerTests {
    /// Starts a background `sleep` from a subshell that exits at once (the
    /// double fork of a classic daemon, without setsid) and writes its pid to "$1".
    static let doubleFork = #"( sleep 1000 & echo $! > "$1" ) ; exit 0"#

    private func spawnDoubleFork(into directory: String, cgroupProcs: FileDescriptor?) throws -> (main: pid_t, orphan: pid_t) {
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", Self.doubleFork, "sh", directory + "/orphan"],
            cgroupProcs: cgroupProcs))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        let text = LinuxTestSupport.read(directory + "/orphan")
        let orphan = try #require(pid_t(text.split(separator: "\n").first ?? ""))
        return (pid, orphan)
    }

    /// A parent directory of its own per test, so suites running in parallel never share a cgroup.
    private func uniqueParent() -> String { "swatchd-test-\(getpid())-\(MonotonicClock.now())" }

    @Test(.enabled(if: ProcessTracker.defaultHierarchies.contains(where: ProcessTracker.isWritableCgroup2),
                   "needs a writable cgroup2 hierarchy"))
    func cgroupCatchesADoubleForkedGrandchild() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        guard case .cgroup(let parent) = tracker.mode else {
            Issue.record("expected cgroup mode, got \(tracker.mode)")
            return
        }
        // Never a v1 controller hierarchy.
        #expect(ProcessTracker.isWritableCgroup2(FileSystem.parent(of: parent)!))

        let procs = try #require(try tracker.prepare("hello.service"))
        let (main, orphan) = try spawnDoubleFork(into: directory, cgroupProcs: procs)
        try procs.close()
        defer { _ = try? Reaper.kill(orphan, signal: SIGKILL) }

        // The main process is gone; the orphan is no child of ours, yet it is the service's.
        #expect(!tracker.pids(of: "hello.service").contains(main))
        #expect(tracker.pids(of: "hello.service") == [orphan])
        #expect(LinuxTestSupport.read("/proc/\(orphan)/cgroup").contains("/hello.service"))
        #expect(!tracker.isEmpty("hello.service"))
        #expect(!tracker.remove("hello.service"))  // busy while a process lives

        #expect(tracker.kill("hello.service", signal: SIGKILL) == 1)
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("hello.service") })
        #expect(LinuxTestSupport.eventually { tracker.remove("hello.service") })
        #expect(LinuxTestSupport.status(parent + "/hello.service") == nil)
    }

    @Test(.enabled(if: ProcessTracker.defaultHierarchies.contains(where: ProcessTracker.isWritableCgroup2),
                   "needs a writable cgroup2 hierarchy"))
    func termReachesEveryProcessOfTheService() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let procs = try #require(try tracker.prepare("web.service"))
        // A main process that stays, with a child of its own.
        let main = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", "sleep 1000 & wait"], cgroupProcs: procs))
        try procs.close()
        #expect(LinuxTestSupport.eventually { tracker.pids(of: "web.service").count == 2 })
        #expect(tracker.pids(of: "web.service").contains(main))

        #expect(tracker.kill("web.service", signal: SIGTERM) == 2)
        #expect(LinuxTestSupport.waitForExit(main) == .signaled(SIGTERM, coreDumped: false))
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("web.service") })
    }

    @Test func sessionFallbackTracksProcessesThatKeepTheSession() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        // No hierarchy given: the fallback of containers without a writable cgroup2.
        let tracker = ProcessTracker(parentName: uniqueParent(), hierarchies: [], becomeSubreaper: false)
        #expect(tracker.mode == .session)
        #expect(try tracker.prepare("hello.service") == nil)

        let (main, orphan) = try spawnDoubleFork(into: directory, cgroupProcs: nil)
        defer { _ = try? Reaper.kill(orphan, signal: SIGKILL) }
        #expect(tracker.pids(of: "hello.service").isEmpty)  // not tracked yet
        tracker.track(main, in: "hello.service")
        #expect(tracker.pids(of: "hello.service") == [orphan])

        #expect(tracker.kill("hello.service", signal: SIGKILL) == 1)
        // The killed orphan may linger as a zombie of its new parent; zombies do not count.
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("hello.service") })
        #expect(tracker.remove("hello.service"))
    }

    @Test func v1ControllerHierarchiesAreNeverCandidates() {
        for path in ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/proc", "/tmp"] {
            #expect(!ProcessTracker.isWritableCgroup2(path))
        }
    }

    @Test func parsesStatLinesWhoseCommandHasSpacesAndParentheses() throws {
        let stat = try #require(ProcessTracker.parseStat("4242 (we (i) rd) S 1 4242 4240 0 -1 4194560 ..."))
        #expect(stat.pid == 4242)
        #expect(stat.state == "S")
        #expect(stat.parent == 1)
        #expect(stat.session == 4240)
        #expect(ProcessTracker.parseStat("garbage") == nil)
    }
}
