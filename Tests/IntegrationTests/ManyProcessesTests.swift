// A service that spawns processes by the hundred (a bounded stand-in for a fork
// bomb, which a shared test machine cannot take) does not keep swatchd from
// serving the other units, and its stop takes every one of them.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ManyProcessesTests {
        @Test(.timeLimit(.minutes(1)))
        func aServiceWithHundredsOfProcessesDoesNotStallTheOthers() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            try daemon.write("swarm.service", """
                [Service]
                Type=notify
                ExecStart=/usr/bin/python3 \(Harness.service("many_children.py")) 300
                """)
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "swarm.service", toBe: "active", timeout: .seconds(30))
            let main = try #require(pid_t(try daemon.property("MainPID", of: "swarm.service") ?? ""))
            #expect(Processes.children(of: main).count >= 300)

            // The other units are served as before, and status answers.
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try daemon.ctl("status", "swarm.service").exitCode == 0)

            #expect(try daemon.ctl("stop", "swarm.service").exitCode == 0)
            #expect(!Processes.isAlive(main))
            try waitUntil("every process of swarm.service is gone") {
                !Processes.children(of: daemon.pid).contains { $0.command.hasPrefix("python3") && $0.state != "Z" }
            }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            try daemon.checkRunning()
        }
    }
}
