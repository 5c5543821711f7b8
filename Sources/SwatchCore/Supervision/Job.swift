/// A job: what is to happen to one unit, as systemd's (src/core/job.h), of
/// the types swatchd has. A unit has at most one job; a second request for
/// it merges into the first or replaces it (`Job.merge`).
package struct Job: Hashable, Sendable {
    package enum Kind: String, Hashable, Sendable, CaseIterable {
        case start
        case stop
        case restart
        case reload
        /// Requisite=: the unit must be active already; nothing is started.
        case verifyActive = "verify-active"
    }

    /// How a job ended (JobResult in src/core/job.h); only `done` and `skipped` are success.
    package enum Result: String, Hashable, Sendable {
        case done, canceled, timeout, failed, dependency, skipped, invalid, assert, unsupported

        package var isSuccess: Bool { self == .done || self == .skipped }
    }

    package enum State: String, Hashable, Sendable {
        /// Waiting for the jobs it is ordered after (After=/Before=).
        case waiting
        case running
    }

    package var id: Int
    package var unit: UnitName
    package var kind: Kind
    package var state: State = .waiting
    /// Whether a control request asked for it, rather than a dependency pulling it in.
    package var isAnchor = false

    /// The job a unit gets when `new` is requested while it has `self`
    /// (job_type_merge_and_collapse(), src/core/job.c): nil when they merge
    /// into `self` as it is; otherwise the kind the replacing job has. A start
    /// and a stop do not merge: the newer one replaces the older, which ends
    /// `canceled`.
    func merged(with new: Kind) -> Kind? {
        switch (kind, new) {
        case (.start, .start), (.start, .verifyActive), (.restart, .start), (.restart, .verifyActive),
             (.restart, .restart), (.stop, .stop), (.reload, .reload), (.reload, .verifyActive),
             (.verifyActive, .verifyActive):
            return nil
        case (.start, .restart), (.reload, .restart), (.reload, .start), (.start, .reload), (.restart, .reload):
            // A reload of a unit being started is its start; a restart takes the others in.
            return new == .reload ? nil : .restart
        case (.verifyActive, .start), (.verifyActive, .restart), (.verifyActive, .reload):
            return new
        case (.stop, .start), (.stop, .restart), (.stop, .reload), (.stop, .verifyActive),
             (.start, .stop), (.restart, .stop), (.reload, .stop), (.verifyActive, .stop):
            return new
        }
    }
}

/// What `swatchctl` says for a job that did not succeed (systemctl's
/// check_wait_response(), src/shared/bus-wait-for-jobs.c, with `swatchctl`
/// in the hints).
enum JobFailureMessage {
    static func text(unit: UnitName, result: Job.Result, serviceResult: ServiceResult?) -> String? {
        let name = unit.description
        switch result {
        case .done, .skipped: return nil
        case .canceled: return "Job for \(name) canceled."
        case .timeout: return "Job for \(name) timed out."
        case .dependency: return "A dependency job for \(name) failed. See 'swatchctl logs \(name)' for details."
        case .invalid: return "\(name) is not active, cannot reload."
        case .assert: return "Assertion failed on job for \(name)."
        case .unsupported: return "Job type reload is not applicable for unit \(name)."
        case .failed:
            let hint = "See \"swatchctl status \(name)\" and \"swatchctl logs \(name)\" for details."
            guard let explanation = serviceResult.flatMap(explanation) else { return "Job for \(name) failed.\n" + hint }
            var text = "Job for \(name) failed because \(explanation).\n" + hint
            if serviceResult == .startLimitHit {
                text += "\nTo force a start use \"swatchctl reset-failed \(name)\"\nfollowed by \"swatchctl start \(name)\" again."
            }
            return text
        }
    }

    private static func explanation(_ result: ServiceResult) -> String? {
        switch result {
        case .resources: return "of unavailable resources or another system error"
        case .protocol: return "the service did not take the steps required by its unit configuration"
        case .timeout: return "a timeout was exceeded"
        case .exitCode: return "the control process exited with error code"
        case .signal: return "a fatal signal was delivered to the control process"
        case .coreDump: return "a fatal signal was delivered causing the control process to dump core"
        case .watchdog: return "the service failed to send watchdog ping"
        case .startLimitHit: return "start of the service was attempted too often"
        case .success, .execCondition: return nil
        }
    }
}
