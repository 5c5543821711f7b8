// What `swatchctl status` and `swatchctl show` print about one unit: the
// daemon fills a UnitStatusReport, sends it as one record (`toRecord()`), and
// swatchctl reads it back (`init(record:)`) and renders it. Record keys are
// systemd's property names (systemctl show, org.freedesktop.systemd1(5)) where
// systemd has one, so `show` can print them as they are.

/// systemd's LoadState: whether the unit file was loaded.
package enum UnitLoadState: String, Equatable, Sendable, CaseIterable {
    case loaded
    case notFound = "not-found"
    /// The unit file has an invalid setting; swatchd refuses the unit (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").
    case badSetting = "bad-setting"
    case error
    case masked
}

/// systemd's ActiveState: the high-level state every unit type shares.
package enum UnitActiveState: String, Equatable, Sendable, CaseIterable {
    case active, reloading, inactive, failed, activating, deactivating

    /// The glyph systemctl prints before a unit (systemd's unit_active_state_to_glyph()):
    /// `●` active or changing, `○` inactive, `×` failed.
    package var glyph: String {
        switch self {
        case .active, .reloading, .activating, .deactivating: return "●"
        case .inactive: return "○"
        case .failed: return "×"
        }
    }

    /// `is-active` succeeds for these (systemctl: active and reloading count as active).
    package var isActive: Bool { self == .active || self == .reloading }
}

/// systemd's Result of a service or socket: why it last stopped or failed.
package enum UnitResult: String, Equatable, Sendable, CaseIterable {
    case success
    case resources
    case timeout
    case exitCode = "exit-code"
    case signal
    case coreDump = "core-dump"
    case watchdog
    case startLimitHit = "start-limit-hit"
    case `protocol`
    /// An ExecCondition= command skipped the start.
    case execCondition = "exec-condition"
}

/// A unit named in Triggers=/TriggeredBy=, with its state for the glyph systemctl prints before it.
package struct UnitReference: Equatable, Sendable {
    package var name: String
    package var activeState: UnitActiveState

    /// `hello.socket active` in a record; unit names hold no spaces (systemd.unit(5)).
    var recordValue: String { name + " " + activeState.rawValue }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(name: String, activeState: UnitActiveState) {
        self.name = name
        self.activeState = activeState
    }
}

extension UnitReference {
    init?(recordValue: String) {
        guard let space = recordValue.lastIndex(of: " "),
            let state = UnitActiveState(rawValue: String(recordValue[recordValue.index(after: space)...]))
        else { return nil }
        self.init(name: String(recordValue[..<space]), activeState: state)
    }
}

/// A socket unit's connections as systemctl shows them (`Accepted: 4; Connected: 1;`, with
/// `Refused: N` once one was; NAccepted=, NConnections=, NRefused=): with Accept=yes, the
/// connections that made an instance, the instances that hold theirs, and those closed at once
/// for MaxConnections=, MaxConnectionsPerSource= or a shutdown.
package struct SocketConnections: Equatable, Sendable {
    package var accept: Bool
    package var accepted = 0
    package var connected = 0
    package var refused = 0

    package init(accept: Bool, accepted: Int = 0, connected: Int = 0, refused: Int = 0) {
        (self.accept, self.accepted, self.connected, self.refused) = (accept, accepted, connected, refused)
    }

    /// What follows `Accepted:` in `systemctl status` (print_status_info(), src/systemctl/systemctl-show.c).
    package var statusText: String {
        "\(accepted); Connected: \(connected);" + (refused > 0 ? "   Refused: \(refused)" : "")
    }
}

/// One listening socket of a socket unit: `[::]:8080 (Stream)`, as systemctl prints Listen=.
package struct ListenEntry: Equatable, Sendable {
    /// systemd's port type (socket_port_type_to_string()): `Stream`, `Datagram`, `SequentialPacket`,
    /// `FIFO`, `Special`, `MessageQueue`, `Netlink`.
    package var kind: String
    package var address: String

    package init(kind: String, address: String) {
        self.kind = kind
        self.address = address
    }
}

