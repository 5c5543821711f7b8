import Testing
@testable import SwatchCore

/// The Manager driven by long random runs of what can happen to it — requests, exits,
/// crashes, readiness, connections, time, reloads, re-execs — in an order no hand-written test
/// thought of, from fixed seeds so that a failure is repeated by its seed. After each
/// run, SIGTERM: every process that is signalled ends, and the Manager must get to
/// `.exit` with every connection it was handed closed. (A start request taken while
/// everything stopped once kept a unit up and swatchd from ever exiting.)
@Suite struct ManagerChaosTests {
    static let units = [
        "web.socket": "[Socket]\nListenStream=8080\n",
        "web.service": "[Unit]\nRequires=db.service\nAfter=db.service\n[Service]\nType=notify\nExecStart=/bin/web\n",
        "db.service": "[Unit]\nOnFailure=alert.service\nStartLimitBurst=4\n[Service]\nExecStart=/bin/db\nRestart=on-failure\nRestartSec=1s\n",
        "alert.service": "[Service]\nType=oneshot\nExecStart=/bin/alert\n",
        "cache.service": "[Unit]\nBindsTo=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/cache\nExecStop=/bin/cache-stop\nTimeoutStopSec=5s\n",
        "echo.socket": "[Socket]\nListenStream=7\nListenStream=17\nAccept=yes\nMaxConnections=3\nPollLimitBurst=4\n",
        "echo@.service": "[Unit]\nWants=audit@%i.service\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
        "audit@.service": "[Service]\nType=oneshot\nExecStart=/bin/audit %i\n",
        "side.service": "[Unit]\nConflicts=cache.service\nStopWhenUnneeded=yes\n[Service]\nExecStart=/bin/side\nKillMode=process\n",
        "keeper.service": "[Unit]\nUpholds=side.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/keep\n",
        "cmd.socket": "[Socket]\nListenStream=9090\nExecStartPre=/bin/pre\nExecStopPost=/bin/post\n",
        "cmd.service": "[Service]\nType=notify\nExecStart=/bin/cmd\nExecReload=/bin/cmd-reload\nWatchdogSec=2s\nRestart=always\n",
    ]
    static let names = ["web.socket", "web.service", "db.service", "alert.service", "cache.service", "echo.socket",
                        "side.service", "keeper.service", "cmd.socket", "cmd.service"]
    static let messages = ["READY=1", "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", "STATUS=busy"]

    /// SplitMix64: the same seed, the same run.
    struct Draws {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// One thing that can happen, drawn; with `crashes` false, no process ends by itself.
    /// Returns whether it was a request made with `call`.
    @discardableResult
    static func happen(_ draws: inout Draws, to shell: inout ScriptedShell, call: ControlServer.ConnectionID,
                       crashes: Bool = true) -> Bool {
        let pids = crashes ? shell.manager.pidOwners.keys.sorted() : []
        switch draws.next(11) {
        case 0:
            let verbs: [JobVerb] = [.start, .stop, .restart, .reloadOrRestart, .tryRestart]
            let request = ControlRequest.job(verbs[draws.next(verbs.count)], units: [names[draws.next(names.count)]],
                                             noBlock: draws.next(2) == 0)
            shell.send(.control(call, request, realtime: 0))
            return true
        case 1, 2:
            guard !pids.isEmpty else { break }
            let statuses: [SwatchCore.ExitStatus] = [.exited(0), .exited(1), .signaled(9, coreDumped: false),
                                                     .signaled(15, coreDumped: false)]
            shell.exit(pids[draws.next(pids.count)], statuses[draws.next(statuses.count)])
        case 3:
            guard !pids.isEmpty else { break }
            let pid = pids[draws.next(pids.count)]
            guard let unit = shell.manager.owner(ofPID: pid) else { break }
            let message = messages[draws.next(messages.count)]
            shell.send(.notify(unit, pid: pid, NotifyMessage(text: message[...]), fdCount: 0, inService: true))
        case 4:
            let sockets = ["web.socket", "echo.socket", "cmd.socket"]
            let socket = sockets[draws.next(sockets.count)]
            shell.send(.listenerReadable(UnitName(parsing: socket)!, listener: socket == "echo.socket" ? draws.next(2) : 0))
            // A connection accepted in the same wake-up as whatever came just before.
            if draws.next(4) == 0 {
                shell.nextConnection += 1
                shell.connections.insert(shell.nextConnection)
                shell.send(.connectionsAccepted(UnitName(parsing: "echo.socket")!, [AcceptedConnectionInfo(
                    id: shell.nextConnection, remoteAddress: "127.0.0.1", remotePort: 40000)]))
            }
        case 5:
            shell.advance(Double(draws.next(3000)) / 1000)
            if let due = shell.manager.nextDeadline(), due <= shell.now { shell.send(.timer) }
        case 6:
            if shell.manager.nextDeadline() != nil { shell.fireTimer() }
        case 7:
            shell.send(.reload(ScriptedShell.units(units), call: call))
            return true
        case 8:
            // daemon-reexec, when the Manager takes it: a new one from the state handed over.
            guard case .success(let state) = shell.manager.reexecState() else { break }
            var next = ScriptedShell([:])
            (next.now, next.nextPID, next.connections, next.nextConnection) = (shell.now, shell.nextPID, shell.connections, shell.nextConnection)
            (next.failingSpawn, next.failingBinds) = (shell.failingSpawn, shell.failingBinds)
            _ = next.take()
            next.send(.restore(ScriptedShell.units(units), state, call: nil))
            shell = next
        case 9:
            // The port is taken by someone else, or free again: the next bind (a restart, a reload) finds out.
            if shell.failingBinds.remove("web.socket") == nil { shell.failingBinds.insert("web.socket") }
        default:
            // What a user asks while all this goes on: the answers are made from every state.
            let unit = names[draws.next(names.count)]
            let requests: [ControlRequest] = [.resetFailed(unit: nil), .status(units: []), .show(units: [unit]),
                                              .listUnits, .listSockets, .listJobs, .kill(units: [unit], signal: 1)]
            shell.send(.control(call, requests[draws.next(requests.count)], realtime: 0))
            return true
        }
        return false
    }

