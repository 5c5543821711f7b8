import CSwatch
import Glibc
import SystemPackage

/// The output of one started service, read by swatchd (StandardOutput=journal, the
/// default, swatchd(8) "LOGGING"): a pipe whose write end the spawner puts on the service's fd 1 and
/// 2, and whose read end the event loop watches. Each complete line goes
/// - to the journal, through a stream to journald's stdout socket (`JournalStream`) tagged
///   with the identifier, of the facility `daemon` and the level `info` unless the unit says,
///   with its `<N>` level prefix kept so journald honours it; or, with no journal,
/// - to swatchd's stderr as `hello.service[4242]: line` (the prefix dropped);
/// - and always into the `UnitLogBuffer`, for `swatchctl status` and `logs`.
///
/// Loop-agnostic: `readAvailable` reads what is there without blocking. One capture per
/// start of a service; it reaches its end (`isAtEnd`) when every process holding the write
/// end has exited or closed it.
package final class OutputCapture {
    /// Where lines go besides the UnitLogBuffer.
    package enum Destination: Equatable, Sendable {
        /// journald, by a stream socket that tags lines with this SYSLOG_IDENTIFIER= (SyslogIdentifier=,
        /// or the executable's name, as systemd does).
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

        /// The stream's priority: the facility and the default level, which a `<N>` prefix
        /// replaces (the level alone: journald's stdout_stream_log(),
        /// src/journal/journald-stream.c, keeps the facility), and journald records as
        /// SYSLOG_FACILITY= and PRIORITY=.
        var streamPriority: Int32 { facility << 3 | priority }
    }

    /// journald's LineMax= default (journald.conf(5)): a longer line is cut into pieces of this size.
    package static let maximumLineLength = 48 * 1024

    package let unit: String
    /// The main process, for the `unit[pid]:` prefix and the buffer; set once spawned.
    package var pid: Int32 = 0
    /// Watched by the event loop; owned here, closed by `close()`.
    package private(set) var readEnd: FileDescriptor
    /// Handed to the spawner for fds 1 and 2; nil once `closeWriteEnd()` ran.
    package private(set) var writeEnd: FileDescriptor?
    /// True once the last writer closed the pipe: the loop stops watching and calls `close()`.
    package private(set) var isAtEnd = false
    /// Where lines actually go: `.journal` falls back to `.stderr` when journald refuses the stream.
    package private(set) var destination: Destination
    /// Lines the journal stream could not take at once (journald too slow); they still went to the buffer.
    package private(set) var droppedLines = 0

    private var journalStream: Int32 = -1
    package let levels: Levels
    private let stderr: Int32
    private let unitLog: UnitLogBuffer?
    private var partial: [UInt8] = []
    private var isClosed = false

    /// The read end of a service's output pipe kept across `daemon-reexec`; the journal
    /// stream is opened anew.
    package convenience init(unit: String, destination: Destination, levels: Levels = Levels(), unitLog: UnitLogBuffer?,
                             adopting readEnd: FileDescriptor, pid: Int32) throws(Errno) {
        try self.init(unit: unit, destination: destination, levels: levels, unitLog: unitLog)
        closeWriteEnd()
        try? self.readEnd.close()
        _ = fcntl(readEnd.rawValue, F_SETFD, FD_CLOEXEC)
        self.readEnd = readEnd
        self.pid = pid
    }

    /// Creates the pipe (both ends CLOEXEC, the read end non-blocking) and, for the journal,
    /// the journal stream. `stderr` is swatchd's stderr unless a test passes its own fd.
    package init(unit: String, destination: Destination, levels: Levels = Levels(), unitLog: UnitLogBuffer?,
                 stderr: Int32 = 2) throws(Errno) {
        // Only the read end is non-blocking: the service writes to a blocking stdout, as everywhere.
        let pipe = try FileDescriptor.closeOnExecPipe()
        _ = fcntl(pipe.readEnd.rawValue, F_SETFL, fcntl(pipe.readEnd.rawValue, F_GETFL) | O_NONBLOCK)
        self.unit = unit
        self.readEnd = pipe.readEnd
        self.writeEnd = pipe.writeEnd
        self.unitLog = unitLog
        self.stderr = stderr
        self.destination = destination
        self.levels = levels
        if case .journal(let identifier) = destination {
            if let stream = try? JournalStream.open(identifier: identifier, unit: unit, priority: levels.streamPriority,
                                                    levelPrefix: levels.prefix) {
                // Non-blocking: a slow journald costs lines, never the daemon's loop.
                _ = fcntl(stream, F_SETFL, fcntl(stream, F_GETFL) | O_NONBLOCK)
                journalStream = stream
            } else {
                self.destination = .stderr
            }
        }
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
        if journalStream >= 0 {
            Glibc.close(journalStream)
            journalStream = -1
        }
        isAtEnd = true
    }

    /// Reads what the pipe holds (at most 1 MiB per call, so one chatty service cannot hold
    /// the loop; a level-triggered epoll calls again) and forwards every complete line.
    /// Returns the lines, without their `<N>` prefixes. A partial line waits for the rest,
    /// unless it reaches `maximumLineLength` or the pipe ends.
    package func readAvailable(realtime: UInt64 = StatusFormat.realtimeNow()) -> [String] {
        guard !isAtEnd else { return [] }
        var lines: [String] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            let count: Int
            do {
                count = try retryingOnInterrupt { chunk.withUnsafeMutableBytes { Glibc.read(readEnd.rawValue, $0.baseAddress, $0.count) } }
            } catch {
                if error != .wouldBlock { isAtEnd = true }  // EIO and the like: nothing more will come.
                break
            }
            guard count > 0 else {
                isAtEnd = true
                break
            }
            partial += chunk[..<count]
            lines += takeLines(realtime: realtime)
        }
        if isAtEnd && !partial.isEmpty {
            if let line = emit(partial[...], realtime: realtime) { lines.append(line) }
            partial.removeAll()
        }
        return lines
    }

    private func takeLines(realtime: UInt64) -> [String] {
        var lines: [String] = []
        var start = 0
        while true {
            let window = partial[start...]
            if let newline = window.prefix(Self.maximumLineLength + 1).firstIndex(of: 0x0A) {
                if let line = emit(partial[start..<newline], realtime: realtime) { lines.append(line) }
                start = newline + 1
            } else if window.count >= Self.maximumLineLength {
                if let line = emit(window.prefix(Self.maximumLineLength), realtime: realtime) { lines.append(line) }
                start += Self.maximumLineLength
            } else {
                break
            }
        }
        partial.removeFirst(start)
        return lines
    }

    /// Forwards one line; returns its text without the level prefix, nil for a line above LogLevelMax=.
    private func emit(_ raw: ArraySlice<UInt8>, realtime: UInt64) -> String? {
        var line = raw
        if line.last == 0x0D { line.removeLast() }  // CRLF writers
        let (written, body) = levels.prefix ? Self.splitLevelPrefix(line) : (nil, line)
        let priority = written ?? levels.priority
        guard priority <= levels.maximum else { return nil }
        let message = String(decoding: body, as: UTF8.self)
        unitLog?.append(unit: unit, message: message, identifier: unit, pid: pid, priority: priority, realtime: realtime)
        switch destination {
        case .journal:
            // The prefix stays: the stream was opened with level_prefix=1, journald parses it.
            if !sendToJournal(Array(line) + [0x0A]) { droppedLines += 1 }
        case .stderr:
            StderrLogHandler.write(identifier: unit, pid: pid, message: message, to: stderr)
        case .none:
            break
        }
        return message
    }

    private func sendToJournal(_ bytes: [UInt8]) -> Bool {
        (try? sendFully(journalStream, bytes)) != nil
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
