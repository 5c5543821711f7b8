import Logging

/// Jobs and transactions, as systemd's job engine (src/core/transaction.c,
/// src/core/job.c): a request becomes a job for its unit plus the jobs its
/// dependencies pull in; a job waits for the jobs of the units it is ordered
/// after (After=/Before=), runs, and ends when its unit got where it was
/// asked to go — a start when the unit is active (after READY=1 for
/// Type=notify, after the exit for Type=oneshot), a stop when every process
/// is gone. Control requests wait for the jobs they asked for.
extension Manager {
    /// The jobs in the order they were queued (by id): the order they run in and are listed.
    var jobsInOrder: [Job] { jobs.values.sorted { $0.id < $1.id } }

    // MARK: - Transactions

    /// How a job came into a transaction: what its failure means for the others.
    private enum Pull { case anchor, required, wanted }

    /// Installs the jobs of one request: `kind` for `unit` and what its
    /// dependencies pull in. Returns the job the request waits for (nil when
    /// nothing is to be done), or why the request is refused.
    @discardableResult
    mutating func enqueue(_ kind: Job.Kind, _ unit: UnitName, anchor: Bool = true) -> Swift.Result<Int?, JobRefusal> {
        // Every unit is to stop, for good: a job that would start, restart or reload one would
        // cancel its stop or leave it running, and swatchd would never exit. systemd refuses
        // such a transaction as destructive (transaction_is_destructive(), src/core/transaction.c:
        // the stop jobs of a shutdown are irreversible).
        if shuttingDown, kind != .stop { return .failure(.shuttingDown(unit: unit, kind: kind)) }
        if kind == .reload, let refusal = reloadRefusal(unit) { return .failure(refusal) }
        var transaction: [(unit: UnitName, kind: Job.Kind, pull: Pull)] = []
        var seen: Set<UnitName> = []
        var refusal: JobRefusal?
        func add(_ kind: Job.Kind, _ unit: UnitName, _ pull: Pull) {
            guard !seen.contains(unit) else { return }
            seen.insert(unit)
            transaction.append((unit, kind, pull))
            switch kind {
            case .start, .restart:
                if let missing = graph.missing[unit]?.first, pull != .wanted {
                    refusal = refusal ?? .missingDependency(unit: unit, dependency: missing)
                }
                for dependency in graph.targets(of: unit, .requires, .bindsTo) where needsStart(dependency) {
                    add(.start, dependency, pull == .wanted ? .wanted : .required)
                }
                for dependency in graph.targets(of: unit, .wants, .upholds) where needsStart(dependency) {
                    add(.start, dependency, .wanted)
                }
                for dependency in graph.targets(of: unit, .requisite) { add(.verifyActive, dependency, .required) }
                for other in graph.targets(of: unit, .conflicts) + graph.sources(of: unit, .conflicts)
                where isUp(other) || jobs[other] != nil {
                    add(.stop, other, .required)
                }
                if kind == .restart {
                    // Restarted with it, if up: what requires, is bound to or is part of it (a try-restart,
                    // transaction_add_job_and_dependencies(), src/core/transaction.c); the stop part
                    // goes on to PropagatesStopTo=, which is stopped.
                    for dependent in graph.sources(of: unit, .requires, .requisite, .bindsTo, .partOf) where isUp(dependent) {
                        add(.restart, dependent, .wanted)
                    }
                    for other in graph.stopPropagation(of: unit) where isUp(other) || jobs[other] != nil {
                        add(.stop, other, .required)
                    }
                }
            case .stop:
                for dependent in graph.sources(of: unit, .requires, .requisite, .bindsTo, .partOf) + graph.stopPropagation(of: unit)
                where isUp(dependent) || jobs[dependent] != nil {
                    add(.stop, dependent, .required)
                }
            case .reload:
                // A try-reload of each: only one that is up and can reload
                // (transaction_add_propagate_reload_jobs(), src/core/transaction.c).
                for other in graph.reloadPropagation(of: unit) where isUp(other) && canReload(other) {
                    add(.reload, other, .wanted)
                }
            case .verifyActive:
                break
            }
        }
        add(kind, unit, .anchor)
        if let refusal { return .failure(refusal) }
        var anchorID: Int?
        for entry in transaction {
            let id = install(entry.kind, entry.unit, anchor: entry.pull == .anchor && anchor)
            if entry.pull == .anchor { anchorID = id }
        }
        breakOrderingCycles(startingWith: unit, newJobs: transaction.map(\.unit))
        return .success(anchorID.flatMap { jobs[unit]?.id == $0 ? $0 : nil })
    }

