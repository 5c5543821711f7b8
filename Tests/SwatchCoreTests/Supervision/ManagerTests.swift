import Logging
import SystemPackage
import Testing
@testable import SwatchCore

private let helloSocket = "[Socket]\nListenStream=8080\n"
private let helloService = "[Service]\nExecStart=/bin/hello\n"

@Suite struct ManagerTests {
    // MARK: Activation

    @Test func bindsAndWatchesASocketAndStartsItsServiceOnTheFirstConnection() throws {
        var shell = ScriptedShell(["hello.socket": helloSocket, "hello.service": helloService])
        let startUp = shell.take()
        #expect(shell.watched(startUp) == ["+hello.socket"])
        #expect(shell.spawns(startUp).isEmpty, "a triggered service waits for its first connection")

        shell.send(.listenerReadable(UnitName(parsing: "hello.socket")!))
        let actions = shell.take()
        let order = try #require(shell.spawns(actions).first)
        #expect(order.sockets == [UnitName(parsing: "hello.socket")!])
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDS", "1") })
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "hello.socket") })
        #expect(order.listenPID)
        #expect(shell.watched(actions) == ["-hello.socket"], "the service accepts while it runs")
        #expect(shell.state("hello.service") == .running)

        shell.exit(100, .exited(1))
        #expect(shell.watched(shell.take()) == ["+hello.socket"], "watched again once the service is gone")
    }

    /// FlushPending= (socket_enter_listening(), src/core/socket.c): the listeners are flushed
    /// before each watch that follows the socket's start or its service's end, so that what
    /// the service left unread does not start it again; never with Accept=yes.
    @Test func flushPendingFlushesBeforeEachWatchThatFollowsARun() {
        func flushesAndWatches(_ actions: [ManagerAction]) -> [String] {
            actions.compactMap { action in
                switch action {
                case .flushListeners(let name): "flush \(name)"
                case .watch(let name): "+\(name)"
                case .unwatch(let name): "-\(name)"
                default: nil
                }
            }
        }
        var shell = ScriptedShell(["hello.socket": helloSocket + "FlushPending=yes\n", "hello.service": helloService])
        #expect(flushesAndWatches(shell.take()) == ["flush hello.socket", "+hello.socket"])
        shell.send(.listenerReadable(UnitName(parsing: "hello.socket")!))
        #expect(flushesAndWatches(shell.take()) == ["-hello.socket"])
        shell.exit(100, .exited(0))
        #expect(flushesAndWatches(shell.take()) == ["flush hello.socket", "+hello.socket"])
        // Started by hand and stopped: it ran, as systemd's socket counts it (socket_trigger_notify()).
        _ = shell.request(.start(units: ["hello.service"]))
        shell.exit(101, .exited(0))
        #expect(flushesAndWatches(shell.take()).first == "flush hello.socket")

        var plain = ScriptedShell(["hello.socket": helloSocket, "hello.service": helloService])
        #expect(flushesAndWatches(plain.take()) == ["+hello.socket"])
        var accepting = ScriptedShell(["a.socket": "[Socket]\nListenStream=7\nAccept=yes\nFlushPending=yes\n",
                                       "a@.service": helloService])
        #expect(flushesAndWatches(accepting.take()) == ["+a.socket"])
    }

    @Test func startsTheServicesNoSocketTriggersAtStartUp() {
        var shell = ScriptedShell(["hello.socket": helloSocket, "hello.service": helloService,
                           "worker.service": "[Service]\nExecStart=/bin/worker\n"])
        let orders = shell.spawns(shell.take())
        #expect(orders.map(\.unit.description) == ["worker.service"])
        #expect(orders.first?.protocolVariables.contains { $0.0 == "LISTEN_FDS" } == false)
    }

    @Test func pausesTheSocketWhenItsServiceHitsTheStartLimit() {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                           "hello.service": "[Unit]\nStartLimitBurst=2\nStartLimitIntervalSec=10s\n[Service]\nExecStart=/bin/hello\n"])
        let socket = UnitName(parsing: "hello.socket")!
        for pid: Int32 in [100, 101] {
            shell.send(.listenerReadable(socket))
            shell.exit(pid, .exited(1))
        }
        _ = shell.take()
        shell.send(.listenerReadable(socket))
        let actions = shell.take()
        #expect(shell.spawns(actions).isEmpty)
        #expect(shell.state("hello.service") == .failed)
        #expect(shell.logs(actions).contains("hello.socket: Its service hit its start limit, not watching for 1s."))
        #expect(shell.watched(actions) == ["-hello.socket"])
        #expect(shell.manager.nextDeadline() == shell.now + .seconds(1))

        shell.fireTimer()
        #expect(shell.watched(shell.take()) == ["+hello.socket"], "listening again after the back-off")
    }

    // MARK: Invocation IDs and the environment

    @Test func mintsOneInvocationIDPerStartSharedByItsCommands() {
        var shell = ScriptedShell(["oneshot.service": """
            [Service]
            Type=oneshot
            ExecStartPre=/bin/pre
            ExecStart=/bin/main
            ExecStartPost=/bin/post
            RemainAfterExit=yes
            """])
        var orders = shell.spawns(shell.take())
        shell.exit(100, .exited(0))
        orders += shell.spawns(shell.take())
        shell.exit(101, .exited(0))
        orders += shell.spawns(shell.take())
        shell.exit(102, .exited(0))
        #expect(orders.map(\.role) == [ExecRole(.startPre, 0), ExecRole(.start, 0), ExecRole(.startPost, 0)])
        #expect(Set(orders.map(\.invocationID)) == ["id1"])

        _ = shell.request(.restart(units: ["oneshot.service"]))
        shell.exit(103, .exited(0))
        let next = shell.spawns(shell.take())
        #expect(next.first?.invocationID == "id2", "a new start, a new INVOCATION_ID")
    }

    /// RuntimeRandomizedExtraSec= (systemd.service(5)): RuntimeMaxSec= grows by one uniform
    /// draw in 0…the extra per start.
    @Test func runtimeRandomizedExtraSecLengthensRuntimeMaxSecByOneDrawPerStart() {
        var bounds: [UInt64] = []
        var shell = ScriptedShell(["worker.service": "[Service]\nExecStart=/bin/worker\nRuntimeMaxSec=10\nRuntimeRandomizedExtraSec=5\n"],
                                  randomBelow: { bound in
                                      bounds.append(bound)
                                      return 3_000_000
                                  })
        let started = shell.now
        #expect(shell.state("worker.service") == .running)
        #expect(bounds == [5_000_001], "one draw, in 0…5s inclusive")
        #expect(shell.manager.nextDeadline() == started + .seconds(13))
        shell.fireTimer()
        #expect(shell.state("worker.service") == .stopSigterm, "RuntimeMaxSec= plus the draw has passed")
    }

    @Test func composesTheEnvironmentInSystemdsOrder() throws {
        var shell = ScriptedShell(["hello.socket": "[Socket]\nListenStream=8080\nFileDescriptorName=web\n", "hello.service": """
            [Service]
            Type=notify
            ExecStart=/bin/hello
            WatchdogSec=10s
            Environment=A=unit LISTEN_FDS=overridden-by-the-protocol
            PassEnvironment=TERM SECRET_NOT_SET
            UnsetEnvironment=A
            """])
        shell.send(.listenerReadable(UnitName(parsing: "hello.socket")!))
        let order = try #require(shell.spawns(shell.take()).first)
        let composer = ServiceEnvironment(own: ["TERM": "xterm", "PATH": "/opt/bin", "AWS_SECRET": "s3cr3t"])
        let env = composer.compose(order, user: [("USER", "web")], files: [("B", "file")])
        #expect(env.strings == [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "INVOCATION_ID=id1",
            "USER=web",
            "LISTEN_FDS=1",
            "B=file",
            "TERM=xterm",
            "NOTIFY_SOCKET=/run/swatchd/notify",
            "LISTEN_FDNAMES=web",
            "WATCHDOG_USEC=10000000",
        ])
        #expect(order.watchdogPID)
    }

    @Test func givesTheStopPostCommandTheResultAndTheMainPIDToControlCommands() throws {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\nExecReload=/bin/reload\nExecStopPost=/bin/post\n"])
        let reload = try #require(shell.spawns(shell.request(.reload(units: ["x.service"]))).first)
        #expect(reload.protocolVariables.contains { $0 == ("MAINPID", "100") })
        shell.exit(101, .exited(0))
        shell.exit(100, .exited(2))
        let post = try #require(shell.spawns(shell.take()).first)
        #expect(post.role == ExecRole(.stopPost, 0))
        #expect(post.protocolVariables.contains { $0 == ("SERVICE_RESULT", "exit-code") })
        #expect(post.protocolVariables.contains { $0 == ("EXIT_CODE", "exited") })
        #expect(post.protocolVariables.contains { $0 == ("EXIT_STATUS", "2") })
    }

    // MARK: daemon-reload

    /// A Listen*= line that moved (a comment added above it) is the same socket unit:
    /// the reload leaves it as it is, listening, and its service running.
    @Test func reloadTakesAListenLineThatMovedForTheSameSocket() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=8081\n", "a.service": "[Service]\nExecStart=/bin/a\n"])
        shell.send(.listenerReadable(UnitName(parsing: "a.socket")!))
        _ = shell.take()
        shell.send(.reload(ScriptedShell.units([
            "a.socket": "# Moved down a line.\n[Socket]\n\nListenStream=8081\n", "a.service": "[Service]\nExecStart=/bin/a\n",
        ]), call: nil))
        let actions = shell.take()
        #expect(!actions.contains {
            switch $0 {
            case .rebind, .bind, .closeListeners, .unwatch, .kill: return true
            default: return false
            }
        }, "\(actions)")
        #expect(shell.state("a.service") == .running)
    }

    @Test func reloadKeepsUnchangedUnitsRebindsChangedOnesAndStopsRemovedOnes() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=8081\n", "a.service": "[Service]\nExecStart=/bin/a\n",
                           "b.socket": "[Socket]\nListenStream=8082\n", "b.service": "[Service]\nExecStart=/bin/b\n",
                           "c.service": "[Service]\nExecStart=/bin/c\n"])
        shell.send(.listenerReadable(UnitName(parsing: "b.socket")!))
        _ = shell.take()
        shell.send(.reload(ScriptedShell.units([
            "a.socket": "[Socket]\nListenStream=8081\n", "a.service": "[Service]\nExecStart=/bin/a\n",
            "b.socket": "[Socket]\nListenStream=9092\n", "b.service": "[Service]\nExecStart=/bin/b\n",
            "d.service": "[Service]\nExecStart=/bin/d\n",
        ]), call: nil))
        let actions = shell.take()
        #expect(!actions.contains { if case .bind(let n, _) = $0 { return n.description == "a.socket" } else { return false } })
        #expect(!actions.contains { if case .closeListeners(let n, _) = $0 { return n.description == "a.socket" } else { return false } },
                "an unchanged listener stays bound: no connection is lost")
        #expect(actions.contains { if case .rebind(let n, _) = $0 { return n.description == "b.socket" } else { return false } })
        #expect(shell.logs(actions).contains("b.socket: Its listeners changed; restarting b.service to hand them over."))
        #expect(shell.logs(actions).contains("c.service: Removed from the unit dirs, stopping it."))
        #expect(shell.spawns(actions).map(\.unit.description).contains("d.service"), "a new untriggered service starts")
        shell.exit(100, .signaled(15, coreDumped: false))
        #expect(shell.manager.services[UnitName(parsing: "c.service")!] == nil, "forgotten once stopped")
    }

    @Test func aUnitBrokenByAReloadKeepsItsPreviousDefinition() {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\nRestart=always\n"])
        _ = shell.take()
        shell.send(.reload(ScriptedShell.units(["x.service": "[Service]\nExecStart=/bin/x\nRestart=sometimes\n"]), call: nil))
        let actions = shell.take()
        #expect(shell.logs(actions).contains("x.service: Keeping its previous definition."))
        #expect(shell.manager.services[UnitName(parsing: "x.service")!]?.machine.unit.restart == .always)
        #expect(shell.state("x.service") == .running, "still running, untouched")
    }

    // MARK: Dependencies on sockets

    @Test(arguments: ["BindsTo", "Requires", "PartOf"])
    func stoppingASocketStopsTheServiceBoundToIt(_ dependency: String) {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                           "hello.service": "[Unit]\n\(dependency)=hello.socket\n[Service]\nExecStart=/bin/hello\n"])
        shell.send(.listenerReadable(UnitName(parsing: "hello.socket")!))
        let actions = shell.request(.stop(units: ["hello.socket"]))
        #expect(shell.logs(actions).contains("Stopping hello.service..."))
        #expect(shell.state("hello.service") == .stopSigterm)
        #expect(!actions.contains { if case .closeListeners = $0 { return true } else { return false } },
                "the service it activates stops first (it is ordered after its socket)")
        #expect(shell.replies(actions).isEmpty, "the request waits for both jobs")
        shell.exit(100, .signaled(15, coreDumped: false))
        let rest = shell.take()
        #expect(rest.contains { if case .closeListeners(let n, _) = $0 { return n.description == "hello.socket" } else { return false } })
        #expect(shell.replies(rest).map(\.result) == [0])
    }

    @Test func startingAServiceListensOnItsStoppedSocketsFirst() {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                           "hello.service": "[Unit]\nBindsTo=hello.socket\n[Service]\nExecStart=/bin/hello\n"])
        _ = shell.request(.stop(units: ["hello.socket"]))
        let actions = shell.request(.start(units: ["hello.service"]))
        let bind = actions.firstIndex { if case .bind = $0 { return true } else { return false } }
        let spawn = actions.firstIndex { if case .spawn = $0 { return true } else { return false } }
        #expect(bind != nil && spawn != nil && bind! < spawn!)
        #expect(shell.replies(actions).map(\.result) == [0])
    }

    @Test func aRequiredSocketThatCannotBindFailsTheStart() {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                           "hello.service": "[Unit]\nRequires=hello.socket\n[Service]\nExecStart=/bin/hello\n"])
        _ = shell.request(.stop(units: ["hello.socket"]))
        shell.failingBinds = ["hello.socket"]
        let actions = shell.request(.start(units: ["hello.service"]))
        #expect(shell.spawns(actions).isEmpty)
        #expect(shell.replies(actions).first?.errors == ["A dependency job for hello.service failed. See 'swatchctl logs hello.service' for details."])
        #expect(shell.logs(actions).contains("Dependency failed for hello.service."))
    }

    @Test func aWantedSocketThatCannotBindDoesNotKeepTheServiceFromStarting() {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                           "hello.service": "[Unit]\nWants=hello.socket\n[Service]\nExecStart=/bin/hello\n"])
        _ = shell.request(.stop(units: ["hello.socket"]))
        shell.failingBinds = ["hello.socket"]
        let actions = shell.request(.start(units: ["hello.service"]))
        #expect(shell.spawns(actions).count == 1)
        #expect(shell.replies(actions).first?.result == 0)
    }

    @Test func aFailedAssertionIsTheAnswerToStart() {
        var shell = ScriptedShell(["x.service": "[Unit]\nAssertPathExists=/nonexistent\n[Service]\nExecStart=/bin/x\n"])
        _ = shell.request(.stop(units: ["x.service"]))
        shell.exit(100, .signaled(15, coreDumped: false))
        shell.unmet = { _ in true }
        let actions = shell.request(.start(units: ["x.service"]))
        #expect(shell.replies(actions).first?.errors == ["Assertion failed on job for x.service."])
        #expect(shell.spawns(actions).isEmpty)
    }

    // MARK: Accept=yes

    @Test func acceptYesStartsOneInstancePerConnectionUpToMaxConnections() {
        var shell = ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\nMaxConnections=2\n",
                           "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
        let socket = UnitName(parsing: "echo.socket")!
        var orders: [SpawnOrder] = []
        for _ in 0..<3 {
            shell.send(.listenerReadable(socket))
            orders += shell.spawns(shell.take())
        }
        // systemd's names: N-LOCAL:PORT-REMOTE:PORT (instance_from_socket(), src/core/socket.c).
        #expect(orders.map(\.unit.description)
            == ["echo@0-127.0.0.1:7-127.0.0.1:40000.service", "echo@1-127.0.0.1:7-127.0.0.1:40000.service"])
        #expect(orders.allSatisfy { $0.connectionOnStdin != nil && $0.protocolVariables.contains { $0 == ("REMOTE_ADDR", "127.0.0.1") } })
        #expect(shell.connections.isEmpty, "the daemon's copies are closed: handed on, or refused over the limit")

        shell.exit(100, .exited(0))
        #expect(shell.manager.services[UnitName(parsing: "echo@0-127.0.0.1:7-127.0.0.1:40000.service")!] == nil, "a finished instance is forgotten")
        shell.send(.listenerReadable(socket))
        #expect(shell.spawns(shell.take()).count == 1, "room for one more")
    }

    /// Over PollLimitBurst=, the listener is taken out of epoll until the interval ends (the
    /// connection waits in the kernel), then put back: no instance is refused, none is lost.
    @Test func overThePollLimitTheListenerIsPausedUntilTheIntervalEnds() {
        var shell = ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nListenStream=8\nAccept=yes\nPollLimitBurst=2\nPollLimitIntervalSec=2s\n",
                                   "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
        let socket = UnitName(parsing: "echo.socket")!
        _ = shell.take()
        for _ in 0..<2 {
            shell.send(.listenerReadable(socket, listener: 1))
            #expect(shell.spawns(shell.take()).count == 1)
        }
        shell.advance(0.5)
        shell.send(.listenerReadable(socket, listener: 1))
        let paused = shell.take()
        #expect(shell.spawns(paused).isEmpty)
        #expect(!paused.contains { if case .accept = $0 { true } else { false } }, "the connection is left waiting")
        #expect(paused.contains { if case .pauseListener(socket, 1) = $0 { true } else { false } })
        #expect(shell.watched(paused).isEmpty, "the unit's other listener is still watched")
        #expect(shell.logs(paused) == ["echo.socket: Poll limit hit (2 in 2s) on [::]:8, not watching it for 1s 500ms."])
        #expect(shell.manager.nextDeadline() == shell.now + .milliseconds(1500))
        shell.send(.listenerReadable(socket, listener: 0))
        #expect(shell.take().contains { if case .accept(socket, listener: 0) = $0 { true } else { false } })
        shell.fireTimer()
        #expect(shell.take().contains { if case .resumeListener(socket, 1) = $0 { true } else { false } })
        shell.send(.listenerReadable(socket, listener: 1))
        #expect(shell.spawns(shell.take()).count == 1, "a new interval")
    }

    /// A connection accepted in the same wake-up as the shutdown is closed: its instance could
    /// not start, and would hold swatchd up if it did.
    @Test func aConnectionAcceptedDuringShutdownIsClosed() {
        var shell = ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n",
                                   "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
        let socket = UnitName(parsing: "echo.socket")!
        shell.send(.listenerReadable(socket))
        #expect(shell.spawns(shell.take()).count == 1)
        shell.send(.shutdown)
        _ = shell.take()
        shell.connections.insert(2)
        shell.send(.connectionsAccepted(socket, [AcceptedConnectionInfo(id: 2, remoteAddress: "127.0.0.1", remotePort: 40001)]))
        #expect(shell.spawns(shell.take()).isEmpty)
        #expect(!shell.connections.contains(2), "closed")
        #expect(shell.manager.serviceCount == 1, "no instance for it")
        shell.exit(100, .signaled(15, coreDumped: false))
        #expect(shell.take().contains { if case .exit = $0 { return true } else { return false } })
    }

    // MARK: sd_notify

    @Test(arguments: [("main", [true, false, false]), ("exec", [true, true, false]), ("all", [true, true, true]),
                      ("none", [false, false, false])])
    func notifyAccessDecidesWhoseMessagesCount(_ access: String, _ accepted: [Bool]) {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\nExecReload=/bin/reload\nNotifyAccess=\(access)\n"])
        _ = shell.request(.reload(units: ["x.service"]))   // control process 101
        let name = UnitName(parsing: "x.service")!
        for (pid, expected) in zip([Int32(100), 101, 555], accepted) {
            shell.send(.notify(name, pid: pid, NotifyMessage(text: "STATUS=from \(pid)"), fdCount: 0, inService: true))
            let status = shell.manager.services[name]?.machine.statusText
            #expect((status == "from \(pid)") == expected, "PID \(pid) under NotifyAccess=\(access)")
        }
    }

    @Test func keepsStoredFDsUpToTheLimitAndHandsThemBackOnTheNextStart() throws {
        var shell = ScriptedShell(["x.service": "[Service]\nType=notify\nExecStart=/bin/x\nFileDescriptorStoreMax=2\nRestart=always\n"])
        let name = UnitName(parsing: "x.service")!
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "READY=1\nFDSTORE=1\nFDNAME=db"), fdCount: 3, inService: true))
        let actions = shell.take()
        #expect(shell.stored[name] == ["db", "db"])
        #expect(shell.logs(actions).contains("x.service: Attempted to store file descriptors beyond FileDescriptorStoreMax=2, closing."))
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "FDSTOREREMOVE=1\nFDNAME=db"), fdCount: 0, inService: true))
        #expect(shell.stored[name] == [])
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "FDSTORE=1\nFDNAME=cache"), fdCount: 1, inService: true))
        shell.exit(100, .signaled(9, coreDumped: false))
        _ = shell.take()
        shell.fireTimer()
        let order = try #require(shell.spawns(shell.take()).first)
        #expect(order.passesStoredFDs)
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "cache") })
    }

    // MARK: What a stop gives back

    /// RuntimeDirectory= goes as RuntimeDirectoryPreserve= says: `no` when any stop is over, also
    /// one before an automatic restart; `restart` when the unit is inactive; `yes` never.
    @Test(arguments: [("no", [true, true]), ("restart", [false, true]), ("yes", [false, false])])
    func runtimeDirectoriesGoAsRuntimeDirectoryPreserveSays(_ preserve: String, _ removed: [Bool]) {
        var shell = ScriptedShell(["x.service": """
            [Service]
            ExecStart=/bin/x
            Restart=always
            RuntimeDirectory=x
            RuntimeDirectoryPreserve=\(preserve)
            """])
        func releases(_ actions: [ManagerAction]) -> [String] {
            actions.compactMap {
                switch $0 {
                case .releaseRuntime(_, let directories): "runtime \(directories)"
                case .releaseResources(_, let directories): "resources \(directories)"
                default: nil
                }
            }
        }
        _ = shell.take()
        shell.exit(100, .exited(1))
        #expect(releases(shell.take()) == ["runtime \(preserve == "no")"], "the stop before the restart")
        shell.fireTimer()
        #expect(shell.spawns(shell.take()).count == 1, "restarted")
        let stop = shell.request(.stop(units: ["x.service"]))
        shell.exit(101, .signaled(15, coreDumped: false))
        #expect(releases(stop + shell.take()) == ["runtime \(removed[0])", "resources \(removed[1])"])
    }

    /// FailureAction=exit-force: swatchd exits at once, with the main process's status, and
    /// stops nothing; SuccessAction= takes no part in a failure.
    @Test func failureActionExitForceExitsAtOnce() {
        var shell = ScriptedShell(["a.service": "[Unit]\nFailureAction=exit-force\nSuccessAction=exit\n[Service]\nExecStart=/bin/a\n",
                                   "b.service": "[Service]\nExecStart=/bin/b\n"])
        _ = shell.take()
        shell.exit(100, .exited(5))
        let actions = shell.take()
        #expect(actions.contains { if case .exit(status: 5) = $0 { true } else { false } })
        #expect(shell.logs(actions).contains("a.service: FailureAction=exit-force: exiting at once, exit status 5."))
        #expect(shell.state("b.service") == .running, "nothing is stopped")
    }

    /// A service of SuccessAction= alone (systemd's systemd-exit.service) starts and ends
    /// within one event, and its end still counts: the lifecycle lines, the action.
    @Test func aStartThatRunsNothingStillEndsTheUnit() {
        var shell = ScriptedShell([
            "exit.service": "[Unit]\nSuccessAction=exit\nAfter=b.service\n",
            "b.service": "[Service]\nExecStart=/bin/b\n",
        ])
        let logs = shell.logs(shell.take())
        #expect(logs.contains("Starting exit.service..."))
        #expect(logs.contains("exit.service: Deactivated successfully."))
        #expect(logs.contains("exit.service: SuccessAction=exit: stopping everything, exit status 0."))
        #expect(shell.state("b.service") == .stopSigterm, "b.service is stopped on the way out")
    }

    // MARK: Shutdown and timers

    @Test func shutdownStopsEveryServiceAndExitsOnceAllAreGone() {
        var shell = ScriptedShell(["a.service": "[Service]\nExecStart=/bin/a\n", "b.service": "[Service]\nExecStart=/bin/b\n"])
        _ = shell.take()
        shell.send(.shutdown)
        #expect(!shell.take().contains { if case .exit = $0 { return true } else { return false } })
        shell.exit(100, .signaled(15, coreDumped: false))
        shell.exit(101, .signaled(15, coreDumped: false))
        #expect(shell.take().contains { if case .exit = $0 { return true } else { return false } })
    }

    @Test func anIdleServiceIsStoppedAndItsSocketWatchedAgain() {
        var shell = ScriptedShell(["hello.socket": helloSocket,
                                   "hello.service": "[Service]\nExecStart=/bin/hello\nX-IdleStopSec=30s\n"])
        shell.send(.listenerReadable(UnitName(parsing: "hello.socket")!))
        _ = shell.take()
        #expect(shell.manager.nextDeadline() == shell.now + .seconds(30))
        shell.openConnections = 1
        shell.fireTimer()
        #expect(shell.state("hello.service") == .running, "a connection is open: kept")
        #expect(shell.manager.nextDeadline() == shell.now + .seconds(30), "looked at again a period later")
        shell.openConnections = 0
        shell.fireTimer()
        let actions = shell.take()
        #expect(shell.logs(actions).contains("hello.service: No connection for 30s; stopping it (its sockets stay bound)."))
        shell.exit(100, .signaled(15, coreDumped: false))
        #expect(shell.watched(shell.take()) == ["+hello.socket"])
    }

    @Test func aWatchedNotifyServiceHandsOverOnceTheNewProcessIsReady() throws {
        var shell = ScriptedShell(["app.socket": helloSocket, "app.service": "[Service]\nType=notify\nExecStart=/bin/app\n"])
        let app = UnitName(parsing: "app.service")!
        shell.send(.listenerReadable(UnitName(parsing: "app.socket")!))
        shell.send(.notify(app, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        _ = shell.take()

        shell.send(.restartRunningServices(reason: "app.py changed"))
        var actions = shell.take()
        #expect(actions.contains { if case .moveProcesses(_, "app.service", "app.service.old") = $0 { return true } else { return false } })
        #expect(!actions.contains { if case .kill = $0 { return true } else { return false } }, "the old one is not signalled yet")
        let order = try #require(shell.spawns(actions).first)
        #expect(order.sockets == [UnitName(parsing: "app.socket")!], "the new process gets the same listening socket")
        #expect(shell.manager.mainPID(of: app) == 101, "the new one is the main process, not ready yet")
        #expect(shell.state("app.service") == .start)

        shell.send(.notify(app, pid: 101, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        actions = shell.take()
        #expect(actions.contains { if case .signalGroup("app.service.old", 15) = $0 { return true } else { return false } })
        #expect(shell.manager.mainPID(of: app) == 101)
        shell.send(.retiredGroupEmptied(app))
        #expect(shell.take().contains { if case .removeGroup("app.service.old") = $0 { return true } else { return false } })
    }

    @Test func aNewProcessThatFailsLeavesTheOldOneServing() {
        var shell = ScriptedShell(["app.socket": helloSocket, "app.service": "[Service]\nType=notify\nExecStart=/bin/app\n"])
        let app = UnitName(parsing: "app.service")!
        shell.send(.listenerReadable(UnitName(parsing: "app.socket")!))
        shell.send(.notify(app, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        shell.send(.restartRunningServices(reason: "app.py changed"))
        _ = shell.take()
        shell.exit(101, .exited(1))   // the new one dies before READY=1
        let actions = shell.take()
        #expect(actions.contains { if case .moveProcesses(_, "app.service.old", "app.service") = $0 { return true } else { return false } })
        #expect(shell.logs(actions).contains { $0.contains("the old one (PID 100) goes on serving") })
        #expect(shell.state("app.service") == .running)
        #expect(shell.manager.mainPID(of: app) == 100)
        #expect(shell.watched(actions).last == "-app.socket", "the old one accepts, as before")
    }

    @Test func instanceNamesAreSystemds() {
        let ip = AcceptedConnectionInfo(id: 1, remoteAddress: "::1", remotePort: 5000, localAddress: "::1", localPort: 7)
        #expect(Manager.instanceName(number: 3, ip) == "3-::1:7-::1:5000")
        let unix = AcceptedConnectionInfo(id: 2, remoteAddress: nil, remotePort: nil, peer: (pid: 4242, uid: 1000))
        #expect(Manager.instanceName(number: 4, unix) == "4-4242-1000")
        #expect(Manager.instanceName(number: 5, AcceptedConnectionInfo(id: 3, remoteAddress: nil, remotePort: nil))
            == "5-unknown")
    }

    @Test func theDeadlineHeapSkipsMovedAndClearedDeadlines() {
        var heap = DeadlineHeap<String>()
        heap.schedule("a", at: Instant(microseconds: 10))
        heap.schedule("b", at: Instant(microseconds: 20))
        heap.schedule("a", at: Instant(microseconds: 30))
        heap.schedule("b", at: nil)
        #expect(heap.earliest() == Instant(microseconds: 30))
        #expect(heap.popDue(Instant(microseconds: 25)).isEmpty)
        #expect(heap.popDue(Instant(microseconds: 30)) == ["a"])
        #expect(heap.earliest() == nil)
    }
}
