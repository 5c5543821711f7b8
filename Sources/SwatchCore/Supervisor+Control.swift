import Glibc
import Logging
import SystemPackage

/// `swatchctl`'s requests (DESIGN §2), answered from the supervisor's state.
/// Requests are answered once the action is under way, as `systemctl --no-block`
/// does: a start that waits for READY=1 shows up in `status` as `activating`.
extension Supervisor {
    /// Binds RUNTIME/control (0600; peers checked with SO_PEERCRED) once every listener is bound.
    public func startControl() throws {
        let server = try ControlServer(path: configuration.runtimeDirectory + "/control")
        control = server
        _ = try loop.watch(server.listeningDescriptor) { [unowned self] in
            self.applyControl(server.acceptConnections(now: MonotonicClock.now(), handler: self.handleControl))
        }
    }

    /// New lines reached the unit log: `swatchctl logs -f` followers get them.
    func publishLogs() {
        guard let control else { return }
        applyControl(control.publish(from: unitLog))
    }

    /// Tracks the connections a control call opened and closed.
    func applyControl(_ update: ControlServer.Update) {
        for fd in update.removed {
            // Already closed by the server: the kernel dropped it from epoll.
            if let watch = controlWatches.removeValue(forKey: fd.rawValue) { loop.forget(watch) }
        }
        for fd in update.added {
            do {
                controlWatches[fd.rawValue] = try loop.watch(fd) { [unowned self] in
                    guard let control = self.control else { return }
                    self.applyControl(control.connectionReadable(fd, now: MonotonicClock.now(), handler: self.handleControl))
                }
            } catch {
                logger.warning("Failed to watch a control connection: \(error)")
            }
        }
        for peer in update.refused {
            logger.warning("Refused a control request of PID \(peer.pid) (uid \(peer.uid)): swatchd serves root and its own uid only.")
        }
    }

    func handleControl(_ call: ControlServer.Call) -> ControlServer.Reply {
        let now = self.now
        switch call.request {
        case .status(let names), .show(let names):
            let wanted = names.isEmpty ? allUnitNames() : names
            var response = ControlResponse()
            for name in wanted {
                if let report = statusReport(name) { response.records.append(report.toRecord()) } else {
                    response.result = ControlResponse.Code.noSuchUnit
                    response.errors.append("Unit \(name) could not be found.")
                }
            }
            return .now(response)
        case .isActive(let name), .isFailed(let name):
            guard let report = statusReport(name) else { return .now(.unitNotFound(name)) }
            return .now(ControlResponse(records: [report.toRecord()]))
        case .start(let names):
            return .now(perform(names, verb: "start") { self.startUnit($0, now: now) })
        case .stop(let names):
            var warnings: [String] = []
            var response = perform(names, verb: "stop") { name in
                if let service = self.services[name], service.machine.unit.name == name {
                    let sockets = self.triggeringSockets(of: name).map(\.description)
                    if !sockets.isEmpty {
                        warnings.append(ControlResponse.stopTriggeredWarning(service: name.description, triggeredBy: sockets))
                    }
                }
                return self.stopUnit(name, now: now)
            }
            response.warnings += warnings
            return .now(response)
        case .restart(let names):
            return .now(perform(names, verb: "restart") { name in
                if self.sockets[name] != nil {
                    _ = self.stopUnit(name, now: now)
                    return self.startUnit(name, now: now)
                }
                guard var record = self.services[name] else { return nil }
                let actions = record.machine.restart(now: now)
                self.services[name] = record
                self.apply(actions, to: name, now: now)
                return nil
            })
        case .reload(let names):
            return .now(perform(names, verb: "reload") { name in
                guard var record = self.services[name] else { return "Unit \(name) cannot be reloaded." }
                let actions = record.machine.reload(now: now)
                self.services[name] = record
                self.apply(actions, to: name, now: now)
                return nil
            })
        case .kill(let names, let signal):
            return .now(perform(names, verb: "kill") { name in
                guard let record = self.services[name] else { return "Unit \(name) has no processes to signal." }
                guard record.machine.mainPID != nil || !self.tracker.isEmpty(name.description) else {
                    return "No main PID and no processes of \(name) to signal."
                }
                self.send(signal, to: .group, of: name)
                return nil
            })
        case .listUnits:
            let entries = allUnitNames().compactMap(statusReport).map {
                UnitListEntry(id: $0.id, loadState: $0.loadState, activeState: $0.activeState, subState: $0.subState,
                              description: $0.description ?? $0.id).toRecord()
            }
            return .now(ControlResponse(records: entries))
        case .listSockets:
            let entries = sockets.keys.sorted().compactMap { name -> ControlRecord? in
                guard let record = sockets[name] else { return nil }
                return SocketListing(listen: record.listeners.map { ListenEntry($0.directive) }, unit: name.description,
                                     activates: [record.service.description]).toRecord()
            }
            return .now(ControlResponse(records: entries))
        case .resetFailed(let name):
            let targets = name.map { [$0] } ?? services.keys.map(\.description)
            return .now(perform(targets, verb: "reset-failed") { name in
                self.services[name]?.machine.resetFailed()
                return nil
            })
        case .logs(let name, let lines, let follow):
            guard allUnitNames().contains(name) else { return .now(.unitNotFound(name)) }
            return ControlServer.logsReply(unit: name, lines: lines, follow: follow, from: unitLog)
        case .daemonReload:
            let errors = reload()
            return .now(ControlResponse(warnings: errors))
        }
    }