    /// Why a reload cannot be a job (systemctl's bus error, not a job result).
    private func reloadRefusal(_ unit: UnitName) -> JobRefusal? {
        canReload(unit) ? nil : .reloadNotApplicable(unit)
    }

    private func canReload(_ unit: UnitName) -> Bool {
        services[unit]?.machine.unit.canReload ?? false
    }

    /// The service reloads by itself (RELOADING=1): the units it propagates reloads to reload
    /// too, as service_enter_reload_by_notify() has manager_propagate_reload() do.
    mutating func propagateReload(of unit: UnitName) {
        for other in graph.reloadPropagation(of: unit) where isUp(other) && canReload(other) {
            enqueue(.reload, other, anchor: false)
        }
    }

    /// Whether a dependency has to be started (an active one with no stop pending need not).
    private func needsStart(_ unit: UnitName) -> Bool {
        if let job = jobs[unit] { return job.kind == .stop || job.kind == .verifyActive }
        return !isUp(unit)
    }

    /// Active, activating or reloading: not down.
    func isUp(_ unit: UnitName) -> Bool {
        if let entry = services[unit] { return !entry.machine.isInactive }
        if let entry = sockets[unit] { return !entry.machine.isInactive }
        return false
    }

    /// Merges `kind` into the unit's job, or replaces it (the old one ends
    /// `canceled`), or installs a new one. Returns the id of the unit's job.
    private mutating func install(_ kind: Job.Kind, _ unit: UnitName, anchor: Bool) -> Int? {
        if var existing = jobs[unit] {
            guard let newKind = existing.merged(with: kind) else {
                if anchor { jobs[unit]?.isAnchor = true }
                return existing.id
            }
            let replaces = (existing.kind == .stop) != (newKind == .stop)
            if replaces {
                finishJob(unit, .canceled)
            } else {
                // A start becoming a restart runs again, as the new kind.
                existing.kind = newKind
                existing.state = .waiting
                existing.isAnchor = existing.isAnchor || anchor
                jobs[unit] = existing
                return existing.id
            }
        }
        nextJobID += 1
        jobs[unit] = Job(id: nextJobID, unit: unit, kind: kind, isAnchor: anchor)
        // JobTimeoutSec= counts from here (job_start_timer(), src/core/job.c).
        if let timeout = unitSection(unit)?.jobTimeout, let deadline = now.adding(timeout) {
            deadlines.schedule(.job(unit), at: deadline)
        }
        return nextJobID
    }

    // MARK: - Ordering

    /// Units whose jobs go first when `unit` starts (and last when it stops): the orderings of
    /// the graph, and the sockets that trigger it. Those are not in the graph: every socket
    /// unit orders its service, and the graph kept that edge as two more tables keyed by
    /// name (docs/HACKING.md "Where the bytes are").
    func orderedBefore(_ unit: UnitName) -> [UnitName] {
        let written = graph.orderedBefore(unit)
        guard unit.type == .service else { return written }
        return written + triggers(of: unit).filter { !written.contains($0) }
    }

    /// Units whose jobs go last when `unit` starts (and first when it stops): the graph's, and
    /// for a socket the services it triggers.
    func orderedAfter(_ unit: UnitName) -> [UnitName] {
        let written = graph.orderedAfter(unit)
        guard unit.type == .socket else { return written }
        return written + services(triggeredBy: unit).filter { !written.contains($0) }
    }

