import Glibc
import SystemPackage

/// swatchctl's end of the control socket (and the tests'): connect, send one request
/// line, read the answer. It blocks — it is the client, not the daemon.
package struct ControlClient: Sendable {
    /// The control socket, `RUNTIME/control`.
    package var path: String
    /// How long to wait for the daemon's answer; nil waits as long as it takes (a start
    /// waits for the service to be ready, as `systemctl start` does).
    package var timeout: TimeSpan?

    package init(path: String, timeout: TimeSpan? = nil) {
        self.path = path
        self.timeout = timeout
    }
}

extension ControlClient {
    package init(runtimeDirectory: String, timeout: TimeSpan? = nil) {
        self.init(path: runtimeDirectory + "/control", timeout: timeout)
    }

    /// swatchd(8): `/run/swatchd` for root, else `$XDG_RUNTIME_DIR/swatchd`; nil when neither applies.
    package static func defaultRuntimeDirectory(
        uid: UInt32 = getuid(), xdgRuntimeDirectory: String? = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) }
    ) -> String? {
        if uid == 0 { return "/run/swatchd" }
        guard let base = xdgRuntimeDirectory, base.hasPrefix("/") else { return nil }
        return base + "/swatchd"
    }

    /// What went wrong talking to the daemon.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// No daemon there (ENOENT, ECONNREFUSED) or not allowed to reach it (EACCES).
        case connect(path: String, Errno)
        case io(Errno)
        case timedOut
        case malformedAnswer(ControlResponse.DecodeError)
        /// The daemon closed the connection before its RESULT= line.
        case closedEarly

        package var description: String {
            switch self {
            case .connect(let path, let error):
                var text = "Failed to connect to swatchd at \(path): \(error)"
                if error == .noSuchFileOrDirectory || error == .connectionRefused { text += " (is swatchd running?)" }
                return text
            case .io(let error): return "Failed to talk to swatchd: \(error)"
            case .timedOut: return "Timed out waiting for swatchd's answer"
            case .malformedAnswer(let error): return "Malformed answer from swatchd: \(error)"
            case .closedEarly: return "swatchd closed the connection before answering"
            }
        }
    }

    /// One exchange: sends `request`, returns the whole answer. A request too long for one
    /// line (`ControlRequest.split`: a glob that matched a thousand units) goes as its parts,
    /// each on a connection of its own and up to `partsInFlight` of them sent ahead, so that
    /// their jobs run together as those of systemctl's call for each unit do; the answers are
    /// merged in order, with the first result that is not success.
    package func send(_ request: ControlRequest) throws(Failure) -> ControlResponse {
        let parts = request.split()
        guard parts.count > 1 else {
            return try Self.gather { (onEvent) throws(Failure) in try exchange(request, onEvent: onEvent) }
        }
        var sent: [Int: Sent] = [:]
        defer { for connection in sent.values { close(connection.fd) } }
        var merged = ControlResponse()
        for index in parts.indices {
            for ahead in index..<min(parts.count, index + Self.partsInFlight) where sent[ahead] == nil {
                sent[ahead] = try connectAndSend(parts[ahead])
            }
            guard let connection = sent.removeValue(forKey: index) else { continue }
            defer { close(connection.fd) }
            let answer = try Self.gather { (onEvent) throws(Failure) in
                if try receive(on: connection, onEvent: onEvent) == .closedUnanswered {
                    _ = try attempt(parts[index], onEvent: onEvent)   // as `exchange` does
                }
            }
            merged.records += answer.records
            merged.errors += answer.errors
            merged.warnings += answer.warnings
            if merged.result == ControlResponse.Code.success { merged.result = answer.result }
        }
        return merged
    }

    /// How many parts of a split request are sent before the first answer is read: well
    /// below the 32 connections the daemon lets wait for their request (swatchd(8), LIMITS).
    static let partsInFlight = 16

    /// The records and the trailer that `exchange` hands over, as one response.
    private static func gather(
        _ exchange: (_ onEvent: (ControlStreamEvent) -> Bool) throws(Failure) -> Void
    ) throws(Failure) -> ControlResponse {
        var records: [ControlRecord] = []
        var trailer: ControlResponse?
        try exchange { event in
            switch event {
            case .record(let record): records.append(record)
            case .trailer(let response): trailer = response
            }
            return true
        }
        guard var response = trailer else { throw .closedEarly }
        response.records = records
        return response
    }

    /// Sends `request` and hands every block to `onEvent` as it arrives — the records, the
    /// trailer, and for `logs … follow` the records that come after the trailer — until the
    /// daemon closes the connection or `onEvent` returns false.
    package func stream(_ request: ControlRequest, onEvent: (ControlStreamEvent) -> Bool) throws(Failure) {
        try exchange(request, onEvent: onEvent)
    }

    /// A connection the daemon closes before a byte of its answer carried a request it never
    /// ran: swatchd answers a request in the turn of its loop that reads it (or, for a job,
    /// when the job ends, and it does not re-execute while one runs). That happens when it
    /// re-executes itself (`daemon-reexec`) with the request unread, or read in part: the
    /// request goes once more, to the new process, which the same listening socket serves.
    /// Not `daemon-reexec` itself: its caller waits for the new process's answer, and a new
    /// process that could not take the old one's state over starts afresh without it — the
    /// re-exec ran, and is not asked for twice.
    private func exchange(_ request: ControlRequest, onEvent: (ControlStreamEvent) -> Bool) throws(Failure) {
        if try attempt(request, onEvent: onEvent) == .closedUnanswered, request != .daemonReexec {
            _ = try attempt(request, onEvent: onEvent)
        }
    }

    private enum Ending {
        case answered
        /// Closed (EOF, or ECONNRESET for a request left unread) before a byte of the answer.
        case closedUnanswered
    }

    private func attempt(_ request: ControlRequest, onEvent: (ControlStreamEvent) -> Bool) throws(Failure) -> Ending {
        let connection = try connectAndSend(request)
        defer { close(connection.fd) }
        return try receive(on: connection, onEvent: onEvent)
    }

    /// A connection that carried its request, and the error of that send if it failed.
    private struct Sent {
        let fd: Int32
        let sendError: Errno?
    }

    private func connectAndSend(_ request: ControlRequest) throws(Failure) -> Sent {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(Errno(rawValue: errno)) }
        do {
            try connectUnix(fd, path: path)
        } catch {
            close(fd)
            throw .connect(path: path, error)
        }
        if let timeout, !timeout.isInfinite {
            var value = timeval(
                tv_sec: Int(timeout.microseconds / 1_000_000), tv_usec: Int(timeout.microseconds % 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        // A refused client may find the daemon's side already shut: the refusal is waiting to
        // be read all the same, so a failed send only counts if no answer follows.
        var sendError: Errno?
        do {
            try sendFully(fd, Array((request.line + "\n").utf8))
        } catch {
            sendError = error
        }
        return Sent(fd: fd, sendError: sendError)
    }

    private func receive(on connection: Sent, onEvent: (ControlStreamEvent) -> Bool) throws(Failure) -> Ending {
        let (fd, sendError) = (connection.fd, connection.sendError)
        var sawTrailer = false
        var received = false
        // No shutdown(SHUT_WR) after the request: the daemon reads EOF as "the client left"
        // and would drop a `logs … follow` at once.
        var decoder = ControlStreamDecoder()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count: Int
            do {
                count = try retryingOnInterrupt { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
            } catch {
                if !received, error == .connectionReset { return .closedUnanswered }
                // The daemon answered and closed with part of the request unread (a line it
                // refused as too long): the answer is whole, the reset is only that.
                if sawTrailer, error == .connectionReset { return .answered }
                if let sendError, !sawTrailer { throw .io(sendError) }
                throw error == .wouldBlock ? .timedOut : .io(error)
            }
            if count == 0 {
                if !received { return .closedUnanswered }
                if let sendError, !sawTrailer { throw .io(sendError) }
                return .answered
            }
            received = true
            let events: [ControlStreamEvent]
            do {
                events = try decoder.feed(Array(buffer[..<count]))
            } catch {
                throw .malformedAnswer(error)
            }
            for event in events {
                if case .trailer = event { sawTrailer = true }
                if !onEvent(event) { return .answered }
            }
        }
    }
}
