import SystemPackage
import Testing
@testable import SwatchCore

/// A socket unit's own commands (ExecStartPre=, ExecStartPost=, ExecStopPre=,
/// ExecStopPost=, systemd.socket(5)): their order around the bind and the
/// close, and what a failure or a timeout does (src/core/socket.c).
@Suite struct SocketCommandTests {
    let socket = UnitName(parsing: "x.socket")!
    let service = "[Service]\nExecStart=/bin/x\n"

    func shell(_ socketText: String) -> ScriptedShell {
        ScriptedShell(["x.socket": "[Socket]\nListenStream=8080\n" + socketText, "x.service": service])
    }

    /// The actions that matter for the order: binds, closes, spawns, watches, kills.
    func steps(_ actions: [ManagerAction]) -> [String] {
        actions.compactMap {
            switch $0 {
            case .bind(let name, _): return "bind \(name)"
            case .closeListeners(let name, _): return "close \(name)"
            case .spawn(let order): return "spawn \(order.unit) \(order.role) \(order.command.path)"
            case .watch(let name): return "+\(name)"
            case .unwatch(let name): return "-\(name)"
            case .kill(let name, let order): return "kill \(name) \(order.signal)"
            default: return nil
            }
        }
    }

    func status(_ shell: inout ScriptedShell) throws -> UnitStatusReport {
        let actions = shell.request(.status(units: ["x.socket"], lines: 0))
        guard case .reply(_, .reports(let reports, _, _))? = actions.first(where: {
            if case .reply = $0 { return true } else { return false }
        }) else { throw CancellationError() }
        return try #require(reports.first)
    }

    /// The command that runs is the socket's control process (ControlPID=, `Cntrl PID:`).
    @Test func theRunningCommandIsTheControlProcess() throws {
        var s = shell("ExecStartPre=/bin/pre1\n")
        _ = s.take()
        #expect(try status(&s).controlPID == 100)
        s.exit(100, .exited(0))
        _ = s.take()
        #expect(try status(&s).controlPID == 0)
    }

    @Test func startCommandsRunAroundTheBindAndOnlyThenIsItWatched() throws {
        var s = shell("ExecStartPre=/bin/pre1\nExecStartPre=/bin/pre2\nExecStartPost=/bin/post\n")
        #expect(steps(s.take()) == ["spawn x.socket ExecStartPre[0] /bin/pre1"], "nothing bound before ExecStartPre=")
        #expect(try status(&s).subState == "start-pre")
        s.exit(100, .exited(0))
        #expect(steps(s.take()) == ["spawn x.socket ExecStartPre[1] /bin/pre2"])
        s.exit(101, .exited(0))
        #expect(steps(s.take()) == ["bind x.socket", "spawn x.socket ExecStartPost[0] /bin/post"])
        #expect(try status(&s).subState == "start-post")
        #expect(try status(&s).activeState == .activating)
        s.exit(102, .exited(0))
        #expect(steps(s.take()) == ["+x.socket"])
        s.advance(2)
        let report = try status(&s)
        #expect(report.activeState == .active)
        #expect(report.subState == "listening")
        #expect(report.activeSince == 1_700_000_000_000_000 - 2_000_000, "active since it listens")
    }

