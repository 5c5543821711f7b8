// After a crash (swatchd(8), PROCESS TRACKING): a swatchd started again on
// the same runtime directory stops the services the killed one left running,
// then serves as before — nothing runs untracked next to a new instance of itself.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0, "cgroup tracking needs root"))
    struct CrashRecoveryTests {
        @Test(.timeLimit(.minutes(1)))
        func theServicesOfAKilledSwatchdAreStoppedByTheNextOne() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let orphan = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            guard Processes.cgroupDirectory(of: orphan)?.contains("/swatchd-") == true else {
                print("CrashRecoveryTests: no cgroup tracking here (a writable cgroup2 hierarchy); nothing to find after a crash")
                return
            }

            daemon.signal(SIGKILL)
            #expect(daemon.waitForExit() != nil)
            #expect(Processes.isAlive(orphan), "a SIGKILL of swatchd leaves its services running")

            try FileManager.default.removeItem(atPath: report)
            try daemon.startAgain()
            try daemon.waitForLog(containing: "hello.service: Stopping left-over processes \(orphan) of the swatchd that ran here before")
            #expect(!Processes.isAlive(orphan), "stopped before the sockets were bound again")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let fresh = try #require(pid_t(try waitForReport(report)["PID"] ?? ""))
            #expect(fresh != orphan)
            #expect(try daemon.property("MainPID", of: "hello.service") == "\(fresh)")
        }
    }
}

