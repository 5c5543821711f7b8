import CSwatch
import Glibc

/// One system call the spawned child makes to sandbox itself, between clone
/// and execve (Sources/CSwatch/shim.c explains why there and not in a helper).
/// Everything is decided before the clone — paths, ids, capability numbers —
/// so the child only issues the call. `SandboxPlan` builds the list; the C
/// side (`enum swatch_sandbox_kind`) runs it in order.
public enum SandboxOperation: Hashable, Sendable {
    /// `setrlimit(resource, {soft, hard})`: Limit*=.
    case setLimit(resource: Int32, soft: UInt64, hard: UInt64)
    /// `setpriority(PRIO_PROCESS, 0, nice)`: Nice=.
    case setNice(Int32)
    /// Writes `text` to an existing file: OOMScoreAdjust= (/proc/self/oom_score_adj).
    case writeFile(path: String, text: String)
    /// `unshare(CLONE_NEWNS)`: a mount namespace of the service's own.
    case unshareMountNamespace
    /// `mount(source, target, type, flags, data)`, exactly as given.
    case mount(source: String?, target: String, type: String?, flags: MountFlags, data: String?)
    /// A bind remount of `target` that adds `flags` and keeps the mount's
    /// nosuid/nodev/noexec flags (read in the child with statfs) and atime flags.
    case remount(target: String, flags: MountFlags)
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
    /// `capset`: effective = permitted = `permitted`, and `inheritable` (bit n: capability n).
    case setCapabilities(permitted: UInt64, inheritable: UInt64)
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capability)`.
    case raiseAmbientCapability(Int32)
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    case noNewPrivileges
}

/// Flags of mount(2), with Swift names (values from <sys/mount.h>).
public struct MountFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    public static let readOnly = MountFlags(rawValue: UInt(MS_RDONLY))
    public static let noSetUID = MountFlags(rawValue: UInt(MS_NOSUID))
    public static let noDevices = MountFlags(rawValue: UInt(MS_NODEV))
    public static let noExec = MountFlags(rawValue: UInt(MS_NOEXEC))
    public static let strictAccessTime = MountFlags(rawValue: UInt(MS_STRICTATIME))
    public static let bind = MountFlags(rawValue: UInt(MS_BIND))
    public static let move = MountFlags(rawValue: UInt(MS_MOVE))
    public static let recursive = MountFlags(rawValue: UInt(MS_REC))
    public static let slave = MountFlags(rawValue: UInt(MS_SLAVE))
}

/// Which failures of a step are no failures (`enum swatch_sandbox_ignore`).
public struct SandboxIgnore: OptionSet, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// ENOENT/ENOTDIR: the path is not there (`-` prefix; /boot on a machine without one).
    public static let missing = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_MISSING.rawValue))
    /// EINVAL of a remount: no longer a mount point in the namespace (hidden under another mount).
    public static let notMounted = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_NOT_MOUNTED.rawValue))
    /// ENODEV: the kernel lacks the file system.
    public static let unsupported = SandboxIgnore(rawValue: Int32(SWATCH_SANDBOX_IGNORE_UNSUPPORTED.rawValue))
}

/// An operation and the directive it serves: a failure reads
/// `Failed to spawn x.service: PrivateDevices=: Operation not permitted`.
public struct SandboxStep: Hashable, Sendable, CustomStringConvertible {
    public var operation: SandboxOperation
    /// The directive as a user wrote it, with its `=`: `PrivateDevices=`, `LimitNOFILE=`.
    public var directive: String
    public var ignore: SandboxIgnore

    public init(_ operation: SandboxOperation, _ directive: String, ignore: SandboxIgnore = []) {
        self.operation = operation
        self.directive = directive
        self.ignore = ignore
    }

    public var description: String { "\(directive) \(operation)" + (ignore.isEmpty ? "" : " ignore:\(ignore.rawValue)") }
}
