import Glibc
import Testing
@testable import SwatchCore

/// ControlClient against a daemon that closes a connection before answering it, as swatchd
/// does when it re-executes itself with a request still unread (swatchd(8), RE-EXECUTION):
/// the request goes once more, and only then; an answer cut short is not sent again.
@Suite struct ControlClientTests {
    /// A listening socket standing in for swatchd's control socket, driven by the test.
    private final class FakeDaemon {
        let directory = ShortTemporaryDirectory()
        let path: String
        let fd: Int32

        init() throws {
            path = directory.path + "/control"
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var (address, length) = try unixSocketAddress(path)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            precondition(bound == 0 && listen(fd, 8) == 0)
        }

        deinit { close(fd) }

        /// The next connection, once its request has arrived (5 s at most); -1 if none.
        func acceptWithRequest() -> Int32 {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 5000) == 1 else { return -1 }
            // accept4(2) is not in Glibc's module, and importing CSwatch here would give its
            // module sys/socket.h's names, which the other files of these tests take from Glibc.
            let connection = accept(fd, nil, nil)
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            var readable = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            _ = poll(&readable, 1, 5000)
            return connection
        }

        /// Whether another connection waits, now (the client is done: it would be queued already).
        var hasAnotherConnection: Bool {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&poller, 1, 0) == 1
        }
    }

    private func readRequest(_ connection: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(connection, &buffer, buffer.count)
        return String(decoding: buffer[..<max(count, 0)], as: UTF8.self)
    }

    /// The client's exchange, on a thread of its own (it blocks).
    private func send(_ request: ControlRequest, to daemon: FakeDaemon) -> Background<Result<ControlResponse, ControlClient.Failure>> {
        let path = daemon.path
        return Background { Result { () throws(ControlClient.Failure) in try ControlClient(path: path, timeout: .seconds(5)).send(request) } }
    }

    private func waitFor<T>(_ background: Background<T>) -> T? {
        let deadline = StatusFormat.monotonicNow() + 5_000_000
        while !background.isDone && StatusFormat.monotonicNow() < deadline { usleep(1000) }
        return background.value
    }

    @Test func aRequestClosedUnreadGoesOnceMoreToTheNextProcess() throws {
        let daemon = try FakeDaemon()
        let answer = send(.listUnits, to: daemon)
        // Closed with the request unread: the client's recv gets ECONNRESET.
        let first = daemon.acceptWithRequest()
        #expect(first >= 0)
        close(first)
        let second = daemon.acceptWithRequest()
        #expect(second >= 0)
        #expect(readRequest(second) == ControlRequest.listUnits.line + "\n")
        let reply = ControlResponse(records: [["UNIT": "hello.service"]])
        _ = reply.encoded.withCString { write(second, $0, strlen($0)) }
        close(second)
        let result = try #require(waitFor(answer))
        #expect(try result.get().records.map { $0["UNIT"] } == ["hello.service"])
        #expect(!daemon.hasAnotherConnection)
    }

    @Test func aRequestClosedUnansweredTwiceIsNotSentAThirdTime() throws {
        let daemon = try FakeDaemon()
        let answer = send(.listUnits, to: daemon)
        for _ in 0..<2 {
            let connection = daemon.acceptWithRequest()
            #expect(connection >= 0)
            _ = readRequest(connection)  // read, then closed: the client sees EOF
            close(connection)
        }
        let result = try #require(waitFor(answer))
        #expect(throws: ControlClient.Failure.closedEarly) { try result.get() }
        #expect(!daemon.hasAnotherConnection)
    }

    /// `daemon-reexec` closed unanswered ran all the same (a new process that could not take the
    /// state over starts afresh without the caller): not sent again.
    @Test func aReexecClosedUnansweredIsNotSentAgain() throws {
        let daemon = try FakeDaemon()
        let answer = send(.daemonReexec, to: daemon)
        let connection = daemon.acceptWithRequest()
        #expect(connection >= 0)
        #expect(readRequest(connection) == ControlRequest.daemonReexec.line + "\n")
        close(connection)
        let result = try #require(waitFor(answer))
        #expect(throws: ControlClient.Failure.closedEarly) { try result.get() }
        #expect(!daemon.hasAnotherConnection)
    }

    /// Part of an answer arrived: the request ran, and is not sent again.
    @Test func anAnswerCutShortIsNotAskedForAgain() throws {
        let daemon = try FakeDaemon()
        let answer = send(.listUnits, to: daemon)
        let connection = daemon.acceptWithRequest()
        #expect(connection >= 0)
        _ = readRequest(connection)
        _ = "UNIT=hello.service\n".withCString { write(connection, $0, strlen($0)) }
        close(connection)
        let result = try #require(waitFor(answer))
        #expect(throws: ControlClient.Failure.closedEarly) { try result.get() }
        #expect(!daemon.hasAnotherConnection)
    }
}
