/// `swatchctl`'s requests (swatchctl(1)), answered from the Manager's state.
/// A job request is answered when its jobs are done, as systemctl waits for
/// them — or once they are queued, with `--no-block`.
extension Manager {
    /// Control requests not answered yet, and the units each waits for.
    struct PendingCalls {
        struct Call {
            var response = ControlResponse()
            /// The jobs it waits for.
            var waitingFor: Set<Int> = []
            /// Still adding units: not answered even when nothing is waited for yet.
            var dispatching = true
        }
        var calls: [ControlServer.ConnectionID: Call] = [:]
        /// Job id → the calls waiting for it.
        var waiters: [Int: [ControlServer.ConnectionID]] = [:]
    }

    mutating func control(_ id: ControlServer.ConnectionID, _ request: ControlRequest, now: Instant, realtime: UInt64) {
        switch request {
        case .status(let names, _), .show(let names):
            var response = ControlResponse()
            var reports: [UnitStatusReport] = []
            for name in names.isEmpty ? allUnitNames() : names {
                if let report = statusReport(name, now: now, realtime: realtime) { reports.append(report) } else {
                    response.result = ControlResponse.Code.noSuchUnit
                    response.errors.append("Unit \(name) could not be found.")
                }
            }
            emit(.reply(id, .reports(reports, response, logLines: request.statusLogLines)))
        case .isActive(let name), .isFailed(let name):
            guard let report = statusReport(name, now: now, realtime: realtime) else {
                return emit(.reply(id, .response(.unitNotFound(name))))
            }
            emit(.reply(id, .reports([report], ControlResponse())))
        case .job(let verb, let names, let noBlock):
            // An instance of a template is loaded by a job that may start it; one that nothing
            // loaded never ran, and a stop or try-restart of it has nothing to do (perform).
            if verb == .start || verb == .restart || verb == .reloadOrRestart {
                for name in names { loadInstance(name) }
            }
            perform(id, names, verb: verb.rawValue) { manager, name in
                if verb == .stop, case let triggeredBy = manager.triggers(of: name), !triggeredBy.isEmpty {
                    manager.calls.calls[id]?.response.warnings.append(ControlResponse.stopTriggeredWarning(
                        service: name.description, triggeredBy: triggeredBy.map(\.description)))
                }
                guard let kind = manager.jobKind(verb, for: name) else { return }
                if kind == .start || kind == .restart, manager.connectionHandedOver(name) {
                    let refusal = JobRefusal.connectionHandedOver(name, failed: manager.services[name]?.keptFailed == true)
                    return manager.fail(id, "Failed to \(verb.rawValue) \(name): \(refusal)")
                }
                if manager.refusesManual(kind, name) {
                    return manager.fail(id, "Failed to \(verb.rawValue) \(name): \(JobRefusal.onlyByDependency(name))")
                }
                switch manager.enqueue(kind, name) {
                case .failure(let refusal):
                    manager.fail(id, "Failed to \(verb.rawValue) \(name): \(refusal)")
                case .success(let job?) where !noBlock:
                    manager.calls.calls[id]?.waitingFor.insert(job)
                    manager.calls.waiters[job, default: []].append(id)
                case .success:
                    break
                }
            }
        case .listJobs:
            let records = jobsInOrder.map { job in
                ControlRecord([("Job", String(job.id)), ("Id", job.unit.description), ("JobType", job.kind.rawValue),
                               ("JobState", job.state.rawValue)])
            }
            emit(.reply(id, .response(ControlResponse(records: records))))
        case .kill(let names, let signal):
            perform(id, names, verb: "kill") { manager, name in
                // A socket unit's processes are those of its commands.
                if let socket = manager.sockets[name]?.machine {
                    guard let pid = socket.controlPID else {
                        return manager.fail(id, "No control process of \(name) to signal.")
                    }
                    return manager.emit(.kill(name, KillOrder(control: pid, group: true, signal: signal)))
                }
                guard let machine = manager.services[name]?.machine else {
                    return manager.fail(id, "Unit \(name) has no processes to signal.")
                }
                guard machine.mainPID != nil || !machine.isInactive else {
                    return manager.fail(id, "No main PID and no processes of \(name) to signal.")
                }
                manager.emit(.kill(name, KillOrder(main: machine.mainPID, control: machine.controlPID, group: true,
                                                   signal: signal)))
            }
        case .listUnits:
            let entries = allUnitNames().compactMap { statusReport($0, now: now, realtime: realtime) }.map {
                UnitListEntry(id: $0.id, loadState: $0.loadState, activeState: $0.activeState, subState: $0.subState,
                              description: $0.description ?? $0.id).toRecord()
            }
            emit(.reply(id, .response(ControlResponse(records: entries))))
        case .listSockets:
            let instances = acceptInstances()
            let entries = sockets.keys.sorted().compactMap { name -> ControlRecord? in
                guard let entry = sockets[name] else { return nil }
                return SocketListing(listen: listening(entry), unit: name.description,
                                     activates: triggered(name, entry, instances).map(\.description)).toRecord()
            }
            emit(.reply(id, .response(ControlResponse(records: entries))))
        case .resetFailed(let name):
            let targets = name.map { [$0] } ?? (services.keys.map(\.description) + sockets.keys.map(\.description)).sorted()
            perform(id, targets, verb: "reset-failed") { manager, name in
                manager.withService(name) { machine in
                    machine.resetFailed()
                    return []
                }
                manager.withSocket(name) { machine in
                    machine.resetFailed()
                    return []
                }
            }
        case .logs(let names, let lines, let follow):
            // Every unit named must be known, or nothing is shown: each unknown one is named. An
            // instance of a loaded template is known, loaded or not: its lines outlive it (an
            // Accept=yes connection's, one collected, Manager+Collection.swift).
            let known = Set(allUnitNames())
            let unknown = names.filter { !known.contains($0) && !(UnitName(parsing: $0).map(units.hasTemplate) ?? false) }
            guard unknown.isEmpty else {
                return emit(.reply(id, .response(ControlResponse(result: ControlResponse.Code.noSuchUnit,
                                                                 errors: unknown.map { "Unit \($0) could not be found." }))))
            }
            emit(.reply(id, .logs(units: names, lines: lines, follow: follow)))
        case .daemonReload:
            // Units the new files add would start or bind while everything else stops.
            if shuttingDown { return emit(.reply(id, .response(.failure("\(JobRefusal.exiting("reload"))")))) }
            emit(.loadUnitFiles(call: id))
        case .daemonReexec:
            switch reexecState() {
            case .success(let state): emit(.reexec(call: id, state))
            case .failure(let refusal): emit(.reply(id, .response(.failure("\(refusal)"))))
            }
        }
    }

