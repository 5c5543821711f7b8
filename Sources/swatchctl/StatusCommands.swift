import SwatchControl

/// Reads the UnitStatusReports of an answer; a record swatchctl cannot read is a daemon bug.
func reports(in response: ControlResponse) throws -> [UnitStatusReport] {
    do {
        return try response.records.map { record in try UnitStatusReport(record: record) }
    } catch {
        Output.error("Malformed answer from swatchd: \(error)")
        throw ExitCode(1)
    }
}

extension Swatchctl {
    /// `status [UNIT...]`: systemctl-like status, exit 0 active, 3 inactive/failed, 4 no such unit.
    struct Status: Command {
        static let linesOption = OptionSpec.value("lines", "n", "N", help: "How many of the unit's last log lines to show.")
        static let spec = CommandSpec(
            name: "status",
            abstract: "Show the runtime status of units (all units when none is named).",
            discussion: "Exit status: 0 when every unit is active, 3 when one is not, 4 when one does not exist.",
            options: [linesOption],
            operands: OperandSpec(name: "UNIT", count: .any, help: "The units to show."))

        let global: GlobalOptions
        let lines: Int
        let units: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            lines = try arguments.integer(Self.linesOption) ?? ControlRequest.defaultStatusLines
            units = arguments.operands
            if lines < 0 { throw UsageError("--lines must not be negative.") }
        }

