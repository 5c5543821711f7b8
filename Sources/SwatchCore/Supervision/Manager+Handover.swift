/// Ready handover (`swatchd run --watch` of a Type=notify service): the old
/// process is moved into a group of its own and goes on serving while a new
/// one starts on the same listening sockets; once the new one has sent
/// READY=1 the old group is stopped (KillSignal=, SIGKILL after
/// TimeoutStopSec=). A new process that does not become ready leaves the old
/// one as the main process again. So there is never a moment without a ready
/// server.
extension Manager {
    struct Handover {
        /// The group the old processes were moved to.
        var group: String
        var oldMain: Int32
        /// The new process is ready: the old group is being stopped.
        var stopping = false
        /// The new process failed: the old group is being moved back.
        var rollingBack = false
    }

    /// Starts a handover instead of a restart; false when the service cannot hand over
    /// (not Type=notify, not running, a job or a handover under way).
    mutating func beginHandover(_ name: UnitName) -> Bool {
        guard !shuttingDown, let machine = services[name]?.machine, machine.unit.type.isNotify,
              machine.state == .running, let old = machine.mainPID, handovers[name] == nil, jobs[name] == nil
        else { return false }
        let group = name.description + ".old"
        handovers[name] = Handover(group: group, oldMain: old)
        emit(.moveProcesses(name, from: name.description, to: group))
        return true
    }

    /// The answer to `.moveProcesses`.
    mutating func processesMoved(_ name: UnitName, ok: Bool) {
        guard let handover = handovers[name] else { return }
        if handover.rollingBack {
            handovers[name] = nil
            deadlines.schedule(.retired(name), at: nil)
            guard ok else {
                log(name, .error, "\(name): Failed to take back the old process (PID \(handover.oldMain)); stopping it.")
                emit(.signalGroup(handover.group, signal: services[name]?.machine.unit.killSignal ?? 15))
                return
            }
            let result = services[name]?.machine.result.rawValue ?? "?"
            log(name, .warning,
                "\(name): The new process did not become ready (result '\(result)'); the old one (PID \(handover.oldMain)) goes on serving.")
            pidOwners[handover.oldMain] = name
            emit(.removeGroup(handover.group))
            withService(name) { [now] in $0.adoptRunning(main: handover.oldMain, now: now) }
            return
        }
        guard ok else {
            handovers[name] = nil
            log(name, .warning, "\(name): Failed to set the old process apart; restarting instead.")
            enqueue(.restart, name, anchor: false)
            return
        }
        pidOwners[handover.oldMain] = nil
        log(name, .info, "\(name): Starting a new process; the old one (PID \(handover.oldMain)) serves until it is ready.")
        withService(name) { [now] in $0.handOver(now: now) }
    }

    /// The service's state changed during a handover: ready means the old one
    /// goes; a failed start means the old one stays.
    mutating func handoverProgress(_ name: UnitName, to after: ServiceState) {
        guard var handover = handovers[name], !handover.stopping, !handover.rollingBack else { return }
        switch after {
        case .running:
            stopOldProcesses(name, &handover)
        case .dead, .failed, .autoRestart:
            handover.rollingBack = true
            emit(.moveProcesses(name, from: handover.group, to: name.description))
        case .condition, .startPre, .start, .startPost, .exited, .reload, .stop, .stopWatchdog, .stopSigterm,
             .stopSigkill, .stopPost, .finalSigterm, .finalSigkill:
            break
        }
        handovers[name] = handover
    }

    private mutating func stopOldProcesses(_ name: UnitName, _ handover: inout Handover) {
        let unit = services[name]?.machine.unit
        handover.stopping = true
        log(name, .info, "\(name): The new process is ready; stopping the old one (PID \(handover.oldMain)).")
        emit(.signalGroup(handover.group, signal: unit?.killSignal ?? 15))
        deadlines.schedule(.retired(name), at: now.adding(unit?.timeoutStop ?? .seconds(90)))
    }

    /// TimeoutStopSec= ran out for the old group.
    mutating func retiredTimedOut(_ name: UnitName) {
        guard let handover = handovers[name] else { return }
        log(name, .warning, "\(name): The old process (PID \(handover.oldMain)) did not stop in time. Killing.")
        emit(.signalGroup(handover.group, signal: services[name]?.machine.unit.finalKillSignal ?? 9))
    }

    /// The old group has no process left.
    mutating func retiredGroupEmptied(_ name: UnitName) {
        guard let handover = handovers[name], !handover.rollingBack else { return }
        handovers[name] = nil
        deadlines.schedule(.retired(name), at: nil)
        emit(.removeGroup(handover.group))
    }

    /// At shutdown the old groups are stopped too.
    mutating func stopHandovers() {
        for name in handovers.keys.sorted() {
            guard var handover = handovers[name], !handover.stopping, !handover.rollingBack else { continue }
            stopOldProcesses(name, &handover)
            handovers[name] = handover
        }
    }

    /// The groups of old processes, by service (the shell reports them emptied).
    package var retiredGroups: [(unit: UnitName, group: String)] {
        handovers.sortedByKey().map { ($0.key, $0.value.group) }
    }
}
