import CSwatch
import Glibc

/// One system call the spawned child makes to sandbox itself, between clone
/// and execve (Sources/CSwatch/shim.c explains why there and not in a helper).
/// Everything is decided before the clone — paths, ids, capability numbers —
/// so the child only issues the call. `SandboxPlan` builds the list; the C
/// side (`enum swatch_sandbox_kind`) runs it in order.
package enum SandboxOperation: Hashable, Sendable {
    /// `setrlimit(resource, {soft, hard})`: Limit*=.
    case setLimit(resource: Int32, soft: UInt64, hard: UInt64)
    /// `setpriority(PRIO_PROCESS, 0, nice)`: Nice=.
    case setNice(Int32)
    /// `sched_setscheduler(0, policy, {priority})`, SCHED_RESET_ON_FORK in `policy`: CPUScheduling*=.
    case setScheduler(policy: Int32, priority: Int32)
    /// `ioprio_set(IOPRIO_WHO_PROCESS, 0, value)`: IOScheduling*=.
    case setIOPriority(Int32)
    /// `sched_setaffinity(0, mask)`: CPUAffinity= (bit n of word n / 64: CPU n).
    case setCPUAffinity([UInt64])
    /// `set_mempolicy(mode, nodes)`: NUMAPolicy=, NUMAMask= (bit n of word n / 64: node n).
    case setMemoryPolicy(mode: Int32, nodes: [UInt64])
    /// `prctl(PR_SET_TIMERSLACK, nanoseconds)`: TimerSlackNSec=.
    case setTimerSlack(UInt64)
    /// `personality(persona)`: Personality=.
    case setPersonality(Int)
    /// KeyringMode=private/shared: joins a new session keyring, owned by `owner` (nil fields:
    /// swatchd's own ids), the user keyring of that uid linked into it when `linkUserKeyring`,
    /// and adds the 16 bytes of `invocationID` (none when empty) as the key "invocation_id"
    /// (src/core/exec-invoke.c, setup_keyring()).
    case joinSessionKeyring(linkUserKeyring: Bool, owner: Credentials, invocationID: [UInt8])
    /// Writes `text` to an existing file: OOMScoreAdjust= (/proc/self/oom_score_adj).
    case writeFile(path: String, text: String)
    /// `unshare(CLONE_NEWUSER)` and the maps of `uid` and `gid` onto themselves (setgroups
    /// denied): the namespace a swatchd that is not root sets up the others in.
    case enterUserNamespace(uid: uid_t, gid: gid_t)
    /// PrivateUsers= as root: `unshare(CLONE_NEWUSER)`, root, `uid` and `gid` mapped onto
    /// themselves (every other id is the overflow id) by a helper left in the host's
    /// namespace, setgroups denied (src/core/exec-invoke.c, setup_private_users()).
    case privateUsers(uid: uid_t, gid: gid_t)
    /// `unshare(CLONE_NEWNS)`: a mount namespace of the service's own.
    case unshareMountNamespace
    /// `setns(open(path), type)`: NetworkNamespacePath= (CLONE_NEWNET), IPCNamespacePath= (CLONE_NEWIPC).
    case joinNamespace(path: String, type: Int32)
    /// `unshare(flags)`: the other namespaces (CLONE_NEWUTS: ProtectHostname=,
    /// CLONE_NEWIPC: PrivateIPC=, CLONE_NEWNET: PrivateNetwork=).
    case unshareNamespaces(Int32)
    /// Sets IFF_UP on an interface (SIOCSIFFLAGS, netdevice(7)): `lo` of PrivateNetwork=.
    case interfaceUp(String)
    /// `mount(source, target, type, flags, data)`, exactly as given.
    case mount(source: String?, target: String, type: String?, flags: MountFlags, data: String?)
    /// A bind remount of `target` that adds `flags` and keeps the mount's
    /// nosuid/nodev/noexec flags (read in the child with statfs) and atime flags.
    case remount(target: String, flags: MountFlags)
    /// The same, but dropping the mount's noexec flag: ExecPaths= inside NoExecPaths=.
    case remountExecutable(target: String, flags: MountFlags)
    /// `mkdir(path, mode)`; an existing directory is fine.
    case makeDirectory(path: String, mode: mode_t)
    /// An empty regular file, as a target to bind a file over.
    case createFile(path: String, mode: mode_t)
    /// `symlink(destination, path)`.
    case symlink(destination: String, path: String)
    /// `prctl(PR_CAPBSET_DROP, capability)`.
    case dropBoundingCapability(Int32)
    /// `prctl(PR_SET_KEEPCAPS, on)`: permitted capabilities survive setresuid.
    case keepCapabilities(Bool)
    /// `setgroups(groups)`.
    case setGroups([gid_t])
    /// `setresgid(gid, gid, gid)`.
    case setGroupID(gid_t)
    /// `setresuid(uid, uid, uid)`.
    case setUserID(uid_t)
    /// `prctl(PR_SET_SECUREBITS, bits)`, CAP_SETPCAP raised into the effective set for it: SecureBits=.
    case setSecureBits(Int32)
    /// `capset`: effective = permitted = `permitted`, and `inheritable` (bit n: capability n).
    case setCapabilities(permitted: UInt64, inheritable: UInt64)
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capability)`.
    case raiseAmbientCapability(Int32)
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    case noNewPrivileges
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, program)`: a filter built by
    /// libseccomp before the clone (`SeccompCompiler`); the child loads it
    /// right before execve.
    case loadSeccompFilter(SeccompProgram)
}

