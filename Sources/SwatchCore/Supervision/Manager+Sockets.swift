import Logging

/// Socket units: binding, activation, Accept=yes instances, and what is bound to them.
extension Manager {
    /// Start-up: a machine for every service, and every socket unit bound (its
    /// conditions tested first). Nothing starts yet (`.startUntriggeredServices`).
    mutating func load(_ set: UnitSet) {
        units = set
        sockets.reserveCapacity(set.sockets.count)
        services.reserveCapacity(set.services.count)
        // Sorted by name only (sortedByName), the units looked up by it.
        // The services socket units of other names activate, from the units at hand here:
        // rebuildGraph() would ask every socket unit of the set once more.
        var activated = Set<UnitName>()
        for name in set.sockets.keys.sortedByName() {
            guard let unit = set.sockets[name] else { continue }
            let service = units.serviceName(for: unit)
            if service != name.with(type: .service) { activated.insert(service) }
            addSocket(name, unit, service: service)
        }
        for name in set.services.keys where !name.isTemplate {
            if let unit = set.services[name] { services[name] = ServiceEntry(unit: unit) }
        }
        reindexTriggers()
        rebuildGraph(activated: activated)
    }

    /// A new socket unit: its own conditions decide whether it binds at all
    /// (skipped, it binds nothing and its service does not start on its own either).
    /// `service`: the service it activates (UnitSet.serviceName(for:)), when the caller has it.
    mutating func addSocket(_ name: UnitName, _ unit: SocketUnit, service: UnitName? = nil) {
        sockets[name] = SocketEntry(machine: SocketMachine(unit: unit, phase: .dead),
                                    service: service ?? units.serviceName(for: unit))
        // An instance loaded because a unit or a request names it binds when a job starts it.
        guard !units.namedInstances.contains(name) else { return }
        startSocket(name)
    }

    /// A start: the unit's conditions, then ExecStartPre=, the bind, ExecStartPost= (SocketMachine).
    mutating func startSocket(_ name: UnitName) {
        // In place, not a copy of the entry (see withSocket).
        guard let index = sockets.index(forKey: name), sockets.inPlace(index, { $0.machine.isInactive }) else { return }
        let conditions = sockets.inPlace(index) { $0.machine.unit.unit.conditions }
        guard conditions.isEmpty else {
            withSocket(name) { machine in
                machine.testingConditions()
                return []
            }
            return emit(.testConditions(name, conditions))
        }
        let now = self.now
        withSocket(name) { $0.start(now: now) }
    }

    mutating func socketConditionsTested(_ name: UnitName, failure: UnitCondition?) {
        guard sockets[name] != nil else { return }
        let now = self.now
        guard let failure else { return withSocket(name) { $0.start(now: now) } }
        log(name, failure.isAssertion ? .error : .info, failure.skipMessage(for: name.description))
        if jobs[name] != nil { finishJob(name, failure.isAssertion ? .assert : .skipped) }
        removeSocket(name)
    }

    mutating func socketBound(_ name: UnitName, warnings: [String], now: Instant) {
        // In place, not a copy of the entry (see withSocket).
        guard let index = sockets.index(forKey: name) else { return }
        // Stopped while the bind was on its way: what was bound goes at once.
        let binding = sockets.inPlace(index) { entry in
            guard case .binding = entry.machine.phase else { return false }
            entry.open = true
            entry.failure = nil
            return true
        }
        guard binding else {
            return emit(.closeListeners(name, removeOnStop: sockets.inPlace(index) { $0.machine.unit.options.removeOnStop }))
        }
        for warning in warnings { log(name, .warning, "\(name): \(warning)") }
        withSocket(name) { $0.bound(now: now) }
        // A service started by hand while its socket was closed is running already.
        guard let index = sockets.index(forKey: name),
              let service = sockets.inPlace(index, { $0.machine.unit.accept ? nil : $0.service }) else { return }
        if let serviceIndex = services.index(forKey: service), !services.inPlace(serviceIndex, { $0.machine.isInactive }) {
            withSocket(name) { machine in
                machine.serviceActivated()
                return []
            }
        }
    }

    /// A listener that cannot be bound is one error naming the unit and the
    /// address; the unit fails (result `resources`) and every other unit still comes up.
    mutating func socketBindFailed(_ name: UnitName, _ error: any Error, now: Instant) {
        guard sockets[name] != nil else { return }
        log(name, .error, "\(name): \(error)")
        // Listed as failed, with the reason; a start binds again.
        sockets[name]?.failure = "\(error)"
        withSocket(name) { $0.bindFailed(now: now) }
    }

    /// A socket unit's command was spawned: its pid is the socket's until reaped.
    mutating func socketSpawned(_ name: UnitName, role: ExecRole, pid: Int32) {
        guard sockets[name] != nil else { return }
        pidOwners[pid] = name
        withSocket(name) { machine in
            machine.spawned(pid, role: role)
            return []
        }
    }

