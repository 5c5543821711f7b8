import Glibc
import Testing
@testable import SwatchCore

/// Instances of a template service (`hello@.service`) that a dependency or a request names
/// (systemd.unit(5): a unit is loaded on its first reference): made from the template with
/// their own `%i`, started only when something pulls them in.
@Suite struct ServiceTemplateTests {
    let files = [
        "hello@.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/hello %i\n",
        "app.service": "[Unit]\nRequires=hello@dep.service\nAfter=hello@dep.service\n[Service]\nExecStart=/bin/app\n",
    ]

    private func spawned(_ shell: ScriptedShell, _ actions: [ManagerAction]) -> [String] {
        shell.spawns(actions).map { "\($0.unit) \($0.command.arguments.joined(separator: " "))" }
    }

    @Test func aRequiredInstanceStartsFirstWithItsOwnInstanceName() {
        var shell = ScriptedShell(files)
        // Only hello@dep.service runs at start-up: app waits for it (After=).
        #expect(spawned(shell, shell.take()) == ["hello@dep.service /bin/hello dep"])
        shell.exit(100, .exited(0))
        #expect(spawned(shell, shell.take()) == ["app.service /bin/app"])
        #expect(shell.state("hello@dep.service") == .exited)
    }

    @Test func anInstanceNamedOnlyByOnFailureRunsWhenTheUnitFails() {
        var shell = ScriptedShell([
            "alert@.service": "[Service]\nType=oneshot\nExecStart=/bin/alert %i\n",
            "job.service": "[Unit]\nOnFailure=alert@%n.service\n[Service]\nType=oneshot\nExecStart=/bin/job\n",
        ])
        // Loaded, not started on its own: it runs only when job.service fails.
        #expect(spawned(shell, shell.take()) == ["job.service /bin/job"])
        #expect(shell.state("alert@job.service.service") == .dead)
        shell.exit(100, .exited(1))
        let failed = shell.take()
        #expect(shell.logs(failed).contains("job.service: Triggering OnFailure= dependencies."))
        #expect(spawned(shell, failed) == ["alert@job.service.service /bin/alert job.service"])
    }

    @Test func theInstancesAnInstanceNamesAreLoadedToo() {
        var shell = ScriptedShell([
            "front@.service": "[Unit]\nWants=back@%i.service\n[Service]\nExecStart=/bin/front %i\n",
            "back@.service": "[Service]\nExecStart=/bin/back %i\n",
        ])
        #expect(spawned(shell, shell.take()).isEmpty)
        let start = shell.request(.start(units: ["front@eu.service"]))
        #expect(Set(spawned(shell, start)) == ["front@eu.service /bin/front eu", "back@eu.service /bin/back eu"])
    }

    @Test func startLoadsTheInstanceOfATemplate() {
        var shell = ScriptedShell(files)
        _ = shell.take()
        let start = shell.request(.job(.start, units: ["hello@x.service"], noBlock: true))
        #expect(spawned(shell, start) == ["hello@x.service /bin/hello x"])
        #expect(shell.replies(start).map(\.result) == [0])
    }

    @Test func aStopOfAnInstanceThatNeverRanHasNothingToDo() {
        var shell = ScriptedShell(files)
        _ = shell.take()
        let stop = shell.request(.stop(units: ["hello@never.service"]))
        #expect(shell.replies(stop).map(\.result) == [0])
        #expect(shell.manager.services[UnitName(parsing: "hello@never.service")!] == nil, "nothing loaded for it")
        let missing = shell.request(.stop(units: ["other@never.service"]))
        #expect(shell.replies(missing).first?.errors == ["Failed to stop other@never.service: Unit other@never.service not found."])
    }

    @Test func anInstanceOfNoTemplateIsStillNotFound() {
        var shell = ScriptedShell(files)
        _ = shell.take()
        let start = shell.request(.start(units: ["other@x.service"]))
        #expect(shell.replies(start).first?.result != 0)
        #expect(shell.replies(start).first?.errors == ["Failed to start other@x.service: Unit other@x.service not found."])
        #expect(shell.manager.services[UnitName(parsing: "other@x.service")!] == nil)
    }

