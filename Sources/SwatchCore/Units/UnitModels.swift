// The typed models of the unit files swatchd reads: what the parser produces
// and what the supervisor consumes. Names and defaults follow systemd.unit(5),
// systemd.socket(5), systemd.service(5), systemd.exec(5) and systemd.kill(5);
// man/swatchd.socket.5 and man/swatchd.service.5 are the table of what is
// supported. Every model is a value; `Hashable` lets daemon-reload tell an
// unchanged listener or service from a changed one.

/// A point in a unit file: the path as it was given, and a 1-based line.
package struct SourceLocation: Hashable, Sendable {
    package var file: SourcePath
    package var line: Int
}

/// One problem found in a unit, worded like systemd's conf-parser:
/// `hello.service:7: Unknown key 'ExecStrat' in section [Service], ignoring.`
package struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    package enum Severity: Hashable, Sendable { case warning, error }
    package var severity: Severity
    /// Where, when the problem has a place in a file (a missing ExecStart= points at the file, line 0 is not used: such
    /// diagnostics point at the line of the section header, or line 1).
    package var location: SourceLocation
    package var message: String
    /// The unit the problem belongs to (full name, e.g. `hello.service`), so the daemon refuses that unit alone.
    package var unit: String?

    package init(_ severity: Severity, _ location: SourceLocation, _ message: String, unit: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.unit = unit
    }

    package var description: String { "\(location.file):\(location.line): \(message)" }
}

// MARK: - Names

/// The two unit types swatchd runs.
package enum UnitType: String, Hashable, Sendable {
    case service, socket
}

/// A valid unit name per systemd.unit(5): `prefix[@instance].type`. A template has an empty instance (`echo@.service`).
package struct UnitName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The whole name, kept as one string: 16 bytes (the bytes themselves inline up to 15),
    /// where a prefix, an instance and a type were 40 bytes a name. Every table keyed by
    /// unit name (a dozen, each with up to twice as many buckets as units) and every
    /// model holds names (docs/HACKING.md "Where the bytes are").
    package let description: String

    package init(prefix: String, instance: String? = nil, type: UnitType) {
        if let instance {
            description = prefix + "@" + instance + "." + type.rawValue
        } else {
            description = prefix + "." + type.rawValue
        }
    }

    /// The same name with another type (`x.socket` → `x.service`): the bytes up to the
    /// type's dot copied once into a string of the final size, where splitting into prefix
    /// and instance and joining them again was ~2,000 instructions and concatenating three
    /// strings ~1,600 (several per unit at load).
    package func with(type: UnitType) -> UnitName {
        guard type != self.type else { return self }
        let suffix: StaticString
        switch type {
        case .service: suffix = ".service"
        case .socket: suffix = ".socket"
        }
        let suffixBytes = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        return UnitName(validated: withBytes { bytes in
            let stem = bytes[..<(bytes.lastIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex)]
            return String(unsafeUninitializedCapacity: stem.count + suffixBytes.count) { buffer in
                let end = buffer.initialize(fromContentsOf: stem)
                return UnsafeMutableBufferPointer(rebasing: buffer[end...]).initialize(fromContentsOf: suffixBytes) + end
            }
        })
    }

    /// Whether `other` is this name with another type or the same (`x.socket`, `x.service`),
    /// compared by byte in place: no name is made, and no String.Index is stepped through
    /// (~1,400 instructions a comparison through the UTF-8 views).
    package func hasSameStem(as other: UnitName) -> Bool {
        withBytes { mine in
            other.withBytes { theirs in
                mine[..<(mine.lastIndex(of: UInt8(ascii: ".")) ?? mine.endIndex)]
                    .elementsEqual(theirs[..<(theirs.lastIndex(of: UInt8(ascii: ".")) ?? theirs.endIndex)])
            }
        }
    }

    /// A name whose text is known to be valid (`UnitName(parsing:)` checked it).
    init(validated description: String) { self.description = description }

    /// `service` ends in `e`, `socket` in `t`.
    package var type: UnitType { description.utf8.last == UInt8(ascii: "t") ? .socket : .service }

    /// The part before `@` (or before the type).
    package var prefix: String { String(description.utf8[..<prefixEnd])! }

    /// nil: a plain unit; "": a template; otherwise the (escaped) instance.
    package var instance: String? {
        let end = typeStart
        guard let at = description.utf8[..<end].firstIndex(of: UInt8(ascii: "@")) else { return nil }
        return String(description.utf8[description.utf8.index(after: at)..<end])!
    }

    package var isTemplate: Bool {
        withBytes { bytes in
            let end = bytes.lastIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
            return end > bytes.startIndex && bytes[end - 1] == UInt8(ascii: "@")
        }
    }

    /// The index of the `.` before the type. Found by offset in the contiguous bytes a
    /// name's string always has (native or small): `utf8.lastIndex(of:)` stepped through
    /// String.Index one byte at a time, ~280 instructions a call. What only compares bytes
    /// (`isTemplate`, `hasSameStem`) reads them in place (`withBytes`) instead.
    private var typeStart: String.Index {
        let utf8 = description.utf8
        return withBytes { $0.lastIndex(of: UInt8(ascii: ".")) }.map { utf8.index(utf8.startIndex, offsetBy: $0) } ?? utf8.endIndex
    }

    /// The name's bytes in place: its string is native or small, so `withUTF8` copies nothing.
    private func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = description
        return text.withUTF8(body)
    }

    private var prefixEnd: String.Index {
        let end = typeStart
        return description.utf8[..<end].firstIndex(of: UInt8(ascii: "@")) ?? end
    }

    /// The order of the descriptions, byte by byte: unit names are ASCII, where String's
    /// order is the bytes' order; anything else compares as the strings do (String's `<`
    /// cost ~3,000 instructions a comparison in `valgrind --tool=callgrind`, docs/HACKING.md
    /// "Footprint and start-up").
    package static func < (a: UnitName, b: UnitName) -> Bool {
        var left = a.description.utf8.makeIterator(), right = b.description.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?):
                guard x < 0x80, y < 0x80 else { return a.description < b.description }
                if x != y { return x < y }
            }
        }
    }
}

// MARK: - [Unit]

/// The `[Unit]` section, out of line (Units/CopyOnWrite.swift): most units set little of it.
/// Dependencies are kept for `show` and ordering; targets swatchd has no notion of count as
/// always reached (swatchd.service(5), "[UNIT] SECTION").
package struct UnitSection: CopyOnWrite, Hashable, Sendable {
    package var storage: CopyOnWriteStorage<UnitSectionFields>
    /// The defaults: one storage shared by every unit that sets none of these.
    package init() { storage = UnitSection.defaults }
    private static let defaults = CopyOnWriteStorage(UnitSectionFields())

    /// Whether it may name other units: false for a unit that sets no [Unit] key (most).
    var mayNameUnits: Bool { storage !== Self.defaults }

    /// Whether a dependency or an ordering names another unit: what an Accept=yes connection's
    /// instance adds to the dependency graph (a template with `StartLimitBurst=` alone adds nothing).
    /// The kinds are DependencyGraph's own, so that a kind added there counts here too. Asked
    /// twice per Accept=yes connection of a template that sets a [Unit] key: ~100 instructions
    /// of the connection's ~285,000 (callgrind, against a list of the fields written out).
    var namesUnits: Bool {
        guard mayNameUnits else { return false }
        return !self.after.isEmpty || !self.before.isEmpty || DependencyGraph.Kind.allCases.contains { !dependencies($0).isEmpty }
    }

    /// Calls `body` with each name its dependencies give, as written (DependencyGraph.Kind:
    /// not After=/Before=, which only order what is loaded anyway).
    func forEachDependencyName(_ body: (String) -> Void) {
        guard mayNameUnits else { return }
        for kind in DependencyGraph.Kind.allCases {
            for name in dependencies(kind) { body(name) }
        }
    }
}

