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
        let named = isNamed(name)
        assert(named == (sockets.values.contains { $0.service == name || names($0.machine.unit.unit, name) }
                         || services.contains { $0.key != name && names($0.value.machine.unit.unit, name) }),
               "the graph and the loaded units disagree about who names \(name)")
        return !named
    }

    /// Whether a loaded socket activates it or a loaded unit's dependencies name it (a
    /// `.wants/` entry is one of them; so is the template of an Accept=yes connection's
    /// instance): from the indexes the Manager keeps, not a look at every unit, for the
    /// instance an Accept=yes template names per connection (`Wants=log@%i.service`) is
    /// collected as each connection ends.
    private func isNamed(_ name: UnitName) -> Bool {
        if !triggers(of: name).isEmpty { return true }
        return DependencyGraph.Kind.allCases.contains { kind in graph.sources(of: name, kind).contains { $0 != name } }
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
