import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// A pipe standing in for swatchd's stderr, read back by the test.
struct StderrPipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() {
        let pipe = try! FileDescriptor.closeOnExecPipe()
        readEnd = pipe.readEnd.rawValue
        writeEnd = pipe.writeEnd.rawValue
        _ = fcntl(readEnd, F_SETFL, O_NONBLOCK)
    }

    func drain() -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(readEnd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func close() {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }
}

extension OutputCapture {
    /// Reads until the pipe ends, waiting in poll(2) up to `seconds`. The end is not immediate
    /// even once every copy of the write end is closed here: the tests run in parallel, and a
    /// child another test is spawning holds a CLOEXEC copy from its clone until its execve.
    func readToEnd(within seconds: Int32 = 5) -> [String] {
        var lines: [String] = []
        let deadline = StatusFormat.monotonicNow() + UInt64(seconds) * 1_000_000
        while !isAtEnd && StatusFormat.monotonicNow() < deadline {
            var poller = pollfd(fd: readEnd.rawValue, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 100)
            lines += readAvailable()
        }
        return lines
    }
}

@Suite struct OutputCaptureTests {
    private func write(_ capture: OutputCapture, _ text: String) {
        let fd = capture.writeEnd!.rawValue
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    /// A journal socket with a small send buffer: a few entries in flight fill it (the
    /// kernel's floor is ~4.5 KiB).
    private func smallSocket(to journal: FakeJournal) throws -> JournalSocket {
        let socket = try JournalSocket(path: journal.path)
        var size: Int32 = 1
        setsockopt(socket.fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return socket
    }

    @Test func completeLinesAreSplitAndAPartialLineWaits() throws {
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "hello.service", destination: .none, unitLog: log)
        capture.pid = 4242
        write(capture, "first\nsecond\nhalf a ")
        #expect(capture.readAvailable() == ["first", "second"])
        #expect(capture.readAvailable() == [], "nothing new, and the read does not block")
        write(capture, "line\n")
        #expect(capture.readAvailable() == ["half a line"])
        #expect(log.entries(unit: "hello.service", last: 10).map(\.message) == ["first", "second", "half a line"])
        #expect(log.entries(unit: "hello.service", last: 1)[0].pid == 4242)
        #expect(!capture.isAtEnd)
    }

    @Test func levelPrefixesAreStrippedAndKept() throws {
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "hello.service", destination: .none, unitLog: log)
        write(capture, "<3>disk full\n<7>debug detail\nplain\n<x>not a prefix\n<30>daemon facility\n")
        #expect(capture.readAvailable() == ["disk full", "debug detail", "plain", "<x>not a prefix", "<30>daemon facility"])
        #expect(log.entries(unit: "hello.service", last: 10).map(\.priority) == [3, 7, 6, 6, 6])
    }

