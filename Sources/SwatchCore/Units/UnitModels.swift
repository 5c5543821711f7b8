// The typed models of the unit files swatchd reads: what the parser produces
// and what the supervisor consumes. Names and defaults follow systemd.unit(5),
// systemd.socket(5), systemd.service(5), systemd.exec(5) and systemd.kill(5);
// man/swatchd.socket.5 and man/swatchd.service.5 are the table of what is
// supported. Every model is a value; `Hashable` lets daemon-reload tell an
// unchanged listener or service from a changed one.

/// A point in a unit file: the path as it was given, and a 1-based line.
public struct SourceLocation: Hashable, Sendable {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
}

/// One problem found in a unit, worded like systemd's conf-parser:
/// `hello.service:7: Unknown key 'ExecStrat' in section [Service], ignoring.`
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: Hashable, Sendable { case warning, error }
    public var severity: Severity
    /// Where, when the problem has a place in a file (a missing ExecStart= points at the file, line 0 is not used: such
    /// diagnostics point at the line of the section header, or line 1).
    public var location: SourceLocation
    public var message: String
    /// The unit the problem belongs to (full name, e.g. `hello.service`), so the daemon refuses that unit alone.
    public var unit: String?

    public init(_ severity: Severity, _ location: SourceLocation, _ message: String, unit: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.unit = unit
    }

    public var description: String { "\(location.file):\(location.line): \(message)" }
}

/// A span of time in microseconds, as systemd.time(7) writes it (`1min 30s`, `infinity`).
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: UInt64
    public init(microseconds: UInt64) { self.microseconds = microseconds }
    public static func seconds(_ s: UInt64) -> TimeSpan { TimeSpan(microseconds: s &* 1_000_000) }
    public static func milliseconds(_ ms: UInt64) -> TimeSpan { TimeSpan(microseconds: ms &* 1_000) }
    public static let zero = TimeSpan(microseconds: 0)
    public static let infinity = TimeSpan(microseconds: .max)
    public var isInfinite: Bool { microseconds == .max }
    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.microseconds < b.microseconds }
    /// systemd's own rendering: `1min 30s`, `500ms`, `infinity`.
    public var description: String {
        if isInfinite { return "infinity" }
        if microseconds == 0 { return "0" }
        var rest = microseconds
        var parts: [String] = []
        let units: [(String, UInt64)] = [
            ("y", 31_557_600_000_000), ("month", 2_629_800_000_000), ("w", 604_800_000_000),
            ("d", 86_400_000_000), ("h", 3_600_000_000), ("min", 60_000_000), ("s", 1_000_000),
            ("ms", 1_000), ("us", 1),
        ]
        for (suffix, size) in units where rest >= size {
            parts.append("\(rest / size)\(suffix)")
            rest %= size
        }
        return parts.joined(separator: " ")
    }
}

// MARK: - Names

/// The two unit types swatchd runs.
public enum UnitType: String, Hashable, Sendable {
    case service, socket
}

/// A valid unit name per systemd.unit(5): `prefix[@instance].type`. A template has an empty instance (`echo@.service`).
public struct UnitName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var prefix: String
    /// nil: a plain unit; "": a template; otherwise the (escaped) instance.
    public var instance: String?
    public var type: UnitType

    public init(prefix: String, instance: String? = nil, type: UnitType) {
        self.prefix = prefix
        self.instance = instance
        self.type = type
    }

    public var isTemplate: Bool { instance == "" }
    public var description: String {
        if let instance { return "\(prefix)@\(instance).\(type.rawValue)" }
        return "\(prefix).\(type.rawValue)"
    }
    public static func < (a: UnitName, b: UnitName) -> Bool { a.description < b.description }
}

// MARK: - [Unit]

