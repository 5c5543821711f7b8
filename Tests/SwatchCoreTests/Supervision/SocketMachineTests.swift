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

    /// PollLimitIntervalSec=/PollLimitBurst=, per listener: the event over the burst is not acted
    /// on, and that listener is not watched until the interval that began with its first event
    /// ends, while the others go on; then a new interval begins. It comes before the trigger
    /// limit and does not count against it.
    @Test func thePollLimitPausesAListenerUntilItsIntervalEnds() {
        var unit = SocketUnit(name: UnitName(prefix: "echo", type: .socket), path: "echo.socket")
        unit.accept = true
        unit.listens = [ListenDirective(kind: .stream, address: .port(7)), ListenDirective(kind: .stream, address: .port(8))]
        unit.pollLimitBurst = 3
        unit.pollLimitInterval = .seconds(2)
        unit.triggerLimitBurst = 5
        var s = SocketMachine(unit: unit)
        for i in 0..<3 { #expect(s.readable(now: at(0.5 + Double(i) * 0.1)).0 == .trigger) }
        let (decision, actions) = s.readable(now: at(0.8))
        #expect(decision == .pause(until: at(2.5)))
        #expect(actions == [.pauseListener(0), .log(.info, "echo.socket: Poll limit hit (3 in 2s) on [::]:7, not watching it for 1s 700ms.")])
        #expect(s.watching, "the unit's other listeners are")
        #expect(s.pausedListeners == [0: at(2.5)])
        #expect(s.deadline == at(2.5))
        #expect(s.readable(now: at(1)).0 == .ignore, "an event the paused listener still had")
        #expect(s.readable(now: at(1.1), listener: 1).0 == .trigger, "the other listener has its own limit")
        #expect(s.timerFired(now: at(2.5), serviceInactive: true)
                == [.resumeListener(0), .log(.debug, "echo.socket: Watching [::]:7 again, its poll limit's interval is over.")])
        #expect(s.pausedListeners.isEmpty && s.deadline == nil)
        // A new interval: three more, and the trigger limit (5 in 2s) never saw the event over the poll limit.
        for i in 0..<3 { #expect(s.readable(now: at(2.5 + Double(i) * 0.1)).0 == .trigger) }
        #expect(s.readable(now: at(2.9)).0 == .pause(until: at(4.5)))
        // Closed, the listeners' pauses go with them.
        _ = s.stop(now: at(3))
        #expect(s.pausedListeners.isEmpty)
    }

    @Test func aPollLimitOfZeroIsNone() {
        for (burst, interval) in [(0, TimeSpan.seconds(2)), (3, TimeSpan.zero), (3, TimeSpan.infinity)] {
            var unit = SocketUnit(name: UnitName(prefix: "echo", type: .socket), path: "echo.socket")
            unit.accept = true
            unit.pollLimitBurst = burst
            unit.pollLimitInterval = interval
            unit.triggerLimitBurst = 0
            var s = SocketMachine(unit: unit)
            for i in 0..<50 { #expect(s.readable(now: at(Double(i) * 0.01)).0 == .trigger, "\(burst) in \(interval)") }
        }
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
