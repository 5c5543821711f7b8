/// swatchd's own command line (swatchd(8)). The daemon parses its few flags
/// here rather than with swift-argument-parser, which would bring
/// FoundationEssentials (+5 MB of RSS, docs/HACKING.md "Footprint and start-up").
package enum DaemonCommand: Equatable, Sendable {
    case serve(DaemonOptions)
    case verify(unitDirectories: [String], files: [String])
    case run(AdHocOptions, DaemonOptions)
    case help
    case version
}

package struct DaemonOptions: Equatable, Sendable {
    /// Empty: the default (`/etc/swatchd` for root, else `$XDG_CONFIG_HOME/swatchd`).
    package var unitDirectories: [String] = []
    package var runtimeDirectory: String?
    package var logTarget = "auto"
    package var logLevel = "info"
    /// `--exit-with UNIT`: when that service ends, stop everything and exit with its status
    /// (swatchd(8); a container's main process). `.service` is appended to a name without a
    /// suffix, as swatchctl does.
    package var exitWith: UnitName?
    /// `--default-timeout-stop SPAN`: TimeoutStopSec= of every unit that does not set it
    /// (nil: systemd's DefaultTimeoutStopSec=, 90s).
    package var defaultTimeoutStop: TimeSpan?
}

/// `swatchd run`: one command, activated ad hoc, without unit files.
package struct AdHocOptions: Equatable, Sendable {
    package var listen: [String] = []
    package var fdNames: [String] = []
    package var accept = false
    package var datagram = false
    package var notify = false
    package var watchdog: String?
    package var restart: String?
    /// `--watch PATH`: restart the running command when PATH changes.
    package var watch: [String] = []
    package var command: [String] = []
}

package struct UsageError: Error, Equatable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

extension DaemonCommand {
    package static let usage = """
        Usage: swatchd [--unit-dir DIR]... [--runtime-dir DIR] [--log-target auto|journal|stderr] [--log-level LEVEL]
                       [--exit-with UNIT] [--default-timeout-stop SPAN]
               swatchd verify [--unit-dir DIR]... [FILE...]
               swatchd run -l ADDR [-l ADDR]... [--fdname NAME]... [--accept] [--datagram] [--notify]
                           [--watchdog SPAN] [--restart POLICY] [--watch PATH]... -- CMD [ARG]...

        A socket activator and service supervisor that reads systemd's unit files.
        See swatchd(8).
        """

    /// Parses `arguments` (without argv[0]).
    package static func parse(_ arguments: [String]) throws(UsageError) -> DaemonCommand {
        var args = arguments[...]
        switch args.first {
        case "verify":
            args.removeFirst()
            var dirs: [String] = []
            var files: [String] = []
            while let arg = args.popFirst() {
                if let dir = try value(of: "--unit-dir", arg, &args) { dirs.append(dir) }
                else if arg == "--" { files += args; break }
                else if arg.hasPrefix("-") && arg != "-" { throw UsageError("verify: unknown option '\(arg)'") }
                else { files.append(arg) }
            }
            return .verify(unitDirectories: dirs, files: files)
        case "run":
            args.removeFirst()
            var adHoc = AdHocOptions()
            var options = DaemonOptions()
            while let arg = args.popFirst() {
                if arg == "--" { adHoc.command = Array(args); break }
                if let v = try value(of: "-l", arg, &args) { adHoc.listen.append(v) }
                else if let v = try value(of: "--listen", arg, &args) { adHoc.listen.append(v) }
                else if let v = try value(of: "--fdname", arg, &args) { adHoc.fdNames.append(v) }
                else if let v = try value(of: "--watchdog", arg, &args) { adHoc.watchdog = v }
                else if let v = try value(of: "--restart", arg, &args) { adHoc.restart = v }
                else if let v = try value(of: "--watch", arg, &args) { adHoc.watch.append(v) }
                else if try parseCommon(arg, &args, into: &options) {}
                else if arg == "--accept" { adHoc.accept = true }
                else if arg == "--datagram" || arg == "-d" { adHoc.datagram = true }
                else if arg == "--notify" { adHoc.notify = true }
                else if arg.hasPrefix("-") { throw UsageError("run: unknown option '\(arg)'") }
                else { adHoc.command = [arg] + args; break }
            }
            if adHoc.listen.isEmpty { throw UsageError("run: at least one -l ADDR is needed") }
            if adHoc.command.isEmpty { throw UsageError("run: no command given (put it after --)") }
            return .run(adHoc, options)
        default:
            var options = DaemonOptions()
            while let arg = args.popFirst() {
                if arg == "-h" || arg == "--help" { return .help }
                if arg == "--version" { return .version }
                if try parseCommon(arg, &args, into: &options) { continue }
                throw UsageError("unknown argument '\(arg)'")
            }
            return .serve(options)
        }
    }

    private static func parseCommon(_ arg: String, _ args: inout ArraySlice<String>, into o: inout DaemonOptions)
        throws(UsageError) -> Bool
    {
        if let v = try value(of: "--unit-dir", arg, &args) { o.unitDirectories.append(v); return true }
        if let v = try value(of: "--runtime-dir", arg, &args) { o.runtimeDirectory = v; return true }
        if let v = try value(of: "--log-target", arg, &args) {
            guard ["auto", "journal", "stderr"].contains(v) else {
                throw UsageError("--log-target must be auto, journal or stderr, not '\(v)'")
            }
            o.logTarget = v
            return true
        }
        if let v = try value(of: "--log-level", arg, &args) {
            // The names and numbers swatchd(8) lists: what the logger set-up reads (LogLevel.parse).
            guard LogLevel.parse(v) != nil else { throw UsageError("--log-level: unknown level '\(v)'") }
            o.logLevel = v
            return true
        }
        if let v = try value(of: "--exit-with", arg, &args) {
            // swatchctl's mangling (Sources/swatchctl/Output.swift): `hello` means hello.service.
            let mangled = v.hasSuffix(".service") || v.hasSuffix(".socket") ? v : v + ".service"
            guard let name = UnitName(parsing: mangled), name.type == .service, name.instance != "" else {
                throw UsageError("--exit-with needs a service name, not '\(v)'")
            }
            o.exitWith = name
            return true
        }
        if let v = try value(of: "--default-timeout-stop", arg, &args) {
            // As TimeoutStopSec= reads it (systemd.time(7)); 0 means no timeout, as there (parse_sec_fix_0()).
            guard let span = TimeSpan(parsing: v) else {
                throw UsageError("--default-timeout-stop: not a time span: '\(v)'")
            }
            o.defaultTimeoutStop = span == .zero ? .infinity : span
            return true
        }
        return false
    }

    /// `--flag VALUE` or `--flag=VALUE`; nil when `arg` is another flag.
    private static func value(of flag: String, _ arg: String, _ args: inout ArraySlice<String>)
        throws(UsageError) -> String?
    {
        if arg == flag {
            guard let v = args.popFirst() else { throw UsageError("\(flag) needs a value") }
            return v
        }
        if arg.hasPrefix(flag + "=") { return String(arg.dropFirst(flag.count + 1)) }
        return nil
    }
}
