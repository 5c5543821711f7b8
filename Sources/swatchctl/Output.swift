import Foundation
import SwatchCore

/// Where swatchctl writes: stdout for answers, stderr for errors and warnings.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// ERROR= lines as they are, WARNING= lines after `Warning: ` (systemctl's shape).
    static func messages(of response: ControlResponse) {
        for warning in response.warnings { error("Warning: " + warning) }
        for message in response.errors { error(message) }
    }

    /// JSON, pretty and with sorted keys so scripts and diffs see a stable text.
    static func json(_ value: Any) {
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: options) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// One JSON object on one line (`logs --json`, like `journalctl -o json`).
    static func jsonLine(_ value: Any) {
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: options) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    /// ANSI colours as systemctl uses them, only on a terminal and without NO_COLOR.
    static let colors: Bool = {
        let environment = ProcessInfo.processInfo.environment
        return isatty(1) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }()

    /// The terminal's width (TIOCGWINSZ, else $COLUMNS) when stdout is a terminal; nil otherwise:
    /// swatchctl ellipsizes only what a person reads on a terminal, never a pipe.
    static let terminalColumns: Int? = {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) }
    }()

    /// `text` cut to `width` characters with `…` at its end; as it is when it fits or width is nil.
    static func ellipsized(_ text: String, width: Int?) -> String {
        guard let width, text.count > width, width > 1 else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    static func green(_ text: String) -> String { colors ? "\u{1B}[0;1;32m\(text)\u{1B}[0m" : text }
    static func red(_ text: String) -> String { colors ? "\u{1B}[0;1;31m\(text)\u{1B}[0m" : text }
}

/// systemctl's unit name mangling, the simple part: a name without a known type suffix
/// gets `.service` (`swatchctl status hello` is `hello.service`).
enum UnitNames {
    static func mangle(_ name: String) -> String {
        name.hasSuffix(".service") || name.hasSuffix(".socket") ? name : name + ".service"
    }
}
