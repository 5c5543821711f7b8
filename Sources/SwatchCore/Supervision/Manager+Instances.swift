/// The end of an Accept=yes instance (systemd.socket(5)). Its connection is
/// closed and stops counting against MaxConnections= and
/// MaxConnectionsPerSource= as soon as it is down. An instance that ended well
/// is unloaded at once. A failed one stays loaded as failed, as under systemd
/// (unit_may_gc(), src/core/unit.c, collects no failed unit with the default
/// CollectMode=): `swatchctl list-units --state=failed` names it and `status`
/// shows how it ended, until `reset-failed` unloads it. With
/// `CollectMode=inactive-or-failed` it is unloaded at once too.
///
/// systemd keeps every one of them (it has no bound in unit_may_gc()), so a
/// client that makes its instances fail grows the manager without end. swatchd
/// keeps the last MaxConnections= failed instances of each socket, the number it
/// lets run at once, and unloads the oldest past that (swatchd.socket(5)).
extension Manager {
    /// `name`, made by `socket`, went down (not for a restart job's stop).
    mutating func instanceWentDown(_ name: UnitName, of socket: UnitName, failed: Bool) {
        guard let entry = services[name] else { return }
        if !entry.keptFailed {
            sockets[socket]?.instances -= 1
            if let source = entry.source, let count = sockets[socket]?.sources[source] {
                sockets[socket]?.sources[source] = count > 1 ? count - 1 : nil
            }
            if let connection = entry.connection { emit(.closeConnection(connection.id)) }
        }
        if failed, entry.machine.unit.unit.collectMode == .inactive {
            if !entry.keptFailed { keepFailed(name, of: socket) }
        } else {
            unloadInstance(name, of: socket)
        }
    }

    /// A failed instance stays; the oldest of its socket's go past MaxConnections= of them.
    private mutating func keepFailed(_ name: UnitName, of socket: UnitName) {
        services[name]?.keptFailed = true
        services[name]?.connection = nil
        guard let limit = sockets[socket]?.machine.unit.maxConnections else { return }
        sockets[socket]?.failedInstances.append(name)
        while let kept = sockets[socket]?.failedInstances, kept.count > limit {
            log(kept[0], .debug, "\(kept[0]): Unloading, \(socket) keeps its last \(limit) failed instances.")
            unloadInstance(kept[0], of: socket)
        }
    }

    /// The instance is no longer loaded; the instances it named may be needed by nothing now.
    private mutating func unloadInstance(_ name: UnitName, of socket: UnitName) {
        guard let entry = services[name] else { return }
        if entry.keptFailed { sockets[socket]?.failedInstances.removeAll { $0 == name } }
        let section = entry.machine.unit.unit
        // The edges its template's dependencies gave it (startInstance) go with it.
        if section.namesUnits { graph.remove(name) }
        forget(name)
        section.forEachDependencyName { written in
            if let named = loadedUnitName(written), units.namedInstances.contains(named) { collectIfUnneeded(named) }
        }
    }

    /// Whether `name` is an Accept=yes instance whose connection went to its first process:
    /// swatchd keeps no copy, so no later process could be handed it, and a start or restart
    /// of it is refused (Manager+Control.swift, the request; Manager+Jobs.swift, any job).
    func connectionHandedOver(_ name: UnitName) -> Bool {
        guard let entry = services[name] else { return false }
        return entry.instanceOf != nil && entry.connection == nil
    }

    /// After a re-exec: a failed instance the swatchd before kept, kept again.
    mutating func restoreFailedInstance(_ name: UnitName, of socket: UnitName) {
        services[name]?.keptFailed = true
        sockets[socket]?.failedInstances.append(name)
    }
}