    /// Runs `body` for each named unit; unknown units make the answer fail with systemctl's wording.
    private mutating func perform(_ id: ControlServer.ConnectionID, _ names: [String], verb: String,
                                  _ body: (inout Manager, UnitName) -> Void) {
        calls.calls[id] = PendingCalls.Call()
        for text in names {
            if loadedUnitName(text) == nil, units.refused[text] != nil {
                fail(id, "Failed to \(verb) \(text): Unit \(text) has a bad unit file setting.")
                continue
            }
            // Said as systemctl says it. A masked unit is never loaded: a stop has nothing to do.
            if loadedUnitName(text) == nil, units.masked.contains(text) {
                if verb != "stop" { fail(id, "Failed to \(verb) \(text): Unit \(text) is masked.") }
                continue
            }
            // An instance of a loaded template that nothing loaded has never run.
            if loadedUnitName(text) == nil, verb == "stop" || verb == "try-restart" || verb == "try-reload-or-restart",
               let name = UnitName(parsing: text), units.hasTemplate(of: name) {
                continue
            }
            guard let name = loadedUnitName(text) else {
                let failure = ControlResponse.unitNotLoaded(text, verb: verb)
                calls.calls[id]?.response.result = failure.result
                calls.calls[id]?.response.errors += failure.errors
                continue
            }
            body(&self, name)
        }
        calls.calls[id]?.dispatching = false
        answerIfDone(id)
    }

    private mutating func fail(_ id: ControlServer.ConnectionID, _ message: String) {
        calls.calls[id]?.response.result = ControlResponse.Code.failure
        calls.calls[id]?.response.errors.append(message)
    }

    /// RefuseManualStart=/RefuseManualStop=: a restart is refused by either, as systemd's
    /// bus_unit_queue_job() refuses it (src/core/dbus-unit.c).
    private func refusesManual(_ kind: Job.Kind, _ unit: UnitName) -> Bool {
        guard let section = unitSection(unit) else { return false }
        switch kind {
        case .start: return section.refuseManualStart
        case .stop: return section.refuseManualStop
        case .restart: return section.refuseManualStart || section.refuseManualStop
        case .reload, .verifyActive: return false
        }
    }