package struct UnitSectionFields: Hashable, Sendable {
    package var description: String?
    package var documentation: [String] = []
    package var after: [String] = []
    package var before: [String] = []
    package var requires: [String] = []
    package var wants: [String] = []
    /// `BindsTo=`, and its old spelling `BindTo=` (the seed's multi/hello.service uses it).
    package var bindsTo: [String] = []
    package var partOf: [String] = []
    package var conflicts: [String] = []
    /// `Requisite=`: the other unit must be active already; it is not started.
    package var requisite: [String] = []
    /// `Upholds=`: started whenever it is not running while this unit is active.
    package var upholds: [String] = []
    /// `OnFailure=`/`OnSuccess=`: started when this unit enters failed / ends successfully.
    package var onFailure: [String] = []
    package var onSuccess: [String] = []
    /// `PropagatesReloadTo=`/`ReloadPropagatedFrom=`: a reload of this unit reloads those / a
    /// reload of those reloads this one.
    package var propagatesReloadTo: [String] = []
    package var reloadPropagatedFrom: [String] = []
    /// `PropagatesStopTo=`/`StopPropagatedFrom=`: a stop of this unit, or its going down,
    /// stops those / a stop of those stops this one.
    package var propagatesStopTo: [String] = []
    package var stopPropagatedFrom: [String] = []
    /// `RefuseManualStart=`/`RefuseManualStop=`: only a dependency may start / stop it.
    package var refuseManualStart = false
    package var refuseManualStop = false
    /// `SuccessAction=`/`FailureAction=`: what swatchd does when the unit stops successfully /
    /// fails; with `…ExitStatus=`, its exit status then (nil: the main process's).
    package var successAction: UnitAction = .none
    package var failureAction: UnitAction = .none
    package var successActionExitStatus: Int32?
    package var failureActionExitStatus: Int32?
    /// `StartLimitIntervalSec=` (also accepted in [Service] as `StartLimitInterval=`); systemd's default 10s.
    package var startLimitInterval: TimeSpan = .seconds(10)
    /// `StartLimitBurst=`; systemd's default 5.
    package var startLimitBurst: Int = 5
    /// `Condition…=` and `Assert…=`, in the order written.
    package var conditions: [UnitCondition] = []
    /// `StopWhenUnneeded=`: stopped once no unit that is up or has a job needs it.
    package var stopWhenUnneeded = false
    /// `JobTimeoutSec=`/`JobRunningTimeoutSec=`: how long a job of the unit may wait and run /
    /// run before it is canceled with result `timeout` (infinity: no limit); the unit itself is
    /// left as it is. `JobTimeoutAction=`: what swatchd does then.
    package var jobTimeout: TimeSpan = .infinity
    package var jobRunningTimeout: TimeSpan = .infinity
    package var jobTimeoutAction: UnitAction = .none
    /// `RequiresMountsFor=`/`WantsMountsFor=`: absolute paths, as written. swatchd loads no
    /// mount units, so like every unit type it does not load they count as reached.
    package var requiresMountsFor: [String] = []
    package var wantsMountsFor: [String] = []
    /// `CollectMode=`: whether an instance nothing needs is unloaded once inactive only, or
    /// once failed too (Supervision/Manager+Collection.swift).
    package var collectMode: CollectMode = .inactive
}

/// CollectMode= (systemd.unit(5)): which states let an unneeded unit be unloaded.
package enum CollectMode: String, Hashable, Sendable {
    case inactive
    case inactiveOrFailed = "inactive-or-failed"
}

// MARK: - Sockets

/// Which Listen*= directive made a listener.
package enum ListenKind: String, Hashable, Sendable {
    case stream = "ListenStream"
    case datagram = "ListenDatagram"
    case sequentialPacket = "ListenSequentialPacket"
    case fifo = "ListenFIFO"
    case special = "ListenSpecial"
    case messageQueue = "ListenMessageQueue"
    case netlink = "ListenNetlink"
}

extension ListenKind {
    /// Whether Accept=yes can take connections off it (socket_address_can_accept(): stream and
    /// sequential-packet sockets).
    package var acceptsConnections: Bool {
        switch self {
        case .stream, .sequentialPacket: return true
        case .datagram, .fifo, .special, .messageQueue, .netlink: return false
        }
    }
}

/// The address of a Listen*= directive, in every form systemd.socket(5) gives.
package enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
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
    /// ListenSpecial=`/absolute/path`: a character device or a file in /proc or /sys.
    case special(path: String)
    /// ListenMessageQueue=`/name`: a POSIX message queue (mq_overview(7)).
    case messageQueue(name: String)
    /// ListenNetlink=`FAMILY GROUP`: the protocol number (NETLINK_ROUTE, ...) and the multicast group mask.
    case netlink(protocol: Int32, group: UInt32)
    /// `vsock:CID:PORT` (vsock(7)); CID nil: VMADDR_CID_ANY (`vsock::PORT`).
    case vsock(cid: UInt32?, port: UInt32)

    /// How `list-sockets` and `status` print it, as systemctl does (`[::]:8080`, `/run/x.sock`, `@name`).
    package var description: String {
        switch self {
        case .port(let p): return "[::]:\(p)"
        case .ipv4(let a, let p): return "\(a):\(p)"
        case .ipv6(let a, let p, let s): return "[\(a)\(s.map { "%" + $0 } ?? "")]:\(p)"
        case .unix(let path): return path
        case .abstract(let name): return "@" + name
        case .fifo(let path), .special(let path): return path
        case .messageQueue(let name): return name
        // socket_address_print(): `kobject-uevent 1`.
        case .netlink(let proto, let group): return "\(ListenAddress.netlinkFamilyName(proto)) \(group)"
        // sockaddr_pretty(): `vsock:CID:PORT`, `vsock::PORT` for any CID.
        case .vsock(let cid, let port): return "vsock:\(cid.map(String.init) ?? ""):\(port)"
        }
    }
}

extension ListenAddress {
    /// A unix socket path or a FIFO: what Symlinks= may point to (socket_find_symlink_target()).
    package var isFileSystemNode: Bool {
        switch self {
        case .unix, .fifo: return true
        case .port, .ipv4, .ipv6, .abstract, .special, .messageQueue, .netlink, .vsock: return false
        }
    }
}

/// One Listen*= line. Without its place in the file: nothing after the load names it, and
/// each is kept twice (the unit's, and its listener's copy), so a line moved by an edit
/// is no change of the socket unit to daemon-reload.
package struct ListenDirective: Hashable, Sendable {
    package var kind: ListenKind
    package var address: ListenAddress
}

package enum BindIPv6Only: String, Hashable, Sendable {
    case `default`, both
    case ipv6Only = "ipv6-only"
}

