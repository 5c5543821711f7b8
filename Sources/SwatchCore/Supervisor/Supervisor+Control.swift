import Logging
import SystemPackage

/// The control socket: requests go to the Manager; its answers are
/// completed with what only the shell can read and sent back.
extension Supervisor {
    /// Binds RUNTIME/control (0600; peers checked with SO_PEERCRED) once every listener is bound.
    package func startControl() throws {
        let server = try ControlServer(path: configuration.runtimeDirectory + "/control")
        control = server
        try watchControlListener(server)
    }

    /// The control server a re-exec carried over.
    func adoptControl(_ server: ControlServer) throws(Errno) {
        control = server
        try watchControlListener(server)
    }

    private func watchControlListener(_ server: ControlServer) throws(Errno) {
        controlListenerWatch = try loop.watch(server.listeningDescriptor) { [unowned self] in
            self.applyControl(server.acceptConnections(now: MonotonicClock.now(), handler: self.handleControl))
        }
    }

    /// New lines reached the unit log: `swatchctl logs -f` followers get them.
    func publishLogs() {
        guard let control else { return }
        applyControl(control.publish(from: unitLog))
    }

    /// Tracks the connections a control call opened and closed, and delivers
    /// the answers that came while the server was busy with a call.
    func applyControl(_ update: ControlServer.Update) {
        for fd in update.removed {
            // Already closed by the server: the kernel dropped it from epoll.
            if let watch = controlWatches.removeValue(forKey: fd.rawValue) { loop.forget(watch) }
        }
        // Each replaces the connection's earlier watch (epoll holds one registration per fd).
        for fd in update.added {
            if let old = controlWatches.removeValue(forKey: fd.rawValue) { loop.unwatch(old) }
            do {
                controlWatches[fd.rawValue] = try loop.watch(fd) { [unowned self] in
                    guard let control = self.control else { return }
                    self.applyControl(control.connectionReadable(fd, now: MonotonicClock.now(), handler: self.handleControl))
                }
            } catch {
                logger.warning("Failed to watch a control connection: \(error)")
            }
        }
        // The rest of an answer goes out as the client reads (ControlServer, "never block").
        for fd in update.writable {
            if let old = controlWatches.removeValue(forKey: fd.rawValue) { loop.unwatch(old) }
            do {
                controlWatches[fd.rawValue] = try loop.watch(fd, events: .writable) { [unowned self] in
                    guard let control = self.control else { return }
                    self.applyControl(control.connectionWritable(fd, now: MonotonicClock.now()))
                }
            } catch {
                logger.warning("Failed to watch a control connection: \(error)")
            }
        }
        if update.acceptPaused, let watch = controlListenerWatch {
            loop.unwatch(watch)
            controlListenerWatch = nil
            if let error = update.acceptError {
                logger.error("Failed to accept control connections: \(error); pausing for \(ControlServer.acceptPause / 1000) ms.")
            }
        }
        if let control, update.acceptResumed, controlListenerWatch == nil {
            do { try watchControlListener(control) } catch {
                logger.critical("Failed to watch the control socket again: \(error)")
            }
        }
        for peer in update.refused {
            logger.warning("Refused a control request of PID \(peer.pid) (uid \(peer.uid)): swatchd serves root and its own uid only.")
        }
        let answers = laterAnswers
        laterAnswers = [:]
        for (id, response) in answers { if let control { applyControl(control.answer(id, with: response)) } }
    }

    func handleControl(_ call: ControlServer.Call) -> ControlServer.Reply {
        calling = call.id
        defer { calling = nil }
        send(.control(call.id, call.request, realtime: StatusFormat.realtimeNow()))
        if let follow = followReply { followReply = nil; return follow }
        if let response = laterAnswers.removeValue(forKey: call.id) { return .now(response) }
        return .later
    }

    /// Sends an answer of the Manager's, with the processes, memory and log lines of the units it reports on.
    func reply(_ id: ControlServer.ConnectionID, _ answer: ControlAnswer) {
        let response: ControlResponse
        switch answer {
        case .response(let r):
            response = r
        case .reports(let reports, var r, let logLines):
            r.records = reports.map { report in
                var report = report
                if report.mainPID != 0 { report.mainProcessName = ProcessStatus.command(of: report.mainPID) }
                if report.controlPID != 0 { report.controlProcessName = ProcessStatus.command(of: report.controlPID) }
                let pids = tracker.pids(of: report.id)
                if !pids.isEmpty {
                    // The cgroup's counters and limits where its controllers are enabled, as
                    // systemctl status shows them; else the threads of its processes and their VmRSS.
                    let usage = tracker.cgroupDirectory(of: report.id).map(ProcessStatus.cgroupUsage(of:))
                    let fromProcesses = usage?.tasksCurrent == nil || usage?.memoryCurrent == nil
                        ? ProcessStatus.usage(of: pids) : nil
                    report.tasks = usage?.tasksCurrent.map { Int($0) } ?? fromProcesses?.tasks
                    report.memoryBytes = usage?.memoryCurrent ?? fromProcesses?.residentBytes
                    report.tasksMax = usage?.tasksMax
                    report.memoryMax = usage?.memoryMax
                    report.controlGroup = tracker.controlGroup(of: report.id)
                    report.cpuUsageNanoseconds = usage?.cpuUsageMicroseconds.map { $0 &* 1000 }
                }
                report.logLines = unitLog.entries(unit: report.id, last: logLines).map(\.journalLine)
                report.needDaemonReload = fileTimes(of: report.id).map { !$0.changedPaths().isEmpty } ?? false
                return report.toRecord()
            }
            response = r
        case .logs(let units, let lines, let follow):
            let reply = ControlServer.logsReply(units: units, lines: lines, follow: follow, from: unitLog)
            if id == calling { followReply = reply; return }
            guard case .now(let r) = reply else { return }
            response = r
        }
        laterAnswers[id] = response
        // Outside a call of the server's (a job finishing on a process event), deliver at once.
        if calling == nil { applyControl(ControlServer.Update()) }
    }

    /// The modification times of the files a loaded unit came from, to stat() again for
    /// NeedDaemonReload= (the Manager does no file I/O). Those of the last load of the unit
    /// dirs: a daemon-reload that found the unit unchanged keeps its machine's model, whose
    /// times are older.
    private func fileTimes(of unit: String) -> SourceFileTimes? {
        guard let name = manager.loadedUnitName(unit) else { return nil }
        if let loaded = manager.units.services[name]?.fileTimes ?? manager.units.sockets[name]?.fileTimes { return loaded }
        return manager.services[name]?.machine.unit.fileTimes ?? manager.sockets[name]?.machine.unit.fileTimes
    }
}
