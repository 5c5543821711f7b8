// Accept=yes (systemd.socket(5), DESIGN §4): one instance of NAME@.service per
// connection, the connection as fd 3 named `connection` or, with
// StandardInput=socket, on stdin/stdout; REMOTE_ADDR/REMOTE_PORT set;
// MaxConnections= refuses the excess while the listener keeps serving.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct AcceptTests {
        @Test(.timeLimit(.minutes(1)))
        func eachConnectionGetsItsOwnInetdStyleInstance() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start()
            #expect(daemon.children.isEmpty)
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(5))
            defer { close(first) }
            let second = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(5))
            defer { close(second) }
            try Client.write("one\n", to: first)
            try Client.write("two\n", to: second)
            #expect(try Client.readLine(first) == "one")
            #expect(try Client.readLine(second) == "two")
            #expect(try daemon.waitForChildren(2).count == 2)
        }

        @Test(.timeLimit(.minutes(1)))
        func theConnectionIsFdThreeNamedConnectionWithTheRemoteAddress() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let report = daemon.path("report")
            try daemon.write("web.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("web@.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello")) --report \(report)\n")
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["LISTEN_FDNAMES"] == "connection")
            #expect(seen["FDS"] == "0,1,2,3")
            let names = Set((seen["ENV"] ?? "").split(separator: ",").map(String.init))
            #expect(names.isSuperset(of: ["REMOTE_ADDR", "REMOTE_PORT"]), "\(seen)")
        }

        @Test(.timeLimit(.minutes(1)))
        func maxConnectionsRefusesTheExcessAndServesAgainAfterwards() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try daemon.write("echo.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\nMaxConnections=1\n")
            try daemon.write("echo@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
            try daemon.start()
            let held = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(5))
            try Client.write("held\n", to: held)
            #expect(try Client.readLine(held) == "held")
            // The second connection is accepted and closed at once: EOF, no echo.
            let excess = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(5))
            defer { close(excess) }
            try? Client.write("excess\n", to: excess)
            #expect((try? Client.readLine(excess)) ?? nil == nil)
            _ = try daemon.waitForLog(containing: "Too many incoming connections")
            // Once the first instance is gone, a new connection is served.
            close(held)
            try daemon.waitForChildren(0)
            let again = try Client.connect(.loopback4(port), type: SOCK_STREAM, timeout: .seconds(5))
            defer { close(again) }
            try Client.write("again\n", to: again)
            #expect(try Client.readLine(again) == "again")
        }
    }
}