/// The `[Unit]` section. Dependencies are kept for `show` and ordering; targets
/// swatchd has no notion of count as always reached (DESIGN §3).
public struct UnitSection: Hashable, Sendable {
    public var description: String?
    public var documentation: [String] = []
    public var after: [String] = []
    public var before: [String] = []
    public var requires: [String] = []
    public var wants: [String] = []
    /// `BindsTo=`, and its old spelling `BindTo=` (the seed's multi/hello.service uses it).
    public var bindsTo: [String] = []
    public var partOf: [String] = []
    public var conflicts: [String] = []
    /// `StartLimitIntervalSec=` (also accepted in [Service] as `StartLimitInterval=`); systemd's default 10s.
    public var startLimitInterval: TimeSpan = .seconds(10)
    /// `StartLimitBurst=`; systemd's default 5.
    public var startLimitBurst: Int = 5
    /// `Condition…=` and `Assert…=`, in the order written.
    public var conditions: [UnitCondition] = []
    public init() {}
}

// MARK: - Sockets

/// Which Listen*= directive made a listener.
public enum ListenKind: String, Hashable, Sendable {
    case stream = "ListenStream"
    case datagram = "ListenDatagram"
    case sequentialPacket = "ListenSequentialPacket"
    case fifo = "ListenFIFO"
}

/// The address of a Listen*= directive, in every form systemd.socket(5) gives.
public enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// A bare port: `[::]:port`, dual-stack per BindIPv6Only=, or `0.0.0.0:port` without IPv6.
    case port(UInt16)
    /// `a.b.c.d:port`
    case ipv4(address: String, port: UInt16)
    /// `[v6]:port`, or `[v6%iface]:port`
    case ipv6(address: String, port: UInt16, scope: String?)
    /// `/absolute/path`
    case unix(path: String)
    /// `@name` (Linux abstract namespace); `name` excludes the `@`.
    case abstract(name: String)
    /// ListenFIFO=`/absolute/path`
    case fifo(path: String)

    /// How `list-sockets` and `status` print it, as systemctl does (`[::]:8080`, `/run/x.sock`, `@name`).
    public var description: String {
        switch self {
        case .port(let p): return "[::]:\(p)"
        case .ipv4(let a, let p): return "\(a):\(p)"
        case .ipv6(let a, let p, let s): return "[\(a)\(s.map { "%" + $0 } ?? "")]:\(p)"
        case .unix(let path): return path
        case .abstract(let name): return "@" + name
        case .fifo(let path): return path
        }
    }
}

/// One Listen*= line.
public struct ListenDirective: Hashable, Sendable {
    public var kind: ListenKind
    public var address: ListenAddress
    public var location: SourceLocation
    public init(kind: ListenKind, address: ListenAddress, location: SourceLocation) {
        self.kind = kind
        self.address = address
        self.location = location
    }
}

public enum BindIPv6Only: String, Hashable, Sendable {
    case `default`, both
    case ipv6Only = "ipv6-only"
}

/// The socket options of systemd.socket(5) that shape how a listener is bound.
/// Two listeners with equal directive and equal options are the same listener
/// across daemon-reload (kept bound, same open file).
public struct SocketOptions: Hashable, Sendable {
    public var bindIPv6Only: BindIPv6Only = .default
    /// systemd's default is SOMAXCONN (4096 on Linux ≥ 5.4).
    public var backlog: Int32 = 4096
    public var bindToDevice: String?
    public var reusePort = false
    public var noDelay = false
    public var keepAlive = false
    public var keepAliveTime: TimeSpan?
    public var keepAliveInterval: TimeSpan?
    public var keepAliveProbes: Int?
    public var freeBind = false
    public var transparent = false
    public var broadcast = false
    public var receiveBuffer: Int?
    public var sendBuffer: Int?
    public var passCredentials = false
    public var passSecurity = false
    public var mark: Int?
    public var priority: Int?
    public var ipTOS: Int?
    public var ipTTL: Int?
    public var deferAcceptSec: TimeSpan?
    /// Access mode of unix socket files and FIFOs (SocketMode=, default 0666).
    public var socketMode: UInt32 = 0o666
    public var socketUser: String?
    public var socketGroup: String?
    /// Mode of parent directories created for unix sockets and FIFOs (DirectoryMode=, default 0755).
    public var directoryMode: UInt32 = 0o755
    public var removeOnStop = false
    public var pipeSize: Int?
    public init() {}
}

