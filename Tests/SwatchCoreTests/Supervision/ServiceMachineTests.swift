import Testing
@testable import SwatchCore

/// A test clock and a few helpers: every test drives the machine with `now`
/// values it makes up, so nothing here sleeps.
private func at(_ seconds: Double) -> Instant { Instant(microseconds: UInt64(seconds * 1_000_000)) }

private func service(_ configure: (inout ServiceUnit) -> Void = { _ in }) -> ServiceUnit {
    var unit = ServiceUnit(name: UnitName(prefix: "hello", type: .service), path: "/etc/swatchd/hello.service")
    unit.execStart = [ExecCommand(path: "/bin/hello", arguments: ["/bin/hello"])]
    configure(&unit)
    return unit
}

/// Starts a machine and has its main process (pid 100) running.
private func running(_ unit: ServiceUnit, now: Instant = at(0)) -> ServiceMachine {
    var m = ServiceMachine(unit: unit)
    var actions = m.start(now: now)
    if !unit.unit.conditions.isEmpty, actions == [.testConditions] { actions = m.conditionsTested(failure: nil, now: now) }
    #expect(actions == [.spawn(ExecRole(.start, 0))])
    _ = m.spawned(100, role: ExecRole(.start, 0), now: now)
    if unit.type.isNotify { _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: now) }
    #expect(m.state == .running)
    return m
}

/// The causes of systemd.service(5)'s restart table, each as something that happens to a running service.
enum Cause: CaseIterable {
    case cleanExit, uncleanExitCode, uncleanSignal, timeout, watchdog

    func happen(to m: inout ServiceMachine, now: Instant) -> [ServiceAction] {
        switch self {
        case .cleanExit: return m.processExited(100, status: .exited(0), groupEmpty: true, now: now)
        case .uncleanExitCode: return m.processExited(100, status: .exited(3), groupEmpty: true, now: now)
        case .uncleanSignal: return m.processExited(100, status: .signaled(11, coreDumped: false), groupEmpty: true, now: now)
        case .timeout:
            // A stop that times out: ExecStop= never finishes.
            return m.timerFired(now: now)
        case .watchdog:
            var actions = m.timerFired(now: m.watchdogDeadline!)
            actions += m.processExited(100, status: .signaled(6, coreDumped: true), groupEmpty: true, now: now)
            return actions
        }
    }
}

@Suite struct ServiceMachineTests {
    /// systemd.service(5), "Table 2. Exit causes and the effect of the Restart= settings".
    static let table: [RestartPolicy: Set<Cause>] = [
        .no: [],
        .always: [.cleanExit, .uncleanExitCode, .uncleanSignal, .timeout, .watchdog],
        .onSuccess: [.cleanExit],
        .onFailure: [.uncleanExitCode, .uncleanSignal, .timeout, .watchdog],
        .onAbnormal: [.uncleanSignal, .timeout, .watchdog],
        .onAbort: [.uncleanSignal],
        .onWatchdog: [.watchdog],
    ]

