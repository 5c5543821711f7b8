import CSwatch
import Glibc

/// Builds the ordered list of sandboxing steps of one command from its unit's
/// settings (systemd.exec(5)). Pure: everything about the machine comes in a
/// `SandboxContext`. The steps come sorted by `SandboxStep.Kind.executionOrder`,
/// the order the child runs them in (stated once, in Sources/CSwatch/shim.c);
/// within the mount namespace, the order of the mounts is the plan's own.
package enum SandboxPlan {
    /// The device nodes of a private /dev (systemd.exec(5) PrivateDevices=).
    package static let privateDeviceNodes = ["null", "zero", "full", "random", "urandom", "tty"]

    /// The settings as applied: DynamicUser= implies NoNewPrivileges=yes,
    /// PrivateTmp=yes, RemoveIPC=yes, RestrictSUIDSGID=yes, ProtectSystem=strict and (unless the
    /// unit asks for more) ProtectHome=read-only (systemd.exec(5), DynamicUser=).
    package static func effective(_ sandbox: Sandbox) -> Sandbox {
        guard sandbox.dynamicUser else { return sandbox }
        var s = sandbox
        s.noNewPrivileges = true
        s.privateTmp = true
        s.removeIPC = true
        s.restrictSUIDSGID = true
        s.protectSystem = .strict
        if s.protectHome == .no { s.protectHome = .readOnly }
        return s
    }

    /// The steps for one command. `fullPrivileges` is the `+` prefix: only the
    /// process properties (Limit*=, Nice=, OOMScoreAdjust=) apply, no user
    /// change and no sandbox — as systemd.service(5) describes `+`.
    package static func steps(for unitSandbox: Sandbox, fullPrivileges: Bool = false,
                             context: SandboxContext) -> [SandboxStep] {
        let sandbox = effective(unitSandbox)
        var steps: [SandboxStep] = []

        // Process properties, while still privileged.
        for resource in ResourceLimit.allCases {
            guard let limit = sandbox.limits[resource] else { continue }
            steps.append(SandboxStep(.setLimit(resource: resource.number, soft: limit.soft, hard: limit.hard),
                                     resource.rawValue + "="))
        }
        if let nice = sandbox.nice { steps.append(SandboxStep(.setNice(nice), "Nice=")) }
        if let step = schedulerStep(sandbox) { steps.append(step) }
        if let step = ioPriorityStep(sandbox) { steps.append(step) }
        if let score = sandbox.oomScoreAdjust {
            steps.append(SandboxStep(.writeFile(path: "/proc/self/oom_score_adj", text: "\(score)\n"), "OOMScoreAdjust="))
        }
        if let mask = sandbox.coredumpFilter {
            // As systemd's set_coredump_filter() writes it: 0x and the mask in hexadecimal.
            steps.append(SandboxStep(.writeFile(path: "/proc/self/coredump_filter", text: "0x\(String(mask, radix: 16))\n"),
                                     "CoredumpFilter="))
        }
        if !sandbox.cpuAffinity.isEmpty {
            steps.append(SandboxStep(.setCPUAffinity(bitMask(sandbox.cpuAffinity)), "CPUAffinity="))
        }
        // The mask goes with a policy; default and local take none (apply_numa_policy(), src/shared/numa-util.c).
        if let policy = sandbox.numaPolicy {
            let nodes = policy == .default || policy == .local ? [] : bitMask(sandbox.numaMask)
            steps.append(SandboxStep(.setMemoryPolicy(mode: policy.mode, nodes: nodes), "NUMAPolicy="))
        }
        if let slack = sandbox.timerSlack { steps.append(SandboxStep(.setTimerSlack(slack), "TimerSlackNSec=")) }
        if let persona = sandbox.personality { steps.append(SandboxStep(.setPersonality(persona), "Personality=")) }
        // The session keyring: systemd sets it up for every command, `+` ones too (setup_keyring(),
        // src/core/exec-invoke.c).
        if let step = keyringStep(sandbox.keyringMode ?? context.implicitKeyringMode, owner: context.keyringOwner,
                                  invocationID: context.invocationID) {
            steps.append(step)
        }
        if fullPrivileges { return steps }  // (in order: these come first)

        // The namespaces other than the mount namespace, and `lo` in a new network one. A
        // namespace named by IPCNamespacePath= or NetworkNamespacePath= is joined instead of
        // a new one made: PrivateIPC= and PrivateNetwork= then have no effect (systemd.exec(5)).
        var joins: [SandboxStep] = []
        if let path = sandbox.ipcNamespacePath {
            joins.append(SandboxStep(.joinNamespace(path: path, type: SWATCH_CLONE_NEWIPC), "IPCNamespacePath="))
        }
        if let path = sandbox.networkNamespacePath {
            joins.append(SandboxStep(.joinNamespace(path: path, type: SWATCH_CLONE_NEWNET), "NetworkNamespacePath="))
        }
        let privateNetwork = sandbox.privateNetwork && sandbox.networkNamespacePath == nil
        var namespaceFlags: Int32 = 0
        var namespaceDirective = ""
        for (asked, flag, directive) in [(sandbox.protectHostname, SWATCH_CLONE_NEWUTS, "ProtectHostname="),
                                         (sandbox.privateIPC && sandbox.ipcNamespacePath == nil, SWATCH_CLONE_NEWIPC, "PrivateIPC="),
                                         (privateNetwork, SWATCH_CLONE_NEWNET, "PrivateNetwork=")] where asked {
            namespaceFlags |= flag
            if namespaceDirective.isEmpty { namespaceDirective = directive }
        }
        var unshares: [SandboxStep] = []
        if namespaceFlags != 0 { unshares.append(SandboxStep(.unshareNamespaces(namespaceFlags), namespaceDirective)) }
        // Every unshare (the mount namespace's too) before `lo` is brought up, then the mounts.
        let mounts = mountSteps(unitSandbox: unitSandbox, sandbox: sandbox, context: context)
        unshares += mounts.filter { $0.kind == .unshare }
        // Not root: first a user namespace, which the others then belong to (user_namespaces(7)).
        // It maps swatchd's own ids, which the service runs as: what PrivateUsers= asks of a user
        // manager (src/core/exec-invoke.c, setup_private_users()), so that is all it takes then.
        if let ids = context.unprivilegedIDs, let directive = unshares.first?.directive
            ?? (sandbox.privateUsers ? "PrivateUsers=" : nil) {
            steps.append(SandboxStep(.enterUserNamespace(uid: ids.uid, gid: ids.gid), directive))
        }
        steps += joins + unshares
        if privateNetwork { steps.append(SandboxStep(.interfaceUp("lo"), "PrivateNetwork=")) }
        steps += mounts.filter { $0.kind != .unshare }

        // Groups before the user ("drop the group before the user"), as root of the host's
        // user namespace: PrivateUsers= denies setgroups(2) in the service's own.
        let credentials = context.credentials
        let userDirective = sandbox.dynamicUser ? "DynamicUser=" : sandbox.user != nil ? "User=" : "Group="
        if let groups = credentials?.groups {
            let directive = sandbox.supplementaryGroups.isEmpty ? userDirective : "SupplementaryGroups="
            steps.append(SandboxStep(.setGroups(groups), directive))
        }
        if let gid = credentials?.gid {
            steps.append(SandboxStep(.setGroupID(gid), sandbox.group != nil ? "Group=" : userDirective))
        }
        // PrivateUsers= as root: the service's user namespace after the mounts (which stay the
        // host namespace's, out of the service's reach) and before the capabilities, which the
        // kernel resets on entering it; the service's capabilities then count in it alone.
        if sandbox.privateUsers, context.unprivilegedIDs == nil {
            steps.append(SandboxStep(.privateUsers(uid: credentials?.uid ?? 0, gid: credentials?.gid ?? 0), "PrivateUsers="))
        }

        // The bounding set, while CAP_SETPCAP is still there.
        let bounding = Capabilities.bounding(requested: sandbox.capabilityBoundingSet,
                                             privateDevices: sandbox.privateDevices)
            & ~Capabilities.protectionDrops(of: sandbox).reduce(UInt64(0)) { $0 | UInt64(1) << UInt64($1.capability) }
        for capability in Capabilities.drops(keeping: bounding, last: context.lastCapability) {
            steps.append(SandboxStep(.dropBoundingCapability(capability),
                                     Capabilities.directive(dropping: capability, sandbox: sandbox)))
        }

        // Ambient capabilities need PR_SET_KEEPCAPS across setresuid, then capset and
        // PR_CAP_AMBIENT_RAISE (capabilities(7), "Ambient capability set").
        let ambient = Capabilities.ambient(requested: sandbox.ambientCapabilities, bounding: bounding,
                                           last: context.lastCapability)
        // SecureBits= after the user change, with CAP_SETPCAP, which keep-caps lets through
        // setresuid, as systemd's enforce_user() keeps it (src/core/exec-invoke.c).
        let secureBits = SandboxStep(.setSecureBits(sandbox.secureBits), "SecureBits=")
        if let credentials {
            let switchesUser = credentials.uid.map { $0 != 0 } ?? false
            if switchesUser, ambient != 0 || sandbox.secureBits != 0 {
                steps.append(SandboxStep(.keepCapabilities(true), ambient != 0 ? "AmbientCapabilities=" : "SecureBits="))
            }
            if let uid = credentials.uid { steps.append(SandboxStep(.setUserID(uid), userDirective)) }
            if sandbox.secureBits != 0 { steps.append(secureBits) }
            if switchesUser, ambient != 0 {
                steps.append(SandboxStep(.setCapabilities(permitted: ambient, inheritable: ambient), "AmbientCapabilities="))
                for capability in Capabilities.numbers(ambient) {
                    steps.append(SandboxStep(.raiseAmbientCapability(capability), "AmbientCapabilities="))
                }
            }
        }
        // (As root, ambient capabilities add nothing: execve gives uid 0 the bounding set.)
        else if sandbox.secureBits != 0 { steps.append(secureBits) }

        // Loading a seccomp filter needs no_new_privs or CAP_SYS_ADMIN (seccomp(2)): once the
        // user is no longer root (or never was: swatchd not root), the filters imply
        // NoNewPrivileges=yes, as systemd.exec(5) says of SystemCallFilter= and friends.
        let switchesUser = context.credentials?.uid.map { $0 != 0 } ?? false
        if sandbox.noNewPrivileges {
            steps.append(SandboxStep(.noNewPrivileges, unitSandbox.noNewPrivileges ? "NoNewPrivileges=" : "DynamicUser="))
        } else if switchesUser || context.unprivilegedIDs != nil, let first = context.seccompPrograms.first {
            steps.append(SandboxStep(.noNewPrivileges, first.directive))
        }
        for (directive, program) in context.seccompPrograms {
            steps.append(SandboxStep(.loadSeccompFilter(program), directive))
        }
        assert(SandboxStep.areInExecutionOrder(steps), "sandbox steps out of the child's order: \(steps)")
        return steps
    }

    /// The session keyring of KeyringMode= `mode`; nil for `inherit` (swatchd's own).
    static func keyringStep(_ mode: KeyringMode, owner: Credentials, invocationID: [UInt8]) -> SandboxStep? {
        guard mode != .inherit else { return nil }
        return SandboxStep(.joinSessionKeyring(linkUserKeyring: mode == .shared, owner: owner, invocationID: invocationID),
                           "KeyringMode=")
    }

    /// The words of a CPU or node mask (a cpu_set_t's layout: bit n of word n / 64 is n); one
    /// word of zeros for none, which the kernel refuses where it wants some.
    static func bitMask(_ sorted: [Int]) -> [UInt64] {
        var mask = [UInt64](repeating: 0, count: (sorted.last ?? 0) / 64 + 1)
        for index in sorted { mask[index / 64] |= 1 << UInt64(index % 64) }
        return mask
    }

    /// sched_setscheduler(2) when any CPUScheduling*= is set, the others at the kernel's
    /// default, as systemd's exec_child() calls it (src/core/exec-invoke.c); named by the
    /// first set of them, in the order of systemd.exec(5).
    static func schedulerStep(_ sandbox: Sandbox) -> SandboxStep? {
        let directive = sandbox.cpuSchedulingPolicy != nil ? "CPUSchedulingPolicy="
            : sandbox.cpuSchedulingPriority != nil ? "CPUSchedulingPriority="
            : sandbox.cpuSchedulingResetOnFork != nil ? "CPUSchedulingResetOnFork=" : nil
        guard let directive else { return nil }
        let resetOnFork: Int32 = sandbox.cpuSchedulingResetOnFork == true ? 0x4000_0000 : 0   // SCHED_RESET_ON_FORK
        return SandboxStep(.setScheduler(policy: (sandbox.cpuSchedulingPolicy ?? .other).rawValue | resetOnFork,
                                         priority: sandbox.cpuSchedulingPriority ?? 0), directive)
    }

    /// ioprio_set(2) when IOSchedulingClass= or IOSchedulingPriority= is set, the other at the
    /// kernel's default (best-effort, 4): IOPRIO_PRIO_VALUE (linux/ioprio.h). The class `none`
    /// takes no level: it is the kernel's default, which follows the nice value.
    static func ioPriorityStep(_ sandbox: Sandbox) -> SandboxStep? {
        guard sandbox.ioSchedulingClass != nil || sandbox.ioSchedulingPriority != nil else { return nil }
        let ioClass = sandbox.ioSchedulingClass ?? .bestEffort
        let level = ioClass == .none ? 0 : sandbox.ioSchedulingPriority ?? 4
        return SandboxStep(.setIOPriority(ioClass.rawValue << 13 | level),
                           sandbox.ioSchedulingClass != nil ? "IOSchedulingClass=" : "IOSchedulingPriority=")
    }

    /// The paths the namespace covers with something else (a tmpfs, the
    /// unit's private /tmp, an inaccessible node), with the directive that covers each: whatever is
    /// below them on the host is out of the service's sight — swatchd's
    /// notify socket included, if its runtime directory is there.
    package static func coveredPaths(for unitSandbox: Sandbox) -> [(path: String, directive: String)] {
        entries(unitSandbox: unitSandbox, sandbox: effective(unitSandbox), context: SandboxContext())
            .filter { $0.kind == .tmpfs || $0.kind == .privateDirectory || $0.kind == .inaccessible }
            .map { ($0.path, $0.directive) }
    }

    /// The directive of the first namespace the plan unshares (the one a user namespace is
    /// set up for when swatchd is not root), PrivateUsers= last; nil: the plan unshares none.
    package static func namespaceDirective(for unitSandbox: Sandbox) -> String? {
        steps(for: unitSandbox, context: SandboxContext()).first { $0.kind == .unshare || $0.kind == .privateUsers }?.directive
    }

    /// The directive of the first path the namespace makes read-only: the plan then
    /// needs the machine's mount points (each mount below it is remounted too). nil: none.
    package static func readOnlyDirective(for unitSandbox: Sandbox) -> String? {
        entries(unitSandbox: unitSandbox, sandbox: effective(unitSandbox), context: SandboxContext())
            .first { ($0.readOnly || $0.noExec != nil) && $0.kind == .bind }?.directive
    }

    // MARK: - The mount namespace

    /// How one path is to look in the namespace.
    enum EntryKind: Int, Comparable {
        /// /dev, /proc, /sys under ProtectSystem=strict: left as they are.
        case api = 0
        /// Bound onto itself so that it is a mount of its own (and may stay writable).
        case bind = 1
        /// A directory of the unit's own bound over it (PrivateTmp=).
        case privateDirectory = 2
        /// A fresh tmpfs.
        case tmpfs = 3
        /// An empty node of mode 0000 bound over it.
        case inaccessible = 4
        static func < (a: EntryKind, b: EntryKind) -> Bool { a.rawValue < b.rawValue }
    }

    /// One path of the namespace, merged from every directive that names it.
    struct Entry {
        var path: String
        var kind: EntryKind
        var readOnly: Bool
        var optional: Bool
        var directive: String
        /// tmpfs: the mount flags and options.
        var tmpfsFlags: MountFlags = []
        var tmpfsData = ""
        /// privateDirectory: the host directory bound there.
        var source = ""
        /// privateDirectory: bound with the mounts below the source (BindPaths='s `rbind`).
        var recursive = false
        /// NoExecPaths= (true), ExecPaths= (false); nil: as the mount above it.
        var noExec: Bool?
        /// Only NoExecPaths=/ExecPaths= name the path: it stays as read-only as the path above it.
        var execOnly = false
    }

    /// ProtectSystem=, ProtectHome=, PrivateTmp=, the *Paths= and the service
    /// directories as entries: one per path, the most restrictive kind winning
    /// and read-only if any directive asks for it there.
    static func entries(unitSandbox: Sandbox, sandbox: Sandbox, context: SandboxContext) -> [Entry] {
        var byPath: [String: Entry] = [:]
        var order: [String] = []
        func add(_ rawPath: String, _ kind: EntryKind, readOnly: Bool, optional: Bool = false, _ directive: String,
                 tmpfsFlags: MountFlags = [], tmpfsData: String = "", source: String = "", recursive: Bool = false,
                 noExec: Bool? = nil) {
            let path = normalize(rawPath)
            let execOnly = directive == "NoExecPaths=" || directive == "ExecPaths="
            let new = Entry(path: path, kind: kind, readOnly: readOnly, optional: optional, directive: directive,
                            tmpfsFlags: tmpfsFlags, tmpfsData: tmpfsData, source: source, recursive: recursive,
                            noExec: noExec, execOnly: execOnly)
            guard var old = byPath[path] else {
                byPath[path] = new
                order.append(path)
                return
            }
            if new.kind > old.kind || (old.execOnly && !execOnly) {
                old.kind = max(old.kind, new.kind)
                old.directive = new.directive
                old.tmpfsFlags = new.tmpfsFlags
                old.tmpfsData = new.tmpfsData
                old.source = new.source
                old.recursive = new.recursive
            }
            old.readOnly = old.readOnly || new.readOnly
            old.optional = old.optional && new.optional
            old.execOnly = old.execOnly && execOnly
            // ExecPaths= is the exception inside NoExecPaths= (systemd.exec(5)).
            if let noExec { old.noExec = old.noExec == false ? false : noExec }
            byPath[path] = old
        }
        /// A *Paths= word: `-` ignores a missing path; `+` (relative to
        /// RootDirectory=, which swatchd does not support) is the path itself.
        func word(_ text: String) -> (path: String, optional: Bool) {
            var rest = Substring(text)
            var optional = false
            while let first = rest.first, first == "-" || first == "+" {
                if first == "-" { optional = true }
                rest = rest.dropFirst()
            }
            return (String(rest), optional)
        }

        let system = unitSandbox.protectSystem != .no ? "ProtectSystem=" : "DynamicUser="
        switch sandbox.protectSystem {
        case .no: break
        case .yes, .full:
            add("/usr", .bind, readOnly: true, system)
            add("/boot", .bind, readOnly: true, optional: true, system)
            add("/efi", .bind, readOnly: true, optional: true, system)
            if sandbox.protectSystem == .full { add("/etc", .bind, readOnly: true, system) }
        case .strict:
            add("/", .bind, readOnly: true, system)
            for api in ["/dev", "/proc", "/sys"] { add(api, .api, readOnly: false, system) }
        }
        let home = unitSandbox.protectHome != .no ? "ProtectHome=" : "DynamicUser="
        for path in ["/home", "/root", "/run/user"] {
            switch sandbox.protectHome {
            case .no: break
            case .yes: add(path, .inaccessible, readOnly: true, optional: true, home)
            case .readOnly: add(path, .bind, readOnly: true, optional: true, home)
            case .tmpfs:
                add(path, .tmpfs, readOnly: true, optional: true, home,
                    tmpfsFlags: [.readOnly, .noSetUID, .noDevices, .noExec], tmpfsData: "mode=0755")
            }
        }
        if sandbox.privateTmp {
            // One /tmp for every process of the unit (ExecStartPre= prepares
            // what ExecStart= finds), as systemd.exec(5) describes PrivateTmp=.
            let directive = unitSandbox.privateTmp ? "PrivateTmp=" : "DynamicUser="
            let sources = context.privateTemporaryDirectories
            add("/tmp", .privateDirectory, readOnly: false, directive, source: sources.tmp)
            add("/var/tmp", .privateDirectory, readOnly: false, directive, source: sources.varTmp)
        }
        if sandbox.privateDevices { add("/dev", .api, readOnly: false, "PrivateDevices=") }
        // The kernel's knobs read-only, its logs and modules out of sight (systemd's
        // src/core/namespace.c: protect_kernel_tunables_table, protect_kernel_modules_table,
        // protect_kernel_logs_table, and ProtectControlGroups=).
        if sandbox.protectKernelTunables {
            for path in ["/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
                         "/proc/latency_stats", "/proc/mtrr", "/proc/scsi", "/proc/sys", "/proc/sysrq-trigger",
                         "/proc/timer_list", "/proc/timer_stats", "/sys"] {
                add(path, .bind, readOnly: true, optional: true, "ProtectKernelTunables=")
            }
        }
        if sandbox.protectControlGroups { add("/sys/fs/cgroup", .bind, readOnly: true, optional: true, "ProtectControlGroups=") }
        if sandbox.protectKernelModules {
            for path in ["/lib/modules", "/usr/lib/modules"] {
                add(path, .inaccessible, readOnly: true, optional: true, "ProtectKernelModules=")
            }
        }
        if sandbox.protectKernelLogs {
            for path in ["/proc/kmsg", "/dev/kmsg"] { add(path, .inaccessible, readOnly: true, optional: true, "ProtectKernelLogs=") }
        }
        if sandbox.protectClock {
            for path in context.clockDevices { add(path, .inaccessible, readOnly: true, optional: true, "ProtectClock=") }
        }
        for text in sandbox.readWritePaths {
            let (path, optional) = word(text)
            add(path, .bind, readOnly: false, optional: optional, "ReadWritePaths=")
        }
        for text in sandbox.readOnlyPaths {
            let (path, optional) = word(text)
            add(path, .bind, readOnly: true, optional: optional, "ReadOnlyPaths=")
        }
        for text in sandbox.inaccessiblePaths {
            let (path, optional) = word(text)
            add(path, .inaccessible, readOnly: true, optional: optional, "InaccessiblePaths=")
        }
        for text in sandbox.temporaryFileSystem {
            let parts = text.split(separator: ":", maxSplits: 1)
            // systemd's default: nodev, strictatime, mode=0755; `ro` and the other flags as mount(8) names them.
            var flags: MountFlags = [.noDevices, .strictAccessTime]
            var data: [String] = []
            for option in parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : [] {
                switch option {
                case "ro": flags.insert(.readOnly)
                case "rw": flags.remove(.readOnly)
                case "nosuid": flags.insert(.noSetUID)
                case "suid": flags.remove(.noSetUID)
                case "nodev": flags.insert(.noDevices)
                case "dev": flags.remove(.noDevices)
                case "noexec": flags.insert(.noExec)
                case "exec": flags.remove(.noExec)
                default: data.append(option)
                }
            }
            if !data.contains(where: { $0.hasPrefix("mode=") }) { data.insert("mode=0755", at: 0) }
            add(String(parts[0]), .tmpfs, readOnly: flags.contains(.readOnly), "TemporaryFileSystem=",
                tmpfsFlags: flags, tmpfsData: data.joined(separator: ","))
        }
        for (texts, readOnly, directive) in [(sandbox.bindPaths, false, "BindPaths="),
                                             (sandbox.bindReadOnlyPaths, true, "BindReadOnlyPaths=")] {
            for text in texts {
                let optional = text.hasPrefix("-")
                let parts = text.drop(while: { $0 == "-" }).split(separator: ":", omittingEmptySubsequences: false)
                let source = String(parts[0])
                let destination = parts.count > 1 ? String(parts[1]) : source
                // `rbind` is BindPaths='s default; a read-only bind takes no mount from
                // below its source, so none of them can stay writable there.
                let recursive = !readOnly && (parts.count < 3 || parts[2] == "rbind")
                add(destination, .privateDirectory, readOnly: readOnly, optional: optional, directive,
                    source: source, recursive: recursive)
            }
        }
        for (texts, noExec, directive) in [(sandbox.noExecPaths, true, "NoExecPaths="),
                                           (sandbox.execPaths, false, "ExecPaths=")] {
            for text in texts {
                let (path, optional) = word(text)
                add(path, .bind, readOnly: false, optional: optional, directive, noExec: noExec)
            }
        }
        // The service's own directories stay writable where something around
        // them is read-only (ProtectSystem=strict); alone they need no namespace.
        if byPath.values.contains(where: \.readOnly) {
            for (path, directive) in context.serviceDirectories { add(path, .bind, readOnly: false, directive) }
        }
        // A path bound onto itself is a mount of its own: the remounts of the paths above it
        // no longer reach it. So it takes their noexec (unless ExecPaths= names it) and, when
        // only NoExecPaths=/ExecPaths= name it, their read-only flag.
        for path in order {
            guard var entry = byPath[path], entry.kind == .bind || entry.kind == .privateDirectory else { continue }
            let above = order.filter { isBelow(path, $0) }.compactMap { byPath[$0] }.filter { $0.kind != .api }
                .max { depth($0.path) < depth($1.path) }
            guard let above else { continue }
            if entry.noExec == nil, above.noExec == true { entry.noExec = true }
            if entry.execOnly, above.readOnly { entry.readOnly = true }
            byPath[path] = entry
        }
        return order.compactMap { byPath[$0] }
    }

    /// unshare, then the private /dev, the inaccessible nodes, the unit's own
    /// /tmp, the self-binds, the tmpfs mounts and last the read-only remounts — binds first, while
    /// the host's paths they copy are still visible; remounts after every
    /// mount exists, so that each reaches the mount it is meant for.
    static func mountSteps(unitSandbox: Sandbox, sandbox: Sandbox, context: SandboxContext) -> [SandboxStep] {
        var entries = entries(unitSandbox: unitSandbox, sandbox: sandbox, context: context)
        // An optional InaccessiblePaths= (or ProtectHome=yes) path that is not
        // there has nothing to hide; a required one fails in the child (ENOENT).
        var kinds: [String: PathKind] = [:]
        entries.removeAll { entry in
            guard entry.kind == .inaccessible else { return false }
            let kind = context.pathKind(entry.path)
            kinds[entry.path] = kind
            return kind == nil && entry.optional
        }
        let procOptions = [sandbox.protectProc.map { "hidepid=\($0)" }, sandbox.procSubsetPID ? "subset=pid" : nil].compactMap { $0 }
        // PrivatePIDs= implies MountAPIVFS=yes (systemd.exec(5)): a /proc of the new PID
        // namespace, with ProtectProc='s and ProcSubset='s options where they are set.
        let mountsProc = !procOptions.isEmpty || sandbox.privatePIDs
        guard sandbox.privateDevices || sandbox.privateMounts || sandbox.mountAPIVFS || mountsProc
              || entries.contains(where: { $0.kind != .api }) else { return [] }

        let first = ["PrivateDevices=", "PrivateTmp=", "ProtectSystem=", "ProtectHome=", "ReadWritePaths=",
                     "ReadOnlyPaths=", "InaccessiblePaths=", "ProtectKernelTunables=", "ProtectControlGroups=",
                     "ProtectKernelModules=", "ProtectKernelLogs=", "ProtectClock=", "TemporaryFileSystem=", "BindPaths=",
                     "BindReadOnlyPaths=", "NoExecPaths=", "ExecPaths="].first { directive in
            directive == "PrivateDevices=" ? sandbox.privateDevices : entries.contains { $0.directive == directive }
        } ?? entries.first?.directive
            ?? (sandbox.privateMounts ? "PrivateMounts=" : mountsProc ? procDirective(sandbox)
                : sandbox.mountAPIVFS ? "MountAPIVFS=" : "PrivateDevices=")
        var steps = [
            SandboxStep(.unshareMountNamespace, first),
            // Nothing done in the namespace may propagate back to the host's mounts.
            SandboxStep(.mount(source: nil, target: "/", type: nil, flags: [.slave, .recursive], data: nil), first),
        ]
        if sandbox.privateDevices { steps += privateDeviceSteps(context: context, privateIPC: sandbox.privateIPC) }
        // ProtectProc=/ProcSubset=, PrivatePIDs=: a proc instance of the service's own, before
        // anything is bound below /proc (ProtectKernelTunables=, ProtectKernelLogs=): proc(5),
        // "Mount options"; mounted by the child, so of its PID namespace.
        if mountsProc {
            steps.append(SandboxStep(.mount(source: "proc", target: "/proc", type: "proc", flags: [.noSetUID, .noDevices, .noExec],
                                            data: procOptions.isEmpty ? nil : procOptions.joined(separator: ",")),
                                     procDirective(sandbox)))
        }

        let byDepth = entries.sorted { (depth($0.path), $0.path) < (depth($1.path), $1.path) }
        for entry in byDepth where entry.kind == .inaccessible {
            let node = kinds[entry.path] == .directory || kinds[entry.path] == nil
                ? context.inaccessibleDirectory : context.inaccessibleFile
            steps.append(SandboxStep(.mount(source: node, target: entry.path, type: nil, flags: [.bind], data: nil),
                                     entry.directive, ignore: entry.optional ? .missing : []))
        }
        // The unit's own /tmp before the self-binds, so that a *Paths= below /tmp names a
        // path in it; after the inaccessible nodes, whose sources may be under the host's /tmp.
        for entry in byDepth where entry.kind == .privateDirectory {
            steps.append(SandboxStep(.mount(source: entry.source, target: entry.path, type: nil,
                                            flags: entry.recursive ? [.bind, .recursive] : [.bind], data: nil),
                                     entry.directive, ignore: entry.optional ? .missing : []))
        }
        for entry in byDepth where entry.kind == .bind && entry.path != "/" {
            steps.append(SandboxStep(.mount(source: entry.path, target: entry.path, type: nil,
                                            flags: [.bind, .recursive], data: nil),
                                     entry.directive, ignore: entry.optional ? .missing : []))
        }
        for entry in byDepth where entry.kind == .tmpfs {
            steps.append(SandboxStep(.mount(source: "tmpfs", target: entry.path, type: "tmpfs",
                                            flags: entry.tmpfsFlags, data: entry.tmpfsData),
                                     entry.directive, ignore: entry.optional ? .missing : []))
        }
        for entry in byDepth where (entry.readOnly || entry.noExec != nil) && entry.kind != .api {
            var flags: MountFlags = entry.kind == .inaccessible ? [.readOnly, .noSetUID, .noDevices, .noExec]
                : entry.readOnly ? [.readOnly] : []
            if entry.noExec == true { flags.insert(.noExec) }
            func remount(_ target: String) -> SandboxOperation {
                entry.noExec == false ? .remountExecutable(target: target, flags: flags) : .remount(target: target, flags: flags)
            }
            if !(entry.kind == .tmpfs && entry.tmpfsFlags.contains(.readOnly) && entry.noExec == nil) {
                steps.append(SandboxStep(remount(entry.path), entry.directive,
                                         ignore: entry.optional ? .missing : []))
            }
            // A bind remount changes one mount: each mount below the path gets
            // its own, except those under a deeper entry, which has its say.
            // (A tmpfs or an inaccessible node covers whatever was below it.)
            guard entry.kind == .bind else { continue }
            let deeper = entries.filter { isBelow($0.path, entry.path) }.map(\.path)
            for mountPoint in context.mountPoints.map(normalize) where isBelow(mountPoint, entry.path) {
                guard !deeper.contains(where: { atOrBelow(mountPoint, $0) }) else { continue }
                steps.append(SandboxStep(remount(mountPoint), entry.directive, ignore: [.missing, .notMounted]))
            }
        }
        return steps
    }

    static func procDirective(_ sandbox: Sandbox) -> String {
        sandbox.protectProc != nil ? "ProtectProc=" : sandbox.procSubsetPID ? "ProcSubset=" : "PrivatePIDs="
    }

    /// A tmpfs with only the listed nodes (bound from the host's), a devpts of
    /// its own, /dev/shm and /dev/mqueue, and the usual symlinks; moved onto
    /// /dev, then made read-only (its submounts stay writable).
    static func privateDeviceSteps(context: SandboxContext, privateIPC: Bool = false) -> [SandboxStep] {
        let stage = context.deviceStaging
        func step(_ operation: SandboxOperation, ignore: SandboxIgnore = []) -> SandboxStep {
            SandboxStep(operation, "PrivateDevices=", ignore: ignore)
        }
        var steps = [step(.mount(source: "tmpfs", target: stage, type: "tmpfs",
                                 flags: [.noSetUID, .noExec, .strictAccessTime], data: "mode=0755,size=4m"))]
        // A node the host lacks (a container without /dev/tty) is left out, as systemd does.
        for node in privateDeviceNodes where context.pathKind("/dev/\(node)") != nil {
            steps.append(step(.createFile(path: "\(stage)/\(node)", mode: 0o666)))
            steps.append(step(.mount(source: "/dev/\(node)", target: "\(stage)/\(node)", type: nil, flags: [.bind], data: nil)))
        }
        let group = context.ttyGroup.map { ",gid=\($0)" } ?? ""
        steps += [
            step(.makeDirectory(path: "\(stage)/pts", mode: 0o755)),
            step(.mount(source: "devpts", target: "\(stage)/pts", type: "devpts", flags: [.noSetUID, .noExec],
                        data: "newinstance,ptmxmode=0666,mode=0620\(group)")),
            step(.symlink(destination: "pts/ptmx", path: "\(stage)/ptmx")),
            step(.makeDirectory(path: "\(stage)/shm", mode: 0o1777)),
            step(.mount(source: "tmpfs", target: "\(stage)/shm", type: "tmpfs", flags: [.noSetUID, .noDevices],
                        data: "mode=1777")),
            step(.makeDirectory(path: "\(stage)/mqueue", mode: 0o755)),
            // An mqueue instance belongs to the IPC namespace of its mounter, whose owner alone
            // may mount it (mq_overview(7)): in a user namespace without PrivateIPC=, the
            // host's is bound instead, as systemd's mount_private_dev() binds it
            // (src/core/namespace.c).
            context.unprivilegedIDs != nil && !privateIPC
                ? step(.mount(source: "/dev/mqueue", target: "\(stage)/mqueue", type: nil, flags: [.bind], data: nil),
                       ignore: .missing)
                : step(.mount(source: "mqueue", target: "\(stage)/mqueue", type: "mqueue",
                              flags: [.noSetUID, .noDevices, .noExec], data: nil), ignore: .unsupported),
            step(.symlink(destination: "/proc/self/fd", path: "\(stage)/fd")),
            step(.symlink(destination: "/proc/self/fd/0", path: "\(stage)/stdin")),
            step(.symlink(destination: "/proc/self/fd/1", path: "\(stage)/stdout")),
            step(.symlink(destination: "/proc/self/fd/2", path: "\(stage)/stderr")),
            step(.mount(source: stage, target: "/dev", type: nil, flags: [.move], data: nil)),
            step(.remount(target: "/dev", flags: [.readOnly])),
        ]
        return steps
    }

    // MARK: - Paths

    /// Without repeated and trailing slashes; `/` stays `/`.
    static func normalize(_ path: String) -> String {
        // String by String: `joined(separator:)` over the split's Substrings is the unspecialized
        // generic, whose first call looks its conformances up in the runtime (~110,000
        // instructions at start-up).
        var normal = ""
        for part in path.split(separator: "/") {
            normal += "/"
            normal += String(part)
        }
        return normal.isEmpty ? "/" : normal
    }

    static func depth(_ path: String) -> Int { path == "/" ? 0 : path.split(separator: "/").count }

    /// `path` is strictly inside `directory`.
    static func isBelow(_ path: String, _ directory: String) -> Bool {
        directory == "/" ? path != "/" : path.hasPrefix(directory + "/")
    }

    package static func atOrBelow(_ path: String, _ directory: String) -> Bool { path == directory || isBelow(path, directory) }
}