/// A `.socket` unit.
public struct SocketUnit: Hashable, Sendable {
    public var name: UnitName
    /// The file it was loaded from, as given (for `Loaded:` and diagnostics).
    public var path: String
    /// Drop-in files applied, in order.
    public var dropIns: [String] = []
    public var unit = UnitSection()
    public var listens: [ListenDirective] = []
    public var options = SocketOptions()
    /// `Service=`; nil means the service of the same prefix (or `prefix@.service` with Accept=yes).
    public var service: UnitName?
    public var accept = false
    /// `MaxConnections=`, default 64.
    public var maxConnections = 64
    public var maxConnectionsPerSource: Int?
    /// `FileDescriptorName=`; default: the socket unit's full name.
    public var fileDescriptorName: String?
    /// `TriggerLimitIntervalSec=`, default 2s.
    public var triggerLimitInterval: TimeSpan = .seconds(2)
    /// `TriggerLimitBurst=`; default 20, 200 with Accept=yes (resolved by the parser).
    public var triggerLimitBurst = 20
    public init(name: UnitName, path: String) {
        self.name = name
        self.path = path
    }
}

// MARK: - Services

public enum ServiceType: String, Hashable, Sendable {
    case simple, exec, notify, oneshot, forking
    /// `idle` behaves as `simple` here: swatchd has no job queue to wait for.
    case idle
}

public enum RestartPolicy: String, Hashable, Sendable {
    case no, always
    case onSuccess = "on-success"
    case onFailure = "on-failure"
    case onAbnormal = "on-abnormal"
    case onAbort = "on-abort"
    case onWatchdog = "on-watchdog"
}

public enum NotifyAccess: String, Hashable, Sendable {
    case none, main, exec, all
}

public enum KillMode: String, Hashable, Sendable {
    case controlGroup = "control-group"
    case mixed, process, none
}

/// One command line of ExecStart= and friends, after systemd's quoting rules
/// and specifier expansion. Environment variables (`$VAR` splitting, `${VAR}`
/// substitution, `$$`) are expanded at spawn time by `ExecCommand.expand(environment:)`,
/// when the environment is known, unless `noEnvironmentExpansion` (the `:` prefix).
public struct ExecCommand: Hashable, Sendable {
    /// The executable as written: absolute, or a plain name looked up in PATH.
    public var path: String
    /// argv, argv[0] included (with `@`, argv[0] is the second word as written).
    public var arguments: [String]
    /// `-`: a non-zero exit is recorded but not a failure.
    public var ignoreFailure = false
    /// `@`
    public var overrideArgv0 = false
    /// `:`
    public var noEnvironmentExpansion = false
    /// `+`: run with full privileges (no User=, no sandbox).
    public var fullPrivileges = false
    /// `!`: User=, Group= and SupplementaryGroups= are not applied; the rest of
    /// the sandbox is (systemd.service(5)). `!!` does this only where the
    /// kernel lacks ambient capabilities — never on the Linux swatchd runs on
    /// (4.3 and later) — so it changes nothing.
    public var keepsCredentials = false
    public var location: SourceLocation
    public init(path: String, arguments: [String], location: SourceLocation) {
        self.path = path
        self.arguments = arguments
        self.location = location
    }
}

/// A set of exit statuses and signals (SuccessExitStatus= and friends).
public struct ExitStatusSet: Hashable, Sendable {
    public var statuses: Set<Int32> = []
    public var signals: Set<Int32> = []
    public init(statuses: Set<Int32> = [], signals: Set<Int32> = []) {
        self.statuses = statuses
        self.signals = signals
    }
}

/// `EnvironmentFile=`; `-` prefix: a missing file is not an error.
public struct EnvironmentFile: Hashable, Sendable {
    public var path: String
    public var optional: Bool
    public init(path: String, optional: Bool) {
        self.path = path
        self.optional = optional
    }
}

/// StandardOutput= / StandardError= (and the input side's `null`/`socket`).
public enum OutputTarget: Hashable, Sendable {
    case inherit, null, journal, kmsg, socket
    case file(String), append(String), truncate(String)
}

public enum InputSource: Hashable, Sendable {
    case null, socket
}

public enum ProtectSystem: String, Hashable, Sendable {
    case no, yes, full, strict
}