    @Test(arguments: 0..<100)
    func aRandomRunStillEndsWithEveryConnectionClosed(seed: Int) {
        var draws = Draws(state: UInt64(seed))
        var shell = ScriptedShell(Self.units)
        // About one spawn in eleven fails, as a program that is not there.
        shell.failingSpawn = { _, pid in (Int(pid) &* 7919 &+ seed) % 11 == 0 }
        var serial: UInt64 = 1
        var asked: Set<UInt64> = [], answers: [UInt64: Int] = [:]
        func call() -> ControlServer.ConnectionID {
            serial += 1
            return ControlServer.ConnectionID(fd: 9, serial: serial)
        }
        func take() -> [ManagerAction] {
            let actions = shell.take()
            for case .reply(let id, _) in actions { answers[id.serial, default: 0] += 1 }
            return actions
        }
        /// The processes `actions` signal (all of them, or those sent SIGKILL).
        func signalled(by actions: [ManagerAction], onlySIGKILL: Bool) -> [Int32] {
            var pids: Set<Int32> = []
            for case .kill(let unit, let order) in actions where !onlySIGKILL || order.signal == 9 {
                pids.formUnion([order.main, order.control].compactMap { $0 })
                if order.group { pids.formUnion(shell.manager.pidOwners.filter { $0.value == unit }.map(\.key)) }
            }
            return pids.filter { shell.manager.owner(ofPID: $0) != nil }.sorted()
        }
        /// What the last events did, after the processes sent SIGKILL ended: a process may
        /// ignore SIGTERM, but not that.
        func settle() -> [ManagerAction] {
            var all: [ManagerAction] = []
            var actions = take()
            while true {
                all += actions
                let killed = signalled(by: actions, onlySIGKILL: true)
                if killed.isEmpty { return all }
                for pid in killed { shell.exit(pid, .signaled(9, coreDumped: false)) }
                actions = take()
            }
        }
        for _ in 0..<150 {
            if Self.happen(&draws, to: &shell, call: call()) { asked.insert(serial) }
            _ = settle()
        }

        // Only what is signalled ends (as a real process that obeys SIGTERM): a unit nobody
        // stops keeps the Manager from its exit, and this loop from its end.
        shell.send(.shutdown)
        var actions = settle()
        var exited = false
        for _ in 0..<100 {
            exited = actions.contains { if case .exit = $0 { true } else { false } }
            if exited { break }
            let ending = signalled(by: actions, onlySIGKILL: false)
            // Requests, connections and reloads still come; what waits for a deadline gets it.
            if draws.next(2) == 0, Self.happen(&draws, to: &shell, call: call(), crashes: false) { asked.insert(serial) }
            actions = settle()
            for pid in ending where shell.manager.owner(ofPID: pid) != nil {
                shell.exit(pid, .signaled(15, coreDumped: false))
            }
            actions += settle()
            if shell.manager.nextDeadline() != nil { shell.fireTimer() }
            actions += settle()
        }
        #expect(exited, "seed \(seed): no exit; still up: \(shell.manager.stillUp.sorted()), jobs: \(shell.manager.jobsInOrder.map { "\($0.unit)/\($0.kind)" })")
        #expect(shell.connections.isEmpty, "seed \(seed): connections left open: \(shell.connections.sorted())")
        let echo = shell.manager.sockets[UnitName(parsing: "echo.socket")!]
        #expect(echo?.instances == 0 && echo?.sources.isEmpty == true,
                "seed \(seed): instances counted after every one ended: \(echo?.instances ?? -1), \(echo?.sources ?? [:])")
        // The failed instances kept are those the socket lists, no more than MaxConnections= of them.
        let kept = Set(shell.manager.services.filter { $0.value.keptFailed }.keys)
        #expect(Set(echo?.failedInstances ?? []) == kept && kept.count <= (echo?.machine.unit.maxConnections ?? 0),
                "seed \(seed): failed instances kept \(kept.sorted()), listed \(echo?.failedInstances ?? [])")
        #expect(shell.manager.pidOwners.isEmpty, "seed \(seed): processes still owned: \(shell.manager.pidOwners)")
        let unanswered = asked.filter { answers[$0] != 1 }.sorted()
        #expect(unanswered.isEmpty, "seed \(seed): requests not answered once: \(unanswered.map { "\($0): \(answers[$0] ?? 0)" })")
    }
}
