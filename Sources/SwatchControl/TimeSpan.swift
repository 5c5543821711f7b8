// Time spans as systemd.time(7) writes them: unit files (TimeoutStartSec=, RestartSec=, …),
// the control client's timeout and `swatchctl logs --since -5min` (JournalTime.swift).

/// A span of time in microseconds, as systemd.time(7) writes it (`1min 30s`, `infinity`).
package struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var microseconds: UInt64
    package init(microseconds: UInt64) { self.microseconds = microseconds }
    package static func seconds(_ s: UInt64) -> TimeSpan { TimeSpan(microseconds: s &* 1_000_000) }
    package static func milliseconds(_ ms: UInt64) -> TimeSpan { TimeSpan(microseconds: ms &* 1_000) }
    package static let zero = TimeSpan(microseconds: 0)
    package static let infinity = TimeSpan(microseconds: .max)
    package var isInfinite: Bool { microseconds == .max }
    package static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.microseconds < b.microseconds }
    /// systemd's own rendering: `1min 30s`, `500ms`, `infinity`.
    package var description: String {
        if isInfinite { return "infinity" }
        if microseconds == 0 { return "0" }
        var rest = microseconds
        var parts: [String] = []
        for (suffix, size) in Self.units where rest >= size {
            parts.append("\(rest / size)\(suffix)")
            rest %= size
        }
        return parts.joined(separator: " ")
    }

    /// systemd's units of a span, largest first (src/basic/time-util.c).
    private static let units: [(String, UInt64)] = [
        ("y", 31_557_600_000_000), ("month", 2_629_800_000_000), ("w", 604_800_000_000),
        ("d", 86_400_000_000), ("h", 3_600_000_000), ("min", 60_000_000), ("s", 1_000_000),
        ("ms", 1_000), ("us", 1),
    ]

    /// systemd's format_timespan() to `accuracy` (src/basic/time-util.c), as systemctl status
    /// writes `CPU:` to the millisecond: `12ms`, `1.234s`, `1min 2.345s`; below a minute the
    /// rest is decimals of the largest unit rather than more units.
    package func description(accuracy: TimeSpan) -> String {
        if isInfinite { return "infinity" }
        let accuracy = max(accuracy.microseconds, 1)
        var rest = microseconds, parts: [String] = []
        for (suffix, size) in Self.units {
            if rest == 0 || (rest < accuracy && !parts.isEmpty) { break }
            guard rest >= size else { continue }
            var fraction = rest % size, digits = 0
            if rest < 60_000_000 && fraction > 0 {
                var scale = size
                while scale > 1 { digits += 1; scale /= 10 }
                scale = accuracy
                while scale > 1 { fraction /= 10; digits -= 1; scale /= 10 }
            }
            if digits > 0 {
                let decimals = String(fraction)
                parts.append("\(rest / size)." + String(repeating: "0", count: max(0, digits - decimals.count)) + decimals + suffix)
                break
            }
            parts.append("\(rest / size)\(suffix)")
            rest %= size
        }
        return parts.isEmpty ? "0" : parts.joined(separator: " ")
    }
}
