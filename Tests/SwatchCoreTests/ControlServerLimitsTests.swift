import Foundation
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// The control socket's limits against clients that misbehave (swatchd(8), LIMITS): a
/// huge request, a client that never reads its big answer. Each check bounds the time one
/// call of the server takes; the bounds are loose (a loaded 2-core machine): the point is
/// that no call waits on a client.
@Suite struct ControlServerLimitsTests {
    /// A `status` answer several times the socket buffer.
    private static let bigAnswer: ControlResponse = {
        let line = String(repeating: "x", count: 1000)
        return ControlResponse(records: (0..<4000).map { ["Id": "unit\($0).service", "Line": line] })
    }()

    @Test func aClientThatNeverReadsItsBigAnswerDoesNotBlockTheServer() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { call in
            if case .listUnits = call.request { return .now(ControlResponse(result: 0)) }
            return .now(Self.bigAnswer)
        }
        let sleeper = try RawClient(path: server.path)
        defer { sleeper.close() }
        sleeper.send("status\n")
        let started = StatusFormat.monotonicNow()
        #expect(loop.run(until: { loop.writing.count == 1 }))
        #expect(StatusFormat.monotonicNow() - started < 2_000_000, "serving the sleeper returned at once")

        // Meanwhile another client is served, more than once.
        for _ in 0..<3 {
            let client = ControlClient(path: server.path)
            let answer = Background { Result { try client.send(.listUnits) } }
            #expect(loop.run(until: { answer.isDone }, seconds: 5))
            #expect(try answer.value!.get().result == 0)
        }
        #expect(loop.writing.count == 1, "the sleeper's answer still waits")

        // The sleeper wakes up and gets all of it.
        let text = Background { [sleeper] in sleeper.readAll() }
        #expect(loop.run(until: { text.isDone }))
        #expect(try ControlResponse.decode(text.value!) == Self.bigAnswer)
        #expect(server.connectionDescriptors.isEmpty && loop.writing.isEmpty)
    }

    @Test func aStalledReaderIsDroppedAtItsDeadline() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { _ in .now(Self.bigAnswer) }
        let sleeper = try RawClient(path: server.path)
        defer { sleeper.close() }
        sleeper.send("status\n")
        #expect(loop.run(until: { loop.writing.count == 1 }))
        let deadline = try #require(server.nextDeadline)
        #expect(deadline <= StatusFormat.monotonicNow() + ControlServer.stalledAnswerTimeout)
        loop.apply(server.expire(now: deadline))
        #expect(server.connectionDescriptors.isEmpty && loop.writing.isEmpty)
    }

    @Test func aDeferredBigAnswerIsSentAsTheClientReads() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        var pending: ControlServer.ConnectionID?
        let loop = ServerLoop(server: server) { call in
            pending = call.id
            return .later
        }
        let client = ControlClient(path: server.path)
        let answer = Background { Result { try client.send(.start(units: ["hello.service"])) } }
        #expect(loop.run(until: { pending != nil }))
        loop.apply(server.answer(pending!, with: Self.bigAnswer))
        #expect(loop.run(until: { answer.isDone }))
        #expect(try answer.value!.get() == Self.bigAnswer)
        #expect(loop.watched.isEmpty && loop.writing.isEmpty)
    }

    @Test func aOneMebibyteRequestGetsAnErrorAndCostsOneLineOfReading() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse()) }
        let huge = try RawClient(path: server.path)
        defer { huge.close() }
        // The client writes 1 MiB from its own thread (it blocks once the buffer is full),
        // then reads the answer.
        let text = Background { [huge] () -> String in
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024)
            var sent = 0
            while sent < 1 << 20 {
                let n = chunk.withUnsafeBytes { Glibc.send(huge.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }  // EPIPE: the server closed after its answer
                sent += n
            }
            return huge.readAll()
        }
        #expect(loop.run(until: { text.isDone }))
        #expect(text.value == "RESULT=64\nERROR=Request longer than 4096 bytes\n\n")
        #expect(loop.calls.isEmpty)
        #expect(server.connectionDescriptors.isEmpty)
    }
}

/// Supervision/NotifyRateLimit.swift with a made-up clock.
@Suite struct NotifyRateLimitTests {
    private let unit = UnitName(prefix: "flood", type: .service)
    private let other = UnitName(prefix: "quiet", type: .service)
    private func at(_ milliseconds: UInt64) -> Instant { Instant(microseconds: 1_000_000_000 + milliseconds * 1000) }

