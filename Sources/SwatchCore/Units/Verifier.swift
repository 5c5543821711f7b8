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
        let diagnostics = (units.diagnostics + accountWarnings(units)).enumerated().sorted { a, b in
            (a.element.location.file, a.element.location.line, a.offset) < (b.element.location.file, b.element.location.line, b.offset)
        }
        lines += diagnostics.map(\.element.description)
        return Report(lines: lines, exitCode: failed || units.hasErrors ? 1 : 0, units: units)
    }

    /// A User=, Group= or SupplementaryGroups= name that this machine does not know is a warning, not
    /// an error: the unit may be verified on another machine than the one it runs on, or the account
    /// may be created before it starts (a start fails then, as systemd's does). DynamicUser= services
    /// are left out: their user is made at start (systemd.exec(5), "DynamicUser="); so are templates,
    /// whose names may hold the instance. Numbers are accepted as they are (UserAccounts.swift).
    package static func accountWarnings(
        _ units: UnitSet,
        userExists: (String) -> Bool = { UserAccounts.user($0) != nil },
        groupExists: (String) -> Bool = { UserAccounts.group($0) != nil },
        read: (String) -> [UInt8]? = { path in
            guard case .success(let bytes) = UnitDirectory.read(path) else { return nil }
            return bytes
        }
    ) -> [Diagnostic] {
        var warnings: [Diagnostic] = []
        for (_, service) in units.services.sortedByKey() {
            let sandbox = service.sandbox
            guard !service.name.isTemplate, !sandbox.dynamicUser else { continue }
            var missing: [(key: String, name: String, what: String)] = []
            if let user = sandbox.user, !userExists(user) { missing.append(("User", user, "user")) }
            if let group = sandbox.group, !groupExists(group) { missing.append(("Group", group, "group")) }
            for group in sandbox.supplementaryGroups where !groupExists(group) {
                missing.append(("SupplementaryGroups", group, "group"))
            }
            guard !missing.isEmpty else { continue }
            let unit = service.name.description
            let files = ([service.path] + service.dropIns.map { SourcePath($0) }).compactMap { path in
                read(path.description).map { UnitFile(path: path, bytes: $0, unit: unit) }
            }
            for (key, name, what) in missing {
                // The assignment that names it (the last one that does: a later one wins for User=).
                var location = SourceLocation(file: service.path, line: 1)
                for file in files {
                    for case .assignment(let a) in file.entries where a.section == "Service" && a.key == key
                        && a.value.splitAtWhitespace().contains(Substring(name))
                    {
                        location = a.location
                    }
                }
                warnings.append(Diagnostic(
                    .warning, location, "\(key)=\(name): no such \(what) on this machine (it may exist at run time)",
                    unit: unit))
            }
        }
        return warnings
    }

    /// `/etc/swatchd` for root, else `$XDG_CONFIG_HOME/swatchd` (`~/.config/swatchd`), as swatchd(8) says.
    package static func defaultUnitDirectory() -> String {
        if getuid() == 0 { return "/etc/swatchd" }
        if let config = getenv("XDG_CONFIG_HOME"), config.pointee != 0 { return String(cString: config) + "/swatchd" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/"
        return UnitDirectory.join(home, ".config/swatchd")
    }
}