    /// SyslogLevel= levels the lines without a prefix, SyslogLevelPrefix=no reads none, and
    /// LogLevelMax= keeps a line above it out of the buffer and every destination.
    @Test func theUnitsLevelsApply() throws {
        let log = UnitLogBuffer(), stderr = StderrPipe()
        defer { stderr.close() }
        var levels = OutputCapture.Levels()
        (levels.priority, levels.maximum) = (4, 5)
        let capture = try OutputCapture(unit: "hello.service", destination: .stderr, levels: levels, unitLog: log,
                                        stderr: stderr.writeEnd)
        write(capture, "<3>disk full\n<7>debug detail\nplain\n<6>info\n<5>notice\n")
        #expect(capture.readAvailable() == ["disk full", "plain", "notice"])
        #expect(log.entries(unit: "hello.service", last: 10).map(\.priority) == [3, 4, 5])
        #expect(stderr.drain().split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
            == ["disk full", "plain", "notice"])
        levels = OutputCapture.Levels()
        levels.prefix = false
        let literal = try OutputCapture(unit: "raw.service", destination: .none, levels: levels, unitLog: log)
        write(literal, "<3>kept as written\n")
        #expect(literal.readAvailable() == ["<3>kept as written"])
        #expect(log.entries(unit: "raw.service", last: 1).map(\.priority) == [6])
    }

    /// Each line is one journal entry with the fields systemd's stream gives a service's line,
    /// the level of its `<N>` prefix or SyslogLevel=, the facility of SyslogFacility=, the
    /// main pid, and the unit where `journalctl -u` finds it.
    @Test func eachLineIsAJournalEntryOfItsUnit() throws {
        let journal = try FakeJournal()
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            SyslogFacility=local3
            SyslogLevel=warning
            LogExtraFields=GONE=1
            LogExtraFields=
            LogExtraFields=TEAM=web "NOTE=two words"
            LogExtraFields=STAGE=%N
            """)], context: UnitSetTests.context, checkExecutables: false)
        let unit = try #require(set.services.values.first)
        #expect(unit.logExtraFields == ["TEAM=web", "NOTE=two words", "STAGE=a"])
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "hello.service", destination: .journal(identifier: "hello"), levels: unit.outputLevels,
                                        extraFields: unit.logExtraFields, unitLog: log, journal: try JournalSocket(path: journal.path))
        capture.pid = 4242
        write(capture, "<3>disk full\nplain\n")
        #expect(capture.readAvailable() == ["disk full", "plain"])
        let unitField = geteuid() == 0 ? "OBJECT_SYSTEMD_UNIT" : "USER_UNIT"
        for (message, priority) in [("disk full", "3"), ("plain", "4")] {
            let fields = try #require(journal.receive())
            let byName = Dictionary(fields, uniquingKeysWith: { first, _ in first })
            #expect(fields.count == byName.count, "each field once: \(fields)")
            #expect(byName == ["MESSAGE": message, "PRIORITY": priority, "SYSLOG_FACILITY": "19", "SYSLOG_IDENTIFIER": "hello",
                               "SYSLOG_PID": "4242", unitField: "hello.service",
                               "TEAM": "web", "NOTE": "two words", "STAGE": "a"])
        }
        #expect(log.entries(unit: "hello.service", last: 10).map(\.message) == ["disk full", "plain"])

        let bad = UnitSet.parse([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nSyslogFacility=local9\n")],
                                context: UnitSetTests.context, checkExecutables: false)
        #expect(bad.services.isEmpty)
        #expect(bad.diagnostics.map(\.description) == ["u/b.service:3: Failed to parse log facility for SyslogFacility=, refusing the unit: local9"])
    }

    /// LogExtraFields= takes journal field names only, as journald does (upper case, digits,
    /// `_`, not first): anything else refuses the unit at its line. A socket unit takes it
    /// too, as it takes the other keys of systemd.exec(5).
    @Test func logExtraFieldsTakesJournalFieldNamesOnly() {
        for (value, problem) in [("team=web", "Log field name is invalid"), ("_PID=1", "Log field name is invalid"),
                                 ("1ST=x", "Log field name is invalid"), ("NOEQUALS", "Log field lacks '=' character")] {
            let set = UnitSet.parse([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nLogExtraFields=OK=1 \(value)\n")],
                                    context: UnitSetTests.context, checkExecutables: false)
            #expect(set.services.isEmpty, "\(value)")
            #expect(set.diagnostics.map(\.description) == ["u/b.service:3: \(problem) in LogExtraFields=, refusing the unit: \(value)"])
        }
        #expect(ValueParser.isJournalFieldName(String(repeating: "A", count: 64)))
        #expect(!ValueParser.isJournalFieldName(String(repeating: "A", count: 65)))
        let socket = UnitSet.parse([UnitSource(path: "u/c.socket", text: "[Socket]\nListenStream=8080\nLogExtraFields=A=1\n"),
                                    UnitSource(path: "u/c.service", text: "[Service]\nExecStart=/bin/true\n")],
                                   context: UnitSetTests.context, checkExecutables: false)
        #expect(socket.sockets.count == 1)
        #expect(socket.diagnostics.isEmpty, "\(socket.diagnostics)")
    }

    /// A journal with no room stops the capture, which reads no more of the pipe (so the
    /// service's writes block on it) until the journal's socket is writable and `resume()`
    /// forwards the rest: every line arrives, in order, in the journal and in the buffer.
    @Test func aFullJournalPausesTheCaptureAndLosesNoLine() throws {
        let journal = try FakeJournal()
        let socket = try smallSocket(to: journal)
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "chatty.service", destination: .journal(identifier: "chatty"), unitLog: log,
                                        journal: socket)
        let sent = (1...200).map { "line \($0) " + String(repeating: "x", count: 80) }
        write(capture, sent.joined(separator: "\n") + "\n")
        capture.closeWriteEnd()

        var forwarded = capture.readAvailable()
        #expect(capture.isWaitingForJournal, "200 entries of ~130 bytes do not fit")
        #expect(forwarded.count < sent.count)
        #expect(capture.readAvailable() == [], "nothing more while waiting")
        #expect(!capture.isAtEnd, "the pipe ended, but not every line went on")
        var received: [String] = []
        let deadline = StatusFormat.monotonicNow() + 5_000_000
        var pauses = 1
        while !capture.isAtEnd && StatusFormat.monotonicNow() < deadline {
            // The test's journald reads what is queued, then the socket is writable again.
            while received.count < forwarded.count, let fields = journal.receive() {
                received += fields.filter { $0.0 == "MESSAGE" }.map(\.1)
            }
            var poller = pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0)
            #expect(poll(&poller, 1, 1000) == 1)
            forwarded += capture.resume()
            if capture.isWaitingForJournal { pauses += 1 }
        }
        while received.count < forwarded.count, let fields = journal.receive() {
            received += fields.filter { $0.0 == "MESSAGE" }.map(\.1)
        }
        #expect(capture.isAtEnd)
        #expect(pauses > 1, "the queue filled more than once")
        #expect(forwarded == sent)
        #expect(received == sent)
        #expect(log.entries(unit: "chatty.service", last: 300).map(\.message) == sent)
    }

    /// At swatchd's exit, `drain()` forwards what a capture waiting for a full journal holds and
    /// what its pipe still has: each line waits for room, and once journald has taken nothing
    /// within the bound, that line and the rest go to stderr, in order, without a wait each.
    @Test func drainingAtExitLosesNoLineWhenTheJournalStaysFull() throws {
        let journal = try FakeJournal()
        let socket = try smallSocket(to: journal)
        let stderr = StderrPipe()
        defer { stderr.close() }
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "chatty.service", destination: .journal(identifier: "chatty"), unitLog: log,
                                        journal: socket, stderr: stderr.writeEnd)
        capture.pid = 4242
        let sent = (1...200).map { "line \($0) " + String(repeating: "x", count: 80) }
        write(capture, sent.prefix(150).joined(separator: "\n") + "\n")
        let forwarded = capture.readAvailable()
        #expect(capture.isWaitingForJournal)
        // Written while the capture waited, never read by the loop: the service's last lines.
        write(capture, sent.suffix(50).joined(separator: "\n") + "\n")
        capture.closeWriteEnd()

        socket.boundWaits(to: 50)
        let drained = capture.drain()
        #expect(forwarded + drained == sent)
        #expect(!capture.isWaitingForJournal)
        let onStderr = stderr.drain().split(separator: "\n").map { line -> String in
            #expect(line.hasPrefix("chatty.service[4242]: "), "\(line)")
            return String(line.dropFirst("chatty.service[4242]: ".count))
        }
        #expect(!onStderr.isEmpty && onStderr.count < sent.count)
        var received: [String] = []
        while received.count < sent.count - onStderr.count, let fields = journal.receive() {
            received += fields.filter { $0.0 == "MESSAGE" }.map(\.1)
        }
        #expect(received + onStderr == sent, "journald took the first \(received.count), stderr the rest")
        #expect(log.entries(unit: "chatty.service", last: 300).map(\.message) == sent)
    }

    /// With no journald at the socket's path, a line goes to stderr rather than nowhere.
    @Test func aLineNoJournalTakesGoesToStderr() throws {
        let stderr = StderrPipe()
        defer { stderr.close() }
        let directory = ShortTemporaryDirectory()
        let capture = try OutputCapture(unit: "hello.service", destination: .journal(identifier: "hello"), unitLog: nil,
                                        journal: try JournalSocket(path: directory.path + "/no-journal"), stderr: stderr.writeEnd)
        capture.pid = 4242
        write(capture, "still here\n")
        #expect(capture.readAvailable() == ["still here"])
        #expect(!capture.isWaitingForJournal)
        #expect(stderr.drain() == "hello.service[4242]: still here\n")
    }

    @Test func theEndOfThePipeFlushesTheLastPartialLine() throws {
        let capture = try OutputCapture(unit: "hello.service", destination: .none, unitLog: nil)
        write(capture, "no newline at the end")
        capture.closeWriteEnd()
        #expect(capture.readToEnd() == ["no newline at the end"])
        #expect(capture.isAtEnd)
        #expect(capture.readAvailable() == [])
    }

    /// A capture a re-exec hands over forwards the whole lines the swatchd before had read
    /// first, and keeps the partial one for the rest the pipe brings.
    @Test func anAdoptedCaptureForwardsWhatItWasHandedFirst() throws {
        let pipe = try FileDescriptor.closeOnExecPipe()
        defer { try? pipe.writeEnd.close() }
        // Non-blocking, as the swatchd before made it (a file status flag, kept across execve).
        _ = fcntl(pipe.readEnd.rawValue, F_SETFL, O_NONBLOCK)
        let log = UnitLogBuffer()
        let capture = try OutputCapture(unit: "x.service", destination: .none, unitLog: log, adopting: pipe.readEnd, pid: 7,
                                        unsent: Array("read before\nhalf a ".utf8))
        #expect(capture.resume() == ["read before"])
        _ = "line\n".withCString { Glibc.write(pipe.writeEnd.rawValue, $0, strlen($0)) }
        #expect(capture.readAvailable() == ["half a line"])
        #expect(log.entries(unit: "x.service", last: 5).map(\.message) == ["read before", "half a line"])
    }

    @Test func anOverlongLineIsCutAtTheLimit() throws {
        let capture = try OutputCapture(unit: "x.service", destination: .none, unitLog: nil)
        let limit = OutputCapture.maximumLineLength
        let long = String(repeating: "a", count: limit + 5)
        // Written from a second thread: the line is larger than the pipe's buffer.
        let fd = capture.writeEnd!.rawValue
        let writer = Background { () -> Bool in
            let bytes = Array((long + "\ntail\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        var lines: [String] = []
        let deadline = StatusFormat.monotonicNow() + 5_000_000
        while lines.count < 3 && StatusFormat.monotonicNow() < deadline {
            lines += capture.readAvailable()
        }
        #expect(writer.value == true)
        #expect(lines.map(\.count) == [limit, 5, 4])
    }

    @Test func withoutAJournalLinesGoToStderrWithTheUnitAndPid() throws {
        let stderr = StderrPipe()
        defer { stderr.close() }
        let capture = try OutputCapture(unit: "hello.service", destination: .stderr, unitLog: nil, stderr: stderr.writeEnd)
        capture.pid = 4242
        write(capture, "<4>careful\nHello World!\n")
        _ = capture.readAvailable()
        #expect(stderr.drain() == "hello.service[4242]: careful\nhello.service[4242]: Hello World!\n")
    }

    @Test func bothEndsAreCloseOnExecAndOnlyTheReadEndIsNonBlocking() throws {
        let capture = try OutputCapture(unit: "x.service", destination: .none, unitLog: nil)
        #expect(fcntl(capture.readEnd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(capture.writeEnd!.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(capture.readEnd.rawValue, F_GETFL) & O_NONBLOCK != 0)
        #expect(fcntl(capture.writeEnd!.rawValue, F_GETFL) & O_NONBLOCK == 0, "a service's writes block, as on any pipe")
        capture.closeWriteEnd()
        #expect(capture.writeEnd == nil)
    }

    @Test func splitLevelPrefixReadsSyslogPrefixes() {
        func split(_ text: String) -> (Int32?, String) {
            let (level, rest) = OutputCapture.splitLevelPrefix(Array(text.utf8)[...])
            return (level, String(decoding: rest, as: UTF8.self))
        }
        #expect(split("<0>x") == (0, "x"))
        #expect(split("<6>") == (6, ""))
        #expect(split("<03>x") == (3, "x"))
        #expect(split("<007>x") == (7, "x"))
        // What journald keeps as text, so does swatchd: no facility, no level above 7.
        for text in ["<>x", "<8>x", "<30>x", "<33>x", "<100>x", "<0003>x", "<12345>x", "<3", "<a>x", "<-1>x"] {
            #expect(split(text) == (nil, text), "\(text)")
        }
    }
}
