import Testing
@testable import SwatchCore

@Suite struct TimeSpanRenderingTests {
    @Test func rendersLikeSystemd() {
        #expect(TimeSpan(microseconds: 90_000_000).description == "1min 30s")
        #expect(TimeSpan.infinity.description == "infinity")
        #expect(TimeSpan.milliseconds(500).description == "500ms")
    }

    /// format_timespan(…, USEC_PER_MSEC), systemctl status's `CPU:`: below a minute the rest
    /// is decimals of the largest unit, to the millisecond; what is below that is dropped.
    @Test func rendersToAnAccuracyLikeSystemdsFormatTimespan() {
        let cases: [(UInt64, String)] = [
            (0, "0"), (999, "999us"), (12_345, "12ms"), (1_000_000, "1s"), (1_050_000, "1.050s"),
            (1_234_567, "1.234s"), (62_345_678, "1min 2.345s"), (3_600_000_005, "1h"),
        ]
        for (microseconds, text) in cases {
            #expect(TimeSpan(microseconds: microseconds).description(accuracy: .milliseconds(1)) == text, "\(microseconds)")
        }
        #expect(TimeSpan.infinity.description(accuracy: .milliseconds(1)) == "infinity")
    }
}
