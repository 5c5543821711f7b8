import Glibc
import Logging
import SystemPackage

/// Owns the units, their listeners and their processes, and applies what the
/// state machines decide (DESIGN §5). It decides nothing itself: every
/// restart, stop and timeout is a `ServiceAction` of a `ServiceMachine`.
///
/// Error policy, as s6-svscan's: problems of swatchd itself at start-up throw
/// to `main`; a problem of one unit is logged and that unit is left out; once
/// the loop runs, nothing one service does takes the daemon down.
public final class Supervisor {
    public struct Configuration: Sendable {
        public var unitDirectories: [String]
        public var unitFiles: [String] = []
        public var runtimeDirectory: String
        public var specifiers: SpecifierContext
        /// swatchd's own environment: only its PATH (for plain ExecStart= names)
        /// and PassEnvironment= reach a service (DESIGN §4).
        public var ownEnvironment: [String: String]
        /// `swatchd run`: the service gets the caller's environment, as a developer expects.
        public var passOwnEnvironment = false
        /// Whether journald is there (LogTarget.journalIsAvailable), for services' output.
        public var journalAvailable = false
        public init(unitDirectories: [String], runtimeDirectory: String, specifiers: SpecifierContext,
                    ownEnvironment: [String: String]) {
            self.unitDirectories = unitDirectories
            self.runtimeDirectory = runtimeDirectory
            self.specifiers = specifiers
            self.ownEnvironment = ownEnvironment
        }
    }

