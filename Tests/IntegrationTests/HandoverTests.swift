// `swatchd run --watch` under load (swatchd(8), "run"): every change restarts
// the command while a client loop runs, and no request is refused or reset —
// the sockets stay in swatchd. With --notify the new process takes over only
// once it is ready, so no request waits for its start-up; a broken new
// version leaves the old one serving.
import Foundation
import Glibc
import Synchronization
import Testing

extension Integration {
    @Suite struct HandoverTests {
        /// What a bounded client loop saw: answers, failures, the longest wait.
        struct Tally: Sendable {
            var answered = 0
            var failures: [String] = []
            var longest: Duration = .zero
        }

        /// GETs `port` in a loop on a thread of its own until `stop` is set (or 60 s).
        final class ClientLoop: Sendable {
            private final class Shared: Sendable {
                let state = Mutex((stop: false, tally: Tally(), done: false))
            }
            private let shared = Shared()

            init(port: UInt16) {
                Thread.detachNewThread { [shared] in
                    let end = ContinuousClock.now + .seconds(60)
                    while ContinuousClock.now < end, !shared.state.withLock({ $0.stop }) {
                        let began = ContinuousClock.now
                        let outcome: String?
                        do {
                            outcome = try Client.body(.loopback4(port), timeout: .seconds(20)) == Client.helloBody ? nil : "wrong body"
                        } catch {
                            outcome = "\(error)"
                        }
                        let took = ContinuousClock.now - began
                        shared.state.withLock {
                            if let outcome { $0.tally.failures.append(outcome) } else { $0.tally.answered += 1 }
                            $0.tally.longest = max($0.tally.longest, took)
                        }
                    }
                    shared.state.withLock { $0.done = true }
                }
            }

            var answered: Int { shared.state.withLock { $0.tally.answered } }

            func finish() throws -> Tally {
                shared.state.withLock { $0.stop = true }
                try waitUntil("the client loop ends", timeout: .seconds(30)) { shared.state.withLock { $0.done } }
                return shared.state.withLock { $0.tally }
            }
        }

        /// A command that serves HTTP with swatchd-hello, or exits 1 at once when the
        /// watched file says `broken` (a new version that cannot start).
        private func script(in directory: String, mode: String, report: String, readyDelay: Int) throws -> String {
            let path = directory + "/app.sh"
            try """
                #!/bin/sh
                grep -q broken '\(mode)' && { echo 'broken version' >&2; exit 1; }
                exec '\(try Harness.binary("swatchd-hello"))' --report '\(report)' --ready-delay \(readyDelay)
                """.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
            return path
        }

        private func change(_ path: String, to text: String) throws {
            try text.write(toFile: path + ".new", atomically: false, encoding: .utf8)
            #expect(rename(path + ".new", path) == 0)
        }

        @Test(.timeLimit(.minutes(2)))
        func restartsOnEveryChangeWithoutRefusingARequest() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let mode = directory.path + "/mode", report = directory.path + "/report"
            try "v0\n".write(toFile: mode, atomically: true, encoding: .utf8)
            let app = try script(in: directory.path, mode: mode, report: report, readyDelay: 0)
            let run = try AdHocRunTests.Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)",
                                             "--watch", mode, "--", app], log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            let clients = ClientLoop(port: port)
            var pids: Set<String> = []
            for version in 1...5 {
                let before = try waitForReport(report)["PID"] ?? ""
                pids.insert(before)
                try change(mode, to: "v\(version)\n")
                try waitUntil("restart \(version)\n\(run.text)", timeout: .seconds(15)) {
                    guard let pid = readReport(report)?["PID"] else { return false }
                    return pid != before
                }
                let answeredBefore = clients.answered
                try waitUntil("the new process answers", timeout: .seconds(15)) { clients.answered > answeredBefore }
            }
            pids.insert(try waitForReport(report)["PID"] ?? "")
            let tally = try clients.finish()
            #expect(pids.count == 6, "5 changes, 5 restarts: \(pids)")
            #expect(tally.failures.isEmpty, "refused or reset: \(tally.failures.prefix(5))")
            #expect(tally.answered > 5)
        }

        @Test(.timeLimit(.minutes(2)))
        func withNotifyTheOldProcessServesUntilTheNewOneIsReady() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let mode = directory.path + "/mode", report = directory.path + "/report"
            try "v0\n".write(toFile: mode, atomically: true, encoding: .utf8)
            // Each new process takes 3 s before it is ready: a client never waits that long.
            let app = try script(in: directory.path, mode: mode, report: report, readyDelay: 3000)
            let run = try AdHocRunTests.Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)",
                                             "--notify", "--watch", mode, "--", app], log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            #expect(try Client.body(.loopback4(port), timeout: .seconds(20)) == Client.helloBody)
            let first = try waitForReport(report)["PID"] ?? ""

            let clients = ClientLoop(port: port)
            try change(mode, to: "v1\n")
            try waitUntil("the handover\n\(run.text)", timeout: .seconds(20)) {
                run.text.contains("The new process is ready; stopping the old one (PID \(first))")
            }
            let second = try waitForReport(report)["PID"] ?? ""
            #expect(second != first)
            try waitUntil("the old process is gone") { !Processes.isAlive(pid_t(first) ?? 0) }
            let answeredBefore = clients.answered
            try waitUntil("the new process answers", timeout: .seconds(10)) { clients.answered > answeredBefore }
            let tally = try clients.finish()
            #expect(tally.failures.isEmpty, "\(tally.failures.prefix(5))")
            #expect(tally.longest < .seconds(3), "a request waited \(tally.longest), the new process's start-up")

            // A broken version: the old one goes on serving.
            try change(mode, to: "broken\n")
            try waitUntil("the broken version is refused\n\(run.text)", timeout: .seconds(20)) {
                run.text.contains("did not become ready") && run.text.contains("the old one (PID \(second)) goes on serving")
            }
            #expect(Processes.isAlive(pid_t(second) ?? 0))
            #expect(try Client.body(.loopback4(port), timeout: .seconds(10)) == Client.helloBody)
        }

        @Test(.timeLimit(.minutes(1)))
        func aFailureShowsTheLastLinesTheCommandWrote() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let run = try AdHocRunTests.Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)", "--",
                                             "/bin/sh", "-c", "echo starting up >&2; echo config missing: /etc/app.toml >&2; exit 3"],
                                            log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            _ = try? Client.get(.loopback4(port), timeout: .seconds(2))   // activates it; it fails
            try waitUntil("the failure with the command's last lines\n\(run.text)", timeout: .seconds(10)) {
                run.text.contains("failed; the last lines it wrote:") && run.text.contains("  config missing: /etc/app.toml")
            }
            #expect(run.text.contains("Main process exited, code=exited, status=3/NOTIMPLEMENTED"), "\(run.text)")
        }
    }
}
