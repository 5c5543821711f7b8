import Foundation
import Glibc
import Synchronization
import SystemPackage
import Testing
@testable import SwatchCore

// MARK: - Helpers (also used by SwatchctlTests)

/// A temporary directory with a short path: unix socket paths must stay under 108 bytes.
final class ShortTemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/swc.XXXXXX".utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a blocking body (a ControlClient, which blocks by design) on its own thread.
final class Background<Value: Sendable>: Sendable {
    private final class Slot: Sendable {
        let value = Mutex<Value?>(nil)
    }
    private let slot = Slot()

    init(_ body: @escaping @Sendable () -> Value) {
        Thread.detachNewThread { [slot] in
            let value = body()
            slot.value.withLock { $0 = value }
        }
    }

    var value: Value? { slot.value.withLock { $0 } }
    var isDone: Bool { value != nil }
}

/// The daemon's side in a test: polls what the server asks to be watched and calls it
/// back, as the real event loop does, until a condition holds.
final class ServerLoop {
    let server: ControlServer
    var handler: (ControlServer.Call) -> ControlServer.Reply
    var unitLog: UnitLogBuffer?
    private(set) var watched: [FileDescriptor] = []
    private(set) var refused: [ControlServer.Peer] = []
    private(set) var calls: [ControlRequest] = []

    init(server: ControlServer, handler: @escaping (ControlServer.Call) -> ControlServer.Reply) {
        self.server = server
        self.handler = handler
    }

    /// Connections with an answer still to send: polled for POLLOUT instead of POLLIN.
    private(set) var writing: [FileDescriptor] = []

    func apply(_ update: ControlServer.Update) {
        watched.removeAll { update.removed.contains($0) || update.writable.contains($0) }
        writing.removeAll { update.removed.contains($0) || update.added.contains($0) }
        watched += update.added
        writing += update.writable
        refused += update.refused
    }

    /// One poll(2) round of at most `milliseconds`.
    func turn(milliseconds: Int32 = 50) {
        var fds = [pollfd(fd: server.listeningDescriptor.rawValue, events: Int16(POLLIN), revents: 0)]
        fds += watched.map { pollfd(fd: $0.rawValue, events: Int16(POLLIN), revents: 0) }
        fds += writing.map { pollfd(fd: $0.rawValue, events: Int16(POLLOUT), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), milliseconds)
        let now = StatusFormat.monotonicNow()
        let recordingHandler: (ControlServer.Call) -> ControlServer.Reply = { call in
            self.calls.append(call.request)
            return self.handler(call)
        }
        for entry in fds where entry.revents != 0 {
            if entry.fd == server.listeningDescriptor.rawValue {
                apply(server.acceptConnections(now: now, handler: recordingHandler))
            } else if entry.events == Int16(POLLOUT) {
                apply(server.connectionWritable(FileDescriptor(rawValue: entry.fd), now: now))
            } else {
                apply(server.connectionReadable(FileDescriptor(rawValue: entry.fd), now: now, handler: recordingHandler))
            }
        }
        if let unitLog { apply(server.publish(from: unitLog)) }
    }

    /// Turns until `condition` holds; false when `seconds` passed first.
    @discardableResult
    func run(until condition: () -> Bool, seconds: Double = 10) -> Bool {
        let deadline = StatusFormat.monotonicNow() + UInt64(seconds * 1_000_000)
        while !condition() {
            if StatusFormat.monotonicNow() > deadline { return false }
            turn()
        }
        return true
    }
}

/// A raw client socket, for what ControlClient never does (send nothing, send half a line).
struct RawClient {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try connectUnix(fd, path: path)
    }

    func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }

    /// Reads until EOF, waiting at most `seconds` for each chunk.
    func readAll(seconds: Int = 5) -> String {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}

private let helloReport = UnitStatusReport(
    id: "hello.service", description: "Hello World service", fragmentPath: "/etc/swatchd/hello.service",
    activeState: .active, subState: "running", mainPID: 4242,
    triggeredBy: [UnitReference(name: "hello.socket", activeState: .active)])

// MARK: - Tests