    @Test func acceptsTheBurstThenDropsLoggingOncePerBurst() {
        var limit = NotifyRateLimit(burst: 3, interval: .seconds(1))
        let verdicts = (0..<6).map { limit.admit(unit, now: at(UInt64($0))) }
        #expect(verdicts == [.accept, .accept, .accept, .dropAndLog, .drop, .drop])
        // Another unit has its own budget.
        #expect(limit.admit(other, now: at(10)) == .accept)
        // The next window: the flood goes on, accepted up to the burst, and is not logged again.
        let next = (0..<5).map { limit.admit(unit, now: at(1000 + UInt64($0))) }
        #expect(next == [.accept, .accept, .accept, .drop, .drop])
        // A window under the limit ends the burst; the next flood is logged again.
        #expect(limit.admit(unit, now: at(2000)) == .accept)
        let later = (0..<4).map { limit.admit(unit, now: at(3000 + UInt64($0))) }
        #expect(later == [.accept, .accept, .accept, .dropAndLog])
    }

    @Test func aQuietSpellEndsTheBurst() {
        var limit = NotifyRateLimit(burst: 1, interval: .seconds(1))
        #expect(limit.admit(unit, now: at(0)) == .accept)
        #expect(limit.admit(unit, now: at(1)) == .dropAndLog)
        // Nothing for ten seconds, then a new flood: a new burst, logged.
        #expect(limit.admit(unit, now: at(10_000)) == .accept)
        #expect(limit.admit(unit, now: at(10_001)) == .dropAndLog)
    }

    @Test func theDefaultsAreAThousandASecond() {
        var limit = NotifyRateLimit()
        #expect((0..<1000).allSatisfy { limit.admit(unit, now: at(UInt64($0) / 2)) == .accept })
        #expect(limit.admit(unit, now: at(999)) == .dropAndLog)
        #expect(limit.admit(unit, now: at(1000)) == .accept)
    }

    @Test func unitsThatFellSilentAreForgotten() {
        var limit = NotifyRateLimit(burst: 10, interval: .seconds(1))
        for index in 0..<(NotifyRateLimit.pruneThreshold + 100) {
            let name = UnitName(prefix: "u\(index)", type: .service)
            _ = limit.admit(name, now: at(UInt64(index) * 10))
        }
        #expect(limit.trackedUnits < NotifyRateLimit.pruneThreshold + 1)
    }
}

/// The receiver's checks of a notify datagram (Linux/NotifySocket.swift), as pure values.
@Suite struct NotifyDatagramCheckTests {
    @Test func checksInSystemdsOrder() {
        let fine = Array("READY=1".utf8)
        #expect(NotifyDatagram.dropReason(size: fine.count, text: fine, hasSender: true, truncated: false, controlTruncated: false) == nil)
        #expect(NotifyDatagram.dropReason(size: 5000, text: fine, hasSender: true, truncated: true, controlTruncated: true) == .controlTruncated)
        #expect(NotifyDatagram.dropReason(size: 5000, text: fine, hasSender: true, truncated: true, controlTruncated: false) == .tooLarge(5000))
        #expect(NotifyDatagram.dropReason(size: 4096, text: fine, hasSender: true, truncated: false, controlTruncated: false) == .tooLarge(4096))
        #expect(NotifyDatagram.dropReason(size: 7, text: fine, hasSender: false, truncated: false, controlTruncated: false) == .noCredentials)
        let nul = Array("READY=1\0X".utf8)
        #expect(NotifyDatagram.dropReason(size: nul.count, text: nul, hasSender: true, truncated: false, controlTruncated: false) == .containsNUL)
    }
}

/// Found by the control-request fuzz target (Fuzz/SwatchFuzz): a space followed by a
/// combining mark is one Character, and split by Characters the two words stayed one.
@Suite struct ControlRequestFuzzRegressionTests {
    @Test func aCombiningMarkAfterASpaceStartsTheNextWord() throws {
        let request = try ControlRequest(line: "kill a \u{064B}b")
        #expect(request == .kill(units: ["a", "\u{064B}b"], signal: 15))
        #expect(try ControlRequest(line: request.line) == request)
    }
}
