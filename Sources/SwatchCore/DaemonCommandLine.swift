/// swatchd's own command line (swatchd(8)). The daemon parses its few flags
/// here rather than with swift-argument-parser, which would bring
/// FoundationEssentials (+5 MB of RSS, docs/HACKING.md "Footprint and start-up").
package enum DaemonCommand: Equatable, Sendable {
    case serve(DaemonOptions)
    case verify(unitDirectories: [String], files: [String])
    case run(AdHocOptions, DaemonOptions)
    /// `--help` of the daemon, of `verify` or of `run`: the text to print on stdout (exit 0).
    case help(String)
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

/// `swatchd run`: one command, activated ad hoc, without unit files (swatchd(8), `run`).
package struct AdHocOptions: Equatable, Sendable {
    /// `-l`: ListenStream= (or ListenDatagram= with `--datagram`) values, in order.
    package var listen: [String] = []
    /// `--fdname`: the names of the sockets of `listen`, by position (a missing one: the default).
    package var fdNames: [String] = []
    package var accept = false
    /// `--inetd`: accept, with the connection on stdin and stdout (systemd-socket-activate(1)).
    package var inetd = false
    package var datagram = false
    package var notify = false
    package var watchdog: String?
    /// `--exit-idle SPAN`: X-IdleStopSec= of the service.
    package var exitIdle: String?
    package var restart: String?
    /// `--watch PATH`: restart the running command when PATH changes.
    package var watch: [String] = []
    /// `-E K=V`, in order.
    package var environment: [String] = []
    /// `--cwd DIR`; nil: the caller's directory.
    package var workingDirectory: String?
    /// `--unit NAME`: the prefix of the generated units; nil: from the program's name.
    package var unitName: String?
    /// `-p KEY=VALUE`, in order, each known to `AdHocKeyPlacement`.
    package var properties: [String] = []
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
               swatchd run -l ADDR [-l ADDR]... [OPTION]... [--] CMD [ARG]...
               swatchd --help | --version | verify --help | run --help

        A socket activator and service supervisor that reads systemd's unit files.

          --unit-dir DIR        read unit files from DIR (repeatable)
          --runtime-dir DIR     where the control and notify sockets live
          --log-target TARGET   auto, journal or stderr (default auto)
          --log-level LEVEL     debug, info, notice, warning, error, critical (default info)
          -h, --help            print this help and exit
          --version             print the version and exit

        See swatchd(8).
        """

    package static let verifyUsage = """
        Usage: swatchd verify [--unit-dir DIR]... [FILE...]

        Parse and check unit files, run nothing. Problems go to stderr as FILE:LINE: message;
        the exit status is 0 when every unit would load, 1 otherwise.

          --unit-dir DIR   check every unit of DIR (repeatable)
          -h, --help       print this help and exit

        See swatchd(8).
        """

    package static let runUsage = """
        Usage: swatchd run -l ADDR [-l ADDR]... [OPTION]... [--] CMD [ARG]...

        Socket-activate CMD without unit files, for local development: bind every ADDR now,
        start CMD on the first connection with the sockets from fd 3 on (sd_listen_fds(3)),
        keep them bound across its restarts. CMD gets the caller's environment and directory.

          -l, --listen ADDR     listen on ADDR, a ListenStream= value: PORT, IPV4:PORT, [IPV6]:PORT,
                                /path/to/socket or @abstract (repeatable, passed in this order)
          -d, --datagram        datagram sockets (ListenDatagram=) instead of stream sockets
              --fdname NAME     the LISTEN_FDNAMES name of the next -l's socket; NAME:NAME...
                                names several (repeatable)
          -a, --accept          one CMD per connection (Accept=yes), the connection on stdin and
                                stdout; with --fdname, on fd 3 instead
              --inetd           one CMD per connection on stdin and stdout (inetd style)
              --notify          wait for CMD's READY=1 (Type=notify)
              --watchdog SPAN   expect WATCHDOG=1 at least every SPAN (WatchdogSec=)
              --exit-idle SPAN  stop CMD after SPAN without a connection; the sockets
                                stay bound and the next connection starts it again
              --restart POLICY  Restart=: no, always, on-success, on-failure, on-abnormal,
                                on-abort, on-watchdog
              --watch PATH      restart CMD when PATH (a file, or a directory tree) changes
                                (repeatable)
          -E, --env K=V         set K=V in CMD's environment (repeatable; --setenv too)
              --cwd DIR         run CMD in DIR (default: the current directory)
              --unit NAME       name the units NAME.service and NAME.socket (default: CMD's name)
          -p, --property K=V    any [Service] or [Socket] key swatchd supports, written as in a
                                unit file (repeatable), as systemd-run(1) -p
              --runtime-dir DIR use DIR (default: a fresh run-CMD-PID under swatchd's default,
                                removed on exit)
              --log-target TARGET, --log-level LEVEL   as for swatchd
          -h, --help            print this help and exit

        Exit status: CMD's trouble never ends the run; 1 when a socket cannot be bound, 127 when
        CMD cannot be found or executed, 130 after Ctrl-C (SIGINT), 143 after SIGTERM,
        64 on a usage error. See swatchd(8).
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
                if arg == "-h" || arg == "--help" { return .help(verifyUsage) }
                if let dir = try value(of: "--unit-dir", arg, &args) { dirs.append(dir) }
                else if arg == "--" { files += args; break }
                else if arg.hasPrefix("-") && arg != "-" { throw UsageError("verify: unknown option '\(arg)'") }
                else { files.append(arg) }
            }
            return .verify(unitDirectories: dirs, files: files)
        case "run":
            args.removeFirst()
            return try parseRun(&args)
        default:
            var options = DaemonOptions()
            while let arg = args.popFirst() {
                if arg == "-h" || arg == "--help" { return .help(usage) }
                if arg == "--version" { return .version }
                if try parseCommon(arg, &args, into: &options) { continue }
                throw UsageError("unknown option '\(arg)'")
            }
            return .serve(options)
        }
    }

    /// The arguments of `run`, up to and including the command.
    private static func parseRun(_ args: inout ArraySlice<String>) throws(UsageError) -> DaemonCommand {
        var adHoc = AdHocOptions()
        var options = DaemonOptions()
        while let arg = args.popFirst() {
            if arg == "--" { adHoc.command = Array(args); break }
            if arg == "-h" || arg == "--help" { return .help(runUsage) }
            if let v = try value(of: ["-l", "--listen"], arg, &args) { adHoc.listen.append(try oneLine(v, arg)) }
            else if let v = try value(of: ["--fdname"], arg, &args) {
                for name in v.split(separator: ":", omittingEmptySubsequences: false) {
                    // sd_listen_fds_with_names(3): printable ASCII, no ':', at most 255 bytes.
                    guard !name.isEmpty, name.utf8.count <= 255, name.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else {
                        throw UsageError("run: --fdname '\(v)': a name is 1 to 255 printable ASCII characters without ':' or spaces")
                    }
                    adHoc.fdNames.append(String(name))
                }
            }
            else if let v = try value(of: ["--watchdog"], arg, &args) { adHoc.watchdog = try oneLine(v, arg) }
            else if let v = try value(of: ["--exit-idle"], arg, &args) { adHoc.exitIdle = try oneLine(v, arg) }
            else if let v = try value(of: ["--restart"], arg, &args) { adHoc.restart = try oneLine(v, arg) }
            else if let v = try value(of: ["--watch"], arg, &args) { adHoc.watch.append(v) }
            else if let v = try value(of: ["-E", "--env", "--setenv"], arg, &args) {
                guard !v.hasPrefix("="), !v.contains("\n") else {
                    throw UsageError("run: \(arg) takes NAME=VALUE, not '\(v)'")
                }
                // `-E NAME` (systemd-socket-activate(1): pass NAME on) changes nothing: the command
                // gets the caller's whole environment anyway.
                if v.contains("=") { adHoc.environment.append(v) }
            }
            else if let v = try value(of: ["--cwd"], arg, &args) { adHoc.workingDirectory = try oneLine(v, arg) }
            else if let v = try value(of: ["--unit"], arg, &args) {
                var name = v
                if name.hasSuffix(".service") { name.removeLast(8) }
                guard !name.contains("@"), UnitName(parsing: name + ".service") != nil else {
                    throw UsageError("run: --unit '\(v)' is not a valid unit name (letters, digits, ':', '-', '_', '.')")
                }
                adHoc.unitName = name
            }
            else if let v = try value(of: ["-p", "--property"], arg, &args) {
                guard let eq = v.firstIndex(of: "=") else { throw UsageError("run: \(arg) takes KEY=VALUE, not '\(v)'") }
                let key = String(v[..<eq])
                guard AdHocKeyPlacement.of(key) != nil else {
                    throw UsageError("run: \(arg) \(key): not a [Service] or [Socket] key swatchd supports (see swatchd.service(5), swatchd.socket(5))")
                }
                // One line of a unit file: a newline would start another key, a final backslash
                // would continue onto the next line (systemd.syntax(7)).
                guard !v.contains("\n"), !v.hasSuffix("\\") else {
                    throw UsageError("run: \(arg) \(key): a value must be one line and must not end in a backslash")
                }
                adHoc.properties.append(v)
            }
            else if try parseCommon(arg, &args, into: &options) {}
            else if arg == "--accept" || arg == "-a" { adHoc.accept = true }
            else if arg == "--inetd" { adHoc.inetd = true; adHoc.accept = true }
            else if arg == "--datagram" || arg == "-d" { adHoc.datagram = true }
            else if arg == "--notify" { adHoc.notify = true }
            else if arg.hasPrefix("-") { throw UsageError("run: unknown option '\(arg)'") }
            else { adHoc.command = [arg] + args; break }
        }
        if !options.unitDirectories.isEmpty { throw UsageError("run: --unit-dir does not apply to run (its units come from the command line)") }
        if adHoc.listen.isEmpty { throw UsageError("run: at least one -l ADDR is needed") }
        if adHoc.command.isEmpty { throw UsageError("run: no command given (put it after --)") }
        if adHoc.fdNames.count > adHoc.listen.count {
            throw UsageError("run: \(adHoc.fdNames.count) --fdname names for \(adHoc.listen.count) -l sockets")
        }
        return .run(adHoc, options)
    }

    /// The help hint printed after a usage error.
    package static func helpHint(for arguments: [String]) -> String {
        switch arguments.first {
        case "run": return "Try 'swatchd run --help'."
        case "verify": return "Try 'swatchd verify --help'."
        default: return "Try 'swatchd --help'."
        }
    }

    /// A value written as one line of a unit file.
    private static func oneLine(_ value: String, _ flag: String) throws(UsageError) -> String {
        // A newline would start another key, a final backslash continue the line (systemd.syntax(7)).
        guard !value.contains("\n"), !value.hasSuffix("\\") else {
            throw UsageError("run: \(flag): the value must be one line and must not end in a backslash")
        }
        return value
    }

    /// The value of any of `flags` (`-l VALUE`, `--listen VALUE`, `--listen=VALUE`); nil when `arg` is another flag.
    private static func value(of flags: [String], _ arg: String, _ args: inout ArraySlice<String>)
        throws(UsageError) -> String?
    {
        for flag in flags {
            if let v = try value(of: flag, arg, &args) { return v }
        }
        return nil
    }

    private static func parseCommon(_ arg: String, _ args: inout ArraySlice<String>, into o: inout DaemonOptions)
        throws(UsageError) -> Bool
    {
        // An empty path would be the working directory, where no one looks for units or sockets.
        if let v = try value(of: "--unit-dir", arg, &args) {
            guard !v.isEmpty else { throw UsageError("--unit-dir needs a directory, not an empty path") }
            o.unitDirectories.append(v)
            return true
        }
        if let v = try value(of: "--runtime-dir", arg, &args) {
            guard !v.isEmpty else { throw UsageError("--runtime-dir needs a directory, not an empty path") }
            o.runtimeDirectory = v
            return true
        }
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
