import Glibc
import Logging
import SystemPackage

extension Supervisor {
    /// daemon-reload (and SIGHUP): re-read the unit dirs. A listener whose
    /// settings did not change stays bound — the same open file, so no
    /// connection is lost; changed listeners are rebound; units that
    /// disappeared are stopped and their sockets closed; running services keep
    /// running (a changed definition applies from their next start, as in
    /// systemd); new units come up. A unit that is broken in the new set keeps
    /// its previous definition, and its problem is logged with FILE:LINE.
    @discardableResult
    public func reload() -> [String] {
        logger.info("Reloading unit files.")
        var new = UnitSet.load(directories: configuration.unitDirectories, files: configuration.unitFiles,
                               context: configuration.specifiers)
        report(new.diagnostics)
        for refused in new.refused.keys {
            if let old = units.sockets.first(where: { $0.key.description == refused }) {
                logger.warning("\(refused): Keeping its previous definition.", metadata: ["unit": "\(refused)"])
                new.sockets[old.key] = old.value
            }
            if let old = units.services.first(where: { $0.key.description == refused }) {
                logger.warning("\(refused): Keeping its previous definition.", metadata: ["unit": "\(refused)"])
                new.services[old.key] = old.value
            }
        }
        let now = self.now

        for name in sockets.keys.sorted() where new.sockets[name] == nil {
            logger.info("\(name): Removed from the unit dirs, closing its listeners.", metadata: ["unit": "\(name)"])
            unwatchListeners(name)
            if let record = sockets.removeValue(forKey: name) {
                for listener in record.listeners { listener.close(removeOnStop: record.machine.unit.options.removeOnStop) }
            }
            stopServicesBound(to: name, now: now)
        }
        units = new
        for (name, unit) in new.sockets.sorted(by: { $0.key < $1.key }) {
            guard let old = sockets[name] else {
                addSocket(name, unit)
                continue
            }
            guard old.machine.unit != unit else { continue }
            rebind(name, old: old, new: unit)
        }

        for (name, record) in services where record.instanceOf == nil && new.services[name] == nil {
            logger.info("\(name): Removed from the unit dirs, stopping it.", metadata: ["unit": "\(name)"])
            services[name]?.removed = true
            if record.machine.isInactive { services[name] = nil } else { stopService(name, now: now) }
        }
        for (name, unit) in new.services.sorted(by: { $0.key < $1.key }) where !name.isTemplate {
            if var record = services[name] {
                if record.machine.unit != unit {
                    record.machine.replaceUnit(unit)
                    services[name] = record
                }
                continue
            }
            services[name] = ServiceRecord(machine: ServiceMachine(unit: unit))
            if !isSocketActivated(name) { startService(name, now: now) }
        }
        // A socket whose service changed may now trigger another one: bring watching in line.
        for name in sockets.keys { updateWatching(name) }
        logger.info("Reloaded: \(sockets.count) socket units, \(services.count) services.")
        return new.diagnostics.filter { $0.severity == .error }.map { "\($0)" }
    }

    /// A socket unit changed: keep each listener whose address and options are
    /// the same, bind the rest anew, close what is no longer wanted.
    private func rebind(_ name: UnitName, old: SocketRecord, new unit: SocketUnit) {
        unwatchListeners(name)
        var pool = old.listeners
        var listeners: [Listener] = []
        for directive in unit.listens {
            if let i = pool.firstIndex(where: {
                $0.directive.kind == directive.kind && $0.directive.address == directive.address
                    && $0.options == unit.options
            }) {
                listeners.append(pool.remove(at: i))
                continue
            }
            do {
                listeners.append(try Listener.bind(directive, options: unit.options))
                logger.info("\(name): Bound \(directive.address) anew.", metadata: ["unit": "\(name)"])
            } catch {
                logger.error("\(name): \(error); keeping its previous listeners.", metadata: ["unit": "\(name)"])
                for listener in listeners where !old.listeners.contains(where: { $0 === listener }) {
                    listener.close(removeOnStop: false)
                }
                updateWatching(name)
                return
            }
        }
        for listener in pool { listener.close(removeOnStop: old.machine.unit.options.removeOnStop) }
        var record = old
        record.listeners = listeners
        record.watches = []
        record.machine.replaceUnit(unit)
        record.service = units.serviceName(for: unit)
        sockets[name] = record
        updateWatching(name)
        // A running service holds the old set of sockets and cannot be handed the
        // new one: restart it, so it serves what the unit now says (the old
        // listeners close with its copies).
        let listenersChanged = !pool.isEmpty || listeners.count != old.listeners.count
            || zip(listeners, old.listeners).contains { $0 !== $1 }
        if listenersChanged, !unit.accept, var service = services[record.service], !service.machine.isInactive {
            logger.info("\(name): Its listeners changed; restarting \(record.service) to hand them over.",
                        metadata: ["unit": "\(name)"])
            let now = self.now
            let actions = service.machine.restart(now: now)
            services[record.service] = service
            apply(actions, to: record.service, now: now)
        }
    }
}
