// Every key swatchd knows, per section, and what it does with it. The order of
// precedence (UnitInterpreter): `X-` keys are ignored; a supported key is
// parsed into the model; a restricting key (RestrictingKeys) refuses the unit
// until enforced; a known systemd key that swatchd does not act on and that
// restricts nothing warns `Unsupported key`; a key swatchd cannot honour
// without changing what the service receives is refused; anything else warns
// `Unknown key`. man/swatchd.service.5 and man/swatchd.socket.5 list the same.

/// The keys of one unit type.
struct UnitKeyCatalog<Model>: Sendable {
    /// Supported keys, by section: tables asked in turn, the first that has the key wins (a
    /// type's own keys, then the ones it shares: a socket's own, then the execution settings
    /// it shares with a service). Each table is made when a key is first looked up in it, and
    /// none is merged into another, so that a start-up hashes only the keys of the tables its
    /// units reach (docs/HACKING.md "Start-up with 1000 units").
    let supported: [String: [KeyTable<Model>]]
    /// Known to systemd, not acted on, harmless: warned, ignored. The keys of a section, made
    /// (once) when first asked for, which only a unit setting a key swatchd does not parse does.
    let unsupported: @Sendable (_ section: String) -> Set<String>
    /// Known to systemd, not supported, and ignoring them would change what the
    /// service gets (another fd, another protocol): refused, with the reason.
    let refused: @Sendable (_ section: String) -> [String: String]
    /// The section whose restricting keys count, and whether they are refused even when enforced
    /// (a socket has no sandbox to carry them into).
    let restrictingSection: String
    let restrictingAlwaysRefused: Bool

    /// What sets `key` in `section`, nil when this unit type does not parse it there.
    func setter(_ section: String, _ key: String) -> KeySetter<Model>? {
        supported[section].flatMap { Self.setter(in: $0, key) }
    }

    /// What sets `key` in the section of these tables, nil when none has it.
    static func setter(in tables: [KeyTable<Model>], _ key: String) -> KeySetter<Model>? {
        for table in tables {
            if let setter = table.setter(key) { return setter }
        }
        return nil
    }

    /// Whether `[name]` is a section of this unit type: a supported one or `[Install]` (asked for
    /// every line of every unit: no set made per unit).
    func hasSection(_ name: String) -> Bool { name == "Install" || supported.index(forKey: name) != nil }

    /// Every supported key of a section (the man pages list them).
    func supportedKeys(_ section: String) -> Set<String> {
        Set((supported[section] ?? []).flatMap { $0.keys() })
    }
}

/// One table of a section's keys: a global dictionary, made by the runtime the first time a
/// key is looked up in it, or one of a part of the model (the `[Unit]` section of a socket or
/// service), whose setters are lifted into the whole as they are looked up.
struct KeyTable<Model>: Sendable {
    let setter: @Sendable (_ key: String) -> KeySetter<Model>?
    let keys: @Sendable () -> [String]

    init(_ table: @escaping @Sendable () -> [String: KeySetter<Model>]) {
        setter = { table()[$0] }
        keys = { Array(table().keys) }
    }

    init<Inner>(_ table: @escaping @Sendable () -> [String: KeySetter<Inner>], in part: @escaping Field<Model, Inner>) {
        setter = { key in table()[key].map { $0.lifted(part) } }
        keys = { Array(table().keys) }
    }
}

/// `[Install]` is accepted and ignored: a unit in a unit directory is enabled (swatchd.service(5), "[INSTALL] SECTION").
let installKeys: Set<String> = ["Alias", "WantedBy", "RequiredBy", "UpheldBy", "Also", "DefaultInstance"]

/// A command list (`ExecStart=` and the others): each assignment adds its commands, the empty
/// one resets the list (systemd.service(5), "COMMAND LINES").
private func commands<Model>(_ field: @escaping Field<Model, [ExecCommand]>) -> KeySetter<Model> {
    KeySetter<Model> { (model: inout Model, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            field(&model) { $0 = [] }
            return
        }
        let commands: [ExecCommand]
        do throws(ExecParseError) {
            commands = try ExecCommand.parse(kv.raw, specifiers: kv.specifiers)
        } catch {
            throw kv.problem(error.problem, error.value)
        }
        field(&model) { $0 += commands }
    }
}

// MARK: - [Unit]

private let unitKeys: [String: KeySetter<UnitSection>] = {
    // A dependency's name keeps its escapes, `a\x2db.service` naming the unit whose file is
    // called so: config_parse_unit_deps() splits with EXTRACT_RETAIN_ESCAPE
    // (src/core/load-fragment.c).
    func dependencies(_ field: @escaping Field<UnitSection, [String]>) -> KeySetter<UnitSection> {
        .list(field, check: { word in isDependencyName(word) ? nil : "Invalid unit name" }, retainEscapes: true)
    }
    let absolute: @Sendable (String) -> String? = { ValueParser.isAbsolutePath($0) ? nil : "Path is not absolute" }
    return [
        "Description": KeySetter { (unit: inout UnitSection, kv: KeyValue) throws(ValueError) in
            // A `%` that is no specifier is kept: a description never refuses a unit.
            unit.description = (try? kv.expanded()) ?? kv.raw
        },
        "Documentation": .list(inFields { $1(&$0.documentation) }),
        "After": dependencies(inFields { $1(&$0.after) }),
        "Before": dependencies(inFields { $1(&$0.before) }),
        "Requires": dependencies(inFields { $1(&$0.requires) }),
        "Wants": dependencies(inFields { $1(&$0.wants) }),
        "BindsTo": dependencies(inFields { $1(&$0.bindsTo) }),
        "BindTo": dependencies(inFields { $1(&$0.bindsTo) }),
        "PartOf": dependencies(inFields { $1(&$0.partOf) }),
        "Conflicts": dependencies(inFields { $1(&$0.conflicts) }),
        "Requisite": dependencies(inFields { $1(&$0.requisite) }),
        "Upholds": dependencies(inFields { $1(&$0.upholds) }),
        "OnFailure": dependencies(inFields { $1(&$0.onFailure) }),
        "OnSuccess": dependencies(inFields { $1(&$0.onSuccess) }),
        "PropagatesReloadTo": dependencies(inFields { $1(&$0.propagatesReloadTo) }),
        "ReloadPropagatedFrom": dependencies(inFields { $1(&$0.reloadPropagatedFrom) }),
        "PropagatesStopTo": dependencies(inFields { $1(&$0.propagatesStopTo) }),
        "StopPropagatedFrom": dependencies(inFields { $1(&$0.stopPropagatedFrom) }),
        "RefuseManualStart": .set(inFields { $1(&$0.refuseManualStart) }, .boolean),
        "RefuseManualStop": .set(inFields { $1(&$0.refuseManualStop) }, .boolean),
        "SuccessAction": unitAction(inFields { $1(&$0.successAction) }),
        "FailureAction": unitAction(inFields { $1(&$0.failureAction) }),
        "JobTimeoutAction": unitAction(inFields { $1(&$0.jobTimeoutAction) }),
        "JobTimeoutSec": .set(inFields { $1(&$0.jobTimeout) }, .timeout),
        "JobRunningTimeoutSec": .set(inFields { $1(&$0.jobRunningTimeout) }, .timeout),
        "StopWhenUnneeded": .set(inFields { $1(&$0.stopWhenUnneeded) }, .boolean),
        "CollectMode": .set(inFields { $1(&$0.collectMode) }, .choice("collect mode")),
        "RequiresMountsFor": .list(inFields { $1(&$0.requiresMountsFor) }, check: absolute),
        "WantsMountsFor": .list(inFields { $1(&$0.wantsMountsFor) }, check: absolute),
        "SuccessActionExitStatus": .set(inFields { $1(&$0.successActionExitStatus) }, .integer(0...255)),
        "FailureActionExitStatus": .set(inFields { $1(&$0.failureActionExitStatus) }, .integer(0...255)),
        // swatchd adds no implicit dependencies, so there is nothing to turn off.
        "DefaultDependencies": KeySetter { (_: inout UnitSection, kv: KeyValue) throws(ValueError) in
            _ = try ValueKind.boolean.parse(kv)
        },
    ]
}()

