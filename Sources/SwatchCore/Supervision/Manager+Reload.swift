/// daemon-reload (and SIGHUP): the diff between the units that run and the
/// unit files read anew. A listener whose settings did not change stays bound
/// — the same open file, so no connection is lost; changed listeners are
/// rebound; units that disappeared are stopped and their sockets closed;
/// running services keep running (a changed definition applies from their
/// next start, as in systemd); new units come up. A unit that is broken in
/// the new set keeps its previous definition.
extension Manager {
    mutating func reload(_ loaded: UnitSet, call: ControlServer.ConnectionID?, now: Instant) {
        // SIGHUP during shutdown (a request is refused before the files are read, Manager+Control.swift).
        guard !shuttingDown else {
            log(nil, .info, "Not reloading: stopping every unit to exit.")
            if let call { emit(.reply(call, .response(.failure("\(JobRefusal.exiting("reload"))")))) }
            return
        }
        var new = loaded
        Self.keepInstances(sockets.keys.filter { $0.instance != nil } + units.namedInstances, in: &new)
        for refused in new.refused.keys {
            guard let name = UnitName(parsing: refused) else { continue }
            if let old = units.sockets[name] {
                log(name, .warning, "\(refused): Keeping its previous definition.")
                new.sockets[name] = old
            }
            if let old = units.services[name] {
                log(name, .warning, "\(refused): Keeping its previous definition.")
                new.services[name] = old
                // Still an instance that starts only when pulled in, if it was one.
                if units.namedInstances.contains(name) { new.namedInstances.insert(name) }
            }
        }

        for name in sockets.keys.sorted() where new.sockets[name] == nil {
            log(name, .info, "\(name): Removed from the unit dirs, closing its listeners.")
            guard let entry = sockets.removeValue(forKey: name) else { continue }
            deadlines.schedule(.socket(name), at: nil)
            if entry.watched { emit(.unwatch(name)) }
            if entry.listeners == .bound {
                emit(.closeListeners(name, removeOnStop: entry.machine.unit.options.removeOnStop))
            }
            finishJob(name, .canceled)
            // What BindsTo=, Requires= or PartOf= it goes down with it.
            for dependent in graph.sources(of: name, .requires, .bindsTo, .partOf).sorted() where isUp(dependent) {
                log(dependent, .info, "\(dependent): Stopping, as \(name), which it depends on, was removed.")
                enqueue(.stop, dependent, anchor: false)
            }
        }
        units = new
        for (name, unit) in new.sockets.sortedByKey() {
            guard let entry = sockets[name] else {
                addSocket(name, unit)
                continue
            }
            guard entry.machine.unit != unit else { continue }
            if entry.listeners == .failed {
                // Changed since it failed: try the new definition.
                sockets[name] = SocketEntry(machine: SocketMachine(unit: unit, phase: .dead), service: new.serviceName(for: unit))
                startSocket(name)
                continue
            }
            guard entry.machine.state != nil else {
                // Stopped, or in the middle of its commands: the new definition is for its next start.
                sockets[name]?.machine.replaceUnit(unit)
                sockets[name]?.service = new.serviceName(for: unit)
                continue
            }
            if entry.watched {
                sockets[name]?.watched = false
                emit(.unwatch(name))
            }
            emit(.rebind(name, unit))
        }
        reindexTriggers()

        for (name, entry) in services.sortedByKey()
        where entry.instanceOf == nil && new.services[name] == nil {
            log(name, .info, "\(name): Removed from the unit dirs, stopping it.")
            services[name]?.removed = true
            if entry.machine.isInactive {
                forget(name)
                finishJob(name, .canceled)
            } else {
                enqueue(.stop, name, anchor: false)
            }
        }
        for (name, unit) in new.services.sortedByKey() where !name.isTemplate {
            if let entry = services[name] {
                if entry.machine.unit != unit { services[name]?.machine.replaceUnit(unit) }
                continue
            }
            services[name] = ServiceEntry(unit: unit)
        }
        // Sockets= may have changed with the services.
        reindexTriggers()
        rebuildGraph()
        for name in new.services.keys.sorted() where !name.isTemplate && services[name]?.machine.isInactive == true
            && services[name]?.machine.stateChanged == nil && !isSocketActivated(name) && !new.namedInstances.contains(name) {
            enqueue(.start, name, anchor: false)
        }
        // A socket whose service changed may now trigger another one: bring watching in line.
        for name in sockets.keys.sorted() { updateWatching(name) }
        log(nil, .info, "Reloaded: \(sockets.count) socket units, \(services.count) services.")
        if let call {
            let errors = loaded.diagnostics.filter { $0.severity == .error }.map { "\($0)" }
            emit(.reply(call, .response(ControlResponse(warnings: errors))))
        }
    }

    /// The shell rebound a changed socket unit. A running service holds the
    /// old set of sockets and cannot be handed the new one: it is restarted, so
    /// that it serves what the unit now says.
    mutating func socketRebound(_ name: UnitName, unit: SocketUnit, listenersChanged: Bool, now: Instant) {
        guard sockets[name] != nil else { return }
        sockets[name]?.machine.replaceUnit(unit)
        // The shell's listeners are unpaused as they are rebound (SocketListeners.rebind).
        sockets[name]?.machine.forgetPolls()
        deadlines.schedule(.socket(name), at: sockets[name]?.machine.deadline)
        sockets[name]?.service = units.serviceName(for: unit)
        reindexTriggers()
        rebuildGraph()
        updateWatching(name)
        guard listenersChanged, !unit.accept else { return }
        // Its own service, and those that take its fds by Sockets=.
        for service in services(triggeredBy: name) where services[service]?.machine.isInactive == false {
            log(name, .info, "\(name): Its listeners changed; restarting \(service) to hand them over.")
            enqueue(.restart, service, anchor: false)
        }
    }
}