    /// Whether a waiting job must still wait for another unit's job (After=/Before=).
    /// A start waits for the starts of the units it is after; a stop waits for the
    /// stops of the units after it; a stop goes before a start either way. A restart is
    /// ordered as a stop (job_is_runnable(), src/core/job.c): a service's, until its stop is
    /// done, then it is a start; a socket's, which stops and starts in one step, until it
    /// runs. So what is after the restarted unit stops first and starts again last.
    func isBlocked(_ job: Job) -> Bool {
        let unit = job.unit
        switch job.kind {
        case .restart, .stop:
            return orderedAfter(unit).contains { jobs[$0].map { $0.kind == .stop || $0.kind == .restart } ?? false }
        case .start, .reload, .verifyActive:
            if orderedBefore(unit).contains(where: { jobs[$0] != nil }) { return true }
            return orderedAfter(unit).contains { jobs[$0]?.kind == .stop }
        }
    }

    /// The jobs `job` waits for.
    private func blockers(of job: Job) -> [UnitName] {
        let unit = job.unit
        switch job.kind {
        case .restart, .stop:
            return orderedAfter(unit).filter { jobs[$0].map { $0.kind == .stop || $0.kind == .restart } ?? false }
        case .start, .reload, .verifyActive:
            return orderedBefore(unit).filter { jobs[$0] != nil } + orderedAfter(unit).filter { jobs[$0]?.kind == .stop }
        }
    }

    /// An ordering cycle among the waiting jobs would never end: delete one job
    /// of it, not the one asked for, as systemd's transaction_verify_order() does.
    /// There was none before this transaction, so a new one goes through a job it
    /// installed or changed: the search over all jobs runs only when one of those
    /// reaches a cycle, which keeps a start of many units from being quadratic.
    private mutating func breakOrderingCycles(startingWith anchor: UnitName, newJobs: [UnitName]) {
        guard reachesCycle(from: newJobs) else { return }
        while let cycle = findCycle() {
            let victim = cycle.first { $0 != anchor && jobs[$0]?.isAnchor == false }
                ?? cycle.first { $0 != anchor } ?? cycle[0]
            let start = cycle.contains(anchor) ? anchor : cycle[0]
            let startJob = "\(start)/\(jobs[start]?.kind.rawValue ?? "start")"
            for (i, unit) in cycle.enumerated() {
                let text = "\(unit)/\(jobs[unit]?.kind.rawValue ?? "start")"
                log(start, .error, i == 0 ? "\(start): Found ordering cycle on \(text)" : "\(start): Found dependency on \(text)")
            }
            log(start, .error, "\(start): Job \(victim)/\(jobs[victim]?.kind.rawValue ?? "start") deleted to break ordering cycle starting with \(startJob)")
            finishJob(victim, .canceled, propagate: false)
        }
    }

    private func reachesCycle(from units: [UnitName]) -> Bool {
        // true: on the path, false: done. Not `[:]`, which -Osize leaves to the generic
        // Dictionary(dictionaryLiteral:): this runs at every job's start, each connection's too.
        var onPath = [UnitName: Bool]()
        return units.contains { unit in
            guard onPath[unit] == nil, let job = jobs[unit], job.state == .waiting else { return false }
            return reachesCycle(unit, waitingFor: blockers(of: job), &onPath)
        }
    }

    /// A method, not a function nested in the one above: that one captured the whole
    /// Manager, copied at each call (~2,400 instructions a connection).
    private func reachesCycle(_ unit: UnitName, waitingFor next: [UnitName], _ onPath: inout [UnitName: Bool]) -> Bool {
        // A job that waits for none is on no cycle, and takes no place in the table (most jobs).
        guard !next.isEmpty else { return false }
        onPath[unit] = true
        for other in next {
            if onPath[other] == true { return true }
            if onPath[other] == nil, let job = jobs[other], reachesCycle(other, waitingFor: blockers(of: job), &onPath) {
                return true
            }
        }
        onPath[unit] = false
        return false
    }

