import Logging

/// Every decision of the daemon, as one pure value (docs/HACKING.md, "Layout"):
/// the machines of all units, who owns which pid, invocation IDs, the
/// start-limit pause of sockets, Accept=yes instances, the daemon-reload diff,
/// the dependencies between units and the answers to control requests.
///
/// Events go in with `now:` and actions come out, keyed by unit. Nothing in
/// here touches a file descriptor, a process or the clock: the `Supervisor`
/// shell turns kernel events into `ManagerEvent`s and applies the
/// `ManagerAction`s, and the unit tests (Tests/SwatchCoreTests/Supervision/
/// ManagerTests.swift) drive it with a made-up clock.
///
/// Some actions ask the shell a question whose answer comes back as the next
/// event (`.spawn` → `.spawned`/`.spawnFailed`, `.bind` → `.socketBound`/
/// `.socketBindFailed`, `.testConditions` → `.conditionsTested`,
/// `.discoverMainPID` → `.mainPIDDiscovered`, `.accept` →
/// `.connectionsAccepted`). The shell applies actions first in, first out, and
/// appends the actions of such an answer to the end of its queue.
///
/// State changes in one place per kind of unit (`withService`, `withSocket`),
/// which also keeps the derived indexes — deadlines, triggering sockets,
/// groups waited for — in step, so that nothing per event walks every unit.
package struct Manager {
    package struct Configuration: Sendable {
        /// `NOTIFY_SOCKET` of the services that talk sd_notify.
        package var notifySocketPath: String?
        /// `swatchd --exit-with UNIT`: when this service ends, everything stops and swatchd
        /// exits with its status (the container use: one main service).
        package var exitWith: UnitName?
        package init(notifySocketPath: String? = nil, exitWith: UnitName? = nil) {
            self.notifySocketPath = notifySocketPath
            self.exitWith = exitWith
        }
    }

    /// A service (or an Accept=yes instance) and what the daemon knows about it: one
    /// pointer in `services`, its fields out of line (Units/CopyOnWrite.swift), as a
    /// dictionary keeps up to twice as many buckets as entries.
    struct ServiceEntry: CopyOnWrite {
        var storage: CopyOnWriteStorage<ServiceEntryFields>
        init(unit: ServiceUnit) { storage = CopyOnWriteStorage(ServiceEntryFields(unit: unit)) }
    }

    struct ServiceEntryFields {
        var machine: ServiceMachine
        /// INVOCATION_ID of the current start (empty before the first).
        var invocationID = ""
        /// The names of the FDSTORE=1 fds the shell holds, in the order they are passed on.
        var storedFDNames: [String] = []
        /// daemon-reload found the unit gone: forget it once it is inactive.
        var removed = false

        init(unit: ServiceUnit) { machine = ServiceMachine(unit: unit) }

        /// Accept=yes: the connection, until the instance's main process has it.
        var connection: AcceptedConnectionInfo? {
            get { instance?.value.connection }
            set { withInstance { $0.connection = newValue } }
        }
        /// Accept=yes: the socket unit that made this instance.
        var instanceOf: UnitName? {
            get { instance?.value.instanceOf }
            set { withInstance { $0.instanceOf = newValue } }
        }
        /// Accept=yes: the source of its connection, as MaxConnectionsPerSource= counts it.
        var source: String? {
            get { instance?.value.source }
            set { withInstance { $0.source = newValue } }
        }
        /// Accept=yes: the instance failed and stays loaded as failed (Manager+Instances.swift);
        /// its connection is closed and no longer counted.
        var keptFailed: Bool {
            get { instance?.value.keptFailed ?? false }
            set { withInstance { $0.keptFailed = newValue } }
        }
        /// Accept=yes: the peer as its description shows it (`127.0.0.1:40000`, `[::1]:40000`,
        /// `PID 42/UID 1000`; Manager.unitDescription).
        var peer: String? {
            get { instance?.value.peer }
            set { withInstance { $0.peer = newValue } }
        }

        /// Makes an Accept=yes instance of the entry, in one allocation.
        mutating func makeInstance(of socket: UnitName, connection: AcceptedConnectionInfo, source: String?,
                                   peer: String?) {
            instance = CopyOnWriteStorage(Instance(connection: connection, instanceOf: socket, source: source, peer: peer))
        }

        /// What only an Accept=yes instance has (~140 bytes), one pointer, nil for every other service.
        private struct Instance {
            var connection: AcceptedConnectionInfo?
            var instanceOf: UnitName?
            var source: String?
            var peer: String?
            var keptFailed = false
        }
        private var instance: CopyOnWriteStorage<Instance>?

        private mutating func withInstance(_ change: (inout Instance) -> Void) {
            if instance != nil, isKnownUniquelyReferenced(&instance!) { return change(&instance!.value) }
            var fields = instance?.value ?? Instance()
            change(&fields)
            instance = CopyOnWriteStorage(fields)
        }
    }

    /// A socket unit: its machine and whether its listeners are bound and watched; one
    /// pointer in `sockets`, as a ServiceEntry.
    struct SocketEntry: CopyOnWrite {
        var storage: CopyOnWriteStorage<SocketEntryFields>
        init(machine: SocketMachine, service: UnitName) {
            storage = CopyOnWriteStorage(SocketEntryFields(machine: machine, service: service))
        }
    }

    struct SocketEntryFields {
        enum Listeners: Equatable {
            /// Starting: its conditions, ExecStartPre= or the bind.
            case binding
            /// From the bind to the close (ExecStartPost= and ExecStopPre= run while bound).
            case bound
            /// Stopped, or closed and running ExecStopPost=: `start` binds them again.
            case closed
            /// The last start or stop failed (`failure` says why a bind failed): `start` tries again.
            case failed
        }
        var machine: SocketMachine
        var service: UnitName

        init(machine: SocketMachine, service: UnitName) {
            self.machine = machine
            self.service = service
        }

        /// What the machine's phase means for the listeners.
        var listeners: Listeners {
            switch machine.phase {
            case .condition, .startPre, .binding: return .binding
            case .startPost, .active, .stopPre: return .bound
            case .dead, .stopPost, .final: return .closed
            case .failed: return .failed
            }
        }
        /// Whether the shell holds bound listeners of the unit (a failed bind leaves none to close).
        var open = false
        var failure: String? {
            get { rarelySet.failure }
            // Cleared at every bind: an unchanged value leaves the shared default alone.
            set { if newValue != rarelySet.failure { rarelySet.failure = newValue } }
        }
        /// Whether the shell has the listeners in epoll.
        var watched = false
        /// Accept=yes: instances alive.
        var instances: Int {
            get { rarelySet.instances }
            _modify { yield &rarelySet.instances }
        }
        /// Accept=yes: instances alive per source (MaxConnectionsPerSource=).
        var sources: [String: Int] {
            get { rarelySet.sources }
            _modify { yield &rarelySet.sources }
        }
        /// Accept=yes: the connections that made an instance, and those closed at once for a
        /// limit or a shutdown (systemctl's `Accepted:` and `Refused:`, NAccepted=, NRefused=).
        var accepted: Int {
            get { rarelySet.accepted }
            _modify { yield &rarelySet.accepted }
        }
        var refused: Int {
            get { rarelySet.refused }
            _modify { yield &rarelySet.refused }
        }
        /// Accept=yes: the failed instances kept loaded, oldest first (Manager+Instances.swift).
        var failedInstances: [UnitName] {
            get { rarelySet.failedInstances }
            _modify { yield &rarelySet.failedInstances }
        }
        /// INVOCATION_ID of the current start of the unit's commands.
        var invocationID: String {
            get { rarelySet.invocationID }
            _modify { yield &rarelySet.invocationID }
        }
        /// A restart job: start again once the stop is through.
        var restartPending = false
        /// When its ActiveState= last changed (for `since …`).
        var stateChanged: Instant?

        /// What a socket unit with commands, Accept=yes or a failed bind has (48 bytes),
        /// out of line: the others share one default (Units/CopyOnWrite.swift).
        private var rarelySet = RarelySet()

        private struct RarelySetFields {
            var failure: String?
            var instances = 0
            var sources: [String: Int] = [:]
            var failedInstances: [UnitName] = []
            var accepted = 0
            var refused = 0
            var invocationID = ""
        }

        private struct RarelySet: CopyOnWrite {
            var storage: CopyOnWriteStorage<RarelySetFields>
            init() { storage = RarelySet.defaults }
            private static let defaults = CopyOnWriteStorage(RarelySetFields())
        }
    }

    enum DeadlineKey: Hashable {
        case service(UnitName)
        case socket(UnitName)
        /// X-IdleStopSec=: time to look whether the service still has connections.
        case idle(UnitName)
        /// Ready handover: TimeoutStopSec= of the old processes.
        case retired(UnitName)
        /// JobTimeoutSec=/JobRunningTimeoutSec= of the unit's job.
        case job(UnitName)
    }

    let configuration: Configuration
    /// The unit files as last loaded (the definitions of broken ones kept from before).
    var units: UnitSet
    var services: [UnitName: ServiceEntry] = [:]
    var sockets: [UnitName: SocketEntry] = [:]
    /// Main and control processes → their unit.
    var pidOwners: [Int32: UnitName] = [:]
    /// The non-Accept socket units that trigger each service, sorted, besides the socket unit
    /// of the service's own name whose service it is: `triggers(of:)` adds that one. Most
    /// services have that socket alone, so this is mostly empty; an entry for every service
    /// was a bucket and an array per socket unit (docs/HACKING.md "Where the bytes are").
    var otherTriggers: [UnitName: [UnitName]] = [:]
    /// Services in a stop phase that waits for the last process of their group.
    var waitingForGroup: Set<UnitName> = []
    var deadlines = DeadlineHeap<DeadlineKey>()
    var calls = PendingCalls()
    /// Each unit's job, if it has one (Manager+Jobs.swift).
    var jobs: [UnitName: Job] = [:]
    var nextJobID = 0
    /// The dependencies between the loaded units, rebuilt at load and reload.
    var graph = DependencyGraph()
    /// The services a socket unit of the unit set activates (bound or not) whose name is not the
    /// socket's (Service=, Sockets=), kept with the graph. Those of a socket of their own name
    /// are found by name (isSocketActivated): a set of every such service was a bucket per unit.
    var socketActivatedByOtherNames: Set<UnitName> = []
    /// Services handing over to a new process (Manager+Handover.swift).
    var handovers: [UnitName: Handover] = [:]
    /// `--exit-with`: the status swatchd exits with once everything has stopped.
    var exitStatus: Int32 = 0
    /// Services whose conditions the shell is testing (`.testConditions`).
    var conditionsAsked: Set<UnitName> = []
    /// StopWhenUnneeded=: whether any loaded unit has it, and those that may have become
    /// unneeded during this event (Manager+Unneeded.swift).
    var anyStopWhenUnneeded = false
    var unneeded: Set<UnitName> = []
    var autoStops: [UnitName: (since: Instant, count: Int)] = [:]
    var shuttingDown = false
    /// Shutdown: every service is down and the sockets were told to stop.
    var socketsStopping = false
    /// Shutdown: the services that are not inactive yet, then (once `socketsStopping`) the
    /// sockets. Taken once when each phase begins and kept by the transitions
    /// (`serviceChanged`, `socketChanged`), so that the end of a shutdown is not a look at
    /// every unit after every event.
    var stillUp: Set<UnitName> = []
    var acceptCounter = 0
    /// `.exit` was emitted.
    var exited = false
    /// 128 random bits in hex per start; injected so that tests can predict them.
    let makeInvocationID: () -> String
    /// A uniform draw in 0..<bound (RuntimeRandomizedExtraSec=); injected so that tests can predict it.
    let randomBelow: (UInt64) -> UInt64

    private var actions: [ManagerAction] = []
    /// The `now:` of the event being handled.
    private(set) var now = Instant(microseconds: 0)

    package init(configuration: Configuration, units: UnitSet, makeInvocationID: @escaping () -> String,
                 randomBelow: @escaping (UInt64) -> UInt64 = { UInt64.random(in: 0..<$0) }) {
        self.configuration = configuration
        self.units = units
        self.makeInvocationID = makeInvocationID
        self.randomBelow = randomBelow
    }

    // MARK: - Events in, actions out

    /// Handles one event and returns what the shell is to do, in order.
    package mutating func handle(_ event: ManagerEvent, now: Instant) -> [ManagerAction] {
        self.now = now
        switch event {
        case .load(let set):
            load(set)
        case .startUntriggeredServices:
            // One job each; After=/Before= order them, the rest start in parallel. An instance
            // loaded because a unit names it starts when that unit pulls it in (UnitSet.namedInstances).
            // Sorted after the filter: socket-activated services (usually nearly all) need no order.
            for name in services.keys.filter({ !isSocketActivated($0) && !units.namedInstances.contains($0) }).sorted() {
                enqueue(.start, name, anchor: false)
            }
        case .listenerReadable(let socket, let listener):
            listenerReadable(socket, listener: listener, now: now)
        case .connectionsAccepted(let socket, let connections):
            for connection in connections { startInstance(of: socket, for: connection, now: now) }
        case .acceptFailed(let socket, let error):
            acceptFailed(socket, error, now: now)
        case .socketBound(let socket, let warnings):
            socketBound(socket, warnings: warnings, now: now)
        case .socketBindFailed(let socket, let error):
            socketBindFailed(socket, error, now: now)
        case .socketRebound(let socket, let unit, let listenersChanged):
            socketRebound(socket, unit: unit, listenersChanged: listenersChanged, now: now)
        case .socketRebindFailed(let socket, let error):
            log(socket, .error, "\(socket): \(error); keeping its previous listeners.")
            updateWatching(socket)
        case .conditionsTested(let unit, let failure):
            conditionsTested(unit, failure: failure, now: now)
        case .spawned(let unit, let role, let pid) where unit.type == .socket:
            socketSpawned(unit, role: role, pid: pid)
        case .spawned(let unit, let role, let pid):
            spawned(unit, role: role, pid: pid, now: now)
        case .spawnFailed(let unit, let role, let error) where unit.type == .socket:
            log(unit, .error, "\(unit): Failed to run '\(role.phase.rawValue)' task: \(error)")
            withSocket(unit) { $0.spawnFailed(role: role, now: now) }
        case .spawnFailed(let unit, let role, let error):
            withService(unit) { $0.spawnFailed("\(error)", role: role, now: now) }
        case .processExited(let pid, let status, let groupEmpty):
            guard let unit = pidOwners.removeValue(forKey: pid) else { break }
            if unit.type == .socket {
                withSocket(unit) { $0.processExited(pid, status: status, now: now) }
            } else {
                withService(unit) { $0.processExited(pid, status: status, groupEmpty: groupEmpty, now: now) }
            }
        case .groupEmptied(let unit):
            withService(unit) { $0.groupEmptied(now: now) }
        case .mainPIDDiscovered(let unit, let pid):
            mainPIDDiscovered(unit, pid: pid, now: now)
        case .notify(let unit, let pid, let message, let fdCount, let inService):
            notify(unit, from: pid, message, fdCount: fdCount, inService: inService, now: now)
        case .storedFDHungUp(let unit, let index):
            storedFDHungUp(unit, index: index)
        case .timer:
            timerFired(now: now)
        case .control(let call, let request, let realtime):
            control(call, request, now: now, realtime: realtime)
        case .reload(let set, let call):
            reload(set, call: call, now: now)
        case .restartRunningServices(let reason):
            guard !shuttingDown else { break }
            for name in services.keys.sorted() where services[name]?.machine.isInactive == false {
                log(name, .info, "\(name): Restarting: \(reason).")
                if !beginHandover(name) { enqueue(.restart, name, anchor: false) }
            }
        case .processesMoved(let name, let ok):
            processesMoved(name, ok: ok)
        case .retiredGroupEmptied(let name):
            retiredGroupEmptied(name)
        case .connectionsCounted(let name, let count):
            idleChecked(name, connections: count)
        case .restore(let set, let state, let call):
            restore(set, state, call: call)
        case .adoptRunning(let services):
            adoptRunning(services)
        case .shutdown:
            shutdown()
        }
        runJobs()
        if !unneeded.isEmpty {
            stopUnneededUnits()
            runJobs()
        }
        finishShutdownIfIdle()
        let out = actions
        actions = []
        return out
    }

    /// The earliest deadline of any unit: the shell arms its one timer for it.
    package mutating func nextDeadline() -> Instant? { deadlines.earliest() }

    /// The unit of a main or control process.
    package func owner(ofPID pid: Int32) -> UnitName? { pidOwners[pid] }

    package var socketCount: Int { sockets.count }
    package var serviceCount: Int { services.count }
    /// Services in a stop phase waiting for their group to empty (the shell reports `.groupEmptied`).
    package var servicesWaitingForGroup: Set<UnitName> { waitingForGroup }
    /// Whether `service` is a service the Manager knows (loaded, or an instance).
    package func isLoaded(_ service: UnitName) -> Bool { services.index(forKey: service) != nil }
    /// The socket whose Accept=yes instance `service` is.
    package func instanceOf(_ service: UnitName) -> UnitName? { services[service]?.instanceOf }
    /// The main PID of a service, if it has one.
    package func mainPID(of service: UnitName) -> Int32? { services[service]?.machine.mainPID }

    // MARK: - Emitting

    mutating func emit(_ action: ManagerAction) { actions.append(action) }

    mutating func log(_ unit: UnitName?, _ level: Logger.Level, _ message: String) {
        // LogLevelMax= holds back what swatchd says about the unit too (systemd.exec(5)). A
        // socket without execution settings has the default, which holds nothing back.
        if let unit, let maximum = services[unit]?.machine.unit.outputLevels.maximum
            ?? sockets[unit]?.machine.unit.execution?.outputLevels.maximum,
           LogLevel.syslogPriority(level) > maximum { return }
        emit(.log(unit: unit, level, message))
    }

    // MARK: - The one place a service changes

    /// Runs an event on a service's machine, turns what the machine asks for
    /// into actions, and brings everything that depends on its state in line:
    /// its deadline, its sockets, the instance count, the shutdown.
    mutating func withService(_ name: UnitName, _ body: (inout ServiceMachine) -> [ServiceAction]) {
        guard services[name] != nil else { return }
        let before = services[name]!.machine.state
        serviceActed(name, from: before, body(&services[name]!.machine))
    }

    /// What `withService` does once the machine has run, apart for the reason `socketChanged` is.
    @inline(never)
    private mutating func serviceActed(_ name: UnitName, from before: ServiceState, _ requested: [ServiceAction]) {
        for action in requested { translate(action, of: name) }
        if requested.contains(.passedThroughStart) {
            logTransition(name, from: before, to: .start)
            serviceChanged(name, from: .start)
        } else {
            serviceChanged(name, from: before)
        }
    }

    private mutating func translate(_ action: ServiceAction, of name: UnitName) {
        guard let entry = services[name] else { return }
        let machine = entry.machine
        switch action {
        case .spawn(let role):
            if let order = spawnOrder(name, role: role) { emit(.spawn(order)) }
        case .signal(let target, let signal):
            let order: KillOrder
            switch target {
            case .main: order = KillOrder(main: machine.mainPID, signal: signal)
            case .control: order = KillOrder(control: machine.controlPID, signal: signal)
            case .group: order = KillOrder(main: machine.mainPID, control: machine.controlPID, group: true, signal: signal)
            }
            if order.group || order.main != nil || order.control != nil { emit(.kill(name, order)) }
        case .discoverMainPID:
            emit(.discoverMainPID(name, pidFile: machine.unit.pidFile))
        case .releaseRuntime:
            emit(.releaseRuntime(name, runtimeDirectories: machine.unit.sandbox.runtimeDirectoryPreserve == .no))
            // FileDescriptorStorePreserve=no: the stored fds go at every stop too.
            if machine.unit.fileDescriptorStorePreserve == .no { releaseFileDescriptorStore(name) }
        case .releaseFileDescriptorStore:
            // The unit stopped for good; `yes` keeps them as long as the unit is loaded (`forget`).
            if machine.unit.fileDescriptorStorePreserve != .yes { releaseFileDescriptorStore(name) }
        case .testConditions:
            conditionsAsked.insert(name)
            emit(.testConditions(name, machine.unit.unit.conditions))
        case .log(let level, let message):
            log(name, level, message)
        case .passedThroughStart:
            break  // withService
        }
    }

    private mutating func serviceChanged(_ name: UnitName, from before: ServiceState) {
        guard let entry = services[name] else { return }
        let now = self.now
        let machine = entry.machine
        let after = machine.state
        let inactive = machine.isInactive
        if shuttingDown { noteShutdownProgress(name, inactive: inactive) }
        deadlines.schedule(.service(name), at: machine.nextDeadline)
        if machine.waitsForGroup { waitingForGroup.insert(name) } else { waitingForGroup.remove(name) }
        let wasInactive = before == .dead || before == .failed
        // The stop of a running restart job: down only until the job starts it again, so it
        // keeps its resources (unit_release_resources(), src/core/unit.c, waits while a job is
        // pending) and what follows a unit's going down does not happen. (A service that ends
        // by itself while a restart job still waits has ended: that is followed.)
        let restarting = inactive && jobs[name].map { $0.kind == .restart && $0.state == .running } == true
        if inactive, !wasInactive, !restarting {
            emit(.releaseResources(name, runtimeDirectories: machine.unit.sandbox.runtimeDirectoryPreserve != .yes))
        }
        if before != after { logTransition(name, from: before, to: after) }
        if before != after, after == .failed || after == .autoRestart, machine.result != .success,
           machine.result != .execCondition {
            emit(.serviceFailed(name))
        }
        if before != after { scheduleIdleStop(name) }
        if before != after { handoverProgress(name, to: after) }
        checkJob(name)
        if before != after, !restarting {
            propagate(name, from: before, to: after)
            unitChanged(name, goingDown: inactive || after.activeState == .deactivating)
        }

        if entry.removed, inactive {
            forget(name)
        } else if let socket = entry.instanceOf {
            if inactive, !restarting { instanceWentDown(name, of: socket, failed: after == .failed) }
        } else {
            // The sockets that activate it (not those it only takes fds from, by Sockets=).
            for socket in triggers(of: name) where sockets[socket]?.service == name {
                if inactive, machine.result == .startLimitHit {
                    withSocket(socket) { machine in
                        if case .throttled = machine.state { return [] }
                        return machine.throttleAfterServiceFailure(now: now)
                    }
                } else {
                    withSocket(socket) { machine in
                        guard inactive else {
                            machine.serviceActivated()
                            return []
                        }
                        return machine.serviceDeactivated()
                    }
                }
            }
            if before != after, after == .dead || after == .failed, !restarting { collectIfUnneeded(name) }
        }
    }

    /// systemd's lifecycle lines (unit_status_log_starting_stopping_reloading(),
    /// job_emit_done_message(), src/core/unit.c and job.c), from the state change.
    private mutating func logTransition(_ name: UnitName, from before: ServiceState, to after: ServiceState) {
        func activating(_ s: ServiceState) -> Bool { [.condition, .startPre, .start, .startPost].contains(s) }
        func active(_ s: ServiceState) -> Bool { s == .running || s == .exited }
        func deactivating(_ s: ServiceState) -> Bool { s.activeState == .deactivating }
        if deactivating(before), activating(after) { log(name, .info, "Stopped \(describe(name)).") }
        if !activating(before), activating(after) { log(name, .info, "Starting \(describe(name))...") }
        if activating(before), active(after) { log(name, .info, "Started \(describe(name)).") }
        if !deactivating(before), deactivating(after), shuttingDown || jobs[name].map({ $0.kind == .stop || $0.kind == .restart }) == true {
            log(name, .info, "Stopping \(describe(name))...")
        }
        if after == .dead, before != .dead, let result = services[name]?.machine.result, result == .success {
            log(name, .info, "\(name): Deactivated successfully.")
        }
    }

    /// What a unit's change means for the units that depend on it (systemd.unit(5)):
    /// BindsTo= stops with it, OnFailure=/OnSuccess= start, Upholds= keeps it up,
    /// and `--exit-with` ends swatchd with it.
    private mutating func propagate(_ name: UnitName, from before: ServiceState, to after: ServiceState) {
        let wasInactive = before == .dead || before == .failed
        let inactive = after == .dead || after == .failed
        if inactive, !wasInactive, name == configuration.exitWith, !shuttingDown {
            exitStatus = mainExitStatus(of: name) ?? (services[name]?.machine.result == .success ? 0 : 1)
            log(name, .info, "\(name) ended, and swatchd runs --exit-with it: stopping everything, exit status \(exitStatus).")
            shutdown()
            return
        }
        guard !shuttingDown else { return }
        if inactive, !wasInactive, let machine = services[name]?.machine, machine.result != .execCondition {
            takeUnitAction(name, failed: after == .failed, machine.unit.unit)
            if shuttingDown || exited { return }
        }
        if inactive, !wasInactive { unitWentDown(name) }
        // RELOADING=1 of its own accord, not a reload job's.
        if after == .reload, before == .running, jobs[name]?.kind != .reload { propagateReload(of: name) }
        if after == .failed, before != .failed { startOnFailure(name) }
        if after == .dead, !wasInactive, services[name]?.machine.result == .success {
            let targets = graph.targets(of: name, .onSuccess)
            if !targets.isEmpty { log(name, .info, "\(name): Triggering OnSuccess= dependencies.") }
            for target in targets { enqueue(.start, target, anchor: false) }
        }
        if after == .running || after == .exited, before != .running, before != .exited {
            for upheld in graph.targets(of: name, .upholds) where !isUp(upheld) && jobs[upheld] == nil {
                enqueue(.start, upheld, anchor: false)
            }
        }
        if inactive, !wasInactive, jobs[name] == nil,
           graph.sources(of: name, .upholds).contains(where: { services[$0]?.machine.isActive == true }) {
            log(name, .info, "\(name): Started again, as a unit that is active upholds it.")
            enqueue(.start, name, anchor: false)
        }
    }

    /// OnFailure=: the unit failed, or a job of it did without changing it.
    mutating func startOnFailure(_ name: UnitName) {
        let targets = graph.targets(of: name, .onFailure)
        if !targets.isEmpty { log(name, .info, "\(name): Triggering OnFailure= dependencies.") }
        for target in targets { enqueue(.start, target, anchor: false) }
    }

    /// The exit status a unit's end gives swatchd (`--exit-with`, the `exit` actions): its main
    /// process's, or 128 + the signal that ended it; nil when it had none (a socket, a start
    /// that never spawned one).
    private func mainExitStatus(of name: UnitName) -> Int32? {
        switch services[name]?.machine.mainExit {
        case .exited(let code)?: return code
        case .signaled(let signal, _)?: return 128 + signal
        case nil: return nil
        }
    }

    /// SuccessAction=/FailureAction=: the unit stopped, successfully or not (emergency_action(),
    /// as unit_notify() calls it, src/core/unit.c; ExecCondition= skips count as neither).
    mutating func takeUnitAction(_ name: UnitName, failed: Bool, _ section: UnitSection) {
        let action = failed ? section.failureAction : section.successAction
        guard action != .none else { return }
        exitStatus = (failed ? section.failureActionExitStatus : section.successActionExitStatus)
            ?? mainExitStatus(of: name) ?? (failed ? 1 : 0)
        take(action, key: failed ? "FailureAction" : "SuccessAction", of: name)
    }

    /// A unit's `exit` or `exit-force` action, with the exit status as it is now.
    mutating func take(_ action: UnitAction, key: String, of name: UnitName) {
        switch action {
        case .exit:
            log(name, .info, "\(name): \(key)=exit: stopping everything, exit status \(exitStatus).")
            shutdown()
        case .exitForce:
            log(name, .info, "\(name): \(key)=exit-force: exiting at once, exit status \(exitStatus).")
            shuttingDown = true
            exited = true
            emit(.exit(status: exitStatus))
        case .none:
            break
        }
    }

    /// A unit went down (a service dead or failed, a socket closed): what BindsTo= it stops too.
    mutating func unitWentDown(_ name: UnitName) {
        for bound in graph.sources(of: name, .bindsTo).sorted() where isUp(bound) && jobs[bound]?.kind != .stop {
            log(bound, .info, "Unit \(bound) is bound to inactive unit \(name). Stopping, too.")
            enqueue(.stop, bound, anchor: false)
        }
        // PropagatesStopTo=/StopPropagatedFrom=: they go down with it (retroactively_stop_dependencies(), src/core/unit.c).
        for other in graph.stopPropagation(of: name).sorted() where isUp(other) && jobs[other]?.kind != .stop {
            enqueue(.stop, other, anchor: false)
        }
    }

    private mutating func releaseFileDescriptorStore(_ name: UnitName) {
        guard services[name]?.storedFDNames.isEmpty == false else { return }
        services[name]?.storedFDNames = []
        emit(.closeStoredFDs(name))
    }

    /// The [Unit] section of a loaded service or socket unit.
    func unitSection(_ name: UnitName) -> UnitSection? {
        services[name]?.machine.unit.unit ?? sockets[name]?.machine.unit.unit
    }

    /// The service is no longer loaded: its entry goes, with what it still held.
    mutating func forget(_ name: UnitName) {
        releaseFileDescriptorStore(name)
        services[name] = nil
        deadlines.schedule(.service(name), at: nil)
        waitingForGroup.remove(name)
        stillUp.remove(name)
    }

    /// Runs an event on a socket unit's machine, turns what it asks for into
    /// actions and brings everything that depends on its phase in line: its
    /// watching, its deadline, its job, what is bound to it, a pending restart.
    mutating func withSocket(_ name: UnitName, _ body: (inout SocketMachine) -> [SocketAction]) {
        // The entry is read and changed in place (Dictionary+InPlace.swift): `sockets[name]`
        // copied the whole entry, its unit inline, and `sockets[name]?.x = y` moved it out and
        // back, several times per call. Nothing below adds or removes a socket before the last
        // use of `index`.
        guard let index = sockets.index(forKey: name) else { return }
        let (wasInactive, activeBefore) = sockets.inPlace(index) { ($0.machine.isInactive, $0.machine.activeState) }
        let actions = body(&sockets.values[index].machine)
        socketChanged(name, at: index, actions, wasInactive: wasInactive, activeBefore: activeBefore)
    }

    /// What `withSocket` does once the machine has run: apart, so that the optimizer's copy of
    /// `withSocket` for each closure passed to it holds only the call (19 copies of the
    /// whole were 50 KB of swatchd).
    @inline(never)
    private mutating func socketChanged(_ name: UnitName, at index: Dictionary<UnitName, SocketEntry>.Index,
                                        _ actions: [SocketAction], wasInactive: Bool, activeBefore: UnitActiveState) {
        for action in actions {
            switch action {
            case .bind:
                emit(.bind(name, sockets.inPlace(index) { $0.machine.unit }))
            case .closeListeners:
                let (watched, open, removeOnStop) = sockets.inPlace(index) { entry in
                    defer { (entry.watched, entry.open) = (false, false) }
                    return (entry.watched, entry.open, entry.machine.unit.options.removeOnStop)
                }
                if watched { emit(.unwatch(name)) }
                if open { emit(.closeListeners(name, removeOnStop: removeOnStop)) }
            case .spawn(let role):
                if let order = socketSpawnOrder(name, role: role) { emit(.spawn(order)) }
            case .signal(let signal):
                let order = sockets.inPlace(index) { entry in
                    let mode = entry.machine.unit.executionSettings.killMode
                    return KillOrder(control: entry.machine.controlPID, group: mode == .controlGroup || mode == .mixed,
                                     signal: signal)
                }
                if order.group || order.control != nil { emit(.kill(name, order)) }
            case .flush:
                if sockets.inPlace(index, { $0.open }) { emit(.flushListeners(name)) }
            case .pauseListener(let listener):
                emit(.pauseListener(name, listener))
            case .resumeListener(let listener):
                emit(.resumeListener(name, listener))
            case .log(let level, let message):
                log(name, level, message)
            }
        }
        let now = self.now
        let (deadline, isInactive, restartPending, activeAfter) = sockets.inPlace(index) { entry in
            if entry.machine.activeState != activeBefore { entry.stateChanged = now }
            return (entry.machine.deadline, entry.machine.isInactive, entry.restartPending, entry.machine.activeState)
        }
        deadlines.schedule(.socket(name), at: deadline)
        if socketsStopping { noteShutdownProgress(name, inactive: isInactive) }
        updateWatching(name)
        // (What follows reads the unit again, on this transition only: every event of a socket,
        // each connection of an Accept=yes one, comes through here.)
        if isInactive, !wasInactive, let machine = sockets[name]?.machine {
            // Its commands' cgroup and sandbox (dynamic user, private /tmp) go, as a service's do.
            if machine.unit.hasCommands {
                let preserve = machine.unit.executionSettings.sandbox.runtimeDirectoryPreserve
                emit(.releaseResources(name, runtimeDirectories: preserve != .yes))
            }
            // A socket that closes to bind again (a restart) has not ended, as a service's
            // restart has not (serviceChanged).
            if !shuttingDown, !restartPending {
                unitWentDown(name)
                takeUnitAction(name, failed: machine.activeState == .failed, machine.unit.unit)
            }
        }
        checkJob(name)
        if activeAfter != activeBefore, !restartPending {
            unitChanged(name, goingDown: isInactive || activeAfter == .deactivating)
        }
        if isInactive, restartPending, !shuttingDown {
            sockets[name]?.restartPending = false
            startSocket(name)
        }
    }

    /// Puts the listeners in epoll or takes them out, as the socket machine says.
    mutating func updateWatching(_ name: UnitName) {
        guard let index = sockets.index(forKey: name) else { return }
        let shuttingDown = self.shuttingDown
        let want: Bool? = sockets.inPlace(index) { entry in
            let want = entry.listeners == .bound && entry.machine.watching && !shuttingDown
            guard want != entry.watched else { return nil }
            entry.watched = want
            return want
        }
        guard let want else { return }
        emit(want ? .watch(name) : .unwatch(name))
    }

    /// The socket index changed (load, reload, a unit bound or gone): the triggering
    /// sockets of every service that are not its own (`otherTriggers`), sorted by unit name.
    mutating func reindexTriggers() {
        // The entries read in place (Dictionary+InPlace.swift).
        var index: [UnitName: [UnitName]] = [:]
        sockets.forEachInPlace { name, entry in
            // A socket of the service's own name is found by name (triggers(of:)).
            if !entry.machine.unit.accept, !name.hasSameStem(as: entry.service) {
                index[entry.service, default: []].append(name)
            }
        }
        // Sockets=: the fds of the sockets a service names too (service_collect_fds(), src/core/service.c).
        var listing: [UnitName: [UnitName]] = [:]
        services.forEachInPlace { name, entry in
            if !entry.machine.unit.sockets.isEmpty { listing[name] = entry.machine.unit.sockets }
        }
        for (name, listed) in listing {
            for socket in listed where index[name]?.contains(socket) != true {
                guard let entry = sockets[socket], !entry.machine.unit.accept,
                      !(entry.service == name && socket.hasSameStem(as: name)) else { continue }
                index[name, default: []].append(socket)
            }
        }
        index.forEachInPlace { _, sockets in if sockets.count > 1 { sockets.sort() } }
        otherTriggers = index
    }

    /// The non-Accept socket units that trigger `service`, sorted by name: the order of its
    /// fds (sd_listen_fds(3)). Those whose service it is, and those it names with Sockets=.
    func triggers(of service: UnitName) -> [UnitName] {
        let others = otherTriggers[service] ?? []
        let own = service.with(type: .socket)
        guard triggersItsOwnService(own, service) else { return others }
        var all = others
        all.insert(own, at: others.firstIndex { own < $0 } ?? others.endIndex)
        return all
    }

    /// The services `socket` triggers (Accept=no): its own, and those that name it with Sockets=.
    func services(triggeredBy socket: UnitName) -> [UnitName] {
        var services = otherTriggers.compactMap { $1.contains(socket) ? $0 : nil }
        if let entry = sockets[socket], !entry.machine.unit.accept, !services.contains(entry.service) {
            services.append(entry.service)
        }
        return services.sorted()
    }

    private func triggersItsOwnService(_ socket: UnitName, _ service: UnitName) -> Bool {
        guard let entry = sockets[socket] else { return false }
        return entry.service == service && !entry.machine.unit.accept
    }

    /// The dependency graph of the units loaded now.
    ///
    /// `activated`: the services the unit set's sockets of other names activate, when the
    /// caller has them already (the load, which holds each socket unit as it adds it).
    mutating func rebuildGraph(activated: Set<UnitName>? = nil) {
        // Read in place (Dictionary+InPlace.swift): mapping over the dictionaries copied every
        // whole entry, and `services[$0] != nil` copied one out per question.
        // The graph holds what the files say. A socket's ordering before the service it
        // triggers is `triggers` (orderedBefore, Manager+Jobs.swift); Sockets= is After= too.
        var entries: [(UnitName, UnitSection)] = []
        entries.reserveCapacity(services.count + sockets.count)
        services.forEachInPlace { name, entry in entries.append((name, entry.machine.unit.unit)) }
        sockets.forEachInPlace { name, entry in entries.append((name, entry.machine.unit.unit)) }
        anyStopWhenUnneeded = entries.contains { $0.1.stopWhenUnneeded }
        // Of the unit set, not of the entries: a socket left out (its conditions failed) still
        // keeps its service from starting on its own.
        socketActivatedByOtherNames = activated ?? Set(units.sockets.compactMap { name, socket in
            let service = units.serviceName(for: socket)
            return service == name.with(type: .service) ? nil : service
        })
        let (resolve, isLoaded) = graphLookups()
        graph = DependencyGraph(units: entries, resolve: resolve, isLoaded: isLoaded)
    }

    /// Adds one unit's own edges to the graph (DependencyGraph.add), resolved as `rebuildGraph` does.
    mutating func addToGraph(_ name: UnitName, _ section: UnitSection) {
        let (resolve, isLoaded) = graphLookups()
        graph.add(name, section, resolve: resolve, isLoaded: isLoaded)
    }

    /// How the graph reads a name a unit writes (an alias stands for its unit) and asks whether
    /// a unit is loaded: of the tables as they are now.
    private func graphLookups() -> (resolve: (String) -> UnitName?, isLoaded: (UnitName) -> Bool) {
        let aliases = units.aliases, services = self.services, sockets = self.sockets
        return ({ UnitName(parsing: aliases[$0] ?? $0) }, { services.index(forKey: $0) != nil || sockets.index(forKey: $0) != nil })
    }

    // MARK: - Timer

    private mutating func timerFired(now: Instant) {
        for key in deadlines.popDue(now) {
            switch key {
            case .service(let name):
                withService(name) { $0.timerFired(now: now) }
            case .socket(let name):
                guard let entry = sockets[name] else { continue }
                let inactive = services[entry.service]?.machine.isInactive ?? true
                withSocket(name) { $0.timerFired(now: now, serviceInactive: inactive) }
            case .retired(let name):
                retiredTimedOut(name)
            case .idle(let name):
                guard services[name]?.machine.state == .running else { continue }
                emit(.countConnections(name, sockets: triggers(of: name).filter { sockets[$0]?.listeners == .bound }))
            case .job(let name):
                jobTimedOut(name)
            }
        }
    }

    // MARK: - Shutdown

    /// SIGTERM/SIGINT (or the end of the `--exit-with` unit): stop watching, stop
    /// every service in reverse dependency order, then `.exit` once all are inactive.
    mutating func shutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        log(nil, .info, "Stopping all services.")
        stillUp = Set(services.lazy.filter { !$0.value.machine.isInactive }.map { $0.key })
        for name in sockets.keys.sorted() { updateWatching(name) }
        for (unit, job) in jobs.sortedByKey() where job.kind != .stop { finishJob(unit, .canceled) }
        for name in services.keys.sorted() where isUp(name) { enqueue(.stop, name, anchor: false) }
        stopHandovers()
    }

    /// Once every service is down, the sockets stop (their ExecStopPre=/ExecStopPost= run);
    /// once they are down too, `.exit`.
    private mutating func finishShutdownIfIdle() {
        guard shuttingDown, !exited else { return }
        assert(stillUp.isEmpty == (services.values.allSatisfy { $0.machine.isInactive }
                                   && (!socketsStopping || sockets.values.allSatisfy { $0.machine.isInactive })),
               "stillUp disagrees with the states of the units")
        guard handovers.isEmpty, stillUp.isEmpty else { return }
        if !socketsStopping {
            socketsStopping = true
            stillUp = Set(sockets.lazy.filter { !$0.value.machine.isInactive }.map { $0.key })
            for name in sockets.keys.sorted() {
                sockets[name]?.restartPending = false
                stopSocket(name)
            }
        }
        guard stillUp.isEmpty else { return }
        exited = true
        emit(.exit(status: exitStatus))
    }

    /// A unit's transition during shutdown: whether it is still to be waited for.
    private mutating func noteShutdownProgress(_ name: UnitName, inactive: Bool) {
        if inactive { stillUp.remove(name) } else { stillUp.insert(name) }
    }
}

