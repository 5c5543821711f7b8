import Logging

/// What happened, as the Manager hears it: a kernel event the shell turned
/// into facts, or the answer to a question the Manager asked (an action).
package enum ManagerEvent {
    /// The unit files at start-up: bind the sockets, make the services' machines.
    case load(UnitSet)
    /// Start-up is complete (control socket up): start the services no socket triggers.
    case startUntriggeredServices
    /// A watched listener of this socket unit is readable: the listener's index among the
    /// unit's, in the order of its `Listen…=` lines.
    case listenerReadable(UnitName, listener: Int = 0)
    /// The answer to `.accept`: the connections now held by the shell.
    case connectionsAccepted(UnitName, [AcceptedConnectionInfo])
    /// After `.connectionsAccepted` or an instance's `.spawnFailed`: accept(2) or the spawn
    /// failed for want of resources (EMFILE, ENFILE, …): Manager+AcceptFailure.swift.
    case acceptFailed(UnitName, any Error)
    /// The answer to `.bind`.
    case socketBound(UnitName, warnings: [String])
    case socketBindFailed(UnitName, any Error)
    /// The answer to `.rebind`: the listeners now match `unit`; `listenersChanged` when any was bound anew or closed.
    indirect case socketRebound(UnitName, unit: SocketUnit, listenersChanged: Bool)
    case socketRebindFailed(UnitName, any Error)
    /// The answer to `.testConditions`: the condition, else the assertion, that does not hold.
    case conditionsTested(UnitName, failure: UnitCondition?)
    /// The answer to `.spawn`.
    case spawned(UnitName, ExecRole, pid: Int32)
    case spawnFailed(UnitName, ExecRole, any Error)
    /// A child was reaped. `groupEmpty`: no process of its unit is left.
    case processExited(pid: Int32, status: ExitStatus, groupEmpty: Bool)
    /// Orphans reaped emptied a group that a stop waits for (`servicesWaitingForGroup`).
    case groupEmptied(UnitName)
    /// The answer to `.discoverMainPID`.
    case mainPIDDiscovered(UnitName, Int32?)
    /// An sd_notify datagram from `pid` of `unit` with `fdCount` fds attached.
    /// `inService`: the pid is one of the unit's processes (for NotifyAccess=all).
    case notify(UnitName, pid: Int32, NotifyMessage, fdCount: Int, inService: Bool)
    /// A stored fd watched for hang-ups reported EPOLLHUP or EPOLLERR; `index` is its
    /// place in the unit's store, in the order stored.
    case storedFDHungUp(UnitName, index: Int)
    /// The timer reached `nextDeadline()`.
    case timer
    /// A control request; `realtime` is CLOCK_REALTIME in µs now, for `since …`.
    case control(ControlServer.ConnectionID, ControlRequest, realtime: UInt64)
    /// daemon-reload (SIGHUP, or a control request to answer when done) with the unit files read anew.
    case reload(UnitSet, call: ControlServer.ConnectionID?)
    /// `swatchd run --watch`: a watched file changed.
    case restartRunningServices(reason: String)
    /// The answer to `.countConnections`: the connections the service's sockets have handed out.
    case connectionsCounted(UnitName, Int)
    /// The answer to `.moveProcesses`.
    case processesMoved(UnitName, ok: Bool)
    /// The group of a handover's old processes has none left (`Manager.retiredGroups`).
    case retiredGroupEmptied(UnitName)
    /// A re-executed swatchd takes over what the old one carried across the execve.
    indirect case restore(UnitSet, Manager.ReexecState, call: ControlServer.ConnectionID?)
    /// After a re-exec whose state was lost: these services run, with these main processes.
    case adoptRunning([(UnitName, Int32)])
    /// SIGTERM/SIGINT.
    case shutdown
}

