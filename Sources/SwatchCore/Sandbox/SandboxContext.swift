import Glibc

/// The identity a sandboxed command switches to; nil fields stay as swatchd's.
public struct Credentials: Hashable, Sendable {
    public var uid: uid_t?
    public var gid: gid_t?
    /// The supplementary groups (setgroups); nil: unchanged.
    public var groups: [gid_t]?

    public init(uid: uid_t? = nil, gid: gid_t? = nil, groups: [gid_t]? = nil) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// What a file system path is, as InaccessiblePaths= needs to know (a
/// directory is covered by an empty directory, anything else by an empty file).
public enum PathKind: Hashable, Sendable {
    case directory, other
}

/// What the plan needs to know of the machine, found out by the caller (swatchd,
/// before the clone) so that building the plan is pure and testable.
public struct SandboxContext: Sendable {
    /// The identity to switch to; nil: none (no User=, Group=, DynamicUser=, `+`).
    public var credentials: Credentials?
    /// The kernel's last capability (`Capabilities.lastCapability()`).
    public var lastCapability: Int32
    /// swatchd's mount points (`MountTable.current()`).
    public var mountPoints: [String]
    /// An empty directory where the child builds a private /dev before it
    /// moves it onto /dev (the host's device nodes must still be visible while
    /// they are bind-mounted in). Each child does this in its own namespace,
    /// so one directory serves every service.
    public var deviceStaging: String
    /// Empty nodes of mode 0000 (a directory and a regular file) bound over InaccessiblePaths=.
    public var inaccessibleDirectory: String
    public var inaccessibleFile: String
    /// The `tty` group for the private devpts instance; nil: the mounting process's group.
    public var ttyGroup: gid_t?
    /// StateDirectory= and friends as absolute paths, with their directive:
    /// writable under ProtectSystem=strict.
    public var serviceDirectories: [(path: String, directive: String)]
    /// PrivateTmp=: the host directories bound onto /tmp and /var/tmp, made
    /// by swatchd at the unit's first command and shared by all its commands.
    public var privateTemporaryDirectories: PrivateTemporaryDirectories
    /// The kind of a path (InaccessiblePaths=); nil: nothing there.
    public var pathKind: @Sendable (String) -> PathKind?

    public init(
        credentials: Credentials? = nil, lastCapability: Int32 = 40, mountPoints: [String] = ["/"],
        deviceStaging: String = "/run/swatchd/sandbox/dev",
        inaccessibleDirectory: String = "/run/swatchd/sandbox/inaccessible-dir",
        inaccessibleFile: String = "/run/swatchd/sandbox/inaccessible-file",
        ttyGroup: gid_t? = nil, serviceDirectories: [(path: String, directive: String)] = [],
        privateTemporaryDirectories: PrivateTemporaryDirectories = PrivateTemporaryDirectories(
            tmp: "/tmp/swatchd-private-x.service-000000/tmp", varTmp: "/var/tmp/swatchd-private-x.service-000000/tmp"),
        pathKind: @escaping @Sendable (String) -> PathKind? = { _ in .directory }
    ) {
        self.credentials = credentials
        self.lastCapability = lastCapability
        self.mountPoints = mountPoints
        self.deviceStaging = deviceStaging
        self.inaccessibleDirectory = inaccessibleDirectory
        self.inaccessibleFile = inaccessibleFile
        self.ttyGroup = ttyGroup
        self.serviceDirectories = serviceDirectories
        self.privateTemporaryDirectories = privateTemporaryDirectories
        self.pathKind = pathKind
    }
}
