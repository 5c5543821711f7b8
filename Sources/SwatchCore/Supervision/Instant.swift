/// A point on CLOCK_MONOTONIC, in microseconds. The state machines take it as
/// `now:` so tests drive them with a made-up clock and never sleep (docs/HACKING.md, "Conventions");
/// the supervisor reads the real clock once per event.
package struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var microseconds: UInt64
    package init(microseconds: UInt64) { self.microseconds = microseconds }

    package static func < (a: Instant, b: Instant) -> Bool { a.microseconds < b.microseconds }

    /// `self + span`, saturating: an infinite span gives a deadline that never comes (nil).
    package func adding(_ span: TimeSpan) -> Instant? {
        if span.isInfinite { return nil }
        let (sum, overflow) = microseconds.addingReportingOverflow(span.microseconds)
        return overflow ? nil : Instant(microseconds: sum)
    }

    package static func + (a: Instant, b: TimeSpan) -> Instant {
        Instant(microseconds: a.microseconds &+ min(b.microseconds, UInt64.max - a.microseconds))
    }

    /// The span from `earlier` to `self`, zero when `earlier` is later.
    package func since(_ earlier: Instant) -> TimeSpan {
        TimeSpan(microseconds: microseconds >= earlier.microseconds ? microseconds - earlier.microseconds : 0)
    }

    package var description: String { "@\(microseconds)us" }
}

extension Optional where Wrapped == Instant {
    /// The earlier of two optional deadlines (nil means never).
    func earliest(_ other: Instant?) -> Instant? {
        switch (self, other) {
        case (nil, nil): return nil
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (let a?, let b?): return Swift.min(a, b)
        }
    }
}