/// What the shell is to do. Each names the unit it is for.
package enum ManagerAction {
    /// Test the socket unit's conditions, then bind — or just bind: answer `.socketBound`/`.socketBindFailed`.
    indirect case bind(UnitName, SocketUnit)
    /// Keep each listener whose address and options are unchanged, bind the rest anew, close
    /// what is no longer wanted; all or nothing. Answer `.socketRebound`/`.socketRebindFailed`.
    indirect case rebind(UnitName, SocketUnit)
    case closeListeners(UnitName, removeOnStop: Bool)
    case watch(UnitName)
    case unwatch(UnitName)
    /// FlushPending=: take the pending connections of the listeners and close them, then read
    /// and drop their pending data (the Manager watches them again right after).
    case flushListeners(UnitName)
    /// Accept the pending connection of this listener of an Accept=yes socket: answer
    /// `.connectionsAccepted`.
    case accept(UnitName, listener: Int)
    /// PollLimitBurst= was reached on this listener: out of epoll until `.resumeListener`, and
    /// left out when the unit's listeners are watched again meanwhile.
    case pauseListener(UnitName, Int)
    /// The listener's poll limit interval ended: watched again if the unit's listeners are.
    case resumeListener(UnitName, Int)
    case closeConnection(Int)
    /// Test these Condition…=/Assert…= on this machine: answer `.conditionsTested`.
    case testConditions(UnitName, [UnitCondition])
    /// Start a process: answer `.spawned` or `.spawnFailed`.
    indirect case spawn(SpawnOrder)
    case kill(UnitName, KillOrder)
    /// Type=forking: the PID file, else the single process left: answer `.mainPIDDiscovered`.
    case discoverMainPID(UnitName, pidFile: String?)
    /// Of the fds of the notification being handled, keep the first `count` under `name`; close the rest.
    /// `poll`: watch each for a hang-up (FDPOLL=, sd_notify(3)): answer `.storedFDHungUp`.
    case storeFDs(UnitName, name: String, count: Int, poll: Bool)
    /// A stored fd hung up: close the one at this place of the unit's store.
    case dropStoredFD(UnitName, index: Int)
    case removeStoredFDs(UnitName, name: String)
    case closeStoredFDs(UnitName)
    /// The unit is inactive: give back what its start took (its cgroup if empty, its sandbox);
    /// its RuntimeDirectory= too when `runtimeDirectories` (RuntimeDirectoryPreserve= not yes).
    case releaseResources(UnitName, runtimeDirectories: Bool)
    /// A stop of the unit is over, and it may start again at once: its private /tmp goes, and
    /// its RuntimeDirectory= when `runtimeDirectories` (RuntimeDirectoryPreserve=no).
    case releaseRuntime(UnitName, runtimeDirectories: Bool)
    /// Count the connections these sockets' listeners handed out that are still open
    /// (sock_diag(7)): answer `.connectionsCounted`.
    case countConnections(UnitName, sockets: [UnitName])
    /// Move every process of one group into another (created if needed): answer `.processesMoved`.
    case moveProcesses(UnitName, from: String, to: String)
    /// Signal every process of a group that is not a unit's own (a handover's old processes).
    case signalGroup(String, signal: Int32)
    /// Remove such a group once it is empty.
    case removeGroup(String)
    /// The service failed (or waits to restart after a failure): where a person
    /// watches (`swatchd run`), show the last lines it wrote.
    case serviceFailed(UnitName)
    /// `daemon-reexec`: keep the fds open across an execve of swatchd and hand it this state;
    /// the new process answers `call`.
    indirect case reexec(call: ControlServer.ConnectionID, Manager.ReexecState)
    /// Read the unit files anew: answer `.reload`.
    case loadUnitFiles(call: ControlServer.ConnectionID?)
    /// Answer a control request (the shell completes reports with what only it can read).
    case reply(ControlServer.ConnectionID, ControlAnswer)
    case log(unit: UnitName?, Logger.Level, String)
    /// Shutdown is complete: close what is left and end the loop; swatchd exits with `status`.
    case exit(status: Int32)
}

/// One process to start, with everything the Manager decides about it. The
/// shell adds what only it can read (EnvironmentFile=, users, the sandbox)
/// and composes the environment with `ServiceEnvironment`.
package struct SpawnOrder {
    package var unit: UnitName
    package var service: ServiceUnit
    package var role: ExecRole
    package var command: ExecCommand
    package var invocationID: String
    /// Main process: the listeners of these socket units, in order, from fd 3 on…
    package var sockets: [UnitName] = []
    /// …then the connection (Accept=yes, unless it is on stdin)…
    package var connectionAsFD: Int?
    /// …then the stored fds, then the files of OpenFile= (`service.openFiles`), which the shell opens.
    package var passesStoredFDs = false
    /// StandardInput=socket: the connection on 0 (and 1, 2 by default).
    package var connectionOnStdin: Int?
    /// StandardInput=/StandardOutput=/StandardError= `fd:NAME`: for 0, 1, 2, the index among
    /// the fds passed from 3 on of the first one named NAME; nil when none is (the start fails).
    package var namedStandardFDs: [Int?] = [nil, nil, nil]
    /// Set after the unit's own variables, in this order (sd_listen_fds(3), sd_notify(3), systemd.exec(5)).
    package var protocolVariables: [(String, String)] = []
    /// LISTEN_PID / WATCHDOG_PID are the child's own pid: written in the child.
    package var listenPID = false
    package var watchdogPID = false

    package var isMain: Bool { role.phase == .start }

    /// sd_listen_fds(3)'s LISTEN_FDS and LISTEN_FDNAMES for the fds passed from 3 on, by name.
    static func listenVariables(_ names: [String]) -> [(String, String)] {
        [("LISTEN_FDS", String(names.count)), ("LISTEN_FDNAMES", names.joined(separator: ":"))]
    }

    /// Delegate=: the subgroup of the service's group this process starts in (nil: the group
    /// itself), as systemd's exec_params_get_cgroup_path() (src/core/execute.c) chooses. The
    /// main process: DelegateSubgroup='s, if set. A service's commands that run beside or after
    /// it (EXEC_CONTROL_CGROUP in src/core/service.c): ".control", where the service may have
    /// made its own group unusable for processes by enabling controllers below it; the others
    /// (ExecCondition=, ExecStartPre=, a socket's commands, which run beside no main process)
    /// stay in the group, still empty then, unless DelegateSubgroup= is set.
    package var delegatedSubgroup: String? {
        let sandbox = service.sandbox
        guard sandbox.delegate else { return nil }
        if isMain { return sandbox.delegateSubgroup }
        let besideMain: Bool
        switch role.phase {
        case .startPost, .reload, .stop, .stopPost: besideMain = unit.type == .service
        case .condition, .startPre, .start, .stopPre: besideMain = false
        }
        return besideMain || sandbox.delegateSubgroup != nil ? ".control" : nil
    }
}

/// What a control request is answered with.
package enum ControlAnswer {
    case response(ControlResponse)
    /// Status reports for the shell to complete (processes, memory, the last `logLines` log lines) and then send.
    case reports([UnitStatusReport], ControlResponse, logLines: Int = ControlRequest.defaultStatusLines)
    /// `logs [UNIT...]`: the shell reads the units' log buffers (every unit's without one).
    case logs(units: [String], lines: Int, follow: Bool)
}
