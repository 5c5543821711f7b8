import Testing
@testable import SwatchCore

/// The end of an Accept=yes instance (Manager+Instances.swift): one that ended well is
/// unloaded, a failed one stays loaded as failed until `reset-failed` (as under systemd),
/// at most MaxConnections= of them per socket, and none counts against the limits.
@Suite struct ManagerInstancesTests {
    let socket = UnitName(parsing: "echo.socket")!

    func shell(socket extra: String = "", service: String = "") -> ScriptedShell {
        var shell = ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n\(extra)",
                                   "echo@.service": "[Unit]\n\(service)\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"])
        _ = shell.take()
        return shell
    }

    func connection(_ id: Int, port: UInt16 = 40000) -> AcceptedConnectionInfo {
        AcceptedConnectionInfo(id: id, remoteAddress: "127.0.0.1", remotePort: port, localAddress: "127.0.0.1", localPort: 7)
    }

    /// Accepts connection `id` and returns its instance's name and main process.
    func serve(_ shell: inout ScriptedShell, _ id: Int, port: UInt16 = 40000) throws -> (UnitName, Int32) {
        shell.connections.insert(id)
        shell.send(.connectionsAccepted(socket, [connection(id, port: port)]))
        let order = try #require(shell.spawns(shell.take()).first)
        return (order.unit, try #require(shell.manager.mainPID(of: order.unit)))
    }

    func listed(_ shell: inout ScriptedShell) -> [String: String] {
        var states: [String: String] = [:]
        for action in shell.request(.listUnits) {
            guard case .reply(_, .response(let response)) = action else { continue }
            for record in response.records {
                if let id = record["Id"], let active = record["ActiveState"] { states[id] = active }
            }
        }
        return states
    }

    @Test func aFailedInstanceStaysLoadedAsFailedUntilResetFailed() throws {
        var s = shell()
        let (name, pid) = try serve(&s, 1)
        #expect(name.description == "echo@0-127.0.0.1:7-127.0.0.1:40000.service")
        s.exit(pid, .exited(1))
        #expect(s.state(name.description) == .failed)
        #expect(listed(&s)[name.description] == "failed")
        #expect(s.connections.isEmpty, "its connection is closed")
        #expect(s.manager.sockets[socket]?.instances == 0)

        let report = s.request(.status(units: [name.description]))
        #expect(report.contains { if case .reply(_, .reports(let reports, _, _)) = $0 {
            reports.first?.activeState == .failed && reports.first?.result == .exitCode
        } else { false } }, "\(report)")

        // The socket triggers its instances, the failed one too, as systemd's does; not the template.
        let (running, _) = try serve(&s, 2, port: 40002)
        let socketReport = s.request(.status(units: ["echo.socket"])).compactMap {
            if case .reply(_, .reports(let reports, _, _)) = $0 { reports.first } else { nil }
        }.first
        #expect(socketReport?.triggers == [UnitReference(name: name.description, activeState: .failed),
                                           UnitReference(name: running.description, activeState: .active)])
        let sockets = s.replies(s.request(.listSockets)).first?.records ?? []
        #expect(sockets.map { $0.values("Triggers") } == [[name.description, running.description]])

        _ = s.request(.resetFailed(unit: name.description))
        #expect(s.manager.services[name] == nil)
        #expect(listed(&s)[name.description] == nil)
        #expect(s.manager.sockets[socket]?.failedInstances.isEmpty == true)
    }

    @Test func anInstanceThatEndedWellIsUnloadedAtOnce() throws {
        var s = shell()
        let (name, pid) = try serve(&s, 1)
        s.exit(pid, .exited(0))
        #expect(s.manager.services[name] == nil)
        #expect(s.connections.isEmpty && s.manager.sockets[socket]?.instances == 0)
    }

    @Test func collectModeInactiveOrFailedUnloadsAFailedInstanceAtOnce() throws {
        var s = shell(service: "CollectMode=inactive-or-failed")
        let (name, pid) = try serve(&s, 1)
        s.exit(pid, .exited(1))
        #expect(s.manager.services[name] == nil)
        #expect(s.manager.sockets[socket]?.failedInstances.isEmpty == true)
    }

    @Test func aSocketKeepsItsLastMaxConnectionsFailedInstances() throws {
        var s = shell(socket: "MaxConnections=2")
        var names: [UnitName] = []
        for id in 1...3 {
            let (name, pid) = try serve(&s, id, port: UInt16(40000 + id))
            s.exit(pid, .exited(1))
            names.append(name)
        }
        #expect(s.manager.services[names[0]] == nil, "the oldest is unloaded")
        #expect(s.state(names[1].description) == .failed && s.state(names[2].description) == .failed)
        #expect(s.manager.sockets[socket]?.failedInstances == [names[1], names[2]])
        // Failed instances are not connections: two may run at once all the same.
        s.connections.formUnion([4, 5])
        s.send(.connectionsAccepted(socket, [connection(4, port: 40004), connection(5, port: 40005)]))
        #expect(s.spawns(s.take()).count == 2)
    }

    @Test func aFailedInstanceDoesNotCountAgainstItsSource() throws {
        var s = shell(socket: "MaxConnectionsPerSource=1")
        let (_, pid) = try serve(&s, 1)
        s.exit(pid, .exited(1))
        #expect(s.manager.sockets[socket]?.sources.isEmpty == true)
        _ = try serve(&s, 2, port: 40002)
    }

    /// Its connection went to its first process, and swatchd keeps no copy: a restart (by hand,
    /// or Restart= in the template) could only run a process without it. A running instance's
    /// restart is refused and it runs on; Restart=on-failure does not restart it.
    @Test func anInstanceIsNeverStartedAgainWithoutItsConnection() throws {
        var s = shell(service: "[Service]\nRestart=on-failure\nRestartSec=0")
        let (name, pid) = try serve(&s, 1)
        let restart = s.request(.job(.restart, units: [name.description], noBlock: false))
        #expect(s.replies(restart).first?.errors == [
            "Failed to restart \(name): Operation refused, unit \(name) serves an Accept=yes connection that its process holds; no other process can be handed it."])
        #expect(s.state(name.description) == .running && s.manager.mainPID(of: name) == pid)

        s.exit(pid, .exited(1))
        #expect(s.state(name.description) == .failed, "not auto-restart")
        s.advance(1)
        if s.manager.nextDeadline() != nil { s.fireTimer() }
        #expect(s.spawns(s.take()).isEmpty)
        #expect(s.state(name.description) == .failed)
    }

    /// A restart that reaches an instance through a dependency (PartOf= of its template) does
    /// not start it again either: the instance serves on, and says why.
    @Test func aPropagatedRestartLeavesARunningInstanceAlone() throws {
        var s = ScriptedShell(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\n",
                               "echo@.service": "[Unit]\nPartOf=main.service\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
                               "main.service": "[Service]\nExecStart=/bin/main\n"])
        _ = s.take()
        let main = try #require(s.manager.mainPID(of: UnitName(parsing: "main.service")!))
        let (name, pid) = try serve(&s, 1)
        var actions = s.request(.job(.restart, units: ["main.service"], noBlock: true))
        s.exit(main, .signaled(15, coreDumped: false))
        actions += s.take()
        #expect(s.spawns(actions).map(\.unit.description) == ["main.service"], "only main.service starts again")
        #expect(s.logs(actions).contains("\(name): Not started again: its Accept=yes connection went to its first process."))
        #expect(s.state(name.description) == .running && s.manager.mainPID(of: name) == pid)
    }

    @Test func aStartOfAKeptFailedInstanceIsRefusedAndAStopDoesNothing() throws {
        var s = shell()
        let (name, pid) = try serve(&s, 1)
        s.exit(pid, .exited(1))
        for verb in [JobVerb.start, .restart] {
            let actions = s.request(.job(verb, units: [name.description], noBlock: false))
            #expect(s.spawns(actions).isEmpty)
            #expect(s.replies(actions).first?.errors == [
                "Failed to \(verb.rawValue) \(name): Operation refused, unit \(name) served an Accept=yes connection that is closed (\"swatchctl reset-failed \(name)\" unloads it)."])
        }
        let stop = s.request(.job(.stop, units: [name.description], noBlock: false))
        #expect(s.replies(stop).first?.errors == [])
        #expect(s.state(name.description) == .failed)
    }

    /// An instance's description names its peer, after the template's Description= or alone, as
    /// systemd's service_set_socket_fd() sets it: in status and in the lifecycle lines.
    @Test func anInstancesDescriptionNamesItsPeer() throws {
        var s = shell(service: "Description=Echo server")
        let (name, _) = try serve(&s, 1)
        #expect(s.manager.unitDescription(name) == "Echo server (127.0.0.1:40000)")
        let status = s.request(.status(units: [name.description])).compactMap {
            if case .reply(_, .reports(let reports, _, _)) = $0 { reports.first } else { nil }
        }.first
        #expect(status?.description == "Echo server (127.0.0.1:40000)")
        s.send(.connectionsAccepted(socket, [connection(2, port: 40002)]))
        #expect(s.logs(s.take()).contains {
            $0.hasPrefix("Starting echo@1-127.0.0.1:7-127.0.0.1:40002.service - Echo server (127.0.0.1:40002)")
        })

        var bare = shell()
        let (plain, _) = try serve(&bare, 1)
        #expect(bare.manager.unitDescription(plain) == "127.0.0.1:40000")
        #expect(Manager.peerText(AcceptedConnectionInfo(id: 1, remoteAddress: "::1", remotePort: 5000)) == "[::1]:5000")
        #expect(Manager.peerText(AcceptedConnectionInfo(id: 2, remoteAddress: nil, remotePort: nil, peer: (pid: 42, uid: 1000)))
            == "PID 42/UID 1000")
    }

    @Test func aReexecKeepsTheFailedInstancesUncounted() throws {
        var s = shell(socket: "MaxConnections=2")
        let (failed, pid) = try serve(&s, 1)
        s.exit(pid, .exited(1))
        let (running, _) = try serve(&s, 2, port: 40002)
        guard case .success(let state) = s.manager.reexecState() else {
            Issue.record("re-exec refused")
            return
        }
        var next = ScriptedShell([:])
        _ = next.take()
        next.send(.restore(ScriptedShell.units(["echo.socket": "[Socket]\nListenStream=7\nAccept=yes\nMaxConnections=2\n",
                                                "echo@.service": "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"]),
                           state, call: nil))
        #expect(next.state(failed.description) == .failed)
        #expect(next.state(running.description) == .running)
        #expect(next.manager.sockets[socket]?.instances == 1)
        #expect(next.manager.sockets[socket]?.failedInstances == [failed])
        #expect(next.manager.sockets[socket]?.accepted == 2, "NAccepted= carried over")
        #expect(next.manager.unitDescription(running) == "127.0.0.1:40002", "the peer carried over")
        _ = next.request(.resetFailed(unit: nil))
        #expect(next.manager.services[failed] == nil && next.manager.services[running] != nil)
    }
}
