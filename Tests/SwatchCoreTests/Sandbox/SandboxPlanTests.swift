import CSwatch
import Glibc
import Testing
@testable import SwatchCore

/// The plan of sandboxing steps (SandboxPlan.swift): pure, from a unit's
/// settings and a described machine, so every rule of systemd.exec(5) that
/// swatchd follows is checked here without a namespace.
@Suite struct SandboxPlanTests {
    /// A machine with the mounts of a typical host: API file systems, a
    /// separate /boot and /var, a docker mount below /var/lib, a home mount.
    static let mountPoints = [
        "/", "/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/shm", "/dev/pts", "/boot", "/var",
        "/var/lib/docker", "/home/alice", "/mnt/with space",
    ]

    /// The machine: `kinds` of paths (the host's device nodes are there unless `missingDevices` names them).
    private func context(credentials: Credentials? = nil, directories: [(path: String, directive: String)] = [],
                         kinds: [String: PathKind] = [:], missingDevices: Set<String> = []) -> SandboxContext {
        SandboxContext(credentials: credentials, lastCapability: 40, mountPoints: Self.mountPoints,
                       deviceStaging: "/run/sw/sandbox/dev", inaccessibleDirectory: "/run/sw/sandbox/idir",
                       inaccessibleFile: "/run/sw/sandbox/ifile", ttyGroup: 5, serviceDirectories: directories,
                       pathKind: { path in
                           if path.hasPrefix("/dev/") { return missingDevices.contains(path) ? nil : .other }
                           return kinds[path]
                       })
    }

    private func operations(_ steps: [SandboxStep]) -> [SandboxOperation] { steps.map(\.operation) }

    /// The targets of the read-only remounts, in order.
    private func remounts(_ steps: [SandboxStep]) -> [String] {
        steps.compactMap { if case .remount(let target, _) = $0.operation { target } else { nil } }
    }

    /// The targets of mounts of one kind: bind sources equal to targets are self-binds.
    private func mounts(_ steps: [SandboxStep], type: String? = nil, flags: MountFlags? = nil) -> [String] {
        steps.compactMap {
            guard case .mount(_, let target, let mountType, let mountFlags, _) = $0.operation else { return nil }
            if let type, mountType != type { return nil }
            if let flags, mountFlags != flags { return nil }
            return target
        }
    }

    @Test func asksNothingOfAUnitWithoutSettings() {
        #expect(SandboxPlan.steps(for: Sandbox(), context: context()) == [])
    }

    @Test func dynamicUserImpliesTheHardeningSystemdDocuments() {
        var sandbox = Sandbox()
        sandbox.dynamicUser = true
        let effective = SandboxPlan.effective(sandbox)
        #expect(effective.noNewPrivileges && effective.privateTmp && effective.removeIPC)
        #expect(effective.protectSystem == .strict)
        #expect(effective.protectHome == .readOnly)
        // A unit that asks for more of ProtectHome= keeps it.
        sandbox.protectHome = .yes
        #expect(SandboxPlan.effective(sandbox).protectHome == .yes)
        // Without DynamicUser= nothing is implied.
        #expect(SandboxPlan.effective(Sandbox()) == Sandbox())
    }