    /// The job a verb means for a unit now: try-restart leaves a unit that is down
    /// alone; reload-or-restart reloads what can be reloaded and restarts the rest;
    /// try-reload-or-restart does so for a unit that is up only (systemctl(1)).
    private func jobKind(_ verb: JobVerb, for unit: UnitName) -> Job.Kind? {
        switch verb {
        case .start: return .start
        case .stop: return .stop
        case .restart: return .restart
        case .reload: return .reload
        case .tryRestart: return isUp(unit) ? .restart : nil
        case .tryReloadOrRestart where !isUp(unit):
            return nil
        case .reloadOrRestart, .tryReloadOrRestart:
            let reloadable = services[unit].map { $0.machine.unit.canReload && $0.machine.state == .running }
            return reloadable == true ? .reload : .restart
        }
    }

    /// A job ended: the calls that waited for it learn how it went.
    /// `message` is made only for a request that waits: most jobs (each Accept=yes
    /// connection's) have none, and the text cost ~7,000 instructions a job under -Osize.
    mutating func jobFinished(_ job: Int, message makeMessage: @autoclosure () -> String?) {
        guard let ids = calls.waiters.removeValue(forKey: job) else { return }
        let message = makeMessage()
        for id in ids {
            calls.calls[id]?.waitingFor.remove(job)
            if let message { fail(id, message) }
            answerIfDone(id)
        }
    }

    private mutating func answerIfDone(_ id: ControlServer.ConnectionID) {
        guard let call = calls.calls[id], !call.dispatching, call.waitingFor.isEmpty else { return }
        calls.calls[id] = nil
        emit(.reply(id, .response(call.response)))
    }

    // MARK: - Names

    func loadedUnitName(_ text: String) -> UnitName? {
        // An alias name stands for its unit, as systemctl resolves it.
        guard let name = UnitName(parsing: units.aliases[text] ?? text) else { return nil }
        return services[name] != nil || sockets[name] != nil ? name : nil
    }

    func allUnitNames() -> [String] {
        Set(sockets.keys.map(\.description) + services.keys.map(\.description) + units.refused.keys).sorted()
    }

    // MARK: - Status

    /// What `status` and `show` say about a unit, as far as the Manager knows
    /// it; the shell adds processes, memory and log lines.
    func statusReport(_ text: String, now: Instant, realtime: UInt64) -> UnitStatusReport? {
        // A unit broken by a daemon-reload still runs its previous definition: that is what it is.
        if let name = loadedUnitName(text) {
            if let entry = services[name] { return serviceReport(name, entry, now: now, realtime: realtime) }
            if let entry = sockets[name] { return socketReport(name, entry, now: now, realtime: realtime) }
        }
        if units.masked.contains(text) {
            return UnitStatusReport(id: text, loadState: .masked, loadError: "Unit \(text) is masked.",
                                    activeState: .inactive, subState: "dead")
        }
        // An instance of a loaded template that nothing has named yet: what it would be, made
        // on a copy of the units, so that a query leaves nothing loaded behind.
        // (A copy shares the storage of its tables until loadInstances adds to one.)
        if units.refused[text] == nil, let name = UnitName(parsing: text), name.instance != nil, !name.isTemplate {
            var probe = units
            if probe.loadInstances(named: [name]).contains(name) {
                if let unit = probe.services[name] {
                    return serviceReport(name, ServiceEntry(unit: unit), now: now, realtime: realtime)
                }
                if let unit = probe.sockets[name] {
                    let entry = SocketEntry(machine: SocketMachine(unit: unit, phase: .dead), service: probe.serviceName(for: unit))
                    return socketReport(name, entry, now: now, realtime: realtime)
                }
            }
            if let diagnostics = probe.refused[text] {
                return UnitStatusReport(id: text, loadState: .badSetting, loadError: diagnostics.first.map { "\($0)" },
                                        activeState: .inactive, subState: "dead")
            }
        }
        guard let diagnostics = units.refused[text] else { return nil }
        return UnitStatusReport(id: text, loadState: .badSetting, loadError: diagnostics.first.map { "\($0)" },
                                activeState: .inactive, subState: "dead")
    }