    /// The first cycle a walk of the waiting jobs in name order meets, so that the job
    /// deleted does not depend on the order of a table.
    private func findCycle() -> [UnitName]? {
        var state = [UnitName: Int]() // 1: on the path, 2: done
        var path: [UnitName] = []
        func visit(_ unit: UnitName) -> [UnitName]? {
            state[unit] = 1
            path.append(unit)
            if let job = jobs[unit] {
                for next in blockers(of: job).sorted() {
                    if state[next] == 1, let i = path.firstIndex(of: next) { return Array(path[i...]) }
                    if state[next] == nil, let cycle = visit(next) { return cycle }
                }
            }
            path.removeLast()
            state[unit] = 2
            return nil
        }
        for unit in jobs.keys.sorted() where state[unit] == nil && jobs[unit]?.state == .waiting {
            if let cycle = visit(unit) { return cycle }
        }
        return nil
    }

    // MARK: - Running

    /// Runs every waiting job that nothing holds back, until none can run.
    mutating func runJobs() {
        var progress = true
        while progress {
            progress = false
            // The waiting ones picked out before the sort: most jobs of a large start are running.
            let waiting = jobs.values.filter { $0.state == .waiting }
            if waiting.isEmpty { return }
            for job in waiting.sorted(by: { $0.id < $1.id }) where !isBlocked(job) {
                // Running one job may have changed another (a restart's stop done makes it a start).
                guard let current = jobs[job.unit], current.id == job.id, current.state == .waiting, !isBlocked(current)
                else { continue }
                jobs[job.unit]?.state = .running
                // JobRunningTimeoutSec= counts from here, if it ends sooner than JobTimeoutSec=.
                if let timeout = unitSection(job.unit)?.jobRunningTimeout, let deadline = now.adding(timeout),
                   deadlines.deadline(of: .job(job.unit)).map({ deadline < $0 }) ?? true {
                    deadlines.schedule(.job(job.unit), at: deadline)
                }
                run(current)
                progress = true
            }
        }
    }

    private mutating func run(_ job: Job) {
        let unit = job.unit
        let now = self.now
        if unit.type == .socket {
            switch job.kind {
            case .start:
                // A start while it stops runs once the stop is through.
                if sockets[unit]?.machine.activeState == .deactivating { sockets[unit]?.restartPending = true }
                startSocket(unit)
            case .restart:
                if sockets[unit]?.machine.isInactive == false {
                    sockets[unit]?.restartPending = true
                    stopSocket(unit)
                } else {
                    startSocket(unit)
                }
            case .stop:
                sockets[unit]?.restartPending = false
                stopSocket(unit)
            case .reload, .verifyActive:
                break
            }
            return checkJob(unit)
        }
        guard let machine = services[unit]?.machine else { return finishJob(unit, .done) }
        // A start or restart a dependency brings (PartOf=) would run a process without the
        // connection; a request for one was refused already.
        if job.kind == .restart || job.kind == .start && machine.isInactive, connectionHandedOver(unit) {
            log(unit, .warning, "\(unit): Not started again: its Accept=yes connection went to its first process.")
            return finishJob(unit, .canceled)
        }
        switch job.kind {
        case .start:
            withService(unit) { $0.start(now: now) }
        case .restart where machine.isInactive:
            // Nothing to stop: a start at once (unit_stop()'s -EALREADY, no message).
            return becomeStart(unit)
        case .restart:
            withService(unit) { $0.stopForRestart(now: now) }
        case .stop:
            withService(unit) { $0.stop(now: now) }
        case .reload:
            guard machine.state == .running else { return finishJob(unit, .invalid) }
            log(unit, .info, "Reloading \(describe(unit))...")
            withService(unit) { $0.reload(now: now) }
        case .verifyActive:
            break
        }
        checkJob(unit)
    }

    /// A service's restart job whose stop is done: from here it is a start job, which waits
    /// for the units it is after (job_finish_and_invalidate(), src/core/job.c).
    private mutating func becomeStart(_ unit: UnitName) {
        jobs[unit]?.kind = .start
        jobs[unit]?.state = .waiting
    }