    /// PassFileDescriptorsToExec= (socket_spawn(), src/core/socket.c): ExecStartPost=, ExecStopPre=
    /// and ExecStopPost= get the listeners by the sd_listen_fds(3) protocol, non-blocking as swatchd
    /// keeps them; ExecStopPost= is started before the close, so that it still has them.
    /// ExecStartPre= runs before the bind: nothing to pass.
    @Test func passFileDescriptorsToExecGivesTheCommandsTheListeners() throws {
        var s = shell("""
            ListenStream=8081
            FileDescriptorName=web
            PassFileDescriptorsToExec=yes
            ExecStartPre=/bin/pre
            ExecStartPost=/bin/post
            ExecStopPre=/bin/stoppre
            ExecStopPost=/bin/stoppost

            """)
        func passed(_ actions: [ManagerAction]) throws -> SpawnOrder { try #require(s.spawns(actions).first) }
        let pre = try passed(s.take())
        #expect(pre.sockets.isEmpty && pre.protocolVariables.isEmpty && !pre.listenPID)
        s.exit(100, .exited(0))
        let post = try passed(s.take())
        #expect(post.role.phase == .startPost)
        #expect(post.sockets == [socket])
        #expect(post.protocolVariables.map { "\($0.0)=\($0.1)" } == ["LISTEN_FDS=2", "LISTEN_FDNAMES=web:web"])
        #expect(post.listenPID && post.service.nonBlocking)
        s.exit(101, .exited(0))
        _ = s.take()
        let stopPre = try passed(s.request(.stop(units: ["x.socket"])))
        #expect(stopPre.role.phase == .stopPre && stopPre.sockets == [socket])
        s.exit(102, .exited(0))
        let actions = s.take()
        #expect(steps(actions) == ["spawn x.socket ExecStopPost[0] /bin/stoppost", "close x.socket"])
        #expect(try passed(actions).sockets == [socket])

        var plain = shell("ExecStartPost=/bin/post\nExecStopPost=/bin/stoppost\n")
        #expect(try #require(plain.spawns(plain.take()).first).sockets.isEmpty)
        plain.exit(100, .exited(0))
        _ = plain.take()
        let plainStop = plain.request(.stop(units: ["x.socket"]))
        #expect(steps(plainStop) == ["-x.socket", "close x.socket", "spawn x.socket ExecStopPost[0] /bin/stoppost"])
        #expect(try #require(plain.spawns(plainStop).first).sockets.isEmpty)
    }

    @Test func aFailingExecStartPreLeavesTheSocketFailedAndUnbound() throws {
        var s = shell("ExecStartPre=/bin/false\nExecStartPre=/bin/never\n")
        _ = s.take()
        s.exit(100, .exited(1))
        let actions = s.take()
        #expect(steps(actions).isEmpty, "no bind, no further command, nothing to watch")
        #expect(s.logs(actions).contains("x.socket: Control process exited, code=exited, status=1/FAILURE"))
        let report = try status(&s)
        #expect(report.activeState == .failed)
        #expect(report.result == .exitCode)
        #expect(report.listen.isEmpty)
        // Its service is not started by it either.
        s.send(.listenerReadable(socket))
        #expect(s.spawns(s.take()).isEmpty)
        // A start tries again from the top.
        let again = s.request(.start(units: ["x.socket"]))
        #expect(steps(again) == ["spawn x.socket ExecStartPre[0] /bin/false"])
        #expect(s.replies(again).isEmpty, "the start waits for the command")
        s.exit(101, .exited(1))
        #expect(s.replies(s.take()).first?.result == 1)
    }

    @Test func theDashPrefixIgnoresAFailure() throws {
        var s = shell("ExecStartPre=-/bin/false\n")
        _ = s.take()
        s.exit(100, .exited(3))
        #expect(steps(s.take()) == ["bind x.socket", "+x.socket"])
        #expect(try status(&s).subState == "listening")
    }

    @Test func anExecStartPreThatOutlivesTimeoutSecIsTerminatedAndFailsTheSocket() throws {
        var s = shell("ExecStartPre=/bin/sleep 100\nTimeoutSec=5\nKillSignal=SIGINT\n")
        _ = s.take()
        #expect(s.manager.nextDeadline() == s.now + .seconds(5))
        s.fireTimer()
        let actions = s.take()
        #expect(steps(actions) == ["kill x.socket 2"])
        #expect(s.logs(actions).contains("x.socket: Starting timed out. Terminating."))
        #expect(try status(&s).subState == "final-sigterm")
        s.exit(100, .signaled(2, coreDumped: false))
        #expect(steps(s.take()).isEmpty)
        let report = try status(&s)
        #expect(report.activeState == .failed)
        #expect(report.result == .timeout, "the first failure wins over the signal that ended it")
    }

    @Test func aCommandDeafToSIGTERMGetsSIGKILLAfterAnotherTimeout() throws {
        var s = shell("ExecStartPre=/bin/stubborn\nTimeoutSec=2\n")
        _ = s.take()
        s.fireTimer()
        #expect(steps(s.take()) == ["kill x.socket 15"])
        s.fireTimer()
        #expect(steps(s.take()) == ["kill x.socket 9"])
        s.fireTimer()
        #expect(try status(&s).activeState == .failed)
        #expect(try status(&s).result == .timeout)
    }

    @Test func aStopRunsExecStopPreWhileBoundThenClosesThenExecStopPost() throws {
        var s = shell("ExecStopPre=/bin/stoppre\nExecStopPost=/bin/stoppost\n")
        #expect(steps(s.take()) == ["bind x.socket", "+x.socket"])
        let stop = s.request(.stop(units: ["x.socket"]))
        #expect(steps(stop) == ["spawn x.socket ExecStopPre[0] /bin/stoppre", "-x.socket"])
        #expect(s.replies(stop).isEmpty)
        #expect(try status(&s).subState == "stop-pre")
        s.exit(100, .exited(0))
        #expect(steps(s.take()) == ["close x.socket", "spawn x.socket ExecStopPost[0] /bin/stoppost"])
        #expect(try status(&s).activeState == .deactivating)
        s.exit(101, .exited(0))
        let done = s.take()
        #expect(s.replies(done).map(\.result) == [0])
        let report = try status(&s)
        #expect(report.activeState == .inactive)
        #expect(report.subState == "dead")
    }

    @Test func aFailingExecStartPostStopsTheSocketWithItsStopCommands() throws {
        var s = shell("ExecStartPost=/bin/false\nExecStopPost=/bin/cleanup\n")
        #expect(steps(s.take()) == ["bind x.socket", "spawn x.socket ExecStartPost[0] /bin/false"])
        s.exit(100, .exited(2))
        #expect(steps(s.take()) == ["close x.socket", "spawn x.socket ExecStopPost[0] /bin/cleanup"])
        s.exit(101, .exited(0))
        #expect(try status(&s).activeState == .failed)
        #expect(try status(&s).result == .exitCode)
    }

    @Test func aBindThatFailsRunsTheStopCommandsAndFailsWithResources() throws {
        let units = ScriptedShell.units(["x.socket": "[Socket]\nListenStream=8080\nExecStopPost=/bin/cleanup\n",
                                         "x.service": service])
        var s = ScriptedShell([:])
        s.failingBinds = ["x.socket"]
        s.send(.load(units))
        let actions = s.take()
        #expect(steps(actions) == ["bind x.socket", "spawn x.socket ExecStopPost[0] /bin/cleanup"],
                "nothing was bound, so nothing is closed")
        s.exit(100, .exited(0))
        let report = try status(&s)
        #expect(report.activeState == .failed)
        #expect(report.result == .resources)
        #expect(report.statusText == "\(SystemPackage.Errno.addressInUse)")
    }

