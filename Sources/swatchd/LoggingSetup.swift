import Glibc
import Logging
import SwatchCore

/// Chooses where swatchd's own messages go (DESIGN §2, --log-target) and
/// bootstraps swift-log with it.
func bootstrapLogging(target: String, level: String) -> Logger {
        LoggingSystem.bootstrap { _ in
            var handler = PlainStderrHandler()
            handler.logLevel = Logger.Level(systemdName: level)
            return handler
        }
        return Logger(label: "swatchd")
}

extension Logger.Level {
    init(systemdName: String) {
        switch systemdName {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning": self = .warning
        case "error", "err": self = .error
        default: self = .critical
        }
    }
}

/// Interim: `swatchd: message` lines on stderr.
struct PlainStderrHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        writeStderr("swatchd: \(event.message)\n")
    }
}
