import CSwatch
import Glibc
import SystemPackage

/// The daemon's end of the control socket RUNTIME/control (swatchctl(1), swatchd(8)).
///
/// Loop-agnostic: it never blocks for long, owns no thread and never calls epoll.
/// The event loop watches `listeningDescriptor` and every descriptor an `Update`
/// adds, and calls back when one is readable:
///
///     let control = try ControlServer(path: runtimeDir + "/control")
///     loop.watch(control.listeningDescriptor)                 // readable →
///     apply(control.acceptConnections(now: now, handler: supervisor.handle))
///     // a watched connection readable →
///     apply(control.connectionReadable(fd, now: now, handler: supervisor.handle))
///     // after each batch of events (cheap when nobody follows):
///     apply(control.publish(from: unitLog))
///     // timer at control.nextDeadline →
///     apply(control.expire(now: now))
///
/// where `apply` forgets `update.removed` (already closed, so epoll dropped them)
/// and then watches `update.added` — in that order, since a number closed in one
/// call can come back as a new connection in the same call.
///
/// A connection lives through these states: reading its request line (at most
/// `requestTimeout`, at most `maximumPendingConnections` at once — the oldest is
/// dropped); then either answered and closed at once, or waiting for a deferred
/// answer (`Reply.later`, `answer(_:with:)`), or following units' logs
/// (`Reply.follow`). Waiting and following connections stay watched so that a
/// client who leaves (EOF) is closed at once.
///
/// Answers never block the loop: what the socket does not take at once (a `status` of
/// every unit is bigger than the socket buffer) is kept, the connection is watched for
/// writability instead (`Update.writable`) and the rest goes out as the client reads;
/// a client that reads nothing for `stalledAnswerTimeout` is dropped. When accept(2)
/// runs out of descriptors (EMFILE, ENFILE), accepting pauses for `acceptPause`
/// (`Update.acceptPaused`, resumed by `expire(now:)`) rather than spinning on a
/// listener that stays readable. The limits are in swatchd(8), LIMITS.
///
/// Why a pending table and not a blocking read with SO_RCVTIMEO: the daemon has
/// one thread, which also runs watchdog deadlines and accepts on the listeners; a
/// client that connects and says nothing (`nc -U`) must not stall it even for a
/// second. Requests fit in one segment, so nearly always the line is there at
/// accept time and is served in the same call.
///
/// Peers are checked with SO_PEERCRED: only root and the daemon's own uid are
/// served; anyone else gets `RESULT=1` / `ERROR=Access denied: …` and nothing
/// happens. (The socket file is 0600 as well, so in practice only a peer that can
/// reach it by other means — a passed fd, a laxer mode set by an admin — meets this check.)
package final class ControlServer {
    /// The credentials the kernel recorded for the client at connect() time.
    package struct Peer: Equatable, Sendable {
        package var pid: Int32
        package var uid: UInt32
        package var gid: UInt32
    }

    /// Names one connection across its life; the serial tells a reused fd number apart.
    package struct ConnectionID: Hashable, Sendable {
        package var fd: Int32
        package var serial: UInt64
    }

    /// A parsed request, who sent it, and the connection to answer later on.
    package struct Call {
        package var request: ControlRequest
        package var peer: Peer
        package var id: ConnectionID
    }

    /// What the daemon's handler does with a call.
    package enum Reply {
        /// Answer now and close.
        case now(ControlResponse)
        /// Keep the connection; the daemon calls `answer(_:with:)` once it knows (a start waiting for
        /// READY=1, a stop waiting for the process to exit — systemctl also waits for its jobs).
        case later
        /// Send this answer (the backlog of a `logs … follow`), then keep sending the lines of
        /// `units` (none: of every unit) whose sequence is above `after` (see `publish(from:)`).
        /// A non-zero result closes.
        case follow(ControlResponse, units: [String], after: UInt64)
    }

    /// What changed for the event loop after a call: descriptors to stop tracking (already
    /// closed), ones to watch for readability and ones to watch for writability (each replaces
    /// the descriptor's earlier watch, if any), and peers refused (for the daemon to log).
    /// Apply `removed` first, then `added`, then `writable`.
    package struct Update: Equatable {
        package var added: [FileDescriptor] = []
        package var removed: [FileDescriptor] = []
        /// Connections with an answer still to send: call `connectionWritable` when writable.
        package var writable: [FileDescriptor] = []
        package var refused: [Peer] = []
        /// Accepting failed for want of descriptors: stop watching the listener until
        /// `acceptResumed`. The error is set on the first failure of a burst only (to log once).
        package var acceptPaused = false
        package var acceptError: Errno?
        /// The pause is over: watch the listener again.
        package var acceptResumed = false
        package var isEmpty: Bool {
            added.isEmpty && removed.isEmpty && writable.isEmpty && refused.isEmpty && !acceptPaused && !acceptResumed
        }
        mutating func merge(_ other: Update) {
            added += other.added
            removed += other.removed
            writable += other.writable
            refused += other.refused
            acceptPaused = acceptPaused || other.acceptPaused
            acceptError = acceptError ?? other.acceptError
            acceptResumed = acceptResumed || other.acceptResumed
        }
    }

    /// Why the control socket could not be set up: a problem of swatchd itself at start-up
    /// (docs/HACKING.md "Conventions"), which main prints as `swatchd: <description>` before exiting.
    package struct SetupError: Error, Equatable, CustomStringConvertible {
        package var operation: String
        package var path: String
        package var errno: Errno
        package var description: String {
            var text = "Failed to \(operation) control socket \(path): \(errno)"
            if errno == .addressInUse { text += " (another swatchd is serving it)" }
            return text
        }
    }

    /// How long a client has to send its request line (monotonic µs).
    package static let requestTimeout: UInt64 = 1_000_000
    /// Connections still reading their request; beyond this the oldest is dropped.
    package static let maximumPendingConnections = 32
    /// All open connections (pending, waiting, following); beyond this a new one is refused.
    package static let maximumConnections = 256
    /// How long the rest of an answer waits for a client that reads none of it (monotonic µs);
    /// each bit the client takes starts the wait anew.
    package static let stalledAnswerTimeout: UInt64 = 5_000_000
    /// How long accepting pauses when accept(2) finds no descriptor free (monotonic µs).
    package static let acceptPause: UInt64 = 250_000

    package let path: String
    /// The listening socket (CLOEXEC, non-blocking), owned by the server.
    package let listeningDescriptor: FileDescriptor
    /// Besides root, the one uid served: the daemon's own.
    package let daemonUID: UInt32

    private enum State {
        case reading([UInt8], deadline: UInt64)
        case awaitingAnswer
        case following(units: [String], after: UInt64)
        /// The rest of an answer, sent as the client reads; then closed, or following `follow`.
        case writing([UInt8], deadline: UInt64, follow: (units: [String], after: UInt64)?)
        /// Refused: the answer is sent and our side shut down; kept until the client closes (or
        /// the deadline), so that its request still finds an open socket (no EPIPE) and it reads
        /// the refusal rather than a reset.
        case closing(deadline: UInt64)
    }

    private struct Connection {
        let fd: FileDescriptor
        let serial: UInt64
        let peer: Peer
        var state: State

        /// When the connection is closed if nothing else happens: only while reading or closing.
        var deadline: UInt64? {
            switch state {
            case .reading(_, let deadline), .closing(let deadline), .writing(_, let deadline, _): return deadline
            case .awaitingAnswer, .following: return nil
            }
        }
    }

    private var connections: [Int32: Connection] = [:]
    private var nextSerial: UInt64 = 1
    private var isClosed = false
    /// Set while accepting pauses for want of descriptors.
    private var acceptPausedUntil: UInt64?
    /// The current burst of accept failures was reported already.
    private var acceptFailureReported = false

    /// Binds `path` and listens. A stale socket file (no one answers on it) is replaced;
    /// a live one is left alone (EADDRINUSE); the file is made 0600 between bind and
    /// listen — before listen() nobody can connect, so no client ever sees a laxer mode
    /// (fchmod on a socket fd does not reach the bound file on Linux, unix(7)).
    package init(path: String, daemonUID: UInt32 = getuid(), backlog: Int32 = 128) throws(SetupError) {
        self.path = path
        self.daemonUID = daemonUID
        func fail(_ operation: String, _ error: Errno) -> SetupError {
            SetupError(operation: operation, path: path, errno: error)
        }
        let fd: Int32
        do {
            fd = try retryingOnInterrupt { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0) }
        } catch {
            throw fail("create", error)
        }
        do {
            try ControlServer.removeStaleSocket(at: path)
            var (address, length) = try unixSocketAddress(path)
            _ = try retryingOnInterrupt {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
                }
            }
        } catch {
            Glibc.close(fd)
            throw fail("bind", error)
        }
        do {
            _ = try retryingOnInterrupt { chmod(path, 0o600) }
            _ = try retryingOnInterrupt { listen(fd, backlog) }
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw fail("listen on", error)
        }
        listeningDescriptor = FileDescriptor(rawValue: fd)
    }

    /// The control socket kept across `daemon-reexec`, and the connection of the
    /// request that asked for it, which waits for its answer (`answer(_:with:)`).
    package init(adopting listening: FileDescriptor, path: String, waiting: FileDescriptor?, daemonUID: UInt32 = getuid()) {
        _ = fcntl(listening.rawValue, F_SETFD, FD_CLOEXEC)
        self.path = path
        self.daemonUID = daemonUID
        listeningDescriptor = listening
        if let waiting {
            _ = fcntl(waiting.rawValue, F_SETFD, FD_CLOEXEC)
            connections[waiting.rawValue] = Connection(fd: waiting, serial: nextSerial,
                                                       peer: Peer(pid: 0, uid: 0, gid: 0), state: .awaitingAnswer)
            adoptedCall = ConnectionID(fd: waiting.rawValue, serial: nextSerial)
            nextSerial += 1
        }
    }

    /// The waiting call `init(adopting:…)` took over.
    package private(set) var adoptedCall: ConnectionID?

    /// The `logs … follow` connections with nothing left to send, for `daemon-reexec` to hand
    /// over: the units each follows, and the sequence of the last line it was sent. (One
    /// still writing its backlog to a slow reader is not handed over: it ends.)
    package var followers: [(fd: FileDescriptor, units: [String], after: UInt64)] {
        connections.values.sorted { $0.serial < $1.serial }.compactMap { connection in
            guard case .following(let units, let after) = connection.state else { return nil }
            return (connection.fd, units, after)
        }
    }

    /// A follower `followers` of the swatchd before handed over, to be sent the lines after
    /// `after` of this one's buffer. Returns the update that watches it (for its close).
    package func adoptFollower(_ fd: FileDescriptor, units: [String], after: UInt64) -> Update {
        _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
        connections[fd.rawValue] = Connection(fd: fd, serial: nextSerial, peer: Peer(pid: 0, uid: 0, gid: 0),
                                              state: .following(units: units, after: after))
        nextSerial += 1
        var update = Update()
        update.added.append(fd)
        return update
    }

    deinit {
        if !isClosed { closeDescriptors() }
    }

    /// Closes every connection and the listener, and removes the socket file (swatchd exiting).
    package func close() {
        guard !isClosed else { return }
        closeDescriptors()
        unlink(path)
    }

    private func closeDescriptors() {
        isClosed = true
        for connection in connections.values { try? connection.fd.close() }
        connections.removeAll()
        try? listeningDescriptor.close()
    }

    /// A socket file at `path` that nobody listens on is stale (swatchd was killed) and
    /// removed; one that answers belongs to a running swatchd: EADDRINUSE. Not a socket: EEXIST.
    static func removeStaleSocket(at path: String) throws(Errno) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .fileExists }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw Errno(rawValue: errno) }
        defer { Glibc.close(probe) }
        do {
            try connectUnix(probe, path: path)
        } catch {
            guard error == .connectionRefused else { throw error }
            unlink(path)
            return
        }
        throw .addressInUse
    }

    // MARK: - Policy

    /// SO_PEERCRED policy (swatchctl(1)): root and the daemon's own uid, nobody else.
    package static func isAllowed(peerUID: UInt32, daemonUID: UInt32) -> Bool {
        peerUID == 0 || peerUID == daemonUID
    }

    /// The answer to a peer `isAllowed` refuses.
    package static func refusal(daemonUID: UInt32) -> ControlResponse {
        let whom = daemonUID == 0 ? "root only" : "root and uid \(daemonUID) only"
        return .failure("Access denied: swatchd serves \(whom)")
    }

    /// The whole answer to `logs [UNIT...] N [follow]` for units the daemon knows (check that
    /// first: `.now(.unitNotFound(unit))`), or for every unit when `units` is empty: the last
    /// `lines` lines of them together from `buffer`, then, with `follow`, every new one
    /// (`publish(from:)`).
    package static func logsReply(units: [String], lines: Int, follow: Bool, from buffer: UnitLogBuffer) -> Reply {
        let mark = buffer.lastSequence
        let backlog = ControlResponse(records: buffer.entries(units: units, last: lines).map { $0.toRecord() })
        return follow ? .follow(backlog, units: units, after: mark) : .now(backlog)
    }

    // MARK: - Events

    /// Every open connection (pending, waiting for an answer, following, being refused).
    package var connectionDescriptors: [FileDescriptor] { connections.values.map(\.fd) }

    /// The earliest deadline of a connection reading its request, being refused or sending an
    /// answer, or of the accept pause (monotonic µs).
    package var nextDeadline: UInt64? {
        (connections.values.compactMap { $0.deadline } + [acceptPausedUntil].compactMap { $0 }).min()
    }

    /// Whether accepting pauses for want of descriptors (the listener is not to be watched).
    package var isAcceptPaused: Bool { acceptPausedUntil != nil }

    /// The listener is readable: accepts every waiting connection (up to a batch of 64),
    /// refuses peers the policy refuses, and serves the ones whose request is already there.
    /// `now` is CLOCK_MONOTONIC in µs (`StatusFormat.monotonicNow()`).
    package func acceptConnections(now: UInt64, handler: (Call) -> Reply) -> Update {
        var update = Update()
        guard acceptPausedUntil == nil else { return update }
        for _ in 0..<64 {
            let fd = swatch_accept4(listeningDescriptor.rawValue, nil, nil, CInt(SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue))
            if fd < 0 {
                let error = Errno(rawValue: errno)
                precondition(error != .badFileDescriptor && error != .badAddress, "accept4 misuse: \(error)")
                if error == .interrupted || error == .connectionAbort { continue }
                if error == .wouldBlock { break }
                // EMFILE/ENFILE/ENOBUFS/ENOMEM: the kernel keeps the connection queued and the
                // listener stays readable (level-triggered), so calling again at once would spin.
                // Pause instead; `expire` resumes (accept(2), ERRORS).
                acceptPausedUntil = now &+ Self.acceptPause
                update.acceptPaused = true
                if !acceptFailureReported { update.acceptError = error }
                acceptFailureReported = true
                break
            }
            acceptFailureReported = false
            let descriptor = FileDescriptor(rawValue: fd)
            // SO_PEERCRED (unix(7)): who connected, as the kernel recorded it at connect().
            var credentials = swatch_ucred()
            var length = socklen_t(MemoryLayout<swatch_ucred>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
                  length == socklen_t(MemoryLayout<swatch_ucred>.size) else {
                try? descriptor.close()
                continue
            }
            let uid = credentials.uid
            let peer = Peer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
            guard Self.isAllowed(peerUID: uid, daemonUID: daemonUID) else {
                update.refused.append(peer)
                sendBestEffort(fd, ControlServer.refusal(daemonUID: daemonUID).encoded)
                guard connections.count < Self.maximumConnections else {
                    try? descriptor.close()
                    continue
                }
                // Linger until the client closes (see State.closing).
                Glibc.shutdown(fd, Int32(SHUT_WR))
                connections[fd] = Connection(
                    fd: descriptor, serial: nextSerial, peer: peer, state: .closing(deadline: now &+ Self.requestTimeout))
                nextSerial += 1
                update.added.append(descriptor)
                continue
            }
            guard connections.count < Self.maximumConnections else {
                sendBestEffort(fd, ControlResponse.failure("Too many control connections, try again").encoded)
                try? descriptor.close()
                continue
            }
            let pending = connections.values.filter {
                if case .reading = $0.state { return true }
                return false
            }
            if pending.count >= Self.maximumPendingConnections, let oldest = pending.min(by: { $0.serial < $1.serial }) {
                let evicted = drop(oldest.fd.rawValue)
                // Announced earlier in this batch? Then it was never watched: un-announce it.
                if let index = update.added.firstIndex(of: evicted) {
                    update.added.remove(at: index)
                } else {
                    update.removed.append(evicted)
                }
            }
            connections[fd] = Connection(
                fd: descriptor, serial: nextSerial, peer: peer,
                state: .reading([], deadline: now &+ Self.requestTimeout))
            nextSerial += 1
            let first = connectionReadable(descriptor, now: now, handler: handler)
            if let state = connections[fd]?.state {
                if case .writing = state {} else { update.added.append(descriptor) }
            }
            // The connection may be gone already (served at once): it was never announced.
            update.removed += first.removed.filter { $0.rawValue != fd }
            update.writable += first.writable
            update.refused += first.refused
        }
        return update
    }

    /// A watched connection is readable: reads the request line and serves it, or notices
    /// that a waiting or following client left.
    package func connectionReadable(_ descriptor: FileDescriptor, now: UInt64, handler: (Call) -> Reply) -> Update {
        var update = Update()
        let fd = descriptor.rawValue
        guard let connection = connections[fd] else { return update }
        switch connection.state {
        case .reading(var buffer, let deadline):
            var chunk = [UInt8](repeating: 0, count: ControlRequest.maximumLineLength - buffer.count)
            let count: Int
            do {
                count = try retryingOnInterrupt { chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
            } catch {
                if error != .wouldBlock { update.removed.append(drop(fd)) }
                return update
            }
            if count == 0 {
                // The client closed its side: a line without its newline still counts.
                if buffer.isEmpty {
                    update.removed.append(drop(fd))
                } else {
                    update.merge(serve(connection, line: buffer, now: now, handler: handler))
                }
                return update
            }
            buffer += chunk[..<count]
            if let newline = buffer.firstIndex(of: 0x0A) {
                update.merge(serve(connection, line: Array(buffer[..<newline]), now: now, handler: handler))
            } else if buffer.count >= ControlRequest.maximumLineLength {
                let answer = ControlResponse.failure(
                    "Request longer than \(ControlRequest.maximumLineLength) bytes", code: ControlResponse.Code.usage)
                sendBestEffort(fd, answer.encoded)
                update.removed.append(drop(fd))
            } else {
                connections[fd]?.state = .reading(buffer, deadline: deadline)
            }
        case .writing:
            // Watched for writability only; nothing to read here.
            break
        case .awaitingAnswer, .following, .closing:
            // One exchange per connection: anything more the client sends is ignored; EOF or an
            // error means it left.
            var sink = [UInt8](repeating: 0, count: 512)
            do {
                let count = try retryingOnInterrupt { sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
                if count == 0 { update.removed.append(drop(fd)) }
            } catch {
                if error != .wouldBlock { update.removed.append(drop(fd)) }
            }
        }
        return update
    }

    /// Delivers a deferred answer (`Reply.later`) and closes the connection (once sent: see
    /// `connectionWritable`). Nothing happens when the client has left meanwhile.
    package func answer(_ id: ConnectionID, with response: ControlResponse,
                        now: UInt64 = StatusFormat.monotonicNow()) -> Update {
        guard let connection = connections[id.fd], connection.serial == id.serial,
            case .awaitingAnswer = connection.state
        else { return Update() }
        return deliver(id.fd, Array(response.encoded.utf8), now: now, thenFollow: nil)
    }

    /// A connection with an answer still to send (`Update.writable`) is writable: sends what
    /// the socket takes. Done, it is closed — or, for `logs … follow`, watched for reading again
    /// (`Update.added`) and following.
    package func connectionWritable(_ descriptor: FileDescriptor, now: UInt64) -> Update {
        let fd = descriptor.rawValue
        guard let connection = connections[fd], case .writing(let rest, _, let follow) = connection.state else {
            return Update()
        }
        return deliver(fd, rest, now: now, thenFollow: follow, rewatch: true)
    }

    /// The IDs of calls answered with `Reply.later` whose clients are still there.
    package var awaitingAnswers: [ConnectionID] {
        connections.values.compactMap { connection in
            if case .awaitingAnswer = connection.state { return ConnectionID(fd: connection.fd.rawValue, serial: connection.serial) }
            return nil
        }
    }

    /// Sends every follower the lines of its units added to `buffer` since it was last sent
    /// some, one `UnitLogEntry` record each. A follower that cannot take them at once
    /// (EAGAIN: it stopped reading; EPIPE: it left) is dropped — the daemon never waits on
    /// a reader.
    package func publish(from buffer: UnitLogBuffer) -> Update {
        var update = Update()
        guard buffer.lastSequence > 0 else { return update }
        for (fd, connection) in connections {
            guard case .following(let units, let after) = connection.state, buffer.lastSequence > after else { continue }
            let entries = buffer.entries(units: units, after: after)
            guard let last = entries.last else { continue }
            let text = entries.map { $0.toRecord().encoded }.joined()
            if case .complete = sendNonBlocking(fd, Array(text.utf8)) {
                connections[fd]?.state = .following(units: units, after: last.sequence)
            } else {
                update.removed.append(drop(fd))
            }
        }
        return update
    }

    /// Closes connections whose request line did not arrive by their deadline, refused ones
    /// whose client did not close in time and ones whose client stopped reading its answer;
    /// ends the accept pause when due.
    package func expire(now: UInt64) -> Update {
        var update = Update()
        if let until = acceptPausedUntil, until <= now {
            acceptPausedUntil = nil
            update.acceptResumed = true
        }
        for (fd, connection) in connections {
            guard let deadline = connection.deadline, deadline <= now else { continue }
            if case .reading = connection.state {
                let answer = ControlResponse.failure("Timed out waiting for the request", code: ControlResponse.Code.usage)
                sendBestEffort(fd, answer.encoded)
            }
            update.removed.append(drop(fd))
        }
        return update
    }

    // MARK: - Serving

    private func serve(_ connection: Connection, line: [UInt8], now: UInt64, handler: (Call) -> Reply) -> Update {
        var update = Update()
        let fd = connection.fd.rawValue
        let request: ControlRequest
        do {
            request = try ControlRequest(line: String(decoding: line, as: UTF8.self))
        } catch {
            let answer = ControlResponse.failure(error.description, code: ControlResponse.Code.usage)
            return deliver(fd, Array(answer.encoded.utf8), now: now, thenFollow: nil)
        }
        let call = Call(request: request, peer: connection.peer, id: ConnectionID(fd: fd, serial: connection.serial))
        switch handler(call) {
        case .now(let response):
            update.merge(deliver(fd, Array(response.encoded.utf8), now: now, thenFollow: nil))
        case .later:
            connections[fd]?.state = .awaitingAnswer
        case .follow(let response, let units, let after):
            let follow = response.result == ControlResponse.Code.success ? (units: units, after: after) : nil
            update.merge(deliver(fd, Array(response.encoded.utf8), now: now, thenFollow: follow))
        }
        return update
    }

    /// Forgets and closes a connection; returns its descriptor for `Update.removed`.
    private func drop(_ fd: Int32) -> FileDescriptor {
        let descriptor = connections.removeValue(forKey: fd)?.fd ?? FileDescriptor(rawValue: fd)
        try? descriptor.close()
        return descriptor
    }

    private enum SendOutcome {
        case complete
        case partial(sent: Int)
        case failed
    }

    /// Sends what the socket takes without blocking.
    private func sendNonBlocking(_ fd: Int32, _ bytes: [UInt8]) -> SendOutcome {
        var offset = 0
        while offset < bytes.count {
            do {
                offset += try retryingOnInterrupt {
                    bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                }
            } catch {
                return error == .wouldBlock ? .partial(sent: offset) : .failed
            }
        }
        return .complete
    }

    /// Sends an answer, or what the socket takes of it: the rest waits in `.writing` for the
    /// connection to be writable (`Update.writable`, or nothing new when it is watched so
    /// already: `rewatch`), at most `stalledAnswerTimeout` without progress. Once all is sent
    /// the connection is closed, or follows units' logs (`follow`, watched for reading again).
    /// Never blocks: a client that stops reading costs the daemon memory for its answer, not time.
    private func deliver(_ fd: Int32, _ bytes: [UInt8], now: UInt64,
                         thenFollow follow: (units: [String], after: UInt64)?, rewatch: Bool = false) -> Update {
        var update = Update()
        switch sendNonBlocking(fd, bytes) {
        case .complete:
            if let follow {
                connections[fd]?.state = .following(units: follow.units, after: follow.after)
                if rewatch { update.added.append(connections[fd]!.fd) }
            } else {
                update.removed.append(drop(fd))
            }
        case .failed:
            update.removed.append(drop(fd))
        case .partial(let sent):
            guard let descriptor = connections[fd]?.fd else { return update }
            if case .writing(_, let deadline, _) = connections[fd]!.state, sent == 0 {
                // No progress: the stall deadline stands.
                connections[fd]?.state = .writing(bytes, deadline: deadline, follow: follow)
            } else {
                connections[fd]?.state = .writing(Array(bytes[sent...]), deadline: now &+ Self.stalledAnswerTimeout,
                                                  follow: follow)
            }
            if !rewatch { update.writable.append(descriptor) }
        }
        return update
    }

    /// For refusals and errors on a connection about to be closed: what fits, no waiting.
    private func sendBestEffort(_ fd: Int32, _ text: String) {
        _ = sendNonBlocking(fd, Array(text.utf8))
    }
}