/// The start limit: a `[Unit]` key, also read in `[Service]`, its old place (systemd still reads it there).
private let startLimitKeys: [String: KeySetter<UnitSection>] = [
    "StartLimitIntervalSec": .set(inFields { $1(&$0.startLimitInterval) }, .timeSpan),
    "StartLimitInterval": .set(inFields { $1(&$0.startLimitInterval) }, .timeSpan),
    "StartLimitBurst": .set(inFields { $1(&$0.startLimitBurst) }, .integer(0...Int(Int32.max))),
]

/// `[Unit]` keys systemd still reads in `[Service]`, their old place (src/core/load-fragment-gperf.gperf.in):
/// the start limit and FailureAction=.
private let oldServiceKeys: [String: KeySetter<UnitSection>] = startLimitKeys.merging(
    ["FailureAction": unitAction(inFields { $1(&$0.failureAction) })], uniquingKeysWith: { first, _ in first })

/// `Condition…=` and `Assert…=` of the checks swatchd evaluates. The value is
/// `[|][!]PARAMETER` (systemd.unit(5)); an empty one resets every condition
/// (or every assertion) assigned before it, of any kind.
private let conditionKeys: [String: KeySetter<UnitSection>] = {
    var keys: [String: KeySetter<UnitSection>] = [:]
    keys.reserveCapacity(2 * UnitCondition.Check.allCases.count)
    for check in UnitCondition.Check.allCases {
        for isAssertion in [false, true] {
            keys[(isAssertion ? "Assert" : "Condition") + check.rawValue] = KeySetter { (unit: inout UnitSection, kv: KeyValue) throws(ValueError) in
                guard !kv.raw.isEmpty else {
                    unit.conditions.removeAll { $0.isAssertion == isAssertion }
                    return
                }
                var rest = Substring(try kv.expanded())
                var condition = UnitCondition(check, "", isAssertion: isAssertion)
                if rest.first == "|" {
                    condition.triggering = true
                    rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
                }
                if rest.first == "!" {
                    condition.negated = true
                    rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
                }
                condition.parameter = String(rest)
                if condition.parameter.isEmpty { throw kv.problem("Missing parameter") }
                if check.takesPath, !ValueParser.isAbsolutePath(condition.parameter) {
                    throw kv.problem("Path is not absolute", condition.parameter)
                }
                unit.conditions.append(condition)
            }
        }
    }
    return keys
}()

private let unsupportedUnitKeys: Set<String> = [
    "JoinsNamespaceOf", "OnFailureJobMode", "OnSuccessJobMode", "IgnoreOnIsolate", "AllowIsolate",
    "JobTimeoutRebootArgument", "StartLimitAction", "RebootArgument", "SourcePath",
    "SurviveFinalKillSignal",
]

/// SuccessAction=/FailureAction=: `none`, `exit`, `exit-force`; systemd's others are warned
/// about and ignored, as its user manager does (config_parse_emergency_action(), src/core/load-fragment.c).
private func unitAction(_ field: @escaping Field<UnitSection, UnitAction>) -> KeySetter<UnitSection> {
    KeySetter { (unit: inout UnitSection, kv: KeyValue) throws(ValueError) in
        if kv.raw.isEmpty { return field(&unit) { $0 = .none } }
        guard let action = UnitAction(rawValue: kv.raw) else {
            guard UnitAction.notTaken.contains(kv.raw) else { throw kv.invalid("unit action", kv.raw) }
            throw ValueError(message: "\(kv.key)=\(kv.raw) is not taken by swatchd, which is not the machine's init, ignoring.",
                             ignored: true)
        }
        field(&unit) { $0 = action }
    }
}

/// Unit names of any systemd type are fine as dependencies: targets and mounts count as reached.
private func isDependencyName(_ name: String) -> Bool {
    // By byte, as `UnitName(parsing:)` reads a name: the type looked up as a Substring and
    // the name rebuilt as a service's to be parsed were ~5,000 instructions a word.
    var name = name
    return name.withUTF8 { bytes in
        guard bytes.count <= 255, let dot = bytes.lastIndex(of: UInt8(ascii: ".")),
              UnitTypes.isType(UnsafeBufferPointer(rebasing: bytes[(dot + 1)...])) else { return false }
        return UnitName.isValidStem(UnsafeBufferPointer(rebasing: bytes[..<dot]))
    }
}

// MARK: - Execution environment (systemd.exec(5), systemd.kill(5)), shared by [Service] and [Socket]

/// Keys of systemd.exec(5), systemd.kill(5) and systemd.resource-control(5) that swatchd
/// does not act on and that restrict nothing. In [Socket] they concern ExecStartPre= and
/// friends, which swatchd does not run either.
private let unsupportedExecKeys: Set<String> = [
    "OOMPolicy", "MemoryKSM",
    "LogRateLimitIntervalSec", "LogRateLimitBurst", "LogFilterPatterns",
    "LogNamespace", "TTYReset",
    "TTYVHangup", "TTYRows", "TTYColumns", "TTYVTDisallocate", "UtmpIdentifier", "UtmpMode",
    "SetLoginEnvironment",
    "RootHash", "RootHashSignature", "RootVerity", "RootImageOptions", "RootImagePolicy", "MountFlags",
    // Resource control: accounting and the cgroup weights/limits not acted on (`Slice=`:
    // swatchd.service(5), "UNSUPPORTED KEYS").
    "Slice", "CPUAccounting", "StartupCPUWeight", "CPUShares",
    "StartupCPUShares", "CPUQuotaPeriodSec", "StartupAllowedCPUs",
    "AllowedMemoryNodes", "StartupAllowedMemoryNodes", "MemoryAccounting",
    "StartupMemoryLow", "DefaultStartupMemoryLow", "StartupMemoryHigh",
    "StartupMemoryMax", "StartupMemorySwapMax", "MemoryZSwapMax", "StartupMemoryZSwapMax",
    "MemoryZSwapWriteback", "MemoryLimit", "TasksAccounting", "IOAccounting",
    "StartupIOWeight", "IODeviceWeight", "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax",
    "IOWriteIOPSMax", "IODeviceLatencyTargetSec", "BlockIOAccounting", "BlockIOWeight",
    "StartupBlockIOWeight", "BlockIODeviceWeight", "BlockIOReadBandwidth", "BlockIOWriteBandwidth",
    "IPAccounting", "BPFProgram", "ManagedOOMSwap", "ManagedOOMMemoryPressure",
    "ManagedOOMMemoryPressureLimit", "ManagedOOMMemoryPressureDurationSec", "ManagedOOMPreference",
    "MemoryPressureWatch", "MemoryPressureThresholdSec", "CoredumpReceive", "DisableControllers",
]

