import ArgumentParser
import SwatchControl

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
            --runtime-dir, else $SWATCHD_RUNTIME_DIR, else /run/swatchd for root and \
            $XDG_RUNTIME_DIR/swatchd for others.
            Unit names without a type suffix get .service appended.
            """,
        version: "0.1.0",
        subcommands: [
            Status.self, Show.self, Cat.self, ListUnits.self, ListSockets.self, ListDependencies.self, IsActive.self,
            IsFailed.self, Logs.self, ListJobs.self, Start.self, Stop.self, Restart.self, Reload.self, TryRestart.self,
            ReloadOrRestart.self, Kill.self, ResetFailed.self, DaemonReload.self, DaemonReexec.self,
        ]
    )

    @OptionGroup var global: GlobalOptions

    /// Parses and runs, after catching what the argument parser would only call an unknown
    /// subcommand: a typo gets the nearest verb, and a systemctl verb swatchctl lacks says what
    /// to do instead (CommandSuggestion.swift).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let verb = Self.verb(in: arguments) {
            let verbs = configuration.subcommands.map { $0._commandName } + ["help"]
            if !verbs.contains(verb) {
                if let advice = CommandSuggestion.advice(for: verb) {
                    Output.error("swatchctl: " + advice)
                    Self.exit(withError: ExitCode(1))
                }
                Output.error(CommandSuggestion.unknownCommand(verb, among: verbs))
                Self.exit(withError: ExitCode.validationFailure)
            }
        }
        main(arguments)
    }

    /// The first word that is not an option nor an option's value: the verb. nil when there is
    /// none, or when the parser is asked for something else (help, version, completion scripts).
    static func verb(in arguments: [String]) -> String? {
        // The options of any command that take a separate value (`--runtime-dir DIR`).
        let taking: Set<String> = [
            "--runtime-dir", "-p", "--property", "-n", "--lines", "-s", "--signal", "-t", "--type", "--state",
            "--since", "-S", "--until", "-U",
        ]
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            if word == "--" { return nil }
            if word.hasPrefix("--generate-completion-script") || word == "--help" || word == "-h"
                || word == "--version" || word.hasPrefix("--experimental") { return nil }
            if word.hasPrefix("-") {
                index += taking.contains(word) ? 2 : 1
                continue
            }
            return word
        }
        return nil
    }
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

    @Flag(name: [.customShort("l"), .customLong("full")], help: "Do not ellipsize unit names and log lines to the terminal's width.")
    var full = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "is-active, is-failed: print nothing, only exit with the status.")
    var quiet = false

    /// The terminal's width when lines are to be ellipsized to it: on a terminal, without --full.
    var width: Int? { full ? nil : Output.terminalColumns }

    /// The client for the chosen or default runtime directory: --runtime-dir, else
    /// $SWATCHD_RUNTIME_DIR, else the daemon's default (swatchctl(1), "ENVIRONMENT").
    func client() throws -> ControlClient {
        if let runtimeDirectory { return ControlClient(runtimeDirectory: runtimeDirectory) }
        if let fromEnvironment = Output.environment("SWATCHD_RUNTIME_DIR"), !fromEnvironment.isEmpty {
            return ControlClient(runtimeDirectory: fromEnvironment)
        }
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
