import Glibc
import Testing
@testable import SwatchCore

/// A swatchd that is not root (Sandbox/UnprivilegedSandbox.swift): its plans set up a user
/// namespace first, and what needs real root even there is refused, naming the directive.
@Suite struct UnprivilegedSandboxTests {
    private func context(_ ids: (uid: uid_t, gid: gid_t)?) -> SandboxContext {
        var context = SandboxContext(mountPoints: ["/", "/proc", "/sys", "/dev", "/usr"])
        context.unprivilegedIDs = ids
        return context
    }

    /// The user namespace comes before every other unshare, maps swatchd's own ids, and
    /// names the directive of the first namespace.
    @Test func theUserNamespaceComesFirstWithSwatchdsOwnIDs() {
        var sandbox = Sandbox()
        sandbox.privateTmp = true
        sandbox.protectSystem = .strict
        sandbox.privateNetwork = true
        let steps = SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
        let firstUnshare = steps.firstIndex { $0.kind == .unshare }
        let userNamespace = steps.firstIndex { $0.operation == .enterUserNamespace(uid: 1000, gid: 100) }
        #expect(userNamespace != nil && firstUnshare != nil && userNamespace! < firstUnshare!, "\(steps)")
        #expect(steps.filter { $0.kind == .userNamespace }.count == 1)
        #expect(steps[userNamespace!].directive == "PrivateNetwork=")
        #expect(SandboxStep.areInExecutionOrder(steps))
        // As root: none, and otherwise the same steps.
        let asRoot = SandboxPlan.steps(for: sandbox, context: context(nil))
        #expect(!asRoot.contains { $0.kind == .userNamespace })
        #expect(asRoot == steps.filter { $0.kind != .userNamespace })
    }

    /// PrivateUsers= of a swatchd that is not root is the user namespace it sets up anyway
    /// (its own ids onto themselves, as systemd's user manager maps them): one, even alone,
    /// and never the root manager's second namespace.
    @Test func privateUsersIsTheOneUserNamespace() {
        var sandbox = Sandbox()
        sandbox.privateUsers = true
        #expect(SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
                == [SandboxStep(.enterUserNamespace(uid: 1000, gid: 100), "PrivateUsers=")])
        sandbox.privateTmp = true
        let steps = SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
        #expect(steps.filter { $0.kind == .userNamespace || $0.kind == .privateUsers }
                == [SandboxStep(.enterUserNamespace(uid: 1000, gid: 100), "PrivateTmp=")], "\(steps)")
        // What a missing user namespace is reported against.
        #expect(SandboxPlan.namespaceDirective(for: sandbox) == "PrivateTmp=")
        sandbox.privateTmp = false
        #expect(SandboxPlan.namespaceDirective(for: sandbox) == "PrivateUsers=")
    }

    /// A plan without a namespace needs no user namespace (Limit*= alone).
    @Test func noNamespaceNoUserNamespace() {
        var sandbox = Sandbox()
        sandbox.limits[.nofile] = LimitValue(soft: 64, hard: 64)
        sandbox.noNewPrivileges = true
        let steps = SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
        #expect(!steps.contains { $0.kind == .userNamespace || $0.kind == .unshare }, "\(steps)")
    }

    /// Seccomp filters need no_new_privs without CAP_SYS_ADMIN (seccomp(2)): implied, as
    /// systemd.exec(5) says for a manager "running in user mode".
    @Test func seccompFiltersImplyNoNewPrivileges() {
        var sandbox = Sandbox()
        sandbox.lockPersonality = true
        var unprivileged = context((1000, 100))
        unprivileged.seccompPrograms = [("LockPersonality=", SeccompProgram(bytes: [0, 0, 0, 0, 0, 0, 0, 0]))]
        #expect(SandboxPlan.steps(for: sandbox, context: unprivileged).contains { $0.operation == .noNewPrivileges })
        var root = context(nil)
        root.seccompPrograms = unprivileged.seccompPrograms
        #expect(!SandboxPlan.steps(for: sandbox, context: root).contains { $0.operation == .noNewPrivileges })
    }

    /// A private /dev takes the host's mqueue (bound) unless the IPC namespace is its own,
    /// and its devpts no tty group (an unmapped gid).
    @Test func privateDevicesBindTheHostsMqueueWithoutPrivateIPC() {
        var sandbox = Sandbox()
        sandbox.privateDevices = true
        let steps = SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
        #expect(steps.contains { $0.operation == .mount(source: "/dev/mqueue", target: "/run/swatchd/sandbox/dev/mqueue",
                                                       type: nil, flags: [.bind], data: nil) }, "\(steps)")
        sandbox.privateIPC = true
        let own = SandboxPlan.steps(for: sandbox, context: context((1000, 100)))
        #expect(own.contains { if case .mount(_, _, "mqueue", _, _) = $0.operation { true } else { false } }, "\(own)")
    }

    @Test func whatNeedsRootIsRefusedNamingTheDirective() {
        func refusal(_ change: (inout Sandbox) -> Void, user: uid_t? = nil, group: gid_t? = nil,
                     groups: [gid_t] = []) -> String? {
            var sandbox = Sandbox()
            change(&sandbox)
            return UnprivilegedSandbox.refusal(unitSandbox: sandbox, uid: 1000, gid: 100, user: user, group: group,
                                               supplementaryGroups: groups)?.description
        }
        #expect(refusal({ $0.dynamicUser = true }) == "DynamicUser=: swatchd runs as uid 1000, not root: it cannot switch to another user")
        #expect(refusal({ $0.user = "root" }, user: 0) == "User=root: swatchd runs as uid 1000, not root: it cannot switch to another user")
        #expect(refusal({ $0.group = "wheel" }, group: 10)?.hasPrefix("Group=wheel: ") == true)
        #expect(refusal({ $0.supplementaryGroups = ["audio"] }, groups: [29])?.hasPrefix("SupplementaryGroups=: ") == true)
        #expect(refusal({ $0.protectProc = "invisible" })?.hasPrefix("ProtectProc=: ") == true)
        #expect(refusal({ $0.procSubsetPID = true })?.hasPrefix("ProcSubset=: ") == true)
        #expect(refusal({ $0.privatePIDs = true }) == "PrivatePIDs=: swatchd runs as uid 1000, not root: a PID namespace needs CAP_SYS_ADMIN")
        // Its own user and group ask for nothing that needs root.
        #expect(refusal({ $0.user = "me"; $0.group = "us" }, user: 1000, group: 100, groups: [100]) == nil)
        #expect(refusal({ $0.privateTmp = true; $0.protectSystem = .strict; $0.privateDevices = true }) == nil)
    }

    @Test func userNamespacesAreUnavailableWhenASysctlSaysZero() {
        let none: (String) -> String? = { _ in nil }
        #expect(UnprivilegedSandbox.userNamespacesUnavailable(read: none) == nil)
        #expect(UnprivilegedSandbox.userNamespacesUnavailable(read: { $0.hasSuffix("max_user_namespaces") ? "96369\n" : "1\n" }) == nil)
        #expect(UnprivilegedSandbox.userNamespacesUnavailable(read: { $0.hasSuffix("max_user_namespaces") ? "0\n" : nil })
            == "this kernel allows no unprivileged user namespaces (user.max_user_namespaces = 0)")
        #expect(UnprivilegedSandbox.userNamespacesUnavailable(read: { $0.hasSuffix("unprivileged_userns_clone") ? "0\n" : "5\n" })?
            .contains("kernel.unprivileged_userns_clone = 0") == true)
    }
}
