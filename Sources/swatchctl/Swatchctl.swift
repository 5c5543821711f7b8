import Glibc
import SwatchControl

/// One command of swatchctl: its place in the command line, and what it does with what it is
/// given: prints the answer, ends with `ExitCode` for any status but 0.
struct CommandEntry: Sendable {
    let spec: CommandSpec
    let run: @Sendable (ParsedArguments) throws -> Void
}

/// A command with more to it than a request: its arguments are read into its fields first
/// (a value it cannot take is a usage error), then it runs.
protocol Command: Sendable {
    static var spec: CommandSpec { get }
    init(_ arguments: ParsedArguments) throws(UsageError)
    func run() throws
}

extension Command {
    static var entry: CommandEntry { CommandEntry(spec: spec) { arguments in try Self(arguments).run() } }
}

/// `swatchctl`: talks to a running swatchd over RUNTIME/control (swatchctl(1)). Each
/// command sends one request and prints the answer like systemctl would; exit codes are
/// systemctl's (LSB), 64 for a usage error.
@main
enum Swatchctl {
    static let commands: [CommandEntry] = [
        Status.entry, Show.entry, Cat.entry, ListUnits.entry, ListSockets.entry, ListDependencies.entry, isActive,
        isFailed, Logs.entry, ListJobs.entry,
    ] + ChangeCommands.entries

    static let tool = ToolSpec(
        name: "swatchctl",
        version: "0.1.0",
        abstract: "Control a running swatchd: query and change the state of its units.",
        discussion: """
            swatchctl talks to swatchd over the control socket RUNTIME/control; RUNTIME is \
            --runtime-dir, else $SWATCHD_RUNTIME_DIR, else /run/swatchd for root and \
            $XDG_RUNTIME_DIR/swatchd for others. Unit names without a type suffix get .service \
            appended. Without a command, swatchctl lists the units, as systemctl does.
            """,
        global: GlobalOptions.specs,
        commands: commands.map(\.spec))

    static func main() {
        let invocation: ArgumentParsing.Invocation
        do {
            invocation = try ArgumentParsing.parse(
                Array(ProcessArguments.current().dropFirst()), commands: tool.commands, global: tool.global,
                defaultCommand: ListUnits.spec.name)
        } catch {
            switch error {
            case .usage(let usage, let command):
                Output.error(HelpText.usageError(usage, command: command, of: tool))
                exit(ExitCode.usage.status)
            case .unknownCommand(let message):
                Output.error(message)
                exit(ExitCode.usage.status)
            case .notACommand(let advice):
                Output.error(advice)
                exit(1)
            }
        }
        switch invocation {
        case .help(let command):
            if let command {
                Output.write(HelpText.command(command, of: tool), to: 1)
            } else {
                Output.write(HelpText.overview(tool), to: 1)
            }
        case .version:
            Output.line(tool.version)
        case .completionScript(let shell):
            guard let script = CompletionScripts.script(for: shell, of: tool) else {
                let error = UsageError("Unknown shell '\(shell)': bash, zsh or fish")
                Output.error(HelpText.usageError(error, command: nil, of: tool))
                exit(ExitCode.usage.status)
            }
            Output.write(script, to: 1)
        case .run(let index, let arguments):
            let command = commands[index]
            do {
                try command.run(arguments)
            } catch let error as ExitCode {
                exit(error.status)
            } catch let error as UsageError {
                Output.error(HelpText.usageError(error, command: command.spec, of: tool))
                exit(ExitCode.usage.status)
            } catch {
                Output.error("swatchctl: \(error)")
                exit(1)
            }
        }
    }
}

/// The options every command takes, before or after the command name.
struct GlobalOptions {
    static let runtimeDirectoryOption = OptionSpec.value(
        "runtime-dir", "DIR", help: "swatchd's runtime directory (holds the control socket).")
    static let specs: [OptionSpec] = [
        runtimeDirectoryOption,
        .flag("json", help: "Print JSON instead of text (read commands)."),
        .flag("no-block", help: "Return once the jobs are queued instead of waiting for them to end."),
        .flag("no-pager", help: "Accepted for systemctl compatibility; swatchctl never pages."),
        .flag("full", "l", help: "Do not ellipsize unit names and log lines to the terminal's width."),
        .flag("quiet", "q", help: "is-active, is-failed: print nothing, only exit with the status."),
    ]

    let runtimeDirectory: String?
    let json: Bool
    let noBlock: Bool
    let full: Bool
    let quiet: Bool

    init(_ arguments: ParsedArguments) {
        runtimeDirectory = arguments.value(Self.runtimeDirectoryOption.long)
        json = arguments.flag("json")
        noBlock = arguments.flag("no-block")
        full = arguments.flag("full")
        quiet = arguments.flag("quiet")
    }

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
            throw UsageError("XDG_RUNTIME_DIR is not set; pass --runtime-dir.")
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
