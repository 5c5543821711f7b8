/// One service's life, as a pure state machine: each event is a `mutating
/// func` that takes `now` and returns actions. No syscalls, no clock: tests
/// drive it with an injected clock (Tests/SwatchCoreTests/Supervision/ServiceMachineTests.swift).
/// The transitions follow src/core/service.c; where swatchd differs, a
/// comment says so.
///
/// What exists only in some states (the main and control processes, the
/// state's deadline, the watchdog, what follows a stop) lives in `phase`;
/// what outlives a state (the result, the exit of the last main process, the
/// counters, the start-limit window) is stored beside it.
package struct ServiceMachine: Sendable {
    package private(set) var unit: ServiceUnit
    /// Where the service is, with what exists only there.
    package private(set) var phase: Phase = .dead
    /// Why the service last failed (first failure wins, as in systemd).
    package private(set) var result: ServiceResult = .success
    /// The last way the main process ended (ExecMainStatus=/ExecMainCode=).
    package var mainExit: ExitStatus? { record.mainExit }
    /// The last main process started, kept after it exits (ExecMainPID=).
    package var execMainPID: Int32? { record.execMainPID }
    package var mainStarted: Instant? { record.mainStarted }
    package var statusText: String? { record.statusText }
    package var errnoReported: Int32? { record.errnoReported }
    package var restartCount: Int { record.restartCount }
    /// When the unit entered its current active/inactive state (for `since …`).
    package var stateChanged: Instant? { record.stateChanged }
    /// Set when the last start was skipped (unmet condition) or refused (failed
    /// assertion); cleared when a start passes its checks.
    package var conditionFailure: ConditionFailure? { record.conditionFailure }
    /// How the last ExecReload= ended (systemd's ReloadResult=).
    package private(set) var reloadResult: ServiceResult = .success

    /// The supervisor's last word on whether any process of the service is
    /// left. It is an observation of the cgroup, not a property of a state:
    /// every state receives it (spawns and exits), the stop and start steps read it.
    private var groupEmpty = true
    /// Whether `groupEmpty` was observed by this machine (a spawn, a reap, the group emptied)
    /// rather than assumed: a machine restored after a re-exec has not seen its group yet.
    private var groupObserved = false
    /// An Accept=yes instance: its connection went to its first main process and swatchd kept
    /// no copy, so no process after it could be handed the connection: Restart= does not
    /// apply (Manager+Instances.swift).
    package var servesOneConnection = false
    /// This start's draw from RuntimeRandomizedExtraSec=, added to RuntimeMaxSec= (the
    /// Manager draws it when the start mints its invocation ID; service_running_timeout(),
    /// src/core/service.c).
    package var runtimeRandomExtra: TimeSpan {
        get { record.runtimeRandomExtra }
        set { record.runtimeRandomExtra = newValue }
    }

    /// What a service gathers once it has run (~200 bytes), out of line: the many that
    /// wait for their first connection share one default (docs/HACKING.md "Where the
    /// bytes are"; Units/CopyOnWrite.swift).
    private var record = Record()

    private struct RecordFields: Sendable {
        var mainExit: ExitStatus?
        var execMainPID: Int32?
        var mainStarted: Instant?
        var statusText: String?
        var errnoReported: Int32?
        var restartCount = 0
        var stateChanged: Instant?
        var conditionFailure: ConditionFailure?
        /// WATCHDOG_USEC= of the running instance; a new start forgets it.
        var watchdogOverride: TimeSpan?
        var startLimitBegin: Instant?
        var startLimitCount = 0
        /// Consecutive automatic restarts, for RestartSteps= (reset by a manual start).
        var restartAttempt = 0
        /// Which ExecStart= line the main process runs: its `-` prefix decides
        /// whether a failure counts (a Type=oneshot runs several, one by one).
        var mainCommand = 0
        /// When the service last became active (systemd's ActiveEnterTimestamp=):
        /// RuntimeMaxSec= counts from here, across reloads.
        var activeEntered: Instant?
        /// EXTEND_TIMEOUT_USEC= received while running: pushes RuntimeMaxSec='s deadline out.
        var runtimeExtended: Instant?
        var runtimeRandomExtra: TimeSpan = .zero
    }

    private struct Record: CopyOnWrite, Sendable {
        var storage: CopyOnWriteStorage<RecordFields>
        init() { storage = Record.never }
        private static let never = CopyOnWriteStorage(RecordFields())
    }

    package init(unit: ServiceUnit) {
        self.unit = unit
    }

    // MARK: - The state

    /// systemd's states, each with what exists only while the service is in it.
    /// The stop steps share one payload: they differ only in what was sent.
    package enum Phase: Hashable, Sendable {
        case dead
        case failed
        /// ExecCondition= runs.
        case condition(ControlStep)
        /// ExecStartPre= runs.
        case startPre(ControlStep)
        /// ExecStart= was spawned (a Type=oneshot runs its lines one by one).
        case start(Start)
        /// ExecStartPost= runs, the main process (if any) beside it.
        case startPost(StartPost)
        case running(Running)
        /// RemainAfterExit=yes with nothing left running.
        case exited
        /// ExecReload= runs, or the service said RELOADING=1.
        case reload(Reload)
        case stopping(StopStep, Stopping)
        /// Waiting RestartSec= before the next automatic start. `due` is nil
        /// once it is due and its conditions are being tested (or when the
        /// delay is infinite).
        case autoRestart(due: Instant?)
    }

    /// A control process: which Exec*= line a pid runs.
    package struct ControlProcess: Hashable, Sendable {
        package var pid: Int32
        package var role: ExecRole
    }

    /// A step that runs one control command after the other under
    /// TimeoutStartSec=. `control` is nil between a `.spawn` and its `spawned`.
    package struct ControlStep: Hashable, Sendable {
        package var control: ControlProcess?
        package var deadline: Instant?
    }

    package struct Start: Hashable, Sendable {
        package var main: Int32?
        /// Which ExecStart= line runs (only Type=oneshot has more than one).
        package var command: Int
        package var deadline: Instant?
    }

    package struct StartPost: Hashable, Sendable {
        package var main: Int32?
        package var control: ControlProcess?
        package var deadline: Instant?
    }

    package struct Running: Hashable, Sendable {
        /// nil for a Type=forking service whose daemon swatchd could not name:
        /// it runs until its last process ends.
        package var main: Int32?
        package var watchdog: Instant?
        /// A timed-out ExecReload= that was sent SIGKILL and is not reaped
        /// yet: a `.signal(.control, …)` must still reach it, and its end is
        /// the reload's result.
        package var killedReload: ControlProcess?
    }

    package struct Reload: Hashable, Sendable {
        package var main: Int32?
        /// ExecReload=; until it is spawned, or in a reload without it, a killed earlier one
        /// not reaped yet.
        package var control: ControlProcess?
        package var deadline: Instant?
        package var watchdog: Instant?
        package var end: ReloadEnd
    }

    /// What ends a reload (systemd's reload, reload-signal and reload-notify states,
    /// src/core/service.c).
    package enum ReloadEnd: Hashable, Sendable {
        /// The exit of ExecReload=.
        case command
        /// Type=notify-reload without ExecReload=: ReloadSignal= was sent at this instant;
        /// RELOADING=1 stamped (MONOTONIC_USEC=) no earlier must come, then READY=1.
        case reloading(signalled: Instant)
        /// The service said RELOADING=1: READY=1.
        case ready
    }

    /// The steps of a stop, as systemd's states stop … final-sigkill.
    package enum StopStep: Hashable, Sendable {
        /// ExecStop= runs.
        case stop
        /// WatchdogSignal= was sent to the processes KillMode= names (TimeoutAbortSec=).
        case watchdog
        case sigterm
        case sigkill
        /// ExecStopPost= runs.
        case post
        case finalSigterm
        case finalSigkill
    }

    package struct Stopping: Hashable, Sendable {
        /// What is left of the service while it stops: the main and control
        /// processes go on until they are reaped, whatever the step.
        package var main: Int32?
        /// Until ExecStop=/ExecStopPost= is spawned, the control process of
        /// the step the stop interrupted: if that spawn fails, the signals
        /// still reach it and the stop waits for it.
        package var control: ControlProcess?
        package var deadline: Instant?
        package var then: AfterStop
    }

    /// What follows a stop once the service is dead.
    package enum AfterStop: Hashable, Sendable {
        /// Restart= decides (the service failed or ended by itself).
        case restartPolicy
        /// A manual stop: never restarted (systemd.service(5), Restart=).
        case stayDown
        /// A start was asked for during the stop: systemd queues the start job
        /// behind the stop job.
        case start
        /// The stop of a `restart` job: its SIGTERM step sends RestartKillSignal=
        /// (state_to_kill_operation() in src/core/service.c: KILL_RESTART only while a
        /// restart job runs, only in stop-sigterm), and it ends dead keeping what a
        /// restart keeps (the fd store); the job then starts the service as a start job.
        case restart
    }

    /// The state as systemd names it (`SubState=`).
    package var state: ServiceState {
        switch phase {
        case .dead: return .dead
        case .failed: return .failed
        case .condition: return .condition
        case .startPre: return .startPre
        case .start: return .start
        case .startPost: return .startPost
        case .running: return .running
        case .exited: return .exited
        case .reload: return .reload
        case .autoRestart: return .autoRestart
        case .stopping(let step, _):
            switch step {
            case .stop: return .stop
            case .watchdog: return .stopWatchdog
            case .sigterm: return .stopSigterm
            case .sigkill: return .stopSigkill
            case .post: return .stopPost
            case .finalSigterm: return .finalSigterm
            case .finalSigkill: return .finalSigkill
            }
        }
    }

    /// Only from ExecStart= to the end of the stop: one still alive when
    /// the final SIGKILL gives up is forgotten on entering dead, failed or
    /// auto-restart, as service_set_state() unwatches it (src/core/service.c).
    package var mainPID: Int32? {
        switch phase {
        case .start(let s): return s.main
        case .startPost(let s): return s.main
        case .running(let r): return r.main
        case .reload(let r): return r.main
        case .stopping(_, let s): return s.main
        case .dead, .failed, .condition, .startPre, .exited, .autoRestart: return nil
        }
    }

    private var control: ControlProcess? {
        switch phase {
        case .condition(let c), .startPre(let c): return c.control
        case .startPost(let s): return s.control
        case .running(let r): return r.killedReload
        case .reload(let r): return r.control
        case .stopping(_, let s): return s.control
        case .dead, .failed, .start, .exited, .autoRestart: return nil
        }
    }

    package var controlPID: Int32? { control?.pid }

    /// The main and the control process as systemd shows them (MainPID=, ControlPID=): the
    /// ExecStart= process of a Type=forking service is a control process, and the main one is
    /// unknown until it exits and its daemon is found (service_enter_start(), src/core/service.c).
    package var shownPIDs: (main: Int32?, control: Int32?) {
        if case .start(let s) = phase, unit.type == .forking { return (nil, s.main) }
        return (mainPID, controlPID)
    }
    package var controlRole: ExecRole? { control?.role }

    /// The deadline of the current state (start, stop, restart timeouts).
    package var deadline: Instant? {
        switch phase {
        case .condition(let c), .startPre(let c): return c.deadline
        case .start(let s): return s.deadline
        case .startPost(let s): return s.deadline
        case .reload(let r): return r.deadline
        case .stopping(_, let s): return s.deadline
        case .autoRestart(let due): return due
        case .running: return runtimeDeadline
        case .dead, .failed, .exited: return nil
        }
    }

    /// RuntimeMaxSec= from the moment the service became active, or later when
    /// the service extended it (service_running_timeout(), src/core/service.c).
    private var runtimeDeadline: Instant? {
        guard let base = record.activeEntered?.adding(unit.runtimeMax)?.adding(runtimeRandomExtra) else { return nil }
        guard let extended = record.runtimeExtended else { return base }
        return max(base, extended)
    }

    package var watchdogDeadline: Instant? {
        switch phase {
        case .running(let r): return r.watchdog
        case .reload(let r): return r.watchdog
        case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .stopping, .autoRestart:
            return nil
        }
    }

    /// The earliest moment this machine wants `timerFired(now:)`.
    package var nextDeadline: Instant? { deadline.earliest(watchdogDeadline) }

    package var isActive: Bool { state.activeState.isActive }
    /// Dead or failed: nothing runs and nothing is scheduled. Socket units watch their listeners again.
    package var isInactive: Bool {
        switch phase {
        case .dead, .failed: return true
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stopping, .autoRestart:
            return false
        }
    }

    package var effectiveWatchdog: TimeSpan { record.watchdogOverride ?? unit.watchdog }

    /// Replaces the unit's definition (daemon-reload); takes effect from the next start.
    package mutating func replaceUnit(_ new: ServiceUnit) {
        unit = new
    }

    // MARK: - Requests

    /// A start: manual, triggered by a socket, or at daemon start-up.
    package mutating func start(now: Instant) -> [ServiceAction] {
        switch phase {
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload:
            return []
        case .stopping(let step, var s):
            // systemd queues the start job behind the stop job; it runs once the service is dead.
            s.then = .start
            phase = .stopping(step, s)
            return []
        case .dead, .failed:
            // Not an automatic restart: NRestarts= starts over (service_start()).
            record.restartAttempt = 0
            record.restartCount = 0
            return beginStart(now: now)
        case .autoRestart:
            // A start while a restart is pending hurries it up, and it counts as
            // one (service_enter_restart(shortcut: true)).
            record.restartAttempt = 0
            record.restartCount += 1
            return beginStart(now: now)
        }
    }

    /// A manual stop: never followed by a restart (systemd.service(5)).
    package mutating func stop(now: Instant) -> [ServiceAction] {
        switch phase {
        case .dead, .failed:
            return []
        case .autoRestart:
            return enterDead(.success, then: .stayDown, now: now)
        case .condition, .startPre, .start, .startPost, .reload, .stopping(.watchdog, _):
            // Something runs already: straight to the signals, ExecStop= is not run
            // (service_stop(), src/core/service.c).
            return enterSignal(.sigterm, .success, then: .stayDown, now: now)
        case .running, .exited:
            return enterStop(.success, then: .stayDown, now: now)
        case .stopping(let step, var s):
            // Also cancels a start queued behind the stop.
            s.then = .stayDown
            phase = .stopping(step, s)
            return []
        }
    }

    /// The first half of a `restart` job: the stop of `stop`, but its first signal is
    /// RestartKillSignal= (when set), and it ends dead with the fd store kept. The job
    /// starts the service again once the units ordered after it are stopped too, as
    /// systemd turns a restart job into a start job when its stop is done
    /// (job_finish_and_invalidate(), src/core/job.c).
    package mutating func stopForRestart(now: Instant) -> [ServiceAction] {
        switch phase {
        case .dead, .failed:
            return []
        case .autoRestart:
            return enterDead(.success, then: .restart, now: now)
        case .condition, .startPre, .start, .startPost, .reload, .stopping(.watchdog, _):
            return enterSignal(.sigterm, .success, then: .restart, now: now)
        case .running, .exited:
            return enterStop(.success, then: .restart, now: now)
        case .stopping(let step, var s):
            s.then = .restart
            phase = .stopping(step, s)
            return []
        }
    }

    /// ExecReload= (with $MAINPID), when running; with Type=notify-reload, ReloadSignal= to the
    /// main process first, and without ExecReload= the service's RELOADING=1 and READY=1 end it
    /// (service_enter_reload(), src/core/service.c).
    package mutating func reload(now: Instant) -> [ServiceAction] {
        guard case .running(let r) = phase else {
            return [.log(.notice, "\(unit.name) is not running, nothing to reload.")]
        }
        guard unit.canReload else {
            return [.log(.notice, "\(unit.name) has no ExecReload=, nothing to reload.")]
        }
        reloadResult = .success
        let signalled = unit.type == .notifyReload && r.main != nil
        let end: ReloadEnd
        if !unit.execReload.isEmpty {
            end = .command
        } else if signalled {
            end = .reloading(signalled: now)
        } else {
            // No main process to signal and no command: reloaded at once, as systemd's.
            return []
        }
        phase = .reload(Reload(main: r.main, control: r.killedReload,
                               deadline: now.adding(unit.timeoutStart), watchdog: r.watchdog, end: end))
        return (signalled ? [.signal(.main, unit.reloadSignal)] : []) + (end == .command ? [.spawn(ExecRole(.reload, 0))] : [])
    }

    /// `reset-failed`: forget the failure, the results, the restart counter and
    /// the start-limit history (service_reset_failed(), src/core/service.c, and
    /// unit_reset_failed()'s start-limit reset).
    package mutating func resetFailed() {
        record.startLimitBegin = nil
        record.startLimitCount = 0
        if case .failed = phase { phase = .dead }
        result = .success
        reloadResult = .success
        record.restartCount = 0
    }

    // MARK: - Events

    package mutating func spawned(_ pid: Int32, role: ExecRole, now: Instant) -> [ServiceAction] {
        (groupEmpty, groupObserved) = (false, true)
        if role.phase == .start {
            // Only the start step spawns ExecStart=.
            guard case .start(var s) = phase else { return [] }
            s.main = pid
            phase = .start(s)
            record.mainCommand = role.index
            record.execMainPID = pid
            record.mainStarted = now
            record.mainExit = nil
            switch unit.type {
            case .simple, .idle, .exec:
                // Type=exec: the spawner returns once execve() succeeded (CLONE_VFORK), so it is started too.
                return enterStartPost(now: now)
            case .notify, .notifyReload, .oneshot, .forking:
                return []
            }
        }
        let control = ControlProcess(pid: pid, role: role)
        switch phase {
        case .condition(var c):
            c.control = control
            phase = .condition(c)
        case .startPre(var c):
            c.control = control
            phase = .startPre(c)
        case .startPost(var s):
            s.control = control
            phase = .startPost(s)
        case .reload(var r):
            r.control = control
            phase = .reload(r)
        case .stopping(let step, var s):
            s.control = control
            phase = .stopping(step, s)
        case .dead, .failed, .start, .running, .exited, .autoRestart:
            // No step here runs a control command.
            break
        }
        return []
    }

    package mutating func spawnFailed(_ error: String, role: ExecRole, now: Instant) -> [ServiceAction] {
        let what = role.phase == .start ? "\(unit.name)" : "\(unit.name) \(role)"
        let log = ServiceAction.log(.error, "Failed to spawn \(what): \(error)")
        let failure: ServiceResult = .resources
        switch phase {
        case .condition, .startPre, .start, .startPost:
            return [log] + enterSignal(.sigterm, failure, then: .restartPolicy, now: now)
        case .reload(let r):
            // service_enter_reload(): ReloadResult=resources, the service runs on.
            reloadResult = .resources
            phase = .running(Running(main: r.main, watchdog: r.watchdog, killedReload: r.control))
            return [log]
        case .stopping(.stop, let s):
            return [log] + enterSignal(.sigterm, failure, then: s.then, now: now)
        case .stopping(.post, let s):
            return [log] + enterSignal(.finalSigterm, failure, then: s.then, now: now)
        case .dead, .failed, .running, .exited, .autoRestart,
             .stopping(.watchdog, _), .stopping(.sigterm, _), .stopping(.sigkill, _),
             .stopping(.finalSigterm, _), .stopping(.finalSigkill, _):
            return [log]
        }
    }

    /// A process of this service was reaped. `groupEmpty`: no process of the service is left.
    package mutating func processExited(_ pid: Int32, status: ExitStatus, groupEmpty empty: Bool, now: Instant)
        -> [ServiceAction]
    {
        (groupEmpty, groupObserved) = (empty, true)
        if pid == mainPID {
            forgetMain()
            record.mainExit = status
            return mainExited(status, now: now)
        }
        if pid == controlPID, let control = forgetControl() {
            return controlExited(control.role, status, now: now)
        }
        return empty ? groupEmptied(now: now) : []
    }

    package mutating func mainPIDDiscovered(_ pid: Int32?, now: Instant) -> [ServiceAction] {
        guard case .start(var s) = phase, unit.type == .forking else { return [] }
        guard let pid else {
            if groupEmpty {
                return [.log(.error, "\(unit.name): the forking parent left no process behind.")]
                    + enterSignal(.sigterm, .protocol, then: .restartPolicy, now: now)
            }
            // No PID file and several processes: systemd goes on without a main pid (GuessMainPID=).
            return enterStartPost(now: now)
        }
        s.main = pid
        phase = .start(s)
        return enterStartPost(now: now)
    }

    /// An sd_notify datagram from `pid`, already checked against NotifyAccess= by `accepts(notifyFrom:)`.
    package mutating func notify(_ message: NotifyMessage, from pid: Int32, now: Instant) -> [ServiceAction] {
        var actions: [ServiceAction] = []
        if let text = message.status { record.statusText = text }
        if let e = message.errno { record.errnoReported = e }
        if let newMain = message.mainPID, newMain != mainPID, adoptMain(newMain) {
            actions.append(.log(.info, "\(unit.name): main process is now \(newMain) (MAINPID=)."))
        }
        if let usec = message.watchdogUsec {
            record.watchdogOverride = TimeSpan(microseconds: usec)
            if watchdogDeadline != nil || state == .running { armWatchdog(now: now) }
        }
        if let extend = message.extendTimeoutUsec, let current = deadline {
            extendDeadline(to: max(current, now + TimeSpan(microseconds: extend)))
        }
        if message.watchdogTrigger, [.start, .startPost, .running, .reload].contains(state) {
            return actions + watchdogExpired(now: now)
        }
        if message.watchdogPing, watchdogDeadline != nil { armWatchdog(now: now) }
        if message.stopping {
            switch phase {
            case .running(let r):
                // The service is on its way out by itself: wait for it under TimeoutStopSec=.
                phase = .stopping(.sigterm, Stopping(main: r.main, control: r.killedReload,
                                                     deadline: now.adding(unit.timeoutStop), then: .restartPolicy))
                return actions
            case .reload(let r):
                phase = .stopping(.sigterm, Stopping(main: r.main, control: r.control,
                                                     deadline: now.adding(unit.timeoutStop), then: .restartPolicy))
                return actions
            case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .stopping, .autoRestart:
                break
            }
        }
        if message.reloading {
            switch phase {
            case .running(let r):
                phase = .reload(Reload(main: r.main, control: r.killedReload,
                                       deadline: now.adding(unit.timeoutStart), watchdog: r.watchdog, end: .ready))
            case .reload(var r):
                // Stamped no earlier than the signal: this reload's, not one already under way.
                if case .reloading(let signalled) = r.end, let stamp = message.monotonicUsec, stamp >= signalled.microseconds {
                    r.end = .ready
                    phase = .reload(r)
                }
            case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .stopping, .autoRestart:
                break
            }
        }
        if message.ready {
            switch phase {
            case .start:
                if unit.type.isNotify { actions += enterStartPost(now: now) }
            case .reload(let r):
                // READY=1 ends a reload the service announced; an ExecReload= ends with its process.
                if r.end == .ready {
                    phase = .running(Running(main: r.main, watchdog: r.watchdog, killedReload: r.control))
                }
            case .dead, .failed, .condition, .startPre, .startPost, .running, .exited, .stopping, .autoRestart:
                break
            }
        }
        return actions
    }

    /// NotifyAccess=: whether a datagram from `pid` may change this service.
    /// `inService`: the pid belongs to the service's processes (for `all`).
    package func accepts(notifyFrom pid: Int32, inService: Bool) -> Bool {
        switch unit.effectiveNotifyAccess {
        case .none: return false
        case .main: return pid == mainPID
        case .exec: return pid == mainPID || pid == controlPID
        case .all: return pid == mainPID || pid == controlPID || inService
        }
    }

    /// The timer reached `nextDeadline`.
    package mutating func timerFired(now: Instant) -> [ServiceAction] {
        var actions: [ServiceAction] = []
        if let w = watchdogDeadline, w <= now {
            actions += watchdogExpired(now: now)
        }
        guard let d = deadline, d <= now else { return actions }
        switch phase {
        case .condition, .startPre, .start, .startPost:
            actions += timedOut("start operation", unit.timeoutStartFailureMode, then: .restartPolicy, now: now)
        case .reload(let r):
            // systemd kills the reload process and carries on running, ReloadResult=timeout
            // (service_dispatch_timer(), service_reload_finish()).
            actions.append(.log(.warning, "\(unit.name): reload operation timed out. Killing reload process."))
            actions.append(.signal(.control, 9))
            reloadResult = .timeout
            phase = .running(Running(main: r.main, watchdog: r.watchdog, killedReload: r.control))
        case .running:
            // RuntimeMaxSec= (service_dispatch_timer(), SERVICE_RUNNING).
            actions.append(.log(.warning, "\(unit.name): Service reached runtime time limit. Stopping."))
            actions += enterStop(.timeout, then: .restartPolicy, now: now)
        case .stopping(.stop, let s):
            actions += timedOut("stopping", unit.timeoutStopFailureMode, then: s.then, now: now)
        case .stopping(.watchdog, let s):
            if unit.sendSIGKILL {
                actions.append(.log(.warning, "\(unit.name): State 'stop-watchdog' timed out. Killing."))
                actions += enterSignal(.sigkill, .timeout, then: s.then, now: now)
            } else {
                actions.append(.log(.warning, "\(unit.name): State 'stop-watchdog' timed out. Skipping SIGKILL."))
                actions += enterStopPost(.timeout, then: s.then, now: now)
            }
        case .stopping(.sigterm, let s) where unit.timeoutStopFailureMode == .abort:
            actions.append(.log(.warning, "\(unit.name): State 'stop-sigterm' timed out. Aborting."))
            actions += enterSignal(.watchdog, .timeout, then: s.then, now: now)
        case .stopping(.sigterm, let s):
            if unit.sendSIGKILL {
                actions.append(.log(.warning, "\(unit.name): State 'stop-sigterm' timed out. Killing."))
                actions += enterSignal(.sigkill, .timeout, then: s.then, now: now)
            } else {
                actions.append(.log(.warning, "\(unit.name): State 'stop-sigterm' timed out. Skipping SIGKILL (SendSIGKILL=no)."))
                actions += enterStopPost(.timeout, then: s.then, now: now)
            }
        case .stopping(.sigkill, let s):
            actions.append(.log(.warning, "\(unit.name): Processes still around after SIGKILL. Ignoring."))
            actions += enterStopPost(.timeout, then: s.then, now: now)
        case .stopping(.post, let s):
            actions.append(.log(.warning, "\(unit.name): stop-post timed out. Terminating."))
            actions += enterSignal(.finalSigterm, .timeout, then: s.then, now: now)
        case .stopping(.finalSigterm, let s):
            if unit.sendSIGKILL {
                actions.append(.log(.warning, "\(unit.name): State 'final-sigterm' timed out. Killing."))
                actions += enterSignal(.finalSigkill, .timeout, then: s.then, now: now)
            } else {
                actions += enterDead(.timeout, then: s.then, now: now)
            }
        case .stopping(.finalSigkill, let s):
            actions.append(.log(.warning, "\(unit.name): Processes still around after final SIGKILL. Entering failed mode."))
            actions += enterDead(.timeout, then: s.then, now: now)
        case .autoRestart:
            phase = .autoRestart(due: nil)
            actions += autoRestartDue(now: now)
        case .dead, .failed, .exited:
            // No deadline in these states.
            break
        }
        return actions
    }

    /// The answer to `.testConditions`: nil when every check held. An unmet
    /// condition skips the start and leaves the unit as it was (dead, or
    /// failed); a failed assertion does the same and is logged as an error
    /// (systemd.unit(5), "Conditions and Asserts").
    package mutating func conditionsTested(failure: UnitCondition?, now: Instant) -> [ServiceAction] {
        switch phase {
        case .dead, .failed, .autoRestart:
            break
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stopping:
            return []
        }
        guard let failure else {
            record.conditionFailure = nil
            return enterCondition(now: now)
        }
        record.conditionFailure = ConditionFailure(condition: failure, at: now)
        if case .autoRestart = phase {
            phase = .dead
            record.stateChanged = now
        }
        return [.log(failure.isAssertion ? .error : .info, failure.skipMessage(for: unit.name.description))]
    }

    /// Whether the machine waits for the last process of its group (a stop
    /// phase under KillMode=control-group or mixed): the supervisor reports
    /// `groupEmptied` when orphans it reaped emptied it.
    package var waitsForGroup: Bool {
        switch phase {
        case .stopping(.sigterm, _), .stopping(.sigkill, _), .stopping(.watchdog, _),
             .stopping(.finalSigterm, _), .stopping(.finalSigkill, _):
            return !groupEmpty
        case .running(let r):
            return groupIsTheService && r.main == nil
        case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .reload, .autoRestart,
             .stopping(.stop, _), .stopping(.post, _):
            return false
        }
    }

    /// Whether the service runs as long as its group has a process, main process or not: a
    /// forking service without a known main pid, or ExitType=cgroup (service_good(),
    /// src/core/service.c).
    private var groupIsTheService: Bool { unit.type == .forking || unit.exitType == .cgroup }

    /// No process of the service is left.
    package mutating func groupEmptied(now: Instant) -> [ServiceAction] {
        (groupEmpty, groupObserved) = (true, true)
        switch phase {
        case .stopping(.sigterm, let s), .stopping(.sigkill, let s), .stopping(.watchdog, let s):
            return waitingForProcesses ? [] : enterStopPost(.success, then: s.then, now: now)
        case .stopping(.finalSigterm, let s), .stopping(.finalSigkill, let s):
            return waitingForProcesses ? [] : enterDead(.success, then: s.then, now: now)
        case .running(let r):
            // A forking service without a known main pid, or one of ExitType=cgroup, ends
            // when its last process does.
            guard groupIsTheService, r.main == nil else { return [] }
            return enterStop(.success, then: .restartPolicy, now: now)
        case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .reload, .autoRestart,
             .stopping(.stop, _), .stopping(.post, _):
            return []
        }
    }

    package func commands(of phase: ExecPhase) -> [ExecCommand] {
        switch phase {
        case .condition: return unit.execCondition
        case .startPre: return unit.execStartPre
        case .start: return unit.execStart
        case .startPost: return unit.execStartPost
        case .reload: return unit.execReload
        case .stop: return unit.execStop
        case .stopPost: return unit.execStopPost
        case .stopPre: return []
        }
    }

    // MARK: - The processes of a phase

    /// MAINPID=: only where systemd accepts it (a service that is starting,
    /// running or reloading). Whether the main pid was taken.
    private mutating func adoptMain(_ pid: Int32) -> Bool {
        switch phase {
        case .start(var s):
            s.main = pid
            phase = .start(s)
        case .startPost(var s):
            s.main = pid
            phase = .startPost(s)
        case .running(var r):
            r.main = pid
            phase = .running(r)
        case .reload(var r):
            r.main = pid
            phase = .reload(r)
        case .dead, .failed, .condition, .startPre, .exited, .stopping, .autoRestart:
            return false
        }
        return true
    }

    private mutating func forgetMain() {
        switch phase {
        case .start(var s):
            s.main = nil
            phase = .start(s)
        case .startPost(var s):
            s.main = nil
            phase = .startPost(s)
        case .running(var r):
            r.main = nil
            phase = .running(r)
        case .reload(var r):
            r.main = nil
            phase = .reload(r)
        case .stopping(let step, var s):
            s.main = nil
            phase = .stopping(step, s)
        case .dead, .failed, .condition, .startPre, .exited, .autoRestart:
            break
        }
    }

    /// Drops the control process of the phase and returns it.
    private mutating func forgetControl() -> ControlProcess? {
        let gone = control
        switch phase {
        case .condition(var c):
            c.control = nil
            phase = .condition(c)
        case .startPre(var c):
            c.control = nil
            phase = .startPre(c)
        case .startPost(var s):
            s.control = nil
            phase = .startPost(s)
        case .running(var r):
            r.killedReload = nil
            phase = .running(r)
        case .reload(var r):
            r.control = nil
            phase = .reload(r)
        case .stopping(let step, var s):
            s.control = nil
            phase = .stopping(step, s)
        case .dead, .failed, .start, .exited, .autoRestart:
            break
        }
        return gone
    }

    /// EXTEND_TIMEOUT_USEC=, in the states whose timeout systemd lets a service extend.
    private mutating func extendDeadline(to new: Instant) {
        switch phase {
        case .startPre(var c):
            c.deadline = new
            phase = .startPre(c)
        case .start(var s):
            s.deadline = new
            phase = .start(s)
        case .startPost(var s):
            s.deadline = new
            phase = .startPost(s)
        case .reload(var r):
            r.deadline = new
            phase = .reload(r)
        case .stopping(let step, var s):
            switch step {
            case .stop, .sigterm, .post, .finalSigterm:
                s.deadline = new
                phase = .stopping(step, s)
            case .watchdog, .sigkill, .finalSigkill:
                break
            }
        case .running:
            // systemd.service(5), RuntimeMaxSec=: EXTEND_TIMEOUT_USEC= may extend the runtime.
            record.runtimeExtended = new
        case .dead, .failed, .condition, .exited, .autoRestart:
            break
        }
    }

    private mutating func armWatchdog(now: Instant) {
        let span = effectiveWatchdog
        let due = span > .zero ? now.adding(span) : nil
        switch phase {
        case .running(var r):
            r.watchdog = due
            phase = .running(r)
        case .reload(var r):
            r.watchdog = due
            phase = .reload(r)
        case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .stopping, .autoRestart:
            // The watchdog is armed once the service runs.
            break
        }
    }

    // MARK: - Transitions

    /// Counts the start against StartLimitIntervalSec=/StartLimitBurst=
    /// (systemd's ratelimit_below(): a window that restarts when it expires).
    private mutating func startLimitAllows(now: Instant) -> Bool {
        let interval = unit.unit.startLimitInterval
        if interval == .zero || unit.unit.startLimitBurst == 0 { return true }
        let inWindow = record.startLimitBegin.flatMap { $0.adding(interval) }.map { now < $0 } ?? false
        if !inWindow {
            record.startLimitBegin = now
            record.startLimitCount = 0
        }
        guard record.startLimitCount < unit.unit.startLimitBurst else { return false }
        record.startLimitCount += 1
        return true
    }

    private mutating func beginStart(now: Instant) -> [ServiceAction] {
        guard startLimitAllows(now: now) else {
            phase = .failed
            result = .startLimitHit
            record.stateChanged = now
            return [.log(.error, "\(unit.name): Start request repeated too quickly."),
                    .log(.error, "\(unit.name): Failed with result 'start-limit-hit'."),
                    .releaseFileDescriptorStore]
        }
        // After the start limit, as systemd's unit_start() tests can_start() before the
        // conditions: a start skipped again and again still ends in start-limit-hit.
        guard unit.unit.conditions.isEmpty else { return [.testConditions] }
        return enterCondition(now: now)
    }

    /// A start begins: ExecCondition= first, then ExecStartPre= (systemd's
    /// service_enter_condition(), src/core/service.c).
    private mutating func enterCondition(now: Instant) -> [ServiceAction] {
        result = .success
        record.statusText = nil
        record.errnoReported = nil
        record.watchdogOverride = nil
        record.mainExit = nil
        record.activeEntered = nil
        record.runtimeExtended = nil
        record.stateChanged = now
        if !unit.execCondition.isEmpty {
            phase = .condition(ControlStep(control: nil, deadline: now.adding(unit.timeoutStart)))
            return [.spawn(ExecRole(.condition, 0))]
        }
        return enterStartPre(now: now)
    }

    private mutating func enterStartPre(now: Instant) -> [ServiceAction] {
        if !unit.execStartPre.isEmpty {
            phase = .startPre(ControlStep(control: nil, deadline: now.adding(unit.timeoutStart)))
            return [.spawn(ExecRole(.startPre, 0))]
        }
        return enterStart(now: now)
    }

    private mutating func enterStart(now: Instant) -> [ServiceAction] {
        guard !unit.execStart.isEmpty else {
            // Type=oneshot may have no ExecStart= (systemd.service(5)).
            let actions = enterStartPost(now: now)
            return isInactive ? [.passedThroughStart] + actions : actions
        }
        // Type=simple/exec are started once spawned; the others wait under TimeoutStartSec=.
        phase = .start(Start(main: nil, command: 0, deadline: now.adding(unit.timeoutStart)))
        return [.spawn(ExecRole(.start, 0))]
    }

    /// From the start step (or straight from ExecStartPre= when there is no
    /// ExecStart=), with the main process of the start step if it runs.
    private mutating func enterStartPost(now: Instant) -> [ServiceAction] {
        if !unit.execStartPost.isEmpty {
            phase = .startPost(StartPost(main: mainPID, control: nil, deadline: now.adding(unit.timeoutStart)))
            return [.spawn(ExecRole(.startPost, 0))]
        }
        return enterRunning(now: now)
    }

    private mutating func enterRunning(now: Instant) -> [ServiceAction] {
        let main = mainPID
        if main != nil || (groupIsTheService && !groupEmpty) {
            phase = .running(Running(main: main, watchdog: nil, killedReload: nil))
            record.stateChanged = now
            record.activeEntered = now
            armWatchdog(now: now)
            return []
        }
        if unit.remainAfterExit {
            phase = .exited
            record.stateChanged = now
            return []
        }
        return enterStop(result, then: .restartPolicy, now: now)
    }

    /// A start or an ExecStop= that ran out of time, as TimeoutStartFailureMode=/
    /// TimeoutStopFailureMode= say (service_dispatch_timer(), src/core/service.c).
    private mutating func timedOut(_ what: String, _ mode: TimeoutFailureMode, then: AfterStop,
                                   now: Instant) -> [ServiceAction] {
        switch mode {
        case .terminate:
            return [.log(.warning, "\(unit.name): \(what) timed out. Terminating.")]
                + enterSignal(.sigterm, .timeout, then: then, now: now)
        case .abort:
            return [.log(.warning, "\(unit.name): \(what) timed out. Aborting.")]
                + enterSignal(.watchdog, .timeout, then: then, now: now)
        case .kill where unit.sendSIGKILL:
            return [.log(.warning, "\(unit.name): \(what) timed out. Killing.")]
                + enterSignal(.sigkill, .timeout, then: then, now: now)
        case .kill:
            return [.log(.warning, "\(unit.name): \(what) timed out. Skipping SIGKILL.")]
                + enterStopPost(.timeout, then: then, now: now)
        }
    }

    /// The watchdog expired (or WATCHDOG=trigger): stop-watchdog, WatchdogSignal= to
    /// what KillMode= names, under TimeoutAbortSec= (service_dispatch_watchdog(),
    /// service_enter_signal(SERVICE_STOP_WATCHDOG), src/core/service.c).
    private mutating func watchdogExpired(now: Instant) -> [ServiceAction] {
        switch phase {
        case .start, .startPost:
            break
        case .running(var r):
            r.watchdog = nil
            phase = .running(r)
        case .reload(var r):
            r.watchdog = nil
            phase = .reload(r)
        case .dead, .failed, .condition, .startPre, .exited, .stopping, .autoRestart:
            return []
        }
        return [.log(.error, "\(unit.name): Watchdog timeout (limit \(effectiveWatchdog))! Sending \(signalName(unit.watchdogSignal)).")]
            + enterSignal(.watchdog, .watchdog, then: .restartPolicy, now: now)
    }

    /// ExecStop=, else straight to the signals. `then`: what follows once the service is dead.
    private mutating func enterStop(_ outcome: ServiceResult, then: AfterStop, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        if !unit.execStop.isEmpty {
            phase = .stopping(.stop, Stopping(main: mainPID, control: control,
                                              deadline: now.adding(unit.timeoutStop), then: then))
            return [.spawn(ExecRole(.stop, 0))]
        }
        return enterSignal(.sigterm, .success, then: then, now: now)
    }

    /// The stop steps that send signals: what `enterSignal` may enter.
    private enum Kill {
        case watchdog, sigterm, sigkill, finalSigterm, finalSigkill
    }

    /// Sends the signals of a stop step per KillMode= (systemd.kill(5)) and
    /// waits for the processes, or moves on when there is nothing to wait for.
    private mutating func enterSignal(_ kill: Kill, _ outcome: ServiceResult, then: AfterStop, now: Instant)
        -> [ServiceAction]
    {
        recordFailure(outcome)
        let main = mainPID
        let control = control
        // The signal of each step, as state_to_kill_operation() and unit_kill_context()
        // pick it; SIGHUP (SendSIGHUP=) follows only KILL_TERMINATE.
        let step: StopStep
        let killing: Bool
        let signal: Int32
        var hangUp = false
        switch kill {
        case .watchdog:
            (step, killing, signal) = (.watchdog, false, unit.watchdogSignal)
        case .sigterm:
            if then == .restart, let restartSignal = unit.restartKillSignal {
                (step, killing, signal) = (.sigterm, false, restartSignal)
            } else {
                (step, killing, signal) = (.sigterm, false, unit.killSignal)
                hangUp = then != .restart
            }
        case .sigkill: (step, killing, signal) = (.sigkill, true, unit.finalKillSignal)
        case .finalSigterm:
            (step, killing, signal) = (.finalSigterm, false, unit.killSignal)
            hangUp = true
        case .finalSigkill: (step, killing, signal) = (.finalSigkill, true, unit.finalKillSignal)
        }
        hangUp = hangUp && unit.sendSIGHUP && signal != 1
        var actions: [ServiceAction] = []
        // A group the last reap found empty, with no main or control process, has nobody to
        // signal: no action, so the shell does not ask the kernel again (an Accept=yes
        // instance ends this way at every connection). Unobserved, the shell looks.
        let groupHasProcesses = !(groupEmpty && groupObserved) || main != nil || control != nil
        switch unit.killMode {
        case .controlGroup:
            if groupHasProcesses { actions.append(.signal(.group, signal)) }
        case .mixed:
            // SIGTERM to the main process only; the SIGKILL goes to the whole group.
            if killing { if groupHasProcesses { actions.append(.signal(.group, signal)) } } else {
                if main != nil { actions.append(.signal(.main, signal)) }
                if control != nil { actions.append(.signal(.control, signal)) }
            }
        case .process:
            if main != nil { actions.append(.signal(.main, signal)) }
            if control != nil { actions.append(.signal(.control, signal)) }
        case .none:
            break
        }
        if hangUp {
            // To the same processes as the signal before it.
            actions += actions.map { action in
                if case .signal(let target, _) = action { return .signal(target, 1) }
                return action
            }
        }
        let timeout = kill == .watchdog ? unit.timeoutAbort ?? unit.timeoutStop : unit.timeoutStop
        phase = .stopping(step, Stopping(main: main, control: control, deadline: now.adding(timeout), then: then))
        if waitingForProcesses { return actions }
        switch kill {
        case .watchdog, .sigterm, .sigkill:
            return actions + enterStopPost(.success, then: then, now: now)
        case .finalSigterm, .finalSigkill:
            return actions + enterDead(.success, then: then, now: now)
        }
    }

    /// Whether a stop step still has something to wait for.
    private var waitingForProcesses: Bool {
        if mainPID != nil || controlPID != nil { return true }
        switch unit.killMode {
        case .controlGroup, .mixed: return !groupEmpty
        case .process, .none: return false
        }
    }

    private mutating func enterStopPost(_ outcome: ServiceResult, then: AfterStop, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        if !unit.execStopPost.isEmpty {
            phase = .stopping(.post, Stopping(main: mainPID, control: control,
                                              deadline: now.adding(unit.timeoutStop), then: then))
            return [.spawn(ExecRole(.stopPost, 0))]
        }
        return enterSignal(.finalSigterm, .success, then: then, now: now)
    }

    /// The stop is over: a queued start, an automatic restart, or dead/failed.
    private mutating func enterDead(_ outcome: ServiceResult, then: AfterStop, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        record.stateChanged = now
        switch then {
        case .start:
            return [.releaseRuntime] + startAfterStop(now: now)
        case .restart:
            // As service_enter_dead(): a stop that failed (timed out, killed) ends failed, and
            // says so, before the job starts the service again.
            let failed = result != .success && result != .execCondition
            phase = failed ? .failed : .dead
            return (failed ? [.log(.warning, "\(unit.name): Failed with result '\(result.rawValue)'.")] : []) + [.releaseRuntime]
        case .restartPolicy, .stayDown:
            break
        }
        if unit.shallRestart(result: result, mainExit: mainExit, forbidden: then == .stayDown || servesOneConnection) {
            let delay = unit.restartDelay(attempt: record.restartAttempt)
            phase = .autoRestart(due: now.adding(delay))
            // As service_enter_dead(): the failure is logged even when a restart follows.
            let failure: [ServiceAction] = result == .success || result == .execCondition ? []
                : [.log(.warning, "\(unit.name): Failed with result '\(result.rawValue)'.")]
            return failure + [.releaseRuntime,
                              .log(.debug, "\(unit.name): Scheduled restart job in \(delay)."),
                              .log(.info, "\(unit.name): Scheduled restart job, restart counter is at \(restartCount + 1).")]
        }
        // An ExecCondition= skip is no failure (service_enter_dead(): SERVICE_SKIP_CONDITION ends dead).
        let failed = result != .success && result != .execCondition
        phase = failed ? .failed : .dead
        var actions: [ServiceAction] = [.releaseRuntime, .releaseFileDescriptorStore]
        if result == .execCondition { actions.insert(.log(.info, "\(unit.name): Skipped due to 'exec-condition'."), at: 0) }
        if failed {
            actions.insert(.log(.warning, "\(unit.name): Failed with result '\(result.rawValue)'."), at: 0)
        }
        return actions
    }

    /// The start queued behind a stop (or a `restart`), now that nothing runs.
    private mutating func startAfterStop(now: Instant) -> [ServiceAction] {
        phase = .dead
        return beginStart(now: now)
    }

    private mutating func autoRestartDue(now: Instant) -> [ServiceAction] {
        record.restartCount += 1
        record.restartAttempt += 1
        var actions = beginStart(now: now)
        if state == .failed, result == .startLimitHit { return actions }
        actions.insert(.log(.info, "\(unit.name): Restarting (attempt \(restartCount))."), at: 0)
        return actions
    }

    private mutating func recordFailure(_ outcome: ServiceResult) {
        if result == .success { result = outcome }
    }

    // MARK: - Process exits

    private mutating func mainExited(_ status: ExitStatus, now: Instant) -> [ServiceAction] {
        let outcome = ServiceResult.of(status, success: unit.successExitStatus)
        // The `-` of the line that ran (exec_command's flags in service_sigchld_event()).
        let ignore = record.mainCommand < unit.execStart.count && unit.execStart[record.mainCommand].ignoreFailure
        let effective = ignore ? .success : outcome
        var actions: [ServiceAction] = []
        if outcome != .success {
            actions.append(.log(status.exitLogLevel(countsAsSuccess: ignore),
                                "\(unit.name): Main process exited, code=\(status.code), status=\(status.statusWithName)"))
        }
        switch phase {
        case .start(var s):
            switch unit.type {
            case .oneshot:
                if effective != .success { return actions + enterSignal(.sigterm, effective, then: .restartPolicy, now: now) }
                // The next ExecStart= of a oneshot, else the start is complete.
                let next = s.command + 1
                if next < unit.execStart.count {
                    s.command = next
                    phase = .start(s)
                    return actions + [.spawn(ExecRole(.start, next))]
                }
                return actions + enterStartPost(now: now)
            case .forking:
                if effective != .success { return actions + enterSignal(.sigterm, effective, then: .restartPolicy, now: now) }
                // GuessMainPID=no without PIDFile=: no main pid, the group is the service
                // (service_search_main_pid() returns at once).
                if unit.pidFile == nil, !unit.guessMainPID { return actions + mainPIDDiscovered(nil, now: now) }
                return actions + [.discoverMainPID]
            case .notify, .notifyReload:
                // Exited before READY=1: systemd's "protocol" failure when clean.
                return actions + enterSignal(.sigterm, effective == .success ? .protocol : effective,
                                             then: .restartPolicy, now: now)
            case .simple, .idle, .exec:
                return actions + enterSignal(.sigterm, effective, then: .restartPolicy, now: now)
            }
        case .startPost, .reload:
            // Wait for the control process; enterRunning sees the main process gone.
            recordFailure(effective)
            return actions
        case .running:
            // ExitType=cgroup: a clean exit leaves the service running while its group has processes.
            if effective == .success, unit.exitType == .cgroup, !groupEmpty { return actions }
            return actions + enterStop(effective, then: .restartPolicy, now: now)
        case .stopping(.stop, _):
            recordFailure(effective)
            return actions
        case .stopping(.watchdog, let s), .stopping(.sigterm, let s), .stopping(.sigkill, let s):
            // The watchdog's own signal (often SIGABRT, a core dump) does not replace Result=watchdog.
            if effective != .success, state != .stopWatchdog { recordFailure(effective) }
            if waitingForProcesses { return actions }
            return actions + enterStopPost(.success, then: s.then, now: now)
        case .stopping(.post, _):
            return actions
        case .stopping(.finalSigterm, let s), .stopping(.finalSigkill, let s):
            if !waitingForProcesses { return actions + enterDead(.success, then: s.then, now: now) }
            return actions
        case .dead, .failed, .autoRestart, .exited, .condition, .startPre:
            // No main process in these states.
            return actions
        }
    }

    /// The control process of the current step ended: the next command of
    /// the same list, else the next step (service_sigchld_event(), which
    /// dispatches on the state, not on the command).
    private mutating func controlExited(_ role: ExecRole, _ status: ExitStatus, now: Instant) -> [ServiceAction] {
        let command = commands(of: role.phase)
        let ignore = role.index < command.count && command[role.index].ignoreFailure
        let ended = ServiceResult.of(status, success: unit.successExitStatus)
        let outcome = ignore ? ServiceResult.success : ended
        var actions: [ServiceAction] = []
        if ended != .success {
            actions.append(.log(status.exitLogLevel(countsAsSuccess: ignore),
                                "\(unit.name): Control process \(role) exited, code=\(status.code), status=\(status.statusWithName)"))
        }
        // The next command of the same list, unless this one failed.
        let next = outcome == .success && role.index + 1 < command.count ? [ServiceAction.spawn(ExecRole(role.phase, role.index + 1))] : nil
        switch phase {
        case .condition:
            if let next { return actions + next }
            // systemd.service(5): exit 1–254 skips the start; 255 or an abnormal end fails it.
            if outcome == .success { return actions + enterStartPre(now: now) }
            if case .exited(let code) = status, code >= 1, code <= 254 {
                return [.log(.info, "\(unit.name): \(role) exited with status \(code): skipping the start.")]
                    + enterSignal(.sigterm, .execCondition, then: .restartPolicy, now: now)
            }
            return actions + enterSignal(.sigterm, outcome, then: .restartPolicy, now: now)
        case .startPre:
            if let next { return actions + next }
            return actions + (outcome == .success ? enterStart(now: now)
                : enterSignal(.sigterm, outcome, then: .restartPolicy, now: now))
        case .startPost:
            if let next { return actions + next }
            return actions + (outcome == .success ? enterRunning(now: now) : enterStop(outcome, then: .restartPolicy, now: now))
        case .reload(var r):
            guard r.end == .command else {
                // An ExecReload= killed at its timeout, reaped during a reload without one.
                r.control = nil
                phase = .reload(r)
                return actions
            }
            if let next { return actions + next }
            reloadResult = outcome
            if r.main == nil { return actions + enterStop(result, then: .restartPolicy, now: now) }
            phase = .running(Running(main: r.main, watchdog: r.watchdog, killedReload: nil))
            return actions
        case .running(let r):
            // The ExecReload= killed at its timeout: its ReloadResult= (timeout) is already set.
            if r.main == nil { return actions + enterStop(result, then: .restartPolicy, now: now) }
            return actions
        case .stopping(.stop, let s):
            if let next { return actions + next }
            recordFailure(outcome)
            return actions + enterSignal(.sigterm, .success, then: s.then, now: now)
        case .stopping(.post, let s):
            if let next { return actions + next }
            recordFailure(outcome)
            return actions + enterSignal(.finalSigterm, .success, then: s.then, now: now)
        case .stopping(.watchdog, let s), .stopping(.sigterm, let s), .stopping(.sigkill, let s):
            // A control command of an earlier step, killed with the rest: one process less to wait for.
            recordFailure(outcome)
            return waitingForProcesses ? actions : actions + enterStopPost(.success, then: s.then, now: now)
        case .stopping(.finalSigterm, let s), .stopping(.finalSigkill, let s):
            recordFailure(outcome)
            return waitingForProcesses ? actions : actions + enterDead(.success, then: s.then, now: now)
        case .dead, .failed, .start, .exited, .autoRestart:
            // No control process in these states.
            return actions
        }
    }

    private func signalName(_ signal: Int32) -> String {
        SignalName.fullName(signal)
    }

    // MARK: - Ready handover (Supervision/Manager+Handover.swift)

    /// Lets the running main process go on apart — the Manager moved it out of
    /// the service's group — and starts a new one, which takes over once ready.
    package mutating func handOver(now: Instant) -> [ServiceAction] {
        guard case .running = phase else { return [] }
        phase = .dead
        (groupEmpty, groupObserved) = (true, true)
        return beginStart(now: now)
    }

    /// The new process of a handover did not become ready: the old one, still
    /// running apart, is the main process again.
    package mutating func adoptRunning(main pid: Int32, now: Instant) -> [ServiceAction] {
        switch phase {
        case .dead, .failed, .autoRestart:
            break
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stopping:
            return []
        }
        result = .success
        groupEmpty = false
        record.execMainPID = pid
        phase = .running(Running(main: pid, watchdog: nil, killedReload: nil))
        record.stateChanged = now
        armWatchdog(now: now)
        return []
    }

    // MARK: - daemon-reexec (Supervision/Manager+Reexec.swift)

    /// What survives a re-exec of swatchd: the state, the main process, the counters.
    package struct Snapshot: Hashable, Sendable {
        package var state: ServiceState
        package var mainPID: Int32?
        package var result: ServiceResult
        package var restartCount: Int
        package var stateChanged: Instant?
    }

    /// nil in the middle of a transition (a process starting or stopping): a re-exec waits for calm.
    package var snapshot: Snapshot? {
        switch phase {
        case .dead, .failed, .exited, .running:
            return Snapshot(state: state, mainPID: mainPID, result: result, restartCount: restartCount,
                            stateChanged: stateChanged)
        case .condition, .startPre, .start, .startPost, .reload, .stopping, .autoRestart:
            return nil
        }
    }

    /// The machine of a new swatchd after a re-exec: as the old one left it.
    package mutating func restore(_ snapshot: Snapshot, now: Instant) {
        result = snapshot.result
        record.restartCount = snapshot.restartCount
        record.stateChanged = snapshot.stateChanged
        switch snapshot.state {
        case .running:
            guard let main = snapshot.mainPID else { phase = .dead; return }
            groupEmpty = false
            record.execMainPID = main
            phase = .running(Running(main: main, watchdog: nil, killedReload: nil))
            armWatchdog(now: now)
        case .exited:
            phase = .exited
        case .failed:
            phase = .failed
        case .dead, .condition, .startPre, .start, .startPost, .reload, .stop, .stopWatchdog, .stopSigterm,
             .stopSigkill, .stopPost, .finalSigterm, .finalSigkill, .autoRestart:
            phase = .dead
        }
    }
}
