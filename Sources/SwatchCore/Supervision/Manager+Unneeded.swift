/// StopWhenUnneeded=: a unit with it is stopped once it is active, has no job, and nothing that
/// needs it — a unit that Requires=, Requisite=, Wants=, BindsTo= or Upholds= it — is up or has
/// a job (unit_is_unneeded() and manager_dispatch_stop_when_unneeded_queue(), src/core/unit.c
/// and src/core/manager.c). Candidates are collected during an event and looked at once its
/// jobs have run, as systemd's queue is dispatched after the run queue.
extension Manager {
    /// A unit's ActiveState= changed: it may be unneeded now that it is up, and when it goes
    /// down (or starts to), so may the units it needs.
    mutating func unitChanged(_ name: UnitName, goingDown: Bool) {
        guard anyStopWhenUnneeded else { return }
        submitIfUnneeded(name)
        guard goingDown else { return }
        for needed in graph.targets(of: name, .requires, .requisite, .wants, .bindsTo, .upholds) {
            submitIfUnneeded(needed)
        }
    }

    /// Looks at `name` once this event's jobs have run, if it has StopWhenUnneeded= and is up.
    mutating func submitIfUnneeded(_ name: UnitName) {
        guard anyStopWhenUnneeded, unitSection(name)?.stopWhenUnneeded == true, isActive(name) else { return }
        unneeded.insert(name)
    }

    /// Enqueues the stop of each candidate that is unneeded still; after 16 such stops of one
    /// unit within 10 s, it is left running (a stop that keeps failing would loop).
    mutating func stopUnneededUnits() {
        let candidates = unneeded.sorted()
        unneeded = []
        guard !shuttingDown else { return }
        for name in candidates where isActive(name) && jobs[name] == nil {
            let pinned = graph.sources(of: name, .requires, .requisite, .wants, .bindsTo, .upholds)
            guard !pinned.contains(where: { isUp($0) || jobs[$0] != nil }) else { continue }
            var limit = autoStops[name] ?? (now, 0)
            if now.since(limit.since) > .seconds(10) { limit = (now, 0) }
            guard limit.count < 16 else {
                log(name, .warning, "\(name): Unit not needed anymore, but not stopping since we tried this too often recently.")
                continue
            }
            limit.count += 1
            autoStops[name] = limit
            log(name, .info, "\(name): Unit not needed anymore. Stopping.")
            enqueue(.stop, name, anchor: false)
        }
    }

    /// Active or reloading (UNIT_IS_ACTIVE_OR_RELOADING()).
    private func isActive(_ name: UnitName) -> Bool {
        if let entry = services[name] { return entry.machine.isActive }
        return sockets[name]?.machine.activeState == .active
    }
}
