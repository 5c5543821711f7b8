// Time spans as systemd.time(7) writes them and src/basic/time-util.c
// (parse_time()) reads them: numbers with an optional fraction and a unit,
// summed, spaces optional (`1min 30s`, `55s500ms`, `1.5h`), or `infinity`.

extension TimeSpan {
    /// The units of systemd.time(7) in systemd's matching order: a longer
    /// spelling is tried before its prefix (`ms` before `m`, `months` before `m`).
    private static let units: [(String, UInt64)] = [
        ("seconds", 1_000_000), ("second", 1_000_000), ("sec", 1_000_000), ("s", 1_000_000),
        ("minutes", 60_000_000), ("minute", 60_000_000), ("min", 60_000_000),
        ("months", 2_629_800_000_000), ("month", 2_629_800_000_000), ("M", 2_629_800_000_000),
        ("msec", 1_000), ("ms", 1_000),
        ("m", 60_000_000),
        ("hours", 3_600_000_000), ("hour", 3_600_000_000), ("hr", 3_600_000_000), ("h", 3_600_000_000),
        ("days", 86_400_000_000), ("day", 86_400_000_000), ("d", 86_400_000_000),
        ("weeks", 604_800_000_000), ("week", 604_800_000_000), ("w", 604_800_000_000),
        ("years", 31_557_600_000_000), ("year", 31_557_600_000_000), ("y", 31_557_600_000_000),
        ("usec", 1), ("us", 1), ("\u{3BC}s", 1), ("\u{B5}s", 1),
    ]

    /// Parses a time span; a number without unit counts in `defaultUnit` microseconds
    /// (seconds for almost every key; LimitRTTIME= counts in microseconds).
    package init?(parsing text: String, defaultUnit: UInt64 = 1_000_000) {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "infinity" {
            self = .infinity
            return
        }
        var rest = Substring(trimmed)
        guard !rest.isEmpty else { return nil }
        var total: UInt64 = 0
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            if rest.isEmpty { break }
            guard let (wholeValue, fraction) = rest.removeDecimalPrefix() else { return nil }
            rest = rest.drop(while: { $0 == " " || $0 == "\t" })
            var multiplier = defaultUnit
            if let (suffix, size) = Self.units.first(where: { rest.hasPrefix($0.0) }) {
                multiplier = size
                rest = rest.dropFirst(suffix.count)
            } else if let next = rest.first, !next.isASCIIDigit {
                return nil   // an unknown unit
            }
            let (product, overflow) = wholeValue.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { return nil }
            var part = product
            // The fraction, digit by digit, as parse_time() does: 1.5h is 1h 30min.
            var scale = multiplier
            for digit in fraction {
                scale /= 10
                let (next, overflow) = part.addingReportingOverflow(UInt64(digit.wholeNumberValue!) * scale)
                guard !overflow else { return nil }
                part = next
            }
            let (sum, sumOverflow) = total.addingReportingOverflow(part)
            guard !sumOverflow, sum != .max else { return nil }
            total = sum
        }
        self.init(microseconds: total)
    }
}
