import Logging

/// Services: their conditions, their processes, and sd_notify.
extension Manager {
    /// Whether a socket unit of the unit set (bound or not, or refused: `x.socket`
    /// for `x.service`) triggers `service`: such a service does not start on its own.
    func isSocketActivated(_ service: UnitName) -> Bool {
        // By name and from a set kept with the graph: at start-up this is asked of every service.
        // A socket's entry has its service at hand; one left out (its conditions failed) is
        // in the unit set only.
        let own = service.with(type: .socket)
        if let entry = sockets[own] {
            if entry.service == service { return true }
        } else if let socket = units.sockets[own], units.serviceName(for: socket) == service {
            return true
        }
        return socketActivatedByOtherNames.contains(service) || units.refused[own.description] != nil
    }

    // MARK: - Conditions

    mutating func conditionsTested(_ name: UnitName, failure: UnitCondition?, now: Instant) {
        if name.type == .socket { return socketConditionsTested(name, failure: failure) }
        conditionsAsked.remove(name)
        withService(name) { $0.conditionsTested(failure: failure, now: now) }
    }

    // MARK: - Processes

    /// What the process of `role` gets, as far as the Manager decides it
    /// (systemd.exec(5), sd_listen_fds(3)); mints the INVOCATION_ID of a start.
    mutating func spawnOrder(_ name: UnitName, role: ExecRole) -> SpawnOrder? {
        guard let entry = services[name] else { return nil }
        let machine = entry.machine
        let unit = machine.unit
        let commands = machine.commands(of: role.phase)
        guard role.index < commands.count else { return nil }
        // One INVOCATION_ID per start, minted by the first command the start runs.
        let firstOfStart = role.index == 0
            && (role.phase == .condition
                || (role.phase == .startPre && unit.execCondition.isEmpty)
                || (role.phase == .start && unit.execCondition.isEmpty && unit.execStartPre.isEmpty))
        if firstOfStart || entry.invocationID.isEmpty {
            services[name]?.invocationID = makeInvocationID()
            // The extra is drawn once per start, as service_running_timeout() (src/core/service.c)
            // draws it when the service enters running.
            let extra = unit.runtimeRandomizedExtra
            services[name]?.machine.runtimeRandomExtra = extra.isInfinite || extra == .zero
                ? extra : TimeSpan(microseconds: randomBelow(extra.microseconds &+ 1))
        }
        var order = SpawnOrder(unit: name, service: unit, role: role, command: commands[role.index],
                               invocationID: services[name]?.invocationID ?? "")
        var variables: [(String, String)] = []
        if unit.effectiveNotifyAccess != .none, let path = configuration.notifySocketPath {
            variables.append(("NOTIFY_SOCKET", path))
        }
        if let main = machine.mainPID, !order.isMain { variables.append(("MAINPID", String(main))) }
        if role.phase == .stopPost {
            variables.append(("SERVICE_RESULT", machine.result.rawValue))
            if let exit = machine.mainExit {
                variables += [("EXIT_CODE", exit.code), ("EXIT_STATUS", exit.status)]
            }
        }
        if order.isMain {
            var names: [String] = []
            if let connection = entry.connection {
                if unit.standardInput == .socket {
                    order.connectionOnStdin = connection.id
                } else {
                    order.connectionAsFD = connection.id
                    names.append("connection")
                }
                if let address = connection.remoteAddress { variables.append(("REMOTE_ADDR", address)) }
                if let port = connection.remotePort { variables.append(("REMOTE_PORT", String(port))) }
            } else {
                for socket in triggers(of: name) {
                    guard let entry = sockets[socket], entry.listeners == .bound else { continue }
                    order.sockets.append(socket)
                    names += entry.machine.unit.passedFDNames
                }
            }
            if !entry.storedFDNames.isEmpty {
                order.passesStoredFDs = true
                names += entry.storedFDNames
            }
            // OpenFile= last, as systemd's exec_invoke() appends them (src/core/exec-invoke.c).
            names += unit.openFiles.map(\.name)
            if !names.isEmpty {
                variables += SpawnOrder.listenVariables(names)
                order.listenPID = true
            }
            // fd:NAME takes the first passed fd of that name (exec_context_named_iofds(), src/core/execute.c).
            var wanted: [String?] = [nil, nil, nil]
            if case .fd(let fdName) = unit.effectiveStandardInput { wanted[0] = fdName }
            if case .fd(let fdName) = unit.effectiveStandardOutput { wanted[1] = fdName }
            if case .fd(let fdName) = unit.standardError { wanted[2] = fdName }
            order.namedStandardFDs = wanted.map { $0.flatMap { names.firstIndex(of: $0) } }
            if machine.effectiveWatchdog > .zero {
                variables.append(("WATCHDOG_USEC", String(machine.effectiveWatchdog.microseconds)))
                order.watchdogPID = true
            }
        }
        order.protocolVariables = variables
        return order
    }