extension ResourceLimit {
    /// The RLIMIT_* number of setrlimit(2).
    var number: Int32 {
        switch self {
        case .cpu: Int32(RLIMIT_CPU.rawValue)
        case .fsize: Int32(RLIMIT_FSIZE.rawValue)
        case .data: Int32(RLIMIT_DATA.rawValue)
        case .stack: Int32(RLIMIT_STACK.rawValue)
        case .core: Int32(RLIMIT_CORE.rawValue)
        case .rss: Int32(__RLIMIT_RSS.rawValue)
        case .nofile: Int32(RLIMIT_NOFILE.rawValue)
        case .as: Int32(RLIMIT_AS.rawValue)
        case .nproc: Int32(__RLIMIT_NPROC.rawValue)
        case .memlock: Int32(__RLIMIT_MEMLOCK.rawValue)
        case .locks: Int32(__RLIMIT_LOCKS.rawValue)
        case .sigpending: Int32(__RLIMIT_SIGPENDING.rawValue)
        case .msgqueue: Int32(__RLIMIT_MSGQUEUE.rawValue)
        case .nice: Int32(__RLIMIT_NICE.rawValue)
        case .rtprio: Int32(__RLIMIT_RTPRIO.rawValue)
        case .rttime: Int32(__RLIMIT_RTTIME.rawValue)
        }
    }
}
