import CSwatch
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

    private func spawnDoubleFork(into directory: String, cgroup: FileDescriptor?) throws -> (main: pid_t, orphan: pid_t) {
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", Self.doubleFork, "sh", directory + "/orphan"],
            cgroup: cgroup))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        let text = LinuxTestSupport.read(directory + "/orphan")
        let orphan = try #require(pid_t(text.split(separator: "\n").first ?? ""))
        return (pid, orphan)
    }

    /// A parent directory of its own per test, so suites running in parallel never share a cgroup.
    private func uniqueParent() -> String { "swatchd-test-\(getpid())-\(MonotonicClock.now())" }

    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
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

        let group = try #require(try tracker.prepare("hello.service"))
        let (main, orphan) = try spawnDoubleFork(into: directory, cgroup: group)
        try group.close()
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

    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func termReachesEveryProcessOfTheService() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("web.service"))
        // A main process that stays, with a child of its own.
        let main = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", "sleep 1000 & wait"], cgroup: group))
        try group.close()
        #expect(LinuxTestSupport.eventually { tracker.pids(of: "web.service").count == 2 })
        #expect(tracker.pids(of: "web.service").contains(main))

        #expect(tracker.kill("web.service", signal: SIGTERM) == 2)
        #expect(LinuxTestSupport.waitForExit(main) == .signaled(SIGTERM, coreDumped: false))
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("web.service") })
    }

    static let hasWritableCgroup2 = ProcessTracker.defaultHierarchies.contains(where: ProcessTracker.isWritableCgroup2)

    /// Whether this build and kernel create children directly in their cgroup:
    /// clone3 with CLONE_INTO_CGROUP (Linux 5.7), which the shim issues on x86_64.
    static var clonesIntoCgroup: Bool {
        #if arch(x86_64)
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return numbers.count == 2 && (numbers[0], numbers[1]) >= (5, 7)
        #else
        return false
        #endif
    }

    /// The `0::/…` line /proc/<pid>/cgroup shows for a process in `directory`
    /// of the cgroup2 hierarchy mounted at `hierarchy`.
    private func cgroupLine(of directory: String, in hierarchy: String) -> String {
        "0::" + directory.dropFirst(hierarchy.count)
    }

    /// An inotify fd watching `path` for writes (IN_MODIFY): a write to
    /// cgroup.procs — a migration — shows as one event; nothing else writes there.
    private func watchWrites(to path: String) throws -> FileDescriptor {
        let fd = FileDescriptor(rawValue: try retryingOnInterrupt { inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK)) })
        _ = try retryingOnInterrupt { inotify_add_watch(fd.rawValue, path, UInt32(IN_MODIFY)) }
        return fd
    }

    /// Whether the watch has an event queued (inotify queues it during the
    /// write itself, so once the spawn has returned there is nothing to wait for).
    private func hasEvents(_ watch: FileDescriptor) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1024)
        return buffer.withUnsafeMutableBytes { Glibc.read(watch.rawValue, $0.baseAddress, $0.count) } > 0
    }

    /// The child is created in the service's cgroup (clone3 CLONE_INTO_CGROUP):
    /// what it reads of itself puts it there, and nothing was ever written to
    /// the group's cgroup.procs — it was never migrated, so it was never
    /// anywhere else, not even before its first instruction.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func childIsBornInTheServiceCgroup() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("born.service"))
        defer { try? group.close() }
        let service = try #require(tracker.cgroupDirectory(of: "born.service"))
        let writes = try watchWrites(to: service + "/cgroup.procs")
        defer { try? writes.close() }

        let output = LinuxTestSupport.open(directory + "/cgroup", O_WRONLY | O_CREAT)
        defer { try? output.close() }
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/cat", arguments: ["cat", "/proc/self/cgroup"], stdout: output, cgroup: group))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))

        let hierarchy = try #require(FileSystem.parent(of: FileSystem.parent(of: service)!))
        let lines = LinuxTestSupport.read(directory + "/cgroup").split(separator: "\n").map(String.init)
        #expect(lines.contains(cgroupLine(of: service, in: hierarchy)))
        if Self.clonesIntoCgroup {
            #expect(!hasEvents(writes), "the child was migrated: cgroup.procs was written")
        }
    }

    /// Where clone3 cannot create the child in its cgroup (a kernel before 5.7,
    /// a seccomp profile that answers ENOSYS), the child joins it by writing
    /// to cgroup.procs before it execs: same result, one migration. Forked,
    /// because the switch is global.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func childJoinsTheServiceCgroupItselfWithoutClone3() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("joins.service"))
        defer { try? group.close() }
        let service = try #require(tracker.cgroupDirectory(of: "joins.service"))
        let writes = try watchWrites(to: service + "/cgroup.procs")
        defer { try? writes.close() }
        let output = LinuxTestSupport.open(directory + "/cgroup", O_WRONLY | O_CREAT)
        defer { try? output.close() }

        let status = LinuxTestSupport.inForkedChild {
            swatch_spawn_test_set_without_clone3(1)
            guard let pid = try? Spawner.spawn(SpawnRequest(
                executable: "/bin/cat", arguments: ["cat", "/proc/self/cgroup"], stdout: output, cgroup: group))
            else { return 2 }
            return (try? Reaper.wait(for: pid)) == .exited(0) ? 0 : 3
        }
        #expect(status == .exited(0))

        let hierarchy = try #require(FileSystem.parent(of: FileSystem.parent(of: service)!))
        let lines = LinuxTestSupport.read(directory + "/cgroup").split(separator: "\n").map(String.init)
        #expect(lines.contains(cgroupLine(of: service, in: hierarchy)))
        #expect(hasEvents(writes), "the child joined without writing cgroup.procs?")
    }

    /// A cgroup that is gone by the time of the spawn (removed after
    /// `prepare`) fails the start at step `cgroup`: the program never runs,
    /// and certainly not in swatchd's own cgroup.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aRemovedCgroupFailsTheStartAtStepCgroup() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("gone.service"))
        defer { try? group.close() }
        #expect(tracker.remove("gone.service"))

        let marker = directory + "/ran"
        do {
            let pid = try Spawner.spawn(SpawnRequest(
                executable: "/bin/sh", arguments: ["sh", "-c", "echo > \"$1\"", "sh", marker], cgroup: group))
            Issue.record("spawned \(pid) into a removed cgroup")
            _ = LinuxTestSupport.waitForExit(pid)
        } catch {
            #expect(error.step == "cgroup")
        }
        #expect(LinuxTestSupport.status(marker) == nil)
    }

    /// A stop that ends with `cgroup.kill` must not doom the next start: Linux
    /// 6.14 to 7.2 (and stable kernels with the same change, 6.18 here) SIGKILL
    /// a child that clone3 creates in a cgroup once killed ("cgroup: fix
    /// spurious SIGKILL of CLONE_INTO_CGROUP children", 7.3). The restart of a
    /// service after its watchdog or stop timeout did exactly that.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aCgroupEmptiedWithCgroupKillHostsTheNextStart() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let first = try #require(try tracker.prepare("again.service"))
        let sleeper = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: first))
        try first.close()
        #expect(tracker.kill("again.service", signal: SIGKILL) == 1)
        #expect(LinuxTestSupport.waitForExit(sleeper) == .signaled(SIGKILL, coreDumped: false))
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("again.service") })

        let second = try #require(try tracker.prepare("again.service"))
        defer { try? second.close() }
        let service = try #require(tracker.cgroupDirectory(of: "again.service"))
        let writes = try watchWrites(to: service + "/cgroup.procs")
        defer { try? writes.close() }
        let output = LinuxTestSupport.open(directory + "/cgroup", O_WRONLY | O_CREAT)
        defer { try? output.close() }
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/cat", arguments: ["cat", "/proc/self/cgroup"], stdout: output, cgroup: second))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        let hierarchy = try #require(FileSystem.parent(of: FileSystem.parent(of: service)!))
        #expect(LinuxTestSupport.read(directory + "/cgroup").split(separator: "\n").map(String.init)
                .contains(cgroupLine(of: service, in: hierarchy)))
        // A fresh group: the child was born in it, not killed and started again by joining.
        if Self.clonesIntoCgroup {
            #expect(!hasEvents(writes), "the child was migrated: cgroup.procs was written")
        }
    }

    /// Accept=yes instances (a unit per connection) take their group from a pool of
    /// emptied slots: each lives in a group of its own, the slot names its unit in an
    /// attribute, and once empty the slot hosts the next instance — no mkdir or rmdir.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func anInstanceGetsAPooledSlotThatTheNextInstanceReuses() throws {
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let first = try #require(try tracker.prepare("echo@1.service", pooled: true))
        let slot = try #require(tracker.cgroupDirectory(of: "echo@1.service"))
        #expect(UnitDirectory.baseName(slot).hasPrefix(ProcessTracker.slotPrefix))
        #expect(ProcessTracker.serviceName(ofGroup: slot) == "echo@1.service")
        #expect(tracker.serviceGroups().map(\.service).contains("echo@1.service"))
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: first))
        try first.close()
        #expect(tracker.pids(of: "echo@1.service") == [pid])
        // A second instance while the first lives: a slot of its own.
        let second = try #require(try tracker.prepare("echo@2.service", pooled: true))
        try second.close()
        let otherSlot = try #require(tracker.cgroupDirectory(of: "echo@2.service"))
        #expect(otherSlot != slot)
        #expect(tracker.remove("echo@2.service"))
        #expect(!tracker.remove("echo@1.service"))  // busy while a process lives

        #expect(tracker.kill("echo@1.service", signal: SIGTERM) == 1)
        #expect(LinuxTestSupport.waitForExit(pid) == .signaled(SIGTERM, coreDumped: false))
        #expect(tracker.isEmpty("echo@1.service"))
        #expect(tracker.remove("echo@1.service"))
        #expect(LinuxTestSupport.status(slot) != nil, "the emptied slot was removed, not pooled")
        #expect(!tracker.serviceGroups().map(\.service).contains("echo@1.service"))

        // The next instance is born in a pooled slot, now named for it.
        let third = try #require(try tracker.prepare("echo@3.service", pooled: true))
        defer { try? third.close() }
        let reused = try #require(tracker.cgroupDirectory(of: "echo@3.service"))
        #expect([slot, otherSlot].contains(reused))
        #expect(ProcessTracker.serviceName(ofGroup: reused) == "echo@3.service")
        let cat = try Spawner.spawn(SpawnRequest(executable: "/bin/true", cgroup: third))
        #expect(LinuxTestSupport.waitForExit(cat) == .exited(0))
        #expect(tracker.isEmpty("echo@3.service"))
    }

    /// The read of `cgroup.events` that found a slot empty is the one its return to the
    /// pool relies on, until a process goes in again: then it is read anew.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aSlotReadEmptyIsReadAgainOnceAProcessWentIn() throws {
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        try #require(try tracker.prepare("echo@1.service", pooled: true)).close()
        #expect(tracker.isEmpty("echo@1.service"))
        let group = try #require(try tracker.prepare("echo@1.service", pooled: true))
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: group))
        try group.close()
        #expect(!tracker.remove("echo@1.service"), "a slot with a process in it went back to the pool")
        #expect(tracker.kill("echo@1.service", signal: SIGTERM) == 1)
        #expect(LinuxTestSupport.waitForExit(pid) == .signaled(SIGTERM, coreDumped: false))
        #expect(tracker.isEmpty("echo@1.service"))
        let slot = try #require(tracker.cgroupDirectory(of: "echo@1.service"))
        #expect(tracker.remove("echo@1.service"))
        #expect(LinuxTestSupport.status(slot) != nil, "the emptied slot was removed, not pooled")
    }

    /// A slot emptied with cgroup.kill is removed, not pooled (see
    /// `aCgroupEmptiedWithCgroupKillHostsTheNextStart`), and so is one that took
    /// resource settings.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aKilledSlotIsRemovedNotPooled() throws {
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("echo@1.service", pooled: true))
        let slot = try #require(tracker.cgroupDirectory(of: "echo@1.service"))
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: group))
        try group.close()
        #expect(tracker.kill("echo@1.service", signal: SIGKILL) == 1)
        #expect(LinuxTestSupport.waitForExit(pid) == .signaled(SIGKILL, coreDumped: false))
        #expect(LinuxTestSupport.eventually { tracker.remove("echo@1.service") })
        #expect(LinuxTestSupport.status(slot) == nil, "a killed slot was kept")
    }

    /// A slot that took something of its own (BPF programs of DeviceAllow=/IPAddressDeny=,
    /// `keepOutOfPool`) is removed once empty: the next instance, maybe of another unit,
    /// must not inherit its restrictions.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aSlotKeptOutOfThePoolIsRemovedOnceEmpty() throws {
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("echo@1.service", pooled: true))
        let slot = try #require(tracker.cgroupDirectory(of: "echo@1.service"))
        tracker.keepOutOfPool("echo@1.service")
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/true", cgroup: group))
        try group.close()
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        #expect(tracker.remove("echo@1.service"))
        #expect(LinuxTestSupport.status(slot) == nil, "a slot kept out of the pool was pooled")
        let next = try #require(try tracker.prepare("other@1.service", pooled: true))
        try next.close()
        #expect(tracker.cgroupDirectory(of: "other@1.service") != slot)
    }

    /// After a re-exec the new process claims the same parent: a slot with a live
    /// process belongs to the unit its attribute names again, an empty one is free.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func slotsAreTakenBackByTheNextTrackerOfTheSameParent() throws {
        let name = uniqueParent()
        let before = ProcessTracker(parentName: name, becomeSubreaper: false)
        let busy = try #require(try before.prepare("echo@1.service", pooled: true))
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: busy))
        try busy.close()
        try #require(try before.prepare("echo@2.service", pooled: true)).close()
        let slot = try #require(before.cgroupDirectory(of: "echo@1.service"))
        before.abandon()

        // A tracker starting in parallel (another test) may hold the parent's lock for the
        // moment of its sweep, and this one then takes `NAME.1`: look until it gets the parent.
        var after = ProcessTracker(parentName: name, becomeSubreaper: false)
        defer { after.removeAll() }
        let parent = FileSystem.parent(of: slot)
        #expect(LinuxTestSupport.eventually(within: 5) {
            if after.parentDirectory == parent { return true }
            after.removeAll()
            after = ProcessTracker(parentName: name, becomeSubreaper: false)
            return after.parentDirectory == parent
        })
        #expect(after.cgroupDirectory(of: "echo@1.service") == slot)
        #expect(after.pids(of: "echo@1.service") == [pid])
        #expect(after.serviceGroups().map(\.service) == ["echo@1.service"])
        #expect(after.kill("echo@1.service", signal: SIGTERM) == 1)
        #expect(LinuxTestSupport.waitForExit(pid) == .signaled(SIGTERM, coreDumped: false))
        #expect(after.remove("echo@1.service"))
    }

    /// A process's service is found from its /proc/PID/cgroup in one read (a notification
    /// from a process that is no main or control process): a group named for its service,
    /// or a slot, which names the instance it was given to.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func findsTheServiceOfAProcessFromItsCgroup() throws {
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let plain = try #require(try tracker.prepare("web.service"))
        let worker = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: plain))
        try plain.close()
        let slot = try #require(try tracker.prepare("echo@7.service", pooled: true))
        let instance = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: slot))
        try slot.close()
        defer {
            for pid in [worker, instance] {
                _ = try? Reaper.kill(pid, signal: SIGKILL)
                _ = LinuxTestSupport.waitForExit(pid)
            }
        }
        #expect(tracker.service(ofPID: worker) == "web.service")
        #expect(tracker.service(ofPID: instance) == "echo@7.service")
        #expect(tracker.service(ofPID: getpid()) == nil)
    }

    /// The same kernel bug where swatchd cannot make a fresh group (someone
    /// else wrote cgroup.kill, or a process of the group still lives): the
    /// spawner sees its child die before its first instruction and starts it
    /// again the old way, joining the group through cgroup.procs.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aChildKilledAtBirthIsStartedAgainByJoiningTheCgroup() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let tracker = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { tracker.removeAll() }
        let group = try #require(try tracker.prepare("killed.service"))
        defer { try? group.close() }
        let service = try #require(tracker.cgroupDirectory(of: "killed.service"))
        try FileSystem.write("1", to: service + "/cgroup.kill")  // behind the tracker's back

        let output = LinuxTestSupport.open(directory + "/cgroup", O_WRONLY | O_CREAT)
        defer { try? output.close() }
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/cat", arguments: ["cat", "/proc/self/cgroup"], stdout: output, cgroup: group))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        let hierarchy = try #require(FileSystem.parent(of: FileSystem.parent(of: service)!))
        #expect(LinuxTestSupport.read(directory + "/cgroup").split(separator: "\n").map(String.init)
                .contains(cgroupLine(of: service, in: hierarchy)))
    }

    /// Two swatchds with the same pid (each PID 1 of its own namespace) never
    /// share a parent group: the second finds the first's lock and takes another name.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func aParentNameHeldByALiveSwatchdIsNotShared() throws {
        let name = uniqueParent()
        let first = ProcessTracker(parentName: name, becomeSubreaper: false)
        defer { first.removeAll() }
        let second = ProcessTracker(parentName: name, becomeSubreaper: false)
        defer { second.removeAll() }
        guard case .cgroup(let one) = first.mode, case .cgroup(let two) = second.mode else {
            Issue.record("expected cgroup mode, got \(first.mode), \(second.mode)")
            return
        }
        #expect(one.hasSuffix("/" + name))
        #expect(two == one + ".1")
    }

    /// At start, a `swatchd-…` group nobody holds is stale and goes (when empty);
    /// a live swatchd's group stays, even with an empty service group in it —
    /// whatever the pid in its name says (a swatchd in a PID namespace once
    /// took a live host daemon's groups for stale ones).
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func onlyGroupsNobodyHoldsAreSweptAsStale() throws {
        // Named as a swatchd in another PID namespace looks from here: a pid that does not exist.
        let live = ProcessTracker(parentName: "swatchd-\(Int32.max - getpid())", becomeSubreaper: false)
        defer { live.removeAll() }
        guard case .cgroup(let liveDirectory) = live.mode else {
            Issue.record("expected cgroup mode, got \(live.mode)")
            return
        }
        let hierarchy = try #require(FileSystem.parent(of: liveDirectory))
        try #require(try live.prepare("idle.service")).close()
        // A group left by a swatchd that was killed: named for a live pid (ours), held by nobody.
        let stale = hierarchy + "/swatchd-\(getpid())-stale-\(MonotonicClock.now())"
        #expect(mkdir(stale, 0o755) == 0 && mkdir(stale + "/hello.service", 0o755) == 0)

        let newcomer = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        defer { newcomer.removeAll() }
        // (A swatchd starting in parallel may be the one that sweeps it.)
        #expect(LinuxTestSupport.eventually(within: 5) { LinuxTestSupport.status(stale) == nil }, "the stale group was not removed")
        #expect(LinuxTestSupport.status(liveDirectory + "/idle.service") != nil, "a live swatchd's group was removed")
    }

    /// The `0::` line of /proc/PID/cgroup, in the unified and the hybrid layouts (cgroups(7)).
    @Test func readsTheUnifiedPathOfAProcCgroupFile() {
        #expect(ProcessTracker.unifiedPath("0::/system.slice/swatchd.service\n") == "/system.slice/swatchd.service")
        #expect(ProcessTracker.unifiedPath("12:pids:/x\n1:name=systemd:/y\n0::/user.slice/a b\n") == "/user.slice/a b")
        #expect(ProcessTracker.unifiedPath("3:cpu:/x\n0::/last") == "/last")
        #expect(ProcessTracker.unifiedPath("0::/\n") == "/")
        #expect(ProcessTracker.unifiedPath("10:0::/not-a-v2-line\n") == nil)
        #expect(ProcessTracker.unifiedPath("") == nil)
    }

    /// Under systemd (Delegate=yes) swatchd's groups go below its own cgroup,
    /// so that systemd's stop of swatchd.service reaches its services too;
    /// where that is not writable, or is the root, the hierarchy's root.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func groupsGoBelowSwatchdsOwnCgroupWhenItIsWritable() throws {
        let hierarchy = try #require(ProcessTracker.defaultHierarchies.first(where: ProcessTracker.isWritableCgroup2))
        let own = "/swatchd-test-own-\(getpid())-\(MonotonicClock.now())"
        #expect(mkdir(hierarchy + own, 0o755) == 0)
        defer { rmdir(hierarchy + own) }
        #expect(ProcessTracker.ownGroup(in: hierarchy, selfCgroup: "0::\(own)\n") == hierarchy + own)
        #expect(ProcessTracker.ownGroup(in: hierarchy, selfCgroup: "4:memory:/x\n0::/\n") == hierarchy)
        #expect(ProcessTracker.ownGroup(in: hierarchy, selfCgroup: "0::/no/such/group\n") == hierarchy)
        #expect(ProcessTracker.ownGroup(in: hierarchy, selfCgroup: nil) == hierarchy)
    }

    /// A stale group that still holds a process is left running and reported
    /// (systemd: "Found left-over process … Ignoring."); the processes of
    /// groups below a service's group count as the service's.
    @Test(.enabled(if: hasWritableCgroup2, "needs a writable cgroup2 hierarchy"))
    func leftOverProcessesOfAGoneSwatchdAreReportedAndLeftRunning() throws {
        let first = ProcessTracker(parentName: uniqueParent(), becomeSubreaper: false)
        guard case .cgroup(let gone) = first.mode else {
            Issue.record("expected cgroup mode, got \(first.mode)")
            return
        }
        // A swatchd run as old.service made a group of its own below it.
        let group = try #require(try first.prepare("old.service"))
        try group.close()
        let nested = gone + "/old.service/swatchd-nested"
        #expect(mkdir(nested, 0o755) == 0)
        let nestedGroup = LinuxTestSupport.open(nested, O_RDONLY | O_DIRECTORY)
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"], cgroup: nestedGroup))
        try nestedGroup.close()
        defer {
            _ = try? Reaper.kill(pid, signal: SIGKILL)
            _ = LinuxTestSupport.waitForExit(pid)
            ProcessTracker.removeEmptyTree(gone)
        }
        #expect(LinuxTestSupport.eventually { first.pids(of: "old.service") == [pid] })
        // The first swatchd is killed: its lock goes with it, its groups stay.
        first.abandon()

        // The sweep a starting swatchd makes. Another one (a test running in parallel) may hold
        // the group's lock for the moment of its own sweep, so look until one gets it; other
        // groups may be reported too (whatever killed swatchds left on this machine).
        let hierarchy = try #require(FileSystem.parent(of: gone))
        #expect(LinuxTestSupport.eventually(within: 5) {
            ProcessTracker.removeStaleSiblings(of: hierarchy + "/swatchd-none", in: hierarchy)
                .first { $0.group == gone + "/old.service" }?.pids == [pid]
        })
        #expect(Glibc.kill(pid, 0) == 0, "the left-over process was killed")
    }

    /// Without a writable cgroup2 a service's processes are its sessions, found by walking
    /// down from this process: a main process and the two children it forked are the
    /// service's, another service's process is not, and a SIGKILL reaches all three.
    /// (Orphans, which come to swatchd as child subreaper, are covered by
    /// `Integration.UnprivilegedTests`: a test process must not become a subreaper.)
    @Test func sessionFallbackTracksTheDescendantsThatKeepTheSession() throws {
        // No hierarchy given: the fallback of containers without a writable cgroup2.
        let tracker = ProcessTracker(parentName: uniqueParent(), hierarchies: [], becomeSubreaper: false)
        #expect(tracker.mode == .session)
        #expect(try tracker.prepare("hello.service") == nil)

        let main = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]))
        let other = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"]))
        defer {
            _ = try? Reaper.kill(other, signal: SIGKILL)
            _ = LinuxTestSupport.waitForExit(other)
        }
        #expect(tracker.pids(of: "hello.service").isEmpty)  // not tracked yet
        #expect(tracker.isEmpty("hello.service"))
        tracker.track(main, in: "hello.service")
        tracker.track(other, in: "other.service")

        #expect(LinuxTestSupport.eventually { tracker.pids(of: "hello.service").count == 3 })
        let pids = tracker.pids(of: "hello.service")
        #expect(pids.contains(main) && !pids.contains(other))
        #expect(!tracker.isEmpty("hello.service"))
        for pid in pids { #expect(tracker.service(ofPID: pid) == "hello.service") }
        #expect(tracker.service(ofPID: other) == "other.service")
        #expect(tracker.pids(of: "other.service") == [other])

        #expect(tracker.kill("hello.service", signal: SIGKILL) == 3)
        #expect(LinuxTestSupport.waitForExit(main) == .signaled(SIGKILL, coreDumped: false))
        // The killed children may linger as zombies of their new parent; zombies do not count.
        #expect(LinuxTestSupport.eventually { tracker.isEmpty("hello.service") })
        #expect(!tracker.isEmpty("other.service"))
        #expect(tracker.remove("hello.service"))
        #expect(tracker.service(ofPID: other) == "other.service")
    }

    /// A pid signalled through its pidfd only while it is still in the session asked for:
    /// a process of another session, or one that is gone, is left alone.
    @Test func aWalkedProcessIsSignalledOnlyWhileInTheSession() throws {
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "1000"]))
        #expect(!ProcessTree.signal(pid, SIGKILL, ifInSessions: [pid + 1]))
        #expect(Glibc.kill(pid, 0) == 0, "a process of another session was signalled")
        #expect(ProcessTree.signal(pid, SIGKILL, ifInSessions: [pid]))
        #expect(LinuxTestSupport.waitForExit(pid) == .signaled(SIGKILL, coreDumped: false))
        #expect(!ProcessTree.signal(pid, SIGKILL, ifInSessions: [pid]))
    }

    @Test func v1ControllerHierarchiesAreNeverCandidates() {
        for path in ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/proc", "/tmp"] {
            #expect(!ProcessTracker.isWritableCgroup2(path))
        }
    }

    @Test func parsesStatLinesWhoseCommandHasSpacesAndParentheses() throws {
        let stat = try #require(ProcessTree.parseStat("4242 (we (i) rd) S 1 4242 4240 0 -1 4194560 ..."))
        #expect(stat.pid == 4242)
        #expect(stat.state == "S")
        #expect(stat.parent == 1)
        #expect(stat.session == 4240)
        #expect(stat.threads == nil)
        let full = try #require(ProcessTree.parseStat("7 (a) S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 9 0 0"))
        #expect(full.threads == 3)
        #expect(ProcessTree.parseStat("garbage") == nil)
    }
}
