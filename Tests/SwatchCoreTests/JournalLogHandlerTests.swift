import Foundation
import Glibc
import Logging
import SystemPackage
import Testing
@testable import SwatchCore

/// A datagram socket bound where the test's "journal" lives; decodes journald's native
/// protocol independently of the handler's encoder (systemd's JOURNAL_NATIVE_PROTOCOL.md).
final class FakeJournal {
    let directory = ShortTemporaryDirectory()
    let path: String
    let fd: Int32

    init(path: String? = nil) throws {
        self.path = path ?? directory.path + "/socket"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var (address, length) = try unixSocketAddress(self.path)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        precondition(bound == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The fields of the next entry, in order; nil when none arrives.
    func receive() -> [(String, String)]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Self.decode(Array(buffer[..<n]))
    }

    static func decode(_ bytes: [UInt8]) -> [(String, String)]? {
        var fields: [(String, String)] = []
        var i = 0
        while i < bytes.count {
            guard let end = bytes[i...].firstIndex(where: { $0 == 0x0A || $0 == UInt8(ascii: "=") }) else { return nil }
            let name = String(decoding: bytes[i..<end], as: UTF8.self)
            if bytes[end] == UInt8(ascii: "=") {
                guard let newline = bytes[end...].firstIndex(of: 0x0A) else { return nil }
                fields.append((name, String(decoding: bytes[(end + 1)..<newline], as: UTF8.self)))
                i = newline + 1
            } else {
                let start = end + 1
                guard start + 8 <= bytes.count else { return nil }
                var length = 0
                for k in 0..<8 { length |= Int(bytes[start + k]) << (8 * k) }
                let value = start + 8
                guard value + length < bytes.count, bytes[value + length] == 0x0A else { return nil }
                fields.append((name, String(decoding: bytes[value..<(value + length)], as: UTF8.self)))
                i = value + length + 1
            }
        }
        return fields
    }
}

private func field(_ fields: [(String, String)], _ name: String) -> [String] {
    fields.filter { $0.0 == name }.map(\.1)
}

@Suite struct JournalLogHandlerTests {
    @Test func aMessageCarriesTheFieldsJournalctlMatchesOn() throws {
        let journal = try FakeJournal()
        let units = UnitLogBuffer()
        let handler = try JournalLogHandler(socketPath: journal.path, unitLog: units)
        let logger = Logger(label: "swatchd") { _ in handler }
        let expectedLine = #line + 1
        logger.error("Failed to spawn hello.service: No such file or directory", metadata: ["unit": "hello.service"])
        let fields = try #require(journal.receive())
        #expect(field(fields, "MESSAGE") == ["Failed to spawn hello.service: No such file or directory"])
        #expect(field(fields, "PRIORITY") == ["3"])
        #expect(field(fields, "SYSLOG_IDENTIFIER") == ["swatchd"])
        #expect(field(fields, "UNIT") == ["hello.service"])
        #expect(field(fields, "OBJECT_SYSTEMD_UNIT") == ["hello.service"])
        #expect(field(fields, "CODE_FILE").first?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(field(fields, "CODE_LINE") == [String(expectedLine)])
        #expect(field(fields, "CODE_FUNC").first?.hasPrefix("aMessageCarriesTheFieldsJournalctlMatchesOn") == true)
        // The unit's buffer has it too, for swatchctl status.
        #expect(units.entries(unit: "hello.service", last: 5).map(\.message) == ["Failed to spawn hello.service: No such file or directory"])
        #expect(units.entries(unit: "hello.service", last: 5).first?.identifier == "swatchd")
    }

    /// Not root, swatchd names the unit where `journalctl --user -u` looks too.
    @Test func notRootAMessageAboutAUnitCarriesUserUnit() {
        let event = LogEvent(level: .info, message: "Started hello.service.", error: nil, metadata: nil, source: nil,
                             file: "f", function: "g", line: 1)
        let user = JournalLogHandler.fields(for: event, metadata: ["unit": "hello.service"], identifier: "swatchd", asRoot: false)
        #expect(field(user, "USER_UNIT") == ["hello.service"])
        #expect(field(user, "OBJECT_SYSTEMD_UNIT") == ["hello.service"])
        let root = JournalLogHandler.fields(for: event, metadata: ["unit": "hello.service"], identifier: "swatchd", asRoot: true)
        #expect(field(root, "USER_UNIT").isEmpty)
    }

