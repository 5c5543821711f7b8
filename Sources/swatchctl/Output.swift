import Glibc
import SwatchControl

/// Where swatchctl writes: stdout for answers, stderr for errors and warnings. Each call
/// is written at once with write(2), unbuffered, so stdout and stderr keep their order on
/// a terminal (Glibc only: swatchctl links no Foundation, docs/HACKING.md "Footprint and
/// start-up").
enum Output {
    static func line(_ text: String) {
        write(text + "\n", to: 1)
    }

    static func error(_ text: String) {
        write(text + "\n", to: 2)
    }

    /// All of `text`, retrying short writes and EINTR; a closed pipe (EPIPE) ends it quietly.
    static func write(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// A whole file as UTF-8 text; nil when it cannot be read or is not UTF-8.
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// An environment variable (getenv(3)).
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// ERROR= lines as they are, WARNING= lines after `Warning: ` (systemctl's shape).
    static func messages(of response: ControlResponse) {
        for warning in response.warnings { error("Warning: " + warning) }
        for message in response.errors { error(message) }
    }

    /// JSON, pretty and with sorted keys so scripts and diffs see a stable text.
    static func json(_ value: JSON) {
        line(value.pretty)
    }

    /// One JSON object on one line (`logs --json`, like `journalctl -o json`).
    static func jsonLine(_ value: JSON) {
        line(value.compact)
    }

    /// ANSI colours as systemctl uses them, only on a terminal and without NO_COLOR.
    static let colors: Bool = {
        return isatty(1) == 1 && environment("NO_COLOR") == nil && environment("TERM") != "dumb"
    }()

    /// The terminal's width (TIOCGWINSZ, else $COLUMNS) when stdout is a terminal; nil otherwise:
    /// swatchctl ellipsizes only what a person reads on a terminal, never a pipe.
    static let terminalColumns: Int? = {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return environment("COLUMNS").flatMap { Int($0) }
    }()

    /// `text` cut to `width` characters with `…` at its end; as it is when it fits or width is nil.
    static func ellipsized(_ text: String, width: Int?) -> String {
        guard let width, text.count > width, width > 1 else { return text }
        return String(text.prefix(width - 1)) + "…"
    }

    static func green(_ text: String) -> String { colors ? "\u{1B}[0;1;32m\(text)\u{1B}[0m" : text }
    static func red(_ text: String) -> String { colors ? "\u{1B}[0;1;31m\(text)\u{1B}[0m" : text }
}

/// systemctl's unit name mangling, the simple part: a name without a unit type suffix
/// gets `.service` (`swatchctl status hello` is `hello.service`); `tick.timer` and a glob are
/// left as they are.
enum UnitNames {
    static func mangle(_ name: String) -> String {
        UnitTypes.type(of: name) != nil || isGlob(name) ? name : name + ".service"
    }

    /// systemd's string_is_glob() (src/basic/glob-util.h): `*`, `?` or `[` makes a pattern.
    static func isGlob(_ name: String) -> Bool { name.utf8.contains { $0 == 42 || $0 == 63 || $0 == 91 } }

    /// systemctl's expand_unit_names() (src/systemctl/systemctl-util.c): the names that are not
    /// patterns, mangled, then every loaded unit a pattern matches (fnmatch(3), as
    /// ListUnitsByPatterns), in swatchd's order. Only a pattern costs a `list-units` request;
    /// one that matches nothing adds nothing.
    static func expand(_ names: [String], global: GlobalOptions) throws -> [String] {
        let patterns = names.filter(isGlob)
        let plain = names.filter { !isGlob($0) }.map(mangle)
        guard !patterns.isEmpty else { return plain }
        let response = try global.send(.listUnits)
        guard response.result == ControlResponse.Code.success else {
            Output.messages(of: response)
            throw ExitCode(response.result)
        }
        let loaded = response.records.compactMap { $0["Id"] }
        return plain + loaded.filter { id in !plain.contains(id) && patterns.contains { fnmatch($0, id, 0) == 0 } }
    }
}
