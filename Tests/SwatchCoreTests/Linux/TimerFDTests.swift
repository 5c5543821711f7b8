import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

@Suite struct TimerFDTests {
    @Test func firesAtAnAbsoluteMonotonicDeadline() throws {
        let timer = try TimerFD()
        let epoll = try Epoll()
        _ = try epoll.add(timer.fd, events: .readable, token: 9)
        let armedAt = MonotonicClock.now()
        try timer.arm(at: armedAt + 2_000)
        #expect(timer.isArmed)
        let events = try epoll.wait(timeout: 10_000)
        #expect(events.map(\.token) == [9])
        #expect(MonotonicClock.now() >= armedAt + 2_000)
        #expect(try timer.read() >= 1)
        #expect(timer.deadline == nil)
        #expect(try epoll.wait(timeout: 0).isEmpty)  // read() cleared it
        #expect(try timer.read() == 0)
    }

    @Test func aDeadlineInThePastFiresAtOnce() throws {
        let timer = try TimerFD()
        let epoll = try Epoll()
        _ = try epoll.add(timer.fd, events: .readable, token: 1)
        try timer.arm(at: 0)
        #expect(try epoll.wait(timeout: 10_000).count == 1)
    }

    @Test func disarmStopsIt() throws {
        let timer = try TimerFD()
        try timer.arm(at: MonotonicClock.now() + 3_600_000_000)
        #expect(timer.isArmed)
        try timer.disarm()
        #expect(!timer.isArmed)
        #expect(timer.deadline == nil)
        #expect(LinuxTestSupport.isCloseOnExec(timer.fd))
        #expect(LinuxTestSupport.isNonBlocking(timer.fd))
    }

    @Test func monotonicClockCountsMicroseconds() {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let now = MonotonicClock.now()
        let reference = UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
        #expect(now >= reference && now - reference < 1_000_000)
    }
}
