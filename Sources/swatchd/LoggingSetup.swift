import Logging
import SwatchCore

/// Chooses where swatchd's own messages go (swatchd(8), `--log-target`:
/// `auto` is the journal when its socket exists and is a socket) and
/// bootstraps swift-log with it. Messages about a unit also go into `unitLog`.
func bootstrapLogging(target: String, level: String, unitLog: UnitLogBuffer) -> Logger {
    let (target, problem) = (LogTarget(rawValue: target) ?? .auto).usable()
    let level = LogLevel.parse(level) ?? .info
    LoggingSystem.bootstrap { _ in target.makeHandler(level: level, unitLog: unitLog) }
    let logger = Logger(label: "swatchd")
    if let problem { logger.warning("\(problem)") }
    return logger
}