/// The socket options of systemd.socket(5) that shape how a listener is bound.
/// Two listeners with equal directive and equal options are the same listener
/// across daemon-reload (kept bound, same open file).
/// The socket options, out of line (Units/CopyOnWrite.swift): most sockets keep the defaults.
package struct SocketOptions: CopyOnWrite, Hashable, Sendable {
    package var storage: CopyOnWriteStorage<SocketOptionsFields>
    /// The defaults: one storage shared by every unit that sets none of these.
    package init() { storage = SocketOptions.defaults }
    private static let defaults = CopyOnWriteStorage(SocketOptionsFields())
}

package struct SocketOptionsFields: Hashable, Sendable {
    package var bindIPv6Only: BindIPv6Only = .default
    /// systemd's default is SOMAXCONN (4096 on Linux ≥ 5.4).
    package var backlog: Int32 = 4096
    package var bindToDevice: String?
    package var reusePort = false
    package var noDelay = false
    package var keepAlive = false
    package var keepAliveTime: TimeSpan?
    package var keepAliveInterval: TimeSpan?
    package var keepAliveProbes: Int?
    package var freeBind = false
    package var transparent = false
    package var broadcast = false
    package var receiveBuffer: Int?
    package var sendBuffer: Int?
    package var passCredentials = false
    package var passSecurity = false
    package var mark: Int?
    package var priority: Int?
    package var ipTOS: Int?
    package var ipTTL: Int?
    package var deferAcceptSec: TimeSpan?
    /// Access mode of unix socket files and FIFOs (SocketMode=, default 0666).
    package var socketMode: UInt32 = 0o666
    package var socketUser: String?
    package var socketGroup: String?
    /// Mode of parent directories created for unix sockets and FIFOs (DirectoryMode=, default 0755).
    package var directoryMode: UInt32 = 0o755
    package var removeOnStop = false
    package var pipeSize: Int?
    /// Writable=: ListenSpecial= files are opened O_RDWR instead of O_RDONLY.
    package var writable = false
    /// MessageQueueMaxMessages=, MessageQueueMessageSize=: used only when both are > 0 (mq_open(3)'s attr).
    package var messageQueueMaxMessages = 0
    package var messageQueueMessageSize = 0
    /// Symlinks=: links to the unit's one unix socket path or FIFO.
    package var symlinks: [String] = []
    package var timestamping: SocketTimestamping = .off
    /// PassPacketInfo=: IP_PKTINFO, IPV6_RECVPKTINFO or NETLINK_PKTINFO, by family.
    package var passPacketInfo = false
    /// PassPIDFD=: SO_PASSPIDFD, a pidfd of the sender with each message (unix sockets).
    package var passPIDFD = false
    /// AcceptFileDescriptors=: with `no`, SO_PASSRIGHTS off, so that no peer can send the
    /// service file descriptors (unix sockets); the kernel's default passes them.
    package var acceptFileDescriptors = true
    /// TCPCongestion=: the TCP_CONGESTION algorithm by name (`tcp(7)`); nil leaves the kernel's.
    package var tcpCongestion: String?
}

/// Timestamping= (systemd.socket(5)): SO_TIMESTAMP (`us`) or SO_TIMESTAMPNS (`ns`).
package enum SocketTimestamping: String, Hashable, Sendable {
    case off, us, ns
}

/// A `.socket` unit: its fields out of line (CopyOnWrite.swift), one pointer wide.
package struct SocketUnit: CopyOnWrite, Hashable, Sendable {
    package var storage: CopyOnWriteStorage<SocketUnitFields>
    package init(name: UnitName, path: SourcePath) { storage = CopyOnWriteStorage(SocketUnitFields(name: name, path: path)) }
}

/// The settings of a `.socket` unit.
package struct SocketUnitFields: Hashable, Sendable {
    package var name: UnitName
    /// The file it was loaded from, as given (for `Loaded:` and diagnostics).
    package var path: SourcePath
    /// Drop-in files applied, in order.
    package var dropIns: [String] = []
    /// Their modification times when loaded (`status`: changed on disk); equal whatever they are.
    package var fileTimes = SourceFileTimes()
    package var unit = UnitSection()
    package var listens: [ListenDirective] = []
    package var options = SocketOptions()
    /// `Service=`; nil means the service of the same prefix (or `prefix@.service` with Accept=yes).
    package var service: UnitName? { get { rarelySet.service } _modify { yield &rarelySet.service } }
    package var accept = false
    /// `MaxConnections=`, default 64.
    package var maxConnections = 64
    /// `MaxConnectionsPerSource=`: instances at once per source IP address (per UID for a unix
    /// peer) with Accept=yes; 0, the default, is no limit.
    package var maxConnectionsPerSource: Int { get { rarelySet.maxConnectionsPerSource } _modify { yield &rarelySet.maxConnectionsPerSource } }
    /// `FileDescriptorName=`; default: the socket unit's full name.
    package var fileDescriptorName: String? { get { rarelySet.fileDescriptorName } _modify { yield &rarelySet.fileDescriptorName } }
    /// The name of each of its listeners in LISTEN_FDNAMES, in the order they are passed.
    package var passedFDNames: [String] { Array(repeating: fileDescriptorName ?? name.description, count: listens.count) }
    /// `FlushPending=`: with Accept=no, what waits on the listeners is thrown away each time
    /// the socket goes back to listening (its start, its service's end).
    package var flushPending: Bool { get { rarelySet.flushPending } _modify { yield &rarelySet.flushPending } }
    /// `PassFileDescriptorsToExec=`: the commands run while the listeners are open (ExecStartPost=,
    /// ExecStopPre=, ExecStopPost=) get them as the service does (sd_listen_fds(3)).
    package var passFileDescriptorsToExec: Bool {
        get { rarelySet.passFileDescriptorsToExec }
        _modify { yield &rarelySet.passFileDescriptorsToExec }
    }
    /// `PollLimitIntervalSec=`, default 2s, and `PollLimitBurst=`, default 15, 150 with
    /// Accept=yes (resolved by the parser): more readable events than the burst within the
    /// interval and the listeners are not watched until it ends (SocketMachine).
    package var pollLimitInterval: TimeSpan { get { rarelySet.pollLimitInterval } _modify { yield &rarelySet.pollLimitInterval } }
    package var pollLimitBurst: Int { get { rarelySet.pollLimitBurst } _modify { yield &rarelySet.pollLimitBurst } }
    /// `TriggerLimitIntervalSec=`, default 2s.
    package var triggerLimitInterval: TimeSpan = .seconds(2)
    /// `TriggerLimitBurst=`; default 20, 200 with Accept=yes (resolved by the parser).
    package var triggerLimitBurst = 20
    /// The unit's own commands (systemd.socket(5)): around the bind and around the close.
    package var execStartPre: [ExecCommand] { get { rarelySet.execStartPre } _modify { yield &rarelySet.execStartPre } }
    package var execStartPost: [ExecCommand] { get { rarelySet.execStartPost } _modify { yield &rarelySet.execStartPost } }
    package var execStopPre: [ExecCommand] { get { rarelySet.execStopPre } _modify { yield &rarelySet.execStopPre } }
    package var execStopPost: [ExecCommand] { get { rarelySet.execStopPost } _modify { yield &rarelySet.execStopPost } }
    /// `TimeoutSec=`: how long each of those commands may run; default 90s (DefaultTimeoutStartSec=).
    package var timeout: TimeSpan { get { rarelySet.timeout } _modify { yield &rarelySet.timeout } }
    /// The execution settings of those commands (systemd.exec(5), systemd.kill(5): User=,
    /// Environment=, KillMode=, …), as a service's; nil while the unit sets none.
    /// One pointer (a ServiceUnit is out of line), nil for a socket without such settings.
    package var execution: ServiceUnit? { get { rarelySet.execution } _modify { yield &rarelySet.execution } }

    /// The settings above that forward to here: most socket units set none of them, and
    /// share one default (docs/HACKING.md "Where the bytes are").
    var rarelySet = SocketUnitRarelySet()

    /// Whether the unit runs any command of its own.
    package var hasCommands: Bool {
        !execStartPre.isEmpty || !execStartPost.isEmpty || !execStopPre.isEmpty || !execStopPost.isEmpty
    }

    /// `NetworkNamespacePath=` of its execution settings, where its listeners are bound. Read
    /// without `executionSettings`, which makes a whole default service for a socket that sets
    /// none (most): twice per socket as it binds.
    package var networkNamespacePath: String? { execution?.sandbox.networkNamespacePath }

    /// `execution`, or the defaults.
    package var executionSettings: ServiceUnit {
        get { execution ?? ServiceUnit(name: name, path: path) }
        set { execution = newValue }
    }
}

