// Specifiers of systemd.unit(5) "SPECIFIERS", resolved when a unit is loaded
// (src/core/unit-printf.c). %h, %u, %U and %t describe the user swatchd runs
// as — the service manager's user, as systemd ≥ 236 defines them — and %t is
// `/run` for root, else $XDG_RUNTIME_DIR (swatchd.service(5), "SPECIFIERS").

import Glibc

/// What the specifiers that do not come from the unit name expand to, and the
/// one default of the manager that a unit's value falls back to.
@dynamicMemberLookup
package struct SpecifierContext: Hashable, Sendable {
    /// `%t`: `/run` for root, else `$XDG_RUNTIME_DIR`.
    package var runtimeDirectory: String
    /// `%U`, `%G`
    package var uid: UInt32
    package var gid: UInt32 = 0
    /// `%T`, `%V`: $TMPDIR, else /tmp, /var/tmp.
    package var temporaryDirectory = "/tmp"
    package var persistentTemporaryDirectory = "/var/tmp"
    /// TimeoutStopSec= (and so TimeoutAbortSec=) of every service that does not set it:
    /// systemd's DefaultTimeoutStopSec= (systemd-system.conf(5)), 90s; `swatchd
    /// --default-timeout-stop` sets it (a container runtime waits ~10s before SIGKILL).
    package var defaultTimeoutStop: TimeSpan = .seconds(90)
    /// What the user database and the machine say: given, or — nil — this
    /// machine's, read when a unit first asks for one of them (`Facts.local`).
    private var given: Facts?

    /// The specifiers that take a lookup to know: swatchd's user's entries in the user
    /// and group databases (NSS), its host name, /etc/machine-id, the boot id, uname(2),
    /// /etc/machine-info and os-release(5). Most units use none of them, so a start
    /// does not pay for them (about 45 system calls) before its sockets listen.
    package struct Facts: Hashable, Sendable {
        /// `%h`
        package var home: String
        /// `%u`
        package var userName: String
        /// `%H`
        package var hostName: String
        /// `%m`: /etc/machine-id; nil when unreadable (the specifier is then an error, as in systemd).
        package var machineID: String?
        /// `%b`: /proc/sys/kernel/random/boot_id without dashes.
        package var bootID: String?
        /// `%v`: uname's release. `%a`: the architecture in systemd's words (`x86-64`, `arm64`).
        package var kernelRelease = ""
        package var architecture = ""
        /// `%q`: PRETTY_HOSTNAME= of /etc/machine-info, else the short host name.
        package var prettyHostName: String?
        /// os-release(5) fields: `%o` ID=, `%w` VERSION_ID=, `%B` BUILD_ID=, `%W` VARIANT_ID=,
        /// `%M` IMAGE_ID=, `%A` IMAGE_VERSION= (empty when the field is not set).
        package var osRelease: [String: String] = [:]
        /// `%g`, `%s`: the group and shell of the user swatchd runs as.
        package var groupName = ""
        package var shell = "/bin/sh"
        /// `%S`, `%C`, `%L`, `%E`: /var/lib, /var/cache, /var/log, /etc for root, else the
        /// XDG directories below the home (systemd.unit(5), "Specifiers").
        package var stateDirectory = "/var/lib"
        package var cacheDirectory = "/var/cache"
        package var logsDirectory = "/var/log"
        package var configurationDirectory = "/etc"

        /// This machine's and this process's user's, read once, at first use (a `static let`).
        static let local = Facts.read()
    }

    /// The facts, given or this machine's.
    package var facts: Facts {
        get { given ?? .local }
        set { given = newValue }
    }

    /// `context.hostName` for `context.facts.hostName`.
    package subscript<Value>(dynamicMember fact: WritableKeyPath<Facts, Value>) -> Value {
        get { facts[keyPath: fact] }
        set { facts[keyPath: fact] = newValue }
    }

    /// A context with facts of its own (tests, and what is not this machine).
    package init(runtimeDirectory: String, home: String, userName: String, uid: UInt32, hostName: String) {
        self.runtimeDirectory = runtimeDirectory
        self.uid = uid
        self.given = Facts(home: home, userName: userName, hostName: hostName)
    }

    /// The context of this process: getuid(), getgid(), $XDG_RUNTIME_DIR, $TMPDIR; the
    /// facts are read when first asked for.
    package static func current() -> SpecifierContext {
        let uid = getuid()
        let runtime = uid == 0 ? "/run" : (environment("XDG_RUNTIME_DIR") ?? "/run/user/\(uid)")
        var context = SpecifierContext(runtimeDirectory: runtime, uid: uid)
        context.gid = getgid()
        // tmp_dir() of src/basic/tmpfile-util.c: $TMPDIR, $TEMP, $TMP, if absolute.
        if let tmp = ["TMPDIR", "TEMP", "TMP"].lazy.compactMap(environment).first(where: { $0.hasPrefix("/") }) {
            context.temporaryDirectory = tmp
            context.persistentTemporaryDirectory = tmp
        }
        return context
    }

    private init(runtimeDirectory: String, uid: UInt32) {
        self.runtimeDirectory = runtimeDirectory
        self.uid = uid
    }

    /// uname's machine as systemd names architectures (src/basic/architecture.c).
    package static func architectureName(_ machine: String) -> String {
        let names = ["x86_64": "x86-64", "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86",
                     "aarch64": "arm64", "aarch64_be": "arm64-be", "ppc64le": "ppc64-le", "ppc64": "ppc64",
                     "riscv64": "riscv64", "s390x": "s390x", "mips64": "mips64", "loongarch64": "loongarch64"]
        if let name = names[machine] { return name }
        if machine.hasPrefix("arm") { return machine.hasSuffix("b") ? "arm-be" : "arm" }
        return machine
    }

    fileprivate static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

extension SpecifierContext.Facts {
    init(home: String, userName: String, hostName: String) {
        self.home = home
        self.userName = userName
        self.hostName = hostName
    }

    /// getpwuid(3) and getgrgid(3) of this process's ids, gethostname(2), uname(2) and the files.
    static func read() -> Self {
        let uid = getuid()
        var name = String(uid)
        var home = SpecifierContext.environment("HOME") ?? "/"
        var shell = "/bin/sh"
        if let entry = getpwuid(uid) {
            name = String(cString: entry.pointee.pw_name)
            home = String(cString: entry.pointee.pw_dir)
            if let login = entry.pointee.pw_shell, login.pointee != 0 { shell = String(cString: login) }
        }
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count - 1) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "localhost"
        var facts = Self(home: home, userName: name, hostName: host)
        facts.shell = shell
        facts.machineID = firstLine("/etc/machine-id").flatMap { $0.count == 32 ? $0 : nil }
        facts.bootID = firstLine("/proc/sys/kernel/random/boot_id").map { $0.filter { $0 != "-" } }
        var names = utsname()
        if uname(&names) == 0 {
            facts.kernelRelease = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            facts.architecture = SpecifierContext.architectureName(machine)
        }
        facts.prettyHostName = assignments("/etc/machine-info")["PRETTY_HOSTNAME"].flatMap { $0.isEmpty ? nil : $0 }
        facts.osRelease = assignments("/etc/os-release")
        if facts.osRelease.isEmpty { facts.osRelease = assignments("/usr/lib/os-release") }
        facts.groupName = getgrgid(getgid()).map { String(cString: $0.pointee.gr_name) } ?? String(getgid())
        if uid != 0 {
            let state = SpecifierContext.environment("XDG_STATE_HOME") ?? home + "/.local/state"
            facts.stateDirectory = state
            facts.cacheDirectory = SpecifierContext.environment("XDG_CACHE_HOME") ?? home + "/.cache"
            facts.logsDirectory = state + "/log"
            facts.configurationDirectory = SpecifierContext.environment("XDG_CONFIG_HOME") ?? home + "/.config"
        }
        return facts
    }

    private static func firstLine(_ path: String) -> String? {
        guard let text = try? FileSystem.readText(path) else { return nil }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        let trimmed = line.trimmingWhitespace()
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The KEY=VALUE lines of an os-release(5)-style file, quotes removed.
    private static func assignments(_ path: String) -> [String: String] {
        guard let text = try? FileSystem.readText(path) else { return [:] }
        var found: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingWhitespace()
            guard !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else { continue }
            var value = String(trimmed[trimmed.index(after: eq)...])
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            found[String(trimmed[..<eq])] = value
        }
        return found
    }
}