/// The controllers systemd knows by name (cgroup_controller_to_string(),
/// src/basic/cgroup-util.c): the words of `Delegate=`, and the prefixes of their
/// interface files, which `DelegateSubgroup=` may not take.
private let cgroupControllers: Set<String> = [
    "cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids", "bpf-firewall", "bpf-devices",
    "bpf-foreign", "bpf-socket-bind", "bpf-restrict-network-interfaces",
]

/// Supported keys of the execution environment (systemd.exec(5), systemd.kill(5),
/// systemd.resource-control(5)): a service's, and a socket's for its own commands.
private let execKeys: [String: KeySetter<ServiceUnit>] = {
    func capabilities(_ field: @escaping Field<ServiceUnit, CapabilitySet?>, _ initial: CapabilitySet) -> KeySetter<ServiceUnit> {
        KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            // config_parse_capability_set(): `~` inverts; the first assignment (or one naming
            // nothing) replaces, later ones add (or, inverted, remove).
            switch ValueParser.capabilities(kv.raw) {
            case .failure(let error): throw kv.invalid("capability", error.word)
            case .success(let (bits, inverted)):
                let mask = CapabilitySet.all.bits
                field(&service) { current in
                    if bits == 0 || current == nil || current == initial {
                        current = CapabilitySet(bits: inverted ? ~bits & mask : bits)
                    } else if inverted {
                        current = CapabilitySet(bits: current!.bits & ~bits)
                    } else {
                        current = CapabilitySet(bits: current!.bits | bits)
                    }
                }
            }
        }
    }
    let absolutePaths: @Sendable (String) -> String? = { word in
        // `-` (ignore a missing path) and `+` (relative to RootDirectory=) prefixes.
        let path = word.drop(while: { $0 == "-" || $0 == "+" })
        return ValueParser.isAbsolutePath(String(path)) ? nil : "Path is not absolute"
    }
    let relativePaths: @Sendable (String) -> String? = { word in
        word.hasPrefix("/") || word.split(separator: "/").contains("..") ? "Path is not relative" : nil
    }
    var keys: [String: KeySetter<ServiceUnit>] = [
        "Environment": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                service.environment = []
                return
            }
            for var word in try kv.words() {
                // Read in the word's own bytes: as Characters, then through a Substring's UTF-8
                // view, a word cost ~5,000, then ~3,000 instructions (callgrind).
                let assignment = word.withUTF8 { bytes -> (String, String)? in
                    guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")),
                          ValueParser.isEnvironmentName(UnsafeBufferPointer(rebasing: bytes[..<eq])) else { return nil }
                    return (String(decoding: UnsafeBufferPointer(rebasing: bytes[..<eq]), as: UTF8.self),
                            String(decoding: UnsafeBufferPointer(rebasing: bytes[(eq + 1)...]), as: UTF8.self))
                }
                guard let assignment else { throw kv.invalid("environment assignment", word) }
                service.environment.append(assignment)
            }
        },
        "EnvironmentFile": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                service.environmentFiles = []
                return
            }
            let value = try kv.expanded()
            let optional = value.hasPrefix("-")
            let path = optional ? String(value.dropFirst()) : value
            guard ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
            service.environmentFiles.append(EnvironmentFile(path: path, optional: optional))
        },
        "PassEnvironment": .list(inFields { $1(&$0.passEnvironment) }) { ValueParser.isEnvironmentName($0) ? nil : "Invalid variable name" },
        "UnsetEnvironment": .list(inFields { $1(&$0.unsetEnvironment) }) { word in
            let name = word.split(separator: "=", maxSplits: 1).first ?? ""
            return ValueParser.isEnvironmentName(name) ? nil : "Invalid variable name"
        },
        "WorkingDirectory": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                service.workingDirectory = nil
                service.workingDirectoryOptional = false
                return
            }
            let value = try kv.expanded()
            let optional = value.hasPrefix("-")
            let path = optional ? String(value.dropFirst()) : value
            guard path == "~" || ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
            service.workingDirectory = path
            service.workingDirectoryOptional = optional
        },
        "UMask": .set(inFields { $1(&$0.umask) }, .mode),
        "IgnoreSIGPIPE": .set(inFields { $1(&$0.ignoreSIGPIPE) }, .boolean),
        "Nice": .set(inSandbox { $1(&$0.nice) }, .integer(-20...19)),
        "CPUSchedulingPolicy": .set(inSandbox { $1(&$0.cpuSchedulingPolicy) }, .text("CPU scheduling policy", CPUSchedulingPolicy.init(text:))),
        "CPUSchedulingPriority": .set(inSandbox { $1(&$0.cpuSchedulingPriority) }, .integer(0...99)),
        "CPUSchedulingResetOnFork": .set(inSandbox { $1(&$0.cpuSchedulingResetOnFork) }, .boolean),
        // The empty value of either resets both (systemd.exec(5)).
        "IOSchedulingClass": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            if kv.raw.isEmpty { (service.sandbox.ioSchedulingClass, service.sandbox.ioSchedulingPriority) = (nil, nil) }
            else { service.sandbox.ioSchedulingClass = try ValueKind.text("I/O scheduling class", IOSchedulingClass.init(text:)).parse(kv) }
        },
        "IOSchedulingPriority": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            if kv.raw.isEmpty { (service.sandbox.ioSchedulingClass, service.sandbox.ioSchedulingPriority) = (nil, nil) }
            else { service.sandbox.ioSchedulingPriority = try ValueKind.integer(0...7).parse(kv) }
        },
        "OOMScoreAdjust": .set(inSandbox { $1(&$0.oomScoreAdjust) }, .integer(-1000...1000)),
        // Each assignment adds its mappings; the empty one resets (config_parse_exec_coredump_filter()).
        "CoredumpFilter": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.sandbox.coredumpFilter = nil }
            guard let mask = ValueParser.coredumpFilter(kv.raw) else { throw kv.invalid("core dump filter", kv.raw) }
            service.sandbox.coredumpFilter = (service.sandbox.coredumpFilter ?? 0) | mask
        },
        // Each assignment adds its CPUs; the empty one resets (config_parse_exec_cpu_affinity()).
        "CPUAffinity": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.sandbox.cpuAffinity = [] }
            guard let cpus = ValueParser.cpuSet(kv.raw) else { throw kv.invalid("CPU affinity") }
            service.sandbox.cpuAffinity = Array(Set(service.sandbox.cpuAffinity + cpus)).sorted()
        },
        "NUMAPolicy": .set(inSandbox { $1(&$0.numaPolicy) }, .choice("NUMA policy")),
        "NUMAMask": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.sandbox.numaMask = [] }
            guard let nodes = ValueParser.numaNodes(kv.raw) else { throw kv.invalid("NUMA node mask") }
            service.sandbox.numaMask = Array(Set(service.sandbox.numaMask + nodes)).sorted()
        },
        "TimerSlackNSec": .set(inSandbox { $1(&$0.timerSlack) }, .text("timer slack", ValueParser.nanoseconds)),
        "KeyringMode": .set(inSandbox { $1(&$0.keyringMode) }, .choice("keyring mode")),
        // Each assignment adds its flags; the empty one resets (config_parse_exec_secure_bits()).
        "SecureBits": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.sandbox.secureBits = 0 }
            guard let bits = ValueParser.secureBits(kv.raw) else { throw kv.invalid("secure bits") }
            service.sandbox.secureBits |= bits
        },
        // An architecture this machine does not run is warned about and ignored, as
        // config_parse_personality() does; a word that names none is an invalid value.
        "Personality": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.sandbox.personality = nil }
            guard let persona = ValueParser.personality(kv.raw) else {
                guard ConditionCheck.isArchitectureName(kv.raw) else { throw kv.invalid("personality") }
                throw ValueError(message: "Failed to parse personality, ignoring: \(kv.raw)", ignored: true)
            }
            service.sandbox.personality = persona
        },
        "StandardOutput": .set(inFields { $1(&$0.standardOutput) }, .outputTarget),
        "StandardError": .set(inFields { $1(&$0.standardError) }, .outputTarget),
        "SyslogIdentifier": .set(inFields { $1(&$0.syslogIdentifier) }, .string),
        "SyslogLevel": .set(inFields { $1(&$0.outputLevels.priority) }, .text("log level", ValueParser.syslogLevel)),
        "SyslogLevelPrefix": .set(inFields { $1(&$0.outputLevels.prefix) }, .boolean),
        "LogLevelMax": .set(inFields { $1(&$0.outputLevels.maximum) }, .text("log level", ValueParser.syslogLevel)),
        "SyslogFacility": .set(inFields { $1(&$0.outputLevels.facility) }, .text("log facility", ValueParser.syslogFacility)),
        // Words of `FIELD=value`, quoted where a value holds a space; the empty one resets
        // (config_parse_log_extra_fields(), src/core/load-fragment.c).
        "LogExtraFields": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.logExtraFields = [] }
            for word in try kv.words() {
                guard let eq = word.utf8.firstIndex(of: UInt8(ascii: "=")) else { throw kv.problem("Log field lacks '=' character", word) }
                guard ValueParser.isJournalFieldName(word[..<eq]) else { throw kv.problem("Log field name is invalid", word) }
                service.logExtraFields.append(word)
            }
        },
        // systemd.kill(5)
        "KillMode": .set(inFields { $1(&$0.killMode) }, .choice("kill mode")),
        "KillSignal": .set(inFields { $1(&$0.killSignal) }, .signal),
        "RestartKillSignal": .set(inFields { $1(&$0.restartKillSignal) }, .signal),
        "FinalKillSignal": .set(inFields { $1(&$0.finalKillSignal) }, .signal),
        "WatchdogSignal": .set(inFields { $1(&$0.watchdogSignal) }, .signal),
        "SendSIGKILL": .set(inFields { $1(&$0.sendSIGKILL) }, .boolean),
        "SendSIGHUP": .set(inFields { $1(&$0.sendSIGHUP) }, .boolean),
        // The sandbox: parsed here, refused by RestrictingKeys unless enforced (Supervisor+Sandbox.swift).
        "User": .set(inSandbox { $1(&$0.user) }, .string),
        "Group": .set(inSandbox { $1(&$0.group) }, .string),
        "SupplementaryGroups": .list(inSandbox { $1(&$0.supplementaryGroups) }),
        "DynamicUser": .set(inSandbox { $1(&$0.dynamicUser) }, .boolean),
        "NoNewPrivileges": .set(inSandbox { $1(&$0.noNewPrivileges) }, .boolean),
        "CapabilityBoundingSet": capabilities(inSandbox { $1(&$0.capabilityBoundingSet) }, .all),
        "AmbientCapabilities": capabilities(inSandbox { $1(&$0.ambientCapabilities) }, CapabilitySet(bits: 0)),
        "PrivateDevices": .set(inSandbox { $1(&$0.privateDevices) }, .boolean),
        "PrivateTmp": .set(inSandbox { $1(&$0.privateTmp) }, .boolean),
        "PrivateNetwork": .set(inSandbox { $1(&$0.privateNetwork) }, .boolean),
        "PrivateUsers": .set(inSandbox { $1(&$0.privateUsers) }, .boolean),
        "ProtectSystem": .set(inSandbox { $1(&$0.protectSystem) }, .text("protect system mode") { value in
            ValueParser.boolean(value).map { $0 ? .yes : .no } ?? ProtectSystem(rawValue: value)
        }),
        "ProtectHome": .set(inSandbox { $1(&$0.protectHome) }, .text("protect home mode") { value in
            ValueParser.boolean(value).map { $0 ? .yes : .no } ?? ProtectHome(rawValue: value)
        }),
        "ReadWritePaths": .list(inSandbox { $1(&$0.readWritePaths) }, check: absolutePaths),
        "ReadOnlyPaths": .list(inSandbox { $1(&$0.readOnlyPaths) }, check: absolutePaths),
        "InaccessiblePaths": .list(inSandbox { $1(&$0.inaccessiblePaths) }, check: absolutePaths),
        "StateDirectory": .list(inSandbox { $1(&$0.stateDirectory) }, check: relativePaths),
        "RuntimeDirectory": .list(inSandbox { $1(&$0.runtimeDirectory) }, check: relativePaths),
        "CacheDirectory": .list(inSandbox { $1(&$0.cacheDirectory) }, check: relativePaths),
        "LogsDirectory": .list(inSandbox { $1(&$0.logsDirectory) }, check: relativePaths),
        "ConfigurationDirectory": .list(inSandbox { $1(&$0.configurationDirectory) }, check: relativePaths),
        "StateDirectoryMode": .set(inSandbox { $1(&$0.stateDirectoryMode) }, .mode),
        "RuntimeDirectoryMode": .set(inSandbox { $1(&$0.runtimeDirectoryMode) }, .mode),
        "CacheDirectoryMode": .set(inSandbox { $1(&$0.cacheDirectoryMode) }, .mode),
        "LogsDirectoryMode": .set(inSandbox { $1(&$0.logsDirectoryMode) }, .mode),
        "ConfigurationDirectoryMode": .set(inSandbox { $1(&$0.configurationDirectoryMode) }, .mode),
        "RuntimeDirectoryPreserve": .set(inSandbox { $1(&$0.runtimeDirectoryPreserve) },
                                         .text("runtime directory preserve mode", PreserveMode.init(parsing:))),
        "RemoveIPC": .set(inSandbox { $1(&$0.removeIPC) }, .boolean),
        // System call filtering and kernel protections (Units/SystemCallKeys.swift, Sandbox/SeccompFilters.swift).
        "SystemCallFilter": SystemCallKeys.systemCallFilter,
        "SystemCallErrorNumber": SystemCallKeys.systemCallErrorNumber,
        "SystemCallArchitectures": SystemCallKeys.systemCallArchitectures,
        "SystemCallLog": SystemCallKeys.systemCallLog,
        "RestrictAddressFamilies": SystemCallKeys.restrictAddressFamilies,
        "RestrictNamespaces": SystemCallKeys.restrictNamespaces,
        "RestrictRealtime": .set(inSandbox { $1(&$0.restrictRealtime) }, .boolean),
        "RestrictSUIDSGID": .set(inSandbox { $1(&$0.restrictSUIDSGID) }, .boolean),
        "LockPersonality": .set(inSandbox { $1(&$0.lockPersonality) }, .boolean),
        "MemoryDenyWriteExecute": .set(inSandbox { $1(&$0.memoryDenyWriteExecute) }, .boolean),
        "ProtectKernelTunables": .set(inSandbox { $1(&$0.protectKernelTunables) }, .boolean),
        "ProtectKernelModules": .set(inSandbox { $1(&$0.protectKernelModules) }, .boolean),
        "ProtectKernelLogs": .set(inSandbox { $1(&$0.protectKernelLogs) }, .boolean),
        "ProtectControlGroups": .set(inSandbox { $1(&$0.protectControlGroups) }, .boolean),
        "ProtectClock": .set(inSandbox { $1(&$0.protectClock) }, .boolean),
        "ProtectHostname": .set(inSandbox { $1(&$0.protectHostname) }, .boolean),
        "PrivateIPC": .set(inSandbox { $1(&$0.privateIPC) }, .boolean),
        "IPCNamespacePath": .set(inSandbox { $1(&$0.ipcNamespacePath) }, .absolutePath),
        "NetworkNamespacePath": .set(inSandbox { $1(&$0.networkNamespacePath) }, .absolutePath),
        "PrivateMounts": .set(inSandbox { $1(&$0.privateMounts) }, .boolean),
        "PrivatePIDs": .set(inSandbox { $1(&$0.privatePIDs) }, .boolean),
        "MountAPIVFS": .set(inSandbox { $1(&$0.mountAPIVFS) }, .boolean),
        // The old names of ReadWritePaths= and friends (systemd.exec(5), "SANDBOXING": "previously").
        "NoExecPaths": .list(inSandbox { $1(&$0.noExecPaths) }, check: absolutePaths),
        "ExecPaths": .list(inSandbox { $1(&$0.execPaths) }, check: absolutePaths),
        "TemporaryFileSystem": .list(inSandbox { $1(&$0.temporaryFileSystem) }, check: SystemCallKeys.temporaryFileSystemWord),
        "BindPaths": .list(inSandbox { $1(&$0.bindPaths) }, check: SystemCallKeys.bindWord),
        "BindReadOnlyPaths": .list(inSandbox { $1(&$0.bindReadOnlyPaths) }, check: SystemCallKeys.bindWord),
        "ProtectProc": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard kv.raw.isEmpty || ["default", "noaccess", "invisible", "ptraceable"].contains(kv.raw) else {
                throw kv.invalid("protect proc mode")
            }
            service.sandbox.protectProc = kv.raw.isEmpty || kv.raw == "default" ? nil : kv.raw
        },
        "ProcSubset": .set(inSandbox { $1(&$0.procSubsetPID) }, .text("proc subset") { value in
            ["all": false, "pid": true][value]
        }),
        // Resource control (systemd.resource-control(5)): applied to the service's cgroup where
        // the controller is there, warned where not (Linux/ProcessTracker.swift).
        "MemoryMax": ResourceControlKeys.setter("MemoryMax"),
        "MemoryHigh": ResourceControlKeys.setter("MemoryHigh"),
        "MemoryLow": ResourceControlKeys.setter("MemoryLow"),
        "MemoryMin": ResourceControlKeys.setter("MemoryMin"),
        "MemorySwapMax": ResourceControlKeys.setter("MemorySwapMax"),
        "TasksMax": ResourceControlKeys.setter("TasksMax"),
        "CPUWeight": ResourceControlKeys.setter("CPUWeight"),
        "CPUQuota": ResourceControlKeys.setter("CPUQuota"),
        "IOWeight": ResourceControlKeys.setter("IOWeight"),
        "AllowedCPUs": ResourceControlKeys.setter("AllowedCPUs"),
        // Device access (systemd.resource-control(5)): a BPF program on the service's cgroup.
        "DevicePolicy": DeviceAccessKeys.policy,
        "DeviceAllow": DeviceAccessKeys.allow,
        // IP filtering (systemd.resource-control(5)): BPF programs on the service's cgroup.
        "IPAddressAllow": IPAddressKeys.setter(inSandbox { $1(&$0.ipAddressAllow) }),
        "IPAddressDeny": IPAddressKeys.setter(inSandbox { $1(&$0.ipAddressDeny) }),
        "RestrictNetworkInterfaces": IPAddressKeys.restrictNetworkInterfaces,
        "IPIngressFilterPath": IPAddressKeys.filterPath(inSandbox { $1(&$0.ipIngressFilterPaths) }),
        "IPEgressFilterPath": IPAddressKeys.filterPath(inSandbox { $1(&$0.ipEgressFilterPaths) }),
        // A boolean, or controller names, which ask for it too (config_parse_delegate(),
        // src/core/load-fragment.c); empty is yes. Which controllers are passed on is not
        // swatchd's to choose: its own group has what it was given (swatchd.service(5)). A word
        // that names no controller is warned about, and delegation is on all the same, as there.
        "Delegate": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            if let on = ValueParser.boolean(kv.raw) { return service.sandbox.delegate = on }
            service.sandbox.delegate = true
            if let word = kv.raw.splitAtWhitespace().first(where: { !cgroupControllers.contains(String($0)) }) {
                throw ValueError(message: "Invalid controller name '\(word)', ignoring", ignored: true)
            }
        },
        // A group name as written, no specifiers, that cgroupfs would not have to escape
        // (config_parse_delegate_subgroup(), src/core/load-fragment.c; cg_needs_escape(),
        // src/basic/cgroup-util.c): not an interface file's name such as `cgroup.procs` or
        // `memory.max`, which a controller enabled later would put beside it. Empty unsets it.
        "DelegateSubgroup": .set(inSandbox { $1(&$0.delegateSubgroup) }, ValueKind<String>.text("control group name") { name in
            let reserved = ["notify_on_release", "release_agent", "tasks"]
            let interfaceFile = name.hasPrefix("cgroup.") || cgroupControllers.contains { name.hasPrefix($0 + ".") }
            let valid = name.utf8.count <= 255 && !name.contains("/") && !name.hasPrefix(".") && !name.hasPrefix("_")
                && !interfaceFile && !reserved.contains(name)
            return valid ? name : nil
        }),
        "SocketBindAllow": SocketBindKeys.setter(inSandbox { $1(&$0.socketBindAllow) }),
        "SocketBindDeny": SocketBindKeys.setter(inSandbox { $1(&$0.socketBindDeny) }),
        // Credentials (systemd.exec(5), "CREDENTIALS"; Sandbox/ServiceCredentials.swift).
        "LoadCredential": CredentialKeys.load,
        "SetCredential": CredentialKeys.set,
        "ImportCredential": CredentialKeys.importing,
        "LoadCredentialEncrypted": CredentialKeys.encrypted,
        "SetCredentialEncrypted": CredentialKeys.encrypted,
        "ReadWriteDirectories": .list(inSandbox { $1(&$0.readWritePaths) }, check: absolutePaths),
        "ReadOnlyDirectories": .list(inSandbox { $1(&$0.readOnlyPaths) }, check: absolutePaths),
        "InaccessibleDirectories": .list(inSandbox { $1(&$0.inaccessiblePaths) }, check: absolutePaths),
    ]
    keys.reserveCapacity(keys.count + ResourceLimit.allCases.count)
    for resource in ResourceLimit.allCases {
        keys[resource.rawValue] = KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard let value = ValueParser.limit(kv.raw, for: resource) else { throw kv.invalid("resource limit") }
            service.sandbox.limits[resource] = value
        }
    }
    return keys
}()