    @Test func anInstanceWhoseSpecifiersMakeAnErrorIsRefused() {
        // `test_instance`, which the template is checked with, is a valid variable name; `1x` is not.
        var shell = ScriptedShell(["env@.service": "[Service]\nEnvironment=%i=1\nExecStart=/bin/env\n"])
        _ = shell.take()
        let start = shell.request(.start(units: ["env@1x.service"]))
        #expect(shell.replies(start).first?.errors == ["Failed to start env@1x.service: Unit env@1x.service has a bad unit file setting."])
        #expect(shell.manager.units.refused["env@1x.service"].map { $0.map { "\($0)" } } == ["/u/env@.service:2: env@1x.service: Failed to parse environment assignment for Environment=, refusing the unit: 1x=1"])
        let good = shell.request(.job(.start, units: ["env@ok.service"], noBlock: true))
        #expect(spawned(shell, good) == ["env@ok.service /bin/env"])
    }

    @Test func aStartedInstanceOutlivesAReloadAndRunsOn() {
        var shell = ScriptedShell(files)
        _ = shell.take()
        _ = shell.request(.job(.start, units: ["hello@x.service"], noBlock: true))
        shell.exit(shell.manager.mainPID(of: UnitName(parsing: "hello@x.service")!)!, .exited(0))
        #expect(shell.state("hello@x.service") == .exited)
        shell.send(.reload(ScriptedShell.units(files), call: nil))
        let reload = shell.take()
        #expect(!shell.logs(reload).contains { $0.contains("Removed from the unit dirs") })
        #expect(spawned(shell, reload).isEmpty)
        #expect(shell.state("hello@x.service") == .exited)
    }

    @Test func aRunningInstanceIsCarriedOverAReexec() throws {
        let files = ["web@.service": "[Service]\nExecStart=/bin/web %i\n"]
        var shell = ScriptedShell(files)
        _ = shell.request(.job(.start, units: ["web@eu.service"], noBlock: true))
        let name = UnitName(parsing: "web@eu.service")!
        let main = try #require(shell.manager.mainPID(of: name))
        let state = try shell.manager.reexecState().get()

        var next = ScriptedShell([:])
        next.send(.restore(ScriptedShell.units(files), state, call: nil))
        let restored = next.take()
        #expect(!restored.contains { if case .kill = $0 { return true } else { return false } })
        #expect(next.state("web@eu.service") == .running)
        #expect(next.manager.mainPID(of: name) == main)
    }

    /// A reload that breaks an instance keeps its previous definition, and it is still one that
    /// only a job starts: the reload does not start it as a new unit.
    @Test func anInstanceBrokenByAReloadKeepsItsDefinitionAndDoesNotStart() {
        let before = ["env@.service": "[Service]\nEnvironment=A=%i\nExecStart=/bin/env\n",
                      "job.service": "[Unit]\nOnFailure=env@1x.service\n[Service]\nType=oneshot\nExecStart=/bin/job\n"]
        var shell = ScriptedShell(before)
        _ = shell.take()
        #expect(shell.state("env@1x.service") == .dead)
        // `1x` makes an invalid variable name now; `test_instance`, the template's check, does not.
        var after = before
        after["env@.service"] = "[Service]\nEnvironment=%i=1\nExecStart=/bin/env\n"
        shell.send(.reload(ScriptedShell.units(after), call: nil))
        let reload = shell.take()
        #expect(shell.logs(reload).contains("env@1x.service: Keeping its previous definition."))
        #expect(shell.spawns(reload).isEmpty)
        #expect(shell.state("env@1x.service") == .dead)
        #expect(shell.manager.units.namedInstances.contains(UnitName(parsing: "env@1x.service")!))
    }

