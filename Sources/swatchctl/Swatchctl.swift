import ArgumentParser
import Foundation
import SwatchCore

/// `swatchctl`: talks to a running swatchd over RUNTIME/control (swatchctl(1)). Each
/// subcommand sends one request and prints the answer like systemctl would; exit
/// codes are systemctl's (LSB), 64 for a usage error.
@main
struct Swatchctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swatchctl",
        abstract: "Control a running swatchd: query and change the state of its units.",
        discussion: """
            swatchctl talks to swatchd over the control socket RUNTIME/control; RUNTIME is \
            /run/swatchd for root, else $XDG_RUNTIME_DIR/swatchd (or --runtime-dir).
            Unit names without a type suffix get .service appended.
            """,
        version: "0.1.0",
        subcommands: [
            Status.self, Show.self, Cat.self, ListUnits.self, ListSockets.self, IsActive.self, IsFailed.self,
            Logs.self, ListJobs.self, Start.self, Stop.self, Restart.self, Reload.self, TryRestart.self,
            ReloadOrRestart.self, Kill.self, ResetFailed.self, DaemonReload.self,
        ]
    )

    @OptionGroup var global: GlobalOptions
}

/// The options every command takes, before or after the command name.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("runtime-dir"), help: ArgumentHelp("swatchd's runtime directory (holds the control socket).", valueName: "dir"))
    var runtimeDirectory: String?

    @Flag(help: "Print JSON instead of text (read commands).")
    var json = false

    @Flag(name: .customLong("no-block"), help: "Return once the jobs are queued instead of waiting for them to end.")
    var noBlock = false

    @Flag(name: .customLong("no-pager"), help: "Accepted for systemctl compatibility; swatchctl never pages.")
    var noPager = false

    /// The client for the chosen or default runtime directory.
    func client() throws -> ControlClient {
        if let runtimeDirectory { return ControlClient(runtimeDirectory: runtimeDirectory) }
        guard let directory = ControlClient.defaultRuntimeDirectory() else {
            throw ValidationError("XDG_RUNTIME_DIR is not set; pass --runtime-dir.")
        }
        return ControlClient(runtimeDirectory: directory)
    }

    /// Sends one request; a daemon that cannot be reached ends swatchctl with status 1.
    func send(_ request: ControlRequest) throws -> ControlResponse {
        let client = try client()
        do {
            return try client.send(request)
        } catch {
            Output.error(error.description)
            throw ExitCode(1)
        }
    }
}