// MARK: - Services

package enum ServiceType: String, Hashable, Sendable {
    case simple, exec, notify, oneshot, forking
    /// `notify`, and a reload is ReloadSignal= to the main process, answered with
    /// RELOADING=1 and READY=1 (systemd.service(5)).
    case notifyReload = "notify-reload"
    /// `idle` behaves as `simple` here: swatchd has no job queue to wait for.
    case idle

    /// Started once the service says READY=1.
    package var isNotify: Bool { self == .notify || self == .notifyReload }
}

package enum RestartPolicy: String, Hashable, Sendable {
    case no, always
    case onSuccess = "on-success"
    case onFailure = "on-failure"
    case onAbnormal = "on-abnormal"
    case onAbort = "on-abort"
    case onWatchdog = "on-watchdog"
}

package enum NotifyAccess: String, Hashable, Sendable {
    case none, main, exec, all
}

/// TimeoutStartFailureMode=/TimeoutStopFailureMode= (systemd.service(5)): what a start or a
/// stop that timed out sends.
package enum TimeoutFailureMode: String, Hashable, Sendable {
    /// KillSignal=, then FinalKillSignal= after TimeoutStopSec=.
    case terminate
    /// WatchdogSignal= (SIGABRT, a core dump), then FinalKillSignal= after TimeoutAbortSec=.
    case abort
    /// FinalKillSignal= at once.
    case kill
}

/// ExitType= (systemd.service(5)): what ends a running service.
package enum ExitType: String, Hashable, Sendable {
    /// Its main process's exit.
    case main
    /// The exit of the last process of its group, the main process's included.
    case cgroup
}

package enum KillMode: String, Hashable, Sendable {
    case controlGroup = "control-group"
    case mixed, process, none
}

/// One command line of ExecStart= and friends, after systemd's quoting rules
/// and specifier expansion. Environment variables (`$VAR` splitting, `${VAR}`
/// substitution, `$$`) are expanded at spawn time by `ExecCommand.expand(environment:)`,
/// when the environment is known, unless `noEnvironmentExpansion` (the `:` prefix).
package struct ExecCommand: Hashable, Sendable {
    /// The executable as written: absolute, or a plain name looked up in PATH.
    package var path: String
    /// argv, argv[0] included (with `@`, argv[0] is the second word as written).
    package var arguments: [String]
    /// `-`: a non-zero exit is recorded but not a failure.
    package var ignoreFailure = false
    /// `@`
    package var overrideArgv0 = false
    /// `:`
    package var noEnvironmentExpansion = false
    /// `+`: run with full privileges (no User=, no sandbox).
    package var fullPrivileges = false
    /// `!`: User=, Group= and SupplementaryGroups= are not applied; the rest of
    /// the sandbox is (systemd.service(5)). `!!` does this only where the
    /// kernel lacks ambient capabilities — never on the Linux swatchd runs on
    /// (4.3 and later) — so it changes nothing.
    package var keepsCredentials = false
}

/// A set of exit statuses and signals (SuccessExitStatus= and friends).
package struct ExitStatusSet: Hashable, Sendable {
    package var statuses: Set<Int32> = []
    package var signals: Set<Int32> = []
}

/// `EnvironmentFile=`; `-` prefix: a missing file is not an error.
package struct EnvironmentFile: Hashable, Sendable {
    package var path: String
    package var optional: Bool
}

/// StandardOutput= / StandardError= (and the input side's `null`/`socket`).
package enum OutputTarget: Hashable, Sendable {
    case inherit, null, journal, kmsg, socket, tty
    case file(String), append(String), truncate(String)
    /// `fd:NAME`: the descriptor of that name among the service's sockets (FileDescriptorName=).
    case fd(String)
}

/// StandardInput= (systemd.exec(5)).
package enum InputSource: Hashable, Sendable {
    case null, socket
    /// `tty`, `tty-force`, `tty-fail`: TTYPath= on fd 0, made the controlling terminal.
    case tty(TerminalAcquisition)
    /// `data`: StandardInputText=/StandardInputData= (implied when they are set).
    case data
    /// `file:PATH`: read from the start.
    case file(String)
    /// `fd:NAME`: the descriptor of that name among the service's sockets (FileDescriptorName=).
    case fd(String)

    /// Whether fd 0 is the terminal of TTYPath=.
    package var isTerminal: Bool {
        if case .tty = self { return true }
        return false
    }
}

/// How `StandardInput=tty*` takes the terminal (TIOCSCTTY, tty_ioctl(4)).
package enum TerminalAcquisition: Hashable, Sendable {
    /// `tty`: systemd waits for the terminal to be released; swatchd's child cannot wait (the
    /// daemon waits for its execve), so a terminal controlled by another session fails the start.
    case wait
    /// `tty-force`: taken from the session that has it.
    case force
    /// `tty-fail`: a terminal controlled by another session fails the start.
    case fail
}

package enum ProtectSystem: String, Hashable, Sendable {
    case no, yes, full, strict
}

package enum ProtectHome: String, Hashable, Sendable {
    case no, yes
    case readOnly = "read-only"
    case tmpfs
}

/// SuccessAction=/FailureAction= (systemd.unit(5)), of the values a service manager that is not
/// the machine's init can take, as systemd's user manager: the others (`poweroff`, `reboot`, …)
/// are warned about and not acted on.
package enum UnitAction: String, Hashable, Sendable {
    case none
    /// swatchd stops every unit and exits.
    case exit
    /// swatchd exits at once, stopping nothing.
    case exitForce = "exit-force"

    /// The actions systemd has that swatchd does not take (emergency_action_table, src/shared/emergency-action.c).
    static let notTaken: Set<String> = [
        "reboot", "reboot-force", "reboot-immediate", "poweroff", "poweroff-force", "poweroff-immediate",
        "soft-reboot", "soft-reboot-force", "kexec", "kexec-force", "halt", "halt-force", "halt-immediate",
    ]
}

