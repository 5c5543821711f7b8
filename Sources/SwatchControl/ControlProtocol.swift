// The control protocol between swatchctl and swatchd (swatchctl(1)):
// plain text in sd_notify's spirit, one exchange per connection on the unix
// stream socket RUNTIME/control.
//
// Request: one line, `COMMAND ARG...\n`, words separated by spaces, each word
// escaped by `ControlEscaping.escapeWord` (a unit name or path with a space
// survives as `\x20`). At most `ControlRequest.maximumLineLength` bytes: a client
// sends a longer list of units as several requests (`ControlRequest.split`).
//
//   status [--lines=N] [UNIT...]                        show UNIT...
//   start UNIT...             stop UNIT...              list-units
//   restart UNIT...           reload UNIT...            list-sockets
//   kill --signal=SIGHUP UNIT...                        reset-failed [UNIT]
//   is-active UNIT            is-failed UNIT            daemon-reload
//   logs [UNIT...] N [follow] (the units' lines, no UNIT: every unit's; interleaved in the order they came)
//
// Answer: blocks of `KEY=VALUE` lines, each block ended by an empty line
// (ControlResponse). The records come first, then one trailer block that
// starts with `RESULT=<code>` and may hold `ERROR=` and `WARNING=` lines; then
// the daemon closes the connection. `logs [UNIT...] N follow` is the one exception:
// after the trailer the daemon keeps sending one `LINE=` record per new line of
// the units (of any unit, without UNIT) until the client closes. What each command answers:
//
//   status, show    one UnitStatusReport record per unit found; RESULT=4 and an
//                   ERROR= per unit not found (`Unit x.service could not be found.`).
//                   `status --lines=N`: the records carry the unit's last N log
//                   lines (LogLine=); 10 without the word, as `systemctl status -n`
//   is-active,      one record `Id=`, `ActiveState=`; RESULT=4 when there is no
//   is-failed       such unit (swatchctl then prints `inactive`, as systemctl does)
//   list-units      one UnitListEntry record per unit
//   list-sockets    one SocketListing record per socket unit
//   logs            one UnitLogEntry record per line (oldest first); TIME= lets the
//                   client filter by time (`swatchctl logs --since`)
//   start, stop, restart, reload, kill, reset-failed, daemon-reload
//                   no records; RESULT=0, or 1 with ERROR= (5 when a unit is not
//                   loaded); WARNING= lines, e.g. the stop warning of
//                   `ControlResponse.stopTriggeredWarning`
//
// RESULT is the exit code swatchctl uses (systemctl's LSB codes, see
// ControlResponse.Code), except for `status`, whose 0/3 swatchctl derives from
// the records' ActiveState.

