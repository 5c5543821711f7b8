import CSwatch
import Glibc
import SwatchControl
import SystemPackage

/// Knows which processes belong to which service, so a stop reaches all of
/// them (KillMode=control-group) and `Tasks:` can count them (swatchd(8), "PROCESS TRACKING").
///
/// Where a cgroup2 hierarchy is writable it gives each service a cgroup of its
/// own — `<hierarchy>/swatchd-<pid>/hello.service` — in which the spawned
/// child is created, or which it joins before exec (`SpawnRequest.cgroup`), so
/// daemons that double-fork and orphans are caught too. On this machine kind that hierarchy is the
/// controller-less /sys/fs/cgroup/unified (docs/HACKING.md "Cgroups"); in containers often
/// /sys/fs/cgroup itself. v1 controller hierarchies are never touched: only a
/// mount whose statfs type is CGROUP2_SUPER_MAGIC is considered.
///
/// Without a writable cgroup2 hierarchy it falls back to sessions: every
/// spawned process starts a session (the spawner's setsid), and a service's
/// processes are those whose session id is one of its spawned pids. swatchd
/// becomes child subreaper so orphans are reparented to it and reaped — and so
/// every process of a service is one of swatchd's descendants, found by walking
/// down from swatchd (`ProcessTree`) rather than by reading all of /proc. What
/// this cannot catch: a process that calls setsid() itself (a classic daemon's
/// double fork) leaves the service's session and is not tracked.
package final class ProcessTracker {
    /// How processes are tracked.
    package enum Mode: Hashable, Sendable {
        /// Cgroups under `directory` (the parent of the service cgroups).
        case cgroup(directory: String)
        /// Session ids, with swatchd as child subreaper.
        case session
    }

    /// The cgroup2 mounts tried, in order (docs/HACKING.md "Cgroups").
    package static let defaultHierarchies = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]

    package let mode: Mode
    /// Session mode: the session ids (= spawned pids) of each service.
    private var sessions: [String: Set<pid_t>] = [:]
    /// Session mode: the service of each session id.
    private var sessionOwners: [pid_t: String] = [:]
    /// Cgroup mode: services whose group `kill` emptied with cgroup.kill.
    /// `prepare` replaces such a group with a fresh one: kernels 6.14 to 7.2
    /// SIGKILL every child clone3 creates in a group that was ever killed
    /// ("cgroup: fix spurious SIGKILL of CLONE_INTO_CGROUP children", 7.3).
    private var killedGroups: Set<String> = []
    /// Our parent directory, open and flock(2)ed while we live: how another
    /// swatchd tells a live `swatchd-PID` from a stale one. A pid cannot: in
    /// another PID namespace (a swatchd that is PID 1 of a container, or of a
    /// test's sandbox) the owner's pid is unknown, or is someone else.
    private var parentLock: FileDescriptor?
    /// Groups of a swatchd that is gone which still hold processes: left
    /// running, as systemd leaves a unit's left-over processes ("Found
    /// left-over process … Ignoring."), for the supervisor to warn about.
    package private(set) var leftovers: [(group: String, pids: [pid_t])] = []
    /// Pooled groups: the service whose group is a slot `instance-N` (an Accept=yes
    /// instance, `prepare(_:pooled:)`) → that slot's name.
    private var slots: [String: String] = [:]
    /// Empty slots ready for the next instance, and the next slot number.
    private var freeSlots: [String] = []
    /// Each slot's directory and `cgroup.events`, open from its first use until it is removed:
    /// a spawn into it duplicates a descriptor instead of opening the directory, and the read
    /// of an instance's group after the reap is a pread(2). An openat+close of the directory
    /// costs ~4 µs here, an openat+read+close of the file ~8, against ~1 each
    /// (docs/HACKING.md "Cgroups").
    private var slotFiles: [String: SlotFiles] = [:]
    private struct SlotFiles {
        let directory: FileDescriptor
        let events: FileDescriptor
    }
    private var nextSlot = 0
    /// Pooled services whose group took settings (`apply`): removed, never handed on.
    private var configuredGroups: Set<String> = []
    /// Services whose group is known to carry no BPF program: made for this start, or cleared
    /// by CgroupPrograms. A slot is known clean unless it took programs (`configuredGroups`:
    /// it never goes back to the pool); any other group (kept from an earlier start, or found
    /// after a re-exec) is asked.
    private var groupsWithoutPrograms: Set<String> = []
    /// The service whose group `isEmpty` read empty last, if no process went in since: only a
    /// spawn (`prepare`) or a `move` puts one in, so the slot of an instance whose last
    /// process was just reaped goes back to the pool without a second read. One name, not a
    /// set: the reap and the return happen in one turn, and a set's hashing of an instance's
    /// long name cost more instructions than the read's system calls.
    private var lastReadEmpty: String?
    /// The cgroup2 mount the groups are in (cgroup mode).
    private var hierarchy: String?
    /// The most empty slots kept; more are removed.
    static let slotPoolSize = 16
    /// The prefix of a slot's name: no unit name (it has no `.type`), so never taken for one.
    static let slotPrefix = "instance-"
    /// The extended attribute a slot carries its service's name in (cgroupfs keeps
    /// `user.` attributes since Linux 5.7; systemd keeps `trusted.invocation_id` there).
    static let unitAttribute = "user.swatchd_unit"

    /// Finds a writable cgroup2 hierarchy among `hierarchies` and creates
    /// `parentName` under it; falls back to session tracking (and, when
    /// `becomeSubreaper`, PR_SET_CHILD_SUBREAPER) if there is none. The pid is written as an
    /// Int, as the log prefix's is (TerminalColors.prefix says why).
    package init(
        parentName: String = "swatchd-\(Int(getpid()))",
        hierarchies: [String] = ProcessTracker.defaultHierarchies,
        becomeSubreaper: Bool = true
    ) {
        for hierarchy in hierarchies where Self.isWritableCgroup2(hierarchy) {
            let base = Self.ownGroup(in: hierarchy)
            // e.g. EACCES in a container's delegated tree: try the next one.
            guard let (directory, lock) = Self.claimParent(parentName, in: base) else { continue }
            mode = .cgroup(directory: directory)
            self.hierarchy = hierarchy
            parentLock = lock
            leftovers = Self.removeStaleSiblings(of: directory, in: base)
            adoptSlots(in: directory)
            return
        }
        mode = .session
        if becomeSubreaper { Self.becomeSubreaper() }
    }

    /// Whether `path` is a cgroup2 mount (statfs f_type CGROUP2_SUPER_MAGIC) we may write.
    package static func isWritableCgroup2(_ path: String) -> Bool {
        var info = statfs()
        guard statfs(path, &info) == 0, Int(info.f_type) == SWATCH_CGROUP2_SUPER_MAGIC else { return false }
        return access(path, W_OK) == 0
    }

    /// Makes swatchd the reaper of its services' orphans (prctl PR_SET_CHILD_SUBREAPER).
    package static func becomeSubreaper() {
        _ = swatch_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    }

    /// The cgroup2 path in a /proc/PID/cgroup text: what follows `0::` on its line
    /// (cgroups(7), "/proc/pid/cgroup"). Looked for by byte: splitting the text into lines of
    /// `Character`s cost ~400 instructions a byte.
    static func unifiedPath(_ procCgroup: String) -> Substring? {
        var rest = procCgroup[...]
        while !rest.isEmpty {
            let end = rest.utf8.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            if rest.utf8.starts(with: "0::".utf8) {
                return rest[rest.utf8.index(rest.startIndex, offsetBy: 3)..<end]
            }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.utf8.index(after: end)...]
        }
        return nil
    }

    /// Where swatchd's groups go in `hierarchy`: below swatchd's own cgroup
    /// (`0::PATH` of /proc/self/cgroup) when that is writable — under systemd
    /// with Delegate=yes, in swatchd.service's own group, so that systemd's
    /// accounting and its stop reach the services too — else the hierarchy's root.
    static func ownGroup(in hierarchy: String, selfCgroup: String? = try? FileSystem.readText("/proc/self/cgroup")) -> String {
        guard let own = selfCgroup.flatMap(unifiedPath) else { return hierarchy }
        let path = SandboxPlan.normalize(String(own))
        guard path != "/" else { return hierarchy }
        let candidate = hierarchy + path
        var info = stat()
        guard stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, access(candidate, W_OK) == 0 else {
            return hierarchy
        }
        return candidate
    }

    /// The cgroup directory of a service, in cgroup mode: named for the service, or the
    /// pooled slot it was given.
    package func cgroupDirectory(of service: String) -> String? {
        guard case .cgroup(let directory) = mode else { return nil }
        return directory + "/" + groupName(of: service)
    }

    /// A service's group as /proc/PID/cgroup names it: its path below the cgroup2 mount
    /// (`ControlGroup=` of systemctl show); nil in session mode.
    package func controlGroup(of service: String) -> String? {
        guard let directory = cgroupDirectory(of: service), let hierarchy, directory.hasPrefix(hierarchy + "/") else { return nil }
        return String(directory.dropFirst(hierarchy.count))
    }

    /// The name of a service's group below our parent: its pooled slot, or its own name.
    private func groupName(of service: String) -> String { slots[service] ?? service }

    /// A group of ours (`slot` or a service's name) as openat(2) takes it: relative to our
    /// parent group's directory while we hold it open, else by its absolute path. cgroupfs
    /// then walks two components instead of seven; the walks of the full paths were ~8 % of
    /// swatchd's time per Accept=yes connection (`perf record`, docs/HACKING.md "Cgroups").
    private func located(_ group: String) -> (base: CInt, path: String)? {
        guard case .cgroup(let parent) = mode else { return nil }
        if let parentLock { return (parentLock.rawValue, group) }
        return (AT_FDCWD, parent + "/" + group)
    }

    /// The services with a group now, and the group's directory (cgroup mode): the
    /// groups named for their service and the slots taken.
    package func serviceGroups() -> [(service: String, directory: String)] {
        guard case .cgroup(let parent) = mode else { return [] }
        let pooled = Dictionary(slots.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        return FileSystem.entries(of: parent).compactMap { entry in
            guard entry.isDirectory else { return nil }
            if entry.name.hasPrefix(Self.slotPrefix) {
                return pooled[entry.name].map { ($0, parent + "/" + entry.name) }
            }
            return (entry.name, parent + "/" + entry.name)
        }
    }

    /// Gets a service's cgroup ready for a spawn: creates it and opens the
    /// directory (O_RDONLY|O_DIRECTORY|O_CLOEXEC) for `SpawnRequest.cgroup` —
    /// the fd clone3's CLONE_INTO_CGROUP takes, and the one the child opens
    /// `cgroup.procs` from where the kernel lacks it.
    /// The caller owns the fd and closes it after the spawn. nil in session mode.
    ///
    /// `pooled` (Accept=yes instances, a unit per connection): the group is a slot
    /// `instance-N` taken from a pool of emptied ones, its service's name in its
    /// `user.swatchd_unit` attribute — a mkdir and an rmdir of a cgroup cost ~60 µs
    /// each here (docs/HACKING.md "Cgroups"), and cgroup2 has no rename. Each
    /// instance still has a group of its own while it lives (KillMode=).
    package func prepare(_ service: String, pooled: Bool = false) throws(Errno) -> FileDescriptor? {
        guard case .cgroup(let parent) = mode else { return nil }
        if lastReadEmpty == service { lastReadEmpty = nil }
        if pooled, slots[service] == nil {
            while let slot = freeSlots.popLast() {
                // Ours alone, and empty when it was given back: no mkdir, no check.
                let fd: FileDescriptor
                do {
                    fd = try slotDirectory(slot)
                } catch .noSuchFileOrDirectory {
                    closeFiles(of: slot)  // removed behind our back: the next one
                    continue
                } catch {
                    // EMFILE and the like: the slot, and what it keeps open, wait for the next start.
                    freeSlots.append(slot)
                    throw error
                }
                assign(slot, to: service, directory: fd)
                return fd
            }
            let slot = try newSlot(in: parent)
            let fd = try slotDirectory(slot)
            assign(slot, to: service, directory: fd)
            return fd
        }
        guard let directory = cgroupDirectory(of: service) else { return nil }
        if killedGroups.contains(service) {
            // A fresh group (see `killedGroups`); while a process still lives in
            // the old one (EBUSY) it stays, and the spawner copes (shim.c).
            if rmdir(directory) == 0 || errno == ENOENT { killedGroups.remove(service) }
        }
        do {
            _ = try retryingOnInterrupt { mkdir(directory, 0o755) }
            groupsWithoutPrograms.insert(service)
        } catch .fileExists {
            // Kept from an earlier start (a process survived, or not removed yet).
        }
        return FileDescriptor(rawValue: try retryingOnInterrupt { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
    }

    /// Delegate=: the group `directory` and the files through which processes and controllers
    /// are moved below it become `owner`'s (cgroup-v2.rst, "Delegation Containment"): the files
    /// the kernel lists in /sys/kernel/cgroup/delegate, or its usual three where it lists none.
    package static func delegate(_ directory: FileDescriptor, to owner: (uid: uid_t, gid: gid_t)) throws(Errno) {
        let listed = ((try? FileSystem.readText("/sys/kernel/cgroup/delegate")) ?? "").splitAtWhitespace().map(String.init)
        _ = try retryingOnInterrupt { fchown(directory.rawValue, owner.uid, owner.gid) }
        for file in listed.isEmpty ? ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"] : listed {
            do {
                _ = try retryingOnInterrupt { fchownat(directory.rawValue, file, owner.uid, owner.gid, 0) }
            } catch .noSuchFileOrDirectory {
                // A file of a controller the group does not have (memory.oom.group).
            }
        }
    }

    /// Delegate=: a subgroup of the service's group a process starts in, made when first needed:
    /// DelegateSubgroup='s for the main process, ".control" for the commands beside it (ExecReload=,
    /// ExecStop=, ...). A delegated service may enable controllers for the groups below its own,
    /// and cgroup v2 then lets no process into the group itself (cgroup-v2.rst, "No Internal
    /// Process Constraint"), as systemd's exec_params_get_cgroup_path() (src/core/execute.c)
    /// explains. As there, the subgroup and every file in it become the user's the process runs
    /// as (`owner`; nil or root: left as they are), as cg_set_access_recursive() hands them over
    /// (src/core/exec-invoke.c).
    package static func subgroup(_ name: String, of group: FileDescriptor, owner: (uid: uid_t, gid: gid_t)?) throws(Errno) -> FileDescriptor {
        do {
            _ = try retryingOnInterrupt { mkdirat(group.rawValue, name, 0o755) }
        } catch .fileExists {
            // Made for an earlier process.
        }
        let subgroup = FileDescriptor(rawValue: try retryingOnInterrupt {
            openat(group.rawValue, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        })
        guard let owner, owner.uid != 0 else { return subgroup }
        do throws(Errno) {
            _ = try retryingOnInterrupt { fchown(subgroup.rawValue, owner.uid, owner.gid) }
            // Listed through a descriptor of its own (fdopendir(3) takes it over), not /proc.
            let listing = try retryingOnInterrupt { openat(subgroup.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard let directory = fdopendir(listing) else {
                close(listing)
                throw Errno(rawValue: errno)
            }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                guard entry.pointee.d_type == UInt8(DT_REG) else { continue }
                let file = entryName(entry)
                _ = try retryingOnInterrupt { fchownat(subgroup.rawValue, file, owner.uid, owner.gid, 0) }
            }
        } catch {
            subgroup.closeIgnoringErrors()
            throw error
        }
        return subgroup
    }

    /// Whether the service's group may carry BPF programs of an earlier start.
    package func mayCarryPrograms(_ service: String) -> Bool {
        guard case .cgroup = mode else { return false }
        if slots[service] != nil { return configuredGroups.contains(service) }
        return !groupsWithoutPrograms.contains(service)
    }

    /// What CgroupPrograms left on the service's group: programs (or maybe some, when it failed), or none.
    package func noteGroup(of service: String, carriesPrograms: Bool) {
        if carriesPrograms { groupsWithoutPrograms.remove(service) } else { groupsWithoutPrograms.insert(service) }
    }

    /// A pooled group that took something of its own (settings, BPF programs): removed when
    /// its instance is gone, never handed on to another.
    package func keepOutOfPool(_ service: String) {
        if slots[service] != nil { configuredGroups.insert(service) }
    }

    /// Applies MemoryMax= and the other resource limits (systemd.resource-control(5)) to
    /// the service's cgroup, enabling each controller in swatchd's group first
    /// (`+memory` in its cgroup.subtree_control: Documentation/admin-guide/cgroup-v2.rst,
    /// "Enabling and Disabling"). Returns what could not be applied, one line per key
    /// with the reason: these keys limit resources and take no access away, so the
    /// service runs without them, warned (swatchd.service(5), "RESOURCE CONTROL").
    /// Never touches a cgroup v1 hierarchy (docs/HACKING.md "Cgroups").
    package func apply(_ control: ResourceControl, to service: String) -> [String] {
        guard !control.settings.isEmpty else { return [] }
        // A slot with settings of its own never goes back to the pool.
        keepOutOfPool(service)
        guard case .cgroup(let parent) = mode, let directory = cgroupDirectory(of: service) else {
            return control.sorted.map { "\($0.key)=\($0.setting.written) is not applied: swatchd has no cgroup2 hierarchy it may write (cgroup v1 only, or none delegated)" }
        }
        var problems: [String] = []
        let available = Set(((try? FileSystem.readText(parent + "/cgroup.controllers")) ?? "").splitAtWhitespace().map(String.init))
        for (key, setting) in control.sorted {
            let prefix = "\(key)=\(setting.written) is not applied"
            guard available.contains(setting.controller) else {
                problems.append("\(prefix): the \(setting.controller) controller is not available in \(parent) (its cgroup.controllers: \(available.isEmpty ? "none" : available.sorted().joined(separator: " ")); not delegated)")
                continue
            }
            let enabled = Set(((try? FileSystem.readText(parent + "/cgroup.subtree_control")) ?? "").splitAtWhitespace().map(String.init))
            if !enabled.contains(setting.controller) {
                if let error = Self.write("+" + setting.controller, to: parent + "/cgroup.subtree_control") {
                    problems.append("\(prefix): cannot enable the \(setting.controller) controller in \(parent): \(error)")
                    continue
                }
            }
            if let error = Self.write(setting.value, to: directory + "/" + setting.file) {
                problems.append("\(prefix): \(directory)/\(setting.file): \(error)")
            }
        }
        return problems
    }

    /// Writes `text` to an existing cgroup file; nil, or the errno.
    static func write(_ text: String, to path: String) -> Errno? {
        do {
            let fd = try retryingOnInterrupt { open(path, O_WRONLY | O_CLOEXEC) }
            defer { close(fd) }
            let written = try retryingOnInterrupt { text.withCString { Glibc.write(fd, $0, strlen($0)) } }
            return written == text.utf8.count ? nil : Errno(rawValue: EIO)
        } catch {
            return error
        }
    }

    /// Records a spawned process of `service`. In session mode its pid is its
    /// session id (the spawner calls setsid); in cgroup mode the cgroup already knows.
    package func track(_ pid: pid_t, in service: String) {
        guard case .session = mode else { return }
        // A pid once a session of another service, whose members are all gone: now this one's.
        if let earlier = sessionOwners[pid], earlier != service { sessions[earlier]?.remove(pid) }
        sessions[service, default: []].insert(pid)
        sessionOwners[pid] = service
    }

    /// After a re-exec, in session mode: the session of a process the Manager carried over
    /// (a main or control pid) is its service's again. In cgroup mode the groups carried over.
    package func trackSession(of pid: pid_t, in service: String) {
        guard case .session = mode, let session = ProcessTree.stat(of: pid)?.session else { return }
        track(session, in: service)
    }

    /// The live processes of a service (zombies excluded in session mode).
    package func pids(of service: String) -> [pid_t] {
        switch mode {
        case .cgroup:
            // An empty group (the usual case once the main process is reaped) costs one read.
            guard let group = located(groupName(of: service)), Self.isPopulated(group.path, relativeTo: group.base),
                  let directory = cgroupDirectory(of: service) else { return [] }
            return Self.processes(inGroup: directory)
        case .session:
            guard let wanted = sessions[service], !wanted.isEmpty else { return [] }
            return members(of: wanted, firstOnly: false)
        }
    }

    /// Session mode: the live processes (no zombies) of the sessions `wanted`, or the first
    /// one found. They are all descendants of swatchd, the child subreaper: a session's
    /// members descend from its leader, whose orphans come to swatchd. So the walk starts
    /// at swatchd's children and leaves out the subtrees of other services' sessions — a
    /// process forked by a member of session A is in session A, or in a session of its own
    /// (setsid), never in B's. What it reads: swatchd's children list, and the stat line and
    /// children list of each process of `wanted` and of each orphan — never all of /proc.
    private func members(of wanted: Set<pid_t>, firstOnly: Bool) -> [pid_t] {
        guard ProcessTree.listsChildren else {
            return ProcessTree.allProcesses().filter { wanted.contains($0.session) && $0.state != "Z" }.map(\.pid)
        }
        // Another service's session leader is skipped unread: its pid is its session.
        var pending = ProcessTree.ownChildren().filter { wanted.contains($0) || sessionOwners[$0] == nil }
        var found: [pid_t] = []
        while let pid = pending.popLast() {
            guard let process = ProcessTree.stat(of: pid) else { continue }  // ended meanwhile
            if wanted.contains(process.session) {
                if process.state != "Z" {
                    found.append(pid)
                    if firstOnly { return found }
                }
            } else if sessionOwners[process.session] != nil {
                continue  // an orphan of another service: its subtree is that service's
            }
            pending += ProcessTree.children(of: process)
        }
        return found
    }

    /// After a service became inactive: removes its group (or gives its slot back) when
    /// no process is left in it. In cgroup mode the rmdir itself refuses a busy group.
    /// Returns whether it was empty.
    @discardableResult
    package func removeIfEmpty(_ service: String) -> Bool {
        switch mode {
        case .cgroup: return remove(service)
        case .session: return isEmpty(service) && remove(service)
        }
    }

    /// The service whose group or session `pid` is in (nil for a process outside them):
    /// in cgroup mode the `0::` line of /proc/PID/cgroup names the group, in session mode
    /// its /proc/PID/stat the session — one read, where asking every service for its
    /// members was a walk of all of them (a notification from a process that is no main
    /// or control process).
    package func service(ofPID pid: pid_t) -> String? {
        if case .session = mode { return ProcessTree.stat(of: pid).flatMap { sessionOwners[$0.session] } }
        guard case .cgroup(let parent) = mode,
              let text = try? FileSystem.readText("/proc/\(pid)/cgroup"),
              let path = Self.unifiedPath(text) else { return nil }
        // The path is relative to the cgroup2 root (of our cgroup namespace); our parent's
        // path ends the same way, and the next component is the service's group.
        let components = path.split(separator: "/")
        let own = UnitDirectory.baseName(parent)
        guard let index = components.firstIndex(where: { $0 == own }), index + 1 < components.count,
              parent.hasSuffix("/" + components[...index].joined(separator: "/")) else { return nil }
        let group = String(components[index + 1])
        if group.hasPrefix(Self.slotPrefix) {
            return slots.first(where: { $0.value == group })?.key
        }
        return group
    }

    /// `Tasks:` is empty. In cgroup mode one read of `cgroup.events`, not a walk of the group.
    package func isEmpty(_ service: String) -> Bool {
        switch mode {
        case .cgroup:
            let empty: Bool
            if let slot = slots[service] {
                empty = !slotIsPopulated(slot)
            } else {
                guard let group = located(service) else { return true }
                empty = !Self.isPopulated(group.path, relativeTo: group.base)
            }
            if empty { lastReadEmpty = service }
            return empty
        case .session:
            guard let wanted = sessions[service], !wanted.isEmpty else { return true }
            return members(of: wanted, firstOnly: true).isEmpty
        }
    }

    /// Sends `signal` to every process of the service (KillMode=control-group),
    /// re-reading until no new process appears — a process may fork while we
    /// signal (systemd's cg_kill does the same). SIGKILL uses `cgroup.kill`
    /// where the kernel has it (5.14+), which kills atomically.
    /// - Returns: how many processes were signalled.
    @discardableResult
    package func kill(_ service: String, signal: CInt) -> Int {
        if case .cgroup = mode, isEmpty(service) { return 0 }
        if signal == SIGKILL, let directory = cgroupDirectory(of: service) {
            let count = pids(of: service).count
            if (try? FileSystem.write("1", to: directory + "/cgroup.kill")) != nil {
                killedGroups.insert(service)
                return count
            }
        }
        var signalled: Set<pid_t> = []
        for _ in 0..<16 {
            let fresh = pids(of: service).filter { !signalled.contains($0) }
            if fresh.isEmpty { break }
            for pid in fresh {
                signalled.insert(pid)
                guard pid != getpid() else { continue }
                if case .session = mode, let wanted = sessions[service] {
                    // Found by a walk, maybe no child of ours: signalled only while still in the session.
                    _ = ProcessTree.signal(pid, signal, ifInSessions: wanted)
                } else {
                    _ = try? Reaper.kill(pid, signal: signal)
                }
            }
        }
        return signalled.subtracting([getpid()]).count
    }

    /// Moves every process of group `source` into group `target` (created if
    /// needed): a ready handover sets a service's old processes apart, and takes
    /// them back if the new one fails. Re-reads until nothing is left to move,
    /// as a process may fork meanwhile. Returns whether `source` ended empty.
    package func move(_ source: String, to target: String) -> Bool {
        switch mode {
        case .cgroup:
            guard let directory = try? prepare(target), let target = cgroupDirectory(of: target) else { return false }
            try? directory.close()
            let procs = target + "/cgroup.procs"
            for _ in 0..<16 {
                let left = pids(of: source)
                if left.isEmpty { return true }
                // A process that ended meanwhile is ESRCH: nothing to move.
                for pid in left { _ = try? FileSystem.write(String(pid), to: procs) }
            }
            return pids(of: source).isEmpty
        case .session:
            let moved = sessions.removeValue(forKey: source) ?? []
            sessions[target, default: []].formUnion(moved)
            for session in moved { sessionOwners[session] = target }
            return true
        }
    }

    /// Forgets a service whose processes are all gone: removes its cgroup
    /// (rmdir fails with EBUSY while a process lives), or gives its slot back to the
    /// pool. Returns whether it is gone.
    @discardableResult
    package func remove(_ service: String) -> Bool {
        switch mode {
        case .cgroup(let parent):
            guard let directory = cgroupDirectory(of: service) else { return true }
            if let slot = slots[service] {
                if recycle(slot, of: service, in: parent) { return true }
                closeFiles(of: slot)  // opened again if the rmdir below finds it busy
            }
            do {
                do {
                    _ = try retryingOnInterrupt { rmdir(directory) }
                } catch .resourceBusy {
                    // A process lives in it, or groups of its own are below it (a swatchd
                    // run as this service made them): those go first when they are empty.
                    for entry in FileSystem.entries(of: directory) where entry.isDirectory {
                        Self.removeEmptyTree(directory + "/" + entry.name)
                    }
                    _ = try retryingOnInterrupt { rmdir(directory) }
                }
                forgetGroup(of: service)
                return true
            } catch .noSuchFileOrDirectory {
                forgetGroup(of: service)
                return true
            } catch {
                return false  // EBUSY: a process still lives in it
            }
        case .session:
            for session in sessions.removeValue(forKey: service) ?? [] where sessionOwners[session] == service {
                sessionOwners[session] = nil
            }
            return true
        }
    }

    private func forgetGroup(of service: String) {
        killedGroups.remove(service)
        configuredGroups.remove(service)
        groupsWithoutPrograms.remove(service)
        if lastReadEmpty == service { lastReadEmpty = nil }
        slots[service] = nil
    }

    /// A slot whose service is gone, back to the pool when it is empty, was never
    /// killed with cgroup.kill (see `killedGroups`), took no settings and the pool has
    /// room; false: remove it as any group.
    private func recycle(_ slot: String, of service: String, in parent: String) -> Bool {
        guard freeSlots.count < Self.slotPoolSize, !killedGroups.contains(service),
              !configuredGroups.contains(service), let group = located(slot),
              lastReadEmpty == service || !slotIsPopulated(slot) else { return false }
        // A group below it (a swatchd run as the instance made one) goes with it: no recycling.
        // kernfs counts a directory's subdirectories in its link count (2 + subdirectories).
        var info = stat()
        let status = keptFiles(of: slot).map { fstat($0.directory.rawValue, &info) } ?? fstatat(group.base, group.path, &info, 0)
        guard status == 0, info.st_nlink == 2 else { return false }
        // Its attribute still names the service: only a populated slot's is ever read.
        slots[service] = nil
        lastReadEmpty = nil
        freeSlots.append(slot)
        return true
    }

    /// Gives `slot` to `service`, and names the service in the slot's attribute — for
    /// whoever finds the group without our memory of it: the next process after a
    /// re-exec (`adoptSlots`), or the next swatchd after a crash (its leftovers).
    private func assign(_ slot: String, to service: String, directory: FileDescriptor) {
        slots[service] = slot
        _ = service.withCString { fsetxattr(directory.rawValue, Self.unitAttribute, $0, strlen($0), 0) }
    }

    /// A slot's files (`slotFiles`), opened at its first use. nil where they cannot be opened,
    /// or would take descriptors swatchd keeps for its own work (FileLimit): the slot is then
    /// reached by its path, as any group, and many live instances under a low limit hold none.
    private func keptFiles(of slot: String) -> SlotFiles? {
        if let files = slotFiles[slot] { return files }
        guard let group = located(slot), let directory = Self.openDirectory(group.path, relativeTo: group.base) else { return nil }
        let events = openat(directory.rawValue, "cgroup.events", O_RDONLY | O_CLOEXEC)
        guard events >= 0, FileLimit.leavesReserve(events), FileLimit.leavesReserve(directory.rawValue) else {
            directory.closeIgnoringErrors()
            if events >= 0 { close(events) }
            return nil
        }
        let files = SlotFiles(directory: directory, events: FileDescriptor(rawValue: events))
        slotFiles[slot] = files
        return files
    }

    /// A descriptor of a slot's directory for the caller to close: a copy of the kept one, or
    /// one of its own where none is kept.
    private func slotDirectory(_ slot: String) throws(Errno) -> FileDescriptor {
        if let files = keptFiles(of: slot) { return try Self.duplicate(files.directory) }
        guard let group = located(slot) else { throw .noSuchFileOrDirectory }
        return FileDescriptor(rawValue: try retryingOnInterrupt { openat(group.base, group.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
    }

    /// Closes a slot's files: before its directory is removed, or when they failed.
    private func closeFiles(of slot: String) {
        guard let files = slotFiles.removeValue(forKey: slot) else { return }
        files.directory.closeIgnoringErrors()
        files.events.closeIgnoringErrors()
    }

    /// Whether a slot's group holds a process: its kept `cgroup.events` read again from the
    /// start, or the file opened anew when that fails.
    private func slotIsPopulated(_ slot: String) -> Bool {
        if let files = slotFiles[slot], let populated = Self.populated(events: files.events.rawValue) {
            return populated
        }
        guard let group = located(slot) else { return false }
        return Self.isPopulated(group.path, relativeTo: group.base)
    }

    /// A copy of `fd` (close-on-exec) for the caller to close: a slot's directory for a spawn.
    private static func duplicate(_ fd: FileDescriptor) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingOnInterrupt { fcntl(fd.rawValue, F_DUPFD_CLOEXEC, 3) })
    }

    /// A new slot.
    private func newSlot(in parent: String) throws(Errno) -> String {
        while true {
            let slot = Self.slotPrefix + String(nextSlot)
            nextSlot += 1
            do {
                _ = try retryingOnInterrupt { mkdir(parent + "/" + slot, 0o755) }
                return slot
            } catch .fileExists {
                continue  // a slot an earlier swatchd of this name left: taken by `adoptSlots` or not ours
            }
        }
    }

    /// Re-claiming our parent after a re-exec: the slots in it are taken again — by the
    /// service named in the attribute while a process lives there, else as free ones.
    private func adoptSlots(in parent: String) {
        for entry in FileSystem.entries(of: parent, prefix: Self.slotPrefix) where entry.isDirectory {
            if let number = Int(entry.name.dropFirst(Self.slotPrefix.count)) { nextSlot = max(nextSlot, number + 1) }
            let directory = parent + "/" + entry.name
            if Self.isPopulated(directory), let service = Self.unitName(ofSlot: directory) {
                slots[service] = entry.name
            } else if freeSlots.count < Self.slotPoolSize, !Self.isPopulated(directory) {
                freeSlots.append(entry.name)
            } else {
                Self.removeEmptyTree(directory)
            }
        }
    }

    /// The service a slot was given to, from its attribute; nil for another group.
    static func unitName(ofSlot directory: String) -> String? {
        guard UnitDirectory.baseName(directory).hasPrefix(slotPrefix) else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        let count = directory.withCString { getxattr($0, unitAttribute, &buffer, buffer.count - 1) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The service a group of swatchd's belongs to: the attribute of a slot, else its name.
    static func serviceName(ofGroup directory: String) -> String {
        unitName(ofSlot: directory) ?? UnitDirectory.baseName(directory)
    }

    /// At exit: removes the service cgroups that are empty and the parent directory.
    package func removeAll() {
        guard case .cgroup(let directory) = mode else {
            sessions = [:]
            sessionOwners = [:]
            return
        }
        killedGroups = []
        configuredGroups = []
        groupsWithoutPrograms = []
        lastReadEmpty = nil
        slots = [:]
        freeSlots = []
        for slot in Array(slotFiles.keys) { closeFiles(of: slot) }
        Self.removeEmptyTree(directory)
        parentLock?.closeIgnoringErrors()
        parentLock = nil
    }

    /// Creates (or reuses) `hierarchy/name` and takes its lock. A name another
    /// live swatchd holds (the same pid in another PID namespace) gets a suffix,
    /// `swatchd-1.1`; a directory removed between our mkdir and our lock is
    /// made again. nil when the hierarchy refuses the directory.
    static func claimParent(_ name: String, in hierarchy: String) -> (directory: String, lock: FileDescriptor)? {
        var suffix = 0
        for _ in 0..<64 {
            let directory = hierarchy + "/" + (suffix == 0 ? name : "\(name).\(suffix)")
            do {
                _ = try retryingOnInterrupt { mkdir(directory, 0o755) }
            } catch .fileExists {
                // Ours from an earlier start with the same name, or another swatchd's: the lock tells.
            } catch {
                return nil
            }
            guard let lock = openDirectory(directory) else { continue }
            guard (try? retryingOnInterrupt { flock(lock.rawValue, LOCK_EX | LOCK_NB) }) != nil else {
                lock.closeIgnoringErrors()
                suffix += 1
                continue
            }
            // Still the directory at that path (not one a stale-group sweep just removed)?
            var held = stat(), current = stat()
            guard fstat(lock.rawValue, &held) == 0, stat(directory, &current) == 0, held.st_ino == current.st_ino else {
                lock.closeIgnoringErrors()
                continue
            }
            return (directory, lock)
        }
        return nil
    }

    private static func openDirectory(_ path: String, relativeTo base: CInt = AT_FDCWD) -> FileDescriptor? {
        guard let fd = try? retryingOnInterrupt({ openat(base, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }) else { return nil }
        return FileDescriptor(rawValue: fd)
    }

    /// Lets go of the lock and leaves every group as it is: what a SIGKILL of
    /// swatchd does (for tests of what the next swatchd finds).
    func abandon() {
        parentLock?.closeIgnoringErrors()
        parentLock = nil
    }

    /// The parent group of this swatchd's service groups, in cgroup mode.
    package var parentDirectory: String? {
        if case .cgroup(let directory) = mode { return directory }
        return nil
    }

    /// Stops the processes left in `group` (a service group of a killed
    /// swatchd): SIGTERM to each, then, after `grace` seconds, SIGKILL through
    /// `cgroup.kill`; waits up to `grace` more for them to go and removes the
    /// group. They are not our children (init reaps them), so their end is seen
    /// by polling the group. Returns the pids that were still there at the end.
    package static func stopLeftovers(in group: String, grace: Double) -> [pid_t] {
        func waitEmpty(_ seconds: Double) -> Bool {
            let until = MonotonicClock.now() + UInt64(seconds * 1_000_000)
            while MonotonicClock.now() < until {
                if processes(inGroup: group).isEmpty { return true }
                var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
                nanosleep(&pause, nil)
            }
            return processes(inGroup: group).isEmpty
        }
        for pid in processes(inGroup: group) { _ = try? Reaper.kill(pid, signal: SIGTERM) }
        if !waitEmpty(grace) {
            if (try? FileSystem.write("1", to: group + "/cgroup.kill")) == nil {
                for pid in processes(inGroup: group) { _ = try? Reaper.kill(pid, signal: SIGKILL) }
            }
            _ = waitEmpty(grace)
        }
        let left = processes(inGroup: group)
        if left.isEmpty { removeEmptyTree(group) }
        return left
    }

    /// The groups of an earlier swatchd that was killed before it could remove
    /// them (a `swatchd-…` sibling whose lock nobody holds): removed when
    /// empty, kept while a process of theirs still runs — those are returned.
    static func removeStaleSiblings(of directory: String, in hierarchy: String) -> [(group: String, pids: [pid_t])] {
        var leftovers: [(group: String, pids: [pid_t])] = []
        for entry in FileSystem.entries(of: hierarchy, prefix: "swatchd-") where entry.isDirectory {
            let sibling = hierarchy + "/" + entry.name
            guard sibling != directory, let lock = openDirectory(sibling) else { continue }
            defer { lock.closeIgnoringErrors() }
            guard (try? retryingOnInterrupt { flock(lock.rawValue, LOCK_EX | LOCK_NB) }) != nil else { continue }
            removeEmptyTree(sibling)
            // Reported per service group (`…/swatchd-PID/hello.service`): the name says whose they are.
            for child in FileSystem.entries(of: sibling) where child.isDirectory {
                let pids = processes(inGroup: sibling + "/" + child.name)
                if !pids.isEmpty { leftovers.append((sibling + "/" + child.name, pids)) }
            }
        }
        return leftovers
    }

    /// Whether a process lives in the group or in a group below it: the `populated` line of
    /// its `cgroup.events` (Documentation/admin-guide/cgroup-v2.rst, "Core Interface Files"),
    /// which the kernel clears when the last process exits, before its parent gets SIGCHLD
    /// (do_exit() calls cgroup_exit() before exit_notify()). A group that cannot be read is
    /// empty, as `processes(inGroup:)` finds it. One open, read and close, into a stack buffer.
    static func isPopulated(_ directory: String, relativeTo base: CInt = AT_FDCWD) -> Bool {
        let fd = (directory + "/cgroup.events").withCString { openat(base, $0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Nothing read, or no such line (not cgroup2?): ask cgroup.procs.
        return populated(events: fd) ?? !processes(inGroup: directory).isEmpty
    }

    /// The `populated` line of an open `cgroup.events`, read by pread(2) from its start: kernfs
    /// makes the file anew at offset 0, so a kept descriptor reads it again. nil: nothing
    /// read, or no such line.
    static func populated(events fd: CInt) -> Bool? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> Bool? in
            var count = 0
            repeat { count = Glibc.pread(fd, buffer.baseAddress, buffer.count, 0) } while count < 0 && errno == EINTR
            guard count > 0 else { return nil }
            // "populated 0\nfrozen 0\n": the digit after "populated ".
            let text = UnsafeBufferPointer(rebasing: buffer[..<count])
            let key = populatedKey
            var start = 0
            while start + key.count < text.count {
                if (start == 0 || text[start - 1] == UInt8(ascii: "\n")),
                   text[start..<start + key.count].elementsEqual(key) {
                    return text[start + key.count] != UInt8(ascii: "0")
                }
                start += 1
            }
            return nil
        }
    }

    private static let populatedKey = Array("populated ".utf8)

    /// The processes of a group and of every group below it.
    static func processes(inGroup directory: String) -> [pid_t] {
        let own = ((try? FileSystem.readText(directory + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        return FileSystem.entries(of: directory).filter(\.isDirectory)
            .reduce(own) { $0 + processes(inGroup: directory + "/" + $1.name) }
    }

    /// rmdir of a group's empty descendants, deepest first, then of the group
    /// (EBUSY leaves a live one, and what is above it, alone).
    static func removeEmptyTree(_ directory: String) {
        for entry in FileSystem.entries(of: directory) where entry.isDirectory {
            removeEmptyTree(directory + "/" + entry.name)
        }
        _ = rmdir(directory)
    }
}
