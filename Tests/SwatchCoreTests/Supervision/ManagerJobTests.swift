import Testing
@testable import SwatchCore

/// Jobs and dependencies in the Manager, driven by a scripted shell: what a
/// request waits for, what a transaction pulls in, in which order jobs run,
/// how they merge, and how a cycle is broken.
@Suite struct ManagerJobTests {
    private func unit(_ body: String, exec: String = "/bin/true") -> String {
        "[Unit]\n\(body)\n[Service]\nExecStart=\(exec)\n"
    }

    private func spawnedUnits(_ shell: ScriptedShell, _ actions: [ManagerAction]) -> [String] {
        shell.spawns(actions).map(\.unit.description)
    }

    private func pid(_ shell: ScriptedShell, _ unit: String) -> Int32? {
        shell.manager.mainPID(of: UnitName(parsing: unit)!)
    }

    // MARK: Waiting jobs

    @Test func aStartIsAnsweredWhenANotifyServiceIsReady() throws {
        var shell = ScriptedShell(["db.service": "[Service]\nType=notify\nExecStart=/bin/db\n"])
        let db = UnitName(parsing: "db.service")!
        #expect(shell.replies(shell.take()).isEmpty)
        _ = shell.request(.stop(units: ["db.service"]))
        shell.exit(100, .signaled(15, coreDumped: false))
        _ = shell.take()

        let started = shell.request(.start(units: ["db.service"]))
        #expect(shell.replies(started).isEmpty, "still activating: the request waits")
        #expect(shell.state("db.service") == .start)
        shell.send(.notify(db, pid: 101, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        let ready = shell.take()
        #expect(shell.replies(ready).map(\.result) == [0])
        #expect(shell.logs(ready).contains("Started db.service."))
    }

    @Test func noBlockAnswersOnceTheJobIsQueued() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=5432\n",
                                   "db.service": "[Service]\nType=notify\nExecStart=/bin/db\n"])
        let actions = shell.request(.job(.start, units: ["db.service"], noBlock: true))
        #expect(shell.replies(actions).map(\.result) == [0])
        #expect(shell.state("db.service") == .start)
    }

    @Test func aFailedStartIsAnsweredWithSystemctlsWording() {
        var shell = ScriptedShell(["x.socket": "[Socket]\nListenStream=1\n",
                                   "x.service": "[Service]\nType=oneshot\nExecStart=/bin/false\n"])
        let started = shell.request(.start(units: ["x.service"]))
        #expect(shell.replies(started).isEmpty, "a oneshot is started when it has exited")
        shell.exit(100, .exited(1))
        let reply = shell.replies(shell.take()).first
        #expect(reply?.result == 1)
        #expect(reply?.errors == ["""
            Job for x.service failed because the control process exited with error code.
            See "swatchctl status x.service" and "swatchctl logs x.service" for details.
            """])
    }

    @Test func aStopIsAnsweredWhenTheLastProcessIsGone() {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\nTimeoutStopSec=2s\n"])
        _ = shell.take()
        let stop = shell.request(.stop(units: ["x.service"]))
        #expect(shell.replies(stop).isEmpty)
        shell.fireTimer()   // TimeoutStopSec=: SIGKILL
        #expect(shell.take().contains { if case .kill(_, let order) = $0 { return order.signal == 9 } else { return false } })
        shell.exit(100, .signaled(9, coreDumped: false))
        let done = shell.take()
        #expect(shell.replies(done).map(\.result) == [0])
        #expect(shell.logs(done).contains("Stopped x.service."))
    }

    @Test func reloadOfAServiceWithoutExecReloadIsNotApplicable() {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\n"])
        let reply = shell.replies(shell.request(.reload(units: ["x.service"]))).first
        #expect(reply?.errors == ["Failed to reload x.service: Job type reload is not applicable for unit x.service."])
        #expect(reply?.result == 1)
    }

    @Test func listJobsShowsWhatWaits() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=1\n",
                                   "a.service": "[Service]\nType=notify\nExecStart=/bin/a\n",
                                   "b.socket": "[Socket]\nListenStream=2\n",
                                   "b.service": unit("After=a.service")])
        _ = shell.request(.job(.start, units: ["a.service", "b.service"], noBlock: true))
        let records = shell.replies(shell.request(.listJobs)).first?.records ?? []
        #expect(records.map { "\($0["Id"] ?? "") \($0["JobType"] ?? "") \($0["JobState"] ?? "")" }
            == ["a.service start running", "b.service start waiting"])
    }

    // MARK: Merging

    @Test func aStartDuringAStopReplacesItAndStartsAgainOnceStopped() {
        var shell = ScriptedShell(["x.service": "[Service]\nExecStart=/bin/x\n"])
        _ = shell.take()
        _ = shell.request(.job(.stop, units: ["x.service"], noBlock: true))
        #expect(shell.state("x.service") == .stopSigterm)
        let start = shell.request(.start(units: ["x.service"]))
        #expect(shell.replies(start).isEmpty)
        shell.exit(100, .signaled(15, coreDumped: false))
        let actions = shell.take()
        #expect(spawnedUnits(shell, actions) == ["x.service"])
        #expect(shell.replies(actions).map(\.result) == [0])
    }

    @Test func aStopCancelsAWaitingStart() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=1\n",
                                   "a.service": "[Service]\nType=notify\nExecStart=/bin/a\n",
                                   "b.socket": "[Socket]\nListenStream=2\n",
                                   "b.service": unit("After=a.service")])
        _ = shell.take()
        shell.send(.control(ControlServer.ConnectionID(fd: 7, serial: 7), .start(units: ["a.service", "b.service"]),
                            realtime: 0))
        let stop = shell.request(.stop(units: ["b.service"]))
        #expect(shell.replies(stop).map(\.result) == [0], "b was not running: stopped at once")
        shell.send(.notify(UnitName(parsing: "a.service")!, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0,
                           inService: true))
        let replies = shell.replies(shell.take())
        #expect(replies.map(\.result) == [1])
        #expect(replies.first?.errors == ["Job for b.service canceled."])
        #expect(shell.state("b.service") == .dead)
    }

    // MARK: Dependencies

    @Test func requiresPullsInTheStartAndAfterWaitsForIt() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Service]\nType=notify\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app")])
        let first = shell.request(.start(units: ["app.service"]))
        #expect(spawnedUnits(shell, first) == ["db.service"], "app waits until db is ready")
        shell.send(.notify(UnitName(parsing: "db.service")!, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0,
                           inService: true))
        let then = shell.take()
        #expect(spawnedUnits(shell, then) == ["app.service"])
        #expect(shell.replies(then).map(\.result) == [0])
    }

    @Test func withoutOrderingBothStartAtOnce() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Service]\nType=notify\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Wants=db.service", exec: "/bin/app")])
        #expect(Set(spawnedUnits(shell, shell.request(.start(units: ["app.service"])))) == ["db.service", "app.service"])
    }

    @Test func aRequiredUnitThatFailsFailsTheDependentStartButAWantedOneDoesNot() {
        var shell = ScriptedShell(["bad.socket": "[Socket]\nListenStream=1\n",
                                   "bad.service": "[Service]\nType=oneshot\nExecStart=/bin/false\n",
                                   "needs.socket": "[Socket]\nListenStream=2\n",
                                   "needs.service": unit("Requires=bad.service\nAfter=bad.service"),
                                   "wants.socket": "[Socket]\nListenStream=3\n",
                                   "wants.service": unit("Wants=bad.service\nAfter=bad.service", exec: "/bin/w")])
        _ = shell.request(.job(.start, units: ["needs.service", "wants.service"], noBlock: false))
        shell.exit(100, .exited(1))
        let actions = shell.take()
        #expect(spawnedUnits(shell, actions) == ["wants.service"])
        #expect(shell.logs(actions).contains("Dependency failed for needs.service."))
        #expect(shell.replies(actions).first?.errors
            == ["A dependency job for needs.service failed. See 'swatchctl logs needs.service' for details."])
    }

    @Test func aMissingRequiredServiceRefusesTheStart() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=1\n",
                                   "a.service": unit("Requires=nope.service network.target")])
        let reply = shell.replies(shell.request(.start(units: ["a.service"]))).first
        #expect(reply?.errors == ["Failed to start a.service: Unit nope.service not found."])
    }

    @Test func requisiteChecksWithoutStarting() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Service]\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Requisite=db.service\nAfter=db.service")])
        let actions = shell.request(.start(units: ["app.service"]))
        #expect(spawnedUnits(shell, actions).isEmpty)
        #expect(shell.replies(actions).first?.errors
            == ["A dependency job for app.service failed. See 'swatchctl logs app.service' for details."])
        shell.send(.listenerReadable(UnitName(parsing: "db.socket")!))
        #expect(spawnedUnits(shell, shell.request(.start(units: ["app.service"]))) == ["app.service"])
    }

    /// Conflicts= implies no order (systemd.unit(5)); with After= the stop goes first.
    @Test func conflictsStopsTheOther() {
        var shell = ScriptedShell(["blue.service": "[Service]\nExecStart=/bin/blue\n",
                                   "green.socket": "[Socket]\nListenStream=1\n",
                                   "green.service": unit("Conflicts=blue.service\nAfter=blue.service", exec: "/bin/green")])
        _ = shell.take()
        let actions = shell.request(.start(units: ["green.service"]))
        #expect(shell.state("blue.service") == .stopSigterm)
        #expect(spawnedUnits(shell, actions).isEmpty, "the stop goes before the start")
        shell.exit(100, .signaled(15, coreDumped: false))
        #expect(spawnedUnits(shell, shell.take()) == ["green.service"])
    }

    @Test func stoppingAUnitStopsWhatRequiresItFirst() {
        var shell = ScriptedShell(["db.service": "[Service]\nExecStart=/bin/db\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app")])
        _ = shell.take()
        let app = pid(shell, "app.service")!, db = pid(shell, "db.service")!
        let stop = shell.request(.stop(units: ["db.service"]))
        #expect(shell.state("app.service") == .stopSigterm)
        #expect(shell.state("db.service") == .running, "app is after db: it stops first")
        #expect(shell.replies(stop).isEmpty)
        shell.exit(app, .signaled(15, coreDumped: false))
        #expect(shell.state("db.service") == .stopSigterm)
        shell.exit(db, .signaled(15, coreDumped: false))
        #expect(shell.replies(shell.take()).map(\.result) == [0])
    }

    @Test func bindsToStopsWithTheOtherWhateverTheReason() {
        var shell = ScriptedShell(["db.service": "[Service]\nExecStart=/bin/db\n",
                                   "app.service": unit("BindsTo=db.service\nAfter=db.service", exec: "/bin/app")])
        _ = shell.take()
        shell.exit(pid(shell, "db.service")!, .exited(3))
        let actions = shell.take()
        #expect(shell.logs(actions).contains("Unit app.service is bound to inactive unit db.service. Stopping, too."))
        #expect(shell.state("app.service") == .stopSigterm)
    }

    @Test func partOfRestartsWithTheOther() {
        var shell = ScriptedShell(["db.service": "[Service]\nExecStart=/bin/db\n",
                                   "cache.service": unit("PartOf=db.service", exec: "/bin/cache")])
        _ = shell.take()
        _ = shell.request(.job(.restart, units: ["db.service"], noBlock: true))
        #expect(shell.state("db.service") == .stopSigterm)
        #expect(shell.state("cache.service") == .stopSigterm)
    }

    /// A restart restarts what requires or is bound to the unit too, when it is up (a
    /// try-restart: a unit that is down stays down), as systemd.unit(5) says of Requires=.
    @Test func aRestartRestartsWhatRequiresItIfUp() {
        var shell = ScriptedShell(["db.service": "[Service]\nExecStart=/bin/db\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app"),
                                   "web.socket": "[Socket]\nListenStream=1\n",
                                   "web.service": unit("BindsTo=db.service", exec: "/bin/web")])
        _ = shell.take()
        #expect(shell.state("web.service") == .dead, "socket-activated: not started")
        let (app, db) = (pid(shell, "app.service")!, pid(shell, "db.service")!)
        _ = shell.request(.job(.restart, units: ["db.service"], noBlock: true))
        // A restart is a stop, then a start: app, after db, stops first and starts last.
        #expect(shell.state("app.service") == .stopSigterm)
        #expect(shell.state("db.service") == .running, "db waits for app's stop")
        shell.exit(app, .signaled(15, coreDumped: false))
        #expect(shell.state("app.service") == .dead)
        #expect(shell.state("db.service") == .stopSigterm)
        let log = shell.logs(shell.take())
        #expect(log.contains("Stopped app.service."))
        shell.exit(db, .signaled(15, coreDumped: false))
        let actions = shell.take()
        #expect(spawnedUnits(shell, actions) == ["db.service", "app.service"])
        #expect(shell.logs(actions).filter { $0.hasPrefix("St") } == [
            "Stopped db.service.", "Starting db.service...", "Started db.service.",
            "Starting app.service...", "Started app.service.",
        ])
        #expect(shell.state("web.service") == .dead)
    }

    /// A service that fails by itself while its restart job still waits (for what is after it
    /// to stop) has failed: OnFailure= starts; the job then starts it again.
    @Test func aFailureWhileARestartWaitsIsStillAFailure() {
        var shell = ScriptedShell(["db.service": unit("OnFailure=alert.service", exec: "/bin/db"),
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app"),
                                   "alert.service": unit("RefuseManualStart=yes", exec: "/bin/alert\nType=oneshot")])
        _ = shell.take()
        shell.exit(pid(shell, "alert.service")!, .exited(0))
        _ = shell.take()
        let (app, db) = (pid(shell, "app.service")!, pid(shell, "db.service")!)
        _ = shell.request(.job(.restart, units: ["db.service"], noBlock: true))
        #expect(shell.state("app.service") == .stopSigterm && shell.state("db.service") == .running)
        shell.exit(db, .exited(1))
        let failed = shell.take()
        #expect(shell.logs(failed).contains("db.service: Triggering OnFailure= dependencies."))
        #expect(spawnedUnits(shell, failed) == ["alert.service"])
        shell.exit(app, .signaled(15, coreDumped: false))
        #expect(spawnedUnits(shell, shell.take()) == ["db.service", "app.service"])
    }

    /// An automatic restart goes from the failure to auto-restart directly, as systemd's
    /// RestartMode=direct (swatchd.service(5), Restart=): the units bound to it stay up and
    /// OnFailure= waits until the unit stops for good, here at its start limit (three starts).
    @Test func anAutomaticRestartIsNoEndUntilTheStartLimit() {
        var shell = ScriptedShell([
            "db.service": unit("OnFailure=alert.service\nStartLimitBurst=3", exec: "/bin/db\nRestart=on-failure\nRestartSec=1s"),
            "web.service": unit("BindsTo=db.service\nAfter=db.service", exec: "/bin/web"),
            "alert.service": unit("", exec: "/bin/alert\nType=oneshot\nRemainAfterExit=yes"),
        ])
        _ = shell.take()
        shell.exit(pid(shell, "alert.service")!, .exited(0))
        _ = shell.take()
        for attempt in 1...2 {
            shell.exit(pid(shell, "db.service")!, .exited(1))
            let restarting = shell.take()
            #expect(shell.state("db.service") == .autoRestart, "attempt \(attempt)")
            #expect(!shell.logs(restarting).contains("db.service: Triggering OnFailure= dependencies."))
            #expect(shell.state("web.service") == .running, "a unit bound to it is not told")
            shell.fireTimer()
            #expect(spawnedUnits(shell, shell.take()) == ["db.service"])
        }
        shell.exit(pid(shell, "db.service")!, .exited(1))
        shell.fireTimer()
        let ended = shell.take()
        #expect(shell.state("db.service") == .failed)
        #expect(shell.logs(ended).contains("db.service: Triggering OnFailure= dependencies."))
        #expect(shell.state("web.service") == .stopSigterm)
    }

    /// PropagatesReloadTo=/ReloadPropagatedFrom=: a reload, asked for or announced with
    /// RELOADING=1, reloads the others that are up and can reload.
    @Test func aReloadPropagatesToTheUnitsThatAskForIt() {
        var shell = ScriptedShell([
            "main.service": unit("PropagatesReloadTo=a.service b.service", exec: "/bin/main\nExecReload=/bin/reload-main"),
            "a.service": unit("", exec: "/bin/a\nExecReload=/bin/reload-a"),
            "b.service": unit("", exec: "/bin/b"),
            "c.service": unit("ReloadPropagatedFrom=main.service", exec: "/bin/c\nExecReload=/bin/reload-c"),
            "d.socket": "[Socket]\nListenStream=1\n",
            "d.service": unit("ReloadPropagatedFrom=main.service", exec: "/bin/d\nExecReload=/bin/reload-d"),
        ])
        _ = shell.take()
        let reloads = shell.request(.job(.reload, units: ["main.service"], noBlock: true))
        // b cannot reload (no ExecReload=), d is down: neither is asked.
        #expect(shell.spawns(reloads).map(\.unit.description).sorted() == ["a.service", "c.service", "main.service"])
        #expect(shell.state("d.service") == .dead)

        var announced = ScriptedShell([
            "main.service": unit("PropagatesReloadTo=a.service", exec: "/bin/main\nType=notify"),
            "a.service": unit("", exec: "/bin/a\nExecReload=/bin/reload-a"),
        ])
        let main = UnitName(parsing: "main.service")!
        announced.send(.notify(main, pid: announced.manager.mainPID(of: main)!, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        _ = announced.take()
        announced.send(.notify(main, pid: announced.manager.mainPID(of: main)!, NotifyMessage(text: "RELOADING=1"), fdCount: 0, inService: true))
        #expect(spawnedUnits(announced, announced.take()) == ["a.service"])
    }

    /// PropagatesStopTo=/StopPropagatedFrom=: a stop, a restart, or the unit going down by
    /// itself stops the others.
    @Test func aStopPropagatesToTheUnitsThatAskForIt() {
        let files = ["main.service": unit("PropagatesStopTo=a.service", exec: "/bin/main"),
                     "a.service": unit("", exec: "/bin/a"),
                     "b.service": unit("StopPropagatedFrom=main.service", exec: "/bin/b")]
        var stopped = ScriptedShell(files)
        _ = stopped.take()
        _ = stopped.request(.job(.stop, units: ["main.service"], noBlock: true))
        #expect(stopped.state("a.service") == .stopSigterm && stopped.state("b.service") == .stopSigterm)

        var restarted = ScriptedShell(files)
        _ = restarted.take()
        _ = restarted.request(.job(.restart, units: ["main.service"], noBlock: true))
        #expect(restarted.state("a.service") == .stopSigterm && restarted.state("b.service") == .stopSigterm)

        var died = ScriptedShell(files)
        _ = died.take()
        died.exit(pid(died, "main.service")!, .exited(1))
        #expect(died.state("a.service") == .stopSigterm && died.state("b.service") == .stopSigterm)
    }

    /// RefuseManualStart=/RefuseManualStop=: a control request is refused with systemd's words;
    /// a dependency still starts the unit.
    @Test func refuseManualStartAndStopRefuseControlRequestsOnly() {
        var shell = ScriptedShell([
            "guarded.socket": "[Socket]\nListenStream=1\n",
            "guarded.service": unit("RefuseManualStart=yes\nRefuseManualStop=yes", exec: "/bin/guarded"),
            "user.socket": "[Socket]\nListenStream=2\n",
            "user.service": unit("Requires=guarded.service", exec: "/bin/user"),
        ])
        _ = shell.take()
        let refused = "Operation refused, unit guarded.service may be requested by dependency only (it is configured to refuse manual start/stop)."
        let start = shell.replies(shell.request(.start(units: ["guarded.service"])))
        #expect(start.map(\.errors) == [["Failed to start guarded.service: \(refused)"]])
        #expect(shell.state("guarded.service") == .dead)
        _ = shell.request(.job(.start, units: ["user.service"], noBlock: true))
        #expect(shell.state("guarded.service") == .running, "pulled in by Requires=")
        let stop = shell.replies(shell.request(.stop(units: ["guarded.service"])))
        #expect(stop.map(\.errors) == [["Failed to stop guarded.service: \(refused)"]])
        let restart = shell.replies(shell.request(.restart(units: ["guarded.service"])))
        #expect(restart.map(\.errors) == [["Failed to restart guarded.service: \(refused)"]])
        #expect(shell.state("guarded.service") == .running)
    }

    @Test func onFailureAndOnSuccessStartTheirUnits() {
        var shell = ScriptedShell(["job.socket": "[Socket]\nListenStream=1\n",
                                   "job.service": "[Unit]\nOnFailure=alert.service\nOnSuccess=report.service\n[Service]\nType=oneshot\nExecStart=/bin/job\n",
                                   "alert.socket": "[Socket]\nListenStream=2\n", "alert.service": unit("", exec: "/bin/alert"),
                                   "report.socket": "[Socket]\nListenStream=3\n", "report.service": unit("", exec: "/bin/report")])
        _ = shell.request(.job(.start, units: ["job.service"], noBlock: true))
        shell.exit(100, .exited(0))
        #expect(spawnedUnits(shell, shell.take()) == ["report.service"])
        _ = shell.request(.job(.start, units: ["job.service"], noBlock: true))
        shell.exit(102, .exited(1))
        let failed = shell.take()
        #expect(spawnedUnits(shell, failed) == ["alert.service"])
        #expect(shell.logs(failed).contains("job.service: Triggering OnFailure= dependencies."))
    }

    @Test func upholdsStartsTheOtherAgainWhenItStops() {
        var shell = ScriptedShell(["keeper.service": unit("Upholds=worker.service", exec: "/bin/keeper"),
                                   "worker.socket": "[Socket]\nListenStream=1\n",
                                   "worker.service": "[Service]\nExecStart=/bin/worker\n"])
        let startUp = shell.take()
        #expect(Set(spawnedUnits(shell, startUp)) == ["keeper.service", "worker.service"])
        shell.exit(pid(shell, "worker.service")!, .exited(0))
        #expect(spawnedUnits(shell, shell.take()) == ["worker.service"])
    }

    @Test func wantsDirectoriesAddDependencies() {
        // `x.service.wants/` entries are read by UnitSet.load from the unit dirs; the graph sees them as Wants=.
        var section = UnitSection()
        section.wants = ["y.service"]
        #expect(section.dependencies(.wants) == ["y.service"])
    }

    // MARK: Start-up, shutdown, cycles

    @Test func startUpFollowsOrderingAndStartsTheRestInParallel() {
        var shell = ScriptedShell(["a.service": "[Service]\nType=notify\nExecStart=/bin/a\n",
                                   "b.service": unit("After=a.service", exec: "/bin/b"),
                                   "c.service": unit("", exec: "/bin/c")])
        let startUp = shell.take()
        #expect(spawnedUnits(shell, startUp) == ["a.service", "c.service"])
        shell.send(.notify(UnitName(parsing: "a.service")!, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0,
                           inService: true))
        #expect(spawnedUnits(shell, shell.take()) == ["b.service"])
    }

    @Test func shutdownStopsInReverseOrder() {
        var shell = ScriptedShell(["a.service": "[Service]\nExecStart=/bin/a\n",
                                   "b.service": unit("After=a.service", exec: "/bin/b")])
        _ = shell.take()
        shell.send(.shutdown)
        #expect(shell.state("b.service") == .stopSigterm)
        #expect(shell.state("a.service") == .running)
        shell.exit(pid(shell, "b.service")!, .signaled(15, coreDumped: false))
        #expect(shell.state("a.service") == .stopSigterm)
        shell.exit(pid(shell, "a.service")!, .signaled(15, coreDumped: false))
        #expect(shell.take().contains { if case .exit(0) = $0 { return true } else { return false } })
    }

    /// While every unit stops, a request that would start, restart or reload one is refused
    /// (systemd: the transaction is destructive): a start would leave it running, a restart
    /// would cancel its stop, and swatchd would never exit. A stop is still taken, and so
    /// are daemon-reload and daemon-reexec refused, which would bring units up again.
    @Test func whileEverythingStopsOnlyStopsAreTaken() {
        var shell = ScriptedShell(["a.service": "[Service]\nExecStart=/bin/a\n",
                                   "b.socket": "[Socket]\nListenStream=1\n", "b.service": unit("", exec: "/bin/b")])
        _ = shell.take()
        shell.send(.shutdown)
        _ = shell.take()
        #expect(shell.state("a.service") == .stopSigterm)

        for (request, verb, name) in [(ControlRequest.start(units: ["b.service"]), "start", "b.service"),
                                      (.job(.restart, units: ["a.service"], noBlock: false), "restart", "a.service"),
                                      (.job(.reloadOrRestart, units: ["a.service"], noBlock: false), "reload-or-restart", "a.service")] {
            let actions = shell.request(request)
            #expect(shell.replies(actions).first?.errors == [
                "Failed to \(verb) \(name): Transaction for \(name)/\(verb == "start" ? "start" : "restart") is destructive (swatchd is stopping every unit to exit).",
            ])
            #expect(shell.spawns(actions).isEmpty)
        }
        #expect(shell.state("b.service") == .dead)
        #expect(shell.state("a.service") == .stopSigterm, "its stop goes on")
        #expect(shell.manager.jobsInOrder.map(\.kind) == [.stop])
        #expect(shell.replies(shell.request(.daemonReload)).first?.errors
            == ["Cannot reload now: swatchd is stopping every unit to exit."])
        #expect(shell.replies(shell.request(.daemonReexec)).first?.errors
            == ["Cannot re-execute now: swatchd is stopping every unit to exit."])
        #expect(shell.replies(shell.request(.job(.stop, units: ["a.service"], noBlock: true))).first?.errors == [])

        shell.exit(100, .signaled(15, coreDumped: false))
        #expect(shell.take().contains { if case .exit(0) = $0 { return true } else { return false } })
    }

    /// The end of a shutdown is seen from the units' transitions: it waits for the last unit
    /// that is up, whichever it is and however it goes (an Accept=yes connection's instance
    /// is forgotten as it ends), then for the sockets' own stop commands.
    @Test func shutdownEndsWithTheLastUnitDownWhicheverItIs() {
        var shell = ScriptedShell(["a.service": "[Service]\nExecStart=/bin/a\nExecStop=/bin/stop-a\n",
                                   "b.service": "[Service]\nExecStart=/bin/b\n",
                                   "echo.socket": "[Socket]\nListenStream=7\nAccept=yes\nExecStopPost=/bin/cleanup\n",
                                   "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
        shell.send(.listenerReadable(UnitName(parsing: "echo.socket")!))
        let instance = "echo@0-127.0.0.1:7-127.0.0.1:40000.service"
        #expect(shell.spawns(shell.take()).map(\.unit.description).contains(instance))
        let pids = ["a.service", "b.service", instance].map { pid(shell, $0)! }
        shell.send(.shutdown)
        var actions = shell.take()
        let stopA = shell.spawns(actions).first { $0.unit.description == "a.service" }
        #expect(stopA?.command.path == "/bin/stop-a")
        func exited(_ actions: [ManagerAction]) -> Bool { actions.contains { if case .exit = $0 { true } else { false } } }

        shell.exit(pids[1], .signaled(15, coreDumped: false))
        shell.exit(pids[2], .signaled(15, coreDumped: false))
        #expect(shell.manager.services[UnitName(parsing: instance)!] == nil, "the instance is forgotten")
        #expect(!exited(shell.take()), "a.service is still stopping")
        shell.exit(pids[0], .exited(0))
        #expect(!exited(shell.take()), "its ExecStop= still runs")
        shell.exit(103, .exited(0))
        actions = shell.take()
        #expect(shell.spawns(actions).map(\.command.path) == ["/bin/cleanup"], "the socket stops once every service is down")
        #expect(!exited(actions))
        shell.exit(104, .exited(0))
        #expect(exited(shell.take()))
    }

    @Test func anOrderingCycleIsBrokenAsSystemdLogsIt() {
        var shell = ScriptedShell(["a.socket": "[Socket]\nListenStream=1\n", "a.service": unit("Wants=b.service\nAfter=b.service"),
                                   "b.socket": "[Socket]\nListenStream=2\n", "b.service": unit("After=a.service", exec: "/bin/b")])
        let actions = shell.request(.start(units: ["a.service"]))
        let logs = shell.logs(actions)
        #expect(logs.contains("a.service: Found ordering cycle on a.service/start"))
        #expect(logs.contains("a.service: Job b.service/start deleted to break ordering cycle starting with a.service/start"))
        #expect(spawnedUnits(shell, actions) == ["a.service"])
    }

    /// The cycle a later request closes through a job queued before it is found too: the
    /// search starts from the request's jobs and walks on through the waiting ones.
    @Test func aCycleThroughAJobQueuedEarlierIsBroken() {
        var shell = ScriptedShell(["c.socket": "[Socket]\nListenStream=1\n",
                                   "c.service": "[Service]\nType=notify\nExecStart=/bin/c\n",
                                   "a.socket": "[Socket]\nListenStream=2\n", "a.service": unit("After=c.service b.service"),
                                   "b.socket": "[Socket]\nListenStream=3\n", "b.service": unit("After=a.service", exec: "/bin/b")])
        #expect(spawnedUnits(shell, shell.request(.start(units: ["c.service"]))) == ["c.service"])
        #expect(spawnedUnits(shell, shell.request(.start(units: ["a.service"]))) == [], "a waits for c")
        let actions = shell.request(.start(units: ["b.service"]))
        #expect(shell.logs(actions).contains("b.service: Job a.service/start deleted to break ordering cycle starting with b.service/start"))
        #expect(spawnedUnits(shell, actions) == ["b.service"])
        #expect(shell.manager.jobs[UnitName(parsing: "a.service")!] == nil)
    }

    @Test func exitWithEndsWithTheUnitsStatus() {
        for (status, expected): (SwatchCore.ExitStatus, Int32) in [(.exited(0), 0), (.exited(3), 3), (.signaled(9, coreDumped: false), 137)] {
            var shell = ScriptedShell(["main.service": "[Service]\nExecStart=/bin/main\n",
                                       "helper.service": "[Service]\nExecStart=/bin/helper\n"],
                                      exitWith: UnitName(parsing: "main.service")!)
            _ = shell.take()
            shell.exit(pid(shell, "main.service")!, status)
            #expect(shell.state("helper.service") == .stopSigterm)
            shell.exit(pid(shell, "helper.service")!, .signaled(15, coreDumped: false))
            #expect(shell.take().contains { if case .exit(expected) = $0 { return true } else { return false } }, "\(status)")
        }
    }

    /// A restart's stop is not the unit's end: with `--exit-with` and SuccessAction=exit, a
    /// restarted service starts again and swatchd goes on, its fd store kept.
    @Test func aRestartIsNotTheEndOfTheUnit() {
        var shell = ScriptedShell(["main.service": "[Unit]\nSuccessAction=exit\n[Service]\nExecStart=/bin/main\nFileDescriptorStoreMax=1\n"],
                                  exitWith: UnitName(parsing: "main.service")!)
        _ = shell.take()
        let old = pid(shell, "main.service")!
        _ = shell.request(.job(.restart, units: ["main.service"], noBlock: true))
        shell.exit(old, .signaled(15, coreDumped: false))
        let actions = shell.take()
        #expect(!actions.contains { if case .exit = $0 { true } else { false } })
        #expect(!actions.contains { if case .releaseResources = $0 { true } else { false } })
        #expect(!actions.contains { if case .closeStoredFDs = $0 { true } else { false } })
        #expect(spawnedUnits(shell, actions) == ["main.service"])
        #expect(shell.state("main.service") == .running)
    }

    // MARK: StopWhenUnneeded=

    /// Stopped once nothing that needs it is up or has a job; running as long as something is.
    @Test func stopWhenUnneededStopsAUnitOnceNothingNeedsIt() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Unit]\nStopWhenUnneeded=yes\n[Service]\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app"),
                                   "web.socket": "[Socket]\nListenStream=3\n",
                                   "web.service": unit("Wants=db.service", exec: "/bin/web")])
        _ = shell.request(.job(.start, units: ["app.service", "web.service"], noBlock: true))
        #expect(shell.state("db.service") == .running)
        _ = shell.request(.job(.stop, units: ["app.service"], noBlock: true))
        shell.exit(pid(shell, "app.service")!, .signaled(15, coreDumped: false))
        #expect(shell.state("db.service") == .running, "web still wants it")
        _ = shell.request(.job(.stop, units: ["web.service"], noBlock: true))
        shell.exit(pid(shell, "web.service")!, .signaled(15, coreDumped: false))
        let actions = shell.take()
        #expect(shell.logs(actions).contains("db.service: Unit not needed anymore. Stopping."))
        #expect(shell.state("db.service") == .stopSigterm)
    }

    /// Started by hand with nothing that needs it, it stops again at once, as under systemd.
    @Test func stopWhenUnneededStartedAloneStopsAgain() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Unit]\nStopWhenUnneeded=yes\n[Service]\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Wants=db.service", exec: "/bin/app")])
        let start = shell.request(.start(units: ["db.service"]))
        #expect(shell.replies(start).map(\.result) == [0])
        #expect(shell.logs(start).contains("db.service: Unit not needed anymore. Stopping."))
        #expect(shell.state("db.service") == .stopSigterm)
    }

    /// A unit that fails lets go of what it needed, too.
    @Test func aFailedDependentLetsGoOfAnUnneededUnit() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Unit]\nStopWhenUnneeded=yes\n[Service]\nExecStart=/bin/db\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app")])
        _ = shell.request(.job(.start, units: ["app.service"], noBlock: true))
        shell.exit(pid(shell, "app.service")!, .exited(1))
        #expect(shell.state("app.service") == .failed)
        #expect(shell.state("db.service") == .stopSigterm)
    }

    // MARK: JobTimeoutSec=

    /// The job ends `timeout`, the unit goes on as it was, OnFailure= starts, and what requires
    /// the unit fails its start.
    @Test func aJobThatTimesOutIsCanceledAndTheUnitLeftAlone() {
        var shell = ScriptedShell(["db.socket": "[Socket]\nListenStream=1\n",
                                   "db.service": "[Unit]\nJobTimeoutSec=5s\nOnFailure=alert.service\n[Service]\nType=notify\nExecStart=/bin/db\n",
                                   "alert.socket": "[Socket]\nListenStream=2\n", "alert.service": unit("", exec: "/bin/alert"),
                                   "app.socket": "[Socket]\nListenStream=3\n",
                                   "app.service": unit("Requires=db.service\nAfter=db.service", exec: "/bin/app")])
        _ = shell.request(.job(.start, units: ["app.service"], noBlock: true))
        let start = shell.request(.start(units: ["db.service"]))
        #expect(shell.replies(start).isEmpty)
        shell.advance(4.9)
        shell.send(.timer)
        #expect(shell.take().isEmpty, "not yet")
        shell.fireTimer()
        let actions = shell.take()
        let logs = shell.logs(actions)
        #expect(shell.replies(actions).map(\.errors) == [["Job for db.service timed out."]])
        #expect(logs.contains("db.service: Job db.service/start timed out."))
        #expect(logs.contains("Timed out starting db.service."))
        #expect(logs.contains("db.service: Job db.service/start failed with result 'timeout'."))
        #expect(logs.contains("Dependency failed for app.service."))
        #expect(spawnedUnits(shell, actions) == ["alert.service"])
        #expect(shell.state("db.service") == .start, "the unit itself is left alone")
        #expect(shell.state("app.service") == .dead)
    }

    /// JobRunningTimeoutSec= counts from the moment the job runs, not while it waits; JobTimeoutAction=exit ends swatchd.
    @Test func jobRunningTimeoutCountsFromTheRunAndItsActionIsTaken() {
        var shell = ScriptedShell(["slow.socket": "[Socket]\nListenStream=1\n",
                                   "slow.service": "[Service]\nType=notify\nExecStart=/bin/slow\nTimeoutStartSec=infinity\n",
                                   "app.socket": "[Socket]\nListenStream=2\n",
                                   "app.service": "[Unit]\nRequires=slow.service\nAfter=slow.service\nJobRunningTimeoutSec=5s\nJobTimeoutAction=exit\n[Service]\nType=notify\nExecStart=/bin/app\n"])
        _ = shell.request(.job(.start, units: ["app.service"], noBlock: true))
        shell.advance(60)
        shell.send(.timer)
        #expect(shell.manager.jobs[UnitName(parsing: "app.service")!] != nil, "waiting is not running")
        shell.send(.notify(UnitName(parsing: "slow.service")!, pid: 100, NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        #expect(shell.state("app.service") == .start)
        shell.fireTimer()
        let actions = shell.take()
        #expect(shell.logs(actions).contains("app.service: Job app.service/start timed out."))
        #expect(shell.logs(actions).contains("app.service: JobTimeoutAction=exit: stopping everything, exit status 0."))
        #expect(shell.state("app.service") == .stopSigterm, "stopping everything, app (after slow) first")
    }
}