    /// Runs `body` for each named unit; unknown units make the answer fail with systemctl's wording.
    private func perform(_ names: [String], verb: String, _ body: (UnitName) -> String?) -> ControlResponse {
        var response = ControlResponse()
        for text in names {
            guard let name = loadedUnitName(text) else {
                let failure = ControlResponse.unitNotLoaded(text, verb: verb)
                response.result = failure.result
                response.errors += failure.errors
                continue
            }
            if let error = body(name) {
                response.result = ControlResponse.Code.failure
                response.errors.append(error)
            }
        }
        return response
    }

    func loadedUnitName(_ text: String) -> UnitName? {
        // An alias name stands for its unit, as systemctl resolves it.
        let text = units.aliases[text] ?? text
        if let name = services.keys.first(where: { $0.description == text }) { return name }
        return sockets.keys.first { $0.description == text }
    }

    func allUnitNames() -> [String] {
        Set(sockets.keys.map(\.description) + services.keys.map(\.description) + units.refused.keys).sorted()
    }

    /// `swatchd run --watch`: restart what runs (what does not run starts anew on its next connection anyway).
    public func restartRunningServices(reason: String) {
        let now = self.now
        for name in services.keys.sorted() where services[name]?.machine.isInactive == false {
            logger.info("\(name): Restarting: \(reason).", metadata: ["unit": "\(name)"])
            guard var record = services[name] else { continue }
            let actions = record.machine.restart(now: now)
            services[name] = record
            apply(actions, to: name, now: now)
        }
    }

    /// Starts a service, or binds a stopped socket unit again.
    func startUnit(_ name: UnitName, now: Instant) -> String? {
        if services[name] != nil {
            if let error = startService(name, now: now) { return error }
            // As systemctl answers a start job that ended in JOB_ASSERT.
            if let failure = services[name]?.machine.conditionFailure, failure.at == now, failure.condition.isAssertion {
                return "Assertion failed on job for \(name)."
            }
            return nil
        }
        guard let record = sockets[name] else { return nil }
        if record.listeners.isEmpty, let unit = units.sockets[name] {
            sockets[name] = nil
            addSocket(name, unit)
            return sockets[name] == nil ? "Failed to listen on \(name); see the log." : nil
        }
        return nil
    }

