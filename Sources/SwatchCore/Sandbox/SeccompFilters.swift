import Glibc

/// What one seccomp filter does: a default action, and rules that override it
/// for some system calls (optionally only for some argument values). A pure
/// description; `SeccompCompiler` turns it into BPF through libseccomp. Each
/// key gets a filter of its own, as systemd's src/shared/seccomp-util.c builds
/// them: the kernel runs every filter and takes the most restrictive answer
/// (seccomp(2), "If multiple filters exist, ..."), so they combine safely.
package struct SeccompFilter: Hashable, Sendable {
    package enum Action: Hashable, Sendable {
        case allow
        case errno(Int32)
        /// SIGSYS to the whole process (SECCOMP_RET_KILL_PROCESS).
        case killProcess
        /// Allowed, and logged by the kernel's audit (SECCOMP_RET_LOG).
        case log
    }

    /// A comparison of one system call argument (seccomp_rule_add(3), SCMP_CMP_*).
    package struct Condition: Hashable, Sendable {
        package enum Comparison: Hashable, Sendable {
            case equal, notEqual, greaterOrEqual
            /// (argument & mask) == value.
            case maskedEqual(mask: UInt64)
        }
        package var argument: UInt32
        package var comparison: Comparison
        package var value: UInt64

        package init(_ argument: UInt32, _ comparison: Comparison, _ value: UInt64) {
            self.argument = argument
            self.comparison = comparison
            self.value = value
        }
    }

    package struct Rule: Hashable, Sendable {
        package var systemCall: String
        package var action: Action
        /// All must hold (libseccomp ANDs them); empty: always.
        package var conditions: [Condition]

        package init(_ systemCall: String, _ action: Action, _ conditions: [Condition] = []) {
            self.systemCall = systemCall
            self.action = action
            self.conditions = conditions
        }
    }

    /// The directive a failure names.
    package var directive: String
    package var defaultAction: Action
    package var rules: [Rule]

    package init(directive: String, defaultAction: Action, rules: [Rule] = []) {
        self.directive = directive
        self.defaultAction = defaultAction
        self.rules = rules
    }
}