    /// The order the privileges of each step dictate (shim.c): limits, nice,
    /// oom score while root; namespace (CAP_SYS_ADMIN); groups and gid; bounding set
    /// (CAP_SETPCAP); keepcaps before the uid changes; uid;
    /// capset and ambient raise; no_new_privs last.
    @Test func ordersStepsByThePrivilegeEachNeeds() {
        var sandbox = Sandbox()
        sandbox.limits[.nofile] = LimitValue(soft: 1024, hard: 2048)
        sandbox.nice = 5
        sandbox.oomScoreAdjust = 500
        sandbox.privateTmp = true
        sandbox.user = "alice"
        sandbox.capabilityBoundingSet = CapabilitySet(bits: 1 << 10)
        sandbox.ambientCapabilities = CapabilitySet(bits: 1 << 10)
        sandbox.noNewPrivileges = true
        let steps = SandboxPlan.steps(
            for: sandbox, context: context(credentials: Credentials(uid: 1000, gid: 1000, groups: [1000, 27])))
        func index(_ match: (SandboxOperation) -> Bool) -> Int { steps.firstIndex { match($0.operation) } ?? -1 }
        let order = [
            index { if case .setLimit = $0 { true } else { false } },
            index { if case .setNice = $0 { true } else { false } },
            index { if case .writeFile = $0 { true } else { false } },
            index { $0 == .unshareMountNamespace },
            index { if case .mount(_, "/tmp", nil, [.bind], _) = $0 { true } else { false } },
            index { $0 == .setGroups([1000, 27]) },
            index { $0 == .setGroupID(1000) },
            index { if case .dropBoundingCapability = $0 { true } else { false } },
            index { $0 == .keepCapabilities(true) },
            index { $0 == .setUserID(1000) },
            index { $0 == .setCapabilities(permitted: 1 << 10, inheritable: 1 << 10) },
            index { $0 == .raiseAmbientCapability(10) },
            index { $0 == .noNewPrivileges },
        ]
        #expect(!order.contains(-1), "\(steps)")
        #expect(order == order.sorted(), "\(steps)")
        #expect(steps.first { $0.operation == .setLimit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 1024, hard: 2048) }?
            .directive == "LimitNOFILE=")
        #expect(steps.contains(SandboxStep(.writeFile(path: "/proc/self/oom_score_adj", text: "500\n"), "OOMScoreAdjust=")))
    }

    @Test func fullPrivilegesKeepOnlyTheProcessProperties() {
        var sandbox = Sandbox()
        sandbox.dynamicUser = true
        sandbox.privateDevices = true
        sandbox.limits[.core] = LimitValue(soft: 0, hard: 0)
        sandbox.nice = -3
        let steps = SandboxPlan.steps(for: sandbox, fullPrivileges: true,
                                      context: context(credentials: Credentials(uid: 61_300, gid: 61_300, groups: [])))
        #expect(operations(steps) == [.setLimit(resource: Int32(RLIMIT_CORE.rawValue), soft: 0, hard: 0), .setNice(-3)])
    }

    /// CPUScheduling*= and IOScheduling*=: one call each, the unset ones at the kernel's
    /// default, named by the first directive set; `+` keeps them, as process properties.
    @Test func schedulingIsOneCallEachWithTheKernelsDefaultsForWhatIsUnset() {
        func plan(_ configure: (inout Sandbox) -> Void) -> [SandboxStep] {
            var sandbox = Sandbox()
            configure(&sandbox)
            return SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context())
        }
        #expect(plan { $0.cpuSchedulingPolicy = .fifo; $0.cpuSchedulingPriority = 20; $0.cpuSchedulingResetOnFork = true }
            == [SandboxStep(.setScheduler(policy: 1 | 0x4000_0000, priority: 20), "CPUSchedulingPolicy=")])
        #expect(plan { $0.cpuSchedulingPriority = 20 } == [SandboxStep(.setScheduler(policy: 0, priority: 20), "CPUSchedulingPriority=")])
        #expect(plan { $0.cpuSchedulingResetOnFork = false }
            == [SandboxStep(.setScheduler(policy: 0, priority: 0), "CPUSchedulingResetOnFork=")])
        // IOPRIO_PRIO_VALUE(class, level): the class in the bits from 13 up.
        #expect(plan { $0.ioSchedulingClass = .idle } == [SandboxStep(.setIOPriority(3 << 13 | 4), "IOSchedulingClass=")])
        #expect(plan { $0.ioSchedulingPriority = 7 } == [SandboxStep(.setIOPriority(2 << 13 | 7), "IOSchedulingPriority=")])
        #expect(plan { $0.ioSchedulingClass = IOSchedulingClass.none; $0.ioSchedulingPriority = 7 }
            == [SandboxStep(.setIOPriority(0), "IOSchedulingClass=")])
        #expect(plan { _ in } == [])
    }

    /// CoredumpFilter=, CPUAffinity=, TimerSlackNSec= and Personality= are process properties: a `+`
    /// command has them too.
    @Test func processPropertiesAreSetForEveryCommand() {
        var sandbox = Sandbox()
        sandbox.cpuAffinity = [0, 2, 65]
        sandbox.numaPolicy = .interleave
        sandbox.numaMask = [0, 1]
        sandbox.timerSlack = 50_000
        sandbox.personality = 8
        sandbox.coredumpFilter = 0x111
        sandbox.user = "nobody"
        let expected = [SandboxStep(.writeFile(path: "/proc/self/coredump_filter", text: "0x111\n"), "CoredumpFilter="),
                        SandboxStep(.setCPUAffinity([0b101, 0b10]), "CPUAffinity="),
                        SandboxStep(.setMemoryPolicy(mode: 3, nodes: [0b11]), "NUMAPolicy="),
                        SandboxStep(.setTimerSlack(50_000), "TimerSlackNSec="), SandboxStep(.setPersonality(8), "Personality=")]
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context()) == expected)
        #expect(Array(SandboxPlan.steps(for: sandbox, context: context()).prefix(5)) == expected)
        // local and default take no mask; a mask without a policy does nothing.
        sandbox.numaPolicy = .local
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context())[2]
            == SandboxStep(.setMemoryPolicy(mode: 4, nodes: []), "NUMAPolicy="))
        sandbox.numaPolicy = nil
        #expect(!SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context()).contains { $0.directive == "NUMAPolicy=" })
    }

    /// KeyringMode=: a session keyring of the command's own, owned by the service's user, with the
    /// invocation ID in it; the unit's mode wins over the implicit one, which swatchd picks
    /// (`private` for a service of a swatchd that is root, else `inherit`); a `+` command joins
    /// one too, as under systemd.
    @Test func keyringModeJoinsASessionKeyringOfTheCommandsOwn() {
        let id: [UInt8] = Array(1...16)
        var context = context(credentials: Credentials(uid: 65534, gid: 65534, groups: []))
        context.keyringOwner = Credentials(uid: 65534, gid: 65534)
        context.invocationID = id
        let own = SandboxStep(.joinSessionKeyring(linkUserKeyring: false, owner: Credentials(uid: 65534, gid: 65534),
                                                  invocationID: id), "KeyringMode=")
        var sandbox = Sandbox()
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context) == [])
        context.implicitKeyringMode = .private
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context) == [own])
        #expect(SandboxPlan.steps(for: sandbox, context: context).first == own)
        sandbox.keyringMode = .inherit
        #expect(!SandboxPlan.steps(for: sandbox, context: context).contains { $0.kind == .keyring })
        sandbox.keyringMode = .shared
        context.implicitKeyringMode = .inherit
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context)
            == [SandboxStep(.joinSessionKeyring(linkUserKeyring: true, owner: Credentials(uid: 65534, gid: 65534),
                                                invocationID: id), "KeyringMode=")])
        #expect(KeyringMode.implicit(forService: true, swatchdIsRoot: true) == .private)
        #expect(KeyringMode.implicit(forService: false, swatchdIsRoot: true) == .inherit)
        #expect(KeyringMode.implicit(forService: true, swatchdIsRoot: false) == .inherit)
        #expect(InvocationID.bytes(of: "0102030405060708090a0b0c0d0e0f10") == id)
        #expect(InvocationID.bytes(of: "") == [] && InvocationID.bytes(of: "0102") == [])
        #expect(InvocationID.bytes(of: "0102030405060708090a0b0c0d0e0f1g") == [])
    }

    @Test func boundingSetDropsEverythingTheUnitDidNotKeep() {
        var sandbox = Sandbox()
        // CapabilityBoundingSet=~CAP_SYS_ADMIN, as the parser leaves it.
        sandbox.capabilityBoundingSet = CapabilitySet(bits: CapabilitySet.all.bits & ~(1 << 21))
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(steps == [SandboxStep(.dropBoundingCapability(21), "CapabilityBoundingSet=")])

        // CapabilityBoundingSet= (empty): everything goes.
        sandbox.capabilityBoundingSet = CapabilitySet(bits: 0)
        #expect(operations(SandboxPlan.steps(for: sandbox, context: context()))
                == (0...40).map { .dropBoundingCapability($0) })
    }

    @Test func switchesUserAfterGroupsAndNamesTheDirectives() {
        var sandbox = Sandbox()
        sandbox.user = "nobody"
        sandbox.group = "nogroup"
        sandbox.supplementaryGroups = ["tty"]
        let steps = SandboxPlan.steps(
            for: sandbox, context: context(credentials: Credentials(uid: 65534, gid: 65534, groups: [5])))
        #expect(steps == [
            SandboxStep(.setGroups([5]), "SupplementaryGroups="),
            SandboxStep(.setGroupID(65534), "Group="),
            SandboxStep(.setUserID(65534), "User="),
        ])
    }

    /// PrivateUsers= as root (src/core/exec-invoke.c, setup_private_users()): the user
    /// namespace after the mounts and the groups, which setgroups(2) denied there could not
    /// set, and before the bounding set, keepcaps and the uid, whose capabilities the kernel
    /// resets on entering it; root and the service's own ids are mapped.
    @Test func privateUsersComesAfterTheMountsAndGroupsAndBeforeTheCapabilities() {
        var sandbox = Sandbox()
        sandbox.privateUsers = true
        sandbox.privateTmp = true
        sandbox.user = "alice"
        sandbox.capabilityBoundingSet = CapabilitySet(bits: 1 << 12)
        sandbox.ambientCapabilities = CapabilitySet(bits: 1 << 12)
        let steps = SandboxPlan.steps(
            for: sandbox, context: context(credentials: Credentials(uid: 1000, gid: 100, groups: [100, 27])))
        let kinds = steps.map(\.kind).filter { $0 != .mount && $0 != .boundingSet }
        #expect(kinds == [.unshare, .groups, .groupID, .privateUsers, .keepCapabilities, .userID, .capabilities, .ambient],
                "\(steps)")
        #expect(steps.contains(SandboxStep(.privateUsers(uid: 1000, gid: 100), "PrivateUsers=")))
        let userNamespace = steps.firstIndex { $0.kind == .privateUsers } ?? -1
        #expect(steps.lastIndex { $0.kind == .mount } ?? .max < userNamespace)
        #expect(steps.firstIndex { $0.kind == .boundingSet } ?? -1 > userNamespace)

        // Alone, as root (no User=), or as a `!` command: root only.
        var alone = Sandbox()
        alone.privateUsers = true
        #expect(SandboxPlan.steps(for: alone, context: context()) == [SandboxStep(.privateUsers(uid: 0, gid: 0), "PrivateUsers=")])
        // Group= alone: root's uid, the group's gid.
        alone.group = "staff"
        #expect(SandboxPlan.steps(for: alone, context: context(credentials: Credentials(gid: 50, groups: [])))
                == [SandboxStep(.setGroups([]), "Group="), SandboxStep(.setGroupID(50), "Group="),
                    SandboxStep(.privateUsers(uid: 0, gid: 50), "PrivateUsers=")])
        // A `+` command runs outside it, as systemd runs it without sandboxing.
        #expect(SandboxPlan.steps(for: alone, fullPrivileges: true, context: context()) == [])
        // PrivateUsers=no plans nothing.
        #expect(SandboxPlan.steps(for: Sandbox(), context: context()) == [])
        #expect(SandboxPlan.namespaceDirective(for: alone) == "PrivateUsers=")
    }

    /// As root, ambient capabilities add nothing (execve gives uid 0 its
    /// bounding set): no keepcaps, no capset.
    @Test func grantsAmbientCapabilitiesOnlyToANonRootUser() {
        var sandbox = Sandbox()
        sandbox.ambientCapabilities = CapabilitySet(bits: 1 << 10 | 1 << 12)
        sandbox.capabilityBoundingSet = CapabilitySet(bits: 1 << 10)
        let asRoot = SandboxPlan.steps(for: sandbox, context: context(credentials: nil))
        #expect(!asRoot.contains { if case .raiseAmbientCapability = $0.operation { true } else { false } })

        sandbox.user = "alice"
        let asUser = SandboxPlan.steps(for: sandbox, context: context(credentials: Credentials(uid: 1000, gid: 1000)))
        // Only what the bounding set keeps (12 is not in it).
        #expect(asUser.filter { $0.directive == "AmbientCapabilities=" }.map(\.operation) == [
            .keepCapabilities(true), .setCapabilities(permitted: 1 << 10, inheritable: 1 << 10), .raiseAmbientCapability(10),
        ])
    }

    // MARK: - PrivateDevices=

    @Test func privateDevicesBuildsOnlyTheListedNodesThenMovesThemOntoDev() {
        var sandbox = Sandbox()
        sandbox.privateDevices = true
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(steps.prefix(2).map(\.operation) == [
            .unshareMountNamespace, .mount(source: nil, target: "/", type: nil, flags: [.slave, .recursive], data: nil),
        ])
        #expect(steps.allSatisfy { $0.directive == "PrivateDevices=" })
        let stage = "/run/sw/sandbox/dev"
        #expect(steps[2].operation == .mount(source: "tmpfs", target: stage, type: "tmpfs",
                                             flags: [.noSetUID, .noExec, .strictAccessTime], data: "mode=0755,size=4m"))
        let bound = steps.compactMap { step -> String? in
            guard case .mount(let source?, let target, nil, [.bind], nil) = step.operation else { return nil }
            #expect(target == stage + "/" + source.dropFirst("/dev/".count))
            return source
        }
        #expect(bound == ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"])
        // A node the host lacks is left out (a container without /dev/tty).
        let withoutTTY = SandboxPlan.steps(for: sandbox, context: context(missingDevices: ["/dev/tty"]))
        #expect(!withoutTTY.contains { $0.operation == .createFile(path: stage + "/tty", mode: 0o666) })
        #expect(withoutTTY.count == steps.count - 2)
        #expect(mounts(steps, type: "devpts").first == stage + "/pts")
        #expect(steps.contains { $0.operation == .mount(source: "devpts", target: stage + "/pts", type: "devpts",
                                                        flags: [.noSetUID, .noExec],
                                                        data: "newinstance,ptmxmode=0666,mode=0620,gid=5") })
        #expect(mounts(steps, type: "tmpfs") == [stage, stage + "/shm"])
        #expect(mounts(steps, type: "mqueue") == [stage + "/mqueue"])
        #expect(steps.first { if case .mount(_, _, "mqueue"?, _, _) = $0.operation { true } else { false } }?.ignore == .unsupported)
        // Moved onto /dev, then /dev itself (not its submounts) read-only.
        #expect(Array(operations(steps).suffix(4)) == [
            .mount(source: stage, target: "/dev", type: nil, flags: [.move], data: nil),
            .remount(target: "/dev", flags: [.readOnly]),
            .dropBoundingCapability(Capabilities.systemRawIO), .dropBoundingCapability(Capabilities.makeNode),
        ])
    }

    // MARK: - ProtectSystem=, ProtectHome=, *Paths=

    @Test func protectSystemYesAndFullMakeTheVendorTreesReadOnly() {
        var sandbox = Sandbox()
        sandbox.protectSystem = .yes
        let yes = SandboxPlan.steps(for: sandbox, context: context())
        #expect(mounts(yes, flags: [.bind, .recursive]) == ["/boot", "/efi", "/usr"])
        #expect(Set(remounts(yes)) == ["/usr", "/boot", "/efi"])
        // /boot and /efi may be missing; /usr may not.
        #expect(yes.filter { $0.ignore == .missing }.count == 4)
        #expect(yes.allSatisfy { $0.directive == "ProtectSystem=" })

        sandbox.protectSystem = .full
        #expect(Set(remounts(SandboxPlan.steps(for: sandbox, context: context()))) == ["/usr", "/boot", "/efi", "/etc"])
    }

    /// ProtectSystem=strict: every mount read-only — a bind remount changes
    /// one mount, so each gets its own — except the API file systems, a
    /// writable path and what is below it, and the service's directories.
    @Test func protectSystemStrictRemountsEveryMountButTheWritableOnes() {
        var sandbox = Sandbox()
        sandbox.protectSystem = .strict
        sandbox.readWritePaths = ["/var/lib"]
        let steps = SandboxPlan.steps(for: sandbox, context: context(directories: [("/run/foo", "RuntimeDirectory=")]))
        #expect(remounts(steps) == ["/", "/boot", "/var", "/home/alice", "/mnt/with space"])
        let remountSteps = steps.filter { if case .remount = $0.operation { true } else { false } }
        #expect(remountSteps.first?.ignore == [])
        #expect(remountSteps.dropFirst().allSatisfy { $0.ignore == [.missing, .notMounted] })
        // The writable paths are mounts of their own (so that "/" read-only leaves them be).
        #expect(mounts(steps, flags: [.bind, .recursive]) == ["/var/lib", "/run/foo"].sorted())
        #expect(steps.first { $0.operation == .mount(source: "/run/foo", target: "/run/foo", type: nil,
                                                      flags: [.bind, .recursive], data: nil) }?.directive == "RuntimeDirectory=")
    }

    /// The service's directories alone need no namespace: nothing around them is read-only.
    /// PrivatePIDs=: the PID namespace comes with the clone (SpawnRequest.newPIDNamespace);
    /// the plan gives it a mount namespace and a /proc of its own, with ProtectProc='s options.
    @Test func privatePIDsMountsAProcOfTheNamespace() {
        var sandbox = Sandbox()
        sandbox.privatePIDs = true
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(steps.first?.operation == .unshareMountNamespace && steps.first?.directive == "PrivatePIDs=")
        let proc = steps.filter { if case .mount(_, "/proc", "proc", _, _) = $0.operation { true } else { false } }
        #expect(proc.map(\.operation) == [.mount(source: "proc", target: "/proc", type: "proc",
                                                 flags: [.noSetUID, .noDevices, .noExec], data: nil)])
        #expect(proc.first?.directive == "PrivatePIDs=")
        sandbox.protectProc = "invisible"
        #expect(SandboxPlan.steps(for: sandbox, context: context()).contains {
            $0.operation == .mount(source: "proc", target: "/proc", type: "proc", flags: [.noSetUID, .noDevices, .noExec],
                                   data: "hidepid=invisible")
        })
    }

    /// MountAPIVFS=yes without RootDirectory=: a mount namespace of its own and nothing mounted
    /// in it, the API file systems being the host's already (systemd.exec(5)).
    @Test func mountAPIVFSAloneIsAMountNamespace() {
        var sandbox = Sandbox()
        sandbox.mountAPIVFS = true
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(steps.map(\.operation) == [.unshareMountNamespace,
                                           .mount(source: nil, target: "/", type: nil, flags: [.slave, .recursive], data: nil)])
        #expect(steps.allSatisfy { $0.directive == "MountAPIVFS=" })
    }

    @Test func serviceDirectoriesAloneNeedNoNamespace() {
        var sandbox = Sandbox()
        sandbox.stateDirectory = ["foo"]
        #expect(SandboxPlan.steps(for: sandbox, context: context(directories: [("/var/lib/foo", "StateDirectory=")])) == [])
    }

    @Test func aDeeperPathHasTheLastWord() {
        var sandbox = Sandbox()
        sandbox.readOnlyPaths = ["/var"]
        sandbox.readWritePaths = ["/var/lib"]
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        // /var/lib/docker is below the writable /var/lib: left writable.
        #expect(remounts(steps) == ["/var"])
        sandbox.readOnlyPaths = ["/var/lib/docker", "/var"]
        #expect(remounts(SandboxPlan.steps(for: sandbox, context: context())) == ["/var", "/var/lib/docker"])
    }

    @Test func theMostRestrictiveSettingOfOnePathWins() {
        var sandbox = Sandbox()
        sandbox.readWritePaths = ["/srv/data/"]
        sandbox.readOnlyPaths = ["/srv//data"]
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(mounts(steps, flags: [.bind, .recursive]) == ["/srv/data"])
        #expect(remounts(steps) == ["/srv/data"])
    }

    @Test func protectHomeHidesMakesReadOnlyOrEmpties() {
        var sandbox = Sandbox()
        sandbox.protectHome = .yes
        let kinds: [String: PathKind] = ["/home": .directory, "/root": .directory]
        let yes = SandboxPlan.steps(for: sandbox, context: context(kinds: kinds))
        // /run/user is not there on this machine: optional, so left out.
        #expect(mounts(yes, flags: [.bind]) == ["/home", "/root"])
        #expect(yes.contains { $0.operation == .mount(source: "/run/sw/sandbox/idir", target: "/home", type: nil,
                                                       flags: [.bind], data: nil) })
        #expect(yes.contains { $0.operation == .remount(target: "/root", flags: [.readOnly, .noSetUID, .noDevices, .noExec]) })

        sandbox.protectHome = .readOnly
        let readOnly = SandboxPlan.steps(for: sandbox, context: context())
        #expect(remounts(readOnly) == ["/home", "/home/alice", "/root", "/run/user"])

        sandbox.protectHome = .tmpfs
        let tmpfs = SandboxPlan.steps(for: sandbox, context: context())
        #expect(mounts(tmpfs, type: "tmpfs") == ["/home", "/root", "/run/user"])
        #expect(tmpfs.contains { $0.operation == .mount(source: "tmpfs", target: "/home", type: "tmpfs",
                                                         flags: [.readOnly, .noSetUID, .noDevices, .noExec], data: "mode=0755") })
        #expect(remounts(tmpfs) == [])
    }

    @Test func inaccessiblePathsUseANodeOfTheirKindAndSkipMissingOptionalOnes() {
        var sandbox = Sandbox()
        sandbox.inaccessiblePaths = ["/etc/shadow", "-/srv/gone", "/srv/secret", "/srv/required-but-gone"]
        let steps = SandboxPlan.steps(
            for: sandbox, context: context(kinds: ["/etc/shadow": .other, "/srv/secret": .directory]))
        #expect(steps.contains(SandboxStep(.mount(source: "/run/sw/sandbox/ifile", target: "/etc/shadow", type: nil,
                                                  flags: [.bind], data: nil), "InaccessiblePaths=")))
        #expect(steps.contains(SandboxStep(.mount(source: "/run/sw/sandbox/idir", target: "/srv/secret", type: nil,
                                                  flags: [.bind], data: nil), "InaccessiblePaths=")))
        // A required missing path is still tried, so the start fails naming it (ENOENT).
        #expect(mounts(steps, flags: [.bind]).contains("/srv/required-but-gone"))
        #expect(!mounts(steps).contains("/srv/gone"))
        #expect(steps.first?.directive == "InaccessiblePaths=")
    }

    /// Every process of the unit binds the same two directories: what
    /// ExecStartPre= leaves in /tmp, ExecStart= finds.
    @Test func privateTmpBindsTheUnitsOwnDirectoriesOnBothTemporaryDirectories() {
        var sandbox = Sandbox()
        sandbox.privateTmp = true
        var machine = context()
        machine.privateTemporaryDirectories = PrivateTemporaryDirectories(
            tmp: "/tmp/swatchd-private-a.service-Ab12Cd/tmp", varTmp: "/var/tmp/swatchd-private-a.service-Ef34Gh/tmp")
        let steps = SandboxPlan.steps(for: sandbox, context: machine)
        #expect(Array(operations(steps).dropFirst(2)) == [
            .mount(source: "/tmp/swatchd-private-a.service-Ab12Cd/tmp", target: "/tmp", type: nil, flags: [.bind], data: nil),
            .mount(source: "/var/tmp/swatchd-private-a.service-Ef34Gh/tmp", target: "/var/tmp", type: nil, flags: [.bind],
                   data: nil),
        ])
        #expect(steps.allSatisfy { $0.directive == "PrivateTmp=" })
    }

    /// The unit's own /tmp comes after the inaccessible nodes (their sources
    /// may lie below the host's /tmp) and before the self-binds (a path
    /// below /tmp names one in the private /tmp).
    @Test func privateTmpIsBoundBetweenTheInaccessibleNodesAndTheSelfBinds() {
        var sandbox = Sandbox()
        sandbox.privateTmp = true
        sandbox.inaccessiblePaths = ["/srv/secret"]
        sandbox.readWritePaths = ["/tmp/work"]
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(mounts(steps).dropFirst() == ["/srv/secret", "/tmp", "/var/tmp", "/tmp/work"])
    }

    /// The failure of the namespace itself names the directive the user wrote
    /// (`PrivateDevices=: Operation not permitted`), or DynamicUser= for what it implies.
    @Test func unshareNamesTheDirectiveThatAskedForTheNamespace() {
        var sandbox = Sandbox()
        sandbox.dynamicUser = true
        sandbox.privateDevices = true
        let seed = SandboxPlan.steps(for: sandbox, context: context(credentials: Credentials(uid: 62_000, gid: 62_000, groups: [])))
        #expect(seed.first == SandboxStep(.unshareMountNamespace, "PrivateDevices="))
        #expect(seed.contains(SandboxStep(.setUserID(62_000), "DynamicUser=")))
        #expect(seed.last == SandboxStep(.noNewPrivileges, "DynamicUser="))
        sandbox.privateDevices = false
        let dynamic = SandboxPlan.steps(for: sandbox, context: context(credentials: Credentials(uid: 62_000, gid: 62_000, groups: [])))
        #expect(dynamic.first == SandboxStep(.unshareMountNamespace, "DynamicUser="))
    }

    /// SecureBits=: set right after the user change, which keep-caps survives with the
    /// CAP_SETPCAP the call needs (as systemd's enforce_user()); as root, after the bounding set.
    @Test func secureBitsFollowTheUserChange() {
        var sandbox = Sandbox()
        sandbox.secureBits = 1 << 4 | 1 << 5
        sandbox.user = "nobody"
        let steps = SandboxPlan.steps(for: sandbox, context: context(credentials: Credentials(uid: 65534, gid: 65534, groups: [])))
        #expect(Array(steps.suffix(3)) == [SandboxStep(.keepCapabilities(true), "SecureBits="),
                                           SandboxStep(.setUserID(65534), "User="),
                                           SandboxStep(.setSecureBits(48), "SecureBits=")])
        sandbox.user = nil
        sandbox.secureBits = 3
        sandbox.noNewPrivileges = true
        #expect(Array(SandboxPlan.steps(for: sandbox, context: context()).suffix(2))
            == [SandboxStep(.setSecureBits(3), "SecureBits="), SandboxStep(.noNewPrivileges, "NoNewPrivileges=")])
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context()) == [])
    }

    /// NetworkNamespacePath= and IPCNamespacePath= join the namespace at the path, before any
    /// other is made; PrivateNetwork= and PrivateIPC= beside them then have no effect (no new
    /// namespace, no `lo` to bring up), as systemd.exec(5) says.
    @Test func aNamespacePathIsJoinedInsteadOfANewNamespace() {
        var sandbox = Sandbox()
        sandbox.networkNamespacePath = "/run/netns/vpn"
        sandbox.ipcNamespacePath = "/proc/1/ns/ipc"
        sandbox.privateNetwork = true
        sandbox.privateIPC = true
        sandbox.protectHostname = true
        #expect(SandboxPlan.steps(for: sandbox, context: context()) == [
            SandboxStep(.joinNamespace(path: "/proc/1/ns/ipc", type: SWATCH_CLONE_NEWIPC), "IPCNamespacePath="),
            SandboxStep(.joinNamespace(path: "/run/netns/vpn", type: SWATCH_CLONE_NEWNET), "NetworkNamespacePath="),
            SandboxStep(.unshareNamespaces(SWATCH_CLONE_NEWUTS), "ProtectHostname="),
        ])
        sandbox.networkNamespacePath = nil
        let steps = SandboxPlan.steps(for: sandbox, context: context())
        #expect(steps.contains(SandboxStep(.unshareNamespaces(SWATCH_CLONE_NEWUTS | SWATCH_CLONE_NEWNET), "ProtectHostname=")))
        #expect(steps.contains(SandboxStep(.interfaceUp("lo"), "PrivateNetwork=")))
        // A `+` command joins nothing.
        #expect(SandboxPlan.steps(for: sandbox, fullPrivileges: true, context: context()) == [])
    }

    /// What a sandbox hides (where swatchd's notify socket must not be).
    @Test func coveredPathsAreTheTmpfsAndInaccessibleOnes() {
        var sandbox = Sandbox()
        sandbox.dynamicUser = true
        sandbox.inaccessiblePaths = ["-/srv/secret"]
        sandbox.readOnlyPaths = ["/srv"]
        let covered = SandboxPlan.coveredPaths(for: sandbox)
        #expect(covered.map(\.path) == ["/tmp", "/var/tmp", "/srv/secret"])
        #expect(covered.map(\.directive) == ["DynamicUser=", "DynamicUser=", "InaccessiblePaths="])
        #expect(SandboxPlan.atOrBelow("/tmp/sw-1/run/notify", "/tmp") && !SandboxPlan.atOrBelow("/run/swatchd/notify", "/tmp"))
        #expect(SandboxPlan.coveredPaths(for: Sandbox()).isEmpty)
    }

    @Test func limitsUseTheirRLimitNumbers() {
        #expect(ResourceLimit.nofile.number == 7)
        #expect(ResourceLimit.nproc.number == 6)
        #expect(ResourceLimit.core.number == 4)
        #expect(ResourceLimit.as.number == 9)
        #expect(Set(ResourceLimit.allCases.map(\.number)) == Set(0...15))
    }

    @Test func normalizesPaths() {
        #expect(SandboxPlan.normalize("/var//lib/") == "/var/lib")
        #expect(SandboxPlan.normalize("/") == "/")
        #expect(SandboxPlan.normalize("//") == "/")
        #expect(SandboxPlan.normalize("") == "/")
        #expect(SandboxPlan.normalize("relative/x") == "/relative/x")
        #expect(SandboxPlan.isBelow("/var/lib", "/var") && !SandboxPlan.isBelow("/variable", "/var"))
        #expect(SandboxPlan.isBelow("/x", "/") && !SandboxPlan.isBelow("/", "/"))
    }
}