    /// The unit's state changed: has its running job reached its end?
    mutating func checkJob(_ unit: UnitName) {
        guard let job = jobs[unit], job.state == .running else { return }
        if let entry = sockets[unit] {
            let active = entry.machine.state != nil
            switch job.kind {
            case .start, .restart, .reload:
                guard !entry.restartPending else { return }
                if active { finishJob(unit, .done) }
                if entry.machine.isInactive { finishJob(unit, .failed) }
            case .verifyActive:
                finishJob(unit, active ? .done : .failed)
            case .stop:
                if entry.machine.isInactive { finishJob(unit, .done) }
            }
            return
        }
        guard let machine = services[unit]?.machine else {
            // A socket that failed to bind is gone: its start failed; a stopped one is gone for good.
            return finishJob(unit, job.kind == .stop ? .done : .failed)
        }
        switch job.kind {
        case .restart:
            guard machine.isInactive else { return }
            log(unit, .info, "Stopped \(describe(unit)).")
            becomeStart(unit)
        case .start:
            guard !conditionsAsked.contains(unit) else { return }
            switch machine.state {
            case .running, .exited, .reload:
                finishJob(unit, .done)
            case .failed, .autoRestart:
                finishJob(unit, .failed)
            case .dead:
                if let failure = machine.conditionFailure, failure.at == now {
                    finishJob(unit, failure.condition.isAssertion ? .assert : .skipped)
                } else {
                    finishJob(unit, machine.result == .success || machine.result == .execCondition ? .done : .failed)
                }
            case .condition, .startPre, .start, .startPost, .stop, .stopWatchdog, .stopSigterm, .stopSigkill,
                 .stopPost, .finalSigterm, .finalSigkill:
                break
            }
        case .stop:
            if machine.isInactive { finishJob(unit, .done) }
        case .reload:
            if machine.state != .reload { finishJob(unit, machine.reloadResult == .success ? .done : .failed) }
        case .verifyActive:
            finishJob(unit, machine.isActive ? .done : .failed)
        }
    }

    /// Ends a unit's job: the requests that wait for it learn how it went; a
    /// failed start fails the start jobs of the units that require this one
    /// ("Dependency failed for …", job_fail_dependencies() in src/core/job.c).
    mutating func finishJob(_ unit: UnitName, _ result: Job.Result, propagate: Bool = true) {
        guard let job = jobs.removeValue(forKey: unit) else { return }
        deadlines.schedule(.job(unit), at: nil)
        let machine = services[unit]?.machine
        switch (job.kind, result) {
        case (.start, .done), (.restart, .done):
            if machine?.state == .dead { log(unit, .info, "Finished \(describe(unit)).") }
        case (.stop, .done):
            log(unit, .info, "Stopped \(describe(unit)).")
        case (.reload, .done):
            log(unit, .info, "Reloaded \(describe(unit)).")
        case (.start, .failed), (.restart, .failed):
            log(unit, .error, "Failed to start \(describe(unit)).")
        case (_, .dependency):
            log(unit, .warning, "Dependency failed for \(describe(unit)).")
        case (.reload, .failed):
            log(unit, .error, "Reload failed for \(describe(unit)).")
        case (.start, .timeout), (.restart, .timeout):
            log(unit, .error, "Timed out starting \(describe(unit)).")
        case (.stop, .timeout):
            log(unit, .error, "Timed out stopping \(describe(unit)).")
        case (.reload, .timeout):
            log(unit, .error, "Timed out reloading \(describe(unit)).")
        case (_, .done), (_, .canceled), (_, .timeout), (_, .failed), (_, .skipped), (_, .invalid), (_, .assert),
             (_, .unsupported):
            break
        }
        jobFinished(job.id, message: JobFailureMessage.text(unit: unit, result: result, serviceResult: machine?.result))
        // The unit itself may not change at all: OnFailure= is started here
        // (job_finish_and_invalidate(), src/core/job.c).
        if result == .timeout || result == .dependency {
            log(unit, .notice, "\(unit): Job \(unit)/\(job.kind.rawValue) failed with result '\(result.rawValue)'.")
            startOnFailure(unit)
        }
        submitIfUnneeded(unit)
        guard propagate, !result.isSuccess, result != .canceled,
              job.kind == .start || job.kind == .restart || job.kind == .verifyActive else { return }
        for dependent in graph.sources(of: unit, .requires, .bindsTo, .requisite).sorted() {
            guard let other = jobs[dependent], other.kind == .start || other.kind == .restart else { continue }
            finishJob(dependent, .dependency)
        }
    }