/// What only a service has (systemd.service(5)): its main process, its restarts, its protocol,
/// its standard input. A socket's commands get /dev/null as their input.
private let serviceKeys: [String: KeySetter<ServiceUnit>] = {
    func exitStatuses(_ field: @escaping Field<ServiceUnit, ExitStatusSet>) -> KeySetter<ServiceUnit> {
        KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                field(&service) { $0 = ExitStatusSet() }
                return
            }
            var added = ExitStatusSet()
            for word in try kv.words() {
                guard let (status, signal) = ValueParser.exitStatus(word) else { throw kv.invalid("exit status", word) }
                if let status { added.statuses.insert(status) }
                if let signal { added.signals.insert(signal) }
            }
            field(&service) {
                $0.statuses.formUnion(added.statuses)
                $0.signals.formUnion(added.signals)
            }
        }
    }
    return [
        "StandardInput": .set(inFields { $1(&$0.standardInput) }, .inputSource),
        "StandardInputText": StandardInputKeys.text,
        "StandardInputData": StandardInputKeys.data,
        "TTYPath": .set(inFields { $1(&$0.ttyPath) }, .absolutePath),
        "Type": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard let type = ServiceType(rawValue: kv.raw) else {
                // A type of systemd's that swatchd cannot honour, named as such rather than as a typo.
                throw kv.raw == "dbus" ? kv.problem("Unsupported service type (swatchd has no D-Bus to watch BusName= on)")
                    : kv.invalid("service type", kv.raw)
            }
            service.type = type
        },
        "ExecCondition": commands(inFields { $1(&$0.execCondition) }),
        "ExecStartPre": commands(inFields { $1(&$0.execStartPre) }),
        "ExecStart": commands(inFields { $1(&$0.execStart) }),
        "ExecStartPost": commands(inFields { $1(&$0.execStartPost) }),
        "ExecReload": commands(inFields { $1(&$0.execReload) }),
        "ReloadSignal": .set(inFields { $1(&$0.reloadSignal) }, .signal),
        "ExecStop": commands(inFields { $1(&$0.execStop) }),
        "ExecStopPost": commands(inFields { $1(&$0.execStopPost) }),
        "RemainAfterExit": .set(inFields { $1(&$0.remainAfterExit) }, .boolean),
        // Each assignment adds a file; the empty one resets the list (config_parse_open_file()).
        "OpenFile": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else { return service.openFiles = [] }
            let value = try kv.expanded()
            switch OpenFile.parse(value) {
            case .success(let file): service.openFiles.append(file)
            case .failure(let problem): throw kv.problem(problem.description, value)
            }
        },
        "PermissionsStartOnly": .set(inFields { $1(&$0.permissionsStartOnly) }, .boolean),
        "GuessMainPID": .set(inFields { $1(&$0.guessMainPID) }, .boolean),
        "ExitType": .set(inFields { $1(&$0.exitType) }, .choice("exit type")),
        "TimeoutStartFailureMode": .set(inFields { $1(&$0.timeoutStartFailureMode) }, .choice("timeout failure mode")),
        "TimeoutStopFailureMode": .set(inFields { $1(&$0.timeoutStopFailureMode) }, .choice("timeout failure mode")),
        "NonBlocking": .set(inFields { $1(&$0.nonBlocking) }, .boolean),
        "PIDFile": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                service.pidFile = nil
                return
            }
            // A relative PIDFile= is below the runtime directory, as config_parse_pid_file() makes it.
            let path = try kv.expanded()
            let absolute = path.hasPrefix("/") ? path : kv.specifiers.context.runtimeDirectory + "/" + path
            guard ValueParser.isAbsolutePath(absolute) else { throw kv.invalid("path", path) }
            service.pidFile = absolute
        },
        "Restart": .set(inFields { $1(&$0.restart) }, .choice("restart policy")),
        "RestartSec": .set(inFields { $1(&$0.restartSec) }, .timeSpan),
        "RestartSteps": .set(inFields { $1(&$0.restartSteps) }, .integer(0...3600)),
        "RestartMaxDelaySec": .set(inFields { $1(&$0.restartMaxDelay) }, .timeSpan),
        "SuccessExitStatus": exitStatuses(inFields { $1(&$0.successExitStatus) }),
        "RestartPreventExitStatus": exitStatuses(inFields { $1(&$0.restartPreventExitStatus) }),
        "RestartForceExitStatus": exitStatuses(inFields { $1(&$0.restartForceExitStatus) }),
        "TimeoutStartSec": .set(inFields { $1(&$0.timeoutStart) }, .timeout),
        "TimeoutStopSec": .set(inFields { $1(&$0.timeoutStop) }, .timeout),
        "TimeoutAbortSec": .set(inFields { $1(&$0.timeoutAbort) }, .timeout),
        "RuntimeMaxSec": .set(inFields { $1(&$0.runtimeMax) }, .timeSpan),
        "RuntimeRandomizedExtraSec": .set(inFields { $1(&$0.runtimeRandomizedExtra) }, .timeSpan),
        "TimeoutSec": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            let span = try ValueKind.timeout.parse(kv)
            service.timeoutStart = span
            service.timeoutStop = span
        },
        "WatchdogSec": .set(inFields { $1(&$0.watchdog) }, .timeSpan),
        // config_parse_service_sockets() (src/core/load-fragment.c): socket unit names, specifiers
        // expanded; each is wanted, ordered before and passed (the [Unit] part is added by
        // ServiceUnit.interpret, after the last assignment).
        "Sockets": KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            for word in try kv.words() {
                guard let name = UnitName(parsing: word), name.type == .socket, !name.isTemplate else {
                    throw kv.invalid("socket unit name", word)
                }
                if !service.sockets.contains(name) { service.sockets.append(name) }
            }
            service.socketsLocation = kv.location
        },
        // swatchd's own key, in systemd's extension namespace (systemd.unit(5): `X-` keys are
        // ignored by systemd, so the unit still runs there): stop the service after this long
        // without a connection; its sockets stay bound.
        "X-IdleStopSec": .set(inFields { $1(&$0.idleStop) }, .timeSpan),
        "NotifyAccess": .set(inFields { $1(&$0.notifyAccess) }, .choice("notify access")),
        // No cap of its own, as systemd (an unsigned); the fds count against LimitNOFILE= of swatchd.
        "FileDescriptorStoreMax": .set(inFields { $1(&$0.fileDescriptorStoreMax) }, .integer(0...Int(UInt32.max))),
        "FileDescriptorStorePreserve": .set(inFields { $1(&$0.fileDescriptorStorePreserve) },
                                            .text("file descriptor store preserve mode", PreserveMode.init(parsing:))),
    ]
}()