/// CPUSchedulingPolicy= (sched(7)), by systemd's names or the SCHED_* number.
package enum CPUSchedulingPolicy: Int32, Hashable, Sendable {
    case other = 0, fifo = 1, rr = 2, batch = 3, idle = 5

    package init?(text: String) {
        switch text {
        case "other": self = .other
        case "fifo": self = .fifo
        case "rr": self = .rr
        case "batch": self = .batch
        case "idle": self = .idle
        default:
            guard let policy = Int32(text).flatMap(CPUSchedulingPolicy.init(rawValue:)) else { return nil }
            self = policy
        }
    }
}

/// IOSchedulingClass= (ioprio_set(2)), by systemd's names or the IOPRIO_CLASS_* number.
package enum IOSchedulingClass: Int32, Hashable, Sendable {
    /// The kernel's default: the I/O priority follows the nice value.
    case none = 0, realtime = 1, bestEffort = 2, idle = 3

    package init?(text: String) {
        switch text {
        case "none": self = .none
        case "realtime": self = .realtime
        case "best-effort": self = .bestEffort
        case "idle": self = .idle
        default:
            guard let value = Int32(text).flatMap(IOSchedulingClass.init(rawValue:)) else { return nil }
            self = value
        }
    }
}

/// RuntimeDirectoryPreserve= (systemd.exec(5)) and FileDescriptorStorePreserve=
/// (systemd.service(5)): when the runtime directories, or the stored fds, go (ExecPreserveMode).
package enum PreserveMode: String, Hashable, Sendable {
    /// At every stop, also the one before a restart (service_enter_dead(), src/core/service.c).
    case no
    /// Never while the unit is loaded (the directories: until the machine reboots, /run is a tmpfs).
    case yes
    /// When the unit is inactive and no restart follows (unit_release_resources(), src/core/unit.c).
    case restart

    /// `no`, `yes`, `restart`, or a boolean (exec_preserve_mode_from_string()).
    @Sendable init?(parsing value: String) {
        guard let mode = ValueParser.boolean(value).map({ $0 ? .yes : .no }) ?? PreserveMode(rawValue: value) else { return nil }
        self = mode
    }
}

/// A capability set of CapabilityBoundingSet=/AmbientCapabilities=, as the bits of CAP_* numbers.
package struct CapabilitySet: Hashable, Sendable {
    package var bits: UInt64
    package static let all = CapabilitySet(bits: (1 << 41) - 1)
}

/// The Limit*= directives of systemd.exec(5) that swatchd knows.
package enum ResourceLimit: String, Hashable, Sendable, CaseIterable {
    case cpu = "LimitCPU", fsize = "LimitFSIZE", data = "LimitDATA", stack = "LimitSTACK"
    case core = "LimitCORE", rss = "LimitRSS", nofile = "LimitNOFILE", `as` = "LimitAS"
    case nproc = "LimitNPROC", memlock = "LimitMEMLOCK", locks = "LimitLOCKS"
    case sigpending = "LimitSIGPENDING", msgqueue = "LimitMSGQUEUE", nice = "LimitNICE"
    case rtprio = "LimitRTPRIO", rttime = "LimitRTTIME"
}

/// A soft:hard pair; `UInt64.max` is infinity.
package struct LimitValue: Hashable, Sendable {
    package var soft: UInt64
    package var hard: UInt64
}

/// Privilege and sandboxing settings of systemd.exec(5). Whether each is
/// enforced by this build is the parser's business (an unenforced one refuses the unit).
/// The sandbox of a service, out of line (Units/CopyOnWrite.swift): most services set none of it.
package struct Sandbox: CopyOnWrite, Hashable, Sendable {
    package var storage: CopyOnWriteStorage<SandboxFields>
    /// The defaults: one storage shared by every unit that sets none of these.
    package init() { storage = Sandbox.defaults }
    private static let defaults = CopyOnWriteStorage(SandboxFields())
}

