import Logging

/// `daemon-reexec` (swatchctl(1)): what the Manager hands to the swatchd that
/// replaces it in the same process, and how that one takes it back. The units
/// are read from disk again (as systemd re-reads them); what survives is the
/// runtime: each service's state, main process, counters, INVOCATION_ID and
/// stored fds, the Accept=yes instances with the source each counts against
/// (MaxConnectionsPerSource=) and the failed ones kept, and which sockets are bound (their
/// fds are kept open across the execve by the shell).
extension Manager {
    package struct ReexecState: Sendable {
        package struct Service: Sendable {
            package var name: UnitName
            package var snapshot: ServiceMachine.Snapshot
            package var invocationID: String
            package var storedFDNames: [String]
            /// Accept=yes: the socket unit that made this instance.
            package var instanceOf: UnitName?
            /// Accept=yes: the source its connection counts against (MaxConnectionsPerSource=).
            package var source: String?
            /// Accept=yes: the peer its description names.
            package var peer: String? = nil
        }
        package var services: [Service] = []
        package var boundSockets: Set<UnitName> = []
        package var acceptCounter = 0
        /// Accept=yes: each socket's NAccepted= and NRefused= (systemd serializes them too,
        /// socket_serialize() in src/core/socket.c); NConnections= is its instances carried over.
        package var socketCounts: [UnitName: (accepted: Int, refused: Int)] = [:]
    }

    /// The state to carry over, or why a re-exec has to wait: jobs and
    /// processes in mid-start or mid-stop are not carried over.
    func reexecState() -> Swift.Result<ReexecState, JobRefusal> {
        // The new swatchd would not know that this one was on its way out.
        guard !shuttingDown else { return .failure(.exiting("re-execute")) }
        guard jobs.isEmpty, handovers.isEmpty else { return .failure(.busy("jobs are running (see list-jobs)")) }
        // A socket unit's command in flight is not carried over.
        if let (name, entry) = sockets.first(where: { !$0.value.machine.isInactive && $0.value.machine.state == nil }) {
            return .failure(.busy("\(name) is \(entry.machine.activeState.rawValue)"))
        }
        var state = ReexecState(acceptCounter: acceptCounter)
        for name in services.keys.sorted() {
            guard let entry = services[name] else { continue }
            guard let snapshot = entry.machine.snapshot else {
                return .failure(.busy("\(name) is \(entry.machine.state.activeState.rawValue)"))
            }
            state.services.append(.init(name: name, snapshot: snapshot, invocationID: entry.invocationID,
                                        storedFDNames: entry.storedFDNames, instanceOf: entry.instanceOf,
                                        source: entry.source, peer: entry.peer))
        }
        state.boundSockets = Set(sockets.filter { $0.value.machine.state != nil }.keys)
        for (name, entry) in sockets where entry.accepted > 0 || entry.refused > 0 {
            state.socketCounts[name] = (entry.accepted, entry.refused)
        }
        return .success(state)
    }

    /// After a re-exec whose state was lost, the services found running in their groups
    /// are taken as running, with the main process the shell found.
    mutating func adoptRunning(_ found: [(UnitName, Int32)]) {
        for (name, main) in found {
            guard let entry = services[name], entry.machine.isInactive else { continue }
            log(name, .warning, "\(name): Adopting its running process \(main), left by the swatchd before the re-exec.")
            withService(name) { [now] machine in
                machine.restore(ServiceMachine.Snapshot(state: .running, mainPID: main, result: .success, restartCount: 0,
                                                        stateChanged: now), now: now)
                return []
            }
            pidOwners[main] = name
        }
    }

    /// The new swatchd takes over: the units as they are on disk now, the
    /// runtime as the old one left it. A socket kept bound is not bound again;
    /// a service whose unit is gone is stopped.
    mutating func restore(_ loaded: UnitSet, _ state: ReexecState, call: ControlServer.ConnectionID?) {
        var set = loaded
        Self.keepInstances(state.boundSockets.filter { $0.instance != nil }
                           + state.services.compactMap { $0.name.instance != nil && $0.instanceOf == nil ? $0.name : nil },
                           in: &set)
        units = set
        acceptCounter = state.acceptCounter
        for name in set.sockets.keys.sorted() {
            guard let unit = set.sockets[name] else { continue }
            if state.boundSockets.contains(name) {
                var entry = SocketEntry(machine: SocketMachine(unit: unit, phase: .active(.listening)),
                                        service: set.serviceName(for: unit))
                entry.open = true
                sockets[name] = entry
            } else {
                addSocket(name, unit)
            }
            if let counts = state.socketCounts[name] {
                sockets[name]?.accepted = counts.accepted
                sockets[name]?.refused = counts.refused
            }
        }
        for name in set.services.keys where !name.isTemplate {
            if let unit = set.services[name] { services[name] = ServiceEntry(unit: unit) }
        }
        for record in state.services {
            if let socket = record.instanceOf {
                guard let template = sockets[socket]?.service, let instance = record.name.instance,
                      let unit = units.instantiate(template, instance: instance) else { continue }
                var entry = ServiceEntry(unit: unit)
                entry.instanceOf = socket
                entry.source = record.source
                entry.peer = record.peer
                entry.machine.servesOneConnection = true
                services[record.name] = entry
                if record.snapshot.state == .failed {
                    restoreFailedInstance(record.name, of: socket)
                } else {
                    sockets[socket]?.instances += 1
                    if let source = record.source { sockets[socket]?.sources[source, default: 0] += 1 }
                }
            }
            guard services[record.name] != nil else {
                if let main = record.snapshot.mainPID {
                    log(record.name, .warning, "\(record.name): Gone from the unit dirs; stopping its process \(main).")
                    emit(.kill(record.name, KillOrder(main: main, group: true, signal: 15)))
                }
                continue
            }
            services[record.name]?.machine.restore(record.snapshot, now: now)
            services[record.name]?.invocationID = record.invocationID
            services[record.name]?.storedFDNames = record.storedFDNames
            if let main = record.snapshot.mainPID, record.snapshot.state == .running { pidOwners[main] = record.name }
        }
        reindexTriggers()
        rebuildGraph()
        for (name, entry) in services.sortedByKey() {
            deadlines.schedule(.service(name), at: entry.machine.nextDeadline)
            scheduleIdleStop(name)
            guard entry.instanceOf == nil, !entry.machine.isInactive else { continue }
            for socket in triggers(of: name) {
                withSocket(socket) { machine in
                    machine.serviceActivated()
                    return []
                }
            }
        }
        for name in sockets.keys.sorted() { updateWatching(name) }
        log(nil, .info, "Re-executed: \(state.services.count) services and \(state.boundSockets.count) sockets carried over.")
        if let call { emit(.reply(call, .response(ControlResponse()))) }
    }
}
