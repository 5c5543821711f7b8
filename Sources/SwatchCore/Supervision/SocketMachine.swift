import Logging

/// A socket unit's side of activation, as a pure state machine: whether
/// swatchd watches its listeners, and the trigger limit.
///
/// systemd fails a socket for good when TriggerLimitBurst= is hit within
/// TriggerLimitIntervalSec= (systemd.socket(5); socket_enter_running() in
/// src/core/socket.c, result `trigger-limit-hit`). swatchd throttles instead: it
/// stops watching for a back-off that doubles while the storm lasts (1s, 2s,
/// 4s … 16s), then watches again. A datagram nobody reads therefore costs a
/// few spawns a second at most, and never takes the socket away.
/// What a socket machine asks for besides its state: only log lines.
package enum SocketAction: Hashable, Sendable {
    case log(Logger.Level, String)
}

package struct SocketMachine: Sendable {
    package enum State: Hashable, Sendable {
        /// Watching the listeners; the next readable event triggers the service.
        case listening
        /// The service is up (or Accept=yes is accepting): not watching (except for Accept=yes).
        case running
        /// Not watching until the deadline.
        case throttled(until: Instant)
    }

    package static let firstBackoff = TimeSpan.seconds(1)
    package static let maxBackoff = TimeSpan.seconds(16)

    package private(set) var unit: SocketUnit
    package private(set) var state: State = .listening
    private var windowBegin: Instant?
    private var triggers = 0
    private var backoff = SocketMachine.firstBackoff

    package init(unit: SocketUnit) {
        self.unit = unit
    }

    package mutating func replaceUnit(_ new: SocketUnit) { unit = new }

    /// Whether the supervisor should have the listeners in epoll. Accept=yes
    /// sockets are watched while running: swatchd accepts every connection.
    package var watching: Bool {
        switch state {
        case .listening: return true
        case .running: return unit.accept
        case .throttled: return false
        }
    }

    package var deadline: Instant? {
        if case .throttled(let until) = state { return until }
        return nil
    }

    /// `ActiveState=`/`SubState=` as systemctl shows a socket.
    package var subState: String {
        switch state {
        case .listening: return "listening"
        case .running: return "running"
        case .throttled: return "throttled"
        }
    }

    package enum Decision: Hashable, Sendable {
        /// Start the service (or, with Accept=yes, accept and spawn an instance).
        case trigger
        /// Over the trigger limit: stop watching until the back-off ends.
        case throttle(TimeSpan)
    }

    /// A listener became readable while watched. Counts against the trigger limit.
    package mutating func readable(now: Instant) -> (Decision, [SocketAction]) {
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
        if !unit.accept { state = .running }
        return (.trigger, [])
    }

    /// The service (or its start limit) gave up: stop watching for a while, as after a trigger storm.
    package mutating func throttleAfterServiceFailure(now: Instant) -> [SocketAction] {
        let span = backoff
        enterThrottle(now: now)
        return [.log(.warning, "\(unit.name): Its service hit its start limit, not watching for \(span).")]
    }

    private mutating func enterThrottle(now: Instant) {
        state = .throttled(until: now + backoff)
        backoff = min(TimeSpan(microseconds: backoff.microseconds * 2), Self.maxBackoff)
        windowBegin = nil
        triggers = 0
    }

    /// The triggered service is up (started by the socket or by hand).
    package mutating func serviceActivated() {
        if case .throttled = state { return }
        state = .running
    }

    /// The service is dead or failed: watch again (unless throttled).
    package mutating func serviceDeactivated() {
        if case .throttled = state { return }
        state = .listening
    }

    /// The throttle's back-off ended: watch again.
    package mutating func timerFired(now: Instant, serviceInactive: Bool) -> [SocketAction] {
        guard case .throttled(let until) = state, until <= now else { return [] }
        state = serviceInactive ? .listening : .running
        return [.log(.info, "\(unit.name): Watching again after the trigger limit back-off.")]
    }
}
