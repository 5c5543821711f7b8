// `swatchd run` (swatchd(8)): one command activated ad hoc, without unit
// files — the `systemd-socket-activate` use case, with the caller's
// environment passed on, the names given by --fdname, its own runtime dir,
// --watch, and the exit statuses a shell user expects.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct AdHocRunTests {
        /// A `swatchd run` in the background, its stdout and stderr in `log`.
        struct Run {
            let pid: pid_t
            let log: String

            init(_ arguments: [String], log: String, environment: [String: String] = ["PATH": "/usr/bin:/bin"]) throws {
                self.log = log
                pid = try Command.spawn([try Harness.binary("swatchd"), "run", "--log-target", "stderr"] + arguments,
                                        environment: environment, plumbing: Command.Plumbing(outputPath: log))
            }

            var text: String { readText(log) ?? "" }

            func waitUntilReady() throws {
                try waitUntil("swatchd run is ready\n\(text)", timeout: .seconds(10)) {
                    if let status = Command.wait(pid, timeout: .zero) { throw HarnessError("swatchd run \(status)\n\(text)") }
                    return text.contains(" ready: ")
                }
            }

            /// The runtime dir it printed (`swatchctl --runtime-dir DIR status ...`).
            var runtimeDirectory: String? {
                guard let range = text.range(of: "swatchctl --runtime-dir ") else { return nil }
                return String(text[range.upperBound...].prefix { $0 != " " && $0 != "\n" })
            }

            @discardableResult
            func stop(_ signal: Int32 = SIGTERM) -> ExitStatus? {
                kill(pid, signal)
                return Command.wait(pid, timeout: .seconds(10))
            }
        }

        static func lineCount(_ path: String) -> Int {
            (readText(path) ?? "").split(separator: "\n").count
        }

        @Test(.timeLimit(.minutes(1)))
        func runActivatesOneCommandOnFirstConnectionWithItsFdName() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let report = directory.path + "/report"
            let run = try Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)", "--fdname", "web",
                               "--cwd", directory.path, "--",
                               try Harness.binary("swatchd-hello"), "--report", report],
                              log: directory.path + "/log", environment: ["PATH": "/usr/bin:/bin", "DEVELOPER_SETTING": "kept"])
            defer { run.stop() }
            try run.waitUntilReady()
            #expect(readReport(report) == nil, "the command ran before the first connection")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["LISTEN_FDNAMES"] == "web")
            #expect(seen["LISTEN_FDS"] == "1")
            #expect(seen["CWD"] == directory.path)
            // The developer's tool passes the caller's environment on (unlike unit files).
            #expect(seen["ENV"]?.split(separator: ",").contains("DEVELOPER_SETTING") == true, "\(seen)")
        }

        /// Ctrl-C stops the command; a second Ctrl-C while it will not stop kills every process
        /// below swatchd (swatchd(8), `run`): here a shell that ignores SIGTERM and the child it
        /// forked, which ignores it too. The run ends as a shell reports an interrupt, 130.
        @Test(.timeLimit(.minutes(1)))
        func aSecondInterruptKillsWhatWouldNotStop() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let run = try Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)", "--",
                               "/bin/sh", "-c", "trap '' TERM; sleep 1000 & wait"],
                              log: directory.path + "/log")
            defer { run.stop(SIGKILL) }
            try run.waitUntilReady()
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(connection) }
            let processes = try waitFor("the command and its child run\n\(run.text)") {
                let below = Processes.descendants(of: run.pid)
                return below.contains { $0.command == "sleep" } ? below.map(\.pid) : nil
            }

            kill(run.pid, SIGINT)
            try waitUntil("the first interrupt is logged\n\(run.text)") { run.text.contains("Received SIGINT") }
            #expect(Command.wait(run.pid, timeout: .milliseconds(300)) == nil, "the run ended although its command ignores SIGTERM")
            kill(run.pid, SIGINT)
            #expect(Command.wait(run.pid, timeout: .seconds(10)) == .exited(130), "\(run.text)")
            #expect(run.text.contains("again: killing every service"), "\(run.text)")
            try waitUntil("every process below the run is gone") {
                processes.allSatisfy { ProcessStat(pid: $0).map { $0.state == "Z" } ?? true }
            }
        }

        @Test func helpGoesToStdoutAndUnknownFlagsPointToIt() throws {
            for arguments in [["run", "--help"], ["--help"], ["verify", "--help"], ["run", "-l", "80", "-h"]] {
                let output = try Command.run([try Harness.binary("swatchd")] + arguments)
                #expect(output.status == .exited(0), "\(arguments): \(output.standardError)")
                #expect(output.standardOutput.hasPrefix("Usage: swatchd"), "\(arguments)")
            }
            let run = try Command.run([try Harness.binary("swatchd"), "run", "--help"])
            #expect(run.standardOutput.contains("--property"))
            let wrong = try Command.run([try Harness.binary("swatchd"), "run", "-l", "8080", "--frobnicate", "--", "/bin/true"])
            #expect(wrong.status == .exited(64))
            #expect(wrong.standardError.contains("'--frobnicate'") && wrong.standardError.contains("swatchd run --help"),
                    "\(wrong.standardError)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aPortInUseEndsTheRunAtOnceWithStatusOne() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let busy = try Ports.occupy(port)
            defer { close(busy) }
            let other = try Ports.free()
            let run = try Run(["-l", "127.0.0.1:\(other)", "-l", "127.0.0.1:\(port)", "--unit", "busy-\(getpid())",
                               "--", "/bin/cat"],
                              log: directory.path + "/log",
                              environment: ["PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": directory.path])
            let status = Command.wait(run.pid, timeout: .seconds(5))
            if status == nil { run.stop(SIGKILL) }
            #expect(status == .exited(1), "\(run.text)")
            #expect(run.text.contains("cannot listen on 127.0.0.1:\(port)"), "\(run.text)")
            // Nothing left behind: the other socket is free again, the runtime dir is gone.
            close(try Ports.occupy(other))
            let runtime = (run.runtimeDirectory ?? Self.defaultRunDirectory(named: "busy-\(getpid())", pid: run.pid,
                                                                                        xdg: directory.path))
            #expect(access(runtime, F_OK) != 0, "\(runtime) is still there")
        }

        /// Where a run without --runtime-dir keeps its things (swatchd(8), `run`).
        static func defaultRunDirectory(named name: String, pid: pid_t, xdg: String) -> String {
            (getuid() == 0 ? "/run/swatchd" : xdg + "/swatchd") + "/run-\(name)-\(pid)"
        }

        @Test(.timeLimit(.minutes(1)))
        func aMissingProgramEndsTheRunWith127BeforeBinding() throws {
            let port = try Ports.free()
            for (program, message) in [("/nonexistent/server", "No such file or directory"),
                                       ("no-such-command-\(getpid())", "command not found")] {
                let output = try Command.run([try Harness.binary("swatchd"), "run", "-l", "127.0.0.1:\(port)", "--", program])
                #expect(output.status == .exited(127), "\(program): \(output.standardError)")
                #expect(output.standardError.contains(message), "\(output.standardError)")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func aRunNeverServesTheUnitsOfAnEarlierRun() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let ports = try Ports.free(3)
            let runtime = directory.path + "/rt"
            // The first run is killed: it cannot remove its units.
            let first = try Run(["--runtime-dir", runtime, "-l", "127.0.0.1:\(ports[0])", "-l", "127.0.0.1:\(ports[1])", "--",
                                 try Harness.binary("swatchd-hello")], log: directory.path + "/log1")
            try first.waitUntilReady()
            #expect(first.stop(SIGKILL) == .signaled(SIGKILL))
            let second = try Run(["--runtime-dir", runtime, "-l", "127.0.0.1:\(ports[2])", "--",
                                  try Harness.binary("swatchd-hello")], log: directory.path + "/log2")
            defer { second.stop() }
            try second.waitUntilReady()
            #expect(try Client.body(.loopback4(ports[2])) == Client.helloBody)
            for port in ports[..<2] {
                #expect(throws: ClientError.self, "port \(port) of the earlier run is served") {
                    try Client.get(.loopback4(port), timeout: .seconds(2))
                }
            }
            #expect(second.text.contains("1 socket units"), "\(second.text)")
        }

        @Test(.timeLimit(.minutes(1)), arguments: [["--accept"], ["--inetd"]])
        func acceptAndInetdEchoThroughCat(_ flags: [String]) throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let run = try Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)"] + flags + ["--", "/bin/cat"],
                              log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            for text in ["hello", "again"] {
                let fd = try Client.connect(.loopback4(port), type: SOCK_STREAM)
                defer { close(fd) }
                try Client.write(text + "\n", to: fd)
                #expect(try Client.readLine(fd) == text, "\(run.text)")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func twoRunsWithoutRuntimeDirServeSideBySideAndCleanUp() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let ports = try Ports.free(2)
            let environment = ["PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": directory.path]
            let runs = try ports.enumerated().map { i, port in
                try Run(["-l", "127.0.0.1:\(port)", "--", try Harness.binary("swatchd-hello")],
                        log: directory.path + "/log\(i)", environment: environment)
            }
            defer { for run in runs { run.stop(SIGKILL) } }
            for run in runs { try run.waitUntilReady() }
            let runtimes = try runs.map { run in try #require(run.runtimeDirectory, "\(run.text)") }
            #expect(Set(runtimes).count == 2)
            for (run, port) in zip(runs, ports) {
                #expect(try Client.body(.loopback4(port)) == Client.helloBody, "\(run.text)")
            }
            for runtime in runtimes {
                let status = try Command.run([try Harness.binary("swatchctl"), "--runtime-dir", runtime, "status", "swatchd-hello.service"])
                #expect(status.standardOutput.contains("swatchd-hello.service"), "\(status.standardOutput)\(status.standardError)")
            }
            for (run, runtime) in zip(runs, runtimes) {
                #expect(run.stop(SIGINT) == .exited(130), "\(run.text)")
                #expect(access(runtime, F_OK) != 0, "\(runtime) is still there")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func aPythonServerStartsOnTheFirstConnectionAndNotBefore() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let report = directory.path + "/report", starts = directory.path + "/starts"
            let run = try Run(["--runtime-dir", directory.path + "/rt", "-l", "\(port)", "--",
                               "/usr/bin/python3", Harness.service("dev_server.py"), report, starts],
                              log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            #expect(Processes.descendants(of: run.pid).isEmpty, "a process runs before the first connection")
            #expect(readText(starts) == nil)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(try Client.body(.loopback6(port)) == Client.helloBody)
            #expect(Self.lineCount(starts) == 1)
        }

        @Test(.timeLimit(.minutes(1)))
        func fdNamesEnvironmentAndPropertiesReachAPythonService() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let ports = try Ports.free(2)
            let report = directory.path + "/report", socketPath = directory.path + "/app.sock"
            let run = try Run(["--runtime-dir", directory.path + "/rt",
                               "-l", "127.0.0.1:\(ports[0])", "--fdname", "web",
                               "-l", "[::1]:\(ports[1])", "--fdname", "admin",
                               "-l", socketPath, "--fdname", "control",
                               "-p", "Environment=\"A=b c\" X=%%", "-E", "B=quo\"te \\ 100%", "-p", "Backlog=7",
                               "--unit", "dev", "--",
                               "/usr/bin/python3", Harness.service("dev_server.py"), report],
                              log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            #expect(try Client.body(.unix(socketPath)) == Client.helloBody)
            let seen = try waitForReport(report)
            #expect(seen["NAMES"] == "web,admin,control")
            #expect(seen["A"] == "b c")
            #expect(seen["B"] == "quo\"te \\ 100%")
            #expect(try Client.body(.loopback6(ports[1])) == Client.helloBody)
            #expect(try ListeningSocket.onPort(ports[0]).map(\.backlog).contains(7))
            #expect(run.text.contains("dev.service"), "the unit's name is --unit's")
        }

        @Test(.timeLimit(.minutes(2)))
        func watchRestartsOnEveryReplaceEditAndAppend() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let report = directory.path + "/report", starts = directory.path + "/starts"
            let sources = directory.path + "/src", watched = sources + "/app.conf"
            try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
            try Data("v0\n".utf8).write(to: URL(fileURLWithPath: watched))
            let run = try Run(["--runtime-dir", directory.path + "/rt", "-l", "127.0.0.1:\(port)", "--watch", watched, "--",
                               "/usr/bin/python3", Harness.service("dev_server.py"), report, starts],
                              log: directory.path + "/log")
            defer { run.stop() }
            try run.waitUntilReady()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            try waitUntil("the first start\n\(run.text)") { Self.lineCount(starts) == 1 }
            // An editor's temporary file next to it is no change.
            try Data("x".utf8).write(to: URL(fileURLWithPath: sources + "/.app.conf.swp"))
            var expected = 1
            let changes: [(String, () throws -> Void)] = (1...5).map { i in
                ("mv", {
                    try Data("v\(i)\n".utf8).write(to: URL(fileURLWithPath: sources + "/new"))
                    #expect(rename(sources + "/new", watched) == 0)
                })
            } + (1...5).map { i in
                ("sed -i", {
                    let sed = try Command.run(["/bin/sed", "-i", "s/v.*/s\(i)/", watched])
                    #expect(sed.status == .exited(0), "\(sed.standardError)")
                })
            } + (1...5).map { i in
                ("append", {
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: watched))
                    try handle.seekToEnd()
                    try handle.write(contentsOf: Data("line \(i)\n".utf8))
                    try handle.close()
                })
            }
            for (kind, change) in changes {
                let before = try waitForReport(report)["PID"]
                try change()
                expected += 1
                try waitUntil("restart \(expected) after \(kind)\n\(run.text)", timeout: .seconds(10)) {
                    Self.lineCount(starts) >= expected
                }
                // The new process has written its report: the restart is over, the next change is its own burst.
                try waitUntil("the report of start \(expected)") {
                    guard let pid = readReport(report)?["PID"] else { return false }
                    return pid != before
                }
                #expect(Self.lineCount(starts) == expected, "one \(kind) restarted more than once\n\(run.text)")
            }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            #expect(run.text.contains("app.conf changed"), "\(run.text)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aSecondCtrlCKillsAServiceThatIgnoresTheFirst() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let port = try Ports.free()
            let pidFile = directory.path + "/pid"
            let script = """
                import os, signal, sys, time
                signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
                open(sys.argv[1], "w").write(str(os.getpid()))
                while True: time.sleep(1)
                """
            let run = try Run(["-l", "127.0.0.1:\(port)", "-p", "TimeoutStopSec=60", "--", "/usr/bin/python3", "-c", script, pidFile],
                              log: directory.path + "/log",
                              environment: ["PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": directory.path])
            defer { run.stop(SIGKILL) }
            try run.waitUntilReady()
            let runtime = try #require(run.runtimeDirectory)
            close(try Client.connect(.loopback4(port), type: SOCK_STREAM))
            let service = try waitFor("the service's pid") { readText(pidFile).flatMap { pid_t($0) } }
            kill(run.pid, SIGINT)
            try waitUntil("the service ignores SIGTERM\n\(run.text)") { run.text.contains("ignoring SIGTERM") }
            #expect(Command.wait(run.pid, timeout: .milliseconds(300)) == nil, "swatchd run ended before the stop timeout")
            kill(run.pid, SIGINT)
            #expect(Command.wait(run.pid, timeout: .seconds(3)) == .exited(130), "\(run.text)")
            try waitUntil("the service is killed") { !Processes.isAlive(service) }
            #expect(access(runtime, F_OK) != 0, "\(runtime) is still there")
        }
    }
}