@Suite struct ControlServerTests {
    @Test func servesOneRequestAndClosesTheConnection() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { call in
            guard case .status(let units, _) = call.request, units == ["hello.service"] else {
                return .now(.failure("unexpected request"))
            }
            return .now(ControlResponse(records: [helloReport.toRecord()]))
        }
        let client = ControlClient(path: server.path)
        let answer = Background { Result { try client.send(.status(units: ["hello.service"])) } }
        #expect(loop.run(until: { answer.isDone }))
        let response = try answer.value!.get()
        #expect(response.result == 0)
        #expect(try UnitStatusReport(record: response.records[0]) == helloReport)
        #expect(server.connectionDescriptors.isEmpty)
        #expect(loop.watched.isEmpty)
    }

    @Test func socketFileIsForTheOwnerOnly() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        var info = stat()
        #expect(stat(server.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        server.close()
        #expect(access(server.path, F_OK) != 0, "close() removes the socket file")
    }

    @Test func staleSocketIsReplacedButALiveOneIsNot() throws {
        let directory = ShortTemporaryDirectory()
        let path = directory.path + "/control"
        // A socket file nobody listens on, as a killed swatchd leaves it.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var (address, length) = try unixSocketAddress(path)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, length) } }
        close(stale)
        let server = try ControlServer(path: path)

        #expect(throws: ControlServer.SetupError(operation: "bind", path: path, errno: .addressInUse)) {
            _ = try ControlServer(path: path)
        }
        // The live server still answers.
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse()) }
        let answer = Background { Result { try ControlClient(path: path).send(.listUnits) } }
        #expect(loop.run(until: { answer.isDone }))
        #expect(try answer.value!.get().result == 0)

        let regular = directory.path + "/file"
        _ = FileManager.default.createFile(atPath: regular, contents: Data())
        #expect(throws: ControlServer.SetupError(operation: "bind", path: regular, errno: .fileExists)) {
            _ = try ControlServer(path: regular)
        }
    }

    @Test func aClientThatSaysNothingNeitherBlocksTheDaemonNorStays() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse()) }
        let silent = try RawClient(path: server.path)
        defer { silent.close() }

        // Accepting the silent client returns at once and leaves it pending.
        let started = StatusFormat.monotonicNow()
        loop.turn()
        #expect(StatusFormat.monotonicNow() - started < 500_000)
        #expect(loop.watched.count == 1)
        #expect(server.nextDeadline != nil)

        // Meanwhile another client is served.
        let client = ControlClient(path: server.path)
        let answer = Background { Result { try client.send(.listUnits) } }
        #expect(loop.run(until: { answer.isDone }))
        #expect(try answer.value!.get().result == 0)

        // At its deadline the silent one is told and closed.
        loop.apply(server.expire(now: server.nextDeadline!))
        #expect(loop.watched.isEmpty)
        #expect(server.nextDeadline == nil)
        let text = silent.readAll()
        #expect(text == "RESULT=64\nERROR=Timed out waiting for the request\n\n")
    }

    @Test func aRequestLineMayArriveInPieces() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse(result: 3)) }
        let client = try RawClient(path: server.path)
        defer { client.close() }
        client.send("is-act")
        #expect(loop.run(until: { loop.watched.count == 1 }))
        loop.turn()
        #expect(loop.calls.isEmpty)
        client.send("ive hello.service\n")
        #expect(loop.run(until: { !loop.calls.isEmpty }))
        #expect(loop.calls == [.isActive(unit: "hello.service")])
        #expect(client.readAll() == "RESULT=3\n\n")
    }

    @Test func malformedAndOverlongRequestsGetAUsageError() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse()) }

        let unknown = try RawClient(path: server.path)
        defer { unknown.close() }
        unknown.send("frobnicate hello.service\n")
        let answer = Background { [unknown] in unknown.readAll() }
        #expect(loop.run(until: { answer.isDone }))
        #expect(answer.value == "RESULT=64\nERROR=Unknown command 'frobnicate'\n\n")

        let long = try RawClient(path: server.path)
        defer { long.close() }
        long.send(String(repeating: "a", count: ControlRequest.maximumLineLength + 10))
        let text = Background { [long] in long.readAll() }
        #expect(loop.run(until: { text.isDone }))
        #expect(text.value == "RESULT=64\nERROR=Request longer than 4096 bytes\n\n")
        #expect(loop.calls.isEmpty)
    }

    @Test func aDeferredAnswerArrivesWhenTheDaemonKnows() throws {
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
        #expect(server.awaitingAnswers == [pending!])
        loop.turn()
        #expect(!answer.isDone)
        loop.apply(server.answer(pending!, with: .failure("Job for hello.service failed.")))
        #expect(loop.run(until: { answer.isDone }))
        #expect(try answer.value!.get() == ControlResponse(result: 1, errors: ["Job for hello.service failed."]))
        #expect(server.awaitingAnswers.isEmpty && loop.watched.isEmpty)
        // A second answer to the same call is ignored.
        #expect(server.answer(pending!, with: ControlResponse()).isEmpty)
    }

    @Test func followersGetTheirUnitsNewLinesUntilTheyLeave() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let log = UnitLogBuffer()
        log.append(unit: "hello.service", message: "old line", identifier: "hello.service", pid: 7)
        let loop = ServerLoop(server: server) { call in
            guard case .logs(let units, let count, let follow) = call.request else { return .now(.failure("unexpected")) }
            return ControlServer.logsReply(units: units, lines: count, follow: follow, from: log)
        }
        loop.unitLog = log
        let client = ControlClient(path: server.path)
        let received = Background { () -> Result<[String], ControlClient.Failure> in
            var lines: [String] = []
            do throws(ControlClient.Failure) {
                try client.stream(.logs(units: ["hello.service"], lines: 10, follow: true)) { event in
                    if case .record(let record) = event { lines.append(record["LINE"]!) }
                    return lines.count < 3
                }
            } catch {
                return .failure(error)
            }
            return .success(lines)
        }
        #expect(loop.run(until: { !loop.calls.isEmpty }))
        log.append(unit: "other.service", message: "not for this follower", identifier: "other.service", pid: 8)
        log.append(unit: "hello.service", message: "new line 1", identifier: "hello.service", pid: 7)
        loop.turn()
        log.append(unit: "hello.service", message: "new line 2", identifier: "hello.service", pid: 7)
        #expect(loop.run(until: { received.isDone }))
        #expect(try received.value!.get() == ["old line", "new line 1", "new line 2"])
        // The client closed after its third line: the server notices and lets go.
        #expect(loop.run(until: { server.connectionDescriptors.isEmpty }))
        #expect(loop.watched.isEmpty)
    }

    @Test func logsReplyAnswersTheLastLinesAndFollowsFromThere() {
        let log = UnitLogBuffer()
        for i in 1...5 { log.append(unit: "a.service", message: "l\(i)", identifier: "a.service", pid: 1) }
        guard case .now(let response) = ControlServer.logsReply(units: ["a.service"], lines: 2, follow: false, from: log) else {
            Issue.record("logs without follow is answered at once")
            return
        }
        #expect(response.records.map { $0["LINE"] } == ["l4", "l5"])
        guard case .follow(let backlog, ["a.service"], let after) = ControlServer.logsReply(units: ["a.service"], lines: 1, follow: true, from: log)
        else {
            Issue.record("logs with follow keeps the connection")
            return
        }
        #expect(backlog.records.map { $0["LINE"] } == ["l5"])
        #expect(after == log.lastSequence)
    }

    @Test func policyServesRootAndTheDaemonsOwnUIDOnly() {
        #expect(ControlServer.isAllowed(peerUID: 0, daemonUID: 1000))
        #expect(ControlServer.isAllowed(peerUID: 1000, daemonUID: 1000))
        #expect(!ControlServer.isAllowed(peerUID: 1001, daemonUID: 1000))
        #expect(!ControlServer.isAllowed(peerUID: 65534, daemonUID: 0))
        #expect(ControlServer.refusal(daemonUID: 1000).encoded == "RESULT=1\nERROR=Access denied: swatchd serves root and uid 1000 only\n\n")
        #expect(ControlServer.refusal(daemonUID: 0).errors == ["Access denied: swatchd serves root only"])
    }

    /// swatchctl run as nobody is refused and changes nothing (swatchctl(1)). The socket is made
    /// world-writable here so that the SO_PEERCRED check, not the file mode, is what refuses.
    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0 && access("/usr/bin/python3", X_OK) == 0))
    func aPeerWithAnotherUIDIsRefusedAndNothingHappens() throws {
        let directory = ShortTemporaryDirectory()
        chmod(directory.path, 0o755)
        let server = try ControlServer(path: directory.path + "/control", daemonUID: 1234)
        chmod(server.path, 0o666)
        let loop = ServerLoop(server: server) { _ in .now(ControlResponse()) }
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sys.argv[1])
            s.sendall(b"stop hello.service\\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            sys.stdout.write(data.decode())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, server.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        #expect(loop.run(until: { !process.isRunning }))
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == "RESULT=1\nERROR=Access denied: swatchd serves root and uid 1234 only\n\n")
        #expect(loop.calls.isEmpty, "the request never reached the daemon")
        #expect(loop.refused.map(\.uid) == [65534])
        #expect(loop.run(until: { loop.watched.isEmpty }), "the refused connection is closed once the client left")
    }
}
