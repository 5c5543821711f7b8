import Testing
@testable import SwatchCore

/// `Sockets=` on a service (systemd.service(5); config_parse_service_sockets() and
/// service_collect_fds() in src/core): the fds of the sockets it names besides those
/// that name it, Wants= and After= them, and a socket with no service of its own
/// activates the service that names it.
@Suite struct ServiceSocketsTests {
    @Test func twoSocketsFeedOneServiceThatNamesThem() throws {
        var shell = ScriptedShell([
            "a.socket": "[Socket]\nListenStream=8080\n",
            "b.socket": "[Socket]\nListenStream=8081\nFileDescriptorName=bee\n",
            "x.service": "[Service]\nExecStart=/bin/x\nSockets=a.socket b.socket\n",
        ])
        let startUp = shell.take()
        #expect(Set(shell.watched(startUp)) == ["+a.socket", "+b.socket"])
        #expect(shell.spawns(startUp).isEmpty, "socket-activated: it waits for traffic")
        shell.send(.listenerReadable(UnitName(parsing: "b.socket")!))
        let actions = shell.take()
        let order = try #require(shell.spawns(actions).first)
        #expect(order.unit.description == "x.service")
        #expect(order.sockets.map(\.description) == ["a.socket", "b.socket"])
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "a.socket:bee") })
        #expect(Set(shell.watched(actions)) == ["-a.socket", "-b.socket"], "the service serves both now")
    }

    /// OpenFile= names come after the sockets'; one the shell could not open (`graceful`) leaves
    /// LISTEN_FDS, LISTEN_FDNAMES and the `fd:NAME` positions as if it had never been there.
    @Test func openFilesArePassedAfterTheSockets() throws {
        var shell = ScriptedShell([
            "x.socket": "[Socket]\nListenStream=8080\n",
            "x.service": "[Service]\nExecStart=/bin/x\nOpenFile=/etc/a.conf\nOpenFile=/run/b:bee:read-only,graceful\n"
                + "OpenFile=/run/c:sea\nStandardOutput=fd:sea\n",
        ])
        _ = shell.take()
        shell.send(.listenerReadable(UnitName(parsing: "x.socket")!))
        var order = try #require(shell.spawns(shell.take()).first)
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDS", "4") })
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "x.socket:a.conf:bee:sea") })
        #expect(order.namedStandardFDs == [nil, 3, nil])
        #expect(order.service.openFiles.map(\.graceful) == [false, true, false])
        order.dropPassedFD(at: 2)
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDS", "3") })
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "x.socket:a.conf:sea") })
        #expect(order.namedStandardFDs == [nil, 2, nil])
    }

    @Test func aServiceTakesTheFDsOfASocketThatActivatesAnother() throws {
        var shell = ScriptedShell([
            "x.socket": "[Socket]\nListenStream=8080\n",
            "x.service": "[Service]\nExecStart=/bin/x\nSockets=y.socket\n",
            "y.socket": "[Socket]\nListenStream=8081\n",
            "y.service": "[Service]\nExecStart=/bin/y\n",
        ])
        _ = shell.take()
        shell.send(.listenerReadable(UnitName(parsing: "y.socket")!))
        #expect(shell.spawns(shell.take()).map(\.unit.description) == ["y.service"], "y.socket activates its own service")
        shell.send(.listenerReadable(UnitName(parsing: "x.socket")!))
        let order = try #require(shell.spawns(shell.take()).first)
        #expect(order.unit.description == "x.service")
        #expect(order.sockets.map(\.description) == ["x.socket", "y.socket"])
    }

    @Test func startingTheServiceStartsTheSocketsItNamesFirst() throws {
        var shell = ScriptedShell([
            "a.socket": "[Socket]\nListenStream=8080\n",
            "x.service": "[Service]\nExecStart=/bin/x\nSockets=a.socket\n",
        ])
        _ = shell.request(.stop(units: ["a.socket"]))
        let actions = shell.request(.start(units: ["x.service"]))
        let bind = actions.firstIndex { if case .bind = $0 { return true } else { return false } }
        let spawn = actions.firstIndex { if case .spawn = $0 { return true } else { return false } }
        #expect(bind != nil && spawn != nil && bind! < spawn!)
        #expect(shell.spawns(actions).first?.sockets.map(\.description) == ["a.socket"])
    }

    /// The fds of a service are its sockets in name order (sd_listen_fds(3)): its own
    /// socket among those whose Service= names it; an Accept=yes socket of its name is not one.
    @Test func aServiceGetsTheFDsOfEverySocketThatTriggersItInNameOrder() throws {
        var shell = ScriptedShell([
            "a.socket": "[Socket]\nListenStream=8080\nService=m.service\n",
            "m.socket": "[Socket]\nListenStream=8081\n",
            "z.socket": "[Socket]\nListenStream=8082\nService=m.service\n",
            "m.service": "[Service]\nExecStart=/bin/m\n",
            "n.socket": "[Socket]\nListenStream=8083\nAccept=yes\n",
            "n@.service": "[Service]\nExecStart=/bin/n\n",
            "n.service": "[Service]\nExecStart=/bin/n\nSockets=a.socket\n",
            "w.socket": "[Socket]\nListenStream=8084\nService=web.service\n",
            "web.service": "[Service]\nExecStart=/bin/web\n",
        ])
        // n.service is no socket's service: it alone starts on its own.
        let startUp = shell.spawns(shell.take())
        #expect(startUp.map(\.unit.description) == ["n.service"])
        let n = try #require(startUp.first)
        #expect(n.sockets.map(\.description) == ["a.socket"], "n.socket accepts: its connections go to n@.service")
        shell.send(.listenerReadable(UnitName(parsing: "z.socket")!))
        let order = try #require(shell.spawns(shell.take()).first)
        #expect(order.unit.description == "m.service")
        #expect(order.sockets.map(\.description) == ["a.socket", "m.socket", "z.socket"])
    }

    /// A service is ordered after the sockets it names, its own or another's: stopped
    /// together, the service stops first and the socket closes after it is gone.
    @Test func aSocketNamedByAnotherServiceStopsAfterIt() throws {
        var shell = ScriptedShell([
            "y.socket": "[Socket]\nListenStream=8081\n",
            "y.service": "[Service]\nExecStart=/bin/y\n",
            "x.service": "[Service]\nExecStart=/bin/x\nSockets=y.socket\n",
        ])
        #expect(shell.spawns(shell.take()).map(\.unit.description) == ["x.service"], "x.service starts on its own")
        let stop = shell.request(.stop(units: ["y.socket", "x.service"]))
        func closes(_ actions: [ManagerAction]) -> Bool {
            actions.contains { if case .closeListeners(let name, _) = $0 { return name.description == "y.socket" } else { return false } }
        }
        #expect(shell.state("x.service") == .stopSigterm)
        #expect(!closes(stop), "y.socket waits for x.service to stop")
        let pid = try #require(shell.manager.mainPID(of: UnitName(parsing: "x.service")!))
        shell.send(.processExited(pid: pid, status: .signaled(15, coreDumped: false), groupEmpty: true))
        #expect(closes(shell.take()))
    }

    @Test func aNameThatIsNoSocketUnitRefusesTheService() {
        let set = ScriptedShell.units(["x.service": "[Service]\nExecStart=/bin/x\nSockets=x.service\n"])
        #expect(set.refused["x.service"]?.first?.message == "Failed to parse socket unit name for Sockets=, refusing the unit: x.service")
    }

    @Test func aServiceThatTakesAReboundSocketByNameIsRestartedToGetIt() {
        let files = [
            "x.socket": "[Socket]\nListenStream=8080\n",
            "x.service": "[Service]\nExecStart=/bin/x\nSockets=y.socket\n",
            "y.socket": "[Socket]\nListenStream=8081\n",
            "y.service": "[Service]\nExecStart=/bin/y\n",
        ]
        var shell = ScriptedShell(files)
        shell.send(.listenerReadable(UnitName(parsing: "x.socket")!))
        _ = shell.take()
        var changed = files
        changed["y.socket"] = "[Socket]\nListenStream=8082\n"
        shell.send(.reload(ScriptedShell.units(changed), call: nil))
        #expect(shell.logs(shell.take()).contains("y.socket: Its listeners changed; restarting x.service to hand them over."))
    }
}
