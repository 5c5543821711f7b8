/// The unloading of an instance nothing needs any more (systemd's garbage collection,
/// unit_may_gc() and unit_gc_sweep(), src/core/unit.c and manager.c, with the default
/// CollectMode=): one that only a request loaded (`swatchctl start x@a.service`, or a unit it
/// named in turn) goes once it is inactive, with no job, and no loaded unit or socket names it.
/// Without this, each `start` of a new instance would leave a unit behind for the daemon's
/// life. Its recent lines stay in the UnitLogBuffer for `swatchctl logs` (which takes the name
/// of any instance of a loaded template) until the lines of newer units push them out. A
/// failed instance stays until `reset-failed`, as under systemd, unless its unit says
/// `CollectMode=inactive-or-failed`.
extension Manager {
    /// Unloads `name` if it may go, then the instances it named that may go in turn.
    mutating func collectIfUnneeded(_ name: UnitName) {
        var pending = [name]
        while let candidate = pending.popLast() {
            guard mayCollect(candidate), let unit = units.services[candidate] else { continue }
            log(candidate, .debug, "\(candidate): Collecting.")
            if unit.unit.namesUnits { graph.remove(candidate) }
            forget(candidate)
            units.services[candidate] = nil
            units.namedInstances.remove(candidate)
            unit.unit.forEachDependencyName { written in
                if let named = loadedUnitName(written), units.namedInstances.contains(named) { pending.append(named) }
            }
        }
    }

    private func mayCollect(_ name: UnitName) -> Bool {
        guard units.namedInstances.contains(name), jobs[name] == nil,
              let machine = services[name]?.machine,
              machine.state == .dead || machine.state == .failed && machine.unit.unit.collectMode == .inactiveOrFailed
        else { return false }
        if sockets.values.contains(where: { $0.service == name }) { return false }
        // Named by a loaded unit's dependencies (a `.wants/` entry is one of them).
        for (other, unit) in units.services where other != name && services[other] != nil {
            if names(unit.unit, name) { return false }
        }
        for (_, socket) in units.sockets where names(socket.unit, name) { return false }
        // An Accept=yes connection's instance is in no unit set.
        for (_, entry) in services where entry.instanceOf != nil && names(entry.machine.unit.unit, name) { return false }
        return true
    }

    private func names(_ section: UnitSection, _ name: UnitName) -> Bool {
        guard section.namesUnits else { return false }
        var found = false
        section.forEachDependencyName { written in
            if !found, loadedUnitName(written) == name { found = true }
        }
        return found
    }
}
