// The timestamps `swatchctl logs --since/--until` takes: the forms of
// systemd.time(7), "PARSING TIMESTAMPS", that matter for a log of recent lines
// (src/basic/time-util.c, parse_timestamp()):
//
//   2024-11-26 16:20:01   2024-11-26 16:20   2024-11-26   (local time; ` UTC` for UTC)
//   16:20:01   16:20                                       (today)
//   now   today   yesterday   tomorrow                     (today: 00:00:00 local)
//   -5min   +1h   5 min ago   1h 30min ago                 (relative to now)
//   @1732634401   @1732634401.5                            (seconds since the epoch)

import Glibc

package enum JournalTime {
    /// `text` as CLOCK_REALTIME µs, or nil when it is none of the forms above. `now` is
    /// CLOCK_REALTIME µs; local times use the TZ of the process (mktime(3)).
    package static func parse(_ text: String, now: UInt64) -> UInt64? {
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard !words.isEmpty else { return nil }
        switch words.joined(separator: " ") {
        case "now": return now
        case "today": return midnight(now, plusDays: 0)
        case "yesterday": return midnight(now, plusDays: -1)
        case "tomorrow": return midnight(now, plusDays: 1)
        default: break
        }
        if words.count == 1, words[0].hasPrefix("@") {
            return epoch(words[0].dropFirst())
        }
        // Relative: `-SPAN`, `+SPAN`, `SPAN ago`.
        if words.last == "ago" {
            guard let span = span(words.dropLast().joined(separator: " ")) else { return nil }
            return now >= span ? now - span : 0
        }
        let joined = words.joined(separator: " ")
        if joined.hasPrefix("-") || joined.hasPrefix("+") {
            guard let span = span(String(joined.dropFirst())) else { return nil }
            if joined.hasPrefix("-") { return now >= span ? now - span : 0 }
            return now.addingReportingOverflow(span).overflow ? nil : now + span
        }
        // Absolute: [DATE] [TIME] [UTC].
        var utc = false
        if words.last == "UTC" {
            utc = true
            words.removeLast()
        }
        guard (1...2).contains(words.count) else { return nil }
        var date: (year: Int32, month: Int32, day: Int32)?
        var time: (hour: Int32, minute: Int32, second: Int32) = (0, 0, 0)
        if let d = parseDate(words[0]) {
            date = d
            if words.count == 2 {
                guard let t = parseTime(words[1]) else { return nil }
                time = t
            }
        } else {
            guard words.count == 1, let t = parseTime(words[0]) else { return nil }
            time = t
        }
        var fields = tm()
        if let date {
            fields.tm_year = date.year - 1900
            fields.tm_mon = date.month - 1
            fields.tm_mday = date.day
        } else {
            // A time alone is today's, in the zone it is read in.
            var seconds = time_t(now / 1_000_000)
            var today = tm()
            if utc { gmtime_r(&seconds, &today) } else { localtime_r(&seconds, &today) }
            fields.tm_year = today.tm_year
            fields.tm_mon = today.tm_mon
            fields.tm_mday = today.tm_mday
        }
        fields.tm_hour = time.hour
        fields.tm_min = time.minute
        fields.tm_sec = time.second
        fields.tm_isdst = -1
        let seconds = utc ? timegm(&fields) : mktime(&fields)
        guard seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000
    }

    /// 00:00:00 local time of today plus `days`.
    private static func midnight(_ now: UInt64, plusDays days: Int32) -> UInt64? {
        var seconds = time_t(now / 1_000_000)
        var fields = tm()
        localtime_r(&seconds, &fields)
        fields.tm_hour = 0
        fields.tm_min = 0
        fields.tm_sec = 0
        fields.tm_mday += days   // mktime normalizes the 0th or 32nd of a month
        fields.tm_isdst = -1
        let result = mktime(&fields)
        return result >= 0 ? UInt64(result) * 1_000_000 : nil
    }

    /// `SECONDS[.FRACTION]` after `@`.
    private static func epoch(_ text: Substring) -> UInt64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = UInt64(parts[0]), whole < UInt64.max / 1_000_000 else { return nil }
        var micro: UInt64 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(6)
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit), let value = UInt64(digits) else { return nil }
            micro = value * UInt64(pow(10, Double(6 - digits.count)))
        }
        return whole * 1_000_000 + micro
    }

    /// A span of systemd.time(7) (`5min`, `1h 30min`, `5 min`), but not `infinity`.
    private static func span(_ text: String) -> UInt64? {
        guard let span = TimeSpan(parsing: text), span != .infinity else { return nil }
        return span.microseconds
    }

    private static func parseDate(_ text: String) -> (year: Int32, month: Int32, day: Int32)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
            let year = Int32(parts[0]), let month = Int32(parts[1]), let day = Int32(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return (year, month, day)
    }

    private static func parseTime(_ text: String) -> (hour: Int32, minute: Int32, second: Int32)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.count <= 2 && $0.allSatisfy(\.isASCIIDigit) }),
            let hour = Int32(parts[0]), let minute = Int32(parts[1]), hour < 24, minute < 60
        else { return nil }
        let second = parts.count == 3 ? Int32(parts[2])! : 0
        guard second < 60 else { return nil }
        return (hour, minute, second)
    }
}