/// Flags of mount(2), with Swift names (values from <sys/mount.h>).
package struct MountFlags: OptionSet, Hashable, Sendable {
    package var rawValue: UInt
    package init(rawValue: UInt) { self.rawValue = rawValue }

    package static let readOnly = MountFlags(rawValue: UInt(MS_RDONLY))
    package static let noSetUID = MountFlags(rawValue: UInt(MS_NOSUID))
    package static let noDevices = MountFlags(rawValue: UInt(MS_NODEV))
    package static let noExec = MountFlags(rawValue: UInt(MS_NOEXEC))
    package static let strictAccessTime = MountFlags(rawValue: UInt(MS_STRICTATIME))
    package static let bind = MountFlags(rawValue: UInt(MS_BIND))
    package static let move = MountFlags(rawValue: UInt(MS_MOVE))
    package static let recursive = MountFlags(rawValue: UInt(MS_REC))
    package static let slave = MountFlags(rawValue: UInt(MS_SLAVE))
}

/// Which failures of a step are no failures (`enum swatch_sandbox_ignore`).
package struct SandboxIgnore: OptionSet, Hashable, Sendable {
    package var rawValue: Int32
    package init(rawValue: Int32) { self.rawValue = rawValue }

    /// ENOENT/ENOTDIR: the path is not there (`-` prefix; /boot on a machine without one).
    package static let missing = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_MISSING.rawValue))
    /// EINVAL of a remount: no longer a mount point in the namespace (hidden under another mount).
    package static let notMounted = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_NOT_MOUNTED.rawValue))
    /// ENODEV: the kernel lacks the file system.
    package static let unsupported = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_UNSUPPORTED.rawValue))
}

/// An operation and the directive it serves: a failure reads
/// `Failed to spawn x.service: PrivateDevices=: Operation not permitted`.
package struct SandboxStep: Hashable, Sendable, CustomStringConvertible {
    package var operation: SandboxOperation
    /// The directive as a user wrote it, with its `=`: `PrivateDevices=`, `LimitNOFILE=`.
    package var directive: String
    package var ignore: SandboxIgnore

    package init(_ operation: SandboxOperation, _ directive: String, ignore: SandboxIgnore = []) {
        self.operation = operation
        self.directive = directive
        self.ignore = ignore
    }

    package var description: String { "\(directive) \(operation)" + (ignore.isEmpty ? "" : " ignore:\(ignore.rawValue)") }
}

// MARK: - The order of the steps

