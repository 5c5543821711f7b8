import Testing
@testable import SwatchCore

/// systemd.time(7) time spans.
@Suite struct TimeSpanParsingTests {
    @Test(arguments: [
        ("5", 5_000_000), ("500ms", 500_000), ("1min 30s", 90_000_000), ("55s500ms", 55_500_000),
        ("1h 30min", 5_400_000_000), ("1h30min", 5_400_000_000), ("2 h", 7_200_000_000), ("1.5h", 5_400_000_000),
        ("0.5s", 500_000), ("10us", 10), ("10usec", 10), ("10µs", 10), ("3msec", 3_000), ("2m", 120_000_000),
        ("1M", 2_629_800_000_000), ("2months", 5_259_600_000_000), ("1y", 31_557_600_000_000),
        ("1w 1d", 691_200_000_000), ("3 days", 259_200_000_000), ("2 weeks", 1_209_600_000_000),
        ("1hr", 3_600_000_000), ("4 hours", 14_400_000_000), ("1 second", 1_000_000), ("7sec", 7_000_000),
        ("1 minute", 60_000_000), ("0", 0), (".5s", 500_000), ("5.s", 5_000_000), ("1.25 min", 75_000_000),
        ("\t5s\n", 5_000_000), ("2\u{B5}s", 2), ("1min30", 90_000_000),
    ] as [(String, UInt64)])
    func parsesEverySpelling(text: String, microseconds: UInt64) {
        #expect(TimeSpan(parsing: text)?.microseconds == microseconds)
    }

    @Test func parsesInfinity() {
        #expect(TimeSpan(parsing: "infinity") == .infinity)
        #expect(TimeSpan(parsing: " infinity ") == .infinity)
    }

    @Test(arguments: ["", "5 parsecs", "-5s", "s", "1.2.3s", "infinite", "5sx", "99999999999999999999y", "1min x",
                      ".", "1\ns", "+5s", "5 s\u{301}", "18446744073709551616", "infinity 5s"])
    func rejectsWhatSystemdRejects(text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test func countsInTheDefaultUnitWithoutSuffix() {
        #expect(TimeSpan(parsing: "250", defaultUnit: 1)?.microseconds == 250)
    }
}