        func run() throws {
            let names = try UnitNames.expand(units, global: global)
            // Patterns that match no unit show nothing, not every unit (what no name asks for).
            if !units.isEmpty && names.isEmpty { return }
            let response = try global.send(.status(units: names, lines: lines))
            let found = try reports(in: response)
            if global.json {
                Output.json(.array(found.map(JSONRendering.object)))
            } else if !found.isEmpty {
                let now = StatusFormat.realtimeNow()
                Output.line(found.map { report in
                    StatusRenderer.render(report, now: now, width: global.width,
                                          processes: report.controlGroup.map(CgroupTree.lines(of:)) ?? [])
                }.joined(separator: "\n\n"))
            }
            // systemctl's warn_unit_file_changed() (src/systemctl/systemctl-util.c), on stderr.
            for report in found where report.needDaemonReload && !global.json {
                Output.error("Warning: The unit file, source configuration file or drop-ins of \(report.id) changed on disk. "
                    + "Run 'swatchctl daemon-reload' to reload units.")
            }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success {
                throw ExitCode(response.result)
            }
            // LSB: status of a unit that is not running is 3 (systemctl(1), "EXIT STATUS").
            if !units.isEmpty, found.contains(where: { !$0.activeState.isActive }) {
                throw ExitCode(ControlResponse.Code.notActive)
            }
        }
    }

    /// `show UNIT...`: properties as KEY=VALUE lines, like `systemctl show`.
    struct Show: Command {
        static let propertyOption = OptionSpec.value(
            "property", "p", "NAME", help: "Show only this property; NAME,NAME... names several (repeatable).")
        static let spec = CommandSpec(
            name: "show", abstract: "Show properties of units as KEY=VALUE lines.",
            options: [propertyOption, .flag("value", help: "Print only the values of the properties, without KEY=.")],
            operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units to show."))

        let global: GlobalOptions
        let properties: [String]
        let value: Bool
        let units: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            // systemctl's -p takes a comma-separated list as well as repeats (`-p MainPID,ActiveState`).
            properties = arguments.values(Self.propertyOption.long).flatMap { $0.split(separator: ",").map(String.init) }
            value = arguments.flag("value")
            units = arguments.operands
        }

        func run() throws {
            let names = try UnitNames.expand(units, global: global)
            if names.isEmpty { return }
            let response = try global.send(.show(units: names))
            let found = try reports(in: response)
            if global.json {
                Output.json(.array(found.map(JSONRendering.object)))
            } else {
                let blocks = found.map { report in
                    Self.properties(of: report)
                        .filter { properties.isEmpty || properties.contains($0.0) }
                        .map { value ? $0.1 : "\($0.0)=\($0.1)" }
                        .joined(separator: "\n")
                }
                Output.line(blocks.joined(separator: "\n\n"))
            }
            Output.messages(of: response)
            if response.result != ControlResponse.Code.success { throw ExitCode(response.result) }
        }

        /// systemctl show's names and renderings: lists of units space-separated, unset numbers
        /// `[not set]`, one `Listen=` line per listener.
        static func properties(of report: UnitStatusReport) -> [(String, String)] {
            var list: [(String, String)] = [
                ("Id", report.id),
                ("Description", report.description ?? report.id),
                ("LoadState", report.loadState.rawValue),
            ]
            if let error = report.loadError { list.append(("LoadError", error)) }
            if let type = report.serviceType { list.append(("Type", type)) }
            list += [
                ("FragmentPath", report.fragmentPath ?? ""),
                ("DropInPaths", report.dropIns.joined(separator: " ")),
                ("ActiveState", report.activeState.rawValue),
                ("SubState", report.subState),
                ("Result", report.result.rawValue),
                ("StateChangeTimestamp", report.activeSince.map(StatusFormat.timestamp) ?? ""),
                ("MainPID", String(report.mainPID)),
                ("ControlPID", String(report.controlPID)),
                ("ExecMainPID", String(report.execMainPID)),
                ("ExecMainCode", String(report.execMainCode)),
                ("ExecMainStatus", String(report.execMainStatus)),
                ("NRestarts", String(report.nRestarts)),
                ("StatusText", report.statusText ?? ""),
                ("NFileDescriptorStore", report.fileDescriptorStore.map { String($0) } ?? "0"),
                // systemctl's ConditionResult=/AssertResult= of the last start; which check failed, as written.
                ("ConditionResult", report.failedCondition?.hasPrefix("Condition") == true ? "no" : "yes"),
                ("AssertResult", report.failedCondition?.hasPrefix("Assert") == true ? "no" : "yes"),
                ("FailedCondition", report.failedCondition ?? ""),
                ("TasksCurrent", report.tasks.map { String($0) } ?? "[not set]"),
                ("MemoryCurrent", report.memoryBytes.map { String($0) } ?? "[not set]"),
                ("TasksMax", report.tasksMax.map { String($0) } ?? "infinity"),
                ("MemoryMax", report.memoryMax.map { String($0) } ?? "infinity"),
                ("CPUUsageNSec", report.cpuUsageNanoseconds.map { String($0) } ?? "[not set]"),
                ("ControlGroup", report.controlGroup ?? ""),
            ]
            // Dependency lists only when set, as systemctl show leaves out empty ones without --all.
            list += report.dependencies.filter { !$0.units.isEmpty }.map { ($0.key, $0.units.joined(separator: " ")) }
            list += [
                ("Triggers", report.triggers.map(\.name).joined(separator: " ")),
                ("TriggeredBy", report.triggeredBy.map(\.name).joined(separator: " ")),
                ("NeedDaemonReload", report.needDaemonReload ? "yes" : "no"),
            ]
            list += report.listen.map { ("Listen", $0.description) }
            if let connections = report.connections {
                list += [("Accept", connections.accept ? "yes" : "no"), ("NAccepted", String(connections.accepted)),
                         ("NConnections", String(connections.connected)), ("NRefused", String(connections.refused))]
            }
            return list
        }
    }

    /// `is-active UNIT...`, `is-failed UNIT...`: prints each unit's state, one line each; exits 0
    /// when `holds` says yes of at least one, `otherwise` when of none (an unknown unit is
    /// `inactive`), as systemctl's check_unit_generic() does.
    static func stateQuery(_ name: String, _ abstract: String, request: @escaping @Sendable (String) -> ControlRequest,
                           holds: @escaping @Sendable (UnitActiveState) -> Bool, otherwise: Int32) -> CommandEntry {
        let spec = CommandSpec(name: name, abstract: abstract,
                               operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units."))
        return CommandEntry(spec: spec) { arguments in
            let global = GlobalOptions(arguments)
            var anyHolds = false
            for unit in try UnitNames.expand(arguments.operands, global: global) {
                let state = try activeState(global: global, request: request(unit))
                if !global.quiet { print(state: state, unit: unit, json: global.json) }
                anyHolds = anyHolds || holds(state)
            }
            if !anyHolds { throw ExitCode(otherwise) }
        }
    }

    static let isActive = stateQuery(
        "is-active", "Print whether units are active; exit 0 if one is, 3 if none is.", request: { .isActive(unit: $0) },
        holds: { $0.isActive }, otherwise: ControlResponse.Code.notActive)
    static let isFailed = stateQuery(
        "is-failed", "Print whether units are failed; exit 0 if one is, 1 if none is.", request: { .isFailed(unit: $0) },
        holds: { $0 == .failed }, otherwise: 1)
}

/// The ActiveState= of an is-active/is-failed answer; a unit swatchd does not know is
/// `inactive`, as systemctl says of units it cannot find.
private func activeState(global: GlobalOptions, request: ControlRequest) throws -> UnitActiveState {
    let response = try global.send(request)
    if response.result == ControlResponse.Code.noSuchUnit { return .inactive }
    guard response.result == ControlResponse.Code.success else {
        Output.messages(of: response)
        throw ExitCode(response.result)
    }
    guard let text = response.records.first?["ActiveState"], let state = UnitActiveState(rawValue: text) else {
        Output.error("Malformed answer from swatchd: no ActiveState=")
        throw ExitCode(1)
    }
    return state
}

private func print(state: UnitActiveState, unit: String, json: Bool) {
    if json {
        Output.json(["Id": .string(unit), "ActiveState": .string(state.rawValue)])
    } else {
        Output.line(state.rawValue)
    }
}
