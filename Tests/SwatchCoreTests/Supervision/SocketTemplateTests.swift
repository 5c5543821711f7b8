import Testing
@testable import SwatchCore

/// Socket templates (`x@.socket`, systemd.unit(5)): instances made by a start or by a
/// unit file linked to the template, `%i` expanded in their listeners, each activating
/// its own service instance.
@Suite struct SocketTemplateTests {
    let files = [
        "x@.socket": "[Socket]\nListenStream=/run/x-%i.sock\nFileDescriptorName=fd-%I\n",
        "x@.service": "[Service]\nExecStart=/bin/x %i\n",
    ]

    func boundAddresses(_ actions: [ManagerAction]) -> [String] {
        actions.compactMap {
            if case .bind(let name, let unit) = $0 { return "\(name) \(unit.listens.map(\.address.description))" }
            return nil
        }
    }

    @Test func aTemplateIsNoUnitOfItsOwnAndBindsNothing() {
        var shell = ScriptedShell(files)
        #expect(boundAddresses(shell.take()).isEmpty)
        #expect(shell.manager.socketCount == 0)
    }

    @Test func startMakesTheInstanceWhichActivatesItsOwnServiceInstance() throws {
        var shell = ScriptedShell(files)
        _ = shell.take()
        let start = shell.request(.start(units: ["x@a.socket"]))
        #expect(boundAddresses(start) == ["x@a.socket [\"/run/x-a.sock\"]"])
        #expect(shell.replies(start).map(\.result) == [0])
        shell.send(.listenerReadable(UnitName(parsing: "x@a.socket")!))
        let order = try #require(shell.spawns(shell.take()).first)
        #expect(order.unit.description == "x@a.service")
        #expect(order.command.arguments.last == "a")
        #expect(order.sockets.map(\.description) == ["x@a.socket"])
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "fd-a") })
    }

    @Test func aFileLinkedToTheTemplateIsAnInstanceLoadedAtStartUp() {
        var linked = files
        linked["x@b.socket"] = files["x@.socket"]   // what a symlink x@b.socket → x@.socket reads as
        var shell = ScriptedShell(linked)
        #expect(boundAddresses(shell.take()) == ["x@b.socket [\"/run/x-b.sock\"]"])
    }

    @Test func anInstanceMadeByAStartOutlivesAReload() {
        var shell = ScriptedShell(files)
        _ = shell.request(.start(units: ["x@a.socket"]))
        shell.send(.reload(ScriptedShell.units(files), call: nil))
        let actions = shell.take()
        #expect(!actions.contains { if case .closeListeners = $0 { return true } else { return false } })
        #expect(shell.manager.sockets[UnitName(parsing: "x@a.socket")!]?.machine.state == .listening)
    }

    /// Named by a dependency, an instance is loaded but not bound: it binds when the unit that
    /// requires it starts.
    @Test func anInstanceNamedByADependencyBindsWhenTheUnitNamingItStarts() {
        var withApp = files
        withApp["app.service"] = "[Unit]\nRequires=x@b.socket\nAfter=x@b.socket\n[Service]\nExecStart=/bin/app\n"
        withApp["app.socket"] = "[Socket]\nListenStream=/run/app.sock\n"
        var shell = ScriptedShell(withApp)
        #expect(boundAddresses(shell.take()) == ["app.socket [\"/run/app.sock\"]"])
        #expect(shell.manager.sockets[UnitName(parsing: "x@b.socket")!]?.machine.isInactive == true)
        let start = shell.request(.job(.start, units: ["app.service"], noBlock: true))
        #expect(boundAddresses(start) == ["x@b.socket [\"/run/x-b.sock\"]"])
        #expect(shell.spawns(start).map(\.unit.description) == ["app.service"])
        #expect(shell.manager.sockets[UnitName(parsing: "x@b.socket")!]?.machine.state == .listening)
    }

    @Test func anInstanceOfNoTemplateIsNotFound() {
        var shell = ScriptedShell(files)
        let start = shell.request(.start(units: ["y@a.socket"]))
        #expect(shell.replies(start).first?.result != 0)
    }
}