    /// A problem of swatchd itself at start-up (DESIGN §6): main prints
    /// `swatchd: <description>` and exits 1.
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
        init(_ what: String, _ errno: Errno) { description = "\(what): \(errno)" }
    }

    /// A service (or an Accept=yes instance) and what swatchd holds for it.
    struct ServiceRecord {
        var machine: ServiceMachine
        var invocationID = ""
        /// FDSTORE=1 fds, handed back after the socket fds on the next start.
        var fdStore: [(name: String, fd: FileDescriptor)] = []
        /// Accept=yes: the connection, owned until the instance's main process has it.
        var connection: AcceptedConnection?
        /// Accept=yes: the socket unit that made this instance.
        var instanceOf: UnitName?
        /// daemon-reload found the unit gone: forget it once it has stopped.
        var removed = false
    }

    /// A socket unit, its bound listeners and whether they are in epoll.
    struct SocketRecord {
        var machine: SocketMachine
        var listeners: [Listener]
        var watches: [EventLoop.Watch] = []
        var service: UnitName
        var instances = 0
    }

    let configuration: Configuration
    let logger: Logger
    let loop: EventLoop
    let timer: TimerFD
    let tracker: ProcessTracker
    /// The recent lines of every unit: swatchd's messages about it and its output.
    let unitLog: UnitLogBuffer
    /// The control socket (`RUNTIME/control`), once bound.
    var control: ControlServer?
    var controlWatches: [Int32: EventLoop.Watch] = [:]
    var units: UnitSet
    var services: [UnitName: ServiceRecord] = [:]
    var sockets: [UnitName: SocketRecord] = [:]
    /// Main and control processes → their unit.
    var pidOwners: [Int32: UnitName] = [:]
    var notifySocket: NotifySocket?
    /// Dynamic users and what sandboxed services leave to undo (Sandbox/SandboxPreparation.swift).
    let sandbox: SandboxPreparation
    var acceptCounter = 0
    var shuttingDown = false
    /// What the loop reports when it ends.
    public private(set) var exitCode: Int32 = 0

    public init(configuration: Configuration, logger: Logger, loop: EventLoop, unitLog: UnitLogBuffer) throws(Errno) {
        self.configuration = configuration
        self.unitLog = unitLog
        self.logger = logger
        self.loop = loop
        self.timer = try TimerFD()
        self.tracker = ProcessTracker()
        self.sandbox = SandboxPreparation(runtimeDirectory: configuration.runtimeDirectory,
                                          environment: configuration.ownEnvironment,
                                          home: configuration.specifiers.home, logger: logger)
        self.units = UnitSet.load(directories: [], context: configuration.specifiers)
        for (group, pids) in tracker.leftovers {
            logger.warning("Found left-over processes \(pids.map(String.init).joined(separator: " ")) in \(group) of a swatchd that is gone; leaving them running.")
        }
    }

    var now: Instant { Instant(microseconds: MonotonicClock.now()) }

    public var socketCount: Int { sockets.count }
    public var serviceCount: Int { services.count }

    // MARK: - Start-up

    /// Loads the units and binds every listener; nothing is started yet
    /// (`startUntriggeredServices()` comes once the control socket is up too).
    /// Throws only for problems of swatchd itself (the runtime dir, the notify socket).
    public func start() throws(StartupError) {
        let runtime = configuration.runtimeDirectory
        do { try makeDirectory(runtime) } catch {
            throw StartupError("Failed to create runtime directory \(runtime)", error)
        }
        let notifyPath = runtime + "/notify"
        do {
            let notify = try NotifySocket(path: notifyPath)
            notifySocket = notify
            _ = try loop.watch(notify.fd) { [unowned self] in self.receiveNotifications() }
            _ = try loop.watch(timer.fd) { [unowned self] in self.timerExpired() }
        } catch {
            throw StartupError("Failed to set up the notify socket \(notifyPath)", error)
        }
        loop.afterBatch = { [unowned self] in self.armTimer() }
        // Not those of the left-over processes (self.tracker.leftovers): they still use them.
        let leftOver = Set(tracker.leftovers.map { UnitDirectory.baseName($0.group) })
        for path in PrivateTemporaryDirectories.removeStale(keeping: leftOver) {
            logger.info("Removed \(path), the private /tmp of a unit of a swatchd that is gone.")
        }
        for directory in configuration.unitDirectories {
            var info = stat()
            let problem: Errno? = stat(directory, &info) != 0 ? Errno(rawValue: errno)
                : (info.st_mode & S_IFMT != S_IFDIR ? .notDirectory : nil)
            if let problem { logger.warning("No units from unit directory \(directory): \(problem).") }
        }

        units = UnitSet.load(directories: configuration.unitDirectories, files: configuration.unitFiles,
                             context: configuration.specifiers)
        report(units.diagnostics)
        for (name, socket) in units.sockets.sorted(by: { $0.key < $1.key }) { addSocket(name, socket) }
        for (name, service) in units.services.sorted(by: { $0.key < $1.key }) where !name.isTemplate {
            services[name] = ServiceRecord(machine: ServiceMachine(unit: service))
        }
        armTimer()
    }

    /// Starts the services no socket unit triggers (templates never start on their own).
    /// A service whose socket unit failed to bind is not started either: it would
    /// bind the port itself, or fail, behind the back of the unit that says otherwise.
    public func startUntriggeredServices() {
        let now = self.now
        for name in services.keys.sorted() where !isSocketActivated(name) {
            startService(name, now: now)
        }
        armTimer()
    }

    /// Whether a socket unit of the unit set (bound or not, or refused: `x.socket`
    /// for `x.service`) triggers `service`.
    func isSocketActivated(_ service: UnitName) -> Bool {
        !triggeringSockets(of: service).isEmpty || !units.sockets(triggering: service).isEmpty
            || units.refused[UnitName(prefix: service.prefix, instance: service.instance, type: .socket).description] != nil
    }

    /// Start-up failed after `start()`: leave nothing behind (no service runs yet).
    public func abandonStartup() {
        for (_, record) in sockets {
            for listener in record.listeners { listener.close(removeOnStop: record.machine.unit.options.removeOnStop) }
        }
        sockets = [:]
        notifySocket?.close()
        tracker.removeAll()
    }

    /// Logs unit-file problems with their place, as systemd logs CONFIG_FILE/CONFIG_LINE.
    func report(_ diagnostics: [Diagnostic]) {
        for d in diagnostics {
            var metadata: Logger.Metadata = ["config_file": "\(d.location.file)", "config_line": "\(d.location.line)"]
            if let unit = d.unit { metadata["unit"] = "\(unit)" }
            logger.log(level: d.severity == .error ? .error : .warning, "\(d)", metadata: metadata)
        }
    }

    func makeDirectory(_ path: String) throws(Errno) {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { throw Errno(rawValue: errno) }
        }
    }

    // MARK: - Requests

    /// Starts a service (by hand, at start-up, or from a socket), its stopped
    /// socket units first (`startSocketsNeeded`); returns why it could not.
    @discardableResult
    func startService(_ name: UnitName, now: Instant) -> String? {
        if let error = startSocketsNeeded(by: name, now: now) {
            logger.error("\(error)", metadata: ["unit": "\(name)"])
            return error
        }
        guard var record = services[name] else { return nil }
        let actions = record.machine.start(now: now)
        services[name] = record
        apply(actions, to: name, now: now)
        return nil
    }

    func stopService(_ name: UnitName, now: Instant) {
        guard var record = services[name] else { return }
        let actions = record.machine.stop(now: now)
        services[name] = record
        apply(actions, to: name, now: now)
    }

    /// SIGTERM/SIGINT: stop every service, then end the loop (DESIGN §2).
    public func shutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        logger.info("Stopping all services.")
        for name in sockets.keys { unwatchListeners(name) }
        let now = self.now
        for name in services.keys.sorted() { stopService(name, now: now) }
        finishShutdownIfIdle()
    }

    func finishShutdownIfIdle() {
        guard shuttingDown, services.values.allSatisfy({ $0.machine.isInactive }) else { return }
        for (name, record) in sockets {
            for listener in record.listeners { listener.close(removeOnStop: record.machine.unit.options.removeOnStop) }
            sockets[name]?.listeners = []
        }
        control?.close()
        notifySocket?.close()
        tracker.removeAll()
        loop.stop()
    }

    // MARK: - Applying actions

    /// Applies a machine's actions, feeding spawn results back into it, then
    /// brings the unit's sockets in line with the service's new state.
    func apply(_ actions: [ServiceAction], to name: UnitName, now: Instant) {
        var queue = actions[...]
        while let action = queue.popFirst() {
            switch action {
            case .spawn(let role):
                queue += spawn(name, role: role, now: now)
            case .signal(let target, let signal):
                send(signal, to: target, of: name)
            case .discoverMainPID:
                queue += discoverMainPID(name, now: now)
            case .releaseFileDescriptorStore:
                releaseFileDescriptorStore(name)
            case .testConditions:
                queue += testConditions(name, now: now)
            case .log(let level, let message):
                logger.log(level: level, "\(message)", metadata: ["unit": "\(name)"])
            }
        }
        serviceChanged(name, now: now)
    }

    func send(_ signal: Int32, to target: KillTarget, of name: UnitName) {
        guard let machine = services[name]?.machine else { return }
        switch target {
        case .main:
            if let pid = machine.mainPID { _ = try? Reaper.kill(pid, signal: signal) }
        case .control:
            if let pid = machine.controlPID { _ = try? Reaper.kill(pid, signal: signal) }
        case .group:
            // Each process once: a second SIGTERM means "exit now" to many programs
            // (systemd's cg_kill skips what it already signalled).
            let members = Set(tracker.pids(of: name.description))
            for pid in [machine.mainPID, machine.controlPID].compactMap({ $0 }) where !members.contains(pid) {
                _ = try? Reaper.kill(pid, signal: signal)
            }
            tracker.kill(name.description, signal: signal)
        }
    }

    /// A service's Condition…=/Assert…= against this machine, just before its start.
    func testConditions(_ name: UnitName, now: Instant) -> [ServiceAction] {
        guard var record = services[name] else { return [] }
        let actions = record.machine.conditionsTested(failure: failedCheck(of: record.machine.unit.unit.conditions), now: now)
        services[name] = record
        return actions
    }

    /// The condition, else the assertion, that does not hold; nil when all do
    /// (unit_start(): unit_test_condition() before unit_test_assert()).
    func failedCheck(of conditions: [UnitCondition]) -> UnitCondition? {
        guard !conditions.isEmpty else { return nil }
        let check = ConditionCheck(environment: configuration.ownEnvironment.map { "\($0.key)=\($0.value)" })
        return UnitCondition.firstFailure(of: conditions.filter { !$0.isAssertion }, holds: check.holds)
            ?? UnitCondition.firstFailure(of: conditions.filter(\.isAssertion), holds: check.holds)
    }

    /// Type=forking: PIDFile=, else the single process left in the service.
    func discoverMainPID(_ name: UnitName, now: Instant) -> [ServiceAction] {
        guard var record = services[name] else { return [] }
        var pid: Int32?
        if let file = record.machine.unit.pidFile {
            pid = readPIDFile(file)
            if pid == nil {
                logger.warning("\(name): PID file \(file) not readable (yet?) after start.", metadata: ["unit": "\(name)"])
            }
        } else {
            let pids = tracker.pids(of: name.description)
            if pids.count == 1 { pid = pids[0] }
        }
        if let pid { pidOwners[pid] = name }
        let actions = record.machine.mainPIDDiscovered(pid, now: now)
        services[name] = record
        return actions
    }

    func readPIDFile(_ path: String) -> Int32? {
        guard let text = try? FileSystem.readText(path) else { return nil }
        return Int32(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? "")
    }

    func releaseFileDescriptorStore(_ name: UnitName) {
        guard let store = services[name]?.fdStore, !store.isEmpty else { return }
        for entry in store { try? entry.fd.close() }
        services[name]?.fdStore = []
    }

    /// After a service's state changed: its sockets watch again when it is
    /// gone, stop watching while it runs, and throttle when it hit its start
    /// limit; a finished Accept=yes instance is forgotten.
    func serviceChanged(_ name: UnitName, now: Instant) {
        guard let record = services[name] else { return }
        let inactive = record.machine.isInactive
        if inactive, tracker.isEmpty(name.description) { tracker.remove(name.description) }
        if inactive { sandbox.release(name) }
        if record.machine.state == .autoRestart { sandbox.releasePrivateTemporaryDirectories(of: name) }
        if record.removed, inactive {
            services[name] = nil
        } else if let socket = record.instanceOf {
            if inactive {
                services[name] = nil
                sockets[socket]?.instances -= 1
                if let connection = record.connection { try? connection.fd.close() }
            }
        } else {
            for socket in triggeringSockets(of: name) {
                guard var s = sockets[socket] else { continue }
                var actions: [ServiceAction] = []
                if inactive, record.machine.result == .startLimitHit {
                    if case .throttled = s.machine.state {} else {
                        actions = s.machine.throttleAfterServiceFailure(now: now)
                    }
                } else if inactive {
                    s.machine.serviceDeactivated()
                } else {
                    s.machine.serviceActivated()
                }
                sockets[socket] = s
                for case .log(let level, let message) in actions {
                    logger.log(level: level, "\(message)", metadata: ["unit": "\(socket)"])
                }
                updateWatching(socket)
            }
        }
        finishShutdownIfIdle()
    }

    // MARK: - Processes

    /// SIGCHLD: reap every child that ended — services' processes and, as
    /// child subreaper, their orphans — and tell the machines.
    public func reapChildren() {
        let now = self.now
        var touched: Set<UnitName> = []
        for (pid, status) in Reaper.reapAny() {
            guard let name = pidOwners.removeValue(forKey: pid), var record = services[name] else { continue }
            touched.insert(name)
            let empty = tracker.isEmpty(name.description)
            let actions = record.machine.processExited(pid, status: status, groupEmpty: empty, now: now)
            services[name] = record
            apply(actions, to: name, now: now)
        }
        // Orphans ending can empty a group that a stop waits for.
        for (name, record) in services where record.machine.waitsForGroup && !touched.contains(name) {
            guard tracker.isEmpty(name.description) else { continue }
            var r = record
            let actions = r.machine.groupEmptied(now: now)
            services[name] = r
            apply(actions, to: name, now: now)
        }
    }

    // MARK: - Timer

    /// One timerfd, armed for the earliest deadline of every machine (DESIGN §5).
    func armTimer() {
        var earliest: Instant?
        for record in services.values { earliest = earliest.earliest(record.machine.nextDeadline) }
        for record in sockets.values { earliest = earliest.earliest(record.machine.deadline) }
        earliest = earliest.earliest(control?.nextDeadline.map(Instant.init(microseconds:)))
        do {
            if let earliest { try timer.arm(at: earliest.microseconds) } else { try timer.disarm() }
        } catch {
            logger.critical("Failed to arm the timer: \(error)")
        }
    }

    func timerExpired() {
        _ = try? timer.read()
        let now = self.now
        if let control { applyControl(control.expire(now: now.microseconds)) }
        for name in services.keys.sorted() {
            guard var record = services[name], let due = record.machine.nextDeadline, due <= now else { continue }
            let actions = record.machine.timerFired(now: now)
            services[name] = record
            apply(actions, to: name, now: now)
        }
        for name in sockets.keys.sorted() {
            guard var record = sockets[name], let due = record.machine.deadline, due <= now else { continue }
            let inactive = services[record.service]?.machine.isInactive ?? true
            let actions = record.machine.timerFired(now: now, serviceInactive: inactive)
            sockets[name] = record
            for case .log(let level, let message) in actions {
                logger.log(level: level, "\(message)", metadata: ["unit": "\(name)"])
            }
            updateWatching(name)
        }
    }
}