    @Test func configProblemsCarryTheFileAndLineAndMetadataIsUpperCased() throws {
        let journal = try FakeJournal()
        var handler = try JournalLogHandler(socketPath: journal.path)
        handler.metadata = ["swatchd-version": "1", "config_line": "overridden below"]
        let logger = Logger(label: "swatchd") { _ in handler }
        logger.warning(
            "hello.service:7: Unknown key 'ExecStrat' in section [Service], ignoring.",
            metadata: ["config_file": "conf/hello.service", "config_line": "7", "_secret": "x", "2fa": "y"])
        let fields = try #require(journal.receive())
        #expect(field(fields, "PRIORITY") == ["4"])
        #expect(field(fields, "CONFIG_FILE") == ["conf/hello.service"])
        #expect(field(fields, "CONFIG_LINE") == ["7"])
        #expect(field(fields, "SWATCHD_VERSION") == ["1"])
        #expect(field(fields, "SECRET") == ["x"], "journald drops user fields starting with _")
        #expect(field(fields, "X2FA") == ["y"], "field names must not start with a digit")
        #expect(field(fields, "UNIT").isEmpty)
    }

    @Test func aMultiLineMessageUsesTheBinarySafeForm() throws {
        let journal = try FakeJournal()
        let handler = try JournalLogHandler(socketPath: journal.path)
        Logger(label: "swatchd") { _ in handler }.notice("line one\nline two")
        let fields = try #require(journal.receive())
        #expect(field(fields, "MESSAGE") == ["line one\nline two"])
        #expect(field(fields, "PRIORITY") == ["5"])
    }

    @Test func levelsBelowTheHandlersAreNotSent() throws {
        let journal = try FakeJournal()
        var handler = try JournalLogHandler(socketPath: journal.path)
        handler.logLevel = .notice
        let logger = Logger(label: "swatchd") { _ in handler }
        logger.info("quiet")
        logger.critical("loud")
        let fields = try #require(journal.receive())
        #expect(field(fields, "MESSAGE") == ["loud"])
        #expect(field(fields, "PRIORITY") == ["2"])
    }