    @Test func theCommandsRunWithTheSocketsOwnSettingsAndNoFDs() throws {
        var s = shell("ExecStartPre=/bin/pre $GREETING\nEnvironment=GREETING=hello\nUser=nobody\nWorkingDirectory=/tmp\n")
        let order = try #require(s.spawns(s.take()).first)
        #expect(order.unit == socket)
        #expect(order.service.environment.map { "\($0.0)=\($0.1)" } == ["GREETING=hello"])
        #expect(order.service.sandbox.user == "nobody")
        #expect(order.service.workingDirectory == "/tmp")
        #expect(order.sockets.isEmpty && order.connectionAsFD == nil && !order.passesStoredFDs)
        #expect(order.protocolVariables.isEmpty)
        #expect(!order.invocationID.isEmpty)
    }

    @Test func aControlProcessBelongsToItsSocketUntilReaped() {
        var s = shell("ExecStartPre=/bin/pre\n")
        _ = s.take()
        #expect(s.manager.owner(ofPID: 100) == socket)
        s.exit(100, .exited(0))
        #expect(s.manager.owner(ofPID: 100) == nil)
    }

    @Test func aSpawnThatFailsFailsTheStartWithResources() throws {
        let units = ScriptedShell.units(["x.socket": "[Socket]\nListenStream=8080\nExecStartPre=/bin/missing\n",
                                         "x.service": service])
        var s = ScriptedShell([:])
        var queue = s.manager.handle(.load(units), now: s.now)
        // The shell cannot start it.
        while !queue.isEmpty {
            let action = queue.removeFirst()
            if case .spawn(let order) = action {
                queue += s.manager.handle(.spawnFailed(order.unit, order.role, SystemPackage.Errno.noSuchFileOrDirectory),
                                          now: s.now)
            } else if let answer = s.answer(action) {
                queue += s.manager.handle(answer, now: s.now)
            }
        }
        let report = try status(&s)
        #expect(report.activeState == .failed)
        #expect(report.result == .resources)
    }

    @Test func shutdownStopsTheSocketsWithTheirCommandsBeforeExiting() {
        var s = shell("ExecStopPost=/bin/cleanup\n")
        _ = s.take()
        s.send(.shutdown)
        let actions = s.take()
        #expect(steps(actions).suffix(2) == ["close x.socket", "spawn x.socket ExecStopPost[0] /bin/cleanup"])
        #expect(!actions.contains { if case .exit = $0 { return true } else { return false } })
        s.exit(100, .exited(0))
        #expect(s.take().contains { if case .exit = $0 { return true } else { return false } })
    }