    /// The instance an Accept=yes connection makes has its template's dependencies, as each of
    /// systemd's does: `Requires=`/`After=` start the backend first, and the instance once it runs.
    @Test func anAcceptedConnectionsInstanceHasItsTemplatesDependencies() throws {
        var shell = ScriptedShell([
            "echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n",
            "echo@.service": "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
            "db.socket": "[Socket]\nListenStream=5432\n",
            "db.service": "[Service]\nType=notify\nExecStart=/bin/db\n",
        ])
        _ = shell.take()
        shell.send(.listenerReadable(UnitName(parsing: "echo.socket")!))   // the shell accepts one connection
        #expect(shell.spawns(shell.take()).map(\.unit.description) == ["db.service"])
        let db = UnitName(parsing: "db.service")!
        shell.send(.notify(db, pid: try #require(shell.manager.mainPID(of: db)), NotifyMessage(text: "READY=1"), fdCount: 0, inService: true))
        #expect(shell.spawns(shell.take()).map(\.unit.description) == ["echo@0-127.0.0.1:7-127.0.0.1:40000.service"])
        #expect(shell.manager.graph.sources(of: db, .requires).map(\.description) == ["echo@0-127.0.0.1:7-127.0.0.1:40000.service"])
        // Gone with its connection, the instance leaves nothing behind in the graph.
        shell.exit(101, .exited(0))
        _ = shell.take()
        #expect(shell.manager.graph.sources(of: db, .requires).isEmpty)
        #expect(shell.manager.graph.orderedAfter(db).isEmpty)
    }

    /// The instances an Accept=yes connection's template names are made for it, with the
    /// connection's `%i`, start with it, and are collected once both are down.
    @Test func anAcceptedConnectionMakesTheInstancesItsTemplateNames() throws {
        var shell = ScriptedShell([
            "echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n",
            "echo@.service": "[Unit]\nWants=audit@%i.service\nAfter=audit@%i.service\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
            "audit@.service": "[Service]\nType=oneshot\nExecStart=/bin/audit %i\n",
        ])
        _ = shell.take()
        shell.send(.listenerReadable(UnitName(parsing: "echo.socket")!))
        let instance = "0-127.0.0.1:7-127.0.0.1:40000"
        let audit = UnitName(parsing: "audit@\(instance).service")!
        #expect(spawned(shell, shell.take()) == ["audit@\(instance).service /bin/audit \(instance)"])
        shell.exit(try #require(shell.manager.mainPID(of: audit)), .exited(0))
        #expect(spawned(shell, shell.take()) == ["echo@\(instance).service /bin/cat"])
        #expect(shell.state("audit@\(instance).service") == .dead)
        #expect(shell.manager.units.services[audit] != nil, "named by the running connection's instance")
        // The connection ends: its instance goes, and the instance it named with it.
        shell.exit(try #require(shell.manager.mainPID(of: UnitName(parsing: "echo@\(instance).service")!)), .exited(0))
        _ = shell.take()
        #expect(shell.manager.services[audit] == nil && shell.manager.units.services[audit] == nil)
        #expect(shell.manager.graph.orderedAfter(audit).isEmpty)
    }

    /// `status` of an instance nothing has named shows it as it would be, inactive, and loads
    /// nothing: a query leaves nothing behind (systemd would load it and collect it again).
    @Test func statusShowsAnInstanceWithoutLoadingIt() throws {
        var shell = ScriptedShell(files)
        _ = shell.take()
        let actions = shell.request(.status(units: ["hello@q.service", "nothing@q.service"], lines: 0))
        guard case .reply(_, .reports(let reports, let response, _))? = actions.first(where: {
            if case .reply = $0 { return true } else { return false }
        }) else { throw CancellationError() }
        #expect(reports.map { "\($0.id) \($0.loadState) \($0.activeState)" } == ["hello@q.service loaded inactive"])
        #expect(reports.first?.fragmentPath == "/u/hello@.service")
        #expect(response.errors == ["Unit nothing@q.service could not be found."])
        #expect(shell.manager.services[UnitName(parsing: "hello@q.service")!] == nil)
        #expect(!shell.manager.units.namedInstances.contains(UnitName(parsing: "hello@q.service")!))
    }

    /// An instance of a refused template is refused for the same reason: a start says the unit
    /// has a bad setting, and status names the line, as for the template.
    @Test func anInstanceOfARefusedTemplateIsRefusedToo() throws {
        var shell = ScriptedShell(["broken@.service": "[Service]\nExecStart=/bin/x\nRestart=sometimes\n",
                                   "app.service": "[Unit]\nRequires=broken@a.service\n[Service]\nExecStart=/bin/app\n"])
        _ = shell.take()
        let start = shell.request(.start(units: ["broken@b.service"]))
        #expect(shell.replies(start).first?.errors == ["Failed to start broken@b.service: Unit broken@b.service has a bad unit file setting."])
        let reason = try #require(shell.manager.units.refused["broken@.service"]?.first)
        #expect(shell.manager.units.refused["broken@a.service"]?.first == reason, "named by app.service at load")
        #expect(shell.manager.statusReport("broken@b.service", now: shell.now, realtime: 0)?.loadError == "\(reason)")
        #expect(shell.manager.statusReport("broken@never.service", now: shell.now, realtime: 0)?.loadError == "\(reason)")
        #expect(shell.manager.units.refused["broken@never.service"] == nil, "a query loads nothing")
    }

    // MARK: Collection

    /// An instance that only a request loaded goes once it is down and nothing names it, with
    /// the instances it named that nothing else does (systemd's garbage collection); one a
    /// loaded unit names stays, and so does a failed one until reset-failed.
    @Test func anInstanceAStartLoadedIsCollectedOnceNothingNeedsIt() throws {
        var shell = ScriptedShell([
            "front@.service": "[Unit]\nWants=back@%i.service\n[Service]\nExecStart=/bin/front %i\n",
            "back@.service": "[Service]\nExecStart=/bin/back %i\n",
        ])
        _ = shell.take()
        let (front, back) = (UnitName(parsing: "front@eu.service")!, UnitName(parsing: "back@eu.service")!)
        _ = shell.request(.job(.start, units: ["front@eu.service"], noBlock: true))
        let (frontPID, backPID) = (try #require(shell.manager.mainPID(of: front)), try #require(shell.manager.mainPID(of: back)))

        // front@eu names back@eu: while front@eu is loaded, back@eu stays even when down.
        _ = shell.request(.job(.stop, units: ["back@eu.service"], noBlock: true))
        shell.exit(backPID, .signaled(SIGTERM, coreDumped: false))
        #expect(shell.state("back@eu.service") == .dead)
        #expect(shell.manager.units.services[back] != nil)

        let stop = shell.request(.job(.stop, units: ["front@eu.service"], noBlock: true))
        shell.exit(frontPID, .signaled(SIGTERM, coreDumped: false))
        #expect(shell.replies(stop).map(\.result) == [0])
        for name in [front, back] {
            #expect(shell.manager.services[name] == nil, "\(name) collected")
            #expect(shell.manager.units.services[name] == nil && !shell.manager.units.namedInstances.contains(name))
        }
        // Its lines are still asked for by its name.
        let logs = shell.request(.logs(units: ["front@eu.service"], lines: 10, follow: false))
        #expect(logs.contains { if case .reply(_, .logs) = $0 { return true } else { return false } }, "\(logs)")
        // A new start makes it again.
        let again = shell.request(.job(.start, units: ["front@eu.service"], noBlock: true))
        #expect(Set(spawned(shell, again)) == ["front@eu.service /bin/front eu", "back@eu.service /bin/back eu"])
    }

    @Test func aFailedInstanceStaysUntilResetFailedAndANamedOneStays() throws {
        var shell = ScriptedShell(files)
        _ = shell.take()
        shell.exit(100, .exited(0))  // hello@dep.service, which app.service requires
        let name = UnitName(parsing: "hello@x.service")!
        _ = shell.request(.job(.start, units: ["hello@x.service"], noBlock: true))
        shell.exit(try #require(shell.manager.mainPID(of: name)), .exited(1))
        #expect(shell.state("hello@x.service") == .failed)
        #expect(shell.manager.units.services[name] != nil, "a failed instance is kept, for status")
        _ = shell.request(.resetFailed(unit: "hello@x.service"))
        #expect(shell.manager.services[name] == nil && shell.manager.units.services[name] == nil)

        // hello@dep.service is named by app.service: down, it stays loaded. (app.service, which
        // requires it, stops first.)
        let app = try #require(shell.manager.mainPID(of: UnitName(parsing: "app.service")!))
        _ = shell.request(.job(.stop, units: ["hello@dep.service"], noBlock: true))
        shell.exit(app, .signaled(SIGTERM, coreDumped: false))
        #expect(shell.state("hello@dep.service") == .dead)
    }

    /// CollectMode=inactive-or-failed: a failed instance goes too, at once; an instance of a
    /// template with the default stays failed.
    @Test func collectModeInactiveOrFailedCollectsAFailedInstance() throws {
        var shell = ScriptedShell([
            "job@.service": "[Unit]\nCollectMode=inactive-or-failed\n[Service]\nExecStart=/bin/job %i\n",
            "kept@.service": "[Service]\nExecStart=/bin/kept %i\n",
        ])
        _ = shell.take()
        for (unit, collected) in [("job@a.service", true), ("kept@a.service", false)] {
            let name = UnitName(parsing: unit)!
            _ = shell.request(.job(.start, units: [unit], noBlock: true))
            shell.exit(try #require(shell.manager.mainPID(of: name)), .exited(3))
            #expect((shell.manager.units.services[name] == nil) == collected, "\(unit)")
            #expect((shell.manager.services[name] == nil) == collected, "\(unit)")
            if !collected { #expect(shell.state(unit) == .failed) }
        }
    }
}