extension ValueKind where T == OutputTarget {
    /// StandardOutput=/StandardError=; the `+console` forms go where their first half goes.
    static let outputTarget = ValueKind { (kv: KeyValue) throws(ValueError) -> OutputTarget in
        let value = try kv.expanded()
        let named: [String: OutputTarget] = [
            "inherit": .inherit, "null": .null, "journal": .journal, "syslog": .journal, "kmsg": .kmsg,
            "journal+console": .journal, "syslog+console": .journal, "kmsg+console": .kmsg, "socket": .socket,
            "tty": .tty,
        ]
        if let target = named[value] { return target }
        if let name = try ValueParser.namedDescriptor(value, default: kv.key == "StandardError" ? "stderr" : "stdout", kv) {
            return .fd(name)
        }
        for (prefix, make) in [("file:", OutputTarget.file), ("append:", OutputTarget.append),
                               ("truncate:", OutputTarget.truncate)] where value.hasPrefix(prefix) {
            let path = String(value.dropFirst(prefix.count))
            guard ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
            return make(path)
        }
        throw kv.invalid("output target", value)
    }
}

// MARK: - [Service]

private let unsupportedServiceKeys: Set<String> = [
    "BusName", "USBFunctionDescriptors", "USBFunctionStrings",
    "RootDirectoryStartOnly",
    "RestartMode", "StartLimitAction", "RebootArgument",
]

