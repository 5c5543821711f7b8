/// One service's life, as a pure state machine: each event is a `mutating
/// func` that takes `now` and returns actions. No syscalls, no clock: tests
/// drive it with an injected clock (Tests/SwatchCoreTests/Supervision/ServiceMachineTests.swift).
/// The transitions follow src/core/service.c; where swatchd differs, a
/// comment says so.
package struct ServiceMachine: Sendable {
    package private(set) var unit: ServiceUnit
    package private(set) var state: ServiceState = .dead
    /// Why the service last failed (first failure wins, as in systemd).
    package private(set) var result: ServiceResult = .success
    package private(set) var mainPID: Int32?
    package private(set) var controlPID: Int32?
    package private(set) var controlRole: ExecRole?
    /// The last way the main process ended (ExecMainStatus=/ExecMainCode=).
    package private(set) var mainExit: ExitStatus?
    /// The last main process started, kept after it exits (ExecMainPID=).
    package private(set) var execMainPID: Int32?
    package private(set) var mainStarted: Instant?
    package private(set) var statusText: String?
    package private(set) var errnoReported: Int32?
    package private(set) var restartCount = 0
    /// When the unit entered its current active/inactive state (for `since …`).
    package private(set) var stateChanged: Instant?
    /// The deadline of the current state (start, stop, restart timeouts).
    package private(set) var deadline: Instant?
    package private(set) var watchdogDeadline: Instant?
    /// Set when the last start was skipped (unmet condition) or refused (failed
    /// assertion); cleared when a start passes its checks.
    package private(set) var conditionFailure: ConditionFailure?

    private var watchdogOverride: TimeSpan?
    private var forbidRestart = false
    /// How the last ExecReload= ended (systemd's ReloadResult=).
    package private(set) var reloadResult: ServiceResult = .success
    /// Which ExecStart= line of a Type=oneshot runs now.
    private var currentMainIndex = 0
    private var groupEmpty = true
    private var startLimitBegin: Instant?
    private var startLimitCount = 0
    /// Consecutive automatic restarts, for RestartSteps= (reset by a manual start).
    private var restartAttempt = 0
    private var restartAfterStop = false

    package init(unit: ServiceUnit) {
        self.unit = unit
    }

    /// The earliest moment this machine wants `timerFired(now:)`.
    package var nextDeadline: Instant? { deadline.earliest(watchdogDeadline) }

    package var isActive: Bool { state.activeState == "active" || state.activeState == "reloading" }
    /// Dead or failed: nothing runs and nothing is scheduled. Socket units watch their listeners again.
    package var isInactive: Bool { state == .dead || state == .failed }

    package var effectiveWatchdog: TimeSpan { watchdogOverride ?? unit.watchdog }

    /// Replaces the unit's definition (daemon-reload); takes effect from the next start.
    package mutating func replaceUnit(_ new: ServiceUnit) {
        unit = new
    }

    // MARK: - Requests

    /// A start: manual, triggered by a socket, or at daemon start-up.
    package mutating func start(now: Instant) -> [ServiceAction] {
        switch state {
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload:
            return []
        case .stop, .stopWatchdog, .stopSigterm, .stopSigkill, .stopPost, .finalSigterm, .finalSigkill:
            // systemd queues the start after the stop; swatchd does the same in one flag.
            restartAfterStop = true
            return []
        case .dead, .failed, .autoRestart:
            restartAttempt = 0
            return beginStart(now: now)
        }
    }

    /// A manual stop: never followed by a restart (systemd.service(5)).
    package mutating func stop(now: Instant) -> [ServiceAction] {
        forbidRestart = true
        restartAfterStop = false
        switch state {
        case .dead, .failed:
            return []
        case .autoRestart:
            return enterDead(.success, now: now)
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload:
            return enterStop(.success, now: now)
        case .stop, .stopWatchdog, .stopSigterm, .stopSigkill, .stopPost, .finalSigterm, .finalSigkill:
            return []
        }
    }

    /// `restart`: stop, then start again, whatever Restart= says.
    package mutating func restart(now: Instant) -> [ServiceAction] {
        if isInactive || state == .autoRestart { return start(now: now) }
        var actions = stop(now: now)
        restartAfterStop = true
        if isInactive { actions += consumeRestartAfterStop(now: now) }
        return actions
    }

    /// ExecReload= (with $MAINPID), when running.
    package mutating func reload(now: Instant) -> [ServiceAction] {
        guard state == .running else {
            return [.log(.notice, "\(unit.name) is not running, nothing to reload.")]
        }
        guard !unit.execReload.isEmpty else {
            return [.log(.notice, "\(unit.name) has no ExecReload=, nothing to reload.")]
        }
        reloadResult = .success
        return runControl(ExecRole(.reload, 0), in: .reload, timeout: unit.timeoutStart, now: now)
    }

    /// `reset-failed`: forget the failure and the start-limit history.
    package mutating func resetFailed() {
        startLimitBegin = nil
        startLimitCount = 0
        if state == .failed {
            state = .dead
            result = .success
        }
    }

    // MARK: - Events

    package mutating func spawned(_ pid: Int32, role: ExecRole, now: Instant) -> [ServiceAction] {
        groupEmpty = false
        if role.phase == .start {
            mainPID = pid
            execMainPID = pid
            mainStarted = now
            mainExit = nil
            switch unit.type {
            case .simple, .idle, .exec:
                // Type=exec: the spawner returns once execve() succeeded (CLONE_VFORK), so it is started too.
                return enterStartPost(now: now)
            case .notify, .oneshot, .forking:
                return []
            }
        }
        controlPID = pid
        controlRole = role
        return []
    }

    package mutating func spawnFailed(_ error: String, role: ExecRole, now: Instant) -> [ServiceAction] {
        let what = role.phase == .start ? "\(unit.name)" : "\(unit.name) \(role)"
        let log = ServiceAction.log(.error, "Failed to spawn \(what): \(error)")
        let failure: ServiceResult = .resources
        switch state {
        case .condition, .startPre, .start, .startPost:
            return [log] + enterSignal(.stopSigterm, failure, now: now)
        case .reload:
            state = .running
            return [log]
        case .stop:
            return [log] + enterSignal(.stopSigterm, failure, now: now)
        case .stopPost:
            return [log] + enterSignal(.finalSigterm, failure, now: now)
        case .dead, .failed, .running, .exited, .stopWatchdog, .stopSigterm, .stopSigkill, .finalSigterm,
             .finalSigkill, .autoRestart:
            return [log]
        }
    }

    /// A process of this service was reaped. `groupEmpty`: no process of the service is left.
    package mutating func processExited(_ pid: Int32, status: ExitStatus, groupEmpty empty: Bool, now: Instant)
        -> [ServiceAction]
    {
        groupEmpty = empty
        if pid == mainPID {
            mainPID = nil
            mainExit = status
            return mainExited(status, now: now)
        }
        if pid == controlPID, let role = controlRole {
            controlPID = nil
            controlRole = nil
            return controlExited(role, status, now: now)
        }
        return empty ? groupEmptied(now: now) : []
    }

    package mutating func mainPIDDiscovered(_ pid: Int32?, now: Instant) -> [ServiceAction] {
        guard state == .start, unit.type == .forking else { return [] }
        guard let pid else {
            if groupEmpty {
                return [.log(.error, "\(unit.name): the forking parent left no process behind.")]
                    + enterSignal(.stopSigterm, .protocol, now: now)
            }
            // No PID file and several processes: systemd goes on without a main pid (GuessMainPID=).
            return enterStartPost(now: now)
        }
        mainPID = pid
        return enterStartPost(now: now)
    }

    /// An sd_notify datagram from `pid`, already checked against NotifyAccess= by `accepts(notifyFrom:)`.
    package mutating func notify(_ message: NotifyMessage, from pid: Int32, now: Instant) -> [ServiceAction] {
        var actions: [ServiceAction] = []
        if let text = message.status { statusText = text }
        if let e = message.errno { errnoReported = e }
        if let newMain = message.mainPID, newMain != mainPID,
           [.start, .startPost, .running, .reload].contains(state)
        {
            mainPID = newMain
            actions.append(.log(.info, "\(unit.name): main process is now \(newMain) (MAINPID=)."))
        }
        if let usec = message.watchdogUsec {
            watchdogOverride = TimeSpan(microseconds: usec)
            if watchdogDeadline != nil || state == .running { armWatchdog(now: now) }
        }
        if let extend = message.extendTimeoutUsec, let current = deadline,
           [.startPre, .start, .startPost, .reload, .stop, .stopSigterm, .stopPost, .finalSigterm].contains(state)
        {
            deadline = max(current, now + TimeSpan(microseconds: extend))
        }
        if message.watchdogTrigger, [.start, .startPost, .running, .reload].contains(state) {
            return actions + watchdogExpired(now: now)
        }
        if message.watchdogPing, watchdogDeadline != nil { armWatchdog(now: now) }
        if message.stopping, state == .running || state == .reload {
            // The service is on its way out by itself: wait for it under TimeoutStopSec=.
            state = .stopSigterm
            deadline = now.adding(unit.timeoutStop)
            watchdogDeadline = nil
            return actions
        }
        if message.reloading, state == .running {
            state = .reload
            deadline = now.adding(unit.timeoutStart)
        }
        if message.ready {
            switch state {
            case .start where unit.type == .notify:
                actions += enterStartPost(now: now)
            case .reload where controlPID == nil:
                state = .running
                deadline = nil
            default:
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
            watchdogDeadline = nil
            actions += watchdogExpired(now: now)
        }
        guard let d = deadline, d <= now else { return actions }
        deadline = nil
        switch state {
        case .condition, .startPre, .start, .startPost:
            actions.append(.log(.warning, "\(unit.name): start operation timed out. Terminating."))
            actions += enterSignal(.stopSigterm, .timeout, now: now)
        case .reload:
            actions.append(.log(.warning, "\(unit.name): reload operation timed out. Killing reload process."))
            actions.append(.signal(.control, 9))
            state = .running
        case .stop:
            actions.append(.log(.warning, "\(unit.name): stopping timed out. Terminating."))
            actions += enterSignal(.stopSigterm, .timeout, now: now)
        case .stopWatchdog:
            actions.append(.log(.warning, "\(unit.name): State 'stop-watchdog' timed out. Killing."))
            actions += enterSignal(.stopSigkill, .timeout, now: now)
        case .stopSigterm:
            if unit.sendSIGKILL {
                actions.append(.log(.warning, "\(unit.name): State 'stop-sigterm' timed out. Killing."))
                actions += enterSignal(.stopSigkill, .timeout, now: now)
            } else {
                actions.append(.log(.warning, "\(unit.name): State 'stop-sigterm' timed out. Skipping SIGKILL (SendSIGKILL=no)."))
                actions += enterStopPost(.timeout, now: now)
            }
        case .stopSigkill:
            actions.append(.log(.warning, "\(unit.name): Processes still around after SIGKILL. Ignoring."))
            actions += enterStopPost(.timeout, now: now)
        case .stopPost:
            actions.append(.log(.warning, "\(unit.name): stop-post timed out. Terminating."))
            actions += enterSignal(.finalSigterm, .timeout, now: now)
        case .finalSigterm:
            if unit.sendSIGKILL {
                actions.append(.log(.warning, "\(unit.name): State 'final-sigterm' timed out. Killing."))
                actions += enterSignal(.finalSigkill, .timeout, now: now)
            } else {
                actions += enterDead(.timeout, now: now)
            }
        case .finalSigkill:
            actions.append(.log(.warning, "\(unit.name): Processes still around after final SIGKILL. Entering failed mode."))
            actions += enterDead(.timeout, now: now)
        case .autoRestart:
            actions += autoRestartDue(now: now)
        case .dead, .failed, .running, .exited:
            break
        }
        return actions
    }

    // MARK: - Transitions

    /// Counts the start against StartLimitIntervalSec=/StartLimitBurst=
    /// (systemd's ratelimit_below(): a window that restarts when it expires).
    private mutating func startLimitAllows(now: Instant) -> Bool {
        let interval = unit.unit.startLimitInterval
        if interval == .zero || unit.unit.startLimitBurst == 0 { return true }
        let inWindow = startLimitBegin.flatMap { $0.adding(interval) }.map { now < $0 } ?? false
        if !inWindow {
            startLimitBegin = now
            startLimitCount = 0
        }
        guard startLimitCount < unit.unit.startLimitBurst else { return false }
        startLimitCount += 1
        return true
    }

    private mutating func beginStart(now: Instant) -> [ServiceAction] {
        guard startLimitAllows(now: now) else {
            state = .failed
            result = .startLimitHit
            stateChanged = now
            deadline = nil
            return [.log(.error, "\(unit.name): Start request repeated too quickly."),
                    .log(.error, "\(unit.name): Failed with result 'start-limit-hit'."),
                    .releaseFileDescriptorStore]
        }
        // After the start limit, as systemd's unit_start() tests can_start() before the
        // conditions: a start skipped again and again still ends in start-limit-hit.
        guard unit.unit.conditions.isEmpty else { return [.testConditions] }
        return enterCondition(now: now)
    }

    /// The answer to `.testConditions`: nil when every check held. An unmet
    /// condition skips the start and leaves the unit as it was (dead, or
    /// failed); a failed assertion does the same and is logged as an error
    /// (systemd.unit(5), "Conditions and Asserts").
    package mutating func conditionsTested(failure: UnitCondition?, now: Instant) -> [ServiceAction] {
        switch state {
        case .dead, .failed, .autoRestart:
            break
        case .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stop, .stopWatchdog,
             .stopSigterm, .stopSigkill, .stopPost, .finalSigterm, .finalSigkill:
            return []
        }
        guard let failure else {
            conditionFailure = nil
            return enterCondition(now: now)
        }
        conditionFailure = ConditionFailure(condition: failure, at: now)
        if state == .autoRestart {
            state = .dead
            stateChanged = now
            deadline = nil
        }
        return [.log(failure.isAssertion ? .error : .info, failure.skipMessage(for: unit.name.description))]
    }

    /// A start begins: ExecCondition= first, then ExecStartPre= (systemd's
    /// service_enter_condition(), src/core/service.c).
    private mutating func enterCondition(now: Instant) -> [ServiceAction] {
        result = .success
        forbidRestart = false
        restartAfterStop = false
        statusText = nil
        errnoReported = nil
        watchdogOverride = nil
        mainExit = nil
        stateChanged = now
        if !unit.execCondition.isEmpty {
            return runControl(ExecRole(.condition, 0), in: .condition, timeout: unit.timeoutStart, now: now)
        }
        return enterStartPre(now: now)
    }

    private mutating func enterStartPre(now: Instant) -> [ServiceAction] {
        if !unit.execStartPre.isEmpty {
            return runControl(ExecRole(.startPre, 0), in: .startPre, timeout: unit.timeoutStart, now: now)
        }
        return enterStart(now: now)
    }

    private mutating func enterStart(now: Instant) -> [ServiceAction] {
        guard !unit.execStart.isEmpty else {
            // Type=oneshot may have no ExecStart= (systemd.service(5)).
            return enterStartPost(now: now)
        }
        state = .start
        // Type=simple/exec are started once spawned; the others wait under TimeoutStartSec=.
        deadline = now.adding(unit.timeoutStart)
        return [.spawn(ExecRole(.start, 0))]
    }

    private mutating func enterStartPost(now: Instant) -> [ServiceAction] {
        if !unit.execStartPost.isEmpty {
            return runControl(ExecRole(.startPost, 0), in: .startPost, timeout: unit.timeoutStart, now: now)
        }
        return enterRunning(now: now)
    }

    private mutating func enterRunning(now: Instant) -> [ServiceAction] {
        deadline = nil
        if mainPID != nil || (unit.type == .forking && !groupEmpty) {
            state = .running
            stateChanged = now
            restartAfterStop = false
            armWatchdog(now: now)
            return []
        }
        if unit.remainAfterExit {
            state = .exited
            stateChanged = now
            return []
        }
        return enterStop(result, now: now)
    }

    private mutating func armWatchdog(now: Instant) {
        let span = effectiveWatchdog
        watchdogDeadline = span > .zero ? now.adding(span) : nil
    }

    private mutating func watchdogExpired(now: Instant) -> [ServiceAction] {
        watchdogDeadline = nil
        guard [.start, .startPost, .running, .reload].contains(state), mainPID != nil else { return [] }
        recordFailure(.watchdog)
        state = .stopWatchdog
        deadline = now.adding(unit.timeoutAbort ?? unit.timeoutStop)
        return [.log(.error, "\(unit.name): Watchdog timeout (limit \(effectiveWatchdog))! Sending \(signalName(unit.watchdogSignal))."),
                .signal(.main, unit.watchdogSignal)]
    }

    private mutating func enterStop(_ outcome: ServiceResult, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        watchdogDeadline = nil
        if !unit.execStop.isEmpty {
            return runControl(ExecRole(.stop, 0), in: .stop, timeout: unit.timeoutStop, now: now)
        }
        return enterSignal(.stopSigterm, .success, now: now)
    }

    /// Sends the signals of a stop phase per KillMode= (systemd.kill(5)) and
    /// waits for the processes, or moves on when there is nothing to wait for.
    private mutating func enterSignal(_ phase: ServiceState, _ outcome: ServiceResult, now: Instant)
        -> [ServiceAction]
    {
        recordFailure(outcome)
        watchdogDeadline = nil
        let killing = phase == .stopSigkill || phase == .finalSigkill
        let signal = killing ? unit.finalKillSignal
            : (restartAfterStop ? (unit.restartKillSignal ?? unit.killSignal) : unit.killSignal)
        var actions: [ServiceAction] = []
        switch unit.killMode {
        case .controlGroup:
            actions.append(.signal(.group, signal))
        case .mixed:
            // SIGTERM to the main process only; the SIGKILL goes to the whole group.
            if killing { actions.append(.signal(.group, signal)) } else {
                if mainPID != nil { actions.append(.signal(.main, signal)) }
                if controlPID != nil { actions.append(.signal(.control, signal)) }
            }
        case .process:
            if mainPID != nil { actions.append(.signal(.main, signal)) }
            if controlPID != nil { actions.append(.signal(.control, signal)) }
        case .none:
            break
        }
        if unit.sendSIGHUP, !killing, unit.killMode != .none { actions.append(.signal(.group, 1)) }
        if waitingForProcesses {
            state = phase
            deadline = now.adding(unit.timeoutStop)
            return actions
        }
        switch phase {
        case .stopSigterm, .stopSigkill, .stopWatchdog:
            return actions + enterStopPost(.success, now: now)
        case .finalSigterm, .finalSigkill:
            return actions + enterDead(.success, now: now)
        case .dead, .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stop, .stopPost, .failed,
             .autoRestart:
            preconditionFailure("enterSignal(\(phase)): not a signal phase")
        }
    }

    /// Whether a stop phase still has something to wait for.
    private var waitingForProcesses: Bool {
        if mainPID != nil || controlPID != nil { return true }
        switch unit.killMode {
        case .controlGroup, .mixed: return !groupEmpty
        case .process, .none: return false
        }
    }

    private mutating func enterStopPost(_ outcome: ServiceResult, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        if !unit.execStopPost.isEmpty {
            return runControl(ExecRole(.stopPost, 0), in: .stopPost, timeout: unit.timeoutStop, now: now)
        }
        return enterSignal(.finalSigterm, .success, now: now)
    }

    private mutating func enterDead(_ outcome: ServiceResult, now: Instant) -> [ServiceAction] {
        recordFailure(outcome)
        deadline = nil
        watchdogDeadline = nil
        stateChanged = now
        if restartAfterStop {
            return consumeRestartAfterStop(now: now)
        }
        if unit.shallRestart(result: result, mainExit: mainExit, forbidden: forbidRestart) {
            state = .autoRestart
            let delay = unit.restartDelay(attempt: restartAttempt)
            deadline = now.adding(delay)
            let why = result == .success ? "" : " with result '\(result.rawValue)'"
            return [.log(.notice, "\(unit.name): Scheduled restart job in \(delay)\(why), restart counter is at \(restartCount + 1).")]
        }
        // An ExecCondition= skip is no failure (service_enter_dead(): SERVICE_SKIP_CONDITION ends dead).
        state = result == .success || result == .execCondition ? .dead : .failed
        var actions: [ServiceAction] = [.releaseFileDescriptorStore]
        if result == .execCondition { actions.insert(.log(.info, "\(unit.name): Skipped due to 'exec-condition'."), at: 0) }
        if state == .failed {
            actions.insert(.log(.warning, "\(unit.name): Failed with result '\(result.rawValue)'."), at: 0)
        }
        return actions
    }

    private mutating func consumeRestartAfterStop(now: Instant) -> [ServiceAction] {
        restartAfterStop = false
        state = .dead
        return beginStart(now: now)
    }

    private mutating func autoRestartDue(now: Instant) -> [ServiceAction] {
        restartCount += 1
        restartAttempt += 1
        var actions = beginStart(now: now)
        if state == .failed, result == .startLimitHit { return actions }
        actions.insert(.log(.info, "\(unit.name): Restarting (attempt \(restartCount))."), at: 0)
        return actions
    }

    private mutating func runControl(_ role: ExecRole, in phase: ServiceState, timeout: TimeSpan, now: Instant)
        -> [ServiceAction]
    {
        state = phase
        deadline = now.adding(timeout)
        return [.spawn(role)]
    }

    private mutating func recordFailure(_ outcome: ServiceResult) {
        if result == .success { result = outcome }
    }

    // MARK: - Process exits

    private mutating func mainExited(_ status: ExitStatus, now: Instant) -> [ServiceAction] {
        let outcome = ServiceResult.of(status, success: unit.successExitStatus)
        let ignore = unit.execStart.first?.ignoreFailure ?? false
        let effective = ignore ? .success : outcome
        var actions: [ServiceAction] = []
        if outcome != .success {
            actions.append(.log(.notice, "\(unit.name): Main process exited, code=\(status.code), status=\(status.status)"))
        }
        switch state {
        case .start:
            switch unit.type {
            case .oneshot:
                if effective != .success { return actions + enterSignal(.stopSigterm, effective, now: now) }
                // The next ExecStart= of a oneshot, else the start is complete.
                let next = currentMainIndex + 1
                if next < unit.execStart.count {
                    currentMainIndex = next
                    return actions + [.spawn(ExecRole(.start, next))]
                }
                currentMainIndex = 0
                return actions + enterStartPost(now: now)
            case .forking:
                if effective != .success { return actions + enterSignal(.stopSigterm, effective, now: now) }
                return actions + [.discoverMainPID]
            case .notify:
                // Exited before READY=1: systemd's "protocol" failure when clean.
                return actions + enterSignal(.stopSigterm, effective == .success ? .protocol : effective, now: now)
            case .simple, .idle, .exec:
                return actions + enterSignal(.stopSigterm, effective, now: now)
            }
        case .startPost, .reload:
            // Wait for the control process; enterRunning sees the main process gone.
            recordFailure(effective)
            return actions
        case .running:
            return actions + enterStop(effective, now: now)
        case .stop:
            recordFailure(effective)
            return actions
        case .stopWatchdog, .stopSigterm, .stopSigkill:
            if effective != .success, state != .stopWatchdog { recordFailure(effective) }
            if waitingForProcesses { return actions }
            return actions + enterStopPost(.success, now: now)
        case .stopPost, .finalSigterm, .finalSigkill:
            if !waitingForProcesses, state != .stopPost { return actions + enterDead(.success, now: now) }
            return actions
        case .dead, .failed, .autoRestart, .exited, .condition, .startPre:
            return actions
        }
    }

    private mutating func controlExited(_ role: ExecRole, _ status: ExitStatus, now: Instant) -> [ServiceAction] {
        let command = commands(of: role.phase)
        let ignore = role.index < command.count && command[role.index].ignoreFailure
        let outcome = ignore ? ServiceResult.success : ServiceResult.of(status, success: unit.successExitStatus)
        var actions: [ServiceAction] = []
        if outcome != .success {
            actions.append(.log(.warning, "\(unit.name): Control process \(role) exited, code=\(status.code), status=\(status.status)"))
        }
        // The next command of the same list, unless this one failed.
        if outcome == .success, role.index + 1 < command.count {
            controlRole = nil
            return actions + [.spawn(ExecRole(role.phase, role.index + 1))]
        }
        switch role.phase {
        case .condition:
            // systemd.service(5): exit 1–254 skips the start; 255 or an abnormal end fails it.
            if outcome == .success { return actions + enterStartPre(now: now) }
            if case .exited(let code) = status, code >= 1, code <= 254 {
                return [.log(.info, "\(unit.name): \(role) exited with status \(code): skipping the start.")]
                    + enterSignal(.stopSigterm, .execCondition, now: now)
            }
            return actions + enterSignal(.stopSigterm, outcome, now: now)
        case .startPre:
            return actions + (outcome == .success ? enterStart(now: now) : enterSignal(.stopSigterm, outcome, now: now))
        case .startPost:
            return actions + (outcome == .success ? enterRunning(now: now) : enterStop(outcome, now: now))
        case .reload:
            reloadResult = outcome
            deadline = nil
            if mainPID == nil { return actions + enterStop(result, now: now) }
            state = .running
            return actions
        case .stop:
            recordFailure(outcome)
            return actions + enterSignal(.stopSigterm, .success, now: now)
        case .stopPost:
            recordFailure(outcome)
            return actions + enterSignal(.finalSigterm, .success, now: now)
        case .start:
            return actions
        }
    }

    /// Whether the machine waits for the last process of its group (a stop
    /// phase under KillMode=control-group or mixed): the supervisor reports
    /// `groupEmptied` when orphans it reaped emptied it.
    package var waitsForGroup: Bool {
        switch state {
        case .stopSigterm, .stopSigkill, .stopWatchdog, .finalSigterm, .finalSigkill: return !groupEmpty
        case .running: return unit.type == .forking && mainPID == nil
        case .dead, .failed, .condition, .startPre, .start, .startPost, .exited, .reload, .stop, .stopPost,
             .autoRestart:
            return false
        }
    }

    /// No process of the service is left.
    package mutating func groupEmptied(now: Instant) -> [ServiceAction] {
        groupEmpty = true
        switch state {
        case .stopSigterm, .stopSigkill, .stopWatchdog:
            return waitingForProcesses ? [] : enterStopPost(.success, now: now)
        case .finalSigterm, .finalSigkill:
            return waitingForProcesses ? [] : enterDead(.success, now: now)
        case .running where unit.type == .forking && mainPID == nil:
            // A forking service without a known main pid ends when its last process does.
            return enterStop(.success, now: now)
        case .dead, .failed, .condition, .startPre, .start, .startPost, .running, .exited, .reload, .stop,
             .stopPost, .autoRestart:
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
        }
    }

    private func signalName(_ signal: Int32) -> String {
        SignalName.fullName(signal)
    }
}
