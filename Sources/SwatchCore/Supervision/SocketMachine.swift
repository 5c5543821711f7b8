import Logging

/// What a socket machine asks for besides its state.
package enum SocketAction: Hashable, Sendable {
    /// Bind the listeners: answer `bound(now:)` or `bindFailed(now:)`.
    case bind
    /// Close the listeners (the Manager closes only what it has bound).
    case closeListeners
    /// Spawn this command of the socket unit; answer `spawned` or `spawnFailed`.
    case spawn(ExecRole)
    /// Send this signal to the control process (and, per KillMode=, the unit's group).
    case signal(Int32)
    /// FlushPending=: throw away what waits on the listeners before watching them again.
    case flush
    /// PollLimitBurst= was reached on this listener (its index in the unit's): leave it out of
    /// epoll until `resumeListener`, even when the unit's listeners are watched again meanwhile.
    case pauseListener(Int)
    /// The poll limit's interval ended: the listener is watched again with the others.
    case resumeListener(Int)
    case log(Logger.Level, String)
}

/// How a socket unit's last start or stop went (systemd's SocketResult, src/core/socket.c).
package enum SocketResult: String, Hashable, Sendable {
    case success, resources, timeout
    case exitCode = "exit-code"
    case signal
    case coreDump = "core-dump"
}

