import Glibc
import SwatchCore
import SystemPackage

/// `swatchd run`: the command line becomes unit files in the runtime dir,
/// so ad-hoc activation goes through exactly the loader and supervisor that
/// unit dirs do. One socket unit per `-l` (each can carry its own --fdname).
enum AdHocUnits {
    static func write(_ options: AdHocOptions, runtimeDirectory: String) throws -> (String, [String]) {
        let dir = runtimeDirectory + "/run-units"
        for path in [runtimeDirectory, dir] where mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw Errno(rawValue: errno)
        }
        var files: [String] = []
        let kind = options.datagram ? "ListenDatagram" : "ListenStream"
        for (i, address) in options.listen.enumerated() {
            var text = "[Socket]\n\(kind)=\(address)\nService=\(options.accept ? "run@.service" : "run.service")\n"
            if options.accept { text += "Accept=yes\n" }
            if i < options.fdNames.count { text += "FileDescriptorName=\(options.fdNames[i])\n" }
            else if let last = options.fdNames.last { text += "FileDescriptorName=\(last)\n" }
            let name = String(format2(i)) + ".socket"
            try writeFile(dir + "/run-" + name, text)
            files.append(dir + "/run-" + name)
        }
        // A relative program (`.build/debug/app`) and the command's directory are the caller's,
        // as for any command typed in a shell; a unit file would take neither.
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let cwd = getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "/"
        var command = options.command
        if let program = command.first, program.contains("/"), !program.hasPrefix("/") {
            command[0] = (cwd == "/" ? "" : cwd) + "/" + program
        }
        var service = "[Service]\nExecStart=\(command.map(quote).joined(separator: " "))\n"
        service += "WorkingDirectory=\(String(cwd.flatMap { $0 == "%" ? ["%", "%"] : [$0] }))\n"   // a path: specifiers only
        if options.notify { service += "Type=notify\n" }
        if let watchdog = options.watchdog { service += "WatchdogSec=\(watchdog)\n" }
        if let restart = options.restart { service += "Restart=\(restart)\n" }
        // Stale units of an earlier run must not linger.
        let serviceFile = dir + (options.accept ? "/run@.service" : "/run.service")
        unlink(dir + (options.accept ? "/run.service" : "/run@.service"))
        try writeFile(serviceFile, service)
        files.append(serviceFile)
        return (dir, files)
    }

    private static func format2(_ i: Int) -> String { i < 10 ? "0\(i)" : "\(i)" }

    /// One word of ExecStart=, quoted so that systemd's parser gives it back
    /// unchanged: no variable expansion (`$$`), no specifiers (`%%`).
    static func quote(_ word: String) -> String {
        var out = "\""
        for c in word {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "$": out += "$$"
            case "%": out += "%%"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    private static func writeFile(_ path: String, _ text: String) throws {
        let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec],
                                         permissions: [.ownerReadWrite, .groupRead, .otherRead])
        defer { try? fd.close() }
        _ = try fd.writeAll(text.utf8)
    }
}

/// swatchd's own environment, read once at start (`environ`), without Foundation.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { result[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return result
    }
}
