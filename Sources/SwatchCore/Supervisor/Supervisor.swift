import Glibc
import Logging
import SystemPackage

/// The I/O shell around the `Manager`: it owns the file descriptors, the
/// listeners, the children and the loop; it turns kernel events into
/// `ManagerEvent`s and applies the `ManagerAction`s that come back. It decides
/// nothing.
///
/// Error policy, as s6-svscan's: problems of swatchd itself at start-up throw
/// to `main`; a problem of one unit is logged and that unit is left out; once
/// the loop runs, nothing one service does takes the daemon down.
package final class Supervisor {
    package struct Configuration: Sendable {
        package var unitDirectories: [String]
        package var unitFiles: [String] = []
        package var runtimeDirectory: String
        package var specifiers: SpecifierContext
        /// swatchd's own environment: only its PATH (for plain ExecStart= names)
        /// and PassEnvironment= reach a service (systemd.exec(5)).
        package var ownEnvironment: [String: String]
        /// `swatchd run`: the service gets the caller's environment, as a developer expects.
        package var passOwnEnvironment = false
        /// Whether journald is there (LogTarget.journalIsAvailable), for services' output.
        package var journalAvailable = false
        /// `swatchd --exit-with UNIT`: the Manager stops everything when it ends (`exitStatus`).
        package var exitWith: UnitName?
        /// The RLIMIT_NOFILE swatchd was started with, when it raised its own (FileLimit):
        /// given back to its services, and to the next swatchd at a re-exec.
        package var inheritedFileLimit: LimitValue?
        package init(unitDirectories: [String], runtimeDirectory: String, specifiers: SpecifierContext,
                     ownEnvironment: [String: String]) {
            self.unitDirectories = unitDirectories
            self.runtimeDirectory = runtimeDirectory
            self.specifiers = specifiers
            self.ownEnvironment = ownEnvironment
        }
    }

    /// A problem of swatchd itself at start-up: main prints `swatchd: <description>` and exits 1.
    package enum StartupError: Error, CustomStringConvertible {
        case runtimeDirectory(String, Errno)
        case notifySocket(String, Errno)
        package var description: String {
            switch self {
            case .runtimeDirectory(let path, let errno): return "Failed to create runtime directory \(path): \(errno)"
            case .notifySocket(let path, let errno): return "Failed to set up the notify socket \(path): \(errno)"
            }
        }
    }

    let configuration: Configuration
    let logger: Logger
    let loop: EventLoop
    let timer: TimerFD
    /// The deadline `timer` is armed for (Instant.microseconds); nil: disarmed.
    private var armedDeadline: UInt64?
    let tracker: ProcessTracker
    /// The recent lines of every unit: swatchd's messages about it and its output.
    let unitLog: UnitLogBuffer
    let sandbox: SandboxPreparation
    let launcher: ProcessLauncher
    var manager: Manager
    /// Actions not applied yet, first in first out (answers append theirs at the end).
    var queue: [ManagerAction] = []
    private var draining = false
    /// After a re-exec whose state was lost: adopt what runs in our groups once the units are loaded.
    var adoptAfterLoad = false
    /// The output pipes being read, by read-end fd (a re-exec carries them over).
    var captures: [Int32: (capture: OutputCapture, unit: UnitName)] = [:]
    /// The captures waiting for room in journald's queue, in the order they filled it, and
    /// the watch of the journal's socket while any waits (Supervisor+Output.swift).
    var capturesWaitingForJournal: [OutputCapture] = []
    var journalWatch: EventLoop.Watch?
    var control: ControlServer?
    var controlWatches: [Int32: EventLoop.Watch] = [:]
    /// The control socket's listener, unwatched while accepting pauses (out of descriptors).
    var controlListenerWatch: EventLoop.Watch?
    /// The control call being handled, and the answers not sent yet (`Supervisor+Control.swift`).
    var calling: ControlServer.ConnectionID?
    var laterAnswers: [ControlServer.ConnectionID: ControlResponse] = [:]
    var followReply: ControlServer.Reply?
    let listeners: SocketListeners
    /// FDSTORE=1 fds, handed back after the socket fds on the next start.
    var storedFDs: [UnitName: [(name: String, fd: FileDescriptor)]] = [:]
    /// The stored fds watched for a hang-up, by fd (Supervisor+FDStore.swift).
    var storedFDWatches: [Int32: EventLoop.Watch] = [:]
    /// The fds of the notification being handled (`.storeFDs` keeps some).
    var notificationFDs: [FileDescriptor] = []
    var notifySocket: NotifySocket?
    /// sd_notify messages per unit and second (`receiveNotifications`).
    var notifyRateLimit = NotifyRateLimit()
    /// What swatchd exits with once the loop ends: the `--exit-with` service's status (`.exit`).
    package private(set) var exitStatus: Int32 = 0
    /// Called when a socket unit's listeners cannot be bound (`swatchd run` ends at once then).
    package var onBindFailure: ((UnitName, any Error) -> Void)? {
        get { listeners.onBindFailure }
        set { listeners.onBindFailure = newValue }
    }

    package init(configuration: Configuration, logger: Logger, loop: EventLoop, unitLog: UnitLogBuffer) throws(Errno) {
        self.configuration = configuration
        self.unitLog = unitLog
        self.logger = logger
        self.loop = loop
        self.timer = try TimerFD()
        self.tracker = ProcessTracker()
        self.listeners = SocketListeners(loop: loop, logger: logger)
        self.sandbox = SandboxPreparation(runtimeDirectory: configuration.runtimeDirectory,
                                          environment: configuration.ownEnvironment,
                                          home: configuration.specifiers.facts.home, logger: logger,
                                          inheritedFileLimit: configuration.inheritedFileLimit)
        let notifyPath = configuration.runtimeDirectory + "/notify"
        self.launcher = ProcessLauncher(configuration: configuration, sandbox: sandbox, tracker: tracker, unitLog: unitLog,
                                        notifySocketPath: notifyPath)
        self.manager = Manager(configuration: Manager.Configuration(notifySocketPath: notifyPath,
                                                                           exitWith: configuration.exitWith),
                               units: UnitSet.load(directories: [], context: configuration.specifiers),
                               makeInvocationID: InvocationID.random)
        listeners.onReadable = { [unowned self] name, index in self.send(.listenerReadable(name, listener: index)) }
    }

    var now: Instant { Instant(microseconds: MonotonicClock.now()) }

    package var socketCount: Int { manager.socketCount }
    package var serviceCount: Int { manager.serviceCount }
    /// The main process of a service, if it runs (signals forwarded to the `--exit-with` service).
    package func mainPID(of service: UnitName) -> Int32? { manager.mainPID(of: service) }

    // MARK: - Start-up

    /// Loads the units and binds every listener; nothing is started yet
    /// (`startUntriggeredServices()` comes once the control socket is up too).
    /// Throws only for problems of swatchd itself (the runtime dir, the notify socket).
    package func start() throws(StartupError) {
        let runtime = configuration.runtimeDirectory
        do { try FileSystem.makeDirectories(runtime) } catch { throw .runtimeDirectory(runtime, error) }
        let notifyPath = runtime + "/notify"
        do {
            let notify = try NotifySocket(path: notifyPath)
            notifySocket = notify
            _ = try loop.watch(notify.fd) { [unowned self] in self.receiveNotifications() }
            _ = try loop.watch(timer.fd) { [unowned self] in self.timerExpired() }
        } catch {
            throw .notifySocket(notifyPath, error)
        }
        loop.afterBatch = { [unowned self] in self.armTimer() }
        let leftOver = Leftovers.settle(tracker: tracker, runtimeDirectory: runtime, logger: logger)
        // The sweep lists /tmp and /var/tmp (thousands of entries on a busy machine: ~3 ms): not
        // on the way to listening, and not in one piece. It runs a step at a time once the loop
        // is quiet (EventLoop.whenIdle), or at once before the first private /tmp is made if a
        // service needs one sooner (SandboxPreparation.removeStaleTemporaryDirectories).
        sandbox.beginStaleTemporaryDirectorySweep(keeping: leftOver)
        let (sandbox, loop) = (self.sandbox, self.loop)
        func sweep() { if sandbox.sweepStaleTemporaryDirectories() { loop.whenIdle(sweep) } }
        loop.whenIdle(sweep)
        for directory in configuration.unitDirectories {
            var info = stat()
            let problem: Errno? = stat(directory, &info) != 0 ? Errno(rawValue: errno)
                : (info.st_mode & S_IFMT != S_IFDIR ? .notDirectory : nil)
            if let problem { logger.warning("No units from unit directory \(directory): \(problem).") }
        }
        let units = loadUnits()
        listeners.reserveCapacity(units.sockets.count)
        send(.load(units))
        adoptLeftInGroups()
    }

    /// Starts the services no socket unit triggers (templates never start on their own).
    package func startUntriggeredServices() { send(.startUntriggeredServices) }

    /// Start-up failed after `start()`: leave nothing behind (no service runs yet).
    package func abandonStartup() {
        listeners.closeAll { [manager] in manager.sockets[$0]?.machine.unit.options.removeOnStop ?? false }
        notifySocket?.close()
        tracker.removeAll()
    }

    /// Reads the unit dirs and logs their problems with their place, as systemd logs CONFIG_FILE/CONFIG_LINE.
    func loadUnits() -> UnitSet {
        let set = UnitSet.load(directories: configuration.unitDirectories, files: configuration.unitFiles,
                               context: configuration.specifiers)
        for d in set.diagnostics {
            var metadata: Logger.Metadata = ["config_file": "\(d.location.file)", "config_line": "\(d.location.line)"]
            if let unit = d.unit { metadata["unit"] = "\(unit)" }
            logger.log(level: d.severity == .error ? .error : .warning, "\(d)", metadata: metadata)
        }
        return set
    }

    // MARK: - Events in, actions applied

    /// Hands one event to the Manager and applies every action that follows from it.
    func send(_ event: ManagerEvent) {
        queue += manager.handle(event, now: now)
        // A send from inside an action (a callback) only queues: the drain below goes on with it.
        guard !draining else { return }
        draining = true
        defer { draining = false }
        // Drained by index: removing the first element each time copies the rest (start-up has thousands).
        var next = 0
        while next < queue.count {
            let action = queue[next]
            next += 1
            apply(action)
        }
        // Start-up queues thousands of actions (80 bytes each): that capacity is not kept for good.
        queue.removeAll(keepingCapacity: queue.capacity <= 256)
    }

    /// SIGTERM/SIGINT: stop every service, then end the loop.
    package func shutdown() { send(.shutdown) }

    /// daemon-reload by SIGHUP.
    package func reload() { send(.reload(loadUnits(), call: nil)) }

    /// `swatchd run --watch`: restart what runs (what does not starts anew on its next connection anyway).
    package func restartRunningServices(reason: String) { send(.restartRunningServices(reason: reason)) }

    /// An answer to a question of the Manager's: its actions go to the end of the queue.
    private func answer(_ event: ManagerEvent) {
        queue += manager.handle(event, now: now)
    }

    private func apply(_ action: ManagerAction) {
        switch action {
        case .bind(let name, let unit): answer(listeners.bind(name, unit))
        case .rebind(let name, let unit):
            answer(listeners.rebind(name, unit, removeOnStop: manager.sockets[name]?.machine.unit.options.removeOnStop ?? false))
        case .closeListeners(let name, let removeOnStop): listeners.close(name, removeOnStop: removeOnStop)
        case .watch(let name): listeners.watch(name)
        case .unwatch(let name): listeners.unwatch(name)
        case .pauseListener(let name, let index): listeners.pause(name, index)
        case .resumeListener(let name, let index): listeners.resume(name, index)
        case .flushListeners(let name): listeners.flush(name)
        case .accept(let name, let listener):
            let (accepted, failure) = listeners.accept(name, listener: listener)
            answer(.connectionsAccepted(name, accepted))
            if let failure { answer(.acceptFailed(name, failure)) }
        case .closeConnection(let id): listeners.closeConnection(id)
        case .testConditions(let name, let conditions): answer(.conditionsTested(name, failure: failedCheck(of: conditions)))
        case .spawn(let order):
            let instanceOf = manager.instanceOf(order.unit)
            let outcome = spawn(order, pooledGroup: instanceOf != nil)
            answer(outcome)
            // An Accept=yes instance that cannot start for want of descriptors: its socket
            // pauses, as when accept(2) itself fails (Manager+AcceptFailure.swift).
            if case .spawnFailed(_, _, let error) = outcome, let socket = instanceOf,
               let shortage = (error as? SpawnFailure)?.resourceShortage {
                answer(.acceptFailed(socket, shortage))
            }
        case .kill(let name, let order): kill(name, order)
        case .discoverMainPID(let name, let pidFile): answer(.mainPIDDiscovered(name, discoverMainPID(name, pidFile)))
        case .storeFDs(let name, let fdName, let count, let poll):
            let kept = notificationFDs.prefix(count)
            notificationFDs.removeFirst(kept.count)
            storedFDs[name, default: []] += kept.map { (fdName, $0) }
            if poll { for fd in kept { watchStoredFD(fd, of: name) } }
        case .removeStoredFDs(let name, let fdName):
            for entry in storedFDs[name] ?? [] where entry.name == fdName { closeStoredFD(entry.fd) }
            storedFDs[name]?.removeAll { $0.name == fdName }
        case .closeStoredFDs(let name):
            for entry in storedFDs.removeValue(forKey: name) ?? [] { closeStoredFD(entry.fd) }
        case .dropStoredFD(let name, let index):
            guard let entry = storedFDs[name]?.remove(at: index) else { break }
            closeStoredFD(entry.fd)
        case .releaseResources(let name, let runtimeDirectories):
            let empty = tracker.removeIfEmpty(name.description)
            sandbox.release(name, runtimeDirectories: runtimeDirectories, processesLeft: !empty)
        case .releaseRuntime(let name, let runtimeDirectories):
            sandbox.releaseRuntime(of: name, runtimeDirectories: runtimeDirectories)
        case .loadUnitFiles(let call): answer(.reload(loadUnits(), call: call))
        case .countConnections(let name, let sockets): answer(.connectionsCounted(name, listeners.openConnections(of: sockets)))
        case .moveProcesses(let name, let from, let to): answer(.processesMoved(name, ok: tracker.move(from, to: to)))
        case .signalGroup(let group, let signal): tracker.kill(group, signal: signal)
        case .removeGroup(let group): tracker.remove(group)
        case .reexec(let call, let state): reexec(answering: call, state)
        case .serviceFailed(let name):
            // `swatchd run`: the service's output scrolls by; its last lines sum up why it failed.
            guard configuration.passOwnEnvironment else { break }
            let lines = unitLog.entries(unit: name.description, last: 100).filter { $0.identifier != "swatchd" }.suffix(5)
            guard !lines.isEmpty else { break }
            let tail = lines.map { "  " + $0.message }.joined(separator: "\n")
            logger.error("\(name) failed; the last lines it wrote:\n\(tail)", metadata: ["unit": "\(name)"])
        case .reply(let call, let answer): reply(call, answer)
        case .log(let unit, let level, let message):
            logger.log(level: level, Logger.Message(stringLiteral: message), metadata: unit.map(Self.unitMetadata))
        case .exit(let status):
            exitStatus = status
            drainCaptures()
            control?.close()
            notifySocket?.close()
            tracker.removeAll()
            loop.stop()
        }
    }

    /// `unit=NAME`, which the journal's handler writes as `UNIT=` (JournalLogHandler). Made
    /// with `Dictionary()`, not a literal: under `-Osize` a literal goes through the generic
    /// `Dictionary(dictionaryLiteral:)`, and three lines are logged per Accept=yes connection.
    private static func unitMetadata(_ unit: UnitName) -> Logger.Metadata {
        var metadata = Logger.Metadata()
        metadata["unit"] = .string(unit.description)
        return metadata
    }

    // MARK: - Processes

    /// SIGCHLD: reap every child that ended — services' processes and, as
    /// child subreaper, their orphans — and tell the Manager.
    package func reapChildren() {
        var touched: Set<UnitName> = []
        for (pid, status) in Reaper.reapAny() {
            guard let name = manager.owner(ofPID: pid) else { continue }
            touched.insert(name)
            send(.processExited(pid: pid, status: status, groupEmpty: tracker.isEmpty(name.description)))
        }
        // Orphans ending can empty a group that a stop waits for.
        for name in manager.servicesWaitingForGroup.subtracting(touched).sorted() where tracker.isEmpty(name.description) {
            send(.groupEmptied(name))
        }
        for (name, group) in manager.retiredGroups where tracker.isEmpty(group) { send(.retiredGroupEmptied(name)) }
    }

    private func spawn(_ order: SpawnOrder, pooledGroup: Bool) -> ManagerEvent {
        var descriptors = ProcessLauncher.Descriptors()
        descriptors.passed = listeners.descriptors(of: order.sockets)
            + [order.connectionAsFD.flatMap(listeners.connection)].compactMap { $0 }
            + (order.passesStoredFDs ? (storedFDs[order.unit] ?? []).map(\.fd) : [])
        descriptors.connection = order.connectionOnStdin.flatMap(listeners.connection)
        descriptors.pooledGroup = pooledGroup
        do {
            let (pid, capture) = try launcher.launch(order, descriptors)
            if let capture { watchCapture(capture, of: order.unit) }
            return .spawned(order.unit, order.role, pid: pid)
        } catch {
            return .spawnFailed(order.unit, order.role, error)
        }
    }

    /// Reads a process's output pipe until its last writer is gone.
    private func kill(_ name: UnitName, _ order: KillOrder) {
        var pids = [order.main, order.control].compactMap { $0 }
        // An empty group (cgroup mode: one read of cgroup.events) has nobody else to signal.
        let group = order.group && !(tracker.parentDirectory != nil && tracker.isEmpty(name.description))
        if group {
            // Each process once: a second SIGTERM means "exit now" to many programs
            // (systemd's cg_kill skips what it already signalled).
            let members = Set(tracker.pids(of: name.description))
            pids.removeAll { members.contains($0) }
        }
        for pid in pids { _ = try? Reaper.kill(pid, signal: order.signal) }
        if group { tracker.kill(name.description, signal: order.signal) }
    }

    /// The condition, else the assertion, that does not hold; nil when all do
    /// (unit_start(): unit_test_condition() before unit_test_assert()).
    private func failedCheck(of conditions: [UnitCondition]) -> UnitCondition? {
        guard !conditions.isEmpty else { return nil }
        let check = ConditionCheck(environment: configuration.ownEnvironment.map { "\($0.key)=\($0.value)" })
        return UnitCondition.firstFailure(of: conditions.filter { !$0.isAssertion }, holds: check.holds)
            ?? UnitCondition.firstFailure(of: conditions.filter(\.isAssertion), holds: check.holds)
    }

    /// Type=forking: PIDFile=, else the single process left in the service.
    private func discoverMainPID(_ name: UnitName, _ pidFile: String?) -> Int32? {
        guard let pidFile else {
            let pids = tracker.pids(of: name.description)
            return pids.count == 1 ? pids[0] : nil
        }
        guard let text = try? FileSystem.readText(pidFile) else { return nil }
        return Int32(text.splitAtWhitespace().first ?? "")
    }

    // MARK: - sd_notify

    /// The most datagrams read per wake-up of the notify socket: the socket is watched
    /// level-triggered, so the rest is read on the next turn of the loop, after the other
    /// events of this one — a service sending in a loop never delays other units' events.
    static let notificationBatch = 64

    /// Reads up to `notificationBatch` pending sd_notify datagrams (sd_notify(3)) and hands
    /// each to the Manager with its sender's unit, unless that unit is over its rate
    /// (`NotifyRateLimit`); closes every fd not stored.
    func receiveNotifications() {
        guard let socket = notifySocket else { return }
        for _ in 0..<Self.notificationBatch {
            let datagram: NotifyDatagram?
            do {
                datagram = try socket.receive()
            } catch {
                logger.warning("Failed to receive notification message: \(error)")
                return
            }
            guard let datagram else { return }
            notificationFDs = datagram.fds
            defer {
                for fd in notificationFDs { try? fd.close() }
                notificationFDs = []
            }
            guard let pid = datagram.sender?.pid else {
                // No credentials: the kernel attaches them to every datagram (SO_PASSCRED), so never in practice.
                if let reason = datagram.dropped { logger.warning("Dropped notification message: \(reason).") }
                continue
            }
            // A main or control process, else any process of a service's group (NotifyAccess=all):
            // the sender's /proc/PID/cgroup names the group, or its /proc/PID/stat the session — one read.
            let owner = manager.owner(ofPID: pid)
            let member = owner != nil ? nil
                : tracker.service(ofPID: pid).flatMap { UnitName(parsing: $0) }.flatMap { manager.isLoaded($0) ? $0 : nil }
            guard let name = owner ?? member else {
                logger.debug("Cannot find unit for notify message of PID \(pid), ignoring.")
                continue
            }
            switch notifyRateLimit.admit(name, now: now) {
            case .accept: break
            case .dropAndLog:
                logger.warning("\(name): Too many notification messages, dropping some.", metadata: ["unit": "\(name)"])
                continue
            case .drop: continue
            }
            if let reason = datagram.dropped {
                logger.warning("Dropped notification message from PID \(pid): \(reason).", metadata: ["unit": "\(name)"])
                continue
            }
            let inService = owner == name || member == name || tracker.pids(of: name.description).contains(pid)
            let message = NotifyMessage(text: Substring(decoding: datagram.text, as: UTF8.self))
            send(.notify(name, pid: pid, message, fdCount: datagram.fds.count, inService: inService))
        }
    }

    // MARK: - Timer

    /// One timerfd, armed for the earliest deadline of the Manager and of the control server.
    func armTimer() {
        let earliest = manager.nextDeadline().earliest(control?.nextDeadline.map(Instant.init(microseconds:)))?.microseconds
        // Most batches of events leave the deadline as it was (an Accept=yes connection: none
        // before and after): then no timerfd_settime(2).
        guard earliest != armedDeadline else { return }
        do {
            if let earliest { try timer.arm(at: earliest) } else { try timer.disarm() }
            armedDeadline = earliest
        } catch {
            logger.critical("Failed to arm the timer: \(error)")
        }
    }

    func timerExpired() {
        armedDeadline = nil  // one-shot: the timerfd is disarmed once it fired
        _ = try? timer.read()
        if let control { applyControl(control.expire(now: now.microseconds)) }
        send(.timer)
    }

}