    /// What a command of a socket unit runs with: the unit's own execution settings
    /// (systemd.socket(5)); no fds beyond 0, 1, 2 and no protocol variables.
    mutating func socketSpawnOrder(_ name: UnitName, role: ExecRole) -> SpawnOrder? {
        guard let entry = sockets[name] else { return nil }
        let machine = entry.machine
        let commands = machine.commands(of: role.phase)
        guard role.index < commands.count else { return nil }
        // One INVOCATION_ID per start, minted by the first command the start runs.
        let firstOfStart = role.index == 0
            && (role.phase == .startPre || (role.phase == .startPost && machine.unit.execStartPre.isEmpty))
        if firstOfStart || entry.invocationID.isEmpty { sockets[name]?.invocationID = makeInvocationID() }
        var order = SpawnOrder(unit: name, service: machine.unit.executionSettings, role: role, command: commands[role.index],
                               invocationID: sockets[name]?.invocationID ?? "")
        // PassFileDescriptorsToExec=: a command run while the listeners are open gets them, named as
        // the service gets them (socket_spawn(), src/core/socket.c); ExecStartPre= runs before the bind.
        // Non-blocking, as swatchd keeps them: the flag is the open file's, and with Accept=yes
        // swatchd goes on accepting on them (systemd gives them blocking, as to a service).
        if machine.unit.passFileDescriptorsToExec, entry.open {
            order.sockets = [name]
            order.service.nonBlocking = true
            order.protocolVariables = SpawnOrder.listenVariables(machine.unit.passedFDNames)
            order.listenPID = true
        }
        return order
    }

    /// A request naming `x@a.socket` or `x@a.service` with no such unit loaded but its
    /// template `x@.socket` or `x@.service`: the instance is made (a socket's with the instance
    /// of the service it activates; with the instances their dependencies name), as systemd
    /// loads an instance on its first reference (systemd.unit(5)). True when it was.
    @discardableResult
    mutating func loadInstance(_ text: String) -> Bool {
        guard loadedUnitName(text) == nil, let name = UnitName(parsing: text) else { return false }
        return enter(units.loadInstances(named: [name]), incrementally: false)
    }

    /// Gives the Manager the instances `UnitSet.loadInstances` made: their entries, and the
    /// graph rebuilt — or, `incrementally` and when they are all services, given their own
    /// edges only (no unit loaded before names one of them, or it would have been made
    /// then). False when there were none.
    @discardableResult @inline(never)
    private mutating func enter(_ loaded: [UnitName], incrementally: Bool) -> Bool {
        guard !loaded.isEmpty else { return false }
        let socketsToo = loaded.contains { units.sockets[$0] != nil }
        for instance in loaded {
            if let unit = units.services[instance], services[instance] == nil { services[instance] = ServiceEntry(unit: unit) }
            if let unit = units.sockets[instance] { addSocket(instance, unit) }
        }
        if incrementally, !socketsToo {
            for instance in loaded {
                if let unit = units.services[instance], unit.unit.namesUnits { addToGraph(instance, unit.unit) }
            }
        } else {
            reindexTriggers()
            rebuildGraph()
        }
        return true
    }

    /// Makes the instances `section`'s dependencies name that are not loaded yet (and those
    /// they name in turn), for an Accept=yes connection's instance.
    private mutating func loadInstances(namedBy section: UnitSection) {
        var names: [UnitName] = []
        section.forEachDependencyName { written in
            if let name = UnitName(parsing: units.aliases[written] ?? written), name.instance != nil, !name.isTemplate,
               services.index(forKey: name) == nil, sockets.index(forKey: name) == nil {
                names.append(name)
            }
        }
        guard !names.isEmpty else { return }
        enter(units.loadInstances(named: names), incrementally: true)
    }

    /// Instances made on demand are not in the unit files: a reload or re-exec makes them again from
    /// the template as it is now.
    static func keepInstances(_ names: some Sequence<UnitName>, in set: inout UnitSet) {
        set.loadInstances(named: Array(names))
    }

    private mutating func removeSocket(_ name: UnitName) {
        sockets[name] = nil
        deadlines.schedule(.socket(name), at: nil)
        reindexTriggers()
        rebuildGraph()
    }

    /// A listener is readable while watched: trigger the service (or, with
    /// Accept=yes, have the shell accept), unless over the trigger limit.
    mutating func listenerReadable(_ name: UnitName, listener: Int, now: Instant) {
        guard sockets[name] != nil else { return }
        var decision = SocketMachine.Decision.trigger
        withSocket(name) { machine in
            let (d, actions) = machine.readable(now: now, listener: listener)
            decision = d
            return actions
        }
        guard case .trigger = decision, let entry = sockets[name] else { return }
        if entry.machine.unit.accept { return emit(.accept(name, listener: listener)) }
        log(name, .debug, "\(name): Incoming traffic, starting \(entry.service).")
        guard services[entry.service] != nil else {
            return log(name, .error, "\(name): Its service \(entry.service) is not loaded.")
        }
        enqueue(.start, entry.service, anchor: false)
    }

