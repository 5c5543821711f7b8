import Glibc
import Logging

/// Where swatchd's own messages go: `--log-target auto|journal|stderr` (swatchd(8)).
package enum LogTarget: String, Sendable, CaseIterable {
    /// The journal when `/run/systemd/journal/socket` is there and is a socket, else stderr.
    case auto
    case journal
    case stderr

    /// journald's native socket (systemd-journald.service(8)).
    package static let journalSocketPath = "/run/systemd/journal/socket"

    /// Whether a journal is there to take messages. The socket file must exist *and be a
    /// socket*: sd_journal_sendv() cannot tell — with no socket it returns 0 and drops the
    /// message (the ENOENT is swallowed, docs/HACKING.md "libsystemd and the journal").
    package static func journalIsAvailable(socketPath: String = journalSocketPath) -> Bool {
        var info = stat()
        return stat(socketPath, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
    }

    /// `journal` or `stderr`: `auto` decided by whether the journal is there (and libsystemd
    /// to write to it).
    package func resolved(journalAvailable: Bool = LogTarget.journalIsAvailable()) -> LogTarget {
        switch self {
        case .auto: return journalAvailable && Libsystemd.functions != nil ? .journal : .stderr
        case .journal, .stderr: return self
        }
    }

    /// `resolved()`, but `stderr` for `journal` when libsystemd cannot be loaded, with the
    /// sentence that says so (for the caller to log once).
    package func usable() -> (target: LogTarget, problem: String?) {
        let target = resolved()
        guard target == .journal, case .failure(let error) = Libsystemd.loaded else { return (target, nil) }
        return (.stderr, "Cannot write to the journal (\(error.message)): logging to stderr.")
    }

    /// The handler for this target (after `usable`), e.g. for `LoggingSystem.bootstrap`.
    /// Messages with `unit` metadata also go into `unitLog` (swatchctl status/logs).
    package func makeHandler(
        level: Logger.Level, identifier: String = "swatchd", unitLog: UnitLogBuffer? = nil
    ) -> any LogHandler {
        switch usable().target {
        case .journal:
            var handler = JournalLogHandler(identifier: identifier, unitLog: unitLog)
            handler.logLevel = level
            return handler
        case .auto, .stderr:
            var handler = StderrLogHandler(identifier: identifier, unitLog: unitLog)
            handler.logLevel = level
            return handler
        }
    }
}

/// `--log-level` names: swift-log's (`trace debug info notice warning error critical`) and
/// systemd's syslog ones (`emerg alert crit err warning notice info debug`, or 0–7), as
/// systemd's `--log-level=` and `SYSTEMD_LOG_LEVEL` take them.
package enum LogLevel {
    /// The level named `text` (case-insensitive), or nil.
    package static func parse(_ text: String) -> Logger.Level? {
        switch text.lowercased() {
        case "trace": return .trace
        case "debug", "7": return .debug
        case "info", "6": return .info
        case "notice", "5": return .notice
        case "warning", "warn", "4": return .warning
        case "error", "err", "3": return .error
        case "critical", "crit", "alert", "emerg", "2", "1", "0": return .critical
        default: return nil
        }
    }

    /// The names `parse` accepts, for `--help` and error messages.
    package static let names = ["debug", "info", "notice", "warning", "error", "critical"]

    /// syslog priority (journald's PRIORITY=): critical 2 … debug 7; trace is debug.
    package static func syslogPriority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}