/// Known to the `[Service]` section, not acted on (made when first asked for).
private let unsupportedServiceSectionKeys = unsupportedExecKeys.union(unsupportedServiceKeys)

let serviceCatalog = UnitKeyCatalog<ServiceUnit>(
    supported: [
        "Unit": [KeyTable({ unitKeys }, in: { $1(&$0.unit) }), KeyTable({ startLimitKeys }, in: { $1(&$0.unit) }),
                 KeyTable({ conditionKeys }, in: { $1(&$0.unit) })],
        "Service": [KeyTable { serviceKeys }, KeyTable { execKeys }, KeyTable({ oldServiceKeys }, in: { $1(&$0.unit) })],
    ],
    unsupported: { section in
        switch section {
        case "Unit": unsupportedUnitKeys
        case "Service": unsupportedServiceSectionKeys
        default: []
        }
    },
    refused: { _ in [:] },
    restrictingSection: "Service",
    restrictingAlwaysRefused: false
)

// MARK: - [Socket]

private let socketKeys: [String: KeySetter<SocketUnit>] = {
    let listen = { (kind: ListenKind) in
        KeySetter<SocketUnit> { (socket: inout SocketUnit, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                socket.listens = []   // the empty assignment resets every listener (systemd.socket(5))
                return
            }
            let value = try kv.expanded()
            let address: ListenAddress
            switch kind {
            case .fifo, .special, .messageQueue:
                // config_parse_socket_listen(): a path, absolute (a queue's name looks like one).
                guard ValueParser.isAbsolutePath(value) else { throw kv.problem("Path is not absolute", value) }
                if kind == .messageQueue {
                    guard ListenAddress.isMessageQueueName(value) else {
                        throw kv.problem("A message queue name is /NAME: one slash, then 1-255 bytes", value)
                    }
                    address = .messageQueue(name: value)
                } else {
                    address = kind == .fifo ? .fifo(path: value) : .special(path: value)
                }
            case .netlink:
                switch ListenAddress.parseNetlink(value) {
                case .failure(let error): throw kv.problem(error.problem, value)
                case .success(let parsed): address = parsed
                }
            case .stream, .datagram, .sequentialPacket:
                switch ListenAddress.parse(value) {
                case .failure(let error): throw kv.problem(error.problem, value)
                case .success(let parsed): address = parsed
                }
            }
            if kind == .sequentialPacket {
                switch address {
                case .unix, .abstract, .vsock: break
                case .port, .ipv4, .ipv6, .fifo, .special, .messageQueue, .netlink:
                    throw kv.problem("Sequential packet sockets need a unix or vsock address", value)
                }
            }
            socket.listens.append(ListenDirective(kind: kind, address: address))
        }
    }
    return [
        "ListenStream": listen(.stream),
        "ListenDatagram": listen(.datagram),
        "ListenSequentialPacket": listen(.sequentialPacket),
        "ListenFIFO": listen(.fifo),
        "ListenSpecial": listen(.special),
        "ListenMessageQueue": listen(.messageQueue),
        "ListenNetlink": listen(.netlink),
        "Writable": .set(inOptions { $1(&$0.writable) }, .boolean),
        // config_parse_long(); mq_open(3) gets them only when both are > 0 (mq_address_create()).
        "MessageQueueMaxMessages": .set(inOptions { $1(&$0.messageQueueMaxMessages) }, .integer(0...Int.max)),
        "MessageQueueMessageSize": .set(inOptions { $1(&$0.messageQueueMessageSize) }, .integer(0...Int.max)),
        "Symlinks": .list(inOptions { $1(&$0.symlinks) }) { ValueParser.isAbsolutePath($0) ? nil : "Path is not absolute" },
        // socket_timestamping_from_string_harder(): a boolean yes means ns.
        "Timestamping": .set(inOptions { $1(&$0.timestamping) }, .text("timestamping mode") { value in
            switch value {
            case "off": return .off
            case "us", "usec", "µs": return .us
            case "ns", "nsec": return .ns
            default: return ValueParser.boolean(value).map { $0 ? .ns : .off }
            }
        }),
        "PassPacketInfo": .set(inOptions { $1(&$0.passPacketInfo) }, .boolean),
        "BindIPv6Only": .set(inOptions { $1(&$0.bindIPv6Only) }, .text("BindIPv6Only= mode") { value in
            // A boolean means ipv6-only (true) or both (false), as config_parse_socket_bind() reads it.
            ValueParser.boolean(value).map { $0 ? .ipv6Only : .both } ?? BindIPv6Only(rawValue: value)
        }),
        "Backlog": .set(inOptions { $1(&$0.backlog) }, .integer(0...Int32.max)),
        "BindToDevice": .set(inOptions { $1(&$0.bindToDevice) }, .text("network interface name", expand: true) { value in
            value.utf8.count < 16 && !value.contains("/") && !value.contains(where: \.isWhitespace) ? value : nil
        }),
        "SocketUser": .set(inOptions { $1(&$0.socketUser) }, .string),
        "SocketGroup": .set(inOptions { $1(&$0.socketGroup) }, .string),
        "SocketMode": .set(inOptions { $1(&$0.socketMode) }, .mode),
        "DirectoryMode": .set(inOptions { $1(&$0.directoryMode) }, .mode),
        "Accept": .set(inFields { $1(&$0.accept) }, .boolean),
        "MaxConnections": .set(inFields { $1(&$0.maxConnections) }, .integer(1...Int(Int32.max))),
        "MaxConnectionsPerSource": .set(inFields { $1(&$0.maxConnectionsPerSource) }, .integer(0...Int(Int32.max))),
        "KeepAlive": .set(inOptions { $1(&$0.keepAlive) }, .boolean),
        "KeepAliveTimeSec": .set(inOptions { $1(&$0.keepAliveTime) }, .timeSpan),
        "KeepAliveIntervalSec": .set(inOptions { $1(&$0.keepAliveInterval) }, .timeSpan),
        "KeepAliveProbes": .set(inOptions { $1(&$0.keepAliveProbes) }, .integer(0...Int(Int32.max))),
        "NoDelay": .set(inOptions { $1(&$0.noDelay) }, .boolean),
        "Priority": .set(inOptions { $1(&$0.priority) }, .integer(Int(Int32.min)...Int(Int32.max))),
        "DeferAcceptSec": .set(inOptions { $1(&$0.deferAcceptSec) }, .timeSpan),
        "ReceiveBuffer": .set(inOptions { $1(&$0.receiveBuffer) }, .size),
        "SendBuffer": .set(inOptions { $1(&$0.sendBuffer) }, .size),
        "IPTOS": .set(inOptions { $1(&$0.ipTOS) }, .text("IP type of service") { value in
            ["low-delay": 0x10, "throughput": 0x08, "reliability": 0x04, "low-cost": 0x02][value]
                ?? ValueParser.integer(value, in: 0...255)
        }),
        "IPTTL": .set(inOptions { $1(&$0.ipTTL) }, .integer(1...255)),
        "Mark": .set(inOptions { $1(&$0.mark) }, .integer(0...Int(UInt32.max))),
        "ReusePort": .set(inOptions { $1(&$0.reusePort) }, .boolean),
        "FreeBind": .set(inOptions { $1(&$0.freeBind) }, .boolean),
        "Transparent": .set(inOptions { $1(&$0.transparent) }, .boolean),
        "Broadcast": .set(inOptions { $1(&$0.broadcast) }, .boolean),
        "PassCredentials": .set(inOptions { $1(&$0.passCredentials) }, .boolean),
        "PassSecurity": .set(inOptions { $1(&$0.passSecurity) }, .boolean),
        "PassPIDFD": .set(inOptions { $1(&$0.passPIDFD) }, .boolean),
        "AcceptFileDescriptors": .set(inOptions { $1(&$0.acceptFileDescriptors) }, .boolean),
        // Taken as written, as config_parse_string() takes it (no specifiers); an empty one
        // resets it. A name the kernel does not know is a warning when the socket is made.
        "TCPCongestion": .set(inOptions { $1(&$0.tcpCongestion) }, .text("TCP congestion algorithm") { $0 }),
        "PipeSize": .set(inOptions { $1(&$0.pipeSize) }, .size),
        "RemoveOnStop": .set(inOptions { $1(&$0.removeOnStop) }, .boolean),
        "FileDescriptorName": .set(inFields { $1(&$0.fileDescriptorName) }, .text("file descriptor name", expand: true) { value in
            ValueParser.isFileDescriptorName(value) ? value : nil
        }),
        "Service": .set(inFields { $1(&$0.service) }, .text("service unit name", expand: true) { value in
            UnitName(parsing: value).flatMap { $0.type == .service && !$0.isTemplate ? $0 : nil }
        }),
        "FlushPending": .set(inFields { $1(&$0.flushPending) }, .boolean),
        "PassFileDescriptorsToExec": .set(inFields { $1(&$0.passFileDescriptorsToExec) }, .boolean),
        "PollLimitIntervalSec": .set(inFields { $1(&$0.pollLimitInterval) }, .timeSpan),
        "PollLimitBurst": .set(inFields { $1(&$0.pollLimitBurst) }, .integer(0...Int(Int32.max))),
        "TriggerLimitIntervalSec": .set(inFields { $1(&$0.triggerLimitInterval) }, .timeSpan),
        "TriggerLimitBurst": .set(inFields { $1(&$0.triggerLimitBurst) }, .integer(0...Int(Int32.max))),
        // The socket's own commands and their time-out; the execution settings they run with
        // are the service's (systemd.socket(5): the options of systemd.exec(5), systemd.kill(5)
        // and systemd.resource-control(5) apply to them), the section's second table.
        "ExecStartPre": commands(inFields { $1(&$0.execStartPre) }),
        "ExecStartPost": commands(inFields { $1(&$0.execStartPost) }),
        "ExecStopPre": commands(inFields { $1(&$0.execStopPre) }),
        "ExecStopPost": commands(inFields { $1(&$0.execStopPost) }),
        "TimeoutSec": .set(inFields { $1(&$0.timeout) }, .timeout),
    ]
}()

