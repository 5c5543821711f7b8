import Foundation
import Glibc
import Testing
@testable import SwatchCore

/// Runs the built `swatchctl` against a ControlServer that answers with canned reports:
/// what a user sees, and the exit codes scripts rely on (systemctl's LSB codes, 64 for usage).
/// The daemon's real answers are tested by the lead's integration suite.
@Suite struct SwatchctlTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The swatchctl built next to this test bundle.
    static let executable: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("swatchctl").path
    }()

    static let started = StatusFormat.realtimeNow() - 4_000_000

    /// The fake daemon: hello.service running (triggered by hello.socket), idle.service inactive,
    /// failed.service failed, anything else unknown.
    static func daemon(_ call: ControlServer.Call) -> ControlServer.Reply {
        let hello = UnitStatusReport(
            id: "hello.service", description: "Hello World service", fragmentPath: "/etc/swatchd/hello.service",
            activeState: .active, subState: "running", activeSince: started, mainPID: 4242,
            mainProcessName: "swatchd-hello", statusText: "Serving 1 sockets", tasks: 1, memoryBytes: 1_300_000,
            triggeredBy: [UnitReference(name: "hello.socket", activeState: .active)],
            logLines: ["Nov 26 16:20:01 hello.service[4242]: line"])
        let socket = UnitStatusReport(
            id: "hello.socket", fragmentPath: "/etc/swatchd/hello.socket", activeState: .active, subState: "listening",
            activeSince: started, triggers: [UnitReference(name: "hello.service", activeState: .active)],
            listen: [ListenEntry(kind: "Stream", address: "[::]:8080")])
        let idle = UnitStatusReport(id: "idle.service", description: "Idle", fragmentPath: "/etc/swatchd/idle.service")
        let failed = UnitStatusReport(
            id: "failed.service", fragmentPath: "/etc/swatchd/failed.service", activeState: .failed, subState: "failed",
            result: .exitCode, activeSince: started, execMainPID: 77, execMainCode: 1, execMainStatus: 1)
        // hello.service requires db.service and wants idle.service and a unit that does not exist;
        // db.service requires hello.service back (a cycle).
        var helloWithDependencies = hello
        helloWithDependencies.requires = ["db.service"]
        helloWithDependencies.wants = ["nosuch.service", "idle.service"]
        helloWithDependencies.after = ["db.service"]
        var db = UnitStatusReport(id: "db.service", activeState: .active, subState: "running")
        db.requires = ["hello.service"]
        db.needDaemonReload = true
        let known = [helloWithDependencies, socket, idle, failed, db]
        // A service whose cgroup has the pids and memory controllers, with limits (not listed).
        let limited = UnitStatusReport(
            id: "limited.service", activeState: .active, subState: "running", activeSince: started, mainPID: 4343,
            tasks: 3, memoryBytes: 1_300_000, tasksMax: 50, memoryMax: 64 << 20)
        // A Type=forking service whose start process runs; one whose ExecStop= runs beside its daemon.
        let forking = UnitStatusReport(
            id: "forking.service", activeState: .activating, subState: "start", activeSince: started,
            controlPID: 5151, controlProcessName: "sh")
        let stopping = UnitStatusReport(
            id: "stopping.service", activeState: .deactivating, subState: "stop", activeSince: started, mainPID: 4444,
            mainProcessName: "daemon", controlPID: 5252, controlProcessName: "sh")
        // Its ExecStopPost= running after the main process exited.
        let stopPost = UnitStatusReport(
            id: "stoppost.service", activeState: .deactivating, subState: "stop-post", activeSince: started,
            controlPID: 6262, controlProcessName: "sh", execMainPID: 6161, execMainCode: 1, execMainStatus: 0)
        // An Accept=yes socket that made 7 instances, 2 alive, and refused a connection.
        var echo = UnitStatusReport(
            id: "echo.socket", activeState: .active, subState: "listening", activeSince: started,
            listen: [ListenEntry(kind: "Stream", address: "127.0.0.1:7")])
        echo.connections = SocketConnections(accept: true, accepted: 7, connected: 2, refused: 1)
        let unlisted = [limited, forking, stopping, stopPost, echo]
        func find(_ name: String) -> UnitStatusReport? {
            known.first { $0.id == name } ?? unlisted.first { $0.id == name }
        }

        switch call.request {
        case .status(let units, _), .show(let units):
            let count = call.request.statusLogLines
            var response = ControlResponse()
            for name in units {
                if var report = find(name) {
                    // The daemon's last `count` lines of the unit.
                    if report.id == "hello.service", count != ControlRequest.defaultStatusLines {
                        report.logLines = Array((1...12).map { "log line \($0)" }.suffix(count))
                    }
                    response.records.append(report.toRecord())
                } else {
                    response.result = ControlResponse.Code.noSuchUnit
                    response.errors.append("Unit \(name) could not be found.")
                }
            }
            return .now(response)
        case .isActive(let unit), .isFailed(let unit):
            guard let report = find(unit) else { return .now(.unitNotFound(unit)) }
            return .now(ControlResponse(records: [["Id": unit, "ActiveState": report.activeState.rawValue]]))
        case .job(.stop, let units, _) where units == ["hello.service"]:
            return .now(ControlResponse(warnings: [
                ControlResponse.stopTriggeredWarning(service: "hello.service", triggeredBy: ["hello.socket"]),
            ]))
        case .job(_, let units, _), .kill(let units, _):
            let missing = units.filter { find($0) == nil }
            if let first = missing.first { return .now(.unitNotLoaded(first, verb: call.request.command)) }
            return .now(ControlResponse())
        case .listJobs:
            return .now(ControlResponse())
        case .listUnits:
            return .now(ControlResponse(records: known.filter { $0.id != "db.service" }.map {
                UnitListEntry(
                    id: $0.id, loadState: $0.loadState, activeState: $0.activeState, subState: $0.subState,
                    description: $0.description ?? $0.id
                ).toRecord()
            }))
        case .listSockets:
            return .now(ControlResponse(records: [
                SocketListing(listen: socket.listen, unit: "hello.socket", activates: ["hello.service"]).toRecord(),
            ]))
        case .logs([], let lines, _):
            // Two units' lines, a minute apart, the newest a minute ago.
            let entries = (1...4).map { index in
                let unit = index % 2 == 0 ? "idle.service" : "hello.service"
                return UnitLogEntry(unit: unit, realtime: started - UInt64(5 - index) * 60_000_000, pid: Int32(index),
                                    identifier: unit, message: "all \(index)").toRecord()
            }
            return .now(ControlResponse(records: Array(entries.suffix(lines))))
        case .logs(let units, let lines, _):
            if let missing = units.first(where: { find($0) == nil }) { return .now(.unitNotFound(missing)) }
            // Three lines of each unit, taking turns.
            let entries = (1...3).flatMap { index in
                units.map { unit in
                    UnitLogEntry(unit: unit, realtime: started, pid: 4242, identifier: unit, message: "line \(index)").toRecord()
                }
            }
            return .now(ControlResponse(records: Array(entries.suffix(lines))))
        case .resetFailed, .daemonReload, .daemonReexec:
            return .now(ControlResponse())
        }
    }

    func swatchctl(_ arguments: [String], as user: String? = nil, daemonUID: UInt32 = getuid(),
                   runtimeDirectoryFromEnvironment: Bool = false) throws -> Run {
        try againstTheDaemon(as: user, daemonUID: daemonUID) { directory in
            if let user {
                return ["/usr/bin/setpriv", "--reuid=\(user)", "--regid=\(user)", "--clear-groups", Self.executable,
                        "--runtime-dir", directory] + arguments
            }
            return [Self.executable] + (runtimeDirectoryFromEnvironment ? [] : ["--runtime-dir", directory]) + arguments
        }
    }

    /// Runs the command `argv(runtime directory)` makes while the fake daemon answers, with
    /// $SWATCHD_RUNTIME_DIR set to its directory and swatchctl's directory first in $PATH.
    func againstTheDaemon(as user: String? = nil, daemonUID: UInt32 = getuid(),
                          _ argv: (String) -> [String]) throws -> Run {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control", daemonUID: daemonUID)
        if user != nil {
            chmod(directory.path, 0o755)
            chmod(server.path, 0o666)
        }
        let loop = ServerLoop(server: server, handler: Self.daemon)
        let process = Process()
        let command = argv(directory.path)
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let bin = URL(fileURLWithPath: Self.executable).deletingLastPathComponent().path
        process.environment = ["TZ": "UTC", "PATH": bin + ":/usr/bin:/bin", "SWATCHD_RUNTIME_DIR": directory.path]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        #expect(loop.run(until: { !process.isRunning }, seconds: 20))
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus,
            stdout: String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    // MARK: systemctl's habits

    @Test func statusLinesAsksTheDaemonForThatManyLogLines() throws {
        let run = try swatchctl(["status", "-n", "3", "hello"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.hasSuffix("\n\nlog line 10\nlog line 11\nlog line 12\n"), "\(run.stdout)")
        let none = try swatchctl(["status", "--lines=0", "hello"])
        #expect(!none.stdout.contains("log line") && !none.stdout.contains("hello.service[4242]"), "\(none.stdout)")
        #expect(try swatchctl(["status", "-n", "-1", "hello"]).status == 64)
        // -l/--full and --no-pager change nothing off a terminal.
        // (Lines saying how long ago are left out: the second run may be a second later.)
        func timeless(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.contains(" ago") } }
        #expect(timeless(try swatchctl(["status", "-l", "--no-pager", "-n", "3", "hello"]).stdout) == timeless(run.stdout))
    }

    @Test func quietIsActiveAndIsFailedPrintNothing() throws {
        for (arguments, status) in [(["is-active", "-q", "hello"], Int32(0)), (["is-active", "--quiet", "idle"], 3),
                                    (["-q", "is-active", "nosuch"], 3), (["is-failed", "-q", "failed"], 0),
                                    (["is-failed", "--quiet", "hello"], 1)] {
            let run = try swatchctl(arguments)
            #expect(run.status == status, "\(arguments): \(run)")
            #expect(run.stdout.isEmpty && run.stderr.isEmpty, "\(arguments): \(run)")
        }
    }

    @Test func listUnitsFilters() throws {
        func units(_ arguments: [String]) throws -> [String] {
            let run = try swatchctl(["list-units"] + arguments)
            #expect(run.status == 0, "\(arguments): \(run)")
            return run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().prefix { !$0.isEmpty }.map {
                String($0.dropFirst(2).split(separator: " ").first ?? "")
            }
        }
        #expect(try units(["--failed"]) == ["failed.service"])
        #expect(try units(["--type=socket"]) == ["hello.socket"])
        #expect(try units(["-t", "service", "--state=running"]) == ["hello.service"])
        #expect(try units(["--state=failed,listening"]) == ["hello.socket", "failed.service"])
        #expect(try units(["--all"]).count == 4)
        let unknown = try swatchctl(["list-units", "--type=timer"])
        #expect(unknown.status == 64 && unknown.stderr.contains("timer"), "\(unknown)")
    }

    @Test func listDependenciesPrintsSystemctlsTree() throws {
        let run = try swatchctl(["list-dependencies", "hello"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == """
            hello.service
            ● ├─db.service
              │   └─...
            ○ ├─idle.service
            ○ └─nosuch.service

            """, "\(run.stdout)")
        #expect(try swatchctl(["list-dependencies", "nothing"]).status == 4)
        // Several units, a glob among them: one tree after the other, as systemctl prints them.
        let two = try swatchctl(["list-dependencies", "i*", "failed"])
        #expect(two.status == 0 && two.stdout == "failed.service\nidle.service\n", "\(two)")
        let oneMissing = try swatchctl(["list-dependencies", "idle", "nothing"])
        #expect(oneMissing.status == 4 && oneMissing.stdout == "idle.service\n", "\(oneMissing)")
        #expect(oneMissing.stderr.contains("Unit nothing.service could not be found."), "\(oneMissing)")
    }

    @Test func showHasDependenciesAndNeedDaemonReload() throws {
        let hello = try swatchctl(["show", "hello"])
        let lines = Set(hello.stdout.split(separator: "\n").map(String.init))
        for expected in ["Requires=db.service", "Wants=nosuch.service idle.service", "After=db.service", "NeedDaemonReload=no"] {
            #expect(lines.contains(expected), "\(expected)\n\(hello.stdout)")
        }
        #expect(!lines.contains { $0.hasPrefix("BindsTo=") }, "empty lists are left out, as systemctl show does")
        #expect(try swatchctl(["show", "-p", "NeedDaemonReload", "--value", "db"]).stdout == "yes\n")
        let status = try swatchctl(["status", "db"])
        #expect(status.stderr.contains(
            "Warning: The unit file, source configuration file or drop-ins of db.service changed on disk. "
                + "Run 'swatchctl daemon-reload' to reload units."), "\(status)")
        #expect(!(try swatchctl(["status", "hello"]).stderr.contains("changed on disk")))
    }

    @Test func logsOfEveryUnitAndByTime() throws {
        let all = try swatchctl(["logs"])
        #expect(all.status == 0, "\(all)")
        #expect(all.stdout.split(separator: "\n").map { String($0.split(separator: " ").dropFirst(3).joined(separator: " ")) }
            == ["hello.service[1]: all 1", "idle.service[2]: all 2", "hello.service[3]: all 3", "idle.service[4]: all 4"],
            "\(all.stdout)")
        func messages(_ arguments: [String]) throws -> [String] {
            let run = try swatchctl(["logs"] + arguments)
            #expect(run.status == 0, "\(arguments): \(run)")
            return run.stdout.split(separator: "\n").map { String($0.split(separator: " ").suffix(2).joined(separator: " ")) }
        }
        // Lines 4, 3, 2 and 1 minutes (and 4 s) ago.
        #expect(try messages(["--since", "-150s"]) == ["all 3", "all 4"])
        #expect(try messages(["--since=2 min ago"]) == ["all 4"])
        #expect(try messages(["--until", "-150s"]) == ["all 1", "all 2"])
        #expect(try messages(["-S", "@0", "-n", "1"]) == ["all 4"])
        #expect(try messages(["--since", "now"]) == [])
        let bad = try swatchctl(["logs", "--since", "soon"])
        #expect(bad.status == 64 && bad.stderr.contains("Failed to parse timestamp: soon"), "\(bad)")
    }

    @Test func mistypedAndMissingVerbsSayWhatToDo() throws {
        let typo = try swatchctl(["stauts", "hello"])
        #expect(typo.status == 64)
        #expect(typo.stderr == "Unknown command 'stauts'; did you mean 'status'?\n", "\(typo)")
        let far = try swatchctl(["frobnicate"])
        #expect(far.status == 64 && far.stderr == "Unknown command 'frobnicate'\n", "\(far)")
        let enable = try swatchctl(["enable", "hello"])
        #expect(enable.status == 1)
        #expect(enable.stderr == "swatchctl: 'enable' is not a command of swatchctl: a unit in a unit directory is enabled; "
            + "to disable it, remove it (or link it to /dev/null to mask it) and run 'swatchctl daemon-reload'.\n", "\(enable)")
        let mask = try swatchctl(["mask", "hello"])
        #expect(mask.status == 1 && mask.stderr.contains("/dev/null"), "\(mask)")
        #expect(try swatchctl(["daemon-relaod"]).stderr.contains("did you mean 'daemon-reload'?"))
    }

    @Test func runtimeDirectoryComesFromTheEnvironment() throws {
        let run = try swatchctl(["is-active", "hello"], runtimeDirectoryFromEnvironment: true)
        #expect(run.status == 0 && run.stdout == "active\n", "\(run)")
    }

    @Test func swatchctlIsBuilt() {
        #expect(access(Self.executable, X_OK) == 0, "\(Self.executable) missing: run `swift build` first")
    }

    @Test func statusOfARunningServiceLooksLikeSystemctls() throws {
        let run = try swatchctl(["status", "hello"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 11)
        #expect(lines[0] == "● hello.service - Hello World service")
        #expect(lines[1] == "     Loaded: loaded (/etc/swatchd/hello.service)")
        // swatchctl runs with TZ=UTC; the expected text is made in the same zone (ProcessTimeZone).
        let since = ProcessTimeZone.with("UTC") { StatusFormat.timestamp(Self.started) }
        #expect(lines[2].hasPrefix("     Active: active (running) since \(since); "))
        #expect(lines[2].hasSuffix("s ago"))
        #expect(Array(lines[3...]) == [
            "TriggeredBy: ● hello.socket",
            "   Main PID: 4242 (swatchd-hello)",
            "     Status: \"Serving 1 sockets\"",
            "      Tasks: 1",
            "     Memory: 1.2M",
            "",
            "Nov 26 16:20:01 hello.service[4242]: line",
            "",
        ])
    }

    /// With limits in the service's cgroup (pids.max, memory.max), systemctl's
    /// `Tasks: 3 (limit: 50)` and `Memory: 1.2M (max: 64.0M)`; `show` has them as numbers.
    @Test func statusShowsTheCgroupsLimitsAsSystemctlDoes() throws {
        let run = try swatchctl(["status", "limited.service"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("      Tasks: 3 (limit: 50)"), "\(run.stdout)")
        #expect(lines.contains("     Memory: 1.2M (max: 64.0M)"), "\(run.stdout)")
        let show = try swatchctl(["show", "-p", "TasksMax", "-p", "MemoryMax", "limited.service"])
        #expect(show.stdout == "TasksMax=50\nMemoryMax=67108864\n")
        // systemctl's comma-separated list is the same as repeating -p.
        let listed = try swatchctl(["show", "-p", "TasksMax,MemoryMax", "limited.service"])
        #expect(listed.stdout == "TasksMax=50\nMemoryMax=67108864\n", "\(listed)")
        let unlimited = try swatchctl(["show", "-p", "TasksMax", "-p", "MemoryMax", "hello.service"])
        #expect(unlimited.stdout == "TasksMax=infinity\nMemoryMax=infinity\n")
    }

    /// systemctl's `Cntrl PID:` row when only a control process runs (the start process of
    /// Type=forking is one), and `; Control PID:` after the main process beside it.
    @Test func statusShowsTheControlProcessAsSystemctlDoes() throws {
        let forking = try swatchctl(["status", "forking.service"])
        #expect(forking.stdout.split(separator: "\n").contains("  Cntrl PID: 5151 (sh)"), "\(forking.stdout)")
        #expect(!forking.stdout.contains("Main PID"), "\(forking.stdout)")
        let stopping = try swatchctl(["status", "stopping.service"])
        #expect(stopping.stdout.split(separator: "\n").contains("   Main PID: 4444 (daemon); Control PID: 5252 (sh)"),
                "\(stopping.stdout)")
        let stopPost = try swatchctl(["status", "stoppost.service"])
        #expect(stopPost.stdout.split(separator: "\n").contains(
            "   Main PID: 6161 (code=exited, status=0/SUCCESS); Control PID: 6262 (sh)"), "\(stopPost.stdout)")
        let show = try swatchctl(["show", "-p", "MainPID", "-p", "ControlPID", "forking.service"])
        #expect(show.stdout == "MainPID=0\nControlPID=5151\n", "\(show)")
    }

    @Test func statusOfASocketShowsListenAndTriggers() throws {
        let run = try swatchctl(["status", "hello.socket"])
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "● hello.socket")
        #expect(lines[2].hasPrefix("     Active: active (listening) since "))
        #expect(lines[3] == "   Triggers: ● hello.service")
        #expect(lines[4] == "     Listen: [::]:8080 (Stream)")
    }

    /// systemctl's `Accepted: N; Connected: N;` line of an Accept=yes socket, `Refused: N` once
    /// one was refused, and the counters as show's properties.
    @Test func statusOfAnAcceptSocketShowsItsConnections() throws {
        let run = try swatchctl(["status", "echo.socket"])
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let listen = try #require(lines.firstIndex(of: "     Listen: 127.0.0.1:7 (Stream)"), "\(run.stdout)")
        #expect(lines[listen + 1] == "   Accepted: 7; Connected: 2;   Refused: 1", "\(run.stdout)")
        let show = try swatchctl(["show", "-p", "Accept,NAccepted,NConnections,NRefused", "echo.socket"])
        #expect(show.stdout == "Accept=yes\nNAccepted=7\nNConnections=2\nNRefused=1\n", "\(show)")
        // An Accept=no socket has no such line.
        #expect(!(try swatchctl(["status", "hello.socket"])).stdout.contains("Accepted:"))
    }

    @Test func statusExitCodesAreLSBs() throws {
        let idle = try swatchctl(["status", "idle.service"])
        #expect(idle.status == 3)
        #expect(idle.stdout.hasPrefix("○ idle.service - Idle\n     Loaded: loaded (/etc/swatchd/idle.service)\n     Active: inactive (dead)\n"))

        let failed = try swatchctl(["status", "failed.service"])
        #expect(failed.status == 3)
        #expect(failed.stdout.contains("× failed.service\n"))
        #expect(failed.stdout.contains("     Active: failed (Result: exit-code) since "))
        #expect(failed.stdout.contains("   Main PID: 77 (code=exited, status=1/FAILURE)"))

        let missing = try swatchctl(["status", "nope.service"])
        #expect(missing.status == 4)
        #expect(missing.stderr == "Unit nope.service could not be found.\n")
        // A name with another unit type's suffix is asked for as written, as systemctl mangles it.
        let timer = try swatchctl(["status", "tick.timer"])
        #expect((timer.status, timer.stderr) == (4, "Unit tick.timer could not be found.\n"), "\(timer)")
    }

    @Test func isActiveAndIsFailedPrintTheStateAndExitAsSystemctl() throws {
        let active = try swatchctl(["is-active", "hello.service"])
        #expect((active.status, active.stdout) == (0, "active\n"))
        let idle = try swatchctl(["is-active", "idle.service"])
        #expect((idle.status, idle.stdout) == (3, "inactive\n"))
        let unknown = try swatchctl(["is-active", "nope.service"])
        #expect((unknown.status, unknown.stdout) == (3, "inactive\n"))
        let failed = try swatchctl(["is-failed", "failed.service"])
        #expect((failed.status, failed.stdout) == (0, "failed\n"))
        let notFailed = try swatchctl(["is-failed", "hello.service"])
        #expect((notFailed.status, notFailed.stdout) == (1, "active\n"))
        // Several units: a line each, in order; 0 when one of them is, as systemctl.
        let some = try swatchctl(["is-active", "idle.service", "hello"])
        #expect((some.status, some.stdout) == (0, "inactive\nactive\n"), "\(some)")
        let none = try swatchctl(["is-active", "idle.service", "failed.service"])
        #expect((none.status, none.stdout) == (3, "inactive\nfailed\n"), "\(none)")
        let oneFailed = try swatchctl(["is-failed", "--quiet", "hello.service", "failed.service"])
        #expect((oneFailed.status, oneFailed.stdout) == (0, ""), "\(oneFailed)")
    }

    /// systemctl's globs (expand_unit_names()): a pattern is matched against the loaded units,
    /// without `.service` added; names that are not patterns are taken as they are. A pattern
    /// that matches nothing shows nothing (not every unit, as no name at all would).
    @Test func patternsExpandToTheLoadedUnitsTheyMatch() throws {
        let active = try swatchctl(["is-active", "idle", "hello*"])
        #expect((active.status, active.stdout) == (0, "inactive\nactive\nactive\n"), "\(active)")
        let show = try swatchctl(["show", "-p", "Id", "--value", "*.socket", "f?iled.service"])
        #expect(show.stdout == "hello.socket\n\nfailed.service\n", "\(show)")
        let none = try swatchctl(["status", "nomatch*"])
        #expect((none.status, none.stdout, none.stderr) == (0, "", ""), "\(none)")
        let listed = try swatchctl(["list-units", "*.service", "--state=inactive,failed"])
        #expect(listed.stdout.contains("idle.service") && listed.stdout.contains("failed.service")
                && !listed.stdout.contains("hello."), "\(listed)")
        #expect(listed.stdout.contains("2 loaded units listed."), "\(listed)")
    }

    @Test func stoppingATriggeredServiceWarnsAsSystemctlDoes() throws {
        let run = try swatchctl(["stop", "hello.service"])
        #expect(run.status == 0)
        #expect(run.stderr == "Warning: Stopping hello.service, but it can still be activated by:\n  hello.socket\n")
        #expect(run.stdout == "")
    }

    @Test func startingAUnitThatIsNotLoadedExits5() throws {
        let run = try swatchctl(["start", "nope.service"])
        #expect(run.status == 5)
        #expect(run.stderr == "Failed to start nope.service: Unit nope.service not found.\n")
    }

    @Test func usageErrorsExit64() throws {
        #expect(try swatchctl(["kill", "--signal", "SIGNOPE", "hello.service"]).status == 64)
        #expect(try swatchctl(["start"]).status == 64)
        #expect(try swatchctl(["frobnicate"]).status == 64)
        #expect(try swatchctl(["logs", "-n", "-3", "hello.service"]).status == 64)
    }

    @Test func showPrintsPropertiesAsKeyValueLines() throws {
        let run = try swatchctl(["show", "hello.service"])
        #expect(run.status == 0)
        let lines = Set(run.stdout.split(separator: "\n").map(String.init))
        for expected in [
            "Id=hello.service", "ActiveState=active", "SubState=running", "Result=success", "MainPID=4242",
            "NRestarts=0", "TriggeredBy=hello.socket", "FragmentPath=/etc/swatchd/hello.service",
            "StatusText=Serving 1 sockets", "MemoryCurrent=1300000",
        ] {
            #expect(lines.contains(expected), "\(expected)")
        }
        let one = try swatchctl(["show", "-p", "ActiveState", "--value", "hello.service"])
        #expect(one.stdout == "active\n")
    }

    @Test func listsAreTables() throws {
        let units = try swatchctl(["list-units"])
        #expect(units.status == 0)
        let lines = units.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0] == "  UNIT           LOAD   ACTIVE   SUB       DESCRIPTION")
        #expect(lines[1] == "  hello.service  loaded active   running   Hello World service")
        #expect(lines[4] == "● failed.service loaded failed   failed    failed.service")
        #expect(lines.last == "4 loaded units listed.")

        let sockets = try swatchctl(["list-sockets"])
        #expect(sockets.stdout == "LISTEN    UNIT         ACTIVATES\n[::]:8080 hello.socket hello.service\n\n1 sockets listed.\n")
    }

    @Test func logsPrintsJournalStyleLines() throws {
        let run = try swatchctl(["logs", "hello", "-n", "2"])
        #expect(run.status == 0)
        let prefix = ProcessTimeZone.with("UTC") { StatusFormat.journalTimestamp(Self.started) }
        #expect(run.stdout == "\(prefix) hello.service[4242]: line 2\n\(prefix) hello.service[4242]: line 3\n")
        #expect(try swatchctl(["logs", "nope.service"]).status == 4)
    }

    @Test func logsOfSeveralUnitsAndGlobs() throws {
        // As journalctl -u hello.service -u idle.service: the lines of both, together.
        let run = try swatchctl(["logs", "hello", "i*", "-n", "3"])
        #expect(run.status == 0, "\(run)")
        let prefix = ProcessTimeZone.with("UTC") { StatusFormat.journalTimestamp(Self.started) }
        #expect(run.stdout == "\(prefix) idle.service[4242]: line 2\n\(prefix) hello.service[4242]: line 3\n"
            + "\(prefix) idle.service[4242]: line 3\n")
        // A glob that matches no loaded unit shows nothing; it does not mean every unit.
        let none = try swatchctl(["logs", "nomatch-*"])
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none)")
    }

    @Test func logsFollowKeepsPrintingNewLinesUntilStopped() throws {
        let directory = ShortTemporaryDirectory()
        let server = try ControlServer(path: directory.path + "/control")
        let log = UnitLogBuffer()
        log.append(unit: "hello.service", message: "before", identifier: "hello.service", pid: 4242)
        let loop = ServerLoop(server: server) { call in
            guard case .logs(let units, let count, true) = call.request else { return .now(.failure("unexpected")) }
            let backlog = log.entries(units: units, last: count).map { $0.toRecord() }
            return .follow(ControlResponse(records: backlog), units: units, after: log.lastSequence)
        }
        loop.unitLog = log
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--runtime-dir", directory.path, "logs", "-f", "hello.service"]
        // Its own zone, not whatever another test has set the process's TZ to as it starts.
        process.environment = ProcessInfo.processInfo.environment.merging(["TZ": "UTC"]) { $1 }
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let fd = stdout.fileHandleForReading.fileDescriptor
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        var text = ""
        func readSome() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { text += String(decoding: buffer[..<n], as: UTF8.self) }
            return text
        }
        #expect(loop.run(until: { readSome().contains("before") }))
        log.append(unit: "hello.service", message: "after", identifier: "hello.service", pid: 4242)
        #expect(loop.run(until: { readSome().contains("after") }))
        #expect(process.isRunning, "still following")
        // SIGKILL: a child of the test runner inherits its blocked signal mask, so SIGINT (a
        // user's Ctrl-C) would not reach it here.
        kill(process.processIdentifier, SIGKILL)
        #expect(loop.run(until: { !process.isRunning }))
        #expect(loop.run(until: { server.connectionDescriptors.isEmpty }))
        let written = log.entries(unit: "hello.service", last: 1)[0].realtime
        let stamp = ProcessTimeZone.with("UTC") { StatusFormat.journalTimestamp(written) }
        #expect(text.hasSuffix("hello.service[4242]: before\n\(stamp) hello.service[4242]: after\n"))
    }

    @Test func jsonOutputParses() throws {
        let status = try swatchctl(["--json", "status", "hello.service", "hello.socket"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["Id"] as? String == "hello.service")
        #expect(array[0]["MainPID"] as? Int == 4242)
        #expect(array[1]["Listen"] as? [[String: String]] == [["Address": "[::]:8080", "Type": "Stream"]])

        let units = try swatchctl(["list-units", "--json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(units.stdout.utf8)) as? [[String: Any]])
        #expect(list.map { $0["Id"] as? String } == ["hello.service", "hello.socket", "idle.service", "failed.service"])

        let logs = try swatchctl(["logs", "--json", "hello.service"])
        for line in logs.stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["_PID"] as? Int == 4242)
        }
    }

    @Test func noPagerIsAccepted() throws {
        #expect(try swatchctl(["--no-pager", "list-sockets"]).status == 0)
        #expect(try swatchctl(["status", "--no-pager", "hello.service"]).status == 0)
    }

    @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0))
    func swatchctlRunAsNobodyIsRefused() throws {
        let run = try swatchctl(["stop", "hello.service"], as: "65534", daemonUID: 0)
        #expect(run.status == 1)
        #expect(run.stderr == "Access denied: swatchd serves root only\n")
    }

    @Test func anAbsentDaemonIsReportedWithItsPath() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--runtime-dir", "/nonexistent", "list-units"]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(
            String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                == "Failed to connect to swatchd at /nonexistent/control: No such file or directory (is swatchd running?)\n")
    }

    // MARK: the command line (Sources/swatchctl/ArgumentParsing.swift)

    @Test func optionsAreTakenInEverySpellingSystemctlTakes() throws {
        func timeless(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.contains(" ago") } }
        let reference = try swatchctl(["status", "-n", "1", "hello"])
        #expect(reference.status == 0 && reference.stdout.contains("line"), "\(reference)")
        for spelling in [["status", "-n1", "hello"], ["status", "--lines=1", "hello"], ["status", "--lines", "1", "hello"],
                         ["status", "hello", "-n", "1"], ["-n", "1", "status", "hello"], ["-ln1", "status", "hello"]] {
            let run = try swatchctl(spelling)
            #expect(run.status == 0 && timeless(run.stdout) == timeless(reference.stdout), "\(spelling): \(run)")
        }
        // Flags together, before the command.
        let quiet = try swatchctl(["-lq", "is-active", "hello"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty, "\(quiet)")
        // A value that looks like an option, where the option says it may (`--since -5min`).
        let since = try swatchctl(["logs", "--since", "-5min", "hello"])
        #expect(since.status == 0, "\(since)")
        // After `--`, words are operands: `-n` is a unit here, which does not exist.
        let operand = try swatchctl(["is-active", "--", "-n"])
        #expect(operand.status == 3 && operand.stdout == "inactive\n", "\(operand)")
    }

    @Test func aCommandLineItCannotTakeIsAUsageErrorWithTheCommandsUsage() throws {
        let unknown = try swatchctl(["status", "--frob", "hello"])
        #expect(unknown.status == 64 && unknown.stdout.isEmpty, "\(unknown)")
        #expect(unknown.stderr == """
            Error: Unknown option '--frob'
            Usage: swatchctl status [OPTION]... [UNIT]...
              See 'swatchctl status --help' for more information.

            """, "\(unknown)")
        #expect(try swatchctl(["status", "--jsn"]).stderr.hasPrefix("Error: Unknown option '--jsn'; did you mean '--json'?\n"))
        for (arguments, message) in [
            (["--json=yes", "list-units"], "Option '--json' takes no value"),
            (["is-active"], "Missing expected argument 'UNIT...'"),
            (["list-dependencies"], "Missing expected argument 'UNIT...'"),
            (["start"], "Missing expected argument 'UNIT...'"),
            (["list-sockets", "hello"], "Unexpected argument 'hello'"),
            (["status", "-n", "many", "hello"], "The value 'many' is invalid for '-n, --lines N'"),
            (["logs", "--lines"], "Missing value for '--lines'"),
            (["is-active", "-x", "hello"], "Unknown option '-x'"),
            (["kill", "-s", "SIGNOPE", "hello"], "Invalid signal: SIGNOPE"),
        ] {
            let run = try swatchctl(arguments)
            #expect(run.status == 64 && run.stderr.hasPrefix("Error: \(message)\nUsage: swatchctl "), "\(arguments): \(run)")
        }
    }

    @Test func helpNamesEveryCommandAndEachCommandsOptions() throws {
        let overview = try swatchctl(["--help"])
        #expect(overview.status == 0 && overview.stdout.hasPrefix("Usage: swatchctl [OPTION]... COMMAND [UNIT]...\n"))
        for verb in ["status", "show", "cat", "list-units", "list-sockets", "list-dependencies", "is-active", "is-failed",
                     "logs", "list-jobs", "start", "stop", "restart", "reload", "try-restart", "reload-or-restart",
                     "try-reload-or-restart", "kill",
                     "reset-failed", "daemon-reload", "daemon-reexec"] {
            #expect(overview.stdout.contains("\n  \(verb) "), "\(verb) missing from --help")
        }
        let logs = try swatchctl(["logs", "--help"])
        #expect(logs.status == 0 && logs.stdout.hasPrefix("Usage: swatchctl logs [OPTION]... [UNIT]...\n"), "\(logs)")
        for option in ["-n, --lines N", "-f, --follow", "-S, --since TIME", "-U, --until TIME", "--runtime-dir DIR"] {
            #expect(logs.stdout.contains("  \(option) "), "\(option) missing from logs --help")
        }
        // Every line fits in 80 columns.
        #expect(!(overview.stdout + logs.stdout).split(separator: "\n").contains { $0.count > 80 })
        #expect(try swatchctl(["help", "logs"]).stdout == logs.stdout)
        #expect(try swatchctl(["-h", "logs"]).stdout == logs.stdout)
        // systemctl's other names of a command are that command.
        let tryReload = try swatchctl(["help", "try-reload-or-restart"]).stdout
        #expect(tryReload.hasPrefix("Usage: swatchctl try-reload-or-restart [OPTION]... UNIT...\n"), "\(tryReload)")
        for alias in ["force-reload", "condreload", "reload-or-try-restart"] {
            #expect(try swatchctl(["help", alias]).stdout == tryReload, "\(alias)")
        }
        #expect(try swatchctl(["help", "condrestart"]).stdout == swatchctl(["help", "try-restart"]).stdout)
        let nope = try swatchctl(["help", "nope"])
        #expect(nope.status == 64 && nope.stderr == "Unknown command 'nope'\n", "\(nope)")
        let version = try swatchctl(["--version"])
        #expect(version.status == 0 && version.stdout == "0.1.0\n", "\(version)")
    }

    @Test func withoutACommandItListsTheUnitsAsSystemctl() throws {
        let bare = try swatchctl([])
        #expect(bare.status == 0 && bare.stdout.contains("failed.service") && bare.stdout.contains("loaded units listed."),
                "\(bare)")
        #expect(bare.stdout == (try swatchctl(["list-units"])).stdout)
        // And its options with it, as `systemctl --failed`.
        let failed = try swatchctl(["--failed"])
        let listed = try swatchctl(["list-units", "--failed"])
        #expect(failed.status == 0 && failed.stdout == listed.stdout, "\(failed)")
        #expect(failed.stdout.contains("failed.service") && !failed.stdout.contains("hello.service"), "\(failed)")
    }

    @Test func bashCompletesCommandsOptionsAndTheDaemonsUnits() throws {
        // What bash-completion does on TAB: COMP_WORDS and COMP_CWORD set, the function called.
        let script = """
            source <(swatchctl --generate-completion-script bash) || exit 9
            complete -p swatchctl >/dev/null || exit 8
            ask() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _swatchctl; echo "${COMPREPLY[*]}"; }
            ask swatchctl st
            ask swatchctl logs --s
            ask swatchctl --runtime-dir "$SWATCHD_RUNTIME_DIR" is-active f
            ask swatchctl -n 3 status hel
            ask swatchctl status --lines = 3 hel
            ask swatchctl kill --signal ''
            ask swatchctl --runtime-dir = /nonexistent status hel
            """
        let run = try againstTheDaemon { _ in ["/usr/bin/bash", "-c", script] }
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run)")
        // `--lines = 3` is how bash splits `--lines=3`; the units are asked of the daemon that
        // --runtime-dir names, and there is none at /nonexistent.
        #expect(run.stdout.split(separator: "\n", omittingEmptySubsequences: false) == [
            "status start stop", "--since", "failed.service", "hello.service hello.socket",
            "hello.service hello.socket", "", "", "",
        ], "\(run)")
    }

    @Test func fishAndZshReadTheirCompletionScripts() throws {
        let fish = try againstTheDaemon { _ in
            ["/usr/bin/fish", "--no-config", "-c", """
                swatchctl --generate-completion-script fish | source
                complete -C 'swatchctl re'; echo ==; complete -C 'swatchctl status hel'; echo ==; complete -C 'swatchctl logs --fo'
                echo ==; complete -C "swatchctl --runtime-dir $SWATCHD_RUNTIME_DIR cat hel"
                echo ==; complete -C 'swatchctl --runtime-dir /nonexistent cat hel'
                """]
        }
        let lines = fish.stdout.split(separator: "\n").map { $0.split(separator: "\t").first.map(String.init) ?? "" }
        #expect(fish.status == 0 && lines == [
            "reload", "reload-or-restart", "reset-failed", "restart", "==", "hello.service", "hello.socket", "==", "--follow",
            "==", "hello.service", "hello.socket", "==",
        ], "\(fish)")
        // zsh: the script parses, it is a completion function file (`#compdef`) for swatchctl,
        // and its unit names come from the daemon the line's --runtime-dir names. `_describe`
        // stands in for zsh's own, printing what it is offered; the script's last line, the
        // call compinit makes, is left out.
        let zsh = try againstTheDaemon { _ in
            ["/usr/bin/zsh", "-f", "-c", """
                script=$SWATCHD_RUNTIME_DIR/_swatchctl
                swatchctl --generate-completion-script zsh > $script && zsh -n $script && head -n 1 $script || exit 9
                source <(sed '$d' $script)
                _describe() { print -r -- ${(P)4} }
                BUFFER="swatchctl --runtime-dir $SWATCHD_RUNTIME_DIR status hel"; _swatchctl_units
                BUFFER="swatchctl --runtime-dir=/nonexistent status hel"; _swatchctl_units
                """]
        }
        #expect(zsh.status == 0 && zsh.stdout.split(separator: "\n", omittingEmptySubsequences: false) == [
            "#compdef swatchctl", "hello.service hello.socket idle.service failed.service", "", "",
        ], "\(zsh)")
        let unknown = try swatchctl(["--generate-completion-script", "tcsh"])
        #expect(unknown.status == 64 && unknown.stderr.hasPrefix("Error: Unknown shell 'tcsh': bash, zsh or fish\n"), "\(unknown)")
    }
}