    mutating func spawned(_ name: UnitName, role: ExecRole, pid: Int32, now: Instant) {
        guard services[name] != nil else { return }
        pidOwners[pid] = name
        withService(name) { $0.spawned(pid, role: role, now: now) }
        if role.phase == .start, let connection = services[name]?.connection {
            // The instance has its connection now; the daemon's copy goes.
            services[name]?.connection = nil
            emit(.closeConnection(connection.id))
        }
    }

    mutating func mainPIDDiscovered(_ name: UnitName, pid: Int32?, now: Instant) {
        guard let entry = services[name] else { return }
        if pid == nil, let file = entry.machine.unit.pidFile {
            log(name, .warning, "\(name): PID file \(file) not readable (yet?) after start.")
        }
        if let pid { pidOwners[pid] = name }
        withService(name) { $0.mainPIDDiscovered(pid, now: now) }
    }

    // MARK: - sd_notify

    /// A stored fd hung up (its peer closed): it is dropped from the store, as systemd's
    /// on_fd_store_io() drops it (src/core/service.c); FDPOLL=0 stores one unwatched.
    mutating func storedFDHungUp(_ name: UnitName, index: Int) {
        guard let names = services[name]?.storedFDNames, names.indices.contains(index) else { return }
        log(name, .info, "\(name): Stored fd \(index) (\(names[index])) hung up, closing it.")
        services[name]?.storedFDNames.remove(at: index)
        emit(.dropStoredFD(name, index: index))
    }

    /// A datagram of `unit`'s: checked against NotifyAccess=, its FDSTORE=1
    /// fds kept up to FileDescriptorStoreMax= (sd_notify(3)); the shell closes
    /// every fd not kept.
    mutating func notify(_ name: UnitName, from pid: Int32, _ message: NotifyMessage, fdCount: Int, inService: Bool,
                         now: Instant) {
        guard let entry = services[name] else { return }
        guard entry.machine.accepts(notifyFrom: pid, inService: inService) else {
            let main = entry.machine.mainPID.map(String.init) ?? "n/a"
            log(name, .warning, "\(name): Got notification message from PID \(pid), but reception only permitted for main PID \(main)")
            return
        }
        if message.fdStoreRemove, let fdName = message.fdName, entry.storedFDNames.contains(fdName) {
            services[name]?.storedFDNames.removeAll { $0 == fdName }
            emit(.removeStoredFDs(name, name: fdName))
        }
        if message.fdStore, !message.barrier, fdCount > 0 {
            let limit = entry.machine.unit.fileDescriptorStoreMax
            let stored = services[name]?.storedFDNames.count ?? 0
            let keep = min(fdCount, max(0, limit - stored))
            if keep > 0 {
                let fdName = message.fdName ?? "stored"
                services[name]?.storedFDNames += Array(repeating: fdName, count: keep)
                emit(.storeFDs(name, name: fdName, count: keep, poll: message.fdPoll))
            }
            if keep < fdCount {
                log(name, .warning, "\(name): Attempted to store file descriptors beyond FileDescriptorStoreMax=\(limit), closing.")
            }
        }
        withService(name) { $0.notify(message, from: pid, now: now) }
        if let main = services[name]?.machine.mainPID { pidOwners[main] = name }
    }
}