    /// A restart of a socket that a running service BindsTo= (the seed's multi/ case) goes as
    /// systemd's: the service stops first, then the socket closes and binds again, then the
    /// service starts again.
    @Test func aSocketRestartStopsItsBoundServiceFirstAndStartsItLast() throws {
        var s = ScriptedShell(["x.socket": "[Socket]\nListenStream=8080\n",
                               "x.service": "[Unit]\nBindsTo=x.socket\n[Service]\nExecStart=/bin/x\n"])
        s.send(.listenerReadable(socket))
        _ = s.take()
        #expect(s.state("x.service") == .running)
        let restart = s.request(.job(.restart, units: ["x.socket"], noBlock: true))
        #expect(steps(restart) == ["kill x.service 15"], "the service stops first; the socket still listens")
        s.exit(100, .signaled(15, coreDumped: false))
        #expect(steps(s.take()).filter { !$0.hasPrefix("+") && !$0.hasPrefix("-") }
            == ["close x.socket", "bind x.socket", "spawn x.service ExecStart[0] /bin/x"])
        #expect(s.state("x.service") == .running)
    }

    /// A socket's restart is not its end: SuccessAction=exit does not end swatchd, as a
    /// service's restart does not.
    @Test func aSocketRestartIsNotItsEnd() throws {
        var s = ScriptedShell(["x.socket": "[Unit]\nSuccessAction=exit\n[Socket]\nListenStream=8080\n", "x.service": service])
        _ = s.take()
        let restart = s.request(.job(.restart, units: ["x.socket"], noBlock: true))
        #expect(steps(restart).filter { !$0.hasPrefix("+") && !$0.hasPrefix("-") } == ["close x.socket", "bind x.socket"])
        #expect(!s.logs(restart).contains { $0.contains("SuccessAction=exit") })
        #expect(try status(&s).activeState == .active)
    }

    @Test func aRestartGoesThroughTheStopCommandsThenTheStartCommands() throws {
        var s = shell("ExecStartPre=/bin/pre\nExecStopPost=/bin/post\n")
        _ = s.take()
        s.exit(100, .exited(0))
        _ = s.take()
        let restart = s.request(.restart(units: ["x.socket"]))
        #expect(steps(restart) == ["-x.socket", "close x.socket", "spawn x.socket ExecStopPost[0] /bin/post"])
        s.exit(101, .exited(0))
        #expect(steps(s.take()) == ["spawn x.socket ExecStartPre[0] /bin/pre"])
        s.exit(102, .exited(0))
        let end = s.take()
        #expect(steps(end) == ["bind x.socket", "+x.socket"])
        #expect(s.replies(end).map(\.result) == [0])
    }

    @Test func aRestrictionTheBuildEnforcesLoadsOneItDoesNotRefusesTheSocket() {
        let set = ScriptedShell.units([
            "a.socket": "[Socket]\nListenStream=8080\nExecStartPre=/bin/pre\nUser=nobody\nPrivateTmp=yes\n",
            "a.service": service,
            "b.socket": "[Socket]\nListenStream=8081\nExecStartPre=/bin/pre\nPAMName=login\n",
            "b.service": service,
        ])
        #expect(set.sockets[UnitName(parsing: "a.socket")!]?.execution?.sandbox.user == "nobody")
        #expect(set.refused["a.socket"] == nil)
        #expect(set.refused["b.socket"]?.map(\.message) == [
            "PAMName= is not enforced by this build; refusing to run the unit with less isolation than it asks for.",
        ])
    }

    @Test func aSocketWithoutExecutionSettingsCarriesNone() {
        let set = ScriptedShell.units(["a.socket": "[Socket]\nListenStream=8080\nTimeoutSec=0\n", "a.service": service])
        let unit = set.sockets[UnitName(parsing: "a.socket")!]
        #expect(unit?.execution == nil)
        #expect(unit?.timeout == .infinity, "0 means no limit")
    }

    @Test func killSignalsTheRunningCommandOfASocket() {
        var s = shell("ExecStartPre=/bin/sleep 100\n")
        _ = s.take()
        let actions = s.request(.kill(units: ["x.socket"], signal: 10))
        #expect(steps(actions) == ["kill x.socket 10"])
        s.exit(100, .exited(0))
        let none = s.request(.kill(units: ["x.socket"], signal: 10))
        #expect(s.replies(none).first?.errors == ["No control process of x.socket to signal."])
    }

    @Test func verifyWarnsAboutACommandThatIsNotThere() {
        let set = UnitSet.parse([UnitSource(path: "/u/x.socket", text: "[Socket]\nListenStream=8080\nExecStartPre=/nonexistent/pre\n"),
                                 UnitSource(path: "/u/x.service", text: service)],
                                context: ScriptedShell.context, checkExecutables: true)
        #expect(set.refused.isEmpty)
        #expect(set.diagnostics.map(\.description).contains {
            $0.hasPrefix("/u/x.socket:3: Program of ExecStartPre= is not executable")
        })
    }
}
