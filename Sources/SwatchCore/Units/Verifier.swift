// `swatchd verify` (swatchd(8)): load what the daemon would load, run nothing,
// report every problem as `FILE:LINE: message` with FILE as the user gave it;
// exit 0 exactly when every unit would load.

import Glibc

/// The core of `swatchd verify`, without the printing.
package enum Verifier {
    /// What verify reports: lines for stderr, and the exit status.
    package struct Report: Sendable {
        package var lines: [String]
        package var exitCode: Int32
        package var units: UnitSet
    }

    /// Verifies the units of `unitDirectories` (the daemon's default when none and no
    /// `files` are given) and the unit `files`.
    package static func verify(unitDirectories: [String], files: [String], context: SpecifierContext) -> Report {
        let directories = unitDirectories.isEmpty && files.isEmpty ? [defaultUnitDirectory()] : unitDirectories
        var lines: [String] = []
        var failed = false
        for directory in directories where UnitDirectory.kind(directory) != .directory {
            let problem = UnitDirectory.kind(directory) == .missing ? "No such file or directory" : "Not a directory"
            lines.append("swatchd: Failed to open unit directory \(directory): \(problem)")
            failed = true
        }
        let units = UnitSet.load(directories: directories, files: files, context: context)
        lines += units.diagnostics.map(\.description)
        return Report(lines: lines, exitCode: failed || units.hasErrors ? 1 : 0, units: units)
    }

    /// `/etc/swatchd` for root, else `$XDG_CONFIG_HOME/swatchd` (`~/.config/swatchd`), as swatchd(8) says.
    package static func defaultUnitDirectory() -> String {
        if getuid() == 0 { return "/etc/swatchd" }
        if let config = getenv("XDG_CONFIG_HOME"), config.pointee != 0 { return String(cString: config) + "/swatchd" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/"
        return UnitDirectory.join(home, ".config/swatchd")
    }
}
