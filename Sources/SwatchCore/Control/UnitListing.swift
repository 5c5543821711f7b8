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
