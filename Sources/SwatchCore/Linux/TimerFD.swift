import CSwatch
import Glibc
import SystemPackage

/// The clock every deadline of swatchd is measured on: CLOCK_MONOTONIC, in
/// microseconds (systemd's usec_t), unaffected by changes of the wall clock.
package enum MonotonicClock {
    /// Now, in µs. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
    package static func now() -> UInt64 {
        var time = timespec()
        // Cannot fail for CLOCK_MONOTONIC with a valid pointer.
        _ = clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
    }
}

/// The one timer of the event loop (docs/HACKING.md "Layout"), armed for the earliest
/// deadline of all services: absolute, on the monotonic clock, so recomputing
/// it never drifts. It owns its fd.
package final class TimerFD {
    /// The timerfd, owned by this object and closed by `deinit`.
    package let fd: FileDescriptor
    /// The deadline it is armed for, or nil.
    package private(set) var deadline: UInt64?

    /// The corresponding C function is `timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK)`.
    package init() throws(Errno) {
        fd = FileDescriptor(rawValue: try retryingOnInterrupt {
            timerfd_create(CLOCK_MONOTONIC, CInt(TFD_CLOEXEC | TFD_NONBLOCK))
        })
    }

    deinit { fd.closeIgnoringErrors() }

    /// Fires (the fd becomes readable) at `deadline`, a `MonotonicClock` time
    /// in µs; a deadline in the past fires at once. Replaces any earlier arming.
    /// The corresponding C function is `timerfd_settime(TFD_TIMER_ABSTIME)`.
    package func arm(at deadline: UInt64) throws(Errno) {
        // An all-zero it_value would disarm: the earliest time is 1 ns.
        let when = deadline
        var spec = itimerspec()
        spec.it_value.tv_sec = Int(when / 1_000_000)
        spec.it_value.tv_nsec = Int(when % 1_000_000) * 1_000
        if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        _ = try retryingOnInterrupt { timerfd_settime(fd.rawValue, CInt(TFD_TIMER_ABSTIME), &spec, nil) }
        self.deadline = deadline
    }

    /// Stops the timer. The corresponding C function is `timerfd_settime` with a zero value.
    package func disarm() throws(Errno) {
        var spec = itimerspec()
        _ = try retryingOnInterrupt { timerfd_settime(fd.rawValue, 0, &spec, nil) }
        deadline = nil
    }

    /// Whether the kernel holds a pending expiry (`timerfd_gettime`): for tests.
    var isArmed: Bool {
        var spec = itimerspec()
        guard timerfd_gettime(fd.rawValue, &spec) == 0 else { return false }
        return spec.it_value.tv_sec != 0 || spec.it_value.tv_nsec != 0
    }

    /// Clears the readable state; returns how many expiries happened (0 if none).
    /// The corresponding C function is `read` on the timerfd.
    @discardableResult
    package func read() throws(Errno) -> UInt64 {
        var expirations: UInt64 = 0
        do {
            _ = try retryingOnInterrupt { Glibc.read(fd.rawValue, &expirations, MemoryLayout<UInt64>.size) }
        } catch .wouldBlock {
            return 0
        }
        deadline = nil
        return expirations
    }
}
