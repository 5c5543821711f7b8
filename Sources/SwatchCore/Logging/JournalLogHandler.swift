import CSwatch
import Glibc
import Logging
import SystemPackage

/// A swift-log backend that writes structured entries to the systemd journal with
/// `sd_journal_sendv` (sd_journal_sendv(3), swatchd(8) "LOGGING"; libsystemd is loaded at
/// the first message, Logging/Libsystemd.swift). Each message becomes:
///
///     MESSAGE=Failed to spawn hello.service: No such file or directory
///     PRIORITY=3                     critical 2 … debug 7
///     SYSLOG_IDENTIFIER=swatchd      sendv does not add it
///     CODE_FILE= CODE_LINE= CODE_FUNC=
///     UNIT=hello.service             with `unit` metadata, and OBJECT_SYSTEMD_UNIT= too:
///     OBJECT_SYSTEMD_UNIT=hello.service   journalctl -u matches it for root's messages
///     USER_UNIT=hello.service        not root: journalctl --user -u matches it
///     CONFIG_FILE= CONFIG_LINE=      from `config_file`/`config_line` metadata
///     OTHER_KEY=…                    every other metadata key, upper-cased to [A-Z0-9_]
///
/// as systemd's own log_struct() writes them (src/basic/log.c). Never throws or traps: when
/// the journal refuses a message the line goes to stderr instead. Messages with `unit`
/// metadata are also kept in the `UnitLogBuffer`, for `swatchctl status` and `logs`.
package struct JournalLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    /// SYSLOG_IDENTIFIER=, `swatchd`.
    package let identifier: String
    private let destination: JournalDestination
    private let unitLog: UnitLogBuffer?
    private let pid: Int32

    /// Logs to the system journal through libsystemd.
    package init(identifier: String = "swatchd", unitLog: UnitLogBuffer? = nil, metadataProvider: Logger.MetadataProvider? = nil) {
        self.identifier = identifier
        self.destination = .libsystemd
        self.unitLog = unitLog
        self.metadataProvider = metadataProvider
        self.pid = getpid()
    }

    /// Logs to the journal socket at `socketPath` with journald's native protocol, written
    /// here rather than by libsystemd (whose path is fixed): for tests, which bind their own
    /// datagram socket, and for a journal at an unusual place.
    package init(
        identifier: String = "swatchd", socketPath: String, unitLog: UnitLogBuffer? = nil,
        metadataProvider: Logger.MetadataProvider? = nil
    ) throws(Errno) {
        self.identifier = identifier
        self.destination = .socket(try JournalSocket(path: socketPath))
        self.unitLog = unitLog
        self.metadataProvider = metadataProvider
        self.pid = getpid()
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = Self.mergedMetadata(base: metadata, provider: metadataProvider, event: event.metadata)
        let fields = Self.fields(for: event, metadata: merged, identifier: identifier)
        Self.keep(event, metadata: merged, in: unitLog, identifier: identifier, pid: pid)
        let sent: Bool
        switch destination {
        case .libsystemd: sent = Self.sendv(fields)
        case .socket(let socket): sent = socket.send(JournalNativeProtocol.encode(fields), wait: true) == .sent
        }
        if !sent {
            StderrLogHandler.write(identifier: identifier, pid: pid, message: event.message.description, to: 2)
        }
    }

    /// Handler metadata, then the provider's, then the statement's; later keys win
    /// (swift-log's order, Handlers/StreamLogHandler.swift).
    /// A message about a unit (`unit` metadata) goes into that unit's lines too,
    /// for `swatchctl status` and `logs`; both handlers do this.
    static func keep(_ event: LogEvent, metadata: Logger.Metadata, in unitLog: UnitLogBuffer?, identifier: String, pid: Int32) {
        guard let unitLog, let unit = metadata["unit"].map({ "\($0)" }) else { return }
        unitLog.append(unit: unit, message: event.message.description, identifier: identifier, pid: pid,
                       priority: LogLevel.syslogPriority(event.level))
    }

    static func mergedMetadata(
        base: Logger.Metadata, provider: Logger.MetadataProvider?, event: Logger.Metadata?
    ) -> Logger.Metadata {
        // swatchd's handlers carry no metadata of their own: a line's is its event's, unmerged.
        if base.isEmpty, provider == nil { return event ?? [:] }
        var merged = base
        if let provided = provider?.get() { merged.merge(provided, uniquingKeysWith: { _, new in new }) }
        if let event { merged.merge(event, uniquingKeysWith: { _, new in new }) }
        return merged
    }

    /// The journal fields of one message, in the order they are sent. A swatchd that is not
    /// root names a unit in USER_UNIT= as well, as systemd's user manager does, which
    /// `journalctl --user -u` matches for the sender's uid (add_matches_for_user_unit(),
    /// src/shared/logs-show.c): journalctl -u takes UNIT= only from pid 1 and
    /// OBJECT_SYSTEMD_UNIT= only from root.
    static func fields(for event: LogEvent, metadata: Logger.Metadata, identifier: String,
                       asRoot: Bool = isRoot) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(LogLevel.syslogPriority(event.level))),
            ("SYSLOG_IDENTIFIER", identifier),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        // Sorted, so the order of fields does not depend on the dictionary's.
        for (key, value) in metadata.sortedByKey() {
            if key == "unit" {
                fields.append(("UNIT", "\(value)"))
                fields.append(("OBJECT_SYSTEMD_UNIT", "\(value)"))
                if !asRoot { fields.append(("USER_UNIT", "\(value)")) }
            } else if let name = fieldName(key) {
                fields.append((name, "\(value)"))
            }
        }
        if let error = event.error {
            if let errno = error as? Errno { fields.append(("ERRNO", String(errno.rawValue))) }
            fields.append(("ERROR", "\(error)"))
        }
        return fields
    }

    /// A metadata key as a journal field name: upper case, [A-Z0-9_] only, not starting with
    /// `_` (journald reserves those for trusted fields and drops them) or a digit, at most 64
    /// bytes (journald's rules, systemd.journal-fields(7)). nil when nothing is left.
    static func fieldName(_ key: String) -> String? {
        var bytes: [UInt8] = key.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte - 32
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return byte
            default: return UInt8(ascii: "_")
            }
        }
        while bytes.first == UInt8(ascii: "_") { bytes.removeFirst() }
        guard let first = bytes.first else { return nil }
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") { bytes.insert(UInt8(ascii: "X"), at: 0) }
        return String(decoding: bytes.prefix(64), as: UTF8.self)
    }

    private static let isRoot = geteuid() == 0

    /// One `FIELD=value` iovec per field (sd_journal_sendv(3)); values may hold newlines.
    private static func sendv(_ fields: [(String, String)]) -> Bool {
        var storage: [UInt8] = []
        var ranges: [Range<Int>] = []
        for (key, value) in fields {
            let start = storage.count
            storage += key.utf8
            storage.append(UInt8(ascii: "="))
            storage += value.utf8
            ranges.append(start..<storage.count)
        }
        return storage.withUnsafeMutableBytes { raw in
            var vectors = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return Libsystemd.journalSendv(&vectors, Int32(vectors.count)) >= 0
        }
    }
}

/// Where a JournalLogHandler sends.
enum JournalDestination: Sendable {
    case libsystemd
    case socket(JournalSocket)
}
