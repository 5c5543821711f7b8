// `swatchd run` (swatchd(8)): one command activated ad hoc, without unit
// files — the `systemd-socket-activate` use case, with the caller's
// environment passed on and the names given by --fdname.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct AdHocRunTests {
        @Test(.timeLimit(.minutes(1)))
        func runActivatesOneCommandOnFirstConnectionWithItsFdName() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let report = directory.path + "/report", log = directory.path + "/log"
            let pid = try Command.spawn(
                [try Harness.binary("swatchd"), "run", "--runtime-dir", directory.path + "/rt", "--log-target", "stderr",
                 "-l", "127.0.0.1:\(port)", "--fdname", "web", "--",
                 try Harness.binary("swatchd-hello"), "--report", report],
                environment: ["PATH": "/usr/bin:/bin", "DEVELOPER_SETTING": "kept"],
                plumbing: Command.Plumbing(outputPath: log))
            defer {
                kill(pid, SIGTERM)
                _ = Command.wait(pid, timeout: .seconds(10))
            }
            try waitUntil("swatchd run is ready\n\(readText(log) ?? "")") { readText(log)?.contains("ready") ?? false }
            #expect(readReport(report) == nil, "the command ran before the first connection")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDNAMES"] == "web")
            #expect(seen["LISTEN_FDS"] == "1")
            // The developer's tool passes the caller's environment on (unlike unit files).
            #expect(seen["ENV"]?.split(separator: ",").contains("DEVELOPER_SETTING") == true, "\(seen)")
        }

        @Test(.timeLimit(.minutes(1)))
        func runRestartsTheCommandWhenAWatchedFileChanges() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let report = directory.path + "/report", log = directory.path + "/log", watched = directory.path + "/build"
            try Data("v1".utf8).write(to: URL(fileURLWithPath: watched))
            let pid = try Command.spawn(
                [try Harness.binary("swatchd"), "run", "--runtime-dir", directory.path + "/rt", "--log-target", "stderr",
                 "-l", "127.0.0.1:\(port)", "--watch", watched, "--",
                 try Harness.binary("swatchd-hello"), "--report", report],
                environment: ["PATH": "/usr/bin:/bin"], plumbing: Command.Plumbing(outputPath: log))
            defer {
                kill(pid, SIGTERM)
                _ = Command.wait(pid, timeout: .seconds(10))
            }
            try waitUntil("swatchd run is ready\n\(readText(log) ?? "")") { readText(log)?.contains("ready") ?? false }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let first = try waitForReport(report)["PID"]
            try FileManager.default.removeItem(atPath: report)
            try Data("v2".utf8).write(to: URL(fileURLWithPath: watched))
            let second = try waitForReport(report)["PID"]
            #expect(first != nil && second != nil && first != second, "\(readText(log) ?? "")")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
        }
    }
}