package struct SandboxFields: Hashable, Sendable {
    package var user: String?
    package var group: String?
    package var supplementaryGroups: [String] = []
    package var dynamicUser = false
    package var noNewPrivileges = false
    package var capabilityBoundingSet: CapabilitySet?
    package var ambientCapabilities: CapabilitySet?
    package var privateDevices = false
    package var privateTmp = false
    package var privateNetwork = false
    /// NetworkNamespacePath=: the network namespace to join; PrivateNetwork= then has no effect.
    package var networkNamespacePath: String?
    package var protectSystem: ProtectSystem = .no
    package var protectHome: ProtectHome = .no
    package var readWritePaths: [String] = []
    package var readOnlyPaths: [String] = []
    package var inaccessiblePaths: [String] = []
    package var stateDirectory: [String] = []
    package var runtimeDirectory: [String] = []
    package var cacheDirectory: [String] = []
    package var logsDirectory: [String] = []
    package var configurationDirectory: [String] = []
    /// StateDirectoryMode= and friends: the directories' access mode (parse_mode(), 0755 unset).
    package var stateDirectoryMode: UInt32 = 0o755
    package var runtimeDirectoryMode: UInt32 = 0o755
    package var cacheDirectoryMode: UInt32 = 0o755
    package var logsDirectoryMode: UInt32 = 0o755
    package var configurationDirectoryMode: UInt32 = 0o755
    package var runtimeDirectoryPreserve: PreserveMode = .no
    package var removeIPC = false
    package var nice: Int32?
    /// CPUSchedulingPolicy=, CPUSchedulingPriority=, CPUSchedulingResetOnFork=: any of them set
    /// asks for sched_setscheduler(2), the others at the kernel's default (other, 0, no).
    package var cpuSchedulingPolicy: CPUSchedulingPolicy?
    package var cpuSchedulingPriority: Int32?
    package var cpuSchedulingResetOnFork: Bool?
    /// IOSchedulingClass=, IOSchedulingPriority=: either set asks for ioprio_set(2), the other
    /// at the kernel's default (best-effort, 4).
    package var ioSchedulingClass: IOSchedulingClass?
    package var ioSchedulingPriority: Int32?
    package var oomScoreAdjust: Int32?
    /// CoredumpFilter=: the mask of mappings a core dump holds (core(5), /proc/PID/coredump_filter).
    package var coredumpFilter: UInt64?
    /// CPUAffinity=: the CPUs, sorted, each once; empty: unset.
    package var cpuAffinity: [Int] = []
    /// NUMAPolicy= (nil: unset, the mask alone does nothing) and NUMAMask= (the nodes, sorted).
    package var numaPolicy: NUMAPolicy?
    package var numaMask: [Int] = []
    /// TimerSlackNSec=, in nanoseconds.
    package var timerSlack: UInt64?
    /// Personality=: the persona personality(2) takes (PER_LINUX, PER_LINUX32).
    package var personality: Int?
    /// KeyringMode=; nil: `KeyringMode.implicit`.
    package var keyringMode: KeyringMode?
    /// SecureBits=: the SECBIT_* flags of <linux/securebits.h>; 0: unset.
    package var secureBits: Int32 = 0
    package var limits: [ResourceLimit: LimitValue] = [:]
    // System call filtering (systemd.exec(5), "SYSTEM CALL FILTERING"; Sandbox/SeccompFilters.swift).
    package var systemCallFilter: SystemCallFilter?
    package var systemCallErrorNumber: SystemCallErrorAction?
    /// SystemCallLog=: logs, restricts nothing.
    package var systemCallLog: SystemCallFilter?
    /// SystemCallArchitectures=: `native` or architecture names; empty: unset.
    package var systemCallArchitectures: [String] = []
    package var restrictAddressFamilies: AddressFamilies?
    /// RestrictNamespaces=: the CLONE_NEW* flags the service may not use; nil: unset.
    package var restrictNamespaces: Int32?
    package var restrictRealtime = false
    package var restrictSUIDSGID = false
    package var lockPersonality = false
    package var memoryDenyWriteExecute = false
    // Kernel and namespace protections (systemd.exec(5), "SANDBOXING").
    package var protectKernelTunables = false
    package var protectKernelModules = false
    package var protectKernelLogs = false
    package var protectControlGroups = false
    package var protectClock = false
    package var protectHostname = false
    package var privateIPC = false
    /// IPCNamespacePath=: the IPC namespace to join; PrivateIPC= then has no effect.
    package var ipcNamespacePath: String?
    /// PrivateUsers= (a boolean, as in systemd 252).
    package var privateUsers = false
    package var privateMounts = false
    /// PrivatePIDs=: each command is PID 1 of a PID namespace of its own, with a /proc of it.
    package var privatePIDs = false
    /// MountAPIVFS=: without RootDirectory= (which swatchd refuses), a mount namespace of the
    /// service's own: the API file systems are the host's, already mounted (systemd.exec(5)).
    package var mountAPIVFS = false
    /// TemporaryFileSystem=: `PATH[:OPTIONS]` words.
    package var temporaryFileSystem: [String] = []
    /// BindPaths=/BindReadOnlyPaths=: `[-]SOURCE[:DESTINATION[:OPTIONS]]` words.
    package var bindPaths: [String] = []
    package var bindReadOnlyPaths: [String] = []
    package var noExecPaths: [String] = []
    package var execPaths: [String] = []
    /// ProtectProc=: `noaccess`, `invisible`, `ptraceable`; nil: `default`.
    package var protectProc: String?
    /// ProcSubset=pid.
    package var procSubsetPID = false
    /// MemoryMax= and the other limits of the service's cgroup (Units/ResourceControlKeys.swift).
    package var resourceControl = ResourceControl()
    /// DevicePolicy= and DeviceAllow= (Units/DeviceAccessKeys.swift, Sandbox/DeviceProgram.swift).
    package var devicePolicy = DevicePolicy.auto
    package var deviceAllow: [DeviceAllowEntry] = []
    /// IPAddressAllow= and IPAddressDeny= (Units/IPAddressKeys.swift, Sandbox/IPFilterProgram.swift).
    package var ipAddressAllow: [IPPrefix] = []
    package var ipAddressDeny: [IPPrefix] = []
    /// IPIngressFilterPath= and IPEgressFilterPath=: BPF programs pinned on a bpf file system,
    /// attached beside swatchd's own (Linux/CgroupPrograms.swift).
    package var ipIngressFilterPaths: [String] = []
    package var ipEgressFilterPaths: [String] = []
    /// RestrictNetworkInterfaces=: the interface names, and whether they are the ones allowed
    /// (or, with `~`, the ones denied); no names: unset.
    package var restrictNetworkInterfaces: [String] = []
    package var networkInterfacesAllowed = true
    /// Delegate=: the service manages the groups below its own (a controller list counts as yes).
    package var delegate = false
    /// DelegateSubgroup=: with Delegate=, the subgroup of the service's group its main process
    /// starts in (every other command then starts in ".control"); nil: the group itself.
    package var delegateSubgroup: String?
    /// SocketBindAllow=, SocketBindDeny=.
    package var socketBindAllow: [SocketBindRule] = []
    package var socketBindDeny: [SocketBindRule] = []
    /// LoadCredential=, SetCredential=, ImportCredential=, in the order written
    /// (Sandbox/ServiceCredentials.swift).
    package var credentials: [CredentialSource] = []
}

/// Where one credential of systemd.exec(5), "CREDENTIALS", comes from.
package enum CredentialSource: Hashable, Sendable {
    /// LoadCredential=ID[:PATH]: a file (or each file of a directory); a relative or
    /// missing PATH is below swatchd's own $CREDENTIALS_DIRECTORY.
    case load(id: String, path: String?)
    /// SetCredential=ID:VALUE: the value itself, used when nothing else gave ID.
    case set(id: String, value: String)
    /// ImportCredential=GLOB: the credentials of swatchd's own $CREDENTIALS_DIRECTORY that match.
    case importing(glob: String)
}

/// SystemCallFilter=: an allow list (every other system call fails) or a deny
/// list (`~`), with the groups already expanded to system call names, as
/// systemd's config_parse_syscall_filter() does (src/core/load-fragment.c).
package struct SystemCallFilter: Hashable, Sendable {
    package var allowList: Bool
    /// System call name → the errno of its `:errno` suffix (deny lists), 0: none given.
    package var entries: [String: Int32]

    package init(allowList: Bool, entries: [String: Int32] = [:]) {
        self.allowList = allowList
        self.entries = entries
    }
}

/// SystemCallErrorNumber=: what a filtered system call does instead of killing the process.
package enum SystemCallErrorAction: Hashable, Sendable {
    case errno(Int32)
    case kill
}

/// RestrictAddressFamilies=: the families socket(2) may (allow list) or may not (`~`) create.
package struct AddressFamilies: Hashable, Sendable {
    package var allowList: Bool
    package var families: Set<Int32>

    package init(allowList: Bool, families: Set<Int32>) {
        self.allowList = allowList
        self.families = families
    }
}

/// A `.service` unit: its fields out of line (CopyOnWrite.swift), one pointer wide, so the
/// UnitSet, the Manager's entry and the machine share one copy of each unit.
package struct ServiceUnit: CopyOnWrite, Hashable, Sendable {
    package var storage: CopyOnWriteStorage<ServiceUnitFields>
    package init(name: UnitName, path: SourcePath) { storage = CopyOnWriteStorage(ServiceUnitFields(name: name, path: path)) }
}