    /// Accept=yes: one instance of the template per connection, the connection
    /// as its fd 3 (systemd.socket(5)); over MaxConnections= it is closed at once.
    mutating func startInstance(of socket: UnitName, for connection: AcceptedConnectionInfo, now: Instant) {
        guard let entry = sockets[socket] else { return emit(.closeConnection(connection.id)) }
        // What systemd counts as refused (socket_enter_running(), src/core/socket.c).
        func refuse() {
            sockets[socket]?.refused += 1
            emit(.closeConnection(connection.id))
        }
        // Accepted in the same wake-up as the shutdown: no instance can start any more (enqueue).
        guard !shuttingDown else { return refuse() }
        guard entry.instances < entry.machine.unit.maxConnections else {
            log(socket, .warning, "\(socket): Too many incoming connections (\(entry.instances)), dropping connection.")
            return refuse()
        }
        // MaxConnectionsPerSource= (socket_enter_running() in src/core/socket.c, counting
        // peers by address; a unix peer by its UID).
        let source = connection.remoteAddress ?? connection.peer.map { "UID \($0.uid)" }
        let perSource = entry.machine.unit.maxConnectionsPerSource
        if perSource > 0, let source, let count = entry.sources[source], count >= perSource {
            log(socket, .warning, "\(socket): Too many incoming connections (\(count + 1)) from source \(source), dropping connection.")
            return refuse()
        }
        acceptCounter += 1
        let instance = Self.instanceName(number: acceptCounter - 1, connection)
        let template = entry.service
        guard let unit = units.instantiate(template, instance: instance) else {
            log(socket, .error, "\(socket): Failed to instantiate \(template).")
            return emit(.closeConnection(connection.id))
        }
        var service = ServiceEntry(unit: unit)
        service.withFields { fields in
            fields.makeInstance(of: socket, connection: connection, source: source, peer: Self.peerText(connection))
            fields.machine.servesOneConnection = true
        }
        services[unit.name] = service
        // Its template's Requires=, After=, … hold for it, as for each of systemd's instances:
        // its own edges only, added and taken out with it (serviceChanged), not a rebuild per
        // connection; the instances they name (`Wants=log@%i.service`) are made first.
        if unit.unit.namesUnits {
            loadInstances(namedBy: unit.unit)
            addToGraph(unit.name, unit.unit)
        }
        sockets[socket]?.accepted += 1
        sockets[socket]?.instances += 1
        if let source { sockets[socket]?.sources[source, default: 0] += 1 }
        enqueue(.start, unit.name, anchor: false)
    }

    /// The peer as an instance's description shows it, as systemd's getpeername_pretty() writes
    /// it (src/basic/socket-util.c): `127.0.0.1:40000`, `[::1]:40000`, `PID 42/UID 1000`.
    static func peerText(_ connection: AcceptedConnectionInfo) -> String? {
        if let address = connection.remoteAddress, let port = connection.remotePort {
            return address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        return connection.peer.map { "PID \($0.pid)/UID \($0.uid)" }
    }

    /// An instance name for a connection, as systemd makes them
    /// (instance_from_socket(), src/core/socket.c): `N-LOCAL:PORT-REMOTE:PORT`
    /// for IP (`echo@0-127.0.0.1:7-127.0.0.1:40212.service`), `N-PID-UID` for a
    /// unix peer, `N-unknown` when the kernel does not know it; a character a
    /// unit name cannot hold (an IPv6 scope's `%`) becomes `_`.
    static func instanceName(number: Int, _ connection: AcceptedConnectionInfo) -> String {
        let name: String
        if let remote = connection.remoteAddress, let remotePort = connection.remotePort {
            name = "\(number)-\(connection.localAddress ?? "unknown"):\(connection.localPort ?? 0)-\(remote):\(remotePort)"
        } else if let peer = connection.peer {
            name = "\(number)-\(peer.pid)-\(peer.uid)"
        } else {
            name = "\(number)-unknown"
        }
        // Usually nothing to replace: checked by byte, without breaking the text into Characters.
        if name.utf8.allSatisfy(UnitName.isPlainByte) { return name }
        return String(name.map { $0.asciiValue.map(UnitName.isPlainByte) == true ? $0 : "_" })
    }

    /// A stop: ExecStopPre=, the close, ExecStopPost= (SocketMachine); it activates nothing until started again.
    mutating func stopSocket(_ name: UnitName) {
        let now = self.now
        withSocket(name) { $0.stop(now: now) }
    }
}