extension ListenEntry {
    /// systemctl show's form: `[::]:8080 (Stream)`.
    package var description: String { "\(address) (\(kind))" }

    /// Parses `description`; the address may hold spaces and parentheses, the kind does not.
    package init?(description: String) {
        guard description.hasSuffix(")"), let open = description.lastIndex(of: "("), open > description.startIndex,
            description[description.index(before: open)] == " "
        else { return nil }
        address = String(description[..<description.index(before: open)])
        kind = String(description[description.index(after: open)..<description.index(before: description.endIndex)])
    }
}

/// Everything `status` and `show` say about one unit.
package struct UnitStatusReport: Equatable, Sendable {
    /// The full unit name, `hello.service`.
    package var id: String
    package var description: String?
    package var loadState: UnitLoadState = .loaded
    /// Why the unit did not load (`Loaded: bad-setting (Reason: …)`).
    package var loadError: String?
    /// The unit file, as found in the unit dirs.
    package var fragmentPath: String?
    /// Drop-in files applied, in order.
    package var dropIns: [String] = []
    package var activeState: UnitActiveState = .inactive
    /// systemd's SubState: `running`, `dead`, `exited`, `listening`, `start`, `stop-sigterm`,
    /// `auto-restart`, `failed`, ... (open set: each unit type has its own).
    package var subState: String = "dead"
    package var result: UnitResult = .success
    /// When the unit entered its current active state (realtime µs since the epoch): what
    /// systemctl shows after `since`. nil when it never changed state (a unit never started).
    package var activeSince: UInt64?
    /// The main process, while there is one (0: none).
    package var mainPID: Int32 = 0
    /// `/proc/PID/comm` of the main process, for `Main PID: 4242 (swatchd-hello)`.
    package var mainProcessName: String?
    /// The process running an ExecStartPre=, ExecStartPost=, ExecReload=, ExecStop=,
    /// ExecStopPost= command, or the ExecStart= of Type=forking until it exits (0: none).
    package var controlPID: Int32 = 0
    /// `/proc/PID/comm` of the control process.
    package var controlProcessName: String?
    /// The last main process that exited, with ExecMainCode=/ExecMainStatus=.
    package var execMainPID: Int32 = 0
    /// How it ended, as waitid(2)'s si_code: 0 not yet, 1 CLD_EXITED, 2 CLD_KILLED, 3 CLD_DUMPED.
    package var execMainCode: Int32 = 0
    /// The exit status (CLD_EXITED) or the signal number (killed, dumped).
    package var execMainStatus: Int32 = 0
    /// Automatic restarts since the unit was started by hand.
    package var nRestarts: Int = 0
    /// Fds in the service's store (FDSTORE=1), for a service that may store any.
    package var fileDescriptorStore: Int?
    /// The last STATUS= the service sent with sd_notify.
    package var statusText: String?
    /// The condition or assertion that kept the last start from happening, as
    /// written (`ConditionPathExists=/etc/foo`), and when (realtime µs).
    package var failedCondition: String?
    package var failedConditionSince: UInt64?
    package var tasks: Int?
    package var memoryBytes: UInt64?
    /// pids.max and memory.max of the service's cgroup; nil: no limit, or none to read.
    package var tasksMax: UInt64?
    package var memoryMax: UInt64?
    /// The service's cgroup while it has processes, as /proc/PID/cgroup names it (below the
    /// cgroup2 mount); nil without one (session tracking, or nothing running).
    package var controlGroup: String?
    /// The CPU time the service's cgroup used, in nanoseconds (`CPUUsageNSec=`); nil without a cgroup.
    package var cpuUsageNanoseconds: UInt64?
    /// Units this one triggers (a socket: its service).
    package var triggers: [UnitReference] = []
    /// Units that trigger this one (a service: its sockets).
    package var triggeredBy: [UnitReference] = []
    package var listen: [ListenEntry] = []
    /// A socket unit's Accept= and connection counters; nil for a service.
    package var connections: SocketConnections?
    /// The unit's dependencies as its [Unit] section and the `.wants/`/`.requires/` directories
    /// give them (systemd.unit(5)): unit names, in the order written. Sent as one space-separated
    /// `Requires=` (etc.) line each, as `systemctl show` prints them; `list-dependencies` walks
    /// Requires=, Requisite=, Wants=, BindsTo=, PartOf= and Upholds=.
    package var requires: [String] = []
    package var requisite: [String] = []
    package var wants: [String] = []
    package var bindsTo: [String] = []
    package var partOf: [String] = []
    package var upholds: [String] = []
    package var conflicts: [String] = []
    package var before: [String] = []
    package var after: [String] = []
    package var onFailure: [String] = []
    package var onSuccess: [String] = []
    package var propagatesReloadTo: [String] = []
    package var reloadPropagatedFrom: [String] = []
    package var propagatesStopTo: [String] = []
    package var stopPropagatedFrom: [String] = []
    /// `RequiresMountsFor=`/`WantsMountsFor=`: paths, not units; listed with them as systemctl show does.
    package var requiresMountsFor: [String] = []
    package var wantsMountsFor: [String] = []
    /// A service's `Type=`, as loaded (a service that names none: simple, or oneshot
    /// without `ExecStart=`); nil for a socket.
    package var serviceType: String?
    /// The unit file or a drop-in changed on disk since it was loaded (systemctl's
    /// NeedDaemonReload=); the shell fills it by stat()ing them again.
    package var needDaemonReload = false
    /// The unit's last log lines, rendered as `UnitLogEntry.journalLine` (oldest first).
    package var logLines: [String] = []

    /// The record keys, in the order `toRecord()` writes them.
    package enum Key {
        package static let id = "Id", description = "Description", loadState = "LoadState"
        package static let loadError = "LoadError", fragmentPath = "FragmentPath", dropInPaths = "DropInPaths"
        package static let activeState = "ActiveState", subState = "SubState", result = "Result"
        package static let stateChangeTimestamp = "StateChangeTimestamp", mainPID = "MainPID"
        package static let mainProcessName = "MainPIDComm", execMainPID = "ExecMainPID"
        package static let controlPID = "ControlPID", controlProcessName = "ControlPIDComm"
        package static let execMainCode = "ExecMainCode", execMainStatus = "ExecMainStatus"
        package static let nRestarts = "NRestarts", statusText = "StatusText", tasks = "TasksCurrent"
        package static let tasksMax = "TasksMax", memoryMax = "MemoryMax", controlGroup = "ControlGroup"
        package static let cpuUsage = "CPUUsageNSec"
        package static let memory = "MemoryCurrent", triggers = "Triggers", triggeredBy = "TriggeredBy"
        package static let listen = "Listen", logLine = "LogLine"
        package static let accept = "Accept", nAccepted = "NAccepted", nConnections = "NConnections"
        package static let nRefused = "NRefused"
        package static let failedCondition = "FailedCondition", failedConditionTimestamp = "FailedConditionTimestamp"
        package static let requires = "Requires", requisite = "Requisite", wants = "Wants", bindsTo = "BindsTo"
        package static let partOf = "PartOf", upholds = "Upholds", conflicts = "Conflicts", before = "Before"
        package static let after = "After", onFailure = "OnFailure", onSuccess = "OnSuccess"
        package static let propagatesReloadTo = "PropagatesReloadTo", reloadPropagatedFrom = "ReloadPropagatedFrom"
        package static let propagatesStopTo = "PropagatesStopTo", stopPropagatedFrom = "StopPropagatedFrom"
        package static let requiresMountsFor = "RequiresMountsFor", wantsMountsFor = "WantsMountsFor"
        package static let serviceType = "Type"
        package static let needDaemonReload = "NeedDaemonReload", fileDescriptorStore = "NFileDescriptorStore"
    }

    /// The dependency lists with their keys, in the order `toRecord()` writes them (systemctl show's order).
    package var dependencies: [(key: String, units: [String])] {
        [
            (Key.requires, requires), (Key.requisite, requisite), (Key.wants, wants), (Key.bindsTo, bindsTo),
            (Key.partOf, partOf), (Key.upholds, upholds), (Key.conflicts, conflicts), (Key.before, before),
            (Key.after, after), (Key.onFailure, onFailure), (Key.onSuccess, onSuccess),
            (Key.propagatesReloadTo, propagatesReloadTo), (Key.reloadPropagatedFrom, reloadPropagatedFrom),
            (Key.propagatesStopTo, propagatesStopTo), (Key.stopPropagatedFrom, stopPropagatedFrom),
            (Key.requiresMountsFor, requiresMountsFor), (Key.wantsMountsFor, wantsMountsFor),
        ]
    }

    /// The units `list-dependencies` shows below this one, each once, in the order of `dependencies`.
    package var listedDependencies: [String] {
        var seen: Set<String> = []
        return (requires + requisite + wants + bindsTo + partOf + upholds).filter { seen.insert($0).inserted }
    }

    /// The record the daemon sends. Optional values are left out; lists repeat their key.
    package func toRecord() -> ControlRecord {
        var r = ControlRecord()
        r.append(Key.id, id)
        r.append(Key.description, ifPresent: description)
        r.append(Key.loadState, loadState.rawValue)
        r.append(Key.loadError, ifPresent: loadError)
        r.append(Key.serviceType, ifPresent: serviceType)
        r.append(Key.fragmentPath, ifPresent: fragmentPath)
        r.append(Key.dropInPaths, each: dropIns)
        r.append(Key.activeState, activeState.rawValue)
        r.append(Key.subState, subState)
        r.append(Key.result, result.rawValue)
        r.append(Key.stateChangeTimestamp, ifPresent: activeSince.map { String($0) })
        r.append(Key.mainPID, String(mainPID))
        r.append(Key.mainProcessName, ifPresent: mainProcessName)
        r.append(Key.controlPID, String(controlPID))
        r.append(Key.controlProcessName, ifPresent: controlProcessName)
        r.append(Key.execMainPID, String(execMainPID))
        r.append(Key.execMainCode, String(execMainCode))
        r.append(Key.execMainStatus, String(execMainStatus))
        r.append(Key.nRestarts, String(nRestarts))
        r.append(Key.statusText, ifPresent: statusText)
        r.append(Key.fileDescriptorStore, ifPresent: fileDescriptorStore.map { String($0) })
        r.append(Key.failedCondition, ifPresent: failedCondition)
        r.append(Key.failedConditionTimestamp, ifPresent: failedConditionSince.map { String($0) })
        r.append(Key.tasks, ifPresent: tasks.map { String($0) })
        r.append(Key.memory, ifPresent: memoryBytes.map { String($0) })
        r.append(Key.tasksMax, ifPresent: tasksMax.map { String($0) })
        r.append(Key.memoryMax, ifPresent: memoryMax.map { String($0) })
        r.append(Key.controlGroup, ifPresent: controlGroup)
        r.append(Key.cpuUsage, ifPresent: cpuUsageNanoseconds.map { String($0) })
        r.append(Key.triggers, each: triggers.map(\.recordValue))
        r.append(Key.triggeredBy, each: triggeredBy.map(\.recordValue))
        r.append(Key.listen, each: listen.map(\.description))
        if let connections {
            r.append(Key.accept, connections.accept ? "yes" : "no")
            r.append(Key.nAccepted, String(connections.accepted))
            r.append(Key.nConnections, String(connections.connected))
            r.append(Key.nRefused, String(connections.refused))
        }
        for (key, units) in dependencies where !units.isEmpty { r.append(key, units.joined(separator: " ")) }
        r.append(Key.needDaemonReload, needDaemonReload ? "yes" : "no")
        r.append(Key.logLine, each: logLines)
        return r
    }

    /// Why a record is not a status report.
    package struct RecordError: Error, Equatable, CustomStringConvertible {
        package var key: String
        package var value: String?
        package var description: String {
            if let value { return "Invalid \(key)= value in the answer: '\(value)'" }
            return "The answer has no \(key)= field"
        }
    }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(
        id: String, description: String? = nil, loadState: UnitLoadState = .loaded, loadError: String? = nil,
        fragmentPath: String? = nil, dropIns: [String] = [], activeState: UnitActiveState = .inactive,
        subState: String = "dead", result: UnitResult = .success, activeSince: UInt64? = nil, mainPID: Int32 = 0,
        mainProcessName: String? = nil, controlPID: Int32 = 0, controlProcessName: String? = nil, execMainPID: Int32 = 0, execMainCode: Int32 = 0, execMainStatus: Int32 = 0,
        nRestarts: Int = 0, fileDescriptorStore: Int? = nil, statusText: String? = nil,
        failedCondition: String? = nil, failedConditionSince: UInt64? = nil, tasks: Int? = nil,
        memoryBytes: UInt64? = nil, tasksMax: UInt64? = nil, memoryMax: UInt64? = nil,
        triggers: [UnitReference] = [], triggeredBy: [UnitReference] = [], listen: [ListenEntry] = [],
        requires: [String] = [], requisite: [String] = [], wants: [String] = [], bindsTo: [String] = [],
        partOf: [String] = [], upholds: [String] = [], conflicts: [String] = [], before: [String] = [],
        after: [String] = [], onFailure: [String] = [], onSuccess: [String] = [], needDaemonReload: Bool = false,
        logLines: [String] = []
    ) {
        self.id = id
        self.description = description
        self.loadState = loadState
        self.loadError = loadError
        self.fragmentPath = fragmentPath
        self.dropIns = dropIns
        self.activeState = activeState
        self.subState = subState
        self.result = result
        self.activeSince = activeSince
        self.mainPID = mainPID
        self.controlPID = controlPID
        self.controlProcessName = controlProcessName
        self.mainProcessName = mainProcessName
        self.execMainPID = execMainPID
        self.execMainCode = execMainCode
        self.execMainStatus = execMainStatus
        self.nRestarts = nRestarts
        self.fileDescriptorStore = fileDescriptorStore
        self.statusText = statusText
        self.failedCondition = failedCondition
        self.failedConditionSince = failedConditionSince
        self.tasks = tasks
        self.memoryBytes = memoryBytes
        self.tasksMax = tasksMax
        self.memoryMax = memoryMax
        self.triggers = triggers
        self.triggeredBy = triggeredBy
        self.listen = listen
        self.requires = requires
        self.requisite = requisite
        self.wants = wants
        self.bindsTo = bindsTo
        self.partOf = partOf
        self.upholds = upholds
        self.conflicts = conflicts
        self.before = before
        self.after = after
        self.onFailure = onFailure
        self.onSuccess = onSuccess
        self.needDaemonReload = needDaemonReload
        self.logLines = logLines
    }
}

