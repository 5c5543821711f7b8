import ArgumentParser
import SwatchControl

/// Sends a command that changes state, prints its warnings and errors, and exits with
/// its result (0; 1 on failure; 5 for a unit that is not loaded, as systemctl).
private func perform(_ request: ControlRequest, global: GlobalOptions) throws {
    let response = try global.send(request)
    Output.messages(of: response)
    if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
}

extension Swatchctl {
    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start units (a socket: start listening).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to start.") var units: [String]
        func run() throws { try perform(.job(.start, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global) }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop units.",
            discussion: "Stopping a service that a socket can start again prints a warning naming the sockets.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to stop.") var units: [String]
        func run() throws { try perform(.job(.stop, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global) }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop and start units again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to restart.") var units: [String]
        func run() throws { try perform(.job(.restart, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global) }
    }

    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask units to reload their configuration (ExecReload=).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to reload.") var units: [String]
        func run() throws { try perform(.job(.reload, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global) }
    }

    struct TryRestart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "try-restart", abstract: "Restart units that are running; leave the others as they are.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to restart.") var units: [String]
        func run() throws {
            try perform(.job(.tryRestart, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global)
        }
    }

    struct ReloadOrRestart: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reload-or-restart",
            abstract: "Reload units that support it (ExecReload=), restart the others; start them if they are not running.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Units to reload or restart.") var units: [String]
        func run() throws {
            try perform(.job(.reloadOrRestart, units: units.map(UnitNames.mangle), noBlock: global.noBlock), global: global)
        }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a signal to the processes of units.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: ArgumentHelp("The signal: a name (SIGHUP, HUP) or a number.", valueName: "signal"))
        var signal: String = "SIGTERM"
        @Argument(help: "Units to signal.") var units: [String]

        func validate() throws {
            guard SignalName.number(signal) != nil else { throw ValidationError("Invalid signal: \(signal)") }
        }

        func run() throws {
            try perform(.kill(units: units.map(UnitNames.mangle), signal: SignalName.number(signal)!), global: global)
        }
    }

    struct ResetFailed: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-failed", abstract: "Reset the failed state of a unit (of every unit when none is named).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The unit.") var unit: String?
        func run() throws { try perform(.resetFailed(unit: unit.map(UnitNames.mangle)), global: global) }
    }

    struct DaemonReexec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon-reexec",
            abstract: "Re-execute swatchd (the binary now at its path), keeping every socket and service.")
        @OptionGroup var global: GlobalOptions
        func run() throws { try perform(.daemonReexec, global: global) }
    }

    struct DaemonReload: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon-reload",
            abstract: "Re-read the unit directories; unchanged listeners stay bound, unchanged services keep running.")
        @OptionGroup var global: GlobalOptions
        func run() throws { try perform(.daemonReload, global: global) }
    }
}