    /// Stops a service, or closes a socket unit's listeners (it no longer activates anything).
    func stopUnit(_ name: UnitName, now: Instant) -> String? {
        if services[name] != nil {
            stopService(name, now: now)
            return nil
        }
        guard let record = sockets[name] else { return nil }
        unwatchListeners(name)
        for listener in record.listeners { listener.close(removeOnStop: record.machine.unit.options.removeOnStop) }
        sockets[name]?.listeners = []
        stopServicesBound(to: name, now: now)
        return nil
    }

    /// What `status` and `show` say about a unit.
    func statusReport(_ text: String) -> UnitStatusReport? {
        // A unit broken by a daemon-reload still runs its previous definition: that is what it is.
        if let name = loadedUnitName(text) {
            if let record = services[name] { return serviceReport(name, record) }
            if let record = sockets[name] { return socketReport(name, record) }
        }
        guard let diagnostics = units.refused[text] else { return nil }
        return UnitStatusReport(id: text, loadState: .badSetting, loadError: diagnostics.first.map { "\($0)" },
                                activeState: .inactive, subState: "dead", logLines: logLines(text))
    }

    private func serviceReport(_ name: UnitName, _ record: ServiceRecord) -> UnitStatusReport {
        let machine = record.machine
        let unit = machine.unit
        var report = UnitStatusReport(id: name.description, description: unit.unit.description,
                                      fragmentPath: unit.path, dropIns: unit.dropIns)
        report.activeState = UnitActiveState(rawValue: machine.state.activeState) ?? .inactive
        report.subState = machine.state.rawValue
        report.result = UnitResult(rawValue: machine.result.rawValue) ?? .success
        report.activeSince = machine.stateChanged.map(realtime)
        if let pid = machine.mainPID {
            report.mainPID = pid
            report.mainProcessName = ProcessStatus.command(of: pid)
        }
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
        report.statusText = machine.statusText
        if let failure = machine.conditionFailure {
            report.failedCondition = failure.condition.description
            report.failedConditionSince = realtime(failure.at)
        }
        let pids = tracker.pids(of: name.description)
        if !pids.isEmpty {
            report.tasks = ProcessStatus.taskCount(of: pids)
            report.memoryBytes = ProcessStatus.residentBytes(of: pids)
        }
        report.triggeredBy = (record.instanceOf.map { [$0] } ?? triggeringSockets(of: name)).map {
            UnitReference(name: $0.description, activeState: socketActiveState($0))
        }
        report.logLines = logLines(name.description)
        return report
    }

    private func socketReport(_ name: UnitName, _ record: SocketRecord) -> UnitStatusReport {
        let unit = record.machine.unit
        var report = UnitStatusReport(id: name.description, description: unit.unit.description,
                                      fragmentPath: unit.path, dropIns: unit.dropIns)
        report.activeState = socketActiveState(name)
        report.subState = record.listeners.isEmpty ? "dead" : record.machine.subState
        report.listen = record.listeners.map { ListenEntry($0.directive) }
        report.triggers = [UnitReference(
            name: record.service.description,
            activeState: services[record.service].flatMap { UnitActiveState(rawValue: $0.machine.state.activeState) }
                ?? .inactive)]
        report.logLines = logLines(name.description)
        return report
    }

    private func socketActiveState(_ name: UnitName) -> UnitActiveState {
        guard let record = sockets[name] else { return .inactive }
        return record.listeners.isEmpty ? .inactive : .active
    }

    private func logLines(_ unit: String) -> [String] {
        unitLog.entries(unit: unit, last: 10).map(\.journalLine)
    }

    /// A monotonic instant as realtime µs, for `since …` (systemd keeps both clocks; swatchd converts).
    private func realtime(_ instant: Instant) -> UInt64 {
        let realNow = StatusFormat.realtimeNow(), monoNow = MonotonicClock.now()
        let ago = monoNow >= instant.microseconds ? monoNow - instant.microseconds : 0
        return realNow >= ago ? realNow - ago : 0
    }
}
