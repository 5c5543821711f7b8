// X-IdleStopSec= and `swatchd run --exit-idle` (swatchd.service(5)): a
// socket-activated service with no connection for that long is stopped; its
// port stays listening (checked with ss, without connecting) and the next
// connection starts it again; an open connection keeps it running.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct IdleStopTests {
        /// Whether something listens on 127.0.0.1/[::]:port, as `ss -ltn` sees it (no connection made).
        private func listening(_ port: UInt16) throws -> Bool {
            let ss = try Command.run(["/usr/bin/ss", "-Hltn", "sport = :\(port)"])
            return !ss.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }

        @Test(.timeLimit(.minutes(1)))
        func anIdleServiceStopsAndTheNextConnectionStartsItAgain() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report) + "\nX-IdleStopSec=1s\n")
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let first = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))

            try waitUntil("the idle service \(first) is stopped\n\(daemon.log)") { !Processes.isAlive(first) }
            try daemon.waitForLog(containing: "hello.service: No connection for 1s; stopping it")
            #expect(try daemon.property("ActiveState", of: "hello.service") == "inactive")
            #expect(try listening(port), "the socket stays bound")

            try FileManager.default.removeItem(atPath: report)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let second = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            #expect(second != first)
        }

        @Test(.timeLimit(.minutes(1)))
        func anOpenConnectionKeepsItRunning() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report) + "\nX-IdleStopSec=1s\n")
            try daemon.start(logLevel: "debug")
            // A connection held open (no request sent): the service accepted it.
            let held = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(held) }
            let pid = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            // Two idle periods pass with the connection open: looked at twice, and kept.
            try waitUntil("two idle checks saw the connection\n\(daemon.log)", timeout: .seconds(10)) {
                daemon.logLines(containing: "hello.service: 1 connections open").count >= 2
            }
            #expect(Processes.isAlive(pid), "stopped while a connection was open\n\(daemon.log)")
            #expect(daemon.logLines(containing: "No connection for").isEmpty)
        }

        @Test(.timeLimit(.minutes(1)))
        func runExitIdleDoesTheSame() throws {
            let port = try Ports.free()
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let report = directory.path + "/report"
            let run = try AdHocRunTests.Run(
                ["-l", "127.0.0.1:\(port)", "--notify", "--exit-idle", "1s", "--",
                 try Harness.binary("swatchd-hello"), "--report", report],
                log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            try waitUntil("swatchd run listens on \(port)", timeout: .seconds(10)) { try listening(port) }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let first = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            try waitUntil("the idle command \(first) is stopped") { !Processes.isAlive(first) }
            #expect(try listening(port))
            #expect(try Client.body(.loopback4(port)) == Client.helloBody, "started again")
        }
    }
}