/// A connection accepted on an Accept=yes socket: the shell holds its fd under `id`.
package struct AcceptedConnectionInfo: Hashable, Sendable {
    package var id: Int
    package var remoteAddress: String?
    package var remotePort: UInt16?
    /// The address and port the connection came in on (IP sockets).
    package var localAddress: String?
    package var localPort: UInt16?
    /// The peer process of a unix socket (SO_PEERCRED), when the kernel knows it.
    package var peer: (pid: Int32, uid: UInt32)?

    package init(id: Int, remoteAddress: String?, remotePort: UInt16?, localAddress: String? = nil,
                 localPort: UInt16? = nil, peer: (pid: Int32, uid: UInt32)? = nil) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.localAddress = localAddress
        self.localPort = localPort
        self.peer = peer
    }

    package static func == (a: Self, b: Self) -> Bool {
        a.id == b.id && a.remoteAddress == b.remoteAddress && a.remotePort == b.remotePort
            && a.localAddress == b.localAddress && a.localPort == b.localPort
            && a.peer?.pid == b.peer?.pid && a.peer?.uid == b.peer?.uid
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// Whom a signal goes to, resolved to pids when it was decided.
package struct KillOrder: Hashable, Sendable {
    package var main: Int32?
    package var control: Int32?
    /// Every process of the service's group too (each process signalled once).
    package var group = false
    package var signal: Int32
    package init(main: Int32? = nil, control: Int32? = nil, group: Bool = false, signal: Int32) {
        self.main = main
        self.control = control
        self.group = group
        self.signal = signal
    }
}