/// The settings of a `.service` unit.
package struct ServiceUnitFields: Hashable, Sendable {
    package var name: UnitName
    package var path: SourcePath
    package var dropIns: [String] = []
    /// Their modification times when loaded (`status`: changed on disk); not compared by `==`.
    package var fileTimes = SourceFileTimes()
    package var unit = UnitSection()

    package var type: ServiceType = .simple
    /// `ExecCondition=`: run before ExecStartPre=; exit 1–254 skips the start (systemd.service(5)).
    package var execCondition: [ExecCommand] { get { rarelySet.execCondition } _modify { yield &rarelySet.execCondition } }
    package var execStartPre: [ExecCommand] { get { rarelySet.execStartPre } _modify { yield &rarelySet.execStartPre } }
    package var execStart: [ExecCommand] = []
    package var execStartPost: [ExecCommand] { get { rarelySet.execStartPost } _modify { yield &rarelySet.execStartPost } }
    package var execReload: [ExecCommand] { get { rarelySet.execReload } _modify { yield &rarelySet.execReload } }
    /// ReloadSignal=: what a reload of a Type=notify-reload service sends its main process.
    package var reloadSignal: Int32 { get { rarelySet.reloadSignal } _modify { yield &rarelySet.reloadSignal } }
    /// Whether it can be reloaded (service_can_reload(), src/core/service.c).
    package var canReload: Bool { !execReload.isEmpty || type == .notifyReload }
    package var execStop: [ExecCommand] { get { rarelySet.execStop } _modify { yield &rarelySet.execStop } }
    package var execStopPost: [ExecCommand] { get { rarelySet.execStopPost } _modify { yield &rarelySet.execStopPost } }
    /// PermissionsStartOnly=: the commands other than ExecStart= run as with `+` (systemd.service(5)).
    package var permissionsStartOnly: Bool { get { rarelySet.permissionsStartOnly } _modify { yield &rarelySet.permissionsStartOnly } }
    package var remainAfterExit = false
    package var pidFile: String? { get { rarelySet.pidFile } _modify { yield &rarelySet.pidFile } }
    package var guessMainPID = true
    package var exitType: ExitType = .main
    package var timeoutStartFailureMode: TimeoutFailureMode = .terminate
    package var timeoutStopFailureMode: TimeoutFailureMode = .terminate

    package var restart: RestartPolicy = .no
    /// RestartSec=, default 100ms.
    package var restartSec: TimeSpan = .milliseconds(100)
    package var restartSteps = 0
    package var restartMaxDelay: TimeSpan = .infinity
    package var successExitStatus: ExitStatusSet { get { rarelySet.successExitStatus } _modify { yield &rarelySet.successExitStatus } }
    package var restartPreventExitStatus: ExitStatusSet { get { rarelySet.restartPreventExitStatus } _modify { yield &rarelySet.restartPreventExitStatus } }
    package var restartForceExitStatus: ExitStatusSet { get { rarelySet.restartForceExitStatus } _modify { yield &rarelySet.restartForceExitStatus } }

    /// TimeoutStartSec=, default 90s (DefaultTimeoutStartSec). `infinity` disables.
    package var timeoutStart: TimeSpan = .seconds(90)
    /// TimeoutStopSec=; when the unit does not set it, SpecifierContext.defaultTimeoutStop
    /// (90s unless `swatchd --default-timeout-stop`).
    package var timeoutStop: TimeSpan = .seconds(90)
    /// TimeoutAbortSec=; nil: same as TimeoutStopSec=.
    package var timeoutAbort: TimeSpan? { get { rarelySet.timeoutAbort } _modify { yield &rarelySet.timeoutAbort } }
    /// RuntimeMaxSec=: how long the service may be active; then it is stopped with
    /// Result=timeout. `infinity` (the default): no limit.
    package var runtimeMax: TimeSpan = .infinity
    /// RuntimeRandomizedExtraSec=: RuntimeMaxSec= grows by a uniform draw in 0…this per start.
    package var runtimeRandomizedExtra: TimeSpan = .zero
    /// IgnoreSIGPIPE=: the processes start with SIGPIPE ignored (systemd.exec(5)).
    package var ignoreSIGPIPE = true
    package var watchdog: TimeSpan = .zero
    /// `X-IdleStopSec=`: stop after this long without a connection (0 or infinity: never).
    package var idleStop: TimeSpan = .zero
    package var watchdogSignal: Int32 = 6    // SIGABRT
    package var killSignal: Int32 = 15       // SIGTERM
    package var restartKillSignal: Int32? { get { rarelySet.restartKillSignal } _modify { yield &rarelySet.restartKillSignal } }
    package var finalKillSignal: Int32 = 9   // SIGKILL
    package var sendSIGKILL = true
    package var sendSIGHUP = false
    package var killMode: KillMode = .controlGroup
    /// NotifyAccess=; nil: `main` for Type=notify or WatchdogSec=, else none (resolved by `effectiveNotifyAccess`).
    package var notifyAccess: NotifyAccess?
    /// `Sockets=`: socket units whose fds the service gets besides those whose Service= names it
    /// (systemd.service(5)); each is also wanted and ordered before it.
    package var sockets: [UnitName] { get { rarelySet.sockets } _modify { yield &rarelySet.sockets } }
    /// Where the last `Sockets=` is, for the warning about a socket that is not loaded.
    var socketsLocation: SourceLocation? { get { rarelySet.socketsLocation } _modify { yield &rarelySet.socketsLocation } }
    package var fileDescriptorStoreMax = 0
    /// FileDescriptorStorePreserve=: `restart` (kept across restarts), `yes` (also while stopped), `no`.
    package var fileDescriptorStorePreserve: PreserveMode {
        get { rarelySet.fileDescriptorStorePreserve } _modify { yield &rarelySet.fileDescriptorStorePreserve }
    }
    /// NonBlocking=: hand the sockets over in non-blocking mode.
    package var nonBlocking = false

    /// Environment= in order; later assignments of a name win.
    package var environment: [(String, String)] { get { rarelySet.environment } _modify { yield &rarelySet.environment } }
    package var environmentFiles: [EnvironmentFile] { get { rarelySet.environmentFiles } _modify { yield &rarelySet.environmentFiles } }
    package var passEnvironment: [String] { get { rarelySet.passEnvironment } _modify { yield &rarelySet.passEnvironment } }
    package var unsetEnvironment: [String] { get { rarelySet.unsetEnvironment } _modify { yield &rarelySet.unsetEnvironment } }
    /// WorkingDirectory=; nil: `/`. `-` prefix: missing is not an error; `~`: the user's home.
    package var workingDirectory: String? { get { rarelySet.workingDirectory } _modify { yield &rarelySet.workingDirectory } }
    package var workingDirectoryOptional = false
    package var umask: UInt32 = 0o022
    package var standardInput: InputSource { get { rarelySet.standardInput } _modify { yield &rarelySet.standardInput } }
    /// StandardInputText= (each with a newline) and StandardInputData=, in order.
    package var standardInputData: [UInt8] { get { rarelySet.standardInputData } _modify { yield &rarelySet.standardInputData } }
    /// TTYPath=: the terminal of `tty` input and output.
    package var ttyPath: String { get { rarelySet.ttyPath } _modify { yield &rarelySet.ttyPath } }
    /// nil: the default (journal where there is one, else swatchd's stderr with a prefix).
    package var standardOutput: OutputTarget? { get { rarelySet.standardOutput } _modify { yield &rarelySet.standardOutput } }
    /// nil: same as StandardOutput= (systemd's `inherit`).
    package var standardError: OutputTarget? { get { rarelySet.standardError } _modify { yield &rarelySet.standardError } }
    package var syslogIdentifier: String? { get { rarelySet.syslogIdentifier } _modify { yield &rarelySet.syslogIdentifier } }
    /// SyslogLevel=, SyslogLevelPrefix=, LogLevelMax=: how the output's lines are leveled and
    /// which are kept.
    package var outputLevels: OutputCapture.Levels { get { rarelySet.outputLevels } _modify { yield &rarelySet.outputLevels } }
    /// LogExtraFields=: `FIELD=value` assignments every journal entry of the output carries.
    package var logExtraFields: [String] { get { rarelySet.logExtraFields } _modify { yield &rarelySet.logExtraFields } }
    /// OpenFile=, in order.
    package var openFiles: [OpenFile] { get { rarelySet.openFiles } _modify { yield &rarelySet.openFiles } }
    /// The settings above that forward to here: most services set none of them, and share
    /// one default (~330 bytes a service otherwise; docs/HACKING.md "Where the bytes are").
    var rarelySet = ServiceUnitRarelySet()
    package var sandbox = Sandbox()

    /// StandardInput=, with `data` implied by StandardInputText=/StandardInputData= when it is
    /// not set otherwise (unit_patch_contexts(), src/core/unit.c).
    package var effectiveStandardInput: InputSource {
        standardInput == .null && !standardInputData.isEmpty ? .data : standardInput
    }

    /// StandardOutput=, whose default is `inherit` after a terminal or a connection on fd 0
    /// (systemd.exec(5)); nil: the journal.
    package var effectiveStandardOutput: OutputTarget? {
        if let standardOutput { return standardOutput }
        switch effectiveStandardInput {
        case .tty, .socket, .fd: return .inherit
        case .null, .data, .file: return nil
        }
    }

    package var effectiveNotifyAccess: NotifyAccess {
        if let notifyAccess { return notifyAccess }
        return type.isNotify || watchdog > .zero ? .main : .none
    }

    package static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.path == b.path && a.dropIns == b.dropIns && a.unit == b.unit && a.type == b.type
            && a.execCondition == b.execCondition && a.execStartPre == b.execStartPre && a.execStart == b.execStart && a.execStartPost == b.execStartPost
            && a.execReload == b.execReload && a.execStop == b.execStop && a.execStopPost == b.execStopPost
            && a.remainAfterExit == b.remainAfterExit && a.pidFile == b.pidFile && a.guessMainPID == b.guessMainPID
            && a.restart == b.restart && a.restartSec == b.restartSec && a.restartSteps == b.restartSteps
            && a.restartMaxDelay == b.restartMaxDelay && a.successExitStatus == b.successExitStatus
            && a.restartPreventExitStatus == b.restartPreventExitStatus
            && a.restartForceExitStatus == b.restartForceExitStatus && a.timeoutStart == b.timeoutStart
            && a.timeoutStop == b.timeoutStop && a.timeoutAbort == b.timeoutAbort && a.runtimeMax == b.runtimeMax
            && a.runtimeRandomizedExtra == b.runtimeRandomizedExtra
            && a.ignoreSIGPIPE == b.ignoreSIGPIPE && a.watchdog == b.watchdog
            && a.watchdogSignal == b.watchdogSignal && a.killSignal == b.killSignal
            && a.restartKillSignal == b.restartKillSignal && a.finalKillSignal == b.finalKillSignal
            && a.reloadSignal == b.reloadSignal
            && a.sendSIGKILL == b.sendSIGKILL && a.sendSIGHUP == b.sendSIGHUP && a.killMode == b.killMode
            && a.notifyAccess == b.notifyAccess && a.fileDescriptorStoreMax == b.fileDescriptorStoreMax
            && a.nonBlocking == b.nonBlocking && a.sockets == b.sockets
            && a.environment.elementsEqual(b.environment, by: ==) && a.environmentFiles == b.environmentFiles
            && a.passEnvironment == b.passEnvironment && a.unsetEnvironment == b.unsetEnvironment
            && a.workingDirectory == b.workingDirectory && a.workingDirectoryOptional == b.workingDirectoryOptional
            && a.umask == b.umask && a.standardInput == b.standardInput && a.standardOutput == b.standardOutput
            && a.standardInputData == b.standardInputData && a.ttyPath == b.ttyPath
            && a.standardError == b.standardError && a.syslogIdentifier == b.syslogIdentifier
            && a.outputLevels == b.outputLevels && a.logExtraFields == b.logExtraFields && a.openFiles == b.openFiles
            && a.permissionsStartOnly == b.permissionsStartOnly && a.exitType == b.exitType
            && a.fileDescriptorStorePreserve == b.fileDescriptorStorePreserve && a.idleStop == b.idleStop
            && a.timeoutStartFailureMode == b.timeoutStartFailureMode
            && a.timeoutStopFailureMode == b.timeoutStopFailureMode
            && a.sandbox == b.sandbox
    }

    package func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(path)
        h.combine(execStart)
    }
}

