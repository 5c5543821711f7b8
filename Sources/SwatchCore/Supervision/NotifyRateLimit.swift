/// How many sd_notify(3) messages a unit may send: `burst` per `interval`, counted in
/// fixed windows as systemd's ratelimit (src/basic/ratelimit.c). Beyond that the unit's
/// messages are dropped until its window ends, and the shell logs ONE line per burst —
/// `x.service: Too many notification messages, dropping some.` — however long the flood
/// lasts: a burst ends with a window in which nothing was dropped.
///
/// Pure, with `now:` injected; the shell (Supervisor.receiveNotifications) asks it before
/// it hands a message to the Manager, so that a service sending in a loop costs one
/// recvmsg and a lookup per message and never the Manager's work. The limit is in
/// swatchd(8), LIMITS.
package struct NotifyRateLimit: Sendable {
    package enum Verdict: Hashable, Sendable {
        case accept
        /// The first drop of a burst: log it.
        case dropAndLog
        case drop
    }

    /// 1000 messages a second: far above what a well-behaved service sends (READY=1,
    /// STATUS= updates, watchdog pings), far below what a loop of sendto() does.
    package static let defaultBurst = 1000
    package static let defaultInterval = TimeSpan.seconds(1)
    /// Beyond this many units tracked, those whose window ended are forgotten.
    static let pruneThreshold = 1024

    private struct Window: Sendable {
        var begin: Instant
        var count: Int
        var dropped: Int
        /// Dropping was logged and no quiet window came since.
        var inBurst: Bool
    }

    package let burst: Int
    package let interval: TimeSpan
    private var windows: [UnitName: Window] = [:]

    package init(burst: Int = NotifyRateLimit.defaultBurst, interval: TimeSpan = NotifyRateLimit.defaultInterval) {
        self.burst = burst
        self.interval = interval
    }

    /// Counts one message of `unit` at `now`.
    package mutating func admit(_ unit: UnitName, now: Instant) -> Verdict {
        var window = windows[unit] ?? Window(begin: now, count: 0, dropped: 0, inBurst: false)
        if let end = window.begin.adding(interval), now >= end {
            // A new window. The burst goes on only if the last window dropped some and
            // follows it at once; a window that dropped nothing, or a quiet one, ends it.
            let adjacent = end.adding(interval).map { now < $0 } ?? true
            window = Window(begin: now, count: 0, dropped: 0, inBurst: window.inBurst && window.dropped > 0 && adjacent)
        }
        window.count += 1
        let verdict: Verdict
        if window.count <= burst {
            verdict = .accept
        } else {
            window.dropped += 1
            verdict = window.inBurst ? .drop : .dropAndLog
            window.inBurst = true
        }
        if windows.count >= Self.pruneThreshold, windows[unit] == nil { prune(now: now) }
        windows[unit] = window
        return verdict
    }

    /// How many units are tracked (bounded by pruning).
    package var trackedUnits: Int { windows.count }

    /// Forgets the units whose window ended and whose burst cannot go on.
    private mutating func prune(now: Instant) {
        windows = windows.filter { _, window in
            guard let end = window.begin.adding(interval) else { return true }
            return now < end || (window.dropped > 0 && end.adding(interval).map { now < $0 } ?? true)
        }
    }
}
