import Glibc
import Testing
@testable import SwatchCore

@Suite struct StatusFormatTests {
    @Test func relativeTimesReadLikeSystemctl() {
        let now: UInt64 = 1_800_000_000_000_000
        let second: UInt64 = 1_000_000
        func ago(_ delta: UInt64) -> String { StatusFormat.relative(now - delta, now: now) }
        #expect(ago(4 * second) == "4s ago")
        #expect(ago(90 * second) == "1min 30s ago")
        #expect(ago(7 * 60 * second) == "7min ago")
        #expect(ago(2 * 3600 * second + 5 * 60 * second) == "2h 5min ago")
        #expect(ago(7 * 3600 * second) == "7h ago")
        #expect(ago(26 * 3600 * second) == "1 day 2h ago")
        #expect(ago(3 * 86400 * second) == "3 days ago")
        #expect(ago(8 * 86400 * second) == "1 week 1 day ago")
        #expect(ago(1500) == "1ms ago")
        #expect(ago(0) == "now")
        #expect(StatusFormat.relative(now + 5 * second, now: now) == "5s left")
    }

    @Test func bytesReadLikeSystemctl() {
        #expect(StatusFormat.bytes(800) == "800B")
        #expect(StatusFormat.bytes(1024) == "1.0K")
        #expect(StatusFormat.bytes(1_300_000) == "1.2M")
        #expect(StatusFormat.bytes(1_258_291) == "1.1M", "truncated, not rounded")
        #expect(StatusFormat.bytes(3 << 30) == "3.0G")
    }

    /// systemctl status's `Tasks: 3 (limit: 50)` and `Memory: 1.2M (max: 64.0M)`; no limit, no parentheses.
    @Test func tasksAndMemoryShowTheirLimitLikeSystemctl() {
        #expect(StatusFormat.tasks(3, limit: 50) == "3 (limit: 50)")
        #expect(StatusFormat.tasks(3, limit: nil) == "3")
        #expect(StatusFormat.memory(1_300_000, max: 64 << 20) == "1.2M (max: 64.0M)")
        #expect(StatusFormat.memory(1_300_000, max: nil) == "1.2M")
    }

    @Test func endedProcessesReadLikeSystemctl() {
        #expect(StatusFormat.processExit(code: 1, status: 1) == "code=exited, status=1/FAILURE")
        #expect(StatusFormat.processExit(code: 1, status: 203) == "code=exited, status=203/EXEC")
        #expect(StatusFormat.processExit(code: 1, status: 42) == "code=exited, status=42")
        #expect(StatusFormat.processExit(code: 2, status: 15) == "code=killed, signal=TERM")
        #expect(StatusFormat.processExit(code: 3, status: 6) == "code=dumped, signal=ABRT")
    }

    @Test func timestampsNameTheDayAndZone() {
        ProcessTimeZone.with("UTC") {
            // 2026-11-26 16:20:01 UTC, a Thursday.
            #expect(StatusFormat.timestamp(1_795_710_001_000_000) == "Thu 2026-11-26 16:20:01 UTC")
            #expect(StatusFormat.journalTimestamp(1_795_710_001_000_000) == "Nov 26 16:20:01")
        }
    }
}