    @Test(arguments: [RestartPolicy.no, .always, .onSuccess, .onFailure, .onAbnormal, .onAbort, .onWatchdog])
    func restartTableHoldsForEveryCause(policy: RestartPolicy) {
        for cause in Cause.allCases {
            var m: ServiceMachine
            if cause == .timeout {
                // Type=notify that never says READY=1: the start times out.
                var s = ServiceMachine(unit: service { $0.restart = policy; $0.type = .notify; $0.timeoutStart = .seconds(5) })
                _ = s.start(now: at(0))
                _ = s.spawned(100, role: ExecRole(.start, 0), now: at(0))
                _ = s.timerFired(now: at(5))           // start timed out → SIGTERM
                #expect(s.state == .stopSigterm)
                _ = s.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(5.1))
                m = s
            } else {
                m = running(service { $0.restart = policy; $0.watchdog = .seconds(10) })
                _ = cause.happen(to: &m, now: at(20))
            }
            let restarts = m.state == .autoRestart
            #expect(restarts == Self.table[policy]!.contains(cause), "Restart=\(policy.rawValue) after \(cause)")
            if !restarts {
                #expect(m.state == (cause == .cleanExit ? .dead : .failed), "Restart=\(policy.rawValue) after \(cause)")
            }
        }
    }

    @Test func restartsOnFailureAfterRestartSec() {
        var m = running(service { $0.restart = .onFailure; $0.restartSec = .seconds(5) })
        let actions = m.processExited(100, status: .exited(1), groupEmpty: true, now: at(1))
        #expect(m.state == .autoRestart)
        #expect(m.result == .exitCode)
        #expect(m.nextDeadline == at(6))
        #expect(actions.contains { if case .log(_, let t) = $0 { t.contains("Scheduled restart job in 5s") } else { false } })
        #expect(m.timerFired(now: at(5.9)).isEmpty)
        #expect(m.timerFired(now: at(6)).contains(.spawn(ExecRole(.start, 0))))
        #expect(m.restartCount == 1)
    }

    @Test func successExitStatusCountsAsClean() {
        var m = running(service { $0.restart = .onFailure; $0.successExitStatus = ExitStatusSet(statuses: [42]) })
        _ = m.processExited(100, status: .exited(42), groupEmpty: true, now: at(1))
        #expect(m.state == .dead)
        #expect(m.result == .success)
    }

    @Test func cleanSignalsAreSuccess() {
        for signal: Int32 in [1, 2, 13, 15] {
            var m = running(service { $0.restart = .onFailure })
            _ = m.processExited(100, status: .signaled(signal, coreDumped: false), groupEmpty: true, now: at(1))
            #expect(m.state == .dead, "signal \(signal)")
        }
    }

    @Test func restartPreventExitStatusWinsOverAlways() {
        var m = running(service { $0.restart = .always; $0.restartPreventExitStatus = ExitStatusSet(statuses: [7]) })
        _ = m.processExited(100, status: .exited(7), groupEmpty: true, now: at(1))
        #expect(m.state == .failed)
    }

    @Test func restartForceExitStatusRestartsEvenWithRestartNo() {
        var m = running(service { $0.restart = .no; $0.restartForceExitStatus = ExitStatusSet(signals: [10]) })
        _ = m.processExited(100, status: .signaled(10, coreDumped: false), groupEmpty: true, now: at(1))
        #expect(m.state == .autoRestart)
    }

    @Test func manualStopNeverRestarts() {
        var m = running(service { $0.restart = .always })
        #expect(m.stop(now: at(1)) == [.signal(.group, 15)])
        #expect(m.state == .stopSigterm)
        _ = m.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1.1))
        #expect(m.state == .dead)
    }

    @Test func startLimitEndsInFailed() {
        var m = ServiceMachine(unit: service {
            $0.restart = .onFailure; $0.restartSec = .zero; $0.unit.startLimitBurst = 3
            $0.unit.startLimitInterval = .seconds(10)
        })
        var now = at(0)
        _ = m.start(now: now)
        var spawns = 0
        for pid in Int32(100)..<110 {
            guard m.state == .start else { break }
            spawns += 1
            _ = m.spawned(pid, role: ExecRole(.start, 0), now: now)
            _ = m.processExited(pid, status: .exited(1), groupEmpty: true, now: now)
            now = now + .milliseconds(10)
            if m.state == .autoRestart { _ = m.timerFired(now: m.nextDeadline!) }
        }
        #expect(spawns == 3)
        #expect(m.state == .failed)
        #expect(m.result == .startLimitHit)
        // reset-failed clears the limit: a manual start works again.
        m.resetFailed()
        #expect(m.start(now: now) == [.spawn(ExecRole(.start, 0))])
    }

    @Test func startLimitWindowExpires() {
        var m = ServiceMachine(unit: service { $0.unit.startLimitBurst = 2; $0.unit.startLimitInterval = .seconds(10) })
        for (i, t) in [0.0, 1, 11, 12].enumerated() {
            #expect(m.start(now: at(t)) == [.spawn(ExecRole(.start, 0))], "start \(i)")
            _ = m.spawned(Int32(100 + i), role: ExecRole(.start, 0), now: at(t))
            _ = m.processExited(Int32(100 + i), status: .exited(0), groupEmpty: true, now: at(t))
        }
        _ = m.start(now: at(12.5))
        #expect(m.result == .startLimitHit)
    }

    @Test func restartStepsGrowTowardsMaxDelay() {
        let unit = service { $0.restartSec = .seconds(1); $0.restartSteps = 4; $0.restartMaxDelay = .seconds(16) }
        let delays = (0...6).map { unit.restartDelay(attempt: $0).microseconds / 1000 }
        #expect(delays == [1000, 2000, 4000, 8000, 16000, 16000, 16000])
    }

    @Test func notifyServiceIsStartedOnReadyOnly() {
        var m = ServiceMachine(unit: service { $0.type = .notify })
        _ = m.start(now: at(0))
        _ = m.spawned(100, role: ExecRole(.start, 0), now: at(0))
        #expect(m.state == .start)
        _ = m.notify(NotifyMessage(text: "STATUS=warming up"), from: 100, now: at(1))
        #expect(m.state == .start)
        #expect(m.statusText == "warming up")
        _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: at(2))
        #expect(m.state == .running)
    }

    @Test func notifyStartTimesOutAndExtendTimeoutMovesTheDeadline() {
        var m = ServiceMachine(unit: service { $0.type = .notify; $0.timeoutStart = .seconds(2) })
        _ = m.start(now: at(0))
        _ = m.spawned(100, role: ExecRole(.start, 0), now: at(0))
        _ = m.notify(NotifyMessage(text: "EXTEND_TIMEOUT_USEC=5000000"), from: 100, now: at(1))
        #expect(m.nextDeadline == at(6))
        #expect(m.timerFired(now: at(2)).isEmpty)
        #expect(m.timerFired(now: at(6)).contains(.signal(.group, 15)))
        #expect(m.result == .timeout)
    }

    /// TimeoutStartFailureMode=: a start that timed out is sent KillSignal= (terminate),
    /// WatchdogSignal= under TimeoutAbortSec= (abort) or FinalKillSignal= (kill).
    @Test(arguments: [(TimeoutFailureMode.terminate, Int32(15), ServiceState.stopSigterm),
                      (.abort, 6, .stopWatchdog), (.kill, 9, .stopSigkill)])
    func aStartThatTimesOutIsSentWhatTheModeSays(_ mode: TimeoutFailureMode, signal: Int32, state: ServiceState) {
        var m = ServiceMachine(unit: service {
            $0.type = .notify; $0.timeoutStart = .seconds(2); $0.timeoutStartFailureMode = mode; $0.watchdogSignal = 6
        })
        _ = m.start(now: at(0))
        _ = m.spawned(100, role: ExecRole(.start, 0), now: at(0))
        #expect(m.timerFired(now: at(2)).contains(.signal(.group, signal)))
        #expect(m.state == state && m.result == .timeout)
    }

    /// TimeoutStopFailureMode=: an ExecStop= that ran out of time, and then the processes
    /// that outlive KillSignal=, get what the mode says.
    @Test func aStopThatTimesOutIsSentWhatTheModeSays() {
        var kill = running(service {
            $0.execStop = [ExecCommand(path: "/stop", arguments: ["/stop"])]; $0.timeoutStop = .seconds(2)
            $0.timeoutStopFailureMode = .kill
        })
        _ = kill.stop(now: at(1))
        _ = kill.spawned(200, role: ExecRole(.stop, 0), now: at(1))
        #expect(kill.timerFired(now: at(3)).contains(.signal(.group, 9)))
        #expect(kill.state == .stopSigkill)
        var abort = running(service { $0.timeoutStop = .seconds(2); $0.timeoutStopFailureMode = .abort; $0.watchdogSignal = 6 })
        #expect(abort.stop(now: at(1)) == [.signal(.group, 15)])
        #expect(abort.timerFired(now: at(3)).contains(.signal(.group, 6)))
        #expect(abort.state == .stopWatchdog && abort.result == .timeout)
    }

    @Test func watchdogPingsKeepTheServiceAlive() {
        var m = running(service { $0.watchdog = .seconds(2) })
        for t in stride(from: 1.0, through: 9.0, by: 1) {
            _ = m.notify(NotifyMessage(text: "WATCHDOG=1"), from: 100, now: at(t))
            #expect(m.timerFired(now: at(t + 0.5)).isEmpty)
        }
        #expect(m.state == .running)
    }

    @Test func watchdogMissSendsWatchdogSignalThenFinalKill() {
        var m = running(service { $0.watchdog = .seconds(2); $0.timeoutAbort = .seconds(3); $0.restart = .onWatchdog })
        let abort = m.timerFired(now: at(2))
        #expect(abort.contains(.signal(.group, 6)))
        #expect(m.state == .stopWatchdog)
        #expect(m.timerFired(now: at(5)).contains(.signal(.group, 9)))
        _ = m.processExited(100, status: .signaled(9, coreDumped: false), groupEmpty: true, now: at(5.1))
        #expect(m.result == .watchdog)
        #expect(m.state == .autoRestart)
    }

    @Test func watchdogUsecChangesTheDeadline() {
        var m = running(service { $0.watchdog = .seconds(2) })
        _ = m.notify(NotifyMessage(text: "WATCHDOG_USEC=10000000"), from: 100, now: at(1))
        #expect(m.nextDeadline == at(11))
    }

    @Test func foreignNotifyIsNotAccepted() {
        let m = running(service { $0.type = .notify })
        #expect(m.accepts(notifyFrom: 100, inService: true))
        #expect(!m.accepts(notifyFrom: 555, inService: false))
        #expect(!m.accepts(notifyFrom: 555, inService: true))
    }

    @Test func stopEscalatesToSigkillAfterTimeoutStopSec() {
        var m = running(service { $0.timeoutStop = .seconds(3) })
        _ = m.stop(now: at(1))
        #expect(m.timerFired(now: at(4)) .contains(.signal(.group, 9)))
        #expect(m.state == .stopSigkill)
        _ = m.processExited(100, status: .signaled(9, coreDumped: false), groupEmpty: true, now: at(4.1))
        #expect(m.state == .failed)
        #expect(m.result == .timeout)
    }

    @Test func sendSIGKILLNoSkipsTheKill() {
        var m = running(service { $0.timeoutStop = .seconds(3); $0.sendSIGKILL = false })
        _ = m.stop(now: at(1))
        let actions = m.timerFired(now: at(4))
        #expect(!actions.contains(.signal(.group, 9)))
        #expect(!actions.contains(.signal(.main, 9)))
    }

    @Test func killModesSignalTheRightProcesses() {
        for (mode, term, kill) in [(KillMode.controlGroup, ServiceAction.signal(.group, 15), ServiceAction.signal(.group, 9)),
                                   (.mixed, .signal(.main, 15), .signal(.group, 9)),
                                   (.process, .signal(.main, 15), .signal(.main, 9))] {
            var m = running(service { $0.killMode = mode; $0.timeoutStop = .seconds(1) })
            #expect(m.stop(now: at(1)) == [term], "\(mode)")
            #expect(m.timerFired(now: at(2)) .contains(kill), "\(mode)")
        }
        var none = running(service { $0.killMode = .none })
        #expect(none.stop(now: at(1)).isEmpty)
    }

    @Test func controlGroupStopWaitsForTheWholeGroup() {
        var m = running(service {  _ in })
        _ = m.stop(now: at(1))
        _ = m.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: false, now: at(1.1))
        #expect(m.state == .stopSigterm)
        _ = m.processExited(101, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1.2))
        #expect(m.state == .dead)
    }

    @Test func execCommandsRunInOrder() {
        let cmd = { (p: String) in ExecCommand(path: p, arguments: [p]) }
        var m = ServiceMachine(unit: service {
            $0.execStartPre = [cmd("/pre1"), cmd("/pre2")]; $0.execStartPost = [cmd("/post")]
            $0.execStop = [cmd("/stop")]; $0.execStopPost = [cmd("/stoppost")]
        })
        var order: [ExecRole] = []
        var pid: Int32 = 200
        func apply(_ actions: [ServiceAction]) {
            for case .spawn(let role) in actions {
                order.append(role)
                pid += 1
                apply(m.spawned(pid, role: role, now: at(0)))
                if role.phase != .start { apply(m.processExited(pid, status: .exited(0), groupEmpty: m.mainPID == nil, now: at(0))) }
            }
        }
        apply(m.start(now: at(0)))
        #expect(m.state == .running)
        let main = m.mainPID!
        apply(m.stop(now: at(1)))
        apply(m.processExited(main, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1)))
        #expect(order.map(\.description) == ["ExecStartPre[0]", "ExecStartPre[1]", "ExecStart[0]", "ExecStartPost[0]",
                                             "ExecStop[0]", "ExecStopPost[0]"])
        #expect(m.state == .dead)
    }

    @Test func failingStartPreFailsTheStartUnlessDashPrefixed() {
        var pre = ExecCommand(path: "/pre", arguments: ["/pre"])
        var m = ServiceMachine(unit: service { $0.execStartPre = [pre] })
        _ = m.start(now: at(0))
        _ = m.spawned(300, role: ExecRole(.startPre, 0), now: at(0))
        _ = m.processExited(300, status: .exited(1), groupEmpty: true, now: at(0))
        #expect(m.state == .failed)
        pre.ignoreFailure = true
        var ok = ServiceMachine(unit: service { $0.execStartPre = [pre] })
        _ = ok.start(now: at(0))
        _ = ok.spawned(300, role: ExecRole(.startPre, 0), now: at(0))
        #expect(ok.processExited(300, status: .exited(1), groupEmpty: true, now: at(0)) == [
            .log(.debug, "hello.service: Control process ExecStartPre[0] exited, code=exited, status=1/FAILURE"),
            .spawn(ExecRole(.start, 0)),
        ])
    }

    /// The end of a process is logged at systemd's levels (unit_log_process_exit()): an exit
    /// code at notice, a signal at warning, a failure the `-` prefix ignores at debug.
    @Test func aProcessEndIsLoggedAtSystemdsLevels() {
        func exitLog(_ status: SwatchCore.ExitStatus, ignoreFailure: Bool = false) -> [ServiceAction] {
            var m = ServiceMachine(unit: service { $0.type = .oneshot; $0.execStart = [Self.cmd("/a", ignoreFailure: ignoreFailure)] })
            _ = m.start(now: at(0))
            _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
            return m.processExited(1, status: status, groupEmpty: true, now: at(0)).filter {
                if case .log(_, let text) = $0 { return text.contains("Main process exited") }
                return false
            }
        }
        #expect(exitLog(.exited(3)) == [.log(.notice, "hello.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED")])
        #expect(exitLog(.signaled(9, coreDumped: false)) == [.log(.warning, "hello.service: Main process exited, code=killed, status=9/KILL")])
        #expect(exitLog(.exited(3), ignoreFailure: true) == [.log(.debug, "hello.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED")])
        #expect(exitLog(.exited(0)).isEmpty)
    }

    @Test func oneshotRunsEveryExecStartThenRemainsExited() {
        let cmd = { (p: String) in ExecCommand(path: p, arguments: [p]) }
        var m = ServiceMachine(unit: service { $0.type = .oneshot; $0.remainAfterExit = true
            $0.execStart = [cmd("/a"), cmd("/b")] })
        #expect(m.start(now: at(0)) == [.spawn(ExecRole(.start, 0))])
        _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
        #expect(m.processExited(1, status: .exited(0), groupEmpty: true, now: at(0)) == [.spawn(ExecRole(.start, 1))])
        _ = m.spawned(2, role: ExecRole(.start, 1), now: at(0))
        _ = m.processExited(2, status: .exited(0), groupEmpty: true, now: at(0))
        #expect(m.state == .exited)
        #expect(m.isActive)
    }

    /// The group is signalled when processes may be left in it: not when the last reap found it
    /// empty (no action for the shell to carry out), but when it was not, and after a re-exec,
    /// when the machine has not seen it yet.
    @Test func aStopSignalsTheGroupOnlyWhenProcessesMayBeLeft() {
        func exited(groupEmpty: Bool) -> ServiceMachine {
            var m = ServiceMachine(unit: service { $0.type = .oneshot; $0.remainAfterExit = true })
            _ = m.start(now: at(0))
            _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
            _ = m.processExited(1, status: .exited(0), groupEmpty: groupEmpty, now: at(0))
            #expect(m.state == .exited)
            return m
        }
        var empty = exited(groupEmpty: true)
        #expect(empty.stop(now: at(1)) == [.releaseRuntime, .releaseFileDescriptorStore])
        #expect(empty.state == .dead)
        var leftovers = exited(groupEmpty: false)
        #expect(leftovers.stop(now: at(1)) == [.signal(.group, 15)])
        #expect(leftovers.state == .stopSigterm)
        var restored = ServiceMachine(unit: service { $0.type = .oneshot; $0.remainAfterExit = true })
        restored.restore(ServiceMachine.Snapshot(state: .exited, mainPID: nil, result: .success, restartCount: 0,
                                                 stateChanged: at(0)), now: at(0))
        #expect(restored.stop(now: at(1)).contains(.signal(.group, 15)))
    }

    @Test func forkingServiceAdoptsTheDiscoveredPid() {
        var m = ServiceMachine(unit: service { $0.type = .forking; $0.pidFile = "/run/x.pid" })
        _ = m.start(now: at(0))
        _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
        #expect(m.processExited(1, status: .exited(0), groupEmpty: false, now: at(0)) == [.discoverMainPID])
        _ = m.mainPIDDiscovered(77, now: at(0))
        #expect(m.state == .running)
        #expect(m.mainPID == 77)
    }

    @Test func mainPIDNotificationMovesSupervision() {
        var m = running(service { $0.type = .notify })
        _ = m.notify(NotifyMessage(text: "MAINPID=4242"), from: 100, now: at(1))
        #expect(m.mainPID == 4242)
        _ = m.processExited(100, status: .exited(0), groupEmpty: false, now: at(2))
        #expect(m.state == .running)
    }

    @Test func spawnFailureIsResourcesAndRestartsPerPolicy() {
        var m = ServiceMachine(unit: service { $0.restart = .onFailure; $0.restartSec = .seconds(5) })
        _ = m.start(now: at(0))
        let actions = m.spawnFailed("No such file or directory", role: ExecRole(.start, 0), now: at(0))
        #expect(actions.first == .log(.error, "Failed to spawn hello.service: No such file or directory"))
        #expect(m.state == .autoRestart)
        #expect(m.result == .resources)
    }

    // MARK: - Conditions and assertions

    /// The machine asks for the test before anything runs; an unmet condition
    /// leaves the unit dead (no process, no failure), one that holds starts it.
    @Test func conditionsAreTestedBeforeTheStartAndAnUnmetOneSkipsIt() {
        let condition = UnitCondition(.pathExists, "/etc/hello.conf")
        var m = ServiceMachine(unit: service { $0.unit.conditions = [condition] })
        #expect(m.start(now: at(0)) == [.testConditions])
        #expect(m.conditionsTested(failure: condition, now: at(0))
            == [.log(.info, "hello.service was skipped because of an unmet condition check (ConditionPathExists=/etc/hello.conf).")])
        #expect(m.state == .dead && m.result == .success)
        #expect(m.conditionFailure == ConditionFailure(condition: condition, at: at(0)))

        #expect(m.start(now: at(1)) == [.testConditions])
        #expect(m.conditionsTested(failure: nil, now: at(1)) == [.spawn(ExecRole(.start, 0))])
        #expect(m.state == .start && m.conditionFailure == nil)
    }

    /// A failed assertion is an error, and a failed unit stays failed.
    @Test func aFailedAssertionIsLoggedAsAnErrorAndChangesNoState() {
        let assertion = UnitCondition(.user, "alice", isAssertion: true)
        var m = running(service { $0.unit.conditions = [assertion]; $0.restart = .no })
        _ = m.processExited(100, status: .exited(3), groupEmpty: true, now: at(1))
        #expect(m.state == .failed)
        #expect(m.start(now: at(2)) == [.testConditions])
        #expect(m.conditionsTested(failure: assertion, now: at(2))
            == [.log(.error, "hello.service was skipped because of a failed assertion check (AssertUser=alice).")])
        #expect(m.state == .failed && m.result == .exitCode)
    }

    /// Restart= starts are tested too; skipped, the unit is dead instead of restarting.
    @Test func anAutomaticRestartThatIsSkippedLeavesTheUnitDead() {
        let condition = UnitCondition(.pathExists, "/x")
        var m = running(service { $0.unit.conditions = [condition]; $0.restart = .always; $0.restartSec = .seconds(1) })
        _ = m.processExited(100, status: .exited(0), groupEmpty: true, now: at(1))
        #expect(m.state == .autoRestart)
        #expect(m.timerFired(now: at(2)).contains(.testConditions))
        _ = m.conditionsTested(failure: condition, now: at(2))
        #expect(m.state == .dead && m.nextDeadline == nil)
    }

    /// The start limit is counted before the conditions (unit_start() tests can_start() first):
    /// a start skipped again and again — a socket whose connection stays queued — ends in start-limit-hit.
    @Test func skippedStartsCountAgainstTheStartLimit() {
        let condition = UnitCondition(.pathExists, "/x")
        var m = ServiceMachine(unit: service { $0.unit.conditions = [condition]; $0.unit.startLimitBurst = 3 })
        for attempt in 0..<3 {
            #expect(m.start(now: at(Double(attempt) * 0.1)) == [.testConditions])
            _ = m.conditionsTested(failure: condition, now: at(Double(attempt) * 0.1))
        }
        _ = m.start(now: at(0.5))
        #expect(m.state == .failed && m.result == .startLimitHit)
    }

    // MARK: - ExecCondition=

    private func conditioned(_ configure: (inout ServiceUnit) -> Void = { _ in }) -> ServiceUnit {
        service {
            $0.execCondition = [ExecCommand(path: "/bin/check", arguments: ["/bin/check"]),
                                ExecCommand(path: "/bin/check2", arguments: ["/bin/check2"])]
            $0.execStartPre = [ExecCommand(path: "/bin/pre", arguments: ["/bin/pre"])]
            configure(&$0)
        }
    }

    /// Each ExecCondition= in turn, then ExecStartPre=, then the main process.
    @Test func execConditionRunsFirstAndItsSuccessGoesOn() {
        var m = ServiceMachine(unit: conditioned())
        #expect(m.start(now: at(0)) == [.spawn(ExecRole(.condition, 0))])
        #expect(m.state == .condition && m.state.activeState == .activating)
        _ = m.spawned(10, role: ExecRole(.condition, 0), now: at(0))
        #expect(m.processExited(10, status: .exited(0), groupEmpty: true, now: at(0.1)) == [.spawn(ExecRole(.condition, 1))])
        _ = m.spawned(11, role: ExecRole(.condition, 1), now: at(0.1))
        #expect(m.processExited(11, status: .exited(0), groupEmpty: true, now: at(0.2)) == [.spawn(ExecRole(.startPre, 0))])
        #expect(m.state == .startPre)
    }

    /// systemd.service(5): exit 1–254 skips the start — ExecStopPost= still runs, the unit ends
    /// dead with Result=exec-condition and is not restarted, whatever Restart= says.
    @Test func execConditionExit1To254SkipsTheStartWithoutFailure() {
        for code: Int32 in [1, 77, 254] {
            var m = ServiceMachine(unit: conditioned {
                $0.restart = .always
                $0.execStopPost = [ExecCommand(path: "/bin/post", arguments: ["/bin/post"])]
            })
            _ = m.start(now: at(0))
            _ = m.spawned(10, role: ExecRole(.condition, 0), now: at(0))
            let actions = m.processExited(10, status: .exited(code), groupEmpty: true, now: at(0.1))
            #expect(actions.contains(.spawn(ExecRole(.stopPost, 0))), "\(actions)")
            #expect(!actions.contains(.spawn(ExecRole(.condition, 1))) && !actions.contains(.spawn(ExecRole(.startPre, 0))))
            _ = m.spawned(12, role: ExecRole(.stopPost, 0), now: at(0.1))
            let end = m.processExited(12, status: .exited(0), groupEmpty: true, now: at(0.2))
            #expect(end.contains(.log(.info, "hello.service: Skipped due to 'exec-condition'.")), "\(end)")
            #expect(m.state == .dead && m.result == .execCondition && m.nextDeadline == nil)
        }
    }

    /// Exit 255, or a signal, fails the start.
    @Test func execConditionExit255OrASignalFailsTheStart() {
        for status in [ExitStatus.exited(255), .signaled(9, coreDumped: false)] {
            var m = ServiceMachine(unit: conditioned())
            _ = m.start(now: at(0))
            _ = m.spawned(10, role: ExecRole(.condition, 0), now: at(0))
            _ = m.processExited(10, status: status, groupEmpty: true, now: at(0.1))
            #expect(m.state == .failed)
            #expect(m.result == (status == .exited(255) ? .exitCode : .signal))
        }
    }

    // MARK: - What exists only in some states

    /// systemd queues a start requested during a stop behind it: the service
    /// stops completely, then starts once, without Restart=.
    @Test func aStartRequestedDuringAStopRunsOnceTheStopEnds() {
        var m = running(service { $0.restart = .no })
        _ = m.stop(now: at(1))
        #expect(m.state == .stopSigterm)
        #expect(m.start(now: at(1.1)).isEmpty)
        #expect(m.start(now: at(1.2)).isEmpty)
        guard case .stopping(.sigterm, let s) = m.phase else { Issue.record("\(m.phase)"); return }
        #expect(s.then == .start)
        let actions = m.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1.3))
        #expect(actions.filter { if case .spawn = $0 { true } else { false } } == [.spawn(ExecRole(.start, 0))])
        #expect(!actions.contains(.releaseFileDescriptorStore))
        #expect(m.state == .start && m.restartCount == 0)
    }

    /// A stop after the start was queued wins: the service stays down.
    @Test func aStopCancelsAStartQueuedBehindAStop() {
        var m = running(service { $0.restart = .always })
        _ = m.stop(now: at(1))
        _ = m.start(now: at(1.1))
        _ = m.stop(now: at(1.2))
        let actions = m.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1.3))
        #expect(actions.last == .releaseFileDescriptorStore && !actions.contains(.spawn(ExecRole(.start, 0))))
        #expect(m.state == .dead)
    }

    /// The stop of a `restart` of a service with ExecStop=: ExecStop= runs, then RestartKillSignal=
    /// for what is left once ExecStop= is done; it ends dead with the fd store kept, for the
    /// job to start it again.
    @Test func restartRunsExecStopAndEndsDeadForTheStart() {
        var m = running(service {
            $0.execStop = [ExecCommand(path: "/stop", arguments: ["/stop"])]
            $0.restartKillSignal = 3
        })
        #expect(m.stopForRestart(now: at(1)) == [.spawn(ExecRole(.stop, 0))])
        _ = m.spawned(200, role: ExecRole(.stop, 0), now: at(1))
        #expect(m.processExited(200, status: .exited(0), groupEmpty: false, now: at(1.1)) == [.signal(.group, 3)])
        // (The service handles the signal and exits cleanly; a death by SIGQUIT would be a
        // failure, as under systemd: aRestartsStopThatTimesOutEndsFailed.)
        #expect(m.processExited(100, status: .exited(0), groupEmpty: true, now: at(1.2)).last
            == .releaseRuntime)
        #expect(m.state == .dead)
        #expect(m.start(now: at(1.3)).last == .spawn(ExecRole(.start, 0)))
    }

    /// ExitType=cgroup: a clean exit of the main process leaves the service running while its
    /// group has processes, and the last one's exit ends it; an unclean one stops it at once.
    @Test func exitTypeCgroupRunsUntilTheGroupIsEmpty() {
        var m = running(service { $0.exitType = .cgroup })
        #expect(m.processExited(100, status: .exited(0), groupEmpty: false, now: at(1)).isEmpty)
        #expect(m.state == .running && m.mainPID == nil && m.waitsForGroup)
        #expect(m.groupEmptied(now: at(2)).contains(.releaseRuntime))
        #expect(m.state == .dead && m.result == .success)
        var failing = running(service { $0.exitType = .cgroup })
        _ = failing.processExited(100, status: .exited(3), groupEmpty: false, now: at(1))
        #expect(failing.state != .running && failing.result == .exitCode)
        var plain = running(service { _ in })
        _ = plain.processExited(100, status: .exited(0), groupEmpty: false, now: at(1))
        #expect(plain.state != .running, "ExitType=main: the main process's exit ends it")
    }

    /// The stop of a restart that runs out of time ends failed, and says so, before the job
    /// starts the service again; the start begins with a clean result.
    @Test func aRestartsStopThatTimesOutEndsFailed() {
        var m = running(service { $0.timeoutStop = .seconds(2) })
        #expect(m.stopForRestart(now: at(1)) == [.signal(.group, 15)])
        #expect(m.timerFired(now: at(3)).contains(.signal(.group, 9)))
        let end = m.processExited(100, status: .signaled(9, coreDumped: false), groupEmpty: true, now: at(3.5))
        #expect(end.contains(.log(.warning, "hello.service: Failed with result 'timeout'.")))
        #expect(end.last == .releaseRuntime && !end.contains(.releaseFileDescriptorStore))
        #expect(m.state == .failed)
        #expect(m.start(now: at(4)) == [.spawn(ExecRole(.start, 0))])
        #expect(m.result == .success)
    }

    /// Whatever way a service ends dead or failed, it keeps no process, no deadline and no watchdog.
    @Test func noDeadlineOrProcessSurvivesIntoDeadOrFailed() {
        func expectQuiet(_ m: ServiceMachine, _ what: String) {
            #expect(m.isInactive, "\(what)")
            #expect(m.deadline == nil && m.watchdogDeadline == nil && m.nextDeadline == nil, "\(what)")
            #expect(m.mainPID == nil && m.controlPID == nil && m.controlRole == nil, "\(what)")
        }
        // Stopped by hand while the watchdog was armed.
        var a = running(service { $0.watchdog = .seconds(2) })
        _ = a.stop(now: at(1))
        _ = a.processExited(100, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(1.1))
        expectQuiet(a, "manual stop")
        // A process that outlives the final SIGKILL is given up on.
        var b = running(service { $0.timeoutStop = .seconds(1) })
        _ = b.stop(now: at(1))
        for t in [2.0, 3, 4, 5] { _ = b.timerFired(now: at(t)) }
        #expect(b.state == .failed && b.result == .timeout)
        expectQuiet(b, "final SIGKILL timed out")
        // A start that timed out in ExecStartPre=.
        var c = ServiceMachine(unit: service {
            $0.execStartPre = [ExecCommand(path: "/pre", arguments: ["/pre"])]
            $0.timeoutStart = .seconds(2)
        })
        _ = c.start(now: at(0))
        _ = c.spawned(300, role: ExecRole(.startPre, 0), now: at(0))
        _ = c.timerFired(now: at(2))
        _ = c.processExited(300, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(2.1))
        expectQuiet(c, "ExecStartPre= timed out")
        // Stopped while waiting to restart.
        var d = running(service { $0.restart = .always; $0.restartSec = .seconds(5) })
        _ = d.processExited(100, status: .exited(1), groupEmpty: true, now: at(1))
        #expect(d.state == .autoRestart && d.deadline == at(6))
        #expect(d.stop(now: at(2)) == [.log(.warning, "hello.service: Failed with result 'exit-code'."), .releaseRuntime,
                                       .releaseFileDescriptorStore])
        expectQuiet(d, "stop during auto-restart")
    }

    /// A control command killed by a stop is one process less to wait for, never
    /// the cue for the next step of the start (src/core/service.c, service_sigchld_event()
    /// goes by the state): ExecStartPre= ending under SIGTERM does not spawn ExecStart=.
    @Test func aControlCommandKilledByAStopDoesNotResumeTheStart() {
        var m = ServiceMachine(unit: service {
            $0.execStartPre = [ExecCommand(path: "/pre", arguments: ["/pre"])]
            $0.timeoutStart = .seconds(2)
            $0.killMode = .mixed
        })
        _ = m.start(now: at(0))
        _ = m.spawned(300, role: ExecRole(.startPre, 0), now: at(0))
        #expect(m.timerFired(now: at(2)).contains(.signal(.control, 15)))
        #expect(m.state == .stopSigterm && m.controlRole == ExecRole(.startPre, 0))
        let actions = m.processExited(300, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(2.1))
        #expect(!actions.contains(.spawn(ExecRole(.start, 0))), "\(actions)")
        #expect(m.state == .failed && m.result == .timeout)
    }

    /// A failed Type=oneshot start begins again at its first ExecStart= and runs them all.
    @Test func aFailedOneshotStartsOverFromItsFirstCommand() {
        let cmd = { (p: String) in ExecCommand(path: p, arguments: [p]) }
        var m = ServiceMachine(unit: service { $0.type = .oneshot; $0.execStart = [cmd("/a"), cmd("/b"), cmd("/c")] })
        _ = m.start(now: at(0))
        _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
        _ = m.processExited(1, status: .exited(0), groupEmpty: true, now: at(0))
        _ = m.spawned(2, role: ExecRole(.start, 1), now: at(0))
        _ = m.processExited(2, status: .exited(1), groupEmpty: true, now: at(0))
        #expect(m.state == .failed)
        #expect(m.start(now: at(1)) == [.spawn(ExecRole(.start, 0))])
        _ = m.spawned(3, role: ExecRole(.start, 0), now: at(1))
        #expect(m.processExited(3, status: .exited(0), groupEmpty: true, now: at(1)) == [.spawn(ExecRole(.start, 1))])
    }

    /// A reload that times out is killed and the service goes on running; the
    /// SIGKILL reaches the reload process; ReloadResult=timeout (service_reload_finish()).
    @Test func aTimedOutReloadIsKilledAndTheServiceKeepsRunning() {
        var m = running(service {
            $0.execReload = [ExecCommand(path: "/reload", arguments: ["/reload"])]
            $0.timeoutStart = .seconds(2)
        })
        #expect(m.reload(now: at(1)) == [.spawn(ExecRole(.reload, 0))])
        _ = m.spawned(400, role: ExecRole(.reload, 0), now: at(1))
        #expect(m.state == .reload && m.deadline == at(3))
        #expect(m.timerFired(now: at(3)).contains(.signal(.control, 9)))
        #expect(m.state == .running && m.controlPID == 400 && m.deadline == nil)
        #expect(m.reloadResult == .timeout)
        _ = m.processExited(400, status: .signaled(9, coreDumped: false), groupEmpty: false, now: at(3.1))
        #expect(m.state == .running && m.controlPID == nil && m.reloadResult == .timeout)
    }

    /// A service that announces RELOADING=1 is reloading until READY=1; the watchdog runs on.
    @Test func aNotifiedReloadEndsWithReady() {
        var m = running(service { $0.type = .notify; $0.watchdog = .seconds(10) })
        _ = m.notify(NotifyMessage(text: "RELOADING=1"), from: 100, now: at(1))
        #expect(m.state == .reload && m.watchdogDeadline == at(10))
        _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: at(2))
        #expect(m.state == .running && m.deadline == nil && m.watchdogDeadline == at(10))
    }

    /// Type=notify-reload: a reload sends ReloadSignal= to the main process and lasts until the
    /// service says RELOADING=1, stamped no earlier than the signal, and then READY=1
    /// (service_enter_reload() and service_notify_message(), src/core/service.c).
    @Test func aNotifyReloadServiceIsSignalledAndReloadsUntilItSaysSo() {
        var m = running(service { $0.type = .notifyReload; $0.timeoutStart = .seconds(5) })
        #expect(m.reload(now: at(10)) == [.signal(.main, 1)])
        #expect(m.state == .reload && m.deadline == at(15))
        _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: at(11))
        #expect(m.state == .reload, "READY=1 before RELOADING=1 is not the end")
        _ = m.notify(NotifyMessage(text: "RELOADING=1\nMONOTONIC_USEC=9999999"), from: 100, now: at(11))
        _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: at(11))
        #expect(m.state == .reload, "a RELOADING=1 stamped before the signal is an earlier reload's")
        _ = m.notify(NotifyMessage(text: "RELOADING=1\nMONOTONIC_USEC=10000000"), from: 100, now: at(11))
        #expect(m.state == .reload)
        _ = m.notify(NotifyMessage(text: "READY=1"), from: 100, now: at(12))
        #expect(m.state == .running && m.deadline == nil && m.reloadResult == .success)

        // Both at once, with ReloadSignal=.
        var usr1 = running(service { $0.type = .notifyReload; $0.reloadSignal = 10 })
        #expect(usr1.reload(now: at(10)) == [.signal(.main, 10)])
        _ = usr1.notify(NotifyMessage(text: "RELOADING=1\nREADY=1\nMONOTONIC_USEC=10000001"), from: 100, now: at(11))
        #expect(usr1.state == .running)

        // No answer: the reload times out, the service runs on.
        var silent = running(service { $0.type = .notifyReload; $0.timeoutStart = .seconds(5) })
        _ = silent.reload(now: at(10))
        _ = silent.timerFired(now: at(15))
        #expect(silent.state == .running && silent.reloadResult == .timeout)

        // With ExecReload= too, the signal goes first and the command's exit ends the reload.
        var both = running(service { $0.type = .notifyReload; $0.execReload = [ExecCommand(path: "/reload", arguments: ["/reload"])] })
        #expect(both.reload(now: at(10)) == [.signal(.main, 1), .spawn(ExecRole(.reload, 0))])
        _ = both.spawned(400, role: ExecRole(.reload, 0), now: at(10))
        _ = both.processExited(400, status: .exited(0), groupEmpty: false, now: at(11))
        #expect(both.state == .running && both.reloadResult == .success)
    }

    // MARK: - systemd's exact semantics (src/core/service.c)

    private static func cmd(_ path: String, ignoreFailure: Bool = false) -> ExecCommand {
        var c = ExecCommand(path: path, arguments: [path])
        c.ignoreFailure = ignoreFailure
        return c
    }

    /// service_stop(): a stop while the service is starting (or reloading) goes
    /// straight to SIGTERM; ExecStop= is only for a service that runs.
    @Test func aStopDuringTheStartDoesNotRunExecStop() {
        var m = ServiceMachine(unit: service {
            $0.execStartPre = [Self.cmd("/pre")]
            $0.execStop = [Self.cmd("/stop")]
        })
        _ = m.start(now: at(0))
        _ = m.spawned(300, role: ExecRole(.startPre, 0), now: at(0))
        #expect(m.stop(now: at(1)) == [.signal(.group, 15)])
        #expect(m.state == .stopSigterm)
        // The same for a notify service still waiting for READY=1.
        var n = ServiceMachine(unit: service { $0.type = .notify; $0.execStop = [Self.cmd("/stop")] })
        _ = n.start(now: at(0))
        _ = n.spawned(100, role: ExecRole(.start, 0), now: at(0))
        #expect(n.stop(now: at(1)) == [.signal(.group, 15)])
        // A running one runs ExecStop= first.
        var r = running(service { $0.execStop = [Self.cmd("/stop")] })
        #expect(r.stop(now: at(1)) == [.spawn(ExecRole(.stop, 0))])
    }

    /// `restart` sends RestartKillSignal= first, also without ExecStop=; a plain
    /// stop sends KillSignal=; SendSIGHUP= follows only the plain stop (KILL_TERMINATE).
    @Test func restartSendsRestartKillSignal() {
        var m = running(service { $0.restartKillSignal = 10; $0.sendSIGHUP = true })
        #expect(m.stopForRestart(now: at(1)) == [.signal(.group, 10)])
        #expect(m.processExited(100, status: .signaled(10, coreDumped: false), groupEmpty: true, now: at(1.1)).last
            == .releaseRuntime)
        var plain = running(service { $0.restartKillSignal = 10; $0.sendSIGHUP = true })
        #expect(plain.stop(now: at(1)) == [.signal(.group, 15), .signal(.group, 1)])
        // Without RestartKillSignal=, a restart sends KillSignal=, and no SIGHUP.
        var unset = running(service { $0.sendSIGHUP = true })
        #expect(unset.stopForRestart(now: at(1)) == [.signal(.group, 15)])
    }

    /// WatchdogSignal= goes where KillMode= sends signals (unit_kill_context(KILL_WATCHDOG)).
    @Test(arguments: [(KillMode.controlGroup, [ServiceAction.signal(.group, 6)]),
                      (.mixed, [.signal(.main, 6)]), (.process, [.signal(.main, 6)]), (.none, [])])
    func watchdogSignalFollowsKillMode(mode: KillMode, expected: [ServiceAction]) {
        var m = running(service { $0.watchdog = .seconds(2); $0.killMode = mode; $0.timeoutAbort = .seconds(4) })
        let actions = m.timerFired(now: at(2))
        #expect(actions.filter { if case .signal = $0 { return true } else { return false } } == expected)
        #expect(m.state == .stopWatchdog && m.deadline == at(6) && m.result == .watchdog)
    }

    @Test func stopWatchdogTimeoutHonoursSendSIGKILLNo() {
        var m = running(service { $0.watchdog = .seconds(2); $0.timeoutAbort = .seconds(1); $0.sendSIGKILL = false })
        _ = m.timerFired(now: at(2))
        let actions = m.timerFired(now: at(3))
        #expect(!actions.contains(.signal(.group, 9)))
        #expect(m.state != .stopSigkill)
    }

    /// NRestarts= counts automatic restarts; reset-failed and a manual start reset it.
    @Test func resetFailedForgetsTheRestartCounterAndTheReloadResult() {
        var m = running(service { $0.restart = .always; $0.restartSec = .seconds(1); $0.execReload = [Self.cmd("/r")] })
        _ = m.processExited(100, status: .exited(1), groupEmpty: true, now: at(1))
        _ = m.timerFired(now: at(2))
        _ = m.spawned(101, role: ExecRole(.start, 0), now: at(2))
        #expect(m.restartCount == 1)
        _ = m.reload(now: at(3))
        _ = m.spawnFailed("No such file or directory", role: ExecRole(.reload, 0), now: at(3))
        #expect(m.reloadResult == .resources && m.state == .running)
        m.resetFailed()
        #expect(m.restartCount == 0 && m.reloadResult == .success)
        _ = m.processExited(101, status: .exited(1), groupEmpty: true, now: at(4))
        _ = m.timerFired(now: at(5))
        _ = m.spawned(102, role: ExecRole(.start, 0), now: at(5))
        #expect(m.restartCount == 1)
        _ = m.stop(now: at(6))
        _ = m.processExited(102, status: .signaled(15, coreDumped: false), groupEmpty: true, now: at(6))
        #expect(m.restartCount == 1)   // kept for introspection until the next start
        _ = m.start(now: at(7))
        #expect(m.restartCount == 0)
    }

    /// The `-` of the ExecStart= line that ran counts, not the first line's.
    @Test func theDashOfTheOneshotLineThatRanCounts() {
        var m = ServiceMachine(unit: service { $0.type = .oneshot; $0.execStart = [Self.cmd("/a"), Self.cmd("/b", ignoreFailure: true)] })
        _ = m.start(now: at(0))
        _ = m.spawned(1, role: ExecRole(.start, 0), now: at(0))
        _ = m.processExited(1, status: .exited(0), groupEmpty: true, now: at(0))
        _ = m.spawned(2, role: ExecRole(.start, 1), now: at(0))
        _ = m.processExited(2, status: .exited(3), groupEmpty: true, now: at(0))
        #expect(m.state == .dead && m.result == .success)
        var n = ServiceMachine(unit: service { $0.type = .oneshot; $0.execStart = [Self.cmd("/a", ignoreFailure: true), Self.cmd("/b")] })
        _ = n.start(now: at(0))
        _ = n.spawned(1, role: ExecRole(.start, 0), now: at(0))
        _ = n.processExited(1, status: .exited(0), groupEmpty: true, now: at(0))
        _ = n.spawned(2, role: ExecRole(.start, 1), now: at(0))
        _ = n.processExited(2, status: .exited(3), groupEmpty: true, now: at(0))
        #expect(n.state == .failed && n.result == .exitCode)
    }

    /// RuntimeMaxSec=: counted from activation, kept across a reload, extended by
    /// EXTEND_TIMEOUT_USEC=; at expiry the service is stopped with Result=timeout.
    @Test func runtimeMaxSecStopsTheServiceWithTimeout() {
        var m = running(service { $0.runtimeMax = .seconds(10); $0.execStop = [Self.cmd("/stop")]; $0.execReload = [Self.cmd("/r")] },
                        now: at(1))
        #expect(m.deadline == at(11))
        _ = m.reload(now: at(2))
        _ = m.spawned(400, role: ExecRole(.reload, 0), now: at(2))
        _ = m.processExited(400, status: .exited(0), groupEmpty: false, now: at(3))
        #expect(m.state == .running && m.deadline == at(11))
        #expect(m.timerFired(now: at(11)).contains(.spawn(ExecRole(.stop, 0))))
        #expect(m.state == .stop && m.result == .timeout)
        var e = running(service { $0.type = .notify; $0.runtimeMax = .seconds(10) })
        _ = e.notify(NotifyMessage(text: "EXTEND_TIMEOUT_USEC=30000000"), from: 100, now: at(5))
        #expect(e.deadline == at(35))
        // Not set: no deadline while running.
        #expect(running(service()).deadline == nil)
    }

    /// GuessMainPID=no: a forking service without PIDFile= runs with no main pid.
    @Test func guessMainPIDNoDoesNotAskForAPid() {
        var m = ServiceMachine(unit: service { $0.type = .forking; $0.guessMainPID = false })
        _ = m.start(now: at(0))
        _ = m.spawned(100, role: ExecRole(.start, 0), now: at(0))
        let actions = m.processExited(100, status: .exited(0), groupEmpty: false, now: at(1))
        #expect(!actions.contains(.discoverMainPID))
        #expect(m.state == .running && m.mainPID == nil)
        var guessing = ServiceMachine(unit: service { $0.type = .forking })
        _ = guessing.start(now: at(0))
        _ = guessing.spawned(100, role: ExecRole(.start, 0), now: at(0))
        #expect(guessing.processExited(100, status: .exited(0), groupEmpty: false, now: at(1)) == [.discoverMainPID])
    }
}
