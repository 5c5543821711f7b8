import Glibc

/// The identity a sandboxed command switches to; nil fields stay as swatchd's.
package struct Credentials: Hashable, Sendable {
    package var uid: uid_t?
    package var gid: gid_t?
    /// The supplementary groups (setgroups); nil: unchanged.
    package var groups: [gid_t]?

    package init(uid: uid_t? = nil, gid: gid_t? = nil, groups: [gid_t]? = nil) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// What a file system path is, as InaccessiblePaths= needs to know (a
/// directory is covered by an empty directory, anything else by an empty file).
package enum PathKind: Hashable, Sendable {
    case directory, other
}

/// What the plan needs to know of the machine, found out by the caller (swatchd,
/// before the clone) so that building the plan is pure and testable.
package struct SandboxContext: Sendable {
    /// The identity to switch to; nil: none (no User=, Group=, DynamicUser=, `+`).
    package var credentials: Credentials?
    /// The kernel's last capability (`Capabilities.lastCapability()`).
    package var lastCapability: Int32
    /// swatchd's mount points (`MountTable.current()`).
    package var mountPoints: [String]
    /// An empty directory where the child builds a private /dev before it
    /// moves it onto /dev (the host's device nodes must still be visible while
    /// they are bind-mounted in). Each child does this in its own namespace,
    /// so one directory serves every service.
    package var deviceStaging: String
    /// Empty nodes of mode 0000 (a directory and a regular file) bound over InaccessiblePaths=.
    package var inaccessibleDirectory: String
    package var inaccessibleFile: String
    /// The `tty` group for the private devpts instance; nil: the mounting process's group.
    package var ttyGroup: gid_t?
    /// StateDirectory= and friends as absolute paths, with their directive:
    /// writable under ProtectSystem=strict.
    package var serviceDirectories: [(path: String, directive: String)]
    /// PrivateTmp=: the host directories bound onto /tmp and /var/tmp, made
    /// by swatchd at the unit's first command and shared by all its commands.
    package var privateTemporaryDirectories: PrivateTemporaryDirectories
    /// The kind of a path (InaccessiblePaths=); nil: nothing there.
    package var pathKind: @Sendable (String) -> PathKind?
    /// The real-time clock devices (/dev/rtc*) that ProtectClock= hides.
    package var clockDevices: [String] = []
    /// swatchd's own uid and gid when it is not root: the namespaces the plan unshares are
    /// then set up inside a user namespace that maps these ids onto themselves, as systemd's
    /// user manager does with PrivateUsers= (src/core/exec-invoke.c, setup_private_users).
    /// nil: swatchd is root and needs none.
    package var unprivilegedIDs: (uid: uid_t, gid: gid_t)?
    /// The seccomp filters, compiled before the clone (`SeccompCompiler`), with their directive:
    /// loaded last, right before execve.
    package var seccompPrograms: [(directive: String, program: SeccompProgram)] = []
    /// KeyringMode= of a unit that sets none (`KeyringMode.implicit`).
    package var implicitKeyringMode: KeyringMode = .inherit
    /// Whose a new session keyring is: the service's user and group, a `+` or `!` command's
    /// too (systemd's setup_keyring() takes them whether or not the command switches to
    /// them); nil fields: swatchd's own.
    package var keyringOwner = Credentials()
    /// The 16 bytes of the invocation ID, which a new session keyring holds; empty: none.
    package var invocationID: [UInt8] = []

    package init(
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