/// The seccomp filters of a unit's settings, as systemd's exec_child() applies
/// them (src/core/execute.c: apply_syscall_filter, apply_address_families,
/// apply_restrict_namespaces, apply_restrict_realtime, apply_restrict_suid_sgid,
/// apply_lock_personality, apply_memory_deny_write_execute, apply_protect_clock,
/// apply_protect_kernel_modules, apply_protect_kernel_logs,
/// apply_protect_hostname, apply_syscall_archs).
///
/// Every filter is built for the native architecture only, and a system call
/// of another one (i386's int 0x80, x32) kills the process: so no filter can
/// be sidestepped through a compatibility entry point — more than systemd
/// does without SystemCallArchitectures=, never less (swatchd.service(5),
/// "SYSTEM CALL FILTERING").
package enum SeccompFilters {
    private static let eperm = SeccompFilter.Action.errno(EPERM)

    package static func filters(for sandbox: Sandbox) -> [SeccompFilter] {
        var filters: [SeccompFilter] = []
        // SystemCallFilter= is loaded last, as systemd's exec_child() applies it last: an allow
        // list without seccomp(2) (@system-service has none) would kill the loading of any filter
        // after it.
        var systemCallFilter: [SeccompFilter] = []
        if let filter = sandbox.systemCallFilter {
            let failure: SeccompFilter.Action = switch sandbox.systemCallErrorNumber {
            case .errno(let number)?: .errno(number)
            case .kill?, nil: .killProcess
            }
            let calls = filter.entries.keys.sorted()
            if filter.allowList {
                systemCallFilter.append(SeccompFilter(directive: "SystemCallFilter=", defaultAction: failure,
                                                      rules: calls.map { SeccompFilter.Rule($0, .allow) }))
            } else {
                systemCallFilter.append(SeccompFilter(directive: "SystemCallFilter=", defaultAction: .allow, rules: calls.map { call in
                    let number = filter.entries[call] ?? 0
                    return SeccompFilter.Rule(call, number != 0 ? .errno(number) : failure)
                }))
            }
        }
        if let families = sandbox.restrictAddressFamilies {
            filters.append(addressFamilies(families))
        }
        if let denied = sandbox.restrictNamespaces, denied != 0 {
            filters.append(namespaces(denied: denied))
        }
        if sandbox.restrictRealtime {
            // sched_setscheduler(pid, policy, ...): only SCHED_OTHER (0), SCHED_BATCH (3)
            // and SCHED_IDLE (5), with or without SCHED_RESET_ON_FORK (0x40000000).
            // sched_setattr passes the policy in memory a filter cannot read: refused outright.
            let policyMask: UInt64 = 0xFFFF_FFFF & ~0x4000_0000
            var rules = [1, 2, 6].map { policy in
                SeccompFilter.Rule("sched_setscheduler", eperm, [.init(1, .maskedEqual(mask: policyMask), UInt64(policy))])
            }
            rules.append(SeccompFilter.Rule("sched_setattr", eperm))
            filters.append(SeccompFilter(directive: "RestrictRealtime=", defaultAction: .allow, rules: rules))
        }
        if sandbox.restrictSUIDSGID {
            filters.append(SeccompFilter(directive: "RestrictSUIDSGID=", defaultAction: .allow, rules: suidSGID()))
        }
        if sandbox.lockPersonality {
            // Only PER_LINUX (0), as systemd's seccomp_lock_personality() does.
            filters.append(SeccompFilter(directive: "LockPersonality=", defaultAction: .allow,
                                         rules: [.init("personality", eperm, [.init(0, .notEqual, 0)])]))
        }
        if sandbox.memoryDenyWriteExecute {
            // systemd's seccomp_memory_deny_write_execute(): no mapping both
            // writable and executable, no mprotect to executable, no SHM_EXEC.
            let writeExecute = UInt64(PROT_WRITE | PROT_EXEC)
            let rules: [SeccompFilter.Rule] = [
                .init("mmap", eperm, [.init(2, .maskedEqual(mask: writeExecute), writeExecute)]),
                .init("mmap2", eperm, [.init(2, .maskedEqual(mask: writeExecute), writeExecute)]),
                .init("mprotect", eperm, [.init(2, .maskedEqual(mask: UInt64(PROT_EXEC)), UInt64(PROT_EXEC))]),
                .init("pkey_mprotect", eperm, [.init(2, .maskedEqual(mask: UInt64(PROT_EXEC)), UInt64(PROT_EXEC))]),
                .init("shmat", eperm, [.init(2, .maskedEqual(mask: 0o100000), 0o100000)]),  // SHM_EXEC
            ]
            filters.append(SeccompFilter(directive: "MemoryDenyWriteExecute=", defaultAction: .allow, rules: rules))
        }
        func deny(_ directive: String, _ words: [String]) {
            let calls = words.flatMap { SystemCallKeys.systemCalls($0) ?? [] }
            filters.append(SeccompFilter(directive: directive, defaultAction: .allow,
                                         rules: Set(calls).sorted().map { SeccompFilter.Rule($0, eperm) }))
        }
        if sandbox.protectClock { deny("ProtectClock=", ["@clock"]) }
        if sandbox.protectKernelModules { deny("ProtectKernelModules=", ["@module"]) }
        if sandbox.protectKernelLogs { deny("ProtectKernelLogs=", ["syslog"]) }
        if sandbox.protectHostname { deny("ProtectHostname=", ["sethostname", "setdomainname"]) }
        if let log = sandbox.systemCallLog {
            // systemd's SystemCallLog=: an allow list logs every other call, a deny list its calls.
            let calls = log.entries.keys.sorted()
            filters.append(SeccompFilter(directive: "SystemCallLog=", defaultAction: log.allowList ? .log : .allow,
                                         rules: calls.map { SeccompFilter.Rule($0, log.allowList ? .allow : .log) }))
        }
        if !sandbox.systemCallArchitectures.isEmpty {
            // Every filter above already kills a non-native system call; alone, this one does.
            filters.append(SeccompFilter(directive: "SystemCallArchitectures=", defaultAction: .allow))
        }
        return filters + systemCallFilter
    }

    /// socket(2) with a family outside the allow list (or in the deny list): EAFNOSUPPORT,
    /// as systemd's seccomp_restrict_address_families().
    static func addressFamilies(_ families: AddressFamilies) -> SeccompFilter {
        let refuse = SeccompFilter.Action.errno(EAFNOSUPPORT)
        var rules: [SeccompFilter.Rule] = []
        let denied = families.allowList
            ? (0..<SystemCallKeys.addressFamilyLimit).filter { !families.families.contains($0) }
            : families.families.sorted()
        for family in denied {
            rules.append(.init("socket", refuse, [.init(0, .equal, UInt64(family))]))
        }
        if families.allowList {
            rules.append(.init("socket", refuse, [.init(0, .greaterOrEqual, UInt64(SystemCallKeys.addressFamilyLimit))]))
        }
        return SeccompFilter(directive: "RestrictAddressFamilies=", defaultAction: .allow, rules: rules)
    }

    /// unshare, clone and setns with a namespace flag the unit denies: EPERM;
    /// clone3, whose flags are in memory, ENOSYS (so that libc falls back to
    /// clone) — systemd's seccomp_restrict_namespaces().
    static func namespaces(denied: Int32) -> SeccompFilter {
        var rules: [SeccompFilter.Rule] = []
        for flag in SystemCallKeys.namespaces.values.sorted() where denied & flag != 0 {
            let bit = UInt64(UInt32(bitPattern: flag))
            rules.append(.init("unshare", eperm, [.init(0, .maskedEqual(mask: bit), bit)]))
            rules.append(.init("clone", eperm, [.init(0, .maskedEqual(mask: bit), bit)]))
            rules.append(.init("setns", eperm, [.init(1, .maskedEqual(mask: bit), bit)]))
        }
        // setns(fd, 0) joins whatever namespace fd is.
        rules.append(.init("setns", eperm, [.init(1, .equal, 0)]))
        rules.append(.init("clone3", .errno(ENOSYS)))
        return SeccompFilter(directive: "RestrictNamespaces=", defaultAction: .allow, rules: rules)
    }

    /// chmod and friends setting S_ISUID/S_ISGID, and files created with them:
    /// EPERM — systemd's seccomp_restrict_suid_sgid() (openat2 and fchmodat2, whose mode
    /// a filter cannot always read, ENOSYS).
    static func suidSGID() -> [SeccompFilter.Rule] {
        var rules: [SeccompFilter.Rule] = []
        let create = UInt64(O_CREAT)
        let temporary: UInt64 = 0o20200000  // O_TMPFILE (with O_DIRECTORY)
        for bit in [UInt64(S_ISUID), UInt64(S_ISGID)] {
            let mode = { (argument: UInt32) in SeccompFilter.Condition(argument, .maskedEqual(mask: bit), bit) }
            rules.append(.init("chmod", eperm, [mode(1)]))
            rules.append(.init("fchmod", eperm, [mode(1)]))
            rules.append(.init("fchmodat", eperm, [mode(2)]))
            rules.append(.init("creat", eperm, [mode(1)]))
            for flag in [create, temporary] {
                rules.append(.init("open", eperm, [.init(1, .maskedEqual(mask: flag), flag), mode(2)]))
                rules.append(.init("openat", eperm, [.init(2, .maskedEqual(mask: flag), flag), mode(3)]))
            }
        }
        rules.append(.init("openat2", .errno(ENOSYS)))
        rules.append(.init("fchmodat2", .errno(ENOSYS)))
        return rules
    }
}