/// A socket unit's life, as a pure state machine: its own commands around the
/// bind and the close (ExecStartPre=, ExecStartPost=, ExecStopPre=,
/// ExecStopPost=, systemd.socket(5)), then, while it is bound, whether swatchd
/// watches its listeners, and the trigger limit.
///
/// The states and their order are systemd's (socket_enter_start_pre() …
/// socket_enter_dead(), socket_sigchld_event() and socket_dispatch_timer() in
/// src/core/socket.c): start-pre → (bind: start-chown) → start-post →
/// listening; stop-pre → (close) → stop-post → dead. A command that fails, or
/// outlives TimeoutSec= (each command has its own), fails the unit with
/// `exit-code`, `signal`, `core-dump` or `timeout`; a bind that fails with
/// `resources`.
///
/// systemd fails a socket for good when TriggerLimitBurst= is hit within
/// TriggerLimitIntervalSec= (systemd.socket(5); socket_enter_running() in
/// src/core/socket.c, result `trigger-limit-hit`). swatchd throttles instead: it
/// stops watching for a back-off that doubles while the storm lasts (1s, 2s,
/// 4s … 16s), then watches again. A datagram nobody reads therefore costs a
/// few spawns a second at most, and never takes the socket away.
///
/// Before the trigger limit comes the poll limit (PollLimitIntervalSec=/
/// PollLimitBurst=), per listener as systemd rate-limits the event source of each
/// (sd_event_source_set_ratelimit(3), socket_watch_fds() in src/core/socket.c):
/// more readable events on a listener than the burst within the interval, and
/// that listener is not watched until the interval ends; what waits on it stays
/// in the kernel's queue and is taken then, and the others go on.
package struct SocketMachine: Sendable {
    /// While bound and past ExecStartPost=: what the listeners are for now.
    package enum State: Hashable, Sendable {
        /// Watching the listeners; the next readable event triggers the service.
        case listening
        /// The service is up (or Accept=yes is accepting): not watching (except for Accept=yes).
        case running
        /// Not watching until the deadline (the trigger limit's back-off).
        case throttled(until: Instant)
    }

    /// A command of the socket unit being run, or the process being signalled.
    package struct Control: Hashable, Sendable {
        /// nil between a `.spawn` and its `spawned`, and in a signal step with no command behind it.
        package var pid: Int32?
        package var role: ExecRole?
        package var deadline: Instant?
    }

    /// The steps that send signals: KillSignal= (or FinalKillSignal=… as systemd.kill(5)) then SIGKILL.
    package enum SignalStep: Hashable, Sendable {
        case sigterm, sigkill
    }

    /// systemd's socket states, each with what exists only in it.
    package enum Phase: Hashable, Sendable {
        /// Never started, or stopped: nothing bound.
        case dead
        /// The last start or stop failed (`result` says how): nothing bound.
        case failed
        /// The shell tests Condition…=/Assert…= before the start.
        case condition
        /// ExecStartPre= runs; nothing bound yet.
        case startPre(Control)
        /// The shell binds the listeners (systemd binds on entering start-chown).
        case binding
        /// ExecStartPost= runs: bound, not watched yet.
        case startPost(Control)
        /// Bound and past its start commands.
        case active(State)
        /// ExecStopPre= runs (nil step), or its process is being signalled: still bound, not watched.
        case stopPre(SignalStep?, Control)
        /// ExecStopPost= runs: closed.
        case stopPost(Control)
        /// What is left of a control process is signalled: closed.
        case final(SignalStep, Control)
    }

    package static let firstBackoff = TimeSpan.seconds(1)
    package static let maxBackoff = TimeSpan.seconds(16)

    package private(set) var unit: SocketUnit
    package private(set) var phase: Phase
    /// Why the unit last failed (the first failure of a start or stop wins, as in systemd).
    package private(set) var result: SocketResult = .success
    private var windowBegin: Instant?
    private var triggers = 0
    /// The poll limit's window of each listener (by index) since its first event in it.
    /// (`[K: V]()`, not `[:]`: the literal calls the unspecialized `init(dictionaryLiteral:)`,
    /// ~800 instructions a machine at start-up.)
    private var pollWindows = [Int: PollWindow]()
    /// A struct, not a tuple: the runtime looks a tuple's metadata up at each use in a generic.
    private struct PollWindow: Sendable {
        var begin: Instant
        var events: Int
    }
    /// The listeners over the poll limit, until their window ends.
    package private(set) var pausedListeners = [Int: Instant]()
    private var backoff = SocketMachine.firstBackoff

    /// A machine in `phase`: `.dead` for a unit to start, `.active(.listening)` for listeners already bound.
    package init(unit: SocketUnit, phase: Phase = .active(.listening)) {
        self.unit = unit
        self.phase = phase
    }

    package mutating func replaceUnit(_ new: SocketUnit) { unit = new }

    // MARK: - Reading the state

    /// The activation state while active, nil in every other phase.
    package var state: State? {
        if case .active(let state) = phase { return state }
        return nil
    }

    /// Whether the supervisor should have the listeners in epoll. Accept=yes
    /// sockets are watched while running: swatchd accepts every connection.
    package var watching: Bool {
        switch state {
        case .listening?: return true
        case .running?: return unit.accept
        case .throttled?, nil: return false
        }
    }

    /// Whether the listeners are bound in this phase (from the bind up to the close).
    package var holdsListeners: Bool {
        switch phase {
        case .startPost, .active, .stopPre: return true
        case .dead, .failed, .condition, .startPre, .binding, .stopPost, .final: return false
        }
    }

    /// Dead or failed: no start, stop or command under way.
    package var isInactive: Bool {
        switch phase {
        case .dead, .failed: return true
        case .condition, .startPre, .binding, .startPost, .active, .stopPre, .stopPost, .final: return false
        }
    }

    /// The process of one of the unit's commands, if one runs.
    package var controlPID: Int32? { control?.pid }

    private var control: Control? {
        switch phase {
        case .startPre(let c), .startPost(let c), .stopPre(_, let c), .stopPost(let c), .final(_, let c): return c
        case .dead, .failed, .condition, .binding, .active: return nil
        }
    }

    /// The next time the machine has something to do: its phase's deadline, or the end of a
    /// listener's pause.
    package var deadline: Instant? {
        pausedListeners.values.reduce(phaseDeadline) { earliest, until in earliest.map { min($0, until) } ?? until }
    }

    /// The trigger limit's back-off, or the running command's time-out.
    private var phaseDeadline: Instant? {
        if case .active(.throttled(let until)) = phase { return until }
        return control?.deadline
    }

    /// `ActiveState=` as systemctl shows a socket.
    package var activeState: UnitActiveState {
        switch phase {
        case .dead, .condition: return .inactive
        case .failed: return .failed
        case .startPre, .binding, .startPost: return .activating
        case .active: return .active
        case .stopPre, .stopPost, .final: return .deactivating
        }
    }

    /// `SubState=` as systemctl shows a socket.
    package var subState: String {
        switch phase {
        case .dead, .condition: return "dead"
        case .failed: return "failed"
        case .startPre: return "start-pre"
        case .binding: return "start-chown"
        case .startPost: return "start-post"
        case .active(.listening): return "listening"
        case .active(.running): return "running"
        case .active(.throttled): return "throttled"
        case .stopPre(nil, _): return "stop-pre"
        case .stopPre(.sigterm?, _): return "stop-pre-sigterm"
        case .stopPre(.sigkill?, _): return "stop-pre-sigkill"
        case .stopPost: return "stop-post"
        case .final(.sigterm, _): return "final-sigterm"
        case .final(.sigkill, _): return "final-sigkill"
        }
    }

    /// The commands of one list of the unit.
    package func commands(of phase: ExecPhase) -> [ExecCommand] {
        switch phase {
        case .startPre: return unit.execStartPre
        case .startPost: return unit.execStartPost
        case .stopPre: return unit.execStopPre
        case .stopPost: return unit.execStopPost
        case .condition, .start, .reload, .stop: return []
        }
    }

    // MARK: - Start and stop

    /// The shell is to test the unit's conditions first (`start(now:)` follows when they hold).
    package mutating func testingConditions() {
        guard isInactive else { return }
        phase = .condition
    }

    /// A start (socket_start()): from dead or failed, ExecStartPre= first, else the bind.
    package mutating func start(now: Instant) -> [SocketAction] {
        switch phase {
        case .dead, .failed, .condition: break
        case .startPre, .binding, .startPost, .active, .stopPre, .stopPost, .final: return []
        }
        result = .success
        windowBegin = nil
        triggers = 0
        forgetPolls()
        backoff = Self.firstBackoff
        return run(.startPre, 0, now: now) ?? enterBinding()
    }

    /// A stop (socket_stop()): ExecStopPre=, close, ExecStopPost=; a start under way is signalled.
    package mutating func stop(now: Instant) -> [SocketAction] {
        switch phase {
        case .dead, .failed, .stopPre, .stopPost, .final:
            return []
        case .condition:
            phase = .dead
            return []
        case .startPre, .binding, .startPost:
            return enterSignal(stopPre: true, .sigterm, .success, now: now)
        case .active:
            return enterStopPre(.success, now: now)
        }
    }

    /// The shell bound the listeners.
    package mutating func bound(now: Instant) -> [SocketAction] {
        guard case .binding = phase else { return [] }
        return run(.startPost, 0, now: now) ?? enterActive()
    }

    /// The bind failed (the error is logged by the Manager): stop, with result `resources`.
    package mutating func bindFailed(now: Instant) -> [SocketAction] {
        guard case .binding = phase else { return [] }
        return enterStopPre(.resources, now: now)
    }

    /// `reset-failed`.
    package mutating func resetFailed() {
        guard case .failed = phase else { return }
        phase = .dead
        result = .success
    }

    // MARK: - Control processes

    package mutating func spawned(_ pid: Int32, role: ExecRole) {
        guard var c = control, c.role == role, c.pid == nil else { return }
        c.pid = pid
        setControl(c)
    }

    /// A command could not be started: as src/core/socket.c goes on when socket_spawn() fails.
    package mutating func spawnFailed(role: ExecRole, now: Instant) -> [SocketAction] {
        guard let c = control, c.role == role, c.pid == nil else { return [] }
        switch phase {
        case .startPre: return enterDead(.resources)
        case .startPost: return enterStopPre(.resources, now: now)
        case .stopPre: return enterStopPost(.resources, now: now)
        case .stopPost: return enterSignal(stopPre: false, .sigterm, .resources, now: now)
        case .dead, .failed, .condition, .binding, .active, .final: return []
        }
    }

    /// A control process ended (socket_sigchld_event()).
    package mutating func processExited(_ pid: Int32, status: ExitStatus, now: Instant) -> [SocketAction] {
        guard var c = control, c.pid == pid else { return [] }
        // Reaped: no longer a process to signal or wait for.
        c.pid = nil
        setControl(c)
        var outcome: SocketResult
        switch status {
        case .exited(0): outcome = .success
        case .exited: outcome = .exitCode
        case .signaled(_, let core): outcome = core ? .coreDump : .signal
        }
        var actions: [SocketAction] = []
        if let role = c.role {
            let command = commands(of: role.phase)[safe: role.index]
            // The `-` prefix: a failure is logged and does not count.
            if outcome != .success {
                actions.append(.log(status.exitLogLevel(countsAsSuccess: command?.ignoreFailure == true),
                                    "\(unit.name): Control process exited, code=\(status.code), status=\(status.statusWithName)"))
            }
            if command?.ignoreFailure == true { outcome = .success }
            // The next line of the same list, unless this one failed (socket_run_next()).
            if outcome == .success, let next = run(role.phase, role.index + 1, now: now) {
                return actions + next
            }
        }
        switch phase {
        case .startPre:
            return actions + (outcome == .success ? enterBinding() : enterSignal(stopPre: false, .sigterm, outcome, now: now))
        case .startPost:
            return actions + (outcome == .success ? enterActive() : enterStopPre(outcome, now: now))
        case .stopPre:
            return actions + enterStopPost(outcome, now: now)
        case .stopPost, .final:
            return actions + enterDead(outcome)
        case .dead, .failed, .condition, .binding, .active:
            return actions
        }
    }

    // MARK: - Activation

    package enum Decision: Hashable, Sendable {
        /// Start the service (or, with Accept=yes, accept and spawn an instance).
        case trigger
        /// Over the trigger limit: stop watching until the back-off ends.
        case throttle(TimeSpan)
        /// Over the poll limit on this listener: not watched until its interval ends.
        case pause(until: Instant)
        /// Not active (a readable event left over from before the listeners were unwatched).
        case ignore
    }

    /// Listener `listener` (its index in the unit's) became readable while watched. Counts
    /// against its poll limit, then the unit's trigger limit.
    package mutating func readable(now: Instant, listener: Int = 0) -> (Decision, [SocketAction]) {
        guard watching, pausedListeners[listener] == nil else { return (.ignore, []) }
        if let end = overPollLimit(listener, now: now) {
            pausedListeners[listener] = end
            let address = unit.listens[safe: listener].map { "\($0.address)" } ?? "listener \(listener)"
            return (.pause(until: end), [.pauseListener(listener), .log(.info,
                "\(unit.name): Poll limit hit (\(unit.pollLimitBurst) in \(unit.pollLimitInterval)) on \(address), not watching it for \(end.since(now)).")])
        }
        if let begin = windowBegin, let end = begin.adding(unit.triggerLimitInterval), now < end {
            triggers += 1
        } else {
            if windowBegin != nil, triggers <= unit.triggerLimitBurst { backoff = Self.firstBackoff }
            windowBegin = now
            triggers = 1
        }
        if unit.triggerLimitBurst > 0, triggers > unit.triggerLimitBurst {
            let span = backoff
            enterThrottle(now: now)
            return (.throttle(span), [.log(.warning,
                "\(unit.name): Trigger limit hit (\(unit.triggerLimitBurst) in \(unit.triggerLimitInterval)), not watching for \(span).")])
        }
        if !unit.accept { phase = .active(.running) }
        return (.trigger, [])
    }

    /// The end of the listener's poll limit interval when this event is one over its burst;
    /// nil otherwise, the event counted. 0 for either disables it, as an infinite interval does.
    private mutating func overPollLimit(_ listener: Int, now: Instant) -> Instant? {
        guard unit.pollLimitBurst > 0, unit.pollLimitInterval > .zero else { return nil }
        if let window = pollWindows[listener], let end = window.begin.adding(unit.pollLimitInterval), now < end {
            guard window.events < unit.pollLimitBurst else { return end }
            pollWindows[listener]?.events += 1
        } else {
            pollWindows[listener] = PollWindow(begin: now, events: 1)
        }
        return nil
    }

    /// The listeners are closed (or bound anew): their pauses and windows go with them.
    package mutating func forgetPolls() {
        if !pollWindows.isEmpty { pollWindows.removeAll() }
        if !pausedListeners.isEmpty { pausedListeners.removeAll() }
    }

    /// The service (or its start limit) gave up: stop watching for a while, as after a trigger storm.
    package mutating func throttleAfterServiceFailure(now: Instant) -> [SocketAction] {
        guard state != nil else { return [] }
        let span = backoff
        enterThrottle(now: now)
        return [.log(.warning, "\(unit.name): Its service hit its start limit, not watching for \(span).")]
    }

    private mutating func enterThrottle(now: Instant) {
        phase = .active(.throttled(until: now + backoff))
        backoff = min(TimeSpan(microseconds: backoff.microseconds * 2), Self.maxBackoff)
        windowBegin = nil
        triggers = 0
    }

    /// The triggered service is up (started by the socket or by hand).
    package mutating func serviceActivated() {
        switch state {
        case .listening?, .running?: phase = .active(.running)
        case .throttled?, nil: return
        }
    }

    /// The service is dead or failed: watch again (unless throttled), flushed first when it
    /// ran (socket_notify_service_dead() → socket_enter_listening(), src/core/socket.c).
    @discardableResult
    package mutating func serviceDeactivated() -> [SocketAction] {
        switch state {
        case .running?:
            phase = .active(.listening)
            return flushBeforeListening
        case .listening?, .throttled?, nil: return []
        }
    }

    /// socket_enter_listening(): with FlushPending= and Accept=no, what is pending goes first,
    /// so that the data or connections the service left behind do not trigger it again.
    private var flushBeforeListening: [SocketAction] { unit.flushPending && !unit.accept ? [.flush] : [] }

    /// The deadline passed: a listener's pause ended, the throttle's back-off ended, or a command
    /// outlived TimeoutSec=.
    package mutating func timerFired(now: Instant, serviceInactive: Bool) -> [SocketAction] {
        var resumed: [SocketAction] = []
        for (listener, until) in pausedListeners.sorted(by: { $0.key < $1.key }) where until <= now {
            pausedListeners[listener] = nil
            pollWindows[listener] = nil
            let address = unit.listens[safe: listener].map { "\($0.address)" } ?? "listener \(listener)"
            resumed += [.resumeListener(listener), .log(.debug, "\(unit.name): Watching \(address) again, its poll limit's interval is over.")]
        }
        guard let due = phaseDeadline, due <= now else { return resumed }
        return resumed + phaseTimerFired(now: now, serviceInactive: serviceInactive)
    }

    /// The phase's deadline passed: the throttle's back-off ended, or a command outlived TimeoutSec=.
    private mutating func phaseTimerFired(now: Instant, serviceInactive: Bool) -> [SocketAction] {
        let name = unit.name
        switch phase {
        case .active:
            phase = .active(serviceInactive ? .listening : .running)
            return [.log(.info, "\(name): Watching again after the trigger limit back-off.")]
        case .startPre:
            return [.log(.warning, "\(name): Starting timed out. Terminating.")]
                + enterSignal(stopPre: false, .sigterm, .timeout, now: now)
        case .startPost:
            return [.log(.warning, "\(name): Starting timed out. Stopping.")] + enterStopPre(.timeout, now: now)
        case .stopPre(nil, _):
            return [.log(.warning, "\(name): Stopping timed out. Terminating.")]
                + enterSignal(stopPre: true, .sigterm, .timeout, now: now)
        case .stopPre(.sigterm?, _):
            guard unit.executionSettings.sendSIGKILL else {
                return [.log(.warning, "\(name): Stopping timed out. Skipping SIGKILL. Ignoring.")]
                    + enterStopPost(.timeout, now: now)
            }
            return [.log(.warning, "\(name): Stopping timed out. Killing.")]
                + enterSignal(stopPre: true, .sigkill, .timeout, now: now)
        case .stopPre(.sigkill?, _):
            return [.log(.warning, "\(name): Processes still around after SIGKILL. Ignoring.")]
                + enterStopPost(.timeout, now: now)
        case .stopPost:
            return [.log(.warning, "\(name): Stopping timed out (2). Terminating.")]
                + enterSignal(stopPre: false, .sigterm, .timeout, now: now)
        case .final(.sigterm, _):
            guard unit.executionSettings.sendSIGKILL else {
                return [.log(.warning, "\(name): Stopping timed out (2). Skipping SIGKILL. Ignoring.")]
                    + enterDead(.timeout)
            }
            return [.log(.warning, "\(name): Stopping timed out (2). Killing.")]
                + enterSignal(stopPre: false, .sigkill, .timeout, now: now)
        case .final(.sigkill, _):
            return [.log(.warning, "\(name): Still around after SIGKILL (2). Entering failed mode.")]
                + enterDead(.timeout)
        case .dead, .failed, .condition, .binding:
            return []
        }
    }

    // MARK: - Transitions

    /// Spawns line `index` of a list and enters its phase; nil when the list has no such line.
    private mutating func run(_ list: ExecPhase, _ index: Int, now: Instant) -> [SocketAction]? {
        guard index < commands(of: list).count else { return nil }
        let role = ExecRole(list, index)
        // Each command has TimeoutSec= of its own (socket_spawn() arms the timer anew).
        let c = Control(pid: nil, role: role, deadline: now.adding(unit.timeout))
        switch list {
        case .startPre: phase = .startPre(c)
        case .startPost: phase = .startPost(c)
        case .stopPre: phase = .stopPre(nil, c)
        case .stopPost: phase = .stopPost(c)
        case .condition, .start, .reload, .stop: return nil
        }
        return [.spawn(role)]
    }

    private mutating func setControl(_ c: Control) {
        switch phase {
        case .startPre: phase = .startPre(c)
        case .startPost: phase = .startPost(c)
        case .stopPre(let step, _): phase = .stopPre(step, c)
        case .stopPost: phase = .stopPost(c)
        case .final(let step, _): phase = .final(step, c)
        case .dead, .failed, .condition, .binding, .active: break
        }
    }

    private mutating func enterBinding() -> [SocketAction] {
        phase = .binding
        return [.bind]
    }

    private mutating func enterActive() -> [SocketAction] {
        phase = .active(.listening)
        return flushBeforeListening
    }

    private mutating func fail(_ outcome: SocketResult) {
        if result == .success { result = outcome }
    }

    private mutating func enterStopPre(_ outcome: SocketResult, now: Instant) -> [SocketAction] {
        fail(outcome)
        return run(.stopPre, 0, now: now) ?? enterStopPost(.success, now: now)
    }

    /// Closes the listeners (leaving the bound phases), then ExecStopPost=; with
    /// PassFileDescriptorsToExec=, starts it first, so that it gets them (socket_enter_stop_post()
    /// spawns before socket_set_state() closes them, src/core/socket.c).
    private mutating func enterStopPost(_ outcome: SocketResult, now: Instant) -> [SocketAction] {
        fail(outcome)
        let close: [SocketAction] = [.closeListeners]
        forgetPolls()
        if let spawn = run(.stopPost, 0, now: now) { return unit.passFileDescriptorsToExec ? spawn + close : close + spawn }
        return close + enterSignal(stopPre: false, .sigterm, .success, now: now)
    }

    /// Signals what is left of the control process; with nothing to wait for, moves on at once
    /// (socket_enter_signal()).
    private mutating func enterSignal(stopPre: Bool, _ step: SignalStep, _ outcome: SocketResult, now: Instant)
        -> [SocketAction]
    {
        fail(outcome)
        let settings = unit.executionSettings
        if let pid = control?.pid, settings.killMode != .none {
            let c = Control(pid: pid, role: nil, deadline: now.adding(unit.timeout))
            let signal: Int32
            switch step {
            case .sigterm: signal = settings.killSignal
            case .sigkill: signal = settings.finalKillSignal
            }
            phase = stopPre ? .stopPre(step, c) : .final(step, c)
            return [.signal(signal)]
        }
        return stopPre ? enterStopPost(.success, now: now) : enterDead(.success)
    }

    private mutating func enterDead(_ outcome: SocketResult) -> [SocketAction] {
        fail(outcome)
        let close: [SocketAction] = holdsListeners ? [.closeListeners] : []
        forgetPolls()
        phase = result == .success ? .dead : .failed
        return close
    }
}
