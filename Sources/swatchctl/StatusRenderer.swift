import SwatchControl

/// Renders a UnitStatusReport as `systemctl status` does (src/systemctl/systemctl-show.c,
/// print_status_info): labels right-aligned to `TriggeredBy:`, the glyph and colour of the
/// active state, `since …; 4s ago`, then the unit's last log lines.
enum StatusRenderer {
    /// `width`: the terminal's, to ellipsize the log lines and the processes to (nil: never, as
    /// with --full). `processes`: the lines below `CGroup:` (CgroupTree.swift).
    static func render(_ report: UnitStatusReport, now: UInt64, width: Int? = nil, processes: [String] = []) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) {
            lines.append(String(repeating: " ", count: max(0, 11 - label.count)) + label + ": " + value)
        }
        func continuation(_ value: String) {
            lines.append(String(repeating: " ", count: 13) + value)
        }

        var header = colored(report.activeState.glyph, report.activeState) + " " + report.id
        if let description = report.description, description != report.id { header += " - " + description }
        lines.append(header)

        let loadBroken = [.error, .notFound, .badSetting].contains(report.loadState)
        let load = loadBroken ? Output.red(report.loadState.rawValue) : report.loadState.rawValue
        if let reason = report.loadError, !reason.isEmpty {
            row("Loaded", "\(load) (Reason: \(reason))")
        } else if let path = report.fragmentPath {
            row("Loaded", "\(load) (\(path))")
        } else {
            row("Loaded", load)
        }

        // Drop-ins grouped by directory, as systemctl prints them.
        var directory: String?
        for dropIn in report.dropIns {
            let slash = dropIn.lastIndex(of: "/")
            let dir = slash.map { String(dropIn[..<$0]) } ?? "."
            let base = slash.map { String(dropIn[dropIn.index(after: $0)...]) } ?? dropIn
            if dir != directory {
                if directory == nil { row("Drop-In", dir) } else { continuation(dir) }
                continuation("└─" + base)
                directory = dir
            } else {
                lines[lines.count - 1] += ", " + base
            }
        }

        var active = report.activeState.rawValue
        if report.subState != report.activeState.rawValue { active += " (\(report.subState))" }
        var activeLine = colored(active, report.activeState)
        if report.result != .success { activeLine += " (Result: \(report.result.rawValue))" }
        if let since = report.activeSince, since > 0 {
            activeLine += " since \(StatusFormat.timestamp(since)); \(StatusFormat.relative(since, now: now))"
        }
        row("Active", activeLine)

        for (index, unit) in report.triggeredBy.enumerated() {
            let text = colored(unit.activeState.glyph, unit.activeState) + " " + unit.name
            if index == 0 { row("TriggeredBy", text) } else { continuation(text) }
        }
        // systemctl always prints ● before Triggers: entries, coloured by their state.
        for (index, unit) in report.triggers.enumerated() {
            let text = colored("●", unit.activeState) + " " + unit.name
            if index == 0 { row("Triggers", text) } else { continuation(text) }
        }
        for (index, entry) in report.listen.enumerated() {
            if index == 0 { row("Listen", entry.description) } else { continuation(entry.description) }
        }
        if let connections = report.connections, connections.accept { row("Accepted", connections.statusText) }

        // systemctl's "Condition: start condition unmet at …" / "Assert: start assertion failed at …".
        if let failed = report.failedCondition {
            let assertion = failed.hasPrefix("Assert")
            var text = assertion ? "start assertion failed" : "start condition unmet"
            if let since = report.failedConditionSince, since > 0 {
                text += " at \(StatusFormat.timestamp(since)); \(StatusFormat.relative(since, now: now))"
            }
            row(assertion ? "Assert" : "Condition", text)
            continuation("└─ \(failed) was not met")
        }

        // systemctl's print_status_info(): the main process, then the control process on the
        // same line, or on a line of its own ("Cntrl PID") when there is no main one.
        var main: String?
        if report.mainPID > 0 {
            main = "\(report.mainPID)" + (report.mainProcessName.map { " (\($0))" } ?? "")
        } else if report.execMainPID > 0, report.execMainCode > 0 {
            let exit = StatusFormat.processExit(code: report.execMainCode, status: report.execMainStatus)
            let clean = report.execMainCode == 1 && report.execMainStatus == 0
            main = "\(report.execMainPID) (\(clean ? exit : Output.red(exit)))"
        }
        let control = report.controlPID > 0
            ? "\(report.controlPID)" + (report.controlProcessName.map { " (\($0))" } ?? "") : nil
        switch (main, control) {
        case let (main?, control?): row("Main PID", main + "; Control PID: " + control)
        case let (main?, nil): row("Main PID", main)
        case let (nil, control?): row("Cntrl PID", control)
        case (nil, nil): break
        }
        if let status = report.statusText, !status.isEmpty { row("Status", "\"\(status)\"") }
        if let tasks = report.tasks { row("Tasks", StatusFormat.tasks(tasks, limit: report.tasksMax)) }
        if let memory = report.memoryBytes { row("Memory", StatusFormat.memory(memory, max: report.memoryMax)) }
        if let cpu = report.cpuUsageNanoseconds {
            row("CPU", TimeSpan(microseconds: cpu / 1000).description(accuracy: .milliseconds(1)))
        }
        if let group = report.controlGroup {
            row("CGroup", group)
            for line in processes { continuation(Output.ellipsized(line, width: width.map { $0 - 13 })) }
        }

        if !report.logLines.isEmpty {
            lines.append("")
            lines += report.logLines.map { Output.ellipsized($0, width: width) }
        }
        return lines.joined(separator: "\n")
    }

    /// systemctl's format_active_state(): green for active/reloading, red for failed.
    static func colored(_ text: String, _ state: UnitActiveState) -> String {
        switch state {
        case .active, .reloading: return Output.green(text)
        case .failed: return Output.red(text)
        case .inactive, .activating, .deactivating: return text
        }
    }
}
