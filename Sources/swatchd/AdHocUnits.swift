import Glibc
import SwatchCore
import SystemPackage

/// `swatchd run`: the command line becomes unit files in the run's own unit
/// directory, so ad-hoc activation goes through exactly the loader and
/// supervisor that unit dirs do (swatchd(8), `run`).
///
/// - Without `--accept`: `NAME.service`, and one socket unit per `-l` (each can
///   carry its own `--fdname`): `NAME.socket` for one, `NAME-00.socket`,
///   `NAME-01.socket`, ... for several — names that sort in the order of the
///   `-l`s, which is the order the service gets them in — each with
///   `Service=NAME.service`.
/// - With `--accept` or `--inetd`: the template `NAME@.service` and one
///   `NAME.socket` with every listener, `Accept=yes` and no `Service=`
///   (systemd.socket(5): an accepting socket's service is the template of its
///   own name). The connection is on stdin and stdout (`StandardInput=socket`),
///   or on fd 3 when `--fdname` is given (without `--inetd`).
struct AdHocUnits: Equatable {
    /// The unit name prefix: `--unit`, else the program's name.
    var name: String
    var serviceName: String
    var socketNames: [String]
    /// File name → contents.
    var files: [(name: String, text: String)]

    static func == (a: AdHocUnits, b: AdHocUnits) -> Bool {
        a.name == b.name && a.files.map(\.name) == b.files.map(\.name) && a.files.map(\.text) == b.files.map(\.text)
    }

    /// The units for `options`; `cwd` is the caller's directory, which a relative
    /// program path, `--cwd` and `--watch` are taken from.
    init(_ options: AdHocOptions, cwd: String) {
        name = options.unitName ?? Self.unitPrefix(forProgram: options.command.first ?? "run")
        let accept = options.accept || options.inetd
        serviceName = accept ? "\(name)@.service" : "\(name).service"
        let kind = options.datagram ? "ListenDatagram" : "ListenStream"
        let listens = options.listen.map { "\(kind)=\(Self.escapingSpecifiers($0))\n" }
        let placed = options.properties.map { property -> (AdHocKeyPlacement, String) in
            let key = String(property.prefix { $0 != "=" })
            return (AdHocKeyPlacement.of(key) ?? .service(section: "Service"), property + "\n")
        }
        let socketExtra = placed.filter { $0.0 == .socket }.map(\.1).joined()
        files = []
        socketNames = []
        if accept {
            var text = "[Socket]\n" + listens.joined() + "Accept=yes\n"
            text += socketExtra
            socketNames = ["\(name).socket"]
            files.append(("\(name).socket", text))
        } else {
            let width = String(options.listen.count - 1).count
            for (i, listen) in listens.enumerated() {
                let socket = options.listen.count == 1 ? "\(name).socket"
                    : "\(name)-\(String(repeating: "0", count: max(2, width) - String(i).count))\(i).socket"
                var text = "[Socket]\n" + listen + "Service=\(serviceName)\n"
                if i < options.fdNames.count { text += "FileDescriptorName=\(options.fdNames[i])\n" }
                text += socketExtra
                socketNames.append(socket)
                files.append((socket, text))
            }
        }

        // A relative program (`.build/debug/app`) and the command's directory are the caller's,
        // as for any command typed in a shell; a unit file would take neither.
        var command = options.command
        if let program = command.first, program.contains("/") { command[0] = Self.absolute(program, cwd: cwd) }
        let directory = options.workingDirectory.map { Self.absolute($0, cwd: cwd) } ?? cwd
        var unitSection = "[Unit]\nDescription=\(Self.description(of: options.command))\n"
        if !options.watch.isEmpty {
            // Every save restarts the command: no start limit (systemd.unit(5), StartLimitIntervalSec=0),
            // or the sixth save within 10 s would leave it stopped.
            unitSection += "StartLimitIntervalSec=0\n"
        }
        var service = "[Service]\nExecStart=\(command.map(Self.quote).joined(separator: " "))\n"
        service += "WorkingDirectory=\(Self.escapingSpecifiers(directory))\n"   // a path: specifiers only
        if options.notify { service += "Type=notify\n" }
        if let watchdog = options.watchdog { service += "WatchdogSec=\(watchdog)\n" }
        if let idle = options.exitIdle { service += "X-IdleStopSec=\(idle)\n" }
        if let restart = options.restart { service += "Restart=\(restart)\n" }
        for assignment in options.environment { service += "Environment=\(Self.quoteWord(assignment))\n" }
        if accept && (options.inetd || options.fdNames.isEmpty) {
            // The connection on stdin and stdout; stderr stays on the terminal, as with
            // systemd-socket-activate(1) --inetd.
            service += "StandardInput=socket\nStandardOutput=socket\nStandardError=journal\n"
        }
        for (placement, line) in placed {
            switch placement {
            case .service(section: "Unit"): unitSection += line
            case .service: service += line
            case .socket: break
            }
        }
        files.append((serviceName, unitSection + "\n" + service))
    }

    /// Writes every file into `directory` (created, 0755), which must hold nothing else.
    func write(to directory: String) throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw Errno(rawValue: errno) }
        for (name, text) in files {
            let fd = try FileDescriptor.open(FilePath(directory + "/" + name), .writeOnly,
                                             options: [.create, .truncate, .closeOnExec],
                                             permissions: [.ownerReadWrite, .groupRead, .otherRead])
            defer { try? fd.close() }
            _ = try fd.writeAll(text.utf8)
        }
    }

    /// The program's base name as a unit name prefix: `/usr/bin/python3` → `python3`;
    /// characters a unit name cannot hold (systemd.unit(5)) become `_`.
    static func unitPrefix(forProgram program: String) -> String {
        let base = program.split(separator: "/").last.map(String.init) ?? "run"
        let cleaned = String(base.unicodeScalars.map { s -> Character in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || ":-_.".unicodeScalars.contains(s))
                ? Character(s) : "_"
        }.prefix(200))
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "run" + cleaned : cleaned
    }

    static func absolute(_ path: String, cwd: String) -> String {
        if path.hasPrefix("/") { return path }
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        if relative == "." || relative.isEmpty { return cwd }
        return (cwd == "/" ? "" : cwd) + "/" + relative
    }

    /// `swatchd run: CMD ARG...` on one line of a unit file: control characters (a newline
    /// would end the value) become spaces, and a final backslash (it would continue the
    /// line, systemd.syntax(7)) goes.
    static func description(of command: [String]) -> String {
        var text = String(("swatchd run: " + command.joined(separator: " ")).map { $0.isASCII && ($0.asciiValue! < 32 || $0.asciiValue! == 127) ? " " : $0 })
        while text.hasSuffix("\\") || text.hasSuffix(" ") { text.removeLast() }
        return escapingSpecifiers(text)
    }

    /// `%` doubled: a value that takes specifiers (systemd.unit(5) "SPECIFIERS") but none is meant.
    static func escapingSpecifiers(_ text: String) -> String {
        String(text.flatMap { $0 == "%" ? ["%", "%"] : [$0] })
    }

    /// One word of ExecStart=, quoted so that systemd's parser gives it back
    /// unchanged: no variable expansion (`$$`), no specifiers (`%%`).
    static func quote(_ word: String) -> String {
        quoteWord(word).split(separator: "$", omittingEmptySubsequences: false).joined(separator: "$$")
    }

    /// One word of a value that is split into words (Environment=, systemd.syntax(7)
    /// "Quoting"): in double quotes, `\` and `"` escaped, specifiers doubled.
    static func quoteWord(_ word: String) -> String {
        var out = "\""
        for c in word {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "%": out += "%%"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}
