import SwatchControl

extension Swatchctl {
    /// `logs [UNIT...] [-n N] [-f] [--since TIME] [--until TIME]`: recent lines from swatchd's
    /// memory — what `journalctl -u UNIT -u …` gives, with no journal needed (swatchctl(1)):
    /// the units' lines together, in the order they came; a glob names the loaded units it
    /// matches. Without a unit, every unit's lines, as `journalctl` alone.
    struct Logs: Command {
        static let linesOption = OptionSpec.value(
            "lines", "n", "N", help: "Show the last N lines (default: all kept; 10 with --follow).")
        // anyValue: `--since -5min` is a value, not an option.
        static let sinceOption = OptionSpec.value(
            "since", "S", "TIME", anyValue: true,
            help: "Only lines at or after TIME (systemd.time(7): '2024-11-26 16:20:01', '16:20', '-5min', '5 min ago', 'today', 'yesterday', 'now', '@EPOCH').")
        static let untilOption = OptionSpec.value(
            "until", "U", "TIME", anyValue: true, help: "Only lines at or before TIME (the same forms).")
        static let spec = CommandSpec(
            name: "logs",
            abstract: "Show recent log lines from swatchd's memory (the units' output and swatchd's messages about them); every unit's without a unit.",
            options: [linesOption, .flag("follow", "f", help: "Keep printing new lines until interrupted."), sinceOption, untilOption],
            operands: OperandSpec(name: "UNIT", count: .any, help: "The units, or globs of them (none: every unit)."))

        let global: GlobalOptions
        let lines: Int?
        let follow: Bool
        let since: String?
        let until: String?
        let units: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            lines = try arguments.integer(Self.linesOption)
            follow = arguments.flag("follow")
            since = arguments.value(Self.sinceOption.long)
            until = arguments.value(Self.untilOption.long)
            units = arguments.operands
            if let lines, lines < 0 { throw UsageError("--lines must not be negative.") }
            _ = try window(now: StatusFormat.realtimeNow())
        }

        /// The --since/--until bounds in realtime µs; journalctl's wording for a bad one.
        func window(now: UInt64) throws(UsageError) -> ClosedRange<UInt64> {
            func bound(_ text: String?, _ fallback: UInt64) throws(UsageError) -> UInt64 {
                guard let text else { return fallback }
                guard let value = JournalTime.parse(text, now: now) else {
                    throw UsageError("Failed to parse timestamp: \(text)")
                }
                return value
            }
            let lower = try bound(since, 0), upper = try bound(until, .max)
            guard lower <= upper else { throw UsageError("--since= must be before --until=.") }
            return lower...upper
        }

        func run() throws {
            let window = try self.window(now: StatusFormat.realtimeNow())
            let filtering = since != nil || until != nil
            // With a time window the daemon sends every kept line and swatchctl picks: -n counts
            // the lines inside the window, as journalctl's does.
            let count = filtering ? Int(Int32.max) : lines ?? (follow ? 10 : Int(Int32.max))
            let names = try UnitNames.expand(units, global: global)
            // Globs that match no loaded unit: no lines, as journalctl -u for a unit never seen.
            guard !names.isEmpty || units.isEmpty else { return }
            let request = ControlRequest.logs(units: names, lines: count, follow: follow)
            var result: Int32 = 1
            var malformed = false
            var backlog: [UnitLogEntry] = []
            var answered = false
            func show(_ entry: UnitLogEntry) {
                if global.json {
                    Output.jsonLine(JSONRendering.object(entry))
                } else {
                    Output.line(Output.ellipsized(entry.journalLine, width: global.width))
                }
            }
            do {
                try global.client().stream(request) { event in
                    switch event {
                    case .record(let record):
                        guard let entry = try? UnitLogEntry(record: record) else {
                            malformed = true
                            return false
                        }
                        guard !filtering || window.contains(entry.realtime) else { return true }
                        if answered { show(entry) } else { backlog.append(entry) }
                    case .trailer(let response):
                        answered = true
                        let shown = filtering && lines != nil ? Array(backlog.suffix(lines!)) : backlog
                        shown.forEach(show)
                        backlog = []
                        Output.messages(of: response)
                        result = response.result
                    }
                    return true
                }
            } catch let error as ControlClient.Failure {
                Output.error(error.description)
                throw ExitCode(1)
            }
            if malformed {
                Output.error("Malformed answer from swatchd: a log record without LINE=")
                throw ExitCode(1)
            }
            if result != ControlResponse.Code.success { throw ExitCode(result) }
        }
    }
}
