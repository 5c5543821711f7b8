import CSwatch
import Glibc
import Testing
@testable import SwatchCore

/// The order of the sandboxing steps is stated once, on the C side
/// (`sandbox_execution_order` in Sources/CSwatch/shim.c); the Swift side reads
/// it, and the plan must emit its steps sorted by it. These tests fail when the
/// two sides disagree: a step one side has and the other lacks, an operation
/// the child classifies as another step than Swift does, or a plan whose
/// steps are out of that order.
@Suite struct SandboxStepOrderTests {
    /// The C array names every Swift kind exactly once, and nothing else.
    @Test func theChildsOrderNamesEveryStepOnce() {
        let order = SandboxStep.Kind.executionOrder
        #expect(order.count == SandboxStep.Kind.cExecutionOrder.count, "a C step without a Swift kind")
        #expect(order.count == SandboxStep.Kind.allCases.count)
        #expect(Set(order) == Set(SandboxStep.Kind.allCases))
        #expect(Set(SandboxStep.Kind.cExecutionOrder).count == SandboxStep.Kind.cExecutionOrder.count, "a step named twice")
    }

    /// The order as the comment of shim.c gives its reasons: process
    /// properties (limits, nice, CPU and I/O scheduling, OOM score, CPU affinity, NUMA policy,
    /// timer slack, personality) while root, the session keyring before any namespace, the namespaces and
    /// mounts, the groups while root of the host's user namespace, PrivateUsers='s namespace before
    /// anything about capabilities (entering it resets them), the bounding set, the user,
    /// the securebits, ambient capabilities, no_new_privs, and the seccomp filters last of all.
    @Test func theOrderIsThePrivilegeOrder() {
        #expect(SandboxStep.Kind.executionOrder == [
            .limit, .nice, .scheduler, .ioPriority, .oomScoreAdjust, .cpuAffinity, .memoryPolicy, .timerSlack, .personality,
            .keyring, .userNamespace,
            .unshare, .loopback, .mount, .groups, .groupID,
            .privateUsers, .boundingSet, .keepCapabilities, .userID, .secureBits, .capabilities, .ambient, .noNewPrivileges,
            .seccomp,
        ])
    }

    /// The `SWATCH_SANDBOX_*` kind the spawner hands the child for an
    /// operation (the mapping of Sources/SwatchCore/Linux/Spawner.swift). A
    /// `switch` without `default`: a new operation does not compile here
    /// until it is given one.
    static func cKind(of operation: SandboxOperation) -> Int32 {
        let kind: swatch_sandbox_kind = switch operation {
        case .setLimit: SWATCH_SANDBOX_SETRLIMIT
        case .setNice: SWATCH_SANDBOX_SETPRIORITY
        case .setScheduler: SWATCH_SANDBOX_SCHED_SETSCHEDULER
        case .setIOPriority: SWATCH_SANDBOX_IOPRIO_SET
        case .writeFile: SWATCH_SANDBOX_WRITE_FILE
        case .setCPUAffinity: SWATCH_SANDBOX_SCHED_SETAFFINITY
        case .setMemoryPolicy: SWATCH_SANDBOX_SET_MEMPOLICY
        case .setTimerSlack: SWATCH_SANDBOX_TIMER_SLACK
        case .setPersonality: SWATCH_SANDBOX_PERSONALITY
        case .joinSessionKeyring: SWATCH_SANDBOX_SESSION_KEYRING
        case .enterUserNamespace: SWATCH_SANDBOX_USER_NAMESPACE
        case .privateUsers: SWATCH_SANDBOX_PRIVATE_USERS
        case .unshareMountNamespace, .unshareNamespaces: SWATCH_SANDBOX_UNSHARE
        case .joinNamespace: SWATCH_SANDBOX_SETNS
        case .interfaceUp: SWATCH_SANDBOX_INTERFACE_UP
        case .loadSeccompFilter: SWATCH_SANDBOX_SECCOMP
        case .mount: SWATCH_SANDBOX_MOUNT
        case .remount, .remountExecutable: SWATCH_SANDBOX_REMOUNT
        case .makeDirectory: SWATCH_SANDBOX_MKDIR
        case .createFile: SWATCH_SANDBOX_CREATE_FILE
        case .symlink: SWATCH_SANDBOX_SYMLINK
        case .dropBoundingCapability: SWATCH_SANDBOX_CAPBSET_DROP
        case .keepCapabilities: SWATCH_SANDBOX_KEEPCAPS
        case .setGroups: SWATCH_SANDBOX_SETGROUPS
        case .setGroupID: SWATCH_SANDBOX_SETRESGID
        case .setUserID: SWATCH_SANDBOX_SETRESUID
        case .setSecureBits: SWATCH_SANDBOX_SECUREBITS
        case .setCapabilities: SWATCH_SANDBOX_CAPSET
        case .raiseAmbientCapability: SWATCH_SANDBOX_AMBIENT_RAISE
        case .noNewPrivileges: SWATCH_SANDBOX_NO_NEW_PRIVS
        }
        return Int32(kind.rawValue)
    }

    /// One operation of every case.
    static let everyOperation: [SandboxOperation] = [
        .setLimit(resource: 7, soft: 1, hard: 2), .setNice(1), .setScheduler(policy: 3, priority: 0), .setIOPriority(0x6000),
        .writeFile(path: "/f", text: "1\n"), .setCPUAffinity([1]), .setMemoryPolicy(mode: 2, nodes: [1]),
        .setTimerSlack(50_000), .setPersonality(0),
        .joinSessionKeyring(linkUserKeyring: true, owner: Credentials(uid: 1, gid: 1), invocationID: []),
        .unshareMountNamespace, .mount(source: nil, target: "/", type: nil, flags: [], data: nil),
        .remount(target: "/", flags: [.readOnly]), .makeDirectory(path: "/d", mode: 0o755),
        .createFile(path: "/f", mode: 0o644), .symlink(destination: "/a", path: "/b"), .dropBoundingCapability(1),
        .keepCapabilities(true), .setGroups([1]), .setGroupID(1), .setUserID(1), .setSecureBits(1),
        .setCapabilities(permitted: 1, inheritable: 1), .raiseAmbientCapability(1), .noNewPrivileges,
        .unshareNamespaces(1), .joinNamespace(path: "/run/netns/a", type: 0x4000_0000), .interfaceUp("lo"), .enterUserNamespace(uid: 1000, gid: 100), .privateUsers(uid: 1000, gid: 100), .loadSeccompFilter(SeccompProgram(bytes: [0, 0, 0, 0, 0, 0, 0, 0])),
    ]

    /// The child orders (and reports a failure) by the step it puts an
    /// operation in; Swift must put every operation in the same one.
    @Test(arguments: everyOperation)
    func everyOperationIsOfTheStepTheChildPutsItIn(_ operation: SandboxOperation) {
        #expect(operation.kind.spawnStep == swatch_sandbox_operation_step(Self.cKind(of: operation)), "\(operation)")
    }

    /// A unit with every directive the plan knows: its steps cover every
    /// kind, and come sorted by the child's order.
    @Test func aPlanWithEveryDirectiveFollowsTheChildsOrder() {
        var sandbox = Sandbox()
        for resource in ResourceLimit.allCases { sandbox.limits[resource] = LimitValue(soft: 1, hard: 2) }
        sandbox.nice = 5
        sandbox.cpuSchedulingPolicy = .batch
        sandbox.ioSchedulingClass = .idle
        sandbox.oomScoreAdjust = 500
        sandbox.cpuAffinity = [0, 1]
        sandbox.numaPolicy = .bind
        sandbox.numaMask = [0]
        sandbox.timerSlack = 50_000
        sandbox.personality = 0
        sandbox.keyringMode = .shared
        sandbox.secureBits = 1
        sandbox.user = "alice"
        sandbox.group = "staff"
        sandbox.supplementaryGroups = ["audio"]
        sandbox.noNewPrivileges = true
        sandbox.capabilityBoundingSet = CapabilitySet(bits: 1 << 10 | 1 << 12)
        sandbox.ambientCapabilities = CapabilitySet(bits: 1 << 10)
        sandbox.privateDevices = true
        sandbox.privateTmp = true
        sandbox.protectSystem = .strict
        sandbox.protectHome = .tmpfs
        sandbox.readWritePaths = ["/var/lib/x"]
        sandbox.readOnlyPaths = ["-/srv"]
        sandbox.inaccessiblePaths = ["/etc/secret"]
        sandbox.stateDirectory = ["x"]
        sandbox.removeIPC = true
        sandbox.privateNetwork = true
        sandbox.privateUsers = true
        var context = SandboxContext(
            credentials: Credentials(uid: 1000, gid: 50, groups: [50, 29]), lastCapability: 40,
            mountPoints: ["/", "/proc", "/sys", "/dev", "/boot", "/var", "/home"],
            serviceDirectories: [("/var/lib/x", "StateDirectory=")],
            pathKind: { $0 == "/etc/secret" ? .other : .directory })
        context.seccompPrograms = [("SystemCallFilter=", SeccompProgram(bytes: [0, 0, 0, 0, 0, 0, 0, 0]))]
        let steps = SandboxPlan.steps(for: sandbox, context: context)
        // (Every kind but the user namespace, which only a swatchd that is not root sets up.)
        #expect(Set(steps.map(\.kind)) == Set(SandboxStep.Kind.allCases).subtracting([.userNamespace]), "\(steps)")
        let ranks = steps.map(\.kind.executionRank)
        #expect(ranks == ranks.sorted(), "\(steps)")
        #expect(SandboxStep.areInExecutionOrder(steps))
        // The check itself notices a step out of order.
        #expect(!SandboxStep.areInExecutionOrder([SandboxStep(.setUserID(1), "User="), SandboxStep(.setGroupID(1), "Group=")]))
    }
}
