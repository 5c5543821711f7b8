import CSystemd
import Glibc

/// An fd handed over through the sd_listen_fds protocol: its number (3, 4, …)
/// and its name from LISTEN_FDNAMES.
struct PassedFD {
    var number: Int32
    var name: String
}

/// The HTTP "Hello World!" server. One thread, one poll(2) over the
/// listening sockets, the open connections and a wake-up pipe that the
/// SIGTERM/SIGINT handler writes to; the poll timeout is the next watchdog ping.
final class Server {
    /// The answer to every request (the seed's Elixir release answers the same).
    static let response = Array((
        "HTTP/1.1 200 OK\r\n" +
        "Content-Type: text/plain\r\n" +
        "Content-Length: 13\r\n" +
        "Connection: close\r\n" +
        "\r\n" +
        "Hello World!\n"
    ).utf8)

    /// How long a stop waits for the accepted connections to be answered.
    static let drainMilliseconds: Int64 = 5000

    /// Requests larger than this are dropped unanswered: a hello server has
    /// no business buffering more.
    static let maximumRequestBytes = 64 * 1024

    /// An accepted connection and the bytes of its request read so far.
    private struct Connection {
        var fd: Int32
        var request: [UInt8] = []
    }

    /// Listening stream sockets. Owned by whoever passed them: never closed here.
    private let listeners: [Int32]
    /// Accepted connections, or a connected socket that was passed in
    /// (Accept=yes). Owned here and closed after the answer.
    private var connections: [Connection]
    /// The read end of the wake-up pipe; readable means "stop".
    private let wakeFD: Int32
    /// Half of WATCHDOG_USEC in milliseconds, or nil for no pings.
    private let watchdogInterval: Int64?
    /// Exit (with `exitCode`) after answering this many requests.
    private let exitAfterRequests: Int?
    private let exitCode: Int32
    private var answered = 0

    init(
        listeners: [Int32], connections: [Int32], wakeFD: Int32,
        watchdogInterval: Int64?, exitAfterRequests: Int?, exitCode: Int32
    ) {
        self.listeners = listeners
        self.connections = connections.map { Connection(fd: Server.prepare($0)) }
        self.wakeFD = wakeFD
        self.watchdogInterval = watchdogInterval
        self.exitAfterRequests = exitAfterRequests
        self.exitCode = exitCode
    }

    /// Sorts the passed fds: listening stream sockets are served, a connected
    /// stream socket (an Accept=yes instance) is answered once, anything else
    /// (datagram, sequential-packet, FIFO) is left alone.
    static func classify(_ passed: [PassedFD]) -> (listeners: [Int32], connections: [Int32]) {
        var listeners: [Int32] = [], connections: [Int32] = []
        for fd in passed {
            guard Posix.socketOption(fd.number, level: SOL_SOCKET, name: SO_TYPE) == Int32(SOCK_STREAM.rawValue)
            else { continue }
            if Posix.socketOption(fd.number, level: SOL_SOCKET, name: SO_ACCEPTCONN) == 1 {
                listeners.append(fd.number)
            } else {
                connections.append(fd.number)
            }
        }
        return (listeners, connections)
    }

    /// Serves until told to stop; returns the exit status.
    func run() -> Int32 {
        var nextPing = watchdogInterval.map { Posix.monotonicMilliseconds() + $0 }
        // Told to stop: no new connection is accepted (the listeners stay with
        // the supervisor, whose next process takes what waits in the backlog),
        // the accepted ones are answered, for at most `drainMilliseconds`.
        var drainUntil: Int64?
        while true {
            if let until = drainUntil, connections.isEmpty || Posix.monotonicMilliseconds() >= until { return 0 }
            let watching = drainUntil == nil ? [wakeFD] + listeners : []
            var polled = watching.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            polled += connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            var timeout: Int32 = -1
            if let nextPing {
                timeout = Int32(clamping: max(0, nextPing - Posix.monotonicMilliseconds()))
            }
            if let until = drainUntil {
                let left = Int32(clamping: max(0, until - Posix.monotonicMilliseconds()))
                timeout = timeout < 0 ? left : min(timeout, left)
            }
            let ready = poll(&polled, nfds_t(polled.count), timeout)
            if ready < 0 && errno != EINTR {
                Posix.log("Failed to poll: \(Posix.describe(errno: errno))")
                return 1
            }
            if let interval = watchdogInterval, let due = nextPing, Posix.monotonicMilliseconds() >= due {
                sd_notify(0, "WATCHDOG=1")
                nextPing = due + interval
            }
            guard ready > 0 else { continue }
            if drainUntil == nil {
                if polled[0].revents != 0 {
                    sd_notify(0, "STOPPING=1")
                    drainUntil = Posix.monotonicMilliseconds() + Server.drainMilliseconds
                    continue
                }
                for (index, listener) in listeners.enumerated() where polled[1 + index].revents != 0 {
                    acceptConnection(on: listener)
                }
            }
            // Connections first, then the ones just accepted (read next round).
            let firstConnection = watching.count
            let readable = Set(polled[firstConnection...].filter { $0.revents != 0 }.map(\.fd))
            for fd in readable {
                if let status = serve(fd) { return status }
            }
        }
    }

    private func acceptConnection(on listener: Int32) {
        let fd = accept(listener, nil, nil)
        // EAGAIN: another process took it; EMFILE and friends: the client
        // waits in the backlog and is served when a connection closes.
        guard fd >= 0 else { return }
        connections.append(Connection(fd: Server.prepare(fd)))
    }

    /// Reads what is there; answers and closes once the request's blank line
    /// has arrived. Returns an exit status when `--exit-after` is reached.
    private func serve(_ fd: Int32) -> Int32? {
        guard let index = connections.firstIndex(where: { $0.fd == fd }) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return nil }
        guard count > 0 else {
            finish(at: index)  // the client went away, or an error: nothing to answer
            return nil
        }
        connections[index].request += buffer[..<count]
        let request = connections[index].request
        guard Server.isComplete(request) else {
            if request.count > Server.maximumRequestBytes { finish(at: index) }
            return nil
        }
        send(Server.response, to: fd)
        finish(at: index)
        answered += 1
        if let limit = exitAfterRequests, answered >= limit {
            return exitCode
        }
        // An Accept=yes instance is handed one connection and no listener:
        // once it is answered there is nothing left to serve.
        if listeners.isEmpty && connections.isEmpty { return 0 }
        return nil
    }

    /// True once the header block has ended with an empty line (CRLF CRLF,
    /// or bare LF LF as lenient servers accept).
    static func isComplete(_ request: [UInt8]) -> Bool {
        let cr: UInt8 = 13, lf: UInt8 = 10
        for end in request.indices.dropFirst() where request[end] == lf {
            if request[end - 1] == lf { return true }
            if end >= 3 && request[end - 1] == cr && request[end - 2] == lf && request[end - 3] == cr { return true }
        }
        return false
    }

    private func send(_ bytes: [UInt8], to fd: Int32) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno == EINTR { continue }
            // EAGAIN on a 100-byte answer means a peer that stopped reading: drop it.
            guard count > 0 else { return }
            sent += count
        }
    }

    private func finish(at index: Int) {
        let fd = connections.remove(at: index).fd
        shutdown(fd, Int32(SHUT_WR))
        close(fd)
    }

    /// Marks a connection close-on-exec and non-blocking (its own file
    /// description; the listeners' flags are shared with the supervisor and
    /// stay as they are).
    private static func prepare(_ fd: Int32) -> Int32 {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }
}
