// Specifiers of systemd.unit(5) "SPECIFIERS", resolved when a unit is loaded
// (src/core/unit-printf.c). %h, %u, %U and %t describe the user swatchd runs
// as — the service manager's user, as systemd ≥ 236 defines them — and %t is
// `/run` for root, else $XDG_RUNTIME_DIR (swatchd.service(5), "SPECIFIERS").

import Glibc

/// What the specifiers that do not come from the unit name expand to, and the
/// one default of the manager that a unit's value falls back to.
package struct SpecifierContext: Hashable, Sendable {
    /// `%t`: `/run` for root, else `$XDG_RUNTIME_DIR`.
    package var runtimeDirectory: String
    /// `%h`
    package var home: String
    /// `%u`
    package var userName: String
    /// `%U`
    package var uid: UInt32
    /// `%H`
    package var hostName: String
    /// TimeoutStopSec= (and so TimeoutAbortSec=) of every service that does not set it:
    /// systemd's DefaultTimeoutStopSec= (systemd-system.conf(5)), 90s; `swatchd
    /// --default-timeout-stop` sets it (a container runtime waits ~10s before SIGKILL).
    package var defaultTimeoutStop: TimeSpan = .seconds(90)

    package init(runtimeDirectory: String, home: String, userName: String, uid: UInt32, hostName: String) {
        self.runtimeDirectory = runtimeDirectory
        self.home = home
        self.userName = userName
        self.uid = uid
        self.hostName = hostName
    }

    /// The context of this process: getuid(), its passwd entry, gethostname(), $XDG_RUNTIME_DIR.
    package static func current() -> SpecifierContext {
        let uid = getuid()
        var name = String(uid)
        var home = environment("HOME") ?? "/"
        if let entry = getpwuid(uid) {
            name = String(cString: entry.pointee.pw_name)
            home = String(cString: entry.pointee.pw_dir)
        }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "localhost"
        let runtime = uid == 0 ? "/run" : (environment("XDG_RUNTIME_DIR") ?? "/run/user/\(uid)")
        return SpecifierContext(runtimeDirectory: runtime, home: home, userName: name, uid: uid, hostName: host)
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

/// Expands `%x` specifiers for one unit.
struct SpecifierExpander: Sendable {
    var name: UnitName
    var context: SpecifierContext

    /// The specifier that could not be resolved (`%m`, or `%` at the end).
    struct UnknownSpecifier: Error { var specifier: String }

    func expand(_ text: String) throws(UnknownSpecifier) -> String {
        guard text.contains("%") else { return text }
        var out = ""
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            guard let letter = iterator.next() else { throw UnknownSpecifier(specifier: "%") }
            guard let value = resolve(letter) else { throw UnknownSpecifier(specifier: "%\(letter)") }
            out += value
        }
        return out
    }

    private func resolve(_ letter: Character) -> String? {
        let stem = name.instance.map { "\(name.prefix)@\($0)" } ?? name.prefix
        // %j: the prefix after its last dash (the whole prefix without one).
        let lastPart = name.prefix.split(separator: "-", omittingEmptySubsequences: false).last.map(String.init)
            ?? name.prefix
        switch letter {
        case "%": return "%"
        case "n": return name.description
        case "N": return stem
        case "p": return name.prefix
        case "P": return UnitName.unescape(name.prefix)
        case "i": return name.instance ?? ""
        case "I": return UnitName.unescape(name.instance ?? "")
        case "j": return lastPart
        case "J": return UnitName.unescape(lastPart)
        case "f":
            // unit_name_path_unescape() of the instance, or of the prefix for a plain unit.
            let source = name.instance ?? name.prefix
            guard source != "-", !source.isEmpty else { return "/" }
            return UnitName.unescape(source).map { $0.hasPrefix("/") ? $0 : "/" + $0 }
        case "t": return context.runtimeDirectory
        case "h": return context.home
        case "u": return context.userName
        case "U": return String(context.uid)
        case "H": return context.hostName
        default: return nil
        }
    }
}