    @Test func priorityFollowsSyslog() {
        let expected: [(Logger.Level, Int32)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in expected { #expect(LogLevel.syslogPriority(level) == priority) }
    }

    @Test func fieldNamesAreSanitized() {
        #expect(JournalLogHandler.fieldName("unit-name") == "UNIT_NAME")
        #expect(JournalLogHandler.fieldName("__x") == "X")
        #expect(JournalLogHandler.fieldName("___") == nil)
        #expect(JournalLogHandler.fieldName("9lives") == "X9LIVES")
        #expect(JournalLogHandler.fieldName(String(repeating: "k", count: 100))?.count == 64)
    }

    @Test func anErrnoBecomesERRNO() {
        let event = LogEvent(
            level: .error, message: "Failed to bind", error: Errno.addressInUse, metadata: nil, source: nil,
            file: "f", function: "g", line: 1)
        let fields = JournalLogHandler.fields(for: event, metadata: [:], identifier: "swatchd")
        #expect(field(fields, "ERRNO") == [String(EADDRINUSE)])
    }
}

@Suite struct JournalSocketTests {
    /// Root attributes an entry to a live process; to one already reaped (ESRCH) the entry
    /// goes all the same, as swatchd's, and says so.
    @Test(.enabled(if: geteuid() == 0, "naming another process takes CAP_SYS_ADMIN"))
    func anEntryForAProcessThatIsGoneGoesAsSwatchds() throws {
        let journal = try FakeJournal()
        let socket = try JournalSocket(path: journal.path)
        let entry = JournalNativeProtocol.encode([("MESSAGE", "hi")])
        var child: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        #expect(posix_spawn(&child, "/bin/true", nil, nil, &argv, nil) == 0)
        var status: Int32 = 0
        #expect(waitpid(child, &status, 0) == child)
        #expect(socket.send(entry, wait: true, as: child) == .sentAsSwatchd)
        #expect(socket.send(entry, wait: true, as: getpid()) == .sent)
        #expect(journal.receive().map { field($0, "MESSAGE") } == ["hi"])
        #expect(journal.receive().map { field($0, "MESSAGE") } == ["hi"])
    }

    @Test func withNoJournalTheSendFailsAndALaterOneConnects() throws {
        let directory = ShortTemporaryDirectory()
        let socket = try JournalSocket(path: directory.path + "/socket")
        let entry = JournalNativeProtocol.encode([("MESSAGE", "hi")])
        #expect(socket.send(entry, wait: false) == .failed(.noSuchFileOrDirectory))
        let journal = try FakeJournal(path: directory.path + "/socket")
        #expect(socket.send(entry, wait: false) == .sent, "journald came: the next send finds it")
        #expect(journal.receive().map { field($0, "MESSAGE") } == ["hi"])
    }

    /// A journald that restarted has a new socket at the same path: the entries reach it, and
    /// none fails on the way (the first one after the old socket went is sent again).
    @Test func aRestartedJournalIsFoundAtOnce() throws {
        let directory = ShortTemporaryDirectory()
        let path = directory.path + "/socket"
        var journal: FakeJournal? = try FakeJournal(path: path)
        let socket = try JournalSocket(path: path)
        let entry = JournalNativeProtocol.encode([("MESSAGE", "hi")])
        #expect(socket.send(entry, wait: false) == .sent)
        journal = nil
        unlink(path)
        let restarted = try FakeJournal(path: path)
        // The old socket lives on while a child another test is spawning holds a copy of its fd
        // (until that child's execve): entries still reach it until it is gone.
        var outcomes: Set<JournalSocket.Outcome> = []
        var arrived = false
        let deadline = StatusFormat.monotonicNow() + 5_000_000
        while !arrived && StatusFormat.monotonicNow() < deadline {
            outcomes.insert(socket.send(entry, wait: false))
            var poller = pollfd(fd: restarted.fd, events: Int16(POLLIN), revents: 0)
            arrived = poll(&poller, 1, 10) == 1
        }
        #expect(arrived)
        #expect(outcomes == [.sent], "no entry failed: \(outcomes)")
        #expect(restarted.receive().map { field($0, "MESSAGE") } == ["hi"])
        _ = journal
    }
}

@Suite struct StderrLogHandlerTests {
    @Test func linesArePlainIdentifierPidMessage() {
        let stderr = StderrPipe()
        defer { stderr.close() }
        let units = UnitLogBuffer()
        let handler = StderrLogHandler(unitLog: units, output: stderr.writeEnd)
        let logger = Logger(label: "swatchd") { _ in handler }
        logger.info("Listening on [::]:8080 for hello.socket", metadata: ["unit": "hello.socket"])
        logger.debug("not shown at info")
        #expect(stderr.drain() == "swatchd[\(getpid())]: Listening on [::]:8080 for hello.socket\n")
        #expect(units.entries(unit: "hello.socket", last: 5).map(\.message) == ["Listening on [::]:8080 for hello.socket"])
    }
}

@Suite struct LogTargetTests {
    @Test func autoMeansTheJournalOnlyWhenItsSocketIsASocket() throws {
        let journal = try FakeJournal()
        #expect(LogTarget.journalIsAvailable(socketPath: journal.path))
        let file = journal.directory.path + "/not-a-socket"
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        #expect(!LogTarget.journalIsAvailable(socketPath: file))
        #expect(!LogTarget.journalIsAvailable(socketPath: journal.directory.path + "/missing"))
        #expect(LogTarget.auto.resolved(journalAvailable: true) == .journal)
        #expect(LogTarget.auto.resolved(journalAvailable: false) == .stderr)
        #expect(LogTarget.stderr.resolved(journalAvailable: true) == .stderr)
        #expect(LogTarget(rawValue: "journal") == .journal)
        #expect(LogTarget(rawValue: "syslog") == nil)
    }

    @Test func levelNamesIncludeSystemds() {
        #expect(LogLevel.parse("debug") == .debug)
        #expect(LogLevel.parse("WARNING") == .warning)
        #expect(LogLevel.parse("err") == .error)
        #expect(LogLevel.parse("crit") == .critical)
        #expect(LogLevel.parse("emerg") == .critical)
        #expect(LogLevel.parse("5") == .notice)
        #expect(LogLevel.parse("loud") == nil)
    }
}