/// One request of the control protocol, typed.
package enum ControlRequest: Equatable, Sendable {
    /// `status [--lines=N] [UNIT...]`: no units means every loaded unit; each record carries
    /// the unit's last `lines` log lines (systemctl status -n, default 10).
    case status(units: [String], lines: Int = ControlRequest.defaultStatusLines)
    /// `show UNIT...`
    case show(units: [String])
    /// `start|stop|restart|reload|try-restart|reload-or-restart [--no-block] UNIT...`: answered
    /// when the jobs are done, or once they are queued with `--no-block` (systemctl(1)).
    case job(JobVerb, units: [String], noBlock: Bool)
    /// `list-jobs`
    case listJobs
    /// `kill --signal=SIG UNIT...`; systemctl's default signal is SIGTERM.
    case kill(units: [String], signal: Int32)
    case listUnits
    case listSockets
    case isActive(unit: String)
    case isFailed(unit: String)
    /// `reset-failed [UNIT]`: no unit means every failed unit.
    case resetFailed(unit: String?)
    /// `logs [UNIT...] N [follow]`: the last `lines` lines of the units together, then (with
    /// follow) every new one; no unit means the lines of every unit, in the order they came.
    case logs(units: [String], lines: Int, follow: Bool)
    case daemonReload
    /// `daemon-reexec`: swatchd executes itself again, keeping every socket and service.
    case daemonReexec

    package static func start(units: [String]) -> ControlRequest { .job(.start, units: units, noBlock: false) }
    package static func stop(units: [String]) -> ControlRequest { .job(.stop, units: units, noBlock: false) }
    package static func restart(units: [String]) -> ControlRequest { .job(.restart, units: units, noBlock: false) }
    package static func reload(units: [String]) -> ControlRequest { .job(.reload, units: units, noBlock: false) }

    /// How many log lines `status` shows without `-n` (systemctl(1), `--lines=`).
    package static let defaultStatusLines = 10

    /// The log lines the status records of this request carry (`status --lines=N`; 10 otherwise).
    package var statusLogLines: Int {
        if case .status(_, let lines) = self { return lines }
        return Self.defaultStatusLines
    }

    /// The longest request line the daemon reads (newline included); a longer one is refused.
    package static let maximumLineLength = 4096

    /// Why a request line could not be parsed; the daemon answers RESULT=64 with this text.
    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case unknownCommand(String)
        case missingArgument(command: String)
        case tooManyArguments(command: String)
        case invalidArgument(command: String, argument: String)
        case invalidEscape(String)

        package var description: String {
            switch self {
            case .empty: return "Empty request"
            case .unknownCommand(let c): return "Unknown command '\(c)'"
            case .missingArgument(let c): return "Too few arguments for '\(c)'"
            case .tooManyArguments(let c): return "Too many arguments for '\(c)'"
            case .invalidArgument(let c, let a): return "Invalid argument for '\(c)': \(a)"
            case .invalidEscape(let w): return "Invalid escape sequence in '\(w)'"
            }
        }
    }

    /// The command word of this request, as on the wire (`daemon-reload`).
    package var command: String {
        switch self {
        case .status: return "status"
        case .show: return "show"
        case .job(let verb, _, _): return verb.rawValue
        case .listJobs: return "list-jobs"
        case .kill: return "kill"
        case .listUnits: return "list-units"
        case .listSockets: return "list-sockets"
        case .isActive: return "is-active"
        case .isFailed: return "is-failed"
        case .resetFailed: return "reset-failed"
        case .logs: return "logs"
        case .daemonReload: return "daemon-reload"
        case .daemonReexec: return "daemon-reexec"
        }
    }

    /// The unescaped argument words after the command.
    package var arguments: [String] {
        switch self {
        case .status(let units, let lines):
            // Said even at the default when the first unit looks like the option, or it would be read as it.
            let says = lines != Self.defaultStatusLines || units.first?.hasPrefix("--lines=") == true
            return (says ? ["--lines=\(lines)"] : []) + units
        case .show(let units):
            return units
        case .job(_, let units, let noBlock):
            return (noBlock ? ["--no-block"] : []) + units
        case .kill(let units, let signal): return ["--signal=" + SignalName.fullName(signal)] + units
        case .listUnits, .listSockets, .listJobs, .daemonReload, .daemonReexec: return []
        case .isActive(let unit), .isFailed(let unit): return [unit]
        case .resetFailed(let unit): return unit.map { [$0] } ?? []
        case .logs(let units, let lines, let follow):
            return units + [String(lines)] + (follow ? ["follow"] : [])
        }
    }

    /// The request line without its newline, every argument escaped.
    package var line: String {
        ([command] + arguments.map(ControlEscaping.escapeWord)).joined(separator: " ")
    }

    /// This request as several whose lines each fit in `maximumLineLength` (newline included):
    /// a list of units too long for one line — a glob that matched a thousand units — is cut
    /// into requests of as many units as fit, in order. The daemon refuses a longer line, and
    /// systemctl, which this stands in for, makes one call per unit. A request without a list
    /// of units stays whole, as does `logs` (its lines interleave across its units) and
    /// `status` without units (which means every unit); so does a unit too long for a line of
    /// its own, which the daemon then refuses.
    package func split(maximumLineLength: Int = ControlRequest.maximumLineLength) -> [ControlRequest] {
        let units: [String]
        let make: ([String]) -> ControlRequest
        // The line with no unit, and room for the `--lines=` that status says before a first
        // unit that looks like it.
        let head: String
        switch self {
        case .status(let list, let lines) where !list.isEmpty:
            (units, make, head) = (list, { .status(units: $0, lines: lines) }, "status --lines=\(lines)")
        case .show(let list):
            (units, make) = (list, { .show(units: $0) })
            head = make([]).line
        case .job(let verb, let list, let noBlock):
            (units, make) = (list, { .job(verb, units: $0, noBlock: noBlock) })
            head = make([]).line
        case .kill(let list, let signal):
            (units, make) = (list, { .kill(units: $0, signal: signal) })
            head = make([]).line
        default:
            return [self]
        }
        guard line.utf8.count + 1 > maximumLineLength else { return [self] }
        var parts: [ControlRequest] = []
        var batch: [String] = []
        var length = head.utf8.count + 1
        for unit in units {
            let word = 1 + ControlEscaping.escapeWord(unit).utf8.count
            if !batch.isEmpty, length + word > maximumLineLength {
                parts.append(make(batch))
                batch = []
                length = head.utf8.count + 1
            }
            batch.append(unit)
            length += word
        }
        if !batch.isEmpty { parts.append(make(batch)) }
        return parts
    }

    /// Parses one request line (with or without its trailing newline).
    package init(line: String) throws(ParseError) {
        var text = Substring(line)
        if text.hasSuffix("\n") { text.removeLast() }
        // Split on the bytes, not on Characters: a space followed by a combining mark is one
        // Character, and would glue two words into one that does not survive a round trip.
        let words = text.utf8.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { Substring(decoding: $0, as: UTF8.self) }
        guard let first = words.first else { throw .empty }
        var arguments: [String] = []
        for word in words.dropFirst() {
            do {
                arguments.append(try ControlEscaping.unescapeWord(String(word)))
            } catch {
                throw .invalidEscape(String(word))
            }
        }
        self = try Self.make(command: String(first), arguments: arguments)
    }

    private static func make(command: String, arguments: [String]) throws(ParseError) -> ControlRequest {
        func units(atLeast minimum: Int) throws(ParseError) -> [String] {
            guard arguments.count >= minimum else { throw .missingArgument(command: command) }
            return arguments
        }
        func one() throws(ParseError) -> String {
            guard arguments.count >= 1 else { throw .missingArgument(command: command) }
            guard arguments.count == 1 else { throw .tooManyArguments(command: command) }
            return arguments[0]
        }
        func none() throws(ParseError) {
            guard arguments.isEmpty else { throw .tooManyArguments(command: command) }
        }
        switch command {
        case "status":
            guard let first = arguments.first, first.hasPrefix("--lines=") else { return .status(units: arguments) }
            guard let lines = Int(first.dropFirst("--lines=".count)), lines >= 0 else {
                throw .invalidArgument(command: command, argument: first)
            }
            return .status(units: Array(arguments.dropFirst()), lines: lines)
        case "show": return .show(units: try units(atLeast: 1))
        case _ where JobVerb(rawValue: command) != nil:
            let noBlock = arguments.first == "--no-block"
            let units = Array(arguments.dropFirst(noBlock ? 1 : 0))
            guard !units.isEmpty else { throw .missingArgument(command: command) }
            return .job(JobVerb(rawValue: command)!, units: units, noBlock: noBlock)
        case "list-jobs":
            try none()
            return .listJobs
        case "kill":
            var signal = SIGTERM_NUMBER
            var rest = arguments[...]
            if let first = rest.first, first.hasPrefix("--signal=") {
                let name = String(first.dropFirst("--signal=".count))
                guard let number = SignalName.number(name) else {
                    throw .invalidArgument(command: command, argument: first)
                }
                signal = number
                rest = rest.dropFirst()
            }
            guard !rest.isEmpty else { throw .missingArgument(command: command) }
            return .kill(units: Array(rest), signal: signal)
        case "list-units":
            try none()
            return .listUnits
        case "list-sockets":
            try none()
            return .listSockets
        case "is-active": return .isActive(unit: try one())
        case "is-failed": return .isFailed(unit: try one())
        case "reset-failed":
            guard arguments.count <= 1 else { throw .tooManyArguments(command: command) }
            return .resetFailed(unit: arguments.first)
        case "logs":
            // A unit name always has a type suffix (systemd.unit(5)), so the first word that is a
            // number is the count, and the words before it are the units.
            let units = Array(arguments.prefix { Int($0) == nil })
            let rest = arguments.dropFirst(units.count)
            guard let count = rest.first else { throw .missingArgument(command: command) }
            guard rest.count <= 2 else { throw .tooManyArguments(command: command) }
            guard let lines = Int(count), lines >= 0 else {
                throw .invalidArgument(command: command, argument: count)
            }
            var follow = false
            if let last = rest.dropFirst().first {
                guard last == "follow" else { throw .invalidArgument(command: command, argument: last) }
                follow = true
            }
            return .logs(units: units, lines: lines, follow: follow)
        case "daemon-reload":
            try none()
            return .daemonReload
        case "daemon-reexec":
            try none()
            return .daemonReexec
        default:
            throw .unknownCommand(command)
        }
    }
}

/// The requests that queue jobs (systemctl(1), "Unit Commands").
package enum JobVerb: String, Hashable, Sendable, CaseIterable {
    case start, stop, restart, reload
    case tryRestart = "try-restart"
    case reloadOrRestart = "reload-or-restart"
    case tryReloadOrRestart = "try-reload-or-restart"
}

/// SIGTERM, systemctl kill's default (systemd.kill(5)).
private let SIGTERM_NUMBER: Int32 = 15