/// Expands `%x` specifiers for one unit. A class: every assignment's `KeyValue` holds the
/// unit's expander, and a struct of the context's dozen strings was copied and destroyed
/// for each line (~300 instructions a line at load).
final class SpecifierExpander: Sendable {
    let name: UnitName
    let context: SpecifierContext

    init(name: UnitName, context: SpecifierContext) {
        self.name = name
        self.context = context
    }

    /// The specifier that could not be resolved (`%m`, or `%` at the end).
    struct UnknownSpecifier: Error { var specifier: String }

    func expand(_ text: String) throws(UnknownSpecifier) -> String {
        // By byte: most values hold no `%`, and a Character search was most of their expansion.
        // On the contiguous bytes: `utf8.contains` steps String.Index (~270 instructions a value).
        var contiguous = text   // withUTF8 is mutating; a native or small string is not copied
        guard contiguous.withUTF8({ $0.contains(UInt8(ascii: "%")) }) else { return text }
        var out = ""
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            // A stray `%` at the end stays (specifier_printf(), src/shared/specifier.c): `10%`.
            guard let letter = iterator.next() else {
                out.append("%")
                break
            }
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
        case "h": return context.facts.home
        case "u": return context.facts.userName
        case "U": return String(context.uid)
        case "H": return context.facts.hostName
        case "l": return context.facts.hostName.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init)
        case "q": return context.facts.prettyHostName ?? context.facts.hostName.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init)
        case "m": return context.facts.machineID
        case "b": return context.facts.bootID
        case "v": return context.facts.kernelRelease
        case "a": return context.facts.architecture
        case "o": return context.facts.osRelease["ID"] ?? ""
        case "w": return context.facts.osRelease["VERSION_ID"] ?? ""
        case "B": return context.facts.osRelease["BUILD_ID"] ?? ""
        case "W": return context.facts.osRelease["VARIANT_ID"] ?? ""
        case "M": return context.facts.osRelease["IMAGE_ID"] ?? ""
        case "A": return context.facts.osRelease["IMAGE_VERSION"] ?? ""
        case "g": return context.facts.groupName
        case "G": return String(context.gid)
        case "s": return context.facts.shell
        case "S": return context.facts.stateDirectory
        case "C": return context.facts.cacheDirectory
        case "L": return context.facts.logsDirectory
        case "E": return context.facts.configurationDirectory
        case "T": return context.temporaryDirectory
        case "V": return context.persistentTemporaryDirectory
        default: return nil
        }
    }
}
