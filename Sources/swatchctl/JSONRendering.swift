import SwatchControl

/// The `--json` shapes: the record keys of the control protocol (systemd's property
/// names), numbers as numbers, lists as arrays. Built here with swatchctl's own `JSON`
/// (JSON.swift): neither swatchd nor swatchctl links Foundation (docs/HACKING.md
/// "Footprint and start-up").
enum JSONRendering {
    static func object(_ report: UnitStatusReport) -> JSON {
        var object: [String: JSON] = [
            "Id": .string(report.id), "LoadState": .string(report.loadState.rawValue),
            "ActiveState": .string(report.activeState.rawValue), "SubState": .string(report.subState),
            "Result": .string(report.result.rawValue), "MainPID": .int(Int(report.mainPID)),
            "ControlPID": .int(Int(report.controlPID)),
            "ExecMainPID": .int(Int(report.execMainPID)), "ExecMainCode": .int(Int(report.execMainCode)),
            "ExecMainStatus": .int(Int(report.execMainStatus)), "NRestarts": .int(report.nRestarts),
            "DropInPaths": JSON(report.dropIns), "Triggers": JSON(report.triggers.map(\.name)),
            "TriggeredBy": JSON(report.triggeredBy.map(\.name)),
            "Listen": .array(report.listen.map { ["Address": .string($0.address), "Type": .string($0.kind)] }),
            "LogLines": JSON(report.logLines),
        ]
        object["Description"] = report.description.map(JSON.string)
        object["LoadError"] = report.loadError.map(JSON.string)
        object["Type"] = report.serviceType.map(JSON.string)
        object["FragmentPath"] = report.fragmentPath.map(JSON.string)
        object["StateChangeTimestamp"] = report.activeSince.map { .int(Int($0)) }
        object["MainPIDComm"] = report.mainProcessName.map(JSON.string)
        object["ControlPIDComm"] = report.controlProcessName.map(JSON.string)
        object["StatusText"] = report.statusText.map(JSON.string)
        object["NFileDescriptorStore"] = report.fileDescriptorStore.map(JSON.int)
        object["FailedCondition"] = report.failedCondition.map(JSON.string)
        object["TasksCurrent"] = report.tasks.map(JSON.int)
        object["MemoryCurrent"] = report.memoryBytes.map { .int(Int($0)) }
        object["TasksMax"] = report.tasksMax.map { .int(Int(clamping: $0)) }
        object["MemoryMax"] = report.memoryMax.map { .int(Int(clamping: $0)) }
        object["ControlGroup"] = report.controlGroup.map(JSON.string)
        object["CPUUsageNSec"] = report.cpuUsageNanoseconds.map { .int(Int(clamping: $0)) }
        for (key, units) in report.dependencies where !units.isEmpty { object[key] = JSON(units) }
        if let connections = report.connections {
            object["Accept"] = .bool(connections.accept)
            object["NAccepted"] = .int(connections.accepted)
            object["NConnections"] = .int(connections.connected)
            object["NRefused"] = .int(connections.refused)
        }
        object["NeedDaemonReload"] = .bool(report.needDaemonReload)
        return .object(object)
    }

    static func object(_ entry: UnitListEntry) -> JSON {
        [
            "Id": .string(entry.id), "LoadState": .string(entry.loadState.rawValue),
            "ActiveState": .string(entry.activeState.rawValue), "SubState": .string(entry.subState),
            "Description": .string(entry.description),
        ]
    }

    static func object(_ listing: SocketListing) -> JSON {
        [
            "Id": .string(listing.unit), "Triggers": JSON(listing.activates),
            "Listen": .array(listing.listen.map { ["Address": .string($0.address), "Type": .string($0.kind)] }),
        ]
    }

    static func object(_ entry: UnitLogEntry) -> JSON {
        [
            "UNIT": .string(entry.unit), "MESSAGE": .string(entry.message), "PRIORITY": .int(Int(entry.priority)),
            "_PID": .int(Int(entry.pid)), "SYSLOG_IDENTIFIER": .string(entry.identifier),
            "__REALTIME_TIMESTAMP": .int(Int(entry.realtime)),
        ]
    }
}
