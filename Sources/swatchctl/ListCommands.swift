import Glibc
import SwatchControl

extension Swatchctl {
    /// `list-units`: UNIT LOAD ACTIVE SUB DESCRIPTION, as systemctl list-units.
    struct ListUnits: Command {
        static let typeOption = OptionSpec.value(
            "type", "t", "TYPE", help: "Only units of this type: service, socket (comma-separated or repeated).")
        static let stateOption = OptionSpec.value(
            "state", "STATE", help: "Only units in this load, active or sub state (comma-separated or repeated).")
        static let spec = CommandSpec(
            name: "list-units",
            abstract: "List the units swatchd has loaded.",
            discussion: "Every loaded unit, inactive ones included (--all is accepted and changes nothing); --failed, --type and --state filter.",
            options: [
                .flag("all", "a", help: "Accepted for systemctl compatibility: every loaded unit is listed already."),
                .flag("failed", help: "Only failed units (--state=failed)."),
                typeOption, stateOption,
            ],
            operands: OperandSpec(name: "PATTERN", count: .any, help: "Only units whose names match one of these globs."))

        let global: GlobalOptions
        let filter: UnitListFilter
        let patterns: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            patterns = arguments.operands
            filter = UnitListFilter(types: arguments.values(Self.typeOption.long), states: arguments.values(Self.stateOption.long),
                                    failed: arguments.flag("failed"))
            if let unknown = filter.unknownTypes.first {
                throw UsageError("Unknown unit type '\(unknown)': swatchd has service and socket units.")
            }
        }

        func run() throws {
            let response = try global.send(.listUnits)
            let entries: [UnitListEntry]
            do {
                entries = try response.records.map { record in try UnitListEntry(record: record) }.filter { entry in
                    // systemctl list-units PATTERN...: fnmatch(3) against the unit's name.
                    filter.includes(entry) && (patterns.isEmpty || patterns.contains { fnmatch($0, entry.id, 0) == 0 })
                }
            } catch {
                Output.error("Malformed answer from swatchd: \(error)")
                throw ExitCode(1)
            }
            if global.json {
                Output.json(.array(entries.map(JSONRendering.object)))
            } else {
                // systemctl marks failed units with a leading ● in the first two columns.
                let rows = [["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]]
                    + entries.map { [$0.id, $0.loadState.rawValue, $0.activeState.rawValue, $0.subState, $0.description] }
                let marks = [" "] + entries.map { $0.activeState == .failed ? Output.red("●") : " " }
                for (mark, line) in zip(marks, Table.render(rows)) { Output.line(mark + " " + line) }
                Output.line("")
                Output.line("LOAD   = Reflects whether the unit definition was properly loaded.")
                Output.line("ACTIVE = The high-level unit activation state, i.e. generalization of SUB.")
                Output.line("SUB    = The low-level unit activation state, values depend on unit type.")
                Output.line("\(entries.count) loaded units listed.")
            }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
        }
    }

    /// `list-sockets`: LISTEN UNIT ACTIVATES, one row per listener, as systemctl list-sockets.
    struct ListSockets: Command {
        static let spec = CommandSpec(name: "list-sockets", abstract: "List the listening sockets and the units they activate.")
        let global: GlobalOptions
        init(_ arguments: ParsedArguments) throws(UsageError) { global = GlobalOptions(arguments) }

        func run() throws {
            let response = try global.send(.listSockets)
            let listings: [SocketListing]
            do {
                listings = try response.records.map { record in try SocketListing(record: record) }
            } catch {
                Output.error("Malformed answer from swatchd: \(error)")
                throw ExitCode(1)
            }
            if global.json {
                Output.json(.array(listings.map(JSONRendering.object)))
            } else {
                var rows = [["LISTEN", "UNIT", "ACTIVATES"]]
                for listing in listings {
                    for entry in listing.listen {
                        rows.append([entry.address, listing.unit, listing.activates.joined(separator: " ")])
                    }
                }
                for line in Table.render(rows) { Output.line(line) }
                Output.line("")
                Output.line("\(rows.count - 1) sockets listed.")
            }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
        }
    }
}

/// Left-aligned columns separated by one space; the last column is not padded.
enum Table {
    static func render(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: " ")
        }
    }
}

extension Swatchctl {
    /// `list-jobs`: JOB UNIT TYPE STATE, as systemctl list-jobs.
    struct ListJobs: Command {
        static let spec = CommandSpec(name: "list-jobs", abstract: "List the jobs in progress (starts, stops, … not done yet).")
        let global: GlobalOptions
        init(_ arguments: ParsedArguments) throws(UsageError) { global = GlobalOptions(arguments) }

        func run() throws {
            let response = try global.send(.listJobs)
            let rows = response.records.map { [$0["Job"] ?? "", $0["Id"] ?? "", $0["JobType"] ?? "", $0["JobState"] ?? ""] }
            if global.json {
                Output.json(.array(rows.map {
                    ["job": .int(Int($0[0]) ?? 0), "unit": .string($0[1]), "type": .string($0[2]), "state": .string($0[3])]
                }))
            } else if rows.isEmpty {
                Output.line("No jobs running.")
            } else {
                for line in Table.render([["JOB", "UNIT", "TYPE", "STATE"]] + rows) { Output.line(line) }
                Output.line("")
                Output.line("\(rows.count) jobs listed.")
            }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
        }
    }
}
