import Testing
@testable import SwatchCore

/// MaxConnectionsPerSource= (systemd.socket(5); socket_enter_running() in src/core/socket.c):
/// with Accept=yes, a connection from a source that already has that many instances
/// running is closed at once and logged.
@Suite struct MaxConnectionsPerSourceTests {
    let socket = UnitName(parsing: "echo.socket")!

    func connection(_ id: Int, from address: String?, uid: UInt32? = nil) -> AcceptedConnectionInfo {
        AcceptedConnectionInfo(id: id, remoteAddress: address, remotePort: address.map { _ in UInt16(40000 + id) },
                               localAddress: "127.0.0.1", localPort: 7, peer: uid.map { (pid: 1000, uid: $0) })
    }

    func shell(_ extra: String) -> ScriptedShell {
        ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n\(extra)",
                       "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
    }

    @Test func aSecondConnectionFromTheSameSourceIsRefusedAnotherSourceIsServed() {
        var s = shell("MaxConnectionsPerSource=1\n")
        _ = s.take()
        s.send(.connectionsAccepted(socket, [connection(1, from: "127.0.0.1")]))
        #expect(s.spawns(s.take()).count == 1)
        s.send(.connectionsAccepted(socket, [connection(2, from: "127.0.0.1")]))
        let refused = s.take()
        #expect(s.spawns(refused).isEmpty)
        #expect(refused.contains { if case .closeConnection(2) = $0 { return true } else { return false } })
        #expect(s.logs(refused).contains("echo.socket: Too many incoming connections (2) from source 127.0.0.1, dropping connection."))
        s.send(.connectionsAccepted(socket, [connection(3, from: "127.0.0.2")]))
        #expect(s.spawns(s.take()).count == 1, "another address has its own count")
        // Once the first instance is gone, its source has room again.
        s.exit(100, .exited(0))
        s.send(.connectionsAccepted(socket, [connection(4, from: "127.0.0.1")]))
        #expect(s.spawns(s.take()).count == 1)
    }

    @Test func aUnixPeerCountsByItsUID() {
        var s = shell("MaxConnectionsPerSource=1\n")
        _ = s.take()
        s.send(.connectionsAccepted(socket, [connection(1, from: nil, uid: 1000), connection(2, from: nil, uid: 1000),
                                             connection(3, from: nil, uid: 0)]))
        let actions = s.take()
        #expect(s.spawns(actions).count == 2)
        #expect(s.logs(actions).contains("echo.socket: Too many incoming connections (2) from source UID 1000, dropping connection."))
    }

    /// systemctl's NAccepted=, NConnections= and NRefused= (socket_enter_running(),
    /// src/core/socket.c): a connection refused for MaxConnectionsPerSource= or MaxConnections=
    /// is counted, one served is accepted and connected until its instance ends.
    @Test func theSocketCountsWhatItAcceptedAndRefused() throws {
        var s = shell("MaxConnectionsPerSource=1\nMaxConnections=2\n")
        _ = s.take()
        s.send(.connectionsAccepted(socket, [connection(1, from: "127.0.0.1"), connection(2, from: "127.0.0.1"),
                                             connection(3, from: "127.0.0.2"), connection(4, from: "127.0.0.3")]))
        #expect(s.spawns(s.take()).count == 2)
        func counts() throws -> SocketConnections? {
            let actions = s.request(.status(units: ["echo.socket"]))
            let reports = actions.compactMap { if case .reply(_, .reports(let r, _, _)) = $0 { r } else { nil } }
            return try #require(reports.first?.first).connections
        }
        #expect(try counts() == SocketConnections(accept: true, accepted: 2, connected: 2, refused: 2))
        s.exit(100, .exited(0))
        #expect(try counts() == SocketConnections(accept: true, accepted: 2, connected: 1, refused: 2))
    }

    @Test func noLimitByDefault() {
        var s = shell("")
        _ = s.take()
        s.send(.connectionsAccepted(socket, (1...5).map { connection($0, from: "127.0.0.1") }))
        #expect(s.spawns(s.take()).count == 5)
    }
}