extension UnitStatusReport {
    /// Reads back a record of `toRecord()`. Unknown keys are ignored (a newer daemon may send more).
    package init(record: ControlRecord) throws(RecordError) {
        func required(_ key: String) throws(RecordError) -> String {
            guard let value = record[key] else { throw RecordError(key: key) }
            return value
        }
        func parsed<T>(_ key: String, _ parse: (String) -> T?) throws(RecordError) -> T? {
            guard let text = record[key] else { return nil }
            guard let value = parse(text) else { throw RecordError(key: key, value: text) }
            return value
        }
        func references(_ key: String) throws(RecordError) -> [UnitReference] {
            var out: [UnitReference] = []
            for text in record.values(key) {
                guard let reference = UnitReference(recordValue: text) else { throw RecordError(key: key, value: text) }
                out.append(reference)
            }
            return out
        }
        id = try required(Key.id)
        description = record[Key.description]
        guard let load = UnitLoadState(rawValue: try required(Key.loadState)) else {
            throw RecordError(key: Key.loadState, value: record[Key.loadState])
        }
        loadState = load
        loadError = record[Key.loadError]
        serviceType = record[Key.serviceType]
        fragmentPath = record[Key.fragmentPath]
        dropIns = record.values(Key.dropInPaths)
        guard let active = UnitActiveState(rawValue: try required(Key.activeState)) else {
            throw RecordError(key: Key.activeState, value: record[Key.activeState])
        }
        activeState = active
        subState = try required(Key.subState)
        result = try parsed(Key.result, UnitResult.init(rawValue:)) ?? .success
        activeSince = try parsed(Key.stateChangeTimestamp, { UInt64($0) })
        mainPID = try parsed(Key.mainPID, { Int32($0) }) ?? 0
        mainProcessName = record[Key.mainProcessName]
        controlPID = try parsed(Key.controlPID, { Int32($0) }) ?? 0
        controlProcessName = record[Key.controlProcessName]
        execMainPID = try parsed(Key.execMainPID, { Int32($0) }) ?? 0
        execMainCode = try parsed(Key.execMainCode, { Int32($0) }) ?? 0
        execMainStatus = try parsed(Key.execMainStatus, { Int32($0) }) ?? 0
        nRestarts = try parsed(Key.nRestarts, { Int($0) }) ?? 0
        statusText = record[Key.statusText]
        fileDescriptorStore = try parsed(Key.fileDescriptorStore, { Int($0) })
        failedCondition = record[Key.failedCondition]
        failedConditionSince = try parsed(Key.failedConditionTimestamp, { UInt64($0) })
        tasks = try parsed(Key.tasks, { Int($0) })
        memoryBytes = try parsed(Key.memory, { UInt64($0) })
        tasksMax = try parsed(Key.tasksMax, { UInt64($0) })
        memoryMax = try parsed(Key.memoryMax, { UInt64($0) })
        controlGroup = record[Key.controlGroup]
        cpuUsageNanoseconds = try parsed(Key.cpuUsage, { UInt64($0) })
        triggers = try references(Key.triggers)
        triggeredBy = try references(Key.triggeredBy)
        var entries: [ListenEntry] = []
        for text in record.values(Key.listen) {
            guard let entry = ListenEntry(description: text) else { throw RecordError(key: Key.listen, value: text) }
            entries.append(entry)
        }
        listen = entries
        if let accept = record[Key.accept] {
            connections = SocketConnections(accept: accept == "yes", accepted: try parsed(Key.nAccepted, { Int($0) }) ?? 0,
                                            connected: try parsed(Key.nConnections, { Int($0) }) ?? 0,
                                            refused: try parsed(Key.nRefused, { Int($0) }) ?? 0)
        }
        func units(_ key: String) -> [String] {
            record.values(key).flatMap { $0.split(separator: " ").map(String.init) }
        }
        requires = units(Key.requires)
        requisite = units(Key.requisite)
        wants = units(Key.wants)
        bindsTo = units(Key.bindsTo)
        partOf = units(Key.partOf)
        upholds = units(Key.upholds)
        conflicts = units(Key.conflicts)
        before = units(Key.before)
        after = units(Key.after)
        onFailure = units(Key.onFailure)
        onSuccess = units(Key.onSuccess)
        propagatesReloadTo = units(Key.propagatesReloadTo)
        reloadPropagatedFrom = units(Key.reloadPropagatedFrom)
        propagatesStopTo = units(Key.propagatesStopTo)
        stopPropagatedFrom = units(Key.stopPropagatedFrom)
        requiresMountsFor = units(Key.requiresMountsFor)
        wantsMountsFor = units(Key.wantsMountsFor)
        needDaemonReload = try parsed(Key.needDaemonReload, { (text: String) -> Bool? in
            text == "yes" ? true : text == "no" ? false : nil
        }) ?? false
        logLines = record.values(Key.logLine)
    }
}
