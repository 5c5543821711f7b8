import Testing
@testable import SwatchCore

/// Delegate=: which subgroup of the service's group each of its processes starts in, as
/// systemd's exec_params_get_cgroup_path() (src/core/execute.c) chooses. The integration
/// tests (SandboxTests) check where the processes really ran.
@Suite struct DelegatedSubgroupTests {
    static let commands = """
        ExecCondition=/bin/condition
        ExecStartPre=/bin/pre
        ExecStart=/bin/main
        ExecStartPost=/bin/post
        ExecReload=/bin/reload
        ExecStop=/bin/stop
        ExecStopPost=/bin/stop-post

        """

    /// Each command of a start, a reload and a stop, with the subgroup its order names.
    func subgroups(_ keys: String) -> [String] {
        var s = ScriptedShell(["d.service": "[Service]\n" + keys + Self.commands])
        var seen: [String] = []
        var main: Int32?
        // Records a batch's spawns; each control process exits 0 at once, and what that
        // starts is recorded in turn. The main process keeps running.
        func settle(_ actions: [ManagerAction]) {
            var pending = actions
            while case let orders = s.spawns(pending), !orders.isEmpty {
                let first = s.nextPID - Int32(orders.count)
                pending = []
                for (offset, order) in orders.enumerated() {
                    seen.append("\(order.role.phase.rawValue) \(order.delegatedSubgroup ?? "-")")
                    let pid = first + Int32(offset)
                    if order.isMain { main = pid } else {
                        s.exit(pid, .exited(0))
                        pending += s.take()
                    }
                }
            }
        }
        settle(s.take())   // a service no socket triggers starts with the daemon
        settle(s.request(.reload(units: ["d.service"])))
        settle(s.request(.stop(units: ["d.service"])))
        if let main { s.exit(main, .signaled(15, coreDumped: false)) }
        settle(s.take())
        return seen
    }

    static let inTheGroup = ["ExecCondition -", "ExecStartPre -", "ExecStart -", "ExecStartPost -",
                             "ExecReload -", "ExecStop -", "ExecStopPost -"]

    @Test func withoutDelegateEveryProcessStartsInTheGroup() {
        #expect(subgroups("") == Self.inTheGroup)
    }

    /// The commands beside the main process go to ".control": once the service enabled a
    /// controller below its group, no process may join the group itself.
    @Test func withDelegateTheCommandsBesideTheMainProcessStartInControl() {
        #expect(subgroups("Delegate=yes\n") == [
            "ExecCondition -", "ExecStartPre -", "ExecStart -", "ExecStartPost .control",
            "ExecReload .control", "ExecStop .control", "ExecStopPost .control",
        ])
    }

    @Test func withDelegateSubgroupTheMainProcessStartsThereAndEveryOtherCommandInControl() {
        #expect(subgroups("Delegate=yes\nDelegateSubgroup=supervisor\n") == [
            "ExecCondition .control", "ExecStartPre .control", "ExecStart supervisor",
            "ExecStartPost .control", "ExecReload .control", "ExecStop .control", "ExecStopPost .control",
        ])
    }

    @Test func delegateSubgroupWithoutDelegateIsNoDelegation() {
        #expect(subgroups("DelegateSubgroup=supervisor\n") == Self.inTheGroup)
    }
}
