import SwatchControl

extension Swatchctl {
    /// `cat UNIT...`: the unit file and its drop-ins as swatchd loaded them, each
    /// after a `# PATH` line, as `systemctl cat` prints them.
    struct Cat: Command {
        static let spec = CommandSpec(
            name: "cat", abstract: "Print the unit files and drop-ins of units.",
            operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units to print."))

        let global: GlobalOptions
        let units: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            units = arguments.operands
        }

        func run() throws {
            let names = try UnitNames.expand(units, global: global)
            if names.isEmpty { return }
            let response = try global.send(.show(units: names))
            var blocks: [String] = []
            var missing = false
            for report in try reports(in: response) {
                guard let fragment = report.fragmentPath else {
                    Output.error("No files found for \(report.id).")
                    missing = true
                    continue
                }
                for path in [fragment] + report.dropIns {
                    guard let text = Output.readText(path) else {
                        Output.error("Failed to read \(path).")
                        missing = true
                        continue
                    }
                    blocks.append("# \(path)\n" + (text.hasSuffix("\n") || text.isEmpty ? text : text + "\n"))
                }
            }
            if !blocks.isEmpty { Output.line(String(blocks.joined(separator: "\n").dropLast())) }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
            if missing { throw ExitCode(1) }
        }
    }
}