public enum ProtectHome: String, Hashable, Sendable {
    case no, yes
    case readOnly = "read-only"
    case tmpfs
}

/// A capability set of CapabilityBoundingSet=/AmbientCapabilities=, as the bits of CAP_* numbers.
public struct CapabilitySet: Hashable, Sendable {
    public var bits: UInt64
    public init(bits: UInt64) { self.bits = bits }
    public static let all = CapabilitySet(bits: (1 << 41) - 1)
}

/// The Limit*= directives of systemd.exec(5) that swatchd knows.
public enum ResourceLimit: String, Hashable, Sendable, CaseIterable {
    case cpu = "LimitCPU", fsize = "LimitFSIZE", data = "LimitDATA", stack = "LimitSTACK"
    case core = "LimitCORE", rss = "LimitRSS", nofile = "LimitNOFILE", `as` = "LimitAS"
    case nproc = "LimitNPROC", memlock = "LimitMEMLOCK", locks = "LimitLOCKS"
    case sigpending = "LimitSIGPENDING", msgqueue = "LimitMSGQUEUE", nice = "LimitNICE"
    case rtprio = "LimitRTPRIO", rttime = "LimitRTTIME"
}

/// A soft:hard pair; `UInt64.max` is infinity.
public struct LimitValue: Hashable, Sendable {
    public var soft: UInt64
    public var hard: UInt64
    public init(soft: UInt64, hard: UInt64) {
        self.soft = soft
        self.hard = hard
    }
}

/// Privilege and sandboxing settings of systemd.exec(5). Whether each is
/// enforced by this build is the parser's business (an unenforced one refuses the unit).
public struct Sandbox: Hashable, Sendable {
    public var user: String?
    public var group: String?
    public var supplementaryGroups: [String] = []
    public var dynamicUser = false
    public var noNewPrivileges = false
    public var capabilityBoundingSet: CapabilitySet?
    public var ambientCapabilities: CapabilitySet?
    public var privateDevices = false
    public var privateTmp = false
    public var privateNetwork = false
    public var protectSystem: ProtectSystem = .no
    public var protectHome: ProtectHome = .no
    public var readWritePaths: [String] = []
    public var readOnlyPaths: [String] = []
    public var inaccessiblePaths: [String] = []
    public var stateDirectory: [String] = []
    public var runtimeDirectory: [String] = []
    public var cacheDirectory: [String] = []
    public var logsDirectory: [String] = []
    public var configurationDirectory: [String] = []
    public var removeIPC = false
    public var nice: Int32?
    public var oomScoreAdjust: Int32?
    public var limits: [ResourceLimit: LimitValue] = [:]
    public init() {}
}

/// A `.service` unit.
public struct ServiceUnit: Hashable, Sendable {
    public var name: UnitName
    public var path: String
    public var dropIns: [String] = []
    public var unit = UnitSection()

    public var type: ServiceType = .simple
    /// `ExecCondition=`: run before ExecStartPre=; exit 1–254 skips the start (systemd.service(5)).
    public var execCondition: [ExecCommand] = []
    public var execStartPre: [ExecCommand] = []
    public var execStart: [ExecCommand] = []
    public var execStartPost: [ExecCommand] = []
    public var execReload: [ExecCommand] = []
    public var execStop: [ExecCommand] = []
    public var execStopPost: [ExecCommand] = []
    public var remainAfterExit = false
    public var pidFile: String?
    public var guessMainPID = true

    public var restart: RestartPolicy = .no
    /// RestartSec=, default 100ms.
    public var restartSec: TimeSpan = .milliseconds(100)
    public var restartSteps = 0
    public var restartMaxDelay: TimeSpan = .infinity
    public var successExitStatus = ExitStatusSet()
    public var restartPreventExitStatus = ExitStatusSet()
    public var restartForceExitStatus = ExitStatusSet()

