import Glibc

/// A swatchd that is not root (a user's own manager) has no CAP_SYS_ADMIN to
/// unshare or mount with. It sets up the namespaces of a service inside a user
/// namespace of the service's own, which maps the service's uid and gid onto
/// themselves — as systemd's user manager does with PrivateUsers=
/// (src/core/exec-invoke.c, setup_private_users; user_namespaces(7)). What
/// needs real root even there is refused, naming the directive: nothing runs
/// with less isolation than asked (swatchd.service(5), "SANDBOXING").
package enum UnprivilegedSandbox {
    /// The ids the user namespace maps: swatchd's own. nil: swatchd is root and needs none.
    package static func ids(euid: uid_t = geteuid(), egid: gid_t = getegid()) -> (uid: uid_t, gid: gid_t)? {
        euid == 0 ? nil : (euid, egid)
    }

    /// The first directive of the (effective) sandbox that a swatchd of uid `uid` and gid `gid`
    /// cannot enforce, with the reason; nil: all of them can be. `user` is the resolved User=,
    /// `group` the resolved Group=, `supplementaryGroups` the resolved SupplementaryGroups=.
    package static func refusal(unitSandbox: Sandbox, uid: uid_t, gid: gid_t, user: uid_t?, group: gid_t?,
                                supplementaryGroups: [gid_t]) -> SandboxError? {
        let sandbox = SandboxPlan.effective(unitSandbox)
        let notRoot = "swatchd runs as uid \(uid), not root"
        if sandbox.dynamicUser {
            return .needsRoot(directive: "DynamicUser=", reason: "\(notRoot): it cannot switch to another user")
        }
        if let user, user != uid, let name = sandbox.user {
            return .needsRoot(directive: "User=" + name, reason: "\(notRoot): it cannot switch to another user")
        }
        if let group, group != gid, let name = sandbox.group {
            return .needsRoot(directive: "Group=" + name, reason: "\(notRoot): it cannot switch to another group")
        }
        if supplementaryGroups.contains(where: { $0 != gid }) {
            return .needsRoot(directive: "SupplementaryGroups=", reason: "\(notRoot): it cannot set groups")
        }
        // A PID namespace is made by the clone that starts the command, before the user
        // namespace the child makes itself: only a root swatchd may.
        if sandbox.privatePIDs {
            return .needsRoot(directive: "PrivatePIDs=", reason: "\(notRoot): a PID namespace needs CAP_SYS_ADMIN")
        }
        // A proc instance with hidepid=/subset= can be mounted only by the owner of the PID
        // namespace (proc(5)); swatchd gives a service no PID namespace of its own.
        if sandbox.protectProc != nil || sandbox.procSubsetPID {
            return .needsRoot(directive: SandboxPlan.procDirective(sandbox),
                              reason: "\(notRoot): mounting proc in a user namespace needs a PID namespace of the service's own")
        }
        return nil
    }

    /// Why the kernel gives an unprivileged process no user namespace, read from the sysctls
    /// that say so (user_namespaces(7) /proc/sys/user/max_user_namespaces; Debian's and
    /// Ubuntu's kernel.unprivileged_userns_clone); nil: nothing says it would refuse.
    /// `read` reads a file's text (a parameter for the tests).
    package static func userNamespacesUnavailable(
        read: (String) -> String? = { try? FileSystem.readText($0) }
    ) -> String? {
        for (path, name) in [("/proc/sys/user/max_user_namespaces", "user.max_user_namespaces"),
                             ("/proc/sys/kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone")] {
            guard let text = read(path) else { continue }
            if text.splitAtWhitespace().first == "0" {
                return "this kernel allows no unprivileged user namespaces (\(name) = 0)"
            }
        }
        return nil
    }
}
