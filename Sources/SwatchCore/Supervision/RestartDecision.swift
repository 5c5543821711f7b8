import Glibc

/// Restart= as systemd.service(5)'s table has it, and the delay before the
/// next start with RestartSteps= (src/core/service.c, service_restart_usec()).
extension RestartPolicy {
    /// Whether a service that ended with `result` restarts under this policy:
    ///
    /// | cause            | no | always | on-success | on-failure | on-abnormal | on-abort | on-watchdog |
    /// |------------------|----|--------|------------|------------|-------------|----------|-------------|
    /// | clean exit       |    |   x    |     x      |            |             |          |             |
    /// | unclean exit code|    |   x    |            |     x      |             |          |             |
    /// | unclean signal   |    |   x    |            |     x      |      x      |    x     |             |
    /// | timeout          |    |   x    |            |     x      |      x      |          |             |
    /// | watchdog         |    |   x    |            |     x      |      x      |          |      x      |
    package func restarts(after result: ServiceResult) -> Bool {
        switch self {
        case .no: return false
        case .always: return true
        case .onSuccess: return result == .success
        case .onFailure: return result != .success
        case .onAbnormal: return ![.success, .exitCode].contains(result)
        case .onAbort: return [.signal, .coreDump].contains(result)
        case .onWatchdog: return result == .watchdog
        }
    }
}

extension ServiceUnit {
    /// systemd's service_shall_restart(): a manual stop, the start limit and
    /// a start skipped by ExecCondition= forbid, RestartPreventExitStatus= forbids, RestartForceExitStatus=
    /// forces, then the table.
    func shallRestart(result: ServiceResult, mainExit: ExitStatus?, forbidden: Bool) -> Bool {
        if forbidden || result == .startLimitHit || result == .execCondition { return false }
        if let mainExit {
            if self.restartPreventExitStatus.contains(mainExit) { return false }
            if self.restartForceExitStatus.contains(mainExit) { return true }
        }
        return self.restart.restarts(after: result)
    }

    /// The delay before restart number `attempt` (0-based): RestartSec=, or
    /// with RestartSteps= an exponential climb from RestartSec= to
    /// RestartMaxDelaySec= in that many steps.
    package func restartDelay(attempt: Int) -> TimeSpan {
        guard self.restartSteps > 0, !self.restartMaxDelay.isInfinite, self.restartMaxDelay > self.restartSec,
              self.restartSec.microseconds > 0 else { return self.restartSec }
        let step = Double(min(attempt, self.restartSteps)) / Double(self.restartSteps)
        let base = Double(self.restartSec.microseconds)
        let ratio = Double(self.restartMaxDelay.microseconds) / base
        return TimeSpan(microseconds: UInt64(base * pow(ratio, step)))
    }
}
