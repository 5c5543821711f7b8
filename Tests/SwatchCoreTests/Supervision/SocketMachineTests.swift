import Testing
@testable import SwatchCore

private func at(_ seconds: Double) -> Instant { Instant(microseconds: UInt64(seconds * 1_000_000)) }

@Suite struct SocketMachineTests {
    func socket(burst: Int = 3, accept: Bool = false) -> SocketMachine {
        var unit = SocketUnit(name: UnitName(prefix: "dns", type: .socket), path: "dns.socket")
        unit.triggerLimitBurst = burst
        unit.triggerLimitInterval = .seconds(2)
        unit.accept = accept
        return SocketMachine(unit: unit)
    }

    @Test func triggersUntilTheLimitThenThrottlesWithGrowingBackoff() {
        var s = socket()
        for i in 0..<3 {
            #expect(s.readable(now: at(Double(i) * 0.1)).0 == .trigger)
            s.serviceDeactivated()
        }
        #expect(s.readable(now: at(0.4)).0 == .throttle(.seconds(1)))
        #expect(!s.watching)
        #expect(s.deadline == at(1.4))
        _ = s.timerFired(now: at(1.4), serviceInactive: true)
        #expect(s.watching)
        // The storm goes on: the next throttle is twice as long.
        for i in 0..<3 { _ = s.readable(now: at(1.5 + Double(i) * 0.1)); s.serviceDeactivated() }
        #expect(s.readable(now: at(1.9)).0 == .throttle(.seconds(2)))
    }

    @Test func backoffIsCappedAndResetsAfterAQuietWindow() {
        var s = socket(burst: 1)
        var now = 0.0
        var last = TimeSpan.zero
        for _ in 0..<10 {
            _ = s.readable(now: at(now)); s.serviceDeactivated()
            if case (.throttle(let span), _) = s.readable(now: at(now + 0.01)) { last = span }
            now = Double(s.deadline!.microseconds) / 1e6
            _ = s.timerFired(now: at(now), serviceInactive: true)
        }
        #expect(last == SocketMachine.maxBackoff)
        // One trigger per window for a while: the storm is over.
        _ = s.readable(now: at(now + 10)); s.serviceDeactivated()
        _ = s.readable(now: at(now + 20)); s.serviceDeactivated()
        #expect(s.readable(now: at(now + 20.1)).0 == .throttle(SocketMachine.firstBackoff))
    }

    @Test func flushPendingFlushesOnlyWhenTheServiceRanAndNeverWithAccept() {
        func machine(accept: Bool) -> SocketMachine {
            var unit = SocketUnit(name: UnitName(prefix: "dns", type: .socket), path: "dns.socket")
            unit.flushPending = true
            unit.accept = accept
            return SocketMachine(unit: unit)
        }
        var s = machine(accept: false)
        #expect(s.serviceDeactivated() == [], "still listening: nothing ran")
        _ = s.readable(now: at(0))
        #expect(s.serviceDeactivated() == [.flush])
        #expect(s.watching)
        var a = machine(accept: true)
        _ = a.readable(now: at(0))
        #expect(a.serviceDeactivated() == [])
    }

    @Test func notWatchedWhileItsServiceRunsExceptWithAccept() {
        var s = socket()
        _ = s.readable(now: at(0))
        #expect(!s.watching)
        var a = socket(accept: true)
        _ = a.readable(now: at(0))
        #expect(a.watching)
    }
}
