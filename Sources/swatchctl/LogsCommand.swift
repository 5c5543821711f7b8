import ArgumentParser
import SwatchCore

extension Swatchctl {
    /// `logs UNIT [-n N] [-f]`: the unit's recent lines from swatchd's memory — what
    /// `journalctl -u` gives, with no journal needed (swatchctl(1)).
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a unit's recent log lines from swatchd's memory (its output and swatchd's messages about it).")

        @OptionGroup var global: GlobalOptions
        @Option(name: [.customShort("n"), .customLong("lines")], help: "Show the last N lines (default: all kept; 10 with --follow).")
        var lines: Int?
        @Flag(name: [.short, .long], help: "Keep printing new lines until interrupted.")
        var follow = false
        @Argument(help: "The unit.") var unit: String

        func validate() throws {
            if let lines, lines < 0 { throw ValidationError("--lines must not be negative.") }
        }

        func run() throws {
            let count = lines ?? (follow ? 10 : Int(Int32.max))
            let request = ControlRequest.logs(unit: UnitNames.mangle(unit), lines: count, follow: follow)
            var result: Int32 = 1
            var malformed = false
            do {
                try global.client().stream(request) { event in
                    switch event {
                    case .record(let record):
                        guard let entry = try? UnitLogEntry(record: record) else {
                            malformed = true
                            return false
                        }
                        if global.json {
                            Output.jsonLine(JSONRendering.object(entry))
                        } else {
                            Output.line(entry.journalLine)
                        }
                    case .trailer(let response):
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
