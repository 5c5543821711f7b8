import SystemPackage
import Testing
@testable import SwatchCore

/// The loop's idle work (`EventLoop.whenIdle`): what start-up leaves for later waits until
/// the loop has been quiet, so the first connections after start-up come first.
@Suite struct EventLoopTests {
    @Test(.timeLimit(.minutes(1)))
    func idleWorkWaitsForAQuietLoopThenRunsItsPiecesInTurn() throws {
        let loop = try EventLoop()
        let (read, write) = try FileDescriptor.closeOnExecPipe()
        defer { try? read.close(); try? write.close() }
        let clock = ContinuousClock()
        var events = 0
        var lastEvent = clock.now
        _ = try loop.watch(read) {
            var byte: UInt8 = 0
            _ = try? withUnsafeMutableBytes(of: &byte) { try read.read(into: $0) }
            events += 1
            lastEvent = clock.now
        }
        var ran: [(piece: Int, at: ContinuousClock.Instant, events: Int)] = []
        loop.whenIdle { ran.append((1, clock.now, events)) }
        loop.whenIdle {
            ran.append((2, clock.now, events))
            loop.stop()
        }
        _ = try write.writeAll([1])
        try loop.run()
        #expect(ran.map(\.piece) == [1, 2])
        #expect(ran.allSatisfy { $0.events == 1 }, "the waiting event is handled first")
        let quiet = Duration.milliseconds(Int(loop.quietBeforeIdleWork))
        #expect(ran[0].at - lastEvent >= quiet / 2, "the first piece waited for a quiet loop, not for the next turn")
    }
}