private let unsupportedSocketKeys: Set<String> = [
    "SELinuxContextFromNet", "SmackLabel", "SmackLabelIPIn",
    "SmackLabelIPOut",
    "DeferTrigger", "DeferTriggerMaxSec",
    // The socket's commands get no standard input but /dev/null.
    "StandardInput", "StandardInputText", "StandardInputData", "TTYPath",
]

/// Known to the `[Socket]` section, not acted on (made when first asked for).
private let unsupportedSocketSectionKeys = unsupportedSocketKeys.union(unsupportedExecKeys)

let socketCatalog = UnitKeyCatalog<SocketUnit>(
    supported: [
        "Unit": [KeyTable({ unitKeys }, in: { $1(&$0.unit) }), KeyTable({ startLimitKeys }, in: { $1(&$0.unit) }),
                 KeyTable({ conditionKeys }, in: { $1(&$0.unit) })],
        "Socket": [KeyTable { socketKeys }, KeyTable({ execKeys }, in: { $1(&$0.executionSettings) })],
    ],
    unsupported: { section in
        switch section {
        case "Unit": unsupportedUnitKeys
        case "Socket": unsupportedSocketSectionKeys
        default: []
        }
    },
    refused: { section in
        guard section == "Socket" else { return [:] }
        return [
            "ListenUSBFunction": "ListenUSBFunction= is not supported by this build",
            "SocketProtocol": "SocketProtocol= is not supported by this build (only TCP and UDP)",
        ]
    },
    restrictingSection: "Socket",
    restrictingAlwaysRefused: false
)

// MARK: - swatchd run -p

/// Where `swatchd run -p KEY=VALUE` writes a key: into the section of the unit that
/// knows it, as systemd-run(1) `-p` routes a property to its unit. A key of both
/// a service and a socket (the exec keys: `User=`, `Environment=`, ...) goes to the
/// service, which is what runs the command; `[Unit]` keys go to the service too.
package enum AdHocKeyPlacement: Equatable, Sendable {
    case service(section: String)
    case socket

    /// nil when swatchd supports `key` in neither unit.
    package static func of(_ key: String) -> AdHocKeyPlacement? {
        if serviceCatalog.setter("Service", key) != nil { return .service(section: "Service") }
        if socketCatalog.setter("Socket", key) != nil { return .socket }
        if serviceCatalog.setter("Unit", key) != nil { return .service(section: "Unit") }
        return nil
    }
}
