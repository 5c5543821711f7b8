/// One line in a unit's log: a line of the service's output, or one of swatchd's
/// own messages about the unit. What `swatchctl status` shows at its end and
/// `swatchctl logs` prints — the `journalctl -u` of a box with no journal (swatchctl(1)).
package struct UnitLogEntry: Equatable, Sendable {
    /// Increases by one with every entry of the buffer, across units: followers of
    /// `logs -f` remember the last one they were sent.
    package var sequence: UInt64 = 0
    /// The unit the line belongs to, `hello.service`.
    package var unit: String
    /// CLOCK_REALTIME, microseconds since the epoch.
    package var realtime: UInt64
    /// The process that wrote it: the service's main pid, or swatchd's own.
    package var pid: Int32
    /// Who speaks: the unit name for service output, `swatchd` for swatchd's messages.
    package var identifier: String
    /// syslog priority, 0 (emerg) … 7 (debug); 6 (info) unless the line said `<N>`.
    package var priority: Int32 = 6
    package var message: String

    /// `Nov 26 16:20:01 hello.service[4242]: line`, as journalctl's short output without the host.
    package var journalLine: String {
        "\(StatusFormat.journalTimestamp(realtime)) \(identifier)[\(pid)]: \(message)"
    }

    /// The record of a `logs` answer (see ControlProtocol.swift): `LINE=` is the message.
    package func toRecord() -> ControlRecord {
        [
            "UNIT": unit, "TIME": String(realtime), "PID": String(pid), "IDENTIFIER": identifier,
            "PRIORITY": String(priority), "LINE": message,
        ]
    }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(
        sequence: UInt64 = 0, unit: String, realtime: UInt64, pid: Int32, identifier: String, priority: Int32 = 6,
        message: String
    ) {
        self.sequence = sequence
        self.unit = unit
        self.realtime = realtime
        self.pid = pid
        self.identifier = identifier
        self.priority = priority
        self.message = message
    }
}

extension UnitLogEntry {
    /// Reads a `logs` record back; a record with only `LINE=` is accepted (the rest defaults).
    package init(record: ControlRecord) throws(UnitStatusReport.RecordError) {
        guard let message = record["LINE"] else { throw .init(key: "LINE") }
        func number<T: FixedWidthInteger>(_ key: String, _ fallback: T) throws(UnitStatusReport.RecordError) -> T {
            guard let text = record[key] else { return fallback }
            guard let value = T(text) else { throw .init(key: key, value: text) }
            return value
        }
        self.init(
            unit: record["UNIT"] ?? "", realtime: try number("TIME", UInt64(0)), pid: try number("PID", Int32(0)),
            identifier: record["IDENTIFIER"] ?? record["UNIT"] ?? "", priority: try number("PRIORITY", Int32(6)),
            message: message)
    }
}