/// The settings of a `.service` unit that few units set, out of line (Units/CopyOnWrite.swift).
struct ServiceUnitRarelySet: CopyOnWrite, Sendable {
    var storage: CopyOnWriteStorage<ServiceUnitRarelySetFields>
    init() { storage = ServiceUnitRarelySet.defaults }
    private static let defaults = CopyOnWriteStorage(ServiceUnitRarelySetFields())
}

struct ServiceUnitRarelySetFields: Sendable {
    var execCondition: [ExecCommand] = []
    var execStartPre: [ExecCommand] = []
    var execStartPost: [ExecCommand] = []
    var execReload: [ExecCommand] = []
    var reloadSignal: Int32 = 1   // SIGHUP
    var execStop: [ExecCommand] = []
    var execStopPost: [ExecCommand] = []
    var pidFile: String?
    var successExitStatus: ExitStatusSet = ExitStatusSet()
    var restartPreventExitStatus: ExitStatusSet = ExitStatusSet()
    var restartForceExitStatus: ExitStatusSet = ExitStatusSet()
    var timeoutAbort: TimeSpan?
    var restartKillSignal: Int32?
    var sockets: [UnitName] = []
    var socketsLocation: SourceLocation?
    var environment: [(String, String)] = []
    var environmentFiles: [EnvironmentFile] = []
    var passEnvironment: [String] = []
    var unsetEnvironment: [String] = []
    var workingDirectory: String?
    var standardInput: InputSource = .null
    var standardInputData: [UInt8] = []
    var ttyPath: String = "/dev/console"
    var standardOutput: OutputTarget?
    var standardError: OutputTarget?
    var syslogIdentifier: String?
    var outputLevels = OutputCapture.Levels()
    var logExtraFields: [String] = []
    var openFiles: [OpenFile] = []
    var permissionsStartOnly = false
    var fileDescriptorStorePreserve: PreserveMode = .restart
}

/// The settings of a `.socket` unit that few units set, out of line (Units/CopyOnWrite.swift).
struct SocketUnitRarelySet: CopyOnWrite, Hashable, Sendable {
    var storage: CopyOnWriteStorage<SocketUnitRarelySetFields>
    init() { storage = SocketUnitRarelySet.defaults }
    private static let defaults = CopyOnWriteStorage(SocketUnitRarelySetFields())
}

struct SocketUnitRarelySetFields: Hashable, Sendable {
    var service: UnitName?
    var maxConnectionsPerSource: Int = 0
    var fileDescriptorName: String?
    var execStartPre: [ExecCommand] = []
    var execStartPost: [ExecCommand] = []
    var execStopPre: [ExecCommand] = []
    var execStopPost: [ExecCommand] = []
    var timeout: TimeSpan = .seconds(90)
    var execution: ServiceUnit?
    var flushPending = false
    var passFileDescriptorsToExec = false
    var pollLimitInterval: TimeSpan = .seconds(2)
    var pollLimitBurst = 15
}