    /// JobTimeoutSec=/JobRunningTimeoutSec= ran out: the job is canceled with result `timeout`, the
    /// unit left as it is, and JobTimeoutAction= taken (job_dispatch_timer(), src/core/job.c).
    mutating func jobTimedOut(_ unit: UnitName) {
        guard let job = jobs[unit] else { return }
        log(unit, .warning, "\(unit): Job \(unit)/\(job.kind.rawValue) timed out.")
        let action = unitSection(unit)?.jobTimeoutAction ?? .none
        finishJob(unit, .timeout)
        take(action, key: "JobTimeoutAction", of: unit)
    }

    /// `Name - Description`, as systemd's unit_status_string() shows a unit in its lifecycle lines.
    func describe(_ unit: UnitName) -> String {
        guard let description = unitDescription(unit), !description.isEmpty else { return unit.description }
        return "\(unit) - \(description)"
    }

    /// A unit's Description=. An Accept=yes instance's has its peer after it (`Echo server
    /// (127.0.0.1:40000)`), or is the peer alone, as systemd's service_set_socket_fd() sets it
    /// (src/core/service.c).
    func unitDescription(_ unit: UnitName) -> String? {
        guard let entry = services[unit] else { return sockets[unit]?.machine.unit.unit.description }
        let written = entry.machine.unit.unit.description
        guard let peer = entry.peer else { return written }
        guard let written, !written.isEmpty else { return peer }
        return "\(written) (\(peer))"
    }
}

/// Why a request could not even become a job (systemctl's `Failed to start …: …`).
package enum JobRefusal: Error, Hashable, CustomStringConvertible {
    case reloadNotApplicable(UnitName)
    /// RefuseManualStart=/RefuseManualStop=.
    case onlyByDependency(UnitName)
    /// An Accept=yes instance whose process had its connection (Manager+Instances.swift).
    case connectionHandedOver(UnitName, failed: Bool)
    case missingDependency(unit: UnitName, dependency: String)
    /// daemon-reexec waits for calm.
    case busy(String)
    /// Only stop jobs while swatchd stops every unit.
    case shuttingDown(unit: UnitName, kind: Job.Kind)
    /// daemon-reload and daemon-reexec while swatchd stops every unit.
    case exiting(String)

    package var description: String {
        switch self {
        case .reloadNotApplicable(let unit): return "Job type reload is not applicable for unit \(unit)."
        case .onlyByDependency(let unit):
            return "Operation refused, unit \(unit) may be requested by dependency only (it is configured to refuse manual start/stop)."
        case .connectionHandedOver(let unit, failed: true):
            return "Operation refused, unit \(unit) served an Accept=yes connection that is closed (\"swatchctl reset-failed \(unit)\" unloads it)."
        case .connectionHandedOver(let unit, failed: false):
            return "Operation refused, unit \(unit) serves an Accept=yes connection that its process holds; no other process can be handed it."
        case .missingDependency(_, let dependency): return "Unit \(dependency) not found."
        case .busy(let why): return "Cannot re-execute now: \(why); try again."
        case .shuttingDown(let unit, let kind):
            return "Transaction for \(unit)/\(kind.rawValue) is destructive (swatchd is stopping every unit to exit)."
        case .exiting(let operation): return "Cannot \(operation) now: swatchd is stopping every unit to exit."
        }
    }
}
