// The rows of `list-units` and `list-sockets`, as records of the control
// protocol (see ControlProtocol.swift). Keys are systemd's property names.

/// One row of `list-units`: UNIT LOAD ACTIVE SUB DESCRIPTION, as systemctl prints them.
package struct UnitListEntry: Equatable, Sendable {
    package var id: String
    package var loadState: UnitLoadState
    package var activeState: UnitActiveState
    package var subState: String
    package var description: String

    package func toRecord() -> ControlRecord {
        [
            "Id": id, "LoadState": loadState.rawValue, "ActiveState": activeState.rawValue,
            "SubState": subState, "Description": description,
        ]
    }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(
        id: String, loadState: UnitLoadState, activeState: UnitActiveState, subState: String, description: String
    ) {
        self.id = id
        self.loadState = loadState
        self.activeState = activeState
        self.subState = subState
        self.description = description
    }
}

extension UnitListEntry {
    package init(record: ControlRecord) throws(UnitStatusReport.RecordError) {
        guard let id = record["Id"] else { throw .init(key: "Id") }
        guard let load = record["LoadState"].flatMap(UnitLoadState.init(rawValue:)) else {
            throw .init(key: "LoadState", value: record["LoadState"])
        }
        guard let active = record["ActiveState"].flatMap(UnitActiveState.init(rawValue:)) else {
            throw .init(key: "ActiveState", value: record["ActiveState"])
        }
        self.init(
            id: id, loadState: load, activeState: active, subState: record["SubState"] ?? "",
            description: record["Description"] ?? id)
    }
}

/// One socket unit of `list-sockets`: its listeners, and the units it activates.
/// systemctl prints one row per listener: LISTEN UNIT ACTIVATES.
package struct SocketListing: Equatable, Sendable {
    package var listen: [ListenEntry]
    /// The socket unit, `hello.socket`.
    package var unit: String
    /// The services it activates (`hello.service`, or `echo@.service` with Accept=yes).
    package var activates: [String]

    package func toRecord() -> ControlRecord {
        var record: ControlRecord = ["Id": unit]
        record.append("Listen", each: listen.map(\.description))
        record.append("Triggers", each: activates)
        return record
    }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(listen: [ListenEntry], unit: String, activates: [String]) {
        self.listen = listen
        self.unit = unit
        self.activates = activates
    }
}

extension SocketListing {
    package init(record: ControlRecord) throws(UnitStatusReport.RecordError) {
        guard let unit = record["Id"] else { throw .init(key: "Id") }
        var entries: [ListenEntry] = []
        for text in record.values("Listen") {
            guard let entry = ListenEntry(description: text) else { throw .init(key: "Listen", value: text) }
            entries.append(entry)
        }
        self.init(listen: entries, unit: unit, activates: record.values("Triggers"))
    }
}

/// `list-units --failed --type=TYPE --state=STATE` (systemctl(1)), applied by swatchctl to
/// the rows the daemon sends: a row stays when its type is one of `types` and one of its
/// load, active or sub states is one of `states` (each list: empty means any).
package struct UnitListFilter: Equatable, Sendable {
    package var types: Set<String> = []
    package var states: Set<String> = []

    /// The unit types swatchd has, for `--type=`.
    package static let knownTypes: Set<String> = ["service", "socket"]

    /// `--failed` is `--state=failed`; TYPE and STATE lists may be comma-separated, as systemctl's.
    package init(types: [String] = [], states: [String] = [], failed: Bool = false) {
        self.types = Set(types.flatMap { $0.split(separator: ",").map(String.init) })
        self.states = Set(states.flatMap { $0.split(separator: ",").map(String.init) } + (failed ? ["failed"] : []))
    }

    /// The `--type=` values that are not a unit type of swatchd.
    package var unknownTypes: [String] { types.subtracting(Self.knownTypes).sorted() }

    package func includes(_ entry: UnitListEntry) -> Bool {
        let type = entry.id.split(separator: ".").last.map(String.init) ?? ""
        if !types.isEmpty, !types.contains(type) { return false }
        if !states.isEmpty,
            states.isDisjoint(with: [entry.loadState.rawValue, entry.activeState.rawValue, entry.subState])
        {
            return false
        }
        return true
    }
}
