import Logging
import SystemPackage
import Testing
@testable import SwatchCore

/// A shell that answers the Manager's questions the way the real one would on a
/// happy machine — binds work, conditions hold, spawns get pids 100, 101, … —
/// unless a test says otherwise, and keeps every action for the test to read.
/// No sockets, no processes, no sleeping: time is whatever `now` says.
struct ScriptedShell {
    var manager: Manager
    var now = Instant(microseconds: 1_000_000)
    var nextPID: Int32 = 100
    /// Every action applied, in order.
    var applied: [ManagerAction] = []
    /// Socket units whose bind fails (with EADDRINUSE, as a port in use).
    var failingBinds: Set<String> = []
    /// Spawns that fail (ENOENT, as a missing program), asked with the pid the spawn would get.
    var failingSpawn: (SpawnOrder, Int32) -> Bool = { _, _ in false }
    /// Conditions that do not hold.
    var unmet: (UnitCondition) -> Bool = { _ in false }
    var invocationCounter = 0
    /// Connections the shell holds, by id.
    var connections: Set<Int> = []
    var nextConnection = 0
    /// Fds stored per unit, as the shell would hold them.
    var stored: [UnitName: [String]] = [:]
    var pendingNotifyFDs = 0
    /// What `.countConnections` answers (X-IdleStopSec=).
    var openConnections = 0

    static let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "box")

    init(_ files: [String: String], exitWith: UnitName? = nil,
         randomBelow: @escaping (UInt64) -> UInt64 = { $0 / 2 }) {
        let sources = files.sorted { $0.key < $1.key }.map { UnitSource(path: "/u/\($0.key)", text: $0.value) }
        let set = UnitSet.parse(sources, context: ScriptedShell.context, checkExecutables: false)
        var counter = 0
        manager = Manager(configuration: Manager.Configuration(notifySocketPath: "/run/swatchd/notify", exitWith: exitWith),
                          units: UnitSet.parse([], context: ScriptedShell.context), makeInvocationID: {
                              counter += 1
                              return "id\(counter)"
                          }, randomBelow: randomBelow)
        send(.load(set))
        send(.startUntriggeredServices)
    }

    static func units(_ files: [String: String]) -> UnitSet {
        UnitSet.parse(files.sorted { $0.key < $1.key }.map { UnitSource(path: "/u/\($0.key)", text: $0.value) },
                      context: context, checkExecutables: false)
    }

    /// Sends an event and answers every question that follows, first in first out.
    mutating func send(_ event: ManagerEvent) {
        var queue = manager.handle(event, now: now)
        while !queue.isEmpty {
            let action = queue.removeFirst()
            applied.append(action)
            if let answer = answer(action) { queue += manager.handle(answer, now: now) }
        }
    }

    mutating func answer(_ action: ManagerAction) -> ManagerEvent? {
        switch action {
        case .bind(let name, _):
            if failingBinds.contains(name.description) { return .socketBindFailed(name, Errno.addressInUse) }
            return .socketBound(name, warnings: [])
        case .rebind(let name, let unit):
            return .socketRebound(name, unit: unit, listenersChanged: true)
        case .testConditions(let name, let conditions):
            return .conditionsTested(name, failure: conditions.first(where: unmet))
        case .spawn(let order):
            nextPID += 1
            if failingSpawn(order, nextPID - 1) { return .spawnFailed(order.unit, order.role, Errno.noSuchFileOrDirectory) }
            return .spawned(order.unit, order.role, pid: nextPID - 1)
        case .discoverMainPID(let name, _):
            return .mainPIDDiscovered(name, nil)
        case .accept(let name, _):
            nextConnection += 1
            connections.insert(nextConnection)
            return .connectionsAccepted(name, [AcceptedConnectionInfo(id: nextConnection, remoteAddress: "127.0.0.1",
                                                                      remotePort: 40000, localAddress: "127.0.0.1",
                                                                      localPort: 7)])
        case .closeConnection(let id):
            connections.remove(id)
            return nil
        case .dropStoredFD(let name, let index):
            stored[name]?.remove(at: index)
            return nil
        case .storeFDs(let name, let fdName, let count, _):
            stored[name, default: []] += Array(repeating: fdName, count: count)
            return nil
        case .removeStoredFDs(let name, let fdName):
            stored[name]?.removeAll { $0 == fdName }
            return nil
        case .closeStoredFDs(let name):
            stored[name] = nil
            return nil
        case .closeListeners, .watch, .unwatch, .pauseListener, .resumeListener, .flushListeners, .kill, .releaseResources,
             .releaseRuntime, .reply,
             .log, .exit:
            return nil
        case .moveProcesses(let name, _, _):
            return .processesMoved(name, ok: true)
        case .signalGroup, .removeGroup, .serviceFailed, .reexec:
            return nil
        case .countConnections(let name, _):
            return .connectionsCounted(name, openConnections)
        case .loadUnitFiles:
            Issue.record("the test sends .reload itself")
            return nil
        }
    }

    mutating func advance(_ seconds: Double) {
        now = now + TimeSpan(microseconds: UInt64(seconds * 1_000_000))
    }

    /// Fires the timer as the shell would: at the Manager's next deadline.
    mutating func fireTimer() {
        guard let due = manager.nextDeadline() else {
            Issue.record("no deadline")
            return
        }
        now = max(now, due)
        send(.timer)
    }

    mutating func take() -> [ManagerAction] {
        defer { applied = [] }
        return applied
    }

    func spawns(_ actions: [ManagerAction]) -> [SpawnOrder] {
        actions.compactMap { if case .spawn(let order) = $0 { return order } else { return nil } }
    }

    func logs(_ actions: [ManagerAction]) -> [String] {
        actions.compactMap { if case .log(_, _, let message) = $0 { return message } else { return nil } }
    }

    func replies(_ actions: [ManagerAction]) -> [ControlResponse] {
        actions.compactMap {
            if case .reply(_, .response(let response)) = $0 { return response } else { return nil }
        }
    }

    func watched(_ actions: [ManagerAction]) -> [String] {
        actions.compactMap {
            switch $0 {
            case .watch(let name): return "+\(name)"
            case .unwatch(let name): return "-\(name)"
            default: return nil
            }
        }
    }

    func state(_ name: String) -> ServiceState? { manager.services[UnitName(parsing: name)!]?.machine.state }

    var call: ControlServer.ConnectionID { ControlServer.ConnectionID(fd: 9, serial: 1) }

    mutating func request(_ request: ControlRequest) -> [ManagerAction] {
        _ = take()
        send(.control(call, request, realtime: 1_700_000_000_000_000))
        return take()
    }

    mutating func exit(_ pid: Int32, _ status: SwatchCore.ExitStatus) {
        send(.processExited(pid: pid, status: status, groupEmpty: true))
    }
}

