import Glibc
import SystemPackage

/// Why a command's sandbox could not be prepared before the clone, naming
/// the directive behind it. The text (`description`) is what the log line
/// `Failed to spawn x.service: …` carries: `User=nobodyy: no such user`,
/// `StateDirectory=foo: Permission denied`.
package enum SandboxError: Error, Equatable, CustomStringConvertible {
    /// User= names no user in the databases.
    case noSuchUser(directive: String, name: String)
    /// Group= or SupplementaryGroups= names no group.
    case noSuchGroup(directive: String, name: String)
    /// DynamicUser=: every uid of the range is taken.
    case noFreeUID(ClosedRange<uid_t>)
    /// DynamicUser= with a user of that name in the databases that is root.
    case staticUserIsRoot(String)
    /// StateDirectory= and friends: `path` could not be created or given to the service's user.
    case directory(directive: String, path: String, Errno)
    /// PrivateTmp= (or DynamicUser=): the unit's directory below `base` could not be made.
    case privateTemporaryDirectory(directive: String, base: String, Errno)
    /// `directive` covers `path`, below which swatchd's notify socket `socket` lies:
    /// the service could never reach it.
    case hidesNotifySocket(directive: String, path: String, socket: String)
    /// `RUNTIME/sandbox`, where private /dev is built and the inaccessible nodes live, could not be made.
    case staging(path: String, Errno)
    /// A credential (LoadCredential=, ImportCredential=) could not be read or installed.
    case credential(directive: String, id: String, reason: String)
    /// The seccomp filter of `directive` could not be built (libseccomp's `what` failed).
    case seccomp(directive: String, what: String, Errno)
    /// libseccomp could not be loaded (dlerror(3)'s `message`), so no filter of `directive`.
    case seccompLibrary(directive: String, message: String)
    /// Something the plan must know of the machine could not be read (/proc/self/mountinfo,
    /// /proc/sys/kernel/cap_last_cap): guessing could leave the service less isolated than asked.
    case machineUnreadable(directive: String, path: String, reason: String)

    /// swatchd is not root, and `directive` needs real root even in a user namespace
    /// (`UnprivilegedSandbox`), or the kernel gives swatchd no user namespace.
    case needsRoot(directive: String, reason: String)
    /// DevicePolicy=/DeviceAllow=, IPAddressAllow=/IPAddressDeny=: the program could not be put on the service's cgroup.
    case cgroupProgram(directive: String, reason: String)

    package var description: String {
        switch self {
        case .noSuchUser(let directive, let name): "\(directive)\(name): no such user"
        case .noSuchGroup(let directive, let name): "\(directive)\(name): no such group"
        case .noFreeUID(let range): "DynamicUser=: no free uid in \(range)"
        case .staticUserIsRoot(let name): "DynamicUser=: the static user \(name) is root"
        case .directory(let directive, let path, let errno): "\(directive)\(path): \(errno)"
        case .privateTemporaryDirectory(let directive, let base, let errno): "\(directive): \(base): \(errno)"
        case .hidesNotifySocket(let directive, let path, let socket):
            "\(directive): it hides swatchd's notify socket \(socket); run swatchd with a --runtime-dir outside \(path)"
        case .staging(let path, let errno): "Failed to prepare \(path): \(errno)"
        case .credential(let directive, let id, let reason): "\(directive)\(id): \(reason)"
        case .seccomp(let directive, let what, let errno): "\(directive): \(what): \(errno)"
        case .seccompLibrary(let directive, let message): "\(directive): cannot load libseccomp: \(message)"
        case .machineUnreadable(let directive, let path, let reason): "\(directive): cannot read \(path): \(reason)"
        case .needsRoot(let directive, let reason), .cgroupProgram(let directive, let reason): "\(directive): \(reason)"
        }
    }
}
