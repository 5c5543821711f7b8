import Testing
@testable import SwatchCore

/// FDPOLL= (sd_notify(3)): a stored fd is watched for a hang-up unless FDPOLL=0, and one
/// that hangs up leaves the store (on_fd_store_io(), src/core/service.c).
@Suite struct FDStorePollTests {
    let name = UnitName(parsing: "x.service")!

    func polls(_ actions: [ManagerAction]) -> [Bool] {
        actions.compactMap { if case .storeFDs(_, _, _, let poll) = $0 { return poll } else { return nil } }
    }

    @Test func aStoredFDIsWatchedUnlessFDPOLLIsZero() {
        var shell = ScriptedShell(["x.service": "[Service]\nType=notify\nExecStart=/bin/x\nFileDescriptorStoreMax=4\n"])
        _ = shell.take()
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "READY=1\nFDSTORE=1\nFDNAME=a"), fdCount: 1, inService: true))
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "FDSTORE=1\nFDNAME=b\nFDPOLL=0"), fdCount: 1, inService: true))
        #expect(polls(shell.take()) == [true, false])
    }

    @Test func aStoredFDThatHangsUpIsDroppedAndNotHandedOnAgain() throws {
        var shell = ScriptedShell(["x.service": "[Service]\nType=notify\nExecStart=/bin/x\nFileDescriptorStoreMax=4\nRestart=always\n"])
        _ = shell.take()
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "READY=1\nFDSTORE=1\nFDNAME=peer"), fdCount: 1, inService: true))
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "FDSTORE=1\nFDNAME=kept\nFDPOLL=0"), fdCount: 1, inService: true))
        #expect(shell.stored[name] == ["peer", "kept"])
        shell.send(.storedFDHungUp(name, index: 0))
        let actions = shell.take()
        #expect(shell.stored[name] == ["kept"])
        #expect(shell.logs(actions).contains("x.service: Stored fd 0 (peer) hung up, closing it."))
        shell.exit(100, .exited(1))
        _ = shell.take()
        shell.fireTimer()
        let order = try #require(shell.spawns(shell.take()).first)
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDNAMES", "kept") })
        #expect(order.protocolVariables.contains { $0 == ("LISTEN_FDS", "1") })
    }

    /// FileDescriptorStorePreserve= (systemd.service(5)): `restart`, the default, keeps the
    /// fds across a restart and drops them at a stop; `yes` keeps them through a stop too,
    /// until the unit is no longer loaded; `no` drops them at every stop.
    @Test(arguments: [("restart", true, false), ("yes", true, true), ("no", false, false)])
    func theStoreIsKeptAsFileDescriptorStorePreserveSays(_ mode: String, afterRestart: Bool, afterStop: Bool) {
        var shell = ScriptedShell(["x.service": """
            [Service]
            Type=notify
            ExecStart=/bin/x
            FileDescriptorStoreMax=4
            FileDescriptorStorePreserve=\(mode)
            Restart=always
            RestartSec=1
            """])
        _ = shell.take()
        shell.send(.notify(name, pid: 100, NotifyMessage(text: "READY=1\nFDSTORE=1\nFDNAME=conn"), fdCount: 1, inService: true))
        shell.exit(100, .exited(1))
        _ = shell.take()
        #expect((shell.stored[name] == ["conn"]) == afterRestart, "waiting for the automatic restart")
        shell.fireTimer()
        _ = shell.take()
        shell.send(.notify(name, pid: 101, NotifyMessage(text: "READY=1\nFDSTORE=1\nFDNAME=conn"), fdCount: 1, inService: true))
        _ = shell.request(.job(.stop, units: ["x.service"], noBlock: true))
        shell.exit(101, .signaled(15, coreDumped: false))
        _ = shell.take()
        #expect(shell.state("x.service") == .dead)
        #expect((shell.stored[name]?.isEmpty == false) == afterStop, "stopped")
    }

    @Test func aHangUpReportedForAStoreAlreadyEmptiedIsIgnored() {
        var shell = ScriptedShell(["x.service": "[Service]\nType=notify\nExecStart=/bin/x\nFileDescriptorStoreMax=4\n"])
        _ = shell.take()
        shell.send(.storedFDHungUp(name, index: 0))
        #expect(!shell.take().contains { if case .dropStoredFD = $0 { return true } else { return false } })
    }

    @Test func fdpollIsABoolean() {
        #expect(!NotifyMessage(text: "FDSTORE=1\nFDPOLL=no").fdPoll)
        #expect(!NotifyMessage(text: "FDSTORE=1\nFDPOLL=0").fdPoll)
        #expect(NotifyMessage(text: "FDSTORE=1\nFDPOLL=1").fdPoll)
        #expect(NotifyMessage(text: "FDSTORE=1\nFDPOLL=maybe").fdPoll, "not a boolean: ignored")
        #expect(NotifyMessage(text: "FDSTORE=1").fdPoll)
    }
}
