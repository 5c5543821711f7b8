/// Why a service last stopped, with systemd's names (`Result=` in `systemctl show`).
package enum ServiceResult: String, Hashable, Sendable {
    case success
    case exitCode = "exit-code"
    case signal
    case coreDump = "core-dump"
    case timeout
    case watchdog
    case startLimitHit = "start-limit-hit"
    /// Spawning failed (missing executable, a sandbox setting that cannot be applied, ...).
    case resources
    /// Type=notify exited before READY=1, or Type=forking left no main process.
    case `protocol`
    /// An ExecCondition= command exited 1–254: the start was skipped, nothing failed.
    case execCondition = "exec-condition"
}

extension ServiceResult {
    /// The result of a main or control process that ended with `status`,
    /// per systemd.service(5): exit 0, SIGHUP, SIGINT, SIGTERM and SIGPIPE are
    /// clean, as is anything in SuccessExitStatus=.
    static func of(_ status: ExitStatus, success: ExitStatusSet) -> ServiceResult {
        switch status {
        case .exited(let code):
            return code == 0 || success.statuses.contains(code) ? .success : .exitCode
        case .signaled(let signal, let core):
            if [1, 2, 15, 13].contains(signal) || success.signals.contains(signal) { return .success }
            return core ? .coreDump : .signal
        }
    }
}

extension ExitStatusSet {
    /// Whether `status` is in the set (exit codes or signals), as systemd's exit_status_set_test().
    func contains(_ status: ExitStatus) -> Bool {
        switch status {
        case .exited(let code): return statuses.contains(code)
        case .signaled(let signal, _): return signals.contains(signal)
        }
    }
}
