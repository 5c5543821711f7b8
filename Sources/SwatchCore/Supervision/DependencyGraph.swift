/// The dependencies between the loaded units (systemd.unit(5), [Unit]), each
/// resolved to a unit that is loaded, with the reverse edges that systemd
/// keeps implicitly (RequiredBy=, BoundBy=, ConsistsOf=, ConflictedBy=,
/// UpheldBy=). Names of unit types swatchd has no notion of (targets, mounts,
/// …) count as always reached and are left out; a service or socket that is
/// named but not loaded is `missing`.
struct DependencyGraph {
    enum Kind: CaseIterable {
        case requires, requisite, wants, bindsTo, partOf, upholds, conflicts, onFailure, onSuccess
        case propagatesReloadTo, reloadPropagatedFrom, propagatesStopTo, stopPropagatedFrom
    }

    private(set) var forward: [Kind: [UnitName: [UnitName]]] = [:]
    private(set) var reverse: [Kind: [UnitName: [UnitName]]] = [:]
    /// Units this unit is ordered after (its After=, and the Before= of others naming it).
    /// Arrays, each name once: a Set of one name is a 144-byte block, an array of one 80
    /// (docs/HACKING.md "Where the bytes are"). A socket's ordering before its own service
    /// is not here: the Manager's `triggers` holds that edge (Manager+Jobs.swift, `orderedBefore`).
    private(set) var after: [UnitName: [UnitName]] = [:]
    /// Units ordered after this unit.
    private(set) var before: [UnitName: [UnitName]] = [:]
    /// Required dependencies (Requires=, Requisite=, BindsTo=) naming a service or socket that is not loaded.
    private(set) var missing: [UnitName: [String]] = [:]

    init() {}

    /// The graph of `units`; `loaded` answers whether a name is a unit the Manager has,
    /// `resolve` maps an alias to its unit.
    init(units: [(UnitName, UnitSection)], resolve: (String) -> UnitName?, isLoaded: (UnitName) -> Bool) {
        for (name, section) in units { addEdges(of: name, section, resolve: resolve, isLoaded: isLoaded) }
        // Each name once, as the sets were (one sort per unit ordered with more than one).
        for key in after.keys where after[key]!.count > 1 { after[key] = Self.unique(after[key]!) }
        for key in before.keys where before[key]!.count > 1 { before[key] = Self.unique(before[key]!) }
    }

    /// One more unit and the edges its own section gives: an Accept=yes connection's instance,
    /// which no other unit names. Taken out again with `remove(_:)`.
    mutating func add(_ name: UnitName, _ section: UnitSection, resolve: (String) -> UnitName?, isLoaded: (UnitName) -> Bool) {
        addEdges(of: name, section, resolve: resolve, isLoaded: isLoaded)
        for other in [name] + (after[name] ?? []) + (before[name] ?? []) {
            if let list = after[other], list.count > 1 { after[other] = Self.unique(list) }
            if let list = before[other], list.count > 1 { before[other] = Self.unique(list) }
        }
    }

    /// Takes out a unit added with `add(_:_:resolve:isLoaded:)` and the edges it made.
    mutating func remove(_ name: UnitName) {
        for kind in Kind.allCases {
            for target in forward[kind]?.removeValue(forKey: name) ?? [] {
                reverse[kind]?[target]?.removeAll { $0 == name }
                if reverse[kind]?[target]?.isEmpty == true { reverse[kind]?[target] = nil }
            }
        }
        missing[name] = nil
        for first in after.removeValue(forKey: name) ?? [] {
            before[first]?.removeAll { $0 == name }
            if before[first]?.isEmpty == true { before[first] = nil }
        }
        for second in before.removeValue(forKey: name) ?? [] {
            after[second]?.removeAll { $0 == name }
            if after[second]?.isEmpty == true { after[second] = nil }
        }
    }

    private mutating func addEdges(of name: UnitName, _ section: UnitSection, resolve: (String) -> UnitName?,
                                   isLoaded: (UnitName) -> Bool) {
        for kind in Kind.allCases {
            for written in section.dependencies(kind) {
                guard let target = resolve(written) else { continue }
                guard isLoaded(target) else {
                    if kind == .requires || kind == .requisite || kind == .bindsTo,
                       target.type == .service || target.type == .socket {
                        missing[name, default: []].append(written)
                    }
                    continue
                }
                forward[kind, default: [:]][name, default: []].append(target)
                reverse[kind, default: [:]][target, default: []].append(name)
            }
        }
        for written in section.after {
            if let other = resolve(written), isLoaded(other) { order(other, before: name) }
        }
        for written in section.before {
            if let other = resolve(written), isLoaded(other) { order(name, before: other) }
        }
    }

    private static func unique(_ names: [UnitName]) -> [UnitName] {
        var result: [UnitName] = []
        result.reserveCapacity(names.count)
        for name in names.sorted() where result.last != name { result.append(name) }
        return result
    }

    private mutating func order(_ first: UnitName, before second: UnitName) {
        guard first != second else { return }
        after[second, default: []].append(first)
        before[first, default: []].append(second)
    }

    /// Units whose jobs go first when `unit` starts (and last when it stops).
    func orderedBefore(_ unit: UnitName) -> [UnitName] { after[unit] ?? [] }
    /// Units whose jobs go last when `unit` starts (and first when it stops).
    func orderedAfter(_ unit: UnitName) -> [UnitName] { before[unit] ?? [] }

    /// The units `unit` names with dependencies of `kinds`, in the order written.
    func targets(of unit: UnitName, _ kinds: Kind...) -> [UnitName] {
        kinds.flatMap { forward[$0]?[unit] ?? [] }
    }

    /// The units that name `unit` with dependencies of `kinds`.
    func sources(of unit: UnitName, _ kinds: Kind...) -> [UnitName] {
        kinds.flatMap { reverse[$0]?[unit] ?? [] }
    }

    /// The units a reload of `unit` reloads too: its PropagatesReloadTo=, and those that
    /// name it in ReloadPropagatedFrom= (systemd.unit(5)).
    func reloadPropagation(of unit: UnitName) -> [UnitName] {
        targets(of: unit, .propagatesReloadTo) + sources(of: unit, .reloadPropagatedFrom)
    }

    /// The units a stop of `unit` stops too: its PropagatesStopTo=, and those that name it
    /// in StopPropagatedFrom= (systemd.unit(5)).
    func stopPropagation(of unit: UnitName) -> [UnitName] {
        targets(of: unit, .propagatesStopTo) + sources(of: unit, .stopPropagatedFrom)
    }
}

extension UnitSection {
    func dependencies(_ kind: DependencyGraph.Kind) -> [String] {
        switch kind {
        case .requires: return self.requires
        case .requisite: return self.requisite
        case .wants: return self.wants
        case .bindsTo: return self.bindsTo
        case .partOf: return self.partOf
        case .upholds: return self.upholds
        case .conflicts: return self.conflicts
        case .onFailure: return self.onFailure
        case .onSuccess: return self.onSuccess
        case .propagatesReloadTo: return self.propagatesReloadTo
        case .reloadPropagatedFrom: return self.reloadPropagatedFrom
        case .propagatesStopTo: return self.propagatesStopTo
        case .stopPropagatedFrom: return self.stopPropagatedFrom
        }
    }
}
