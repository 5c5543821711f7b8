// What a load learns of its keys: for each key of a section, what sets it and whether it
// restricts, found in the catalog's tables the first time a unit of the load writes it.

/// What the catalog says of one `Key=` of a section.
struct KeyLookup<Model> {
    /// What sets it, nil when this unit type does not parse it there.
    let setter: KeySetter<Model>?
    /// Set when it is a restricting key of the section that carries them (RestrictingKeys).
    let restricting: RestrictingKey?

    /// Asked of the catalog: its tables in turn (a type's own, then the shared ones, each a
    /// dictionary hashing the key anew), then the restricting keys.
    init?(_ catalog: UnitKeyCatalog<Model>, _ section: String, _ key: String) {
        guard let tables = catalog.supported[section] else { return nil }
        setter = UnitKeyCatalog.setter(in: tables, key)
        restricting = section == catalog.restrictingSection ? RestrictingKeys.byName[key] : nil
    }
}

/// The lookups of one load, one table per section: a unit line costs one hash of its key
/// where the catalog's tables cost two to four, and the setter of a key of a part of the
/// model (`[Unit]`) is lifted into the whole once (callgrind, docs/HACKING.md "Start-up
/// with 1000 units"). Made for a load and dropped with it: what it holds is the catalog's,
/// which does not change.
final class KeyLookups<Model> {
    private let catalog: UnitKeyCatalog<Model>
    /// A unit type has two or three sections: found by comparing names, not hashing them.
    private var sections: [(name: String, keys: [String: KeyLookup<Model>?])] = []

    init(_ catalog: UnitKeyCatalog<Model>) { self.catalog = catalog }

    /// nil when this unit type has no such section.
    func lookUp(_ section: String, _ key: String) -> KeyLookup<Model>? {
        let index: Int
        if let known = sections.firstIndex(where: { $0.name == section }) {
            index = known
            if let found = sections[index].keys[key] { return found }
        } else {
            index = sections.count
            sections.append((section, [:]))
        }
        let found = KeyLookup(catalog, section, key)
        sections[index].keys[key] = .some(found)
        return found
    }
}
