// Chaos (swatchd(8), LIMITS and RE-EXECUTION): for about a minute, client
// loops against three socket-activated services while their processes are
// SIGKILLed, silent and oversized control clients come and go, notify
// datagrams flood in, and daemon-reload and daemon-reexec run. At the end:
// no connection was refused, swatchd's descriptors and memory did not grow
// beyond a stated bound, no zombie is left, and every unit is as its
// definition says (sockets listening, services active once asked for).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ChaosTests {
        /// VmRSS of a process in KiB (proc(5)).
        private func rss(_ pid: pid_t) -> Int {
            let status = readText("/proc/\(pid)/status") ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }

        private func zombies(below pid: pid_t) -> [ProcessStat] {
            Processes.children(of: pid).filter { $0.state == "Z" }
        }

        @Test(.timeLimit(.minutes(3)))
        func aMinuteOfChaosRefusesNothingAndLeaksNothing() throws {
            let ports = try Ports.free(3)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let names = ["alpha", "beta", "gamma"]
            for (name, port) in zip(names, ports) {
                try daemon.write("\(name).socket", Units.tcpSocket(port))
                try daemon.write("\(name).service", try Units.helloService(report: daemon.path(name)) + "\nRestart=always\nRestartSec=100ms\n[Unit]\nStartLimitIntervalSec=0\n")
            }
            try daemon.start()
            for port in ports { #expect(try Client.body(.loopback4(port)) == Client.helloBody) }
            // Settled once, before measuring: every service started, every fd of a first use opened.
            let fdsBefore = daemon.openFDs.count
            let rssBefore = rss(daemon.pid)

            let loops = ports.map { HandoverTests.ClientLoop(port: $0) }
            var generator = SystemRandomNumberGenerator()
            var counts: [String: Int] = [:]
            var held: [Int32] = []
            let end = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < end {
                switch Int.random(in: 0..<6, using: &generator) {
                case 0:
                    // A service's main process dies: restarted (Restart=always), its socket held meanwhile.
                    let name = names.randomElement(using: &generator)!
                    if let pid = try? daemon.property("MainPID", of: "\(name).service").flatMap({ pid_t($0) }), pid > 0 {
                        kill(pid, SIGKILL)
                        counts["kill", default: 0] += 1
                    }
                case 1:
                    // Control clients that say nothing, held a while; one that sends far too much.
                    if let fd = try? Client.connect(.unix(daemon.runtimeDirectory + "/control"), type: SOCK_STREAM) {
                        held.append(fd)
                        if held.count > 20 { close(held.removeFirst()) }
                    }
                    if let fd = try? Client.connect(.unix(daemon.runtimeDirectory + "/control"), type: SOCK_STREAM) {
                        _ = try? Client.write(String(repeating: "x", count: 64 * 1024), to: fd)
                        close(fd)
                    }
                    counts["hostile control", default: 0] += 1
                case 2:
                    // A burst of notify datagrams from a process that is no service.
                    for _ in 0..<500 { try? Client.sendDatagram("STATUS=chaos", to: .unix(daemon.runtimeDirectory + "/notify")) }
                    counts["notify flood", default: 0] += 1
                case 3:
                    _ = try? daemon.ctl("daemon-reload")
                    counts["reload", default: 0] += 1
                case 4:
                    // Refused while a job runs (a restart after a kill): that is fine, it is tried again later.
                    if (try? daemon.ctl("daemon-reexec"))?.exitCode == 0 { counts["reexec", default: 0] += 1 }
                default:
                    _ = try? daemon.ctl("status")
                    counts["status", default: 0] += 1
                }
                var pause = timespec(tv_sec: 0, tv_nsec: 150_000_000)
                nanosleep(&pause, nil)
            }
            for fd in held { close(fd) }
            let tallies = try loops.map { try $0.finish() }
            try daemon.checkRunning()
            print("ChaosTests: \(counts.sorted { $0.key < $1.key }); answered \(tallies.map(\.answered))")
            #expect(counts["kill", default: 0] > 0 && counts["reexec", default: 0] > 0 && counts["reload", default: 0] > 0,
                    "\(counts)")

            // No connection refused: the sockets stayed bound through kills, reloads and re-execs.
            // (A request cut by a SIGKILL of the process serving it is reset: that is the kill's doing.)
            for (name, tally) in zip(names, tallies) {
                #expect(tally.answered > 0, "\(name) answered nothing")
                #expect(!tally.failures.contains { $0.contains("refused") }, "\(name): \(tally.failures.prefix(5))")
            }
            // Every unit as its definition says: listening, and active once asked for.
            for (name, port) in zip(names, ports) {
                #expect(try Client.body(.loopback4(port)) == Client.helloBody)
                try daemon.waitForProperty("ActiveState", of: "\(name).service", toBe: "active")
                #expect(try daemon.property("ActiveState", of: "\(name).socket") == "active")
            }
            // Bounds: a few fds of in-flight work, 16 MiB of memory; no zombie once the dust settles.
            try waitUntil("swatchd's fds back near \(fdsBefore): \(daemon.openFDs.count)", timeout: .seconds(10)) {
                daemon.openFDs.count <= fdsBefore + 4
            }
            #expect(rss(daemon.pid) - rssBefore < 16 * 1024, "RSS grew from \(rssBefore) to \(rss(daemon.pid)) KiB")
            try waitUntil("no zombie below swatchd", timeout: .seconds(10)) { zombies(below: daemon.pid).isEmpty }
        }
    }
}