    private func serviceReport(_ name: UnitName, _ entry: ServiceEntry, now: Instant, realtime: UInt64)
        -> UnitStatusReport
    {
        let machine = entry.machine
        let unit = machine.unit
        // A monotonic instant as realtime µs, for `since …` (systemd keeps both clocks; the Manager converts).
        func wallClock(_ instant: Instant) -> UInt64 {
            let ago = now.since(instant).microseconds
            return realtime >= ago ? realtime - ago : 0
        }
        var report = UnitStatusReport(id: name.description, description: unitDescription(name),
                                      fragmentPath: unit.path.description, dropIns: unit.dropIns)
        report.serviceType = unit.type.rawValue
        report.activeState = machine.state.activeState
        report.subState = machine.state.rawValue
        report.result = UnitResult(rawValue: machine.result.rawValue) ?? .success
        report.activeSince = machine.stateChanged.map(wallClock)
        let shown = machine.shownPIDs
        report.mainPID = shown.main ?? 0
        report.controlPID = shown.control ?? 0
        report.execMainPID = machine.execMainPID ?? 0
        switch machine.mainExit {
        case .exited(let status)?:
            report.execMainCode = 1
            report.execMainStatus = status
        case .signaled(let signal, let core)?:
            report.execMainCode = core ? 3 : 2
            report.execMainStatus = signal
        case nil:
            break
        }
        report.nRestarts = machine.restartCount
        if unit.fileDescriptorStoreMax > 0 || !entry.storedFDNames.isEmpty {
            report.fileDescriptorStore = entry.storedFDNames.count
        }
        report.statusText = machine.statusText
        if let failure = machine.conditionFailure {
            report.failedCondition = failure.condition.description
            report.failedConditionSince = wallClock(failure.at)
        }
        report.fillDependencies(unit.unit)
        report.triggeredBy = (entry.instanceOf.map { [$0] } ?? triggers(of: name)).map {
            UnitReference(name: $0.description, activeState: socketActiveState($0))
        }
        return report
    }

    private func socketReport(_ name: UnitName, _ entry: SocketEntry, now: Instant, realtime: UInt64) -> UnitStatusReport {
        let unit = entry.machine.unit
        var report = UnitStatusReport(id: name.description, description: unit.unit.description,
                                      fragmentPath: unit.path.description, dropIns: unit.dropIns)
        report.activeState = socketActiveState(name)
        report.activeSince = entry.stateChanged.map { changed in
            let ago = now.since(changed).microseconds
            return realtime >= ago ? realtime - ago : 0
        }
        report.fillDependencies(unit.unit)
        report.subState = entry.machine.subState
        report.result = UnitResult(rawValue: entry.machine.result.rawValue) ?? .success
        // ExecStartPre= and the socket's other commands, as systemctl status shows them.
        report.controlPID = entry.machine.controlPID ?? 0
        if entry.listeners == .failed, entry.machine.result == .resources { report.statusText = entry.failure }
        report.listen = listening(entry)
        report.connections = SocketConnections(accept: unit.accept, accepted: entry.accepted, connected: entry.instances,
                                               refused: entry.refused)
        func reference(_ service: UnitName) -> UnitReference {
            UnitReference(name: service.description,
                          activeState: services[service]?.machine.state.activeState
                              ?? .inactive)
        }
        report.triggers = triggered(name, entry, unit.accept ? acceptInstances() : [:]).map(reference)
        return report
    }

    /// The services a socket unit activates, its Triggers=: its service, or with Accept=yes the
    /// instances it made that are still loaded, as systemd's socket triggers each
    /// (socket_load_service_unit(), src/core/socket.c), not the template.
    private func triggered(_ name: UnitName, _ entry: SocketEntry, _ instances: [UnitName: [UnitName]]) -> [UnitName] {
        entry.machine.unit.accept ? instances[name] ?? [] : [entry.service]
    }

    /// The Accept=yes instances by the socket that made them, sorted: a scan of the services,
    /// for a request.
    private func acceptInstances() -> [UnitName: [UnitName]] {
        var bySocket: [UnitName: [UnitName]] = [:]
        for (name, entry) in services { if let socket = entry.instanceOf { bySocket[socket, default: []].append(name) } }
        return bySocket.mapValues { $0.sorted() }
    }

    private func listening(_ entry: SocketEntry) -> [ListenEntry] {
        entry.listeners == .bound ? entry.machine.unit.listens.map { ListenEntry($0) } : []
    }

    private func socketActiveState(_ name: UnitName) -> UnitActiveState {
        sockets[name]?.machine.activeState ?? .inactive
    }
}

extension UnitStatusReport {
    /// The dependencies as written, as `systemctl show` lists them.
    mutating func fillDependencies(_ section: UnitSection) {
        requires = section.requires
        requisite = section.requisite
        wants = section.wants
        bindsTo = section.bindsTo
        partOf = section.partOf
        upholds = section.upholds
        conflicts = section.conflicts
        before = section.before
        after = section.after
        onFailure = section.onFailure
        onSuccess = section.onSuccess
        propagatesReloadTo = section.propagatesReloadTo
        reloadPropagatedFrom = section.reloadPropagatedFrom
        propagatesStopTo = section.propagatesStopTo
        stopPropagatedFrom = section.stopPropagatedFrom
        requiresMountsFor = section.requiresMountsFor
        wantsMountsFor = section.wantsMountsFor
    }
}
