import Logging

/// What the state machine asks the supervisor to do. The supervisor applies
/// these and decides nothing (Sources/SwatchCore/Supervisor.swift, `apply`).
/// Public, with ExecRole and KillTarget, only because SocketMachine's package
/// methods return it.
package enum ServiceAction: Hashable, Sendable {
    /// Spawn this command; answer with `spawned(_:role:now:)` or `spawnFailed(_:role:now:)`.
    case spawn(ExecRole)
    /// Resolved against the machine's `mainPID`/`controlPID` when applied,
    /// that is after the transition that asked for it.
    case signal(KillTarget, Int32)
    /// Type=forking: find the daemon's pid (PIDFile=, else the single process
    /// left); answer with `mainPIDDiscovered(_:now:)`.
    case discoverMainPID
    /// Drop the stored fds: the unit stopped for good (not for a restart).
    case releaseFileDescriptorStore
    /// The stop is over, whatever follows (service_enter_dead(), src/core/service.c): what
    /// the run made for itself goes, its private /tmp and, unless preserved, its runtime directories.
    case releaseRuntime
    /// A start that ran no process (a Type=oneshot without ExecStart=) ended within the event
    /// that began it: the unit was activating in between, and what depends on its going down
    /// (SuccessAction=, OnSuccess=, BindsTo=) must see that. systemd's service_enter_start()
    /// forces the same state change for it (src/core/service.c).
    case passedThroughStart
    /// Test the unit's Condition…=/Assert…= now; answer with `conditionsTested(failure:now:)`.
    case testConditions
    case log(Logger.Level, String)
}
