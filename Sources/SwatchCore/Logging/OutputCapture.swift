import CSwatch
import Glibc
import SystemPackage

/// The output of one started service, read by swatchd (StandardOutput=journal, the
/// default, swatchd(8) "LOGGING"): a pipe whose write end the spawner puts on the service's fd 1 and
/// 2, and whose read end the event loop watches. Each complete line goes
/// - to the journal, as one entry of journald's native protocol (`JournalSocket.system`)
///   with the fields systemd's own stream gives a service's line, and the unit in
///   OBJECT_SYSTEMD_UNIT=, which `journalctl -u` matches; or, with no journal,
/// - to swatchd's stderr as `hello.service[4242]: line` (the `<N>` prefix read and dropped);
/// - and always into the `UnitLogBuffer`, for `swatchctl status` and `logs`.
///
/// When journald's queue is full, the capture stops (`isWaitingForJournal`) with the rest of
/// its lines unsent, the loop stops reading the pipe and waits for the journal socket to
/// be writable, then calls `resume()`. Meanwhile the pipe fills and the service blocks in
/// write(2), as a service under systemd blocks on its stream to a busy journald: no line
/// is dropped, and swatchd never waits.
///
/// Loop-agnostic: `readAvailable` reads what is there without blocking. One capture per
/// start of a service; it reaches its end (`isAtEnd`) when every process holding the write
/// end has exited or closed it, and every line has gone on.
package final class OutputCapture {
    /// Where lines go besides the UnitLogBuffer.
    package enum Destination: Equatable, Sendable {
        /// journald, each line tagged with this SYSLOG_IDENTIFIER= (SyslogIdentifier=, or the
        /// executable's name, as systemd does).
        case journal(identifier: String)
        /// swatchd's stderr, as `unit[pid]: line`.
        case stderr
        /// Only the UnitLogBuffer.
        case none
    }

    /// SyslogLevel=, SyslogLevelPrefix=, LogLevelMax= and SyslogFacility= (systemd.exec(5)): the
    /// level of a line without a `<N>` prefix, whether such a prefix is read at all, the highest
    /// level kept (a line above it goes nowhere, as journald drops it), and the facility of every
    /// line, `daemon` unless the unit says (systemd's default, `LOG_DAEMON|LOG_INFO`).
    package struct Levels: Hashable, Sendable {
        package var priority: Int32 = 6
        package var prefix = true
        package var maximum: Int32 = 7
        /// Unshifted, as syslog.h's `LOG_FAC()` gives it: 3 is `daemon`.
        package var facility: Int32 = 3
        package init() {}
    }

    /// journald's LineMax= default (journald.conf(5)): a longer line is cut into pieces of this size.
    package static let maximumLineLength = 48 * 1024

    package let unit: String
    /// The main process, for the `unit[pid]:` prefix, SYSLOG_PID= and the buffer; set once spawned.
    package var pid: Int32 = 0 {
        didSet {
            entryFields = nil
            senderIsGone = false
        }
    }
    /// Watched by the event loop while the capture is not waiting for the journal; owned
    /// here, closed by `close()`.
    package private(set) var readEnd: FileDescriptor
    /// Handed to the spawner for fds 1 and 2; nil once `closeWriteEnd()` ran.
    package private(set) var writeEnd: FileDescriptor?
    /// True once the last writer closed the pipe and every line went on: the loop stops
    /// watching and calls `close()`.
    package var isAtEnd: Bool { pipeEnded && (partial.isEmpty || isClosed) }
    /// True while journald's queue is full: the loop stops reading the pipe, waits for
    /// `journal`'s fd to be writable, and calls `resume()`.
    package private(set) var isWaitingForJournal = false
    package let destination: Destination
    /// LogExtraFields=: `FIELD=value` words every journal entry carries as well.
    package let extraFields: [String]
    /// Where `.journal` lines go.
    package let journal: JournalSocket?
    package let levels: Levels
    private let stderr: Int32
    private let unitLog: UnitLogBuffer?
    /// Read and not yet gone on: a partial line, or whole lines journald had no room for. A
    /// re-exec hands it to the next swatchd.
    package private(set) var partial: [UInt8] = []
    private var pipeEnded = false
    private var isClosed = false
    /// Set by `drain()`: a line waits for room in journald, and goes to stderr if none comes.
    private var isDraining = false
    /// The fields every journal entry of this capture carries, made once the pid is known.
    private var entryFields: [UInt8]?

    /// The read end of a service's output pipe kept across `daemon-reexec`, with what the
    /// swatchd before had read from it and not forwarded (`unsent`), which `resume()` sends on
    /// before the pipe is read again.
    package convenience init(unit: String, destination: Destination, levels: Levels = Levels(), extraFields: [String] = [],
                             unitLog: UnitLogBuffer?, adopting readEnd: FileDescriptor, pid: Int32, unsent: [UInt8] = []) throws(Errno) {
        try self.init(unit: unit, destination: destination, levels: levels, extraFields: extraFields, unitLog: unitLog)
        closeWriteEnd()
        try? self.readEnd.close()
        _ = fcntl(readEnd.rawValue, F_SETFD, FD_CLOEXEC)
        self.readEnd = readEnd
        self.pid = pid
        partial = unsent
    }

    /// Creates the pipe (both ends CLOEXEC, the read end non-blocking). `journal` (for a
    /// `.journal` destination) and `stderr` are swatchd's unless a test passes its own.
    package init(unit: String, destination: Destination, levels: Levels = Levels(), extraFields: [String] = [],
                 unitLog: UnitLogBuffer?, journal: JournalSocket? = nil, stderr: Int32 = 2) throws(Errno) {
        // Only the read end is non-blocking: the service writes to a blocking stdout, as everywhere.
        let pipe = try FileDescriptor.closeOnExecPipe()
        _ = fcntl(pipe.readEnd.rawValue, F_SETFL, fcntl(pipe.readEnd.rawValue, F_GETFL) | O_NONBLOCK)
        self.unit = unit
        self.readEnd = pipe.readEnd
        self.writeEnd = pipe.writeEnd
        self.unitLog = unitLog
        self.stderr = stderr
        self.destination = destination
        if case .journal = destination {
            self.journal = journal ?? JournalSocket.system
        } else {
            self.journal = nil
        }
        self.levels = levels
        self.extraFields = extraFields
    }

    deinit { close() }

    /// The parent's copy of the write end, closed right after the spawn: otherwise the pipe
    /// never reaches its end.
    package func closeWriteEnd() {
        try? writeEnd?.close()
        writeEnd = nil
    }

    /// Closes everything still open (the loop stops watching `readEnd` first).
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        closeWriteEnd()
        try? readEnd.close()
        pipeEnded = true
    }

    /// Reads what the pipe holds (at most 1 MiB per call, so one chatty service cannot hold
    /// the loop; a level-triggered epoll calls again) and forwards every complete line, until
    /// journald has no room (`isWaitingForJournal`). Returns the lines forwarded, without
    /// their `<N>` prefixes. A partial line waits for the rest, unless it reaches
    /// `maximumLineLength` or the pipe ends.
    package func readAvailable(realtime: UInt64 = StatusFormat.realtimeNow()) -> [String] {
        guard !pipeEnded, !isWaitingForJournal else { return [] }
        var lines: [String] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 where !isWaitingForJournal {
            let count: Int
            do {
                count = try retryingOnInterrupt { chunk.withUnsafeMutableBytes { Glibc.read(readEnd.rawValue, $0.baseAddress, $0.count) } }
            } catch {
                if error != .wouldBlock { pipeEnded = true }  // EIO and the like: nothing more will come.
                break
            }
            guard count > 0 else {
                pipeEnded = true
                break
            }
            partial += chunk[..<count]
            forwardLines(into: &lines, realtime: realtime)
        }
        if pipeEnded { forwardLines(into: &lines, realtime: realtime) }
        return lines
    }

    /// Forwards what was read and not forwarded — the lines journald had no room for, once its
    /// socket is writable again, or what a re-exec handed over — and then, unless journald is
    /// full again, what the pipe holds after them. Returns the lines forwarded, as `readAvailable`.
    package func resume(realtime: UInt64 = StatusFormat.realtimeNow()) -> [String] {
        isWaitingForJournal = false
        var lines: [String] = []
        forwardLines(into: &lines, realtime: realtime)
        return isWaitingForJournal ? lines : lines + readAvailable(realtime: realtime)
    }

    /// At swatchd's exit, when nothing will read the pipe again: forwards what was read and
    /// not forwarded and what the pipe still holds, each line waiting for room in journald as
    /// sd_journal_sendv(3) does (for as long as the journal's `boundWaits(to:)` allows), and
    /// going to stderr instead where journald takes nothing in that time.
    package func drain(realtime: UInt64 = StatusFormat.realtimeNow()) -> [String] {
        isDraining = true
        return resume(realtime: realtime)
    }

    /// Forwards the whole lines of `partial` (and, once the pipe ended, the last piece),
    /// stopping at the first one journald has no room for.
    private func forwardLines(into lines: inout [String], realtime: UInt64) {
        var start = 0
        while !isWaitingForJournal {
            let window = partial[start...]
            let end: Int
            let next: Int
            if let newline = window.prefix(Self.maximumLineLength + 1).firstIndex(of: 0x0A) {
                (end, next) = (newline, newline + 1)
            } else if window.count >= Self.maximumLineLength {
                (end, next) = (start + Self.maximumLineLength, start + Self.maximumLineLength)
            } else if pipeEnded && !window.isEmpty {
                (end, next) = (partial.endIndex, partial.endIndex)
            } else {
                break
            }
            switch emit(partial[start..<end], realtime: realtime) {
            case .forwarded(let message?): lines.append(message)
            case .forwarded(nil): break
            case .journalFull: isWaitingForJournal = true
            }
            if !isWaitingForJournal { start = next }
        }
        partial.removeFirst(start)
    }

    private enum Emitted {
        /// Gone on; the text without its level prefix, nil for a line above LogLevelMax=.
        case forwarded(String?)
        /// Not yet anywhere: journald's queue is full.
        case journalFull
    }

    /// Forwards one line: to the journal (or stderr), then to the buffer, so that both keep
    /// the service's order.
    private func emit(_ raw: ArraySlice<UInt8>, realtime: UInt64) -> Emitted {
        var line = raw
        if line.last == 0x0D { line.removeLast() }  // CRLF writers
        let (written, body) = levels.prefix ? Self.splitLevelPrefix(line) : (nil, line)
        let priority = written ?? levels.priority
        guard priority <= levels.maximum else { return .forwarded(nil) }
        let message = String(decoding: body, as: UTF8.self)
        switch destination {
        case .journal:
            switch journal?.send(entry(body, priority: priority), wait: isDraining, as: sender) ?? .failed(.badFileDescriptor) {
            case .sent: break
            case .sentAsSwatchd: senderIsGone = true  // no ESRCH and second send for every later line
            case .full where !isDraining: return .journalFull
            case .full, .failed:
                // No journald to take it (gone, never there, or taking nothing at swatchd's
                // exit): the line is not lost.
                StderrLogHandler.write(identifier: unit, pid: pid, message: message, to: stderr)
            }
        case .stderr:
            StderrLogHandler.write(identifier: unit, pid: pid, message: message, to: stderr)
        case .none:
            break
        }
        unitLog?.append(unit: unit, message: message, identifier: unit, pid: pid, priority: priority, realtime: realtime)
        return .forwarded(message)
    }

    /// The process a line is attributed to (`JournalSocket.send(_:wait:as:)`): the main
    /// process, when swatchd is root and so may say so; else swatchd itself.
    private var sender: Int32? { pid > 0 && Self.isRoot && !senderIsGone ? pid : nil }
    private var senderIsGone = false
    private static let isRoot = geteuid() == 0

    /// One line as journald's native protocol carries it, with what systemd's stream gives a
    /// service's line (journald-stream.c, stdout_stream_log()): MESSAGE=, PRIORITY=,
    /// SYSLOG_FACILITY=, SYSLOG_IDENTIFIER=; SYSLOG_PID= of the main process (the entry's
    /// _PID= when swatchd is not root, and cannot attribute it, is swatchd's); and the unit,
    /// in OBJECT_SYSTEMD_UNIT= when swatchd is root (`journalctl -u` matches it for senders
    /// of uid 0, add_matches_for_unit(), src/shared/logs-show.c), else in USER_UNIT=, which
    /// `journalctl --user -u` matches for the sender's uid; then LogExtraFields=.
    private func entry(_ body: ArraySlice<UInt8>, priority: Int32) -> [UInt8] {
        if entryFields == nil {
            var fields: [UInt8] = []
            JournalNativeProtocol.append("SYSLOG_FACILITY", String(levels.facility).utf8, to: &fields)
            if case .journal(let identifier) = destination {
                JournalNativeProtocol.append("SYSLOG_IDENTIFIER", identifier.utf8, to: &fields)
            }
            if pid > 0 { JournalNativeProtocol.append("SYSLOG_PID", String(pid).utf8, to: &fields) }
            JournalNativeProtocol.append(Self.isRoot ? "OBJECT_SYSTEMD_UNIT" : "USER_UNIT", unit.utf8, to: &fields)
            for assignment in extraFields {
                let eq = assignment.utf8.firstIndex(of: UInt8(ascii: "="))!  // checked by the parser
                JournalNativeProtocol.append(String(assignment[..<eq]), assignment.utf8[assignment.utf8.index(after: eq)...], to: &fields)
            }
            entryFields = fields
        }
        var entry: [UInt8] = []
        entry.reserveCapacity(entryFields!.count + body.count + 24)
        JournalNativeProtocol.append("MESSAGE", body, to: &entry)
        JournalNativeProtocol.append("PRIORITY", String(priority).utf8, to: &entry)
        entry += entryFields!
        return entry
    }

    /// `<3>disk full` → (3, `disk full`): the level prefix of sd-daemon(3), read as journald
    /// reads it on a stream (syslog_parse_priority() without the facility,
    /// src/basic/syslog-util.c): one to three digits whose value is a level, 0–7 (`<03>` is
    /// `<3>`). Anything else (`<30>`, `<8>`, `<>`) is no prefix and stays in the text, as
    /// journald keeps it, so `swatchctl logs` and `journalctl` show the same line.
    static func splitLevelPrefix(_ line: ArraySlice<UInt8>) -> (Int32?, ArraySlice<UInt8>) {
        guard line.first == UInt8(ascii: "<"),
              let close = line.prefix(5).firstIndex(of: UInt8(ascii: ">")) else { return (nil, line) }
        let digits = line[line.index(after: line.startIndex)..<close]
        guard let last = digits.last, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(last),
              digits.dropLast().allSatisfy({ $0 == UInt8(ascii: "0") }) else { return (nil, line) }
        return (Int32(last - UInt8(ascii: "0")), line[line.index(after: close)...])
    }
}
