// Time spans as systemd.time(7) writes them and src/basic/time-util.c
// (parse_time()) reads them: numbers with an optional fraction and a unit,
// summed, spaces optional (`1min 30s`, `55s500ms`, `1.5h`), or `infinity`.

extension TimeSpan {
    /// The units of systemd.time(7) in systemd's matching order: a longer
    /// spelling is tried before its prefix (`ms` before `m`, `months` before `m`).
    private static let units: [(StaticString, UInt64)] = [
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
        var text = text
        guard let span = text.withUTF8({ Self.parse($0, defaultUnit: defaultUnit) }) else { return nil }
        self = span
    }

    /// parse_time() reads bytes, and so does this: the units tried as Characters,
    /// each a `hasPrefix` of a Substring, cost ~14,000 instructions a `WatchdogSec=1min`
    /// (docs/HACKING.md "Start-up with 1000 units", "Units as people write them").
    private static func parse(_ text: UnsafeBufferPointer<UInt8>, defaultUnit: UInt64) -> TimeSpan? {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func digit(_ byte: UInt8) -> UInt64? {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? UInt64(byte - UInt8(ascii: "0")) : nil
        }
        let trimmed = trimmedRange(text)
        var at = trimmed.lowerBound
        let end = trimmed.upperBound
        guard at < end else { return nil }
        if text[at..<end].elementsEqual("infinity".utf8) { return .infinity }
        var total: UInt64 = 0
        while true {
            while at < end, isBlank(text[at]) { at += 1 }
            if at == end { break }
            guard let (whole, fraction) = decimalPrefix(text, at: &at, end: end) else { return nil }
            while at < end, isBlank(text[at]) { at += 1 }
            var multiplier = defaultUnit
            let rest = text[at..<end]
            if let (unit, size) = units.first(where: { rest.starts(with: UnsafeBufferPointer(start: $0.0.utf8Start, count: $0.0.utf8CodeUnitCount)) }) {
                multiplier = size
                at += unit.utf8CodeUnitCount
            } else if at < end, digit(text[at]) == nil {
                return nil   // an unknown unit
            }
            let (product, overflow) = whole.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { return nil }
            var part = product
            // The fraction, digit by digit, as parse_time() does: 1.5h is 1h 30min.
            var scale = multiplier
            for index in fraction {
                scale /= 10
                let (next, overflow) = part.addingReportingOverflow(digit(text[index])! * scale)
                guard !overflow else { return nil }
                part = next
            }
            let (sum, sumOverflow) = total.addingReportingOverflow(part)
            guard !sumOverflow, sum != .max else { return nil }
            total = sum
        }
        return TimeSpan(microseconds: total)
    }
}