extension SandboxStep {
    /// The group a step belongs to: one per sandboxing value of the C side's
    /// `enum swatch_spawn_step`, which a failure names (`setresuid`, `mount`).
    /// The steps run ordered by kind, in `executionOrder`.
    package enum Kind: CaseIterable, Hashable, Sendable {
        case limit, nice, scheduler, ioPriority, oomScoreAdjust, cpuAffinity, memoryPolicy, timerSlack, personality
        case keyring
        case userNamespace
        case unshare, loopback, mount, groups, groupID
        case privateUsers, boundingSet, keepCapabilities, userID, secureBits, capabilities, ambient, noNewPrivileges, seccomp

        /// Its `SWATCH_SPAWN_STEP_*` value.
        package var spawnStep: Int32 {
            let step: swatch_spawn_step = switch self {
            case .limit: SWATCH_SPAWN_STEP_RLIMIT
            case .nice: SWATCH_SPAWN_STEP_NICE
            case .scheduler: SWATCH_SPAWN_STEP_SCHEDULER
            case .ioPriority: SWATCH_SPAWN_STEP_IO_PRIORITY
            case .oomScoreAdjust: SWATCH_SPAWN_STEP_OOM_SCORE_ADJUST
            case .cpuAffinity: SWATCH_SPAWN_STEP_CPU_AFFINITY
            case .memoryPolicy: SWATCH_SPAWN_STEP_MEMORY_POLICY
            case .timerSlack: SWATCH_SPAWN_STEP_TIMER_SLACK
            case .personality: SWATCH_SPAWN_STEP_PERSONALITY
            case .keyring: SWATCH_SPAWN_STEP_KEYRING
            case .userNamespace: SWATCH_SPAWN_STEP_USER_NAMESPACE
            case .unshare: SWATCH_SPAWN_STEP_UNSHARE
            case .loopback: SWATCH_SPAWN_STEP_LOOPBACK
            case .mount: SWATCH_SPAWN_STEP_MOUNT
            case .privateUsers: SWATCH_SPAWN_STEP_PRIVATE_USERS
            case .boundingSet: SWATCH_SPAWN_STEP_BOUNDING_SET
            case .keepCapabilities: SWATCH_SPAWN_STEP_KEEP_CAPS
            case .groups: SWATCH_SPAWN_STEP_GROUPS
            case .groupID: SWATCH_SPAWN_STEP_GID
            case .userID: SWATCH_SPAWN_STEP_UID
            case .secureBits: SWATCH_SPAWN_STEP_SECUREBITS
            case .capabilities: SWATCH_SPAWN_STEP_CAPABILITIES
            case .ambient: SWATCH_SPAWN_STEP_AMBIENT
            case .noNewPrivileges: SWATCH_SPAWN_STEP_NO_NEW_PRIVS
            case .seccomp: SWATCH_SPAWN_STEP_SECCOMP
            }
            return Int32(step.rawValue)
        }

        /// The kind of a `SWATCH_SPAWN_STEP_*` value; nil: not a sandboxing step.
        package init?(spawnStep: Int32) {
            guard let kind = Self.allCases.first(where: { $0.spawnStep == spawnStep }) else { return nil }
            self = kind
        }

        /// The `SWATCH_SPAWN_STEP_*` values in the order the child runs them,
        /// as the C side states it (`sandbox_execution_order` in
        /// Sources/CSwatch/shim.c, with the reasons for that order).
        package static let cExecutionOrder: [Int32] = {
            var count: CInt = 0
            let order = swatch_sandbox_execution_order(&count)
            return (0..<Int(count)).map { Int32(order[$0]) }
        }()

        /// The order in which the steps run: `SandboxPlan` emits its steps
        /// sorted by it. Read from the C side, which states it once.
        package static let executionOrder: [Kind] = cExecutionOrder.compactMap(Kind.init(spawnStep:))

        /// The position of this kind in `executionOrder`.
        package var executionRank: Int { Self.executionOrder.firstIndex(of: self) ?? Int.max }
    }

    package var kind: Kind { operation.kind }

    /// `steps` are sorted by `Kind.executionOrder` (steps of one kind keep the plan's own order).
    package static func areInExecutionOrder(_ steps: [SandboxStep]) -> Bool {
        zip(steps, steps.dropFirst()).allSatisfy { $0.kind.executionRank <= $1.kind.executionRank }
    }
}

extension SandboxOperation {
    /// The step the operation belongs to, as the child's `sandbox_step` classifies it.
    package var kind: SandboxStep.Kind {
        switch self {
        case .setLimit: .limit
        case .setNice: .nice
        case .setScheduler: .scheduler
        case .setIOPriority: .ioPriority
        case .writeFile: .oomScoreAdjust
        case .setCPUAffinity: .cpuAffinity
        case .setMemoryPolicy: .memoryPolicy
        case .setTimerSlack: .timerSlack
        case .setPersonality: .personality
        case .joinSessionKeyring: .keyring
        case .enterUserNamespace: .userNamespace
        case .privateUsers: .privateUsers
        case .unshareMountNamespace, .unshareNamespaces, .joinNamespace: .unshare
        case .interfaceUp: .loopback
        case .mount, .remount, .remountExecutable, .makeDirectory, .createFile, .symlink: .mount
        case .dropBoundingCapability: .boundingSet
        case .keepCapabilities: .keepCapabilities
        case .setGroups: .groups
        case .setGroupID: .groupID
        case .setUserID: .userID
        case .setSecureBits: .secureBits
        case .setCapabilities: .capabilities
        case .raiseAmbientCapability: .ambient
        case .noNewPrivileges: .noNewPrivileges
        case .loadSeccompFilter: .seccomp
        }
    }
}
