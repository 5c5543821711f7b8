import SwatchControl

/// The commands that change state: each sends one request, prints its warnings and errors,
/// and exits with its result (0; 1 on failure; 5 for a unit that is not loaded, as systemctl).
enum ChangeCommands {
    static let entries: [CommandEntry] = [
        job(.start, "Start units (a socket: start listening)."),
        job(.stop, "Stop units.",
            discussion: "Stopping a service that a socket can start again prints a warning naming the sockets."),
        job(.restart, "Stop and start units again."),
        job(.reload, "Ask units to reload their configuration (ExecReload=)."),
        job(.tryRestart, "Restart units that are running; leave the others as they are. Also: condrestart.",
            aliases: ["condrestart"]),
        job(.reloadOrRestart,
            "Reload units that support it (ExecReload=), restart the others; start them if they are not running."),
        job(.tryReloadOrRestart,
            "Reload or restart units as reload-or-restart, those that are running only. Also: force-reload, "
                + "condreload, reload-or-try-restart.",
            aliases: ["force-reload", "condreload", "reload-or-try-restart"]),
        Kill.entry,
        CommandEntry(spec: CommandSpec(
            name: "reset-failed", abstract: "Reset the failed state of units (of every unit when none is named).",
            operands: OperandSpec(name: "UNIT", count: .any, help: "The units."))
        ) { arguments in
            guard !arguments.operands.isEmpty else { return try perform(.resetFailed(unit: nil), arguments) }
            // One request per unit, as systemctl makes one ResetFailedUnit() call per name.
            for unit in try UnitNames.expand(arguments.operands, global: GlobalOptions(arguments)) {
                try perform(.resetFailed(unit: unit), arguments)
            }
        },
        daemon("daemon-reload", .daemonReload,
               "Re-read the unit directories; unchanged listeners stay bound, unchanged services keep running."),
        daemon("daemon-reexec", .daemonReexec,
               "Re-execute swatchd (the binary now at its path), keeping every socket and service."),
    ]

    /// start, stop, restart, …: one job for each unit named.
    private static func job(_ verb: JobVerb, _ abstract: String, discussion: String? = nil,
                            aliases: [String] = []) -> CommandEntry {
        let spec = CommandSpec(name: verb.rawValue, abstract: abstract, aliases: aliases, discussion: discussion,
                               operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units."))
        return CommandEntry(spec: spec) { arguments in
            let global = GlobalOptions(arguments)
            let units = try UnitNames.expand(arguments.operands, global: global)
            if units.isEmpty { return }
            try perform(.job(verb, units: units, noBlock: global.noBlock), arguments)
        }
    }

    /// A request to the daemon itself, about no unit.
    private static func daemon(_ name: String, _ request: ControlRequest, _ abstract: String) -> CommandEntry {
        CommandEntry(spec: CommandSpec(name: name, abstract: abstract)) { arguments in try perform(request, arguments) }
    }

    private static func perform(_ request: ControlRequest, _ arguments: ParsedArguments) throws {
        let response = try GlobalOptions(arguments).send(request)
        Output.messages(of: response)
        if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
    }

    struct Kill: Command {
        static let signalOption = OptionSpec.value(
            "signal", "s", "SIGNAL", help: "The signal: a name (SIGHUP, HUP) or a number (default SIGTERM).")
        static let spec = CommandSpec(
            name: "kill", abstract: "Send a signal to the processes of units.", options: [signalOption],
            operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units to signal."))
        let arguments: ParsedArguments
        let signal: Int32

        init(_ arguments: ParsedArguments) throws(UsageError) {
            let name = arguments.value(Self.signalOption.long) ?? "SIGTERM"
            guard let number = SignalName.number(name) else { throw UsageError("Invalid signal: \(name)") }
            self.arguments = arguments
            signal = number
        }

        func run() throws {
            let units = try UnitNames.expand(arguments.operands, global: GlobalOptions(arguments))
            if units.isEmpty { return }
            try perform(.kill(units: units, signal: signal), arguments)
        }
    }
}