    /// TimeoutStartSec=, default 90s (DefaultTimeoutStartSec). `infinity` disables.
    public var timeoutStart: TimeSpan = .seconds(90)
    public var timeoutStop: TimeSpan = .seconds(90)
    /// TimeoutAbortSec=; nil: same as TimeoutStopSec=.
    public var timeoutAbort: TimeSpan?
    public var watchdog: TimeSpan = .zero
    public var watchdogSignal: Int32 = 6    // SIGABRT
    public var killSignal: Int32 = 15       // SIGTERM
    public var restartKillSignal: Int32?
    public var finalKillSignal: Int32 = 9   // SIGKILL
    public var sendSIGKILL = true
    public var sendSIGHUP = false
    public var killMode: KillMode = .controlGroup
    /// NotifyAccess=; nil: `main` for Type=notify or WatchdogSec=, else none (resolved by `effectiveNotifyAccess`).
    public var notifyAccess: NotifyAccess?
    public var fileDescriptorStoreMax = 0
    /// NonBlocking=: hand the sockets over in non-blocking mode.
    public var nonBlocking = false

    /// Environment= in order; later assignments of a name win.
    public var environment: [(String, String)] = []
    public var environmentFiles: [EnvironmentFile] = []
    public var passEnvironment: [String] = []
    public var unsetEnvironment: [String] = []
    /// WorkingDirectory=; nil: `/`. `-` prefix: missing is not an error; `~`: the user's home.
    public var workingDirectory: String?
    public var workingDirectoryOptional = false
    public var umask: UInt32 = 0o022
    public var standardInput: InputSource = .null
    /// nil: the default (journal where there is one, else swatchd's stderr with a prefix).
    public var standardOutput: OutputTarget?
    /// nil: same as StandardOutput= (systemd's `inherit`).
    public var standardError: OutputTarget?
    public var syslogIdentifier: String?
    public var sandbox = Sandbox()

    public init(name: UnitName, path: String) {
        self.name = name
        self.path = path
    }

    public var effectiveNotifyAccess: NotifyAccess {
        if let notifyAccess { return notifyAccess }
        return type == .notify || watchdog > .zero ? .main : .none
    }

    public static func == (a: ServiceUnit, b: ServiceUnit) -> Bool {
        a.name == b.name && a.path == b.path && a.dropIns == b.dropIns && a.unit == b.unit && a.type == b.type
            && a.execCondition == b.execCondition && a.execStartPre == b.execStartPre && a.execStart == b.execStart && a.execStartPost == b.execStartPost
            && a.execReload == b.execReload && a.execStop == b.execStop && a.execStopPost == b.execStopPost
            && a.remainAfterExit == b.remainAfterExit && a.pidFile == b.pidFile && a.guessMainPID == b.guessMainPID
            && a.restart == b.restart && a.restartSec == b.restartSec && a.restartSteps == b.restartSteps
            && a.restartMaxDelay == b.restartMaxDelay && a.successExitStatus == b.successExitStatus
            && a.restartPreventExitStatus == b.restartPreventExitStatus
            && a.restartForceExitStatus == b.restartForceExitStatus && a.timeoutStart == b.timeoutStart
            && a.timeoutStop == b.timeoutStop && a.timeoutAbort == b.timeoutAbort && a.watchdog == b.watchdog
            && a.watchdogSignal == b.watchdogSignal && a.killSignal == b.killSignal
            && a.restartKillSignal == b.restartKillSignal && a.finalKillSignal == b.finalKillSignal
            && a.sendSIGKILL == b.sendSIGKILL && a.sendSIGHUP == b.sendSIGHUP && a.killMode == b.killMode
            && a.notifyAccess == b.notifyAccess && a.fileDescriptorStoreMax == b.fileDescriptorStoreMax
            && a.nonBlocking == b.nonBlocking
            && a.environment.elementsEqual(b.environment, by: ==) && a.environmentFiles == b.environmentFiles
            && a.passEnvironment == b.passEnvironment && a.unsetEnvironment == b.unsetEnvironment
            && a.workingDirectory == b.workingDirectory && a.workingDirectoryOptional == b.workingDirectoryOptional
            && a.umask == b.umask && a.standardInput == b.standardInput && a.standardOutput == b.standardOutput
            && a.standardError == b.standardError && a.syslogIdentifier == b.syslogIdentifier
            && a.sandbox == b.sandbox
    }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(path)
        h.combine(execStart)
    }
}
