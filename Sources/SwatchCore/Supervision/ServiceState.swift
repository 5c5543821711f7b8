/// The states of a service, systemd's (src/core/service.h, ServiceState) less
/// the ones swatchd has no use for (reload-signal/-notify, mounting,
/// final-watchdog, the *-before-auto-restart and auto-restart-queued steps,
/// dead-resources-pinned, cleaning). `SubState=` is the raw value; the
/// machine keeps a richer `ServiceMachine.Phase` and reports this.
package enum ServiceState: String, Hashable, Sendable {
    case dead
    case condition
    case startPre = "start-pre"
    case start
    case startPost = "start-post"
    case running
    case exited
    case reload
    case stop
    case stopWatchdog = "stop-watchdog"
    case stopSigterm = "stop-sigterm"
    case stopSigkill = "stop-sigkill"
    case stopPost = "stop-post"
    case finalSigterm = "final-sigterm"
    case finalSigkill = "final-sigkill"
    case failed
    case autoRestart = "auto-restart"

    /// `ActiveState=` of systemctl show.
    package var activeState: UnitActiveState {
        switch self {
        case .dead: return .inactive
        case .condition, .startPre, .start, .startPost, .autoRestart: return .activating
        case .running, .exited: return .active
        case .reload: return .reloading
        case .stop, .stopWatchdog, .stopSigterm, .stopSigkill, .stopPost, .finalSigterm, .finalSigkill:
            return .deactivating
        case .failed: return .failed
        }
    }
}
