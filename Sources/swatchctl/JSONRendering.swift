import SwatchCore

/// The `--json` shapes: the record keys of the control protocol (systemd's property
/// names), numbers as numbers, lists as arrays. Built here, since the daemon has no
/// Foundation (docs/HACKING.md "Footprint and start-up").
enum JSONRendering {
    static func object(_ report: UnitStatusReport) -> [String: Any] {
        var object: [String: Any] = [
            "Id": report.id, "LoadState": report.loadState.rawValue, "ActiveState": report.activeState.rawValue,
            "SubState": report.subState, "Result": report.result.rawValue, "MainPID": Int(report.mainPID),
            "ExecMainPID": Int(report.execMainPID), "ExecMainCode": Int(report.execMainCode),
            "ExecMainStatus": Int(report.execMainStatus), "NRestarts": report.nRestarts,
            "DropInPaths": report.dropIns, "Triggers": report.triggers.map(\.name),
            "TriggeredBy": report.triggeredBy.map(\.name),
            "Listen": report.listen.map { ["Address": $0.address, "Type": $0.kind] },
            "LogLines": report.logLines,
        ]
        object["Description"] = report.description
        object["LoadError"] = report.loadError
        object["FragmentPath"] = report.fragmentPath
        object["StateChangeTimestamp"] = report.activeSince.map { Int($0) }
        object["MainPIDComm"] = report.mainProcessName
        object["StatusText"] = report.statusText
        object["FailedCondition"] = report.failedCondition
        object["TasksCurrent"] = report.tasks
        object["MemoryCurrent"] = report.memoryBytes.map { Int($0) }
        for (key, units) in report.dependencies where !units.isEmpty { object[key] = units }
        object["NeedDaemonReload"] = report.needDaemonReload
        return object
    }

    static func object(_ entry: UnitListEntry) -> [String: Any] {
        [
            "Id": entry.id, "LoadState": entry.loadState.rawValue, "ActiveState": entry.activeState.rawValue,
            "SubState": entry.subState, "Description": entry.description,
        ]
    }

    static func object(_ listing: SocketListing) -> [String: Any] {
        [
            "Id": listing.unit, "Triggers": listing.activates,
            "Listen": listing.listen.map { ["Address": $0.address, "Type": $0.kind] },
        ]
    }

    static func object(_ entry: UnitLogEntry) -> [String: Any] {
        [
            "UNIT": entry.unit, "MESSAGE": entry.message, "PRIORITY": Int(entry.priority), "_PID": Int(entry.pid),
            "SYSLOG_IDENTIFIER": entry.identifier, "__REALTIME_TIMESTAMP": Int(entry.realtime),
        ]
    }
}
