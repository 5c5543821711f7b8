import Testing
@testable import SwatchCore

@Suite struct UnitLogBufferTests {
    @Test func keepsTheLastLinesOfEachUnitOldestFirst() {
        let log = UnitLogBuffer(capacityPerUnit: 3)
        for i in 1...5 { log.append(unit: "a.service", message: "a\(i)", identifier: "a.service", pid: 1) }
        log.append(unit: "b.service", message: "b1", identifier: "b.service", pid: 2)
        #expect(log.entries(unit: "a.service", last: 10).map(\.message) == ["a3", "a4", "a5"])
        #expect(log.entries(unit: "a.service", last: 2).map(\.message) == ["a4", "a5"])
        #expect(log.entries(unit: "a.service", last: 0).isEmpty)
        #expect(log.entries(unit: "b.service", last: 10).map(\.message) == ["b1"])
        #expect(log.entries(unit: "c.service", last: 10).isEmpty)
    }

    @Test func sequencesLetAFollowerAskForWhatIsNew() {
        let log = UnitLogBuffer()
        log.append(unit: "a.service", message: "old", identifier: "a.service", pid: 1)
        let mark = log.lastSequence
        log.append(unit: "b.service", message: "other", identifier: "b.service", pid: 2)
        log.append(unit: "a.service", message: "new", identifier: "a.service", pid: 1)
        #expect(log.entries(units: ["a.service"], after: mark).map(\.message) == ["new"])
        #expect(log.entries(units: ["a.service"], after: log.lastSequence).isEmpty)
        #expect(log.lastSequence == 3)
    }

    @Test func severalUnitsInterleaveInTheOrderTheirLinesCame() {
        let log = UnitLogBuffer()
        for (unit, message) in [("a", "a1"), ("b", "b1"), ("c", "c1"), ("a", "a2"), ("b", "b2")] {
            log.append(unit: unit + ".service", message: message, identifier: unit, pid: 1)
        }
        #expect(log.entries(units: ["b.service", "a.service"], last: 10).map(\.message) == ["a1", "b1", "a2", "b2"])
        #expect(log.entries(units: ["b.service", "a.service"], last: 3).map(\.message) == ["b1", "a2", "b2"])
        #expect(log.entries(units: ["a.service", "a.service", "gone.service"], last: 10).map(\.message) == ["a1", "a2"])
        #expect(log.entries(units: [], last: 10).map(\.message) == ["a1", "b1", "c1", "a2", "b2"])
        #expect(log.entries(units: ["c.service", "b.service"], after: 2).map(\.message) == ["c1", "b2"])
    }

    @Test func removingAUnitForgetsItsLines() {
        let log = UnitLogBuffer()
        log.append(unit: "a.service", message: "x", identifier: "a.service", pid: 1)
        log.removeUnit("a.service")
        #expect(log.entries(unit: "a.service", last: 10).isEmpty)
    }

    @Test func entriesRoundTripThroughLogsRecordsAndRenderLikeJournalctl() throws {
        let entry = UnitLogEntry(
            unit: "hello.service", realtime: 1_795_000_000_123_456, pid: 4242, identifier: "hello.service",
            priority: 3, message: "a = b\nc")
        #expect(try UnitLogEntry(record: entry.toRecord()) == entry)
        let line = entry.journalLine
        #expect(line.hasSuffix(" hello.service[4242]: a = b\nc"))
        #expect(line.split(separator: " ").first?.count == 3, "starts with the month, as journalctl's short format")
    }

    @Test func memoryIsBoundedByUnitsAndMessageLength() {
        let buffer = UnitLogBuffer(capacityPerUnit: 3, capacityOfUnits: 2)
        buffer.append(unit: "a@1.service", message: "first", identifier: "a", pid: 1)
        buffer.append(unit: "b.service", message: "b", identifier: "b", pid: 2)
        buffer.append(unit: "a@1.service", message: "again", identifier: "a", pid: 1)
        // A third unit: the one written to longest ago (b) goes.
        buffer.append(unit: "a@2.service", message: "new", identifier: "a", pid: 3)
        #expect(buffer.entries(unit: "b.service", last: 10).isEmpty)
        #expect(buffer.entries(unit: "a@1.service", last: 10).map(\.message) == ["first", "again"])
        let long = String(repeating: "x", count: 100_000)
        let stored = buffer.append(unit: "a@2.service", message: long, identifier: "a", pid: 3)
        #expect(stored.message.utf8.count <= UnitLogBuffer.maximumMessageBytes + 3)
        #expect(stored.message.hasSuffix("…"))
    }

    /// Thousands of Accept=yes instances come and go (a unit each): the one written to
    /// longest ago is the one that goes each time, and a unit that keeps writing stays.
    @Test func manyShortLivedUnitsEvictTheStalestEachTime() {
        let buffer = UnitLogBuffer(capacityPerUnit: 2, capacityOfUnits: 3)
        for number in 0..<5000 {
            buffer.append(unit: "echo@\(number).service", message: "Started.", identifier: "swatchd", pid: 1)
            if number % 2 == 0 { buffer.append(unit: "web.service", message: "\(number)", identifier: "web", pid: 2) }
        }
        #expect(buffer.entries(unit: "web.service", last: 1).map(\.message) == ["4998"])
        #expect(buffer.entries(unit: "echo@4999.service", last: 1).count == 1)
        #expect(buffer.entries(unit: "echo@4998.service", last: 1).count == 1)
        #expect(buffer.entries(unit: "echo@4997.service", last: 1).isEmpty)
        #expect(Set(buffer.entries(unit: nil, last: 100).map(\.unit)).count == 3)
    }
}
