import CSwatch
import Glibc
import SystemPackage

/// How a process ended, as waitpid(2) reports it.
package enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    /// `exit(code)`: systemd's `code=exited, status=N`.
    case exited(Int32)
    /// Killed by a signal: `code=killed` / `code=dumped, status=SIGNAL`.
    case signaled(Int32, coreDumped: Bool)

    /// Decodes a wait status (the WIFEXITED/WTERMSIG macros, which Swift cannot import).
    package init(waitStatus status: CInt) {
        let signal = status & 0x7f
        if signal == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .signaled(signal, coreDumped: status & 0x80 != 0)
        }
    }

    /// `status=0/SUCCESS`-like text for logs: `exited 1`, `killed by signal 9`.
    package var description: String {
        switch self {
        case .exited(let code): return "exited \(code)"
        case .signaled(let signal, let core): return "killed by signal \(signal)\(core ? " (core dumped)" : "")"
        }
    }
}

/// Collects ended children — the services, and as child subreaper the
/// orphans they leave (s6-svscan: "reaps every child"). Call it on every
/// SIGCHLD: signals coalesce, so one SIGCHLD may stand for many exits.
package enum Reaper {
    /// Every child that has ended since the last call, without blocking.
    /// The corresponding C function is `waitpid(-1, WNOHANG)`.
    package static func reapAny() -> [(pid: pid_t, status: ExitStatus)] {
        var reaped: [(pid: pid_t, status: ExitStatus)] = []
        while true {
            var status: CInt = 0
            let pid: pid_t
            do {
                pid = try retryingOnInterrupt { waitpid(-1, &status, WNOHANG) }
            } catch {
                // ECHILD: no children at all. Nothing else is possible for these arguments.
                return reaped
            }
            if pid == 0 { return reaped }
            reaped.append((pid, ExitStatus(waitStatus: status)))
        }
    }

    /// Waits for one child to end (blocking), for tests and for the shim's
    /// failure path. The corresponding C function is `waitpid(pid, 0)`.
    package static func wait(for pid: pid_t) throws(Errno) -> ExitStatus {
        var status: CInt = 0
        _ = try retryingOnInterrupt { waitpid(pid, &status, 0) }
        return ExitStatus(waitStatus: status)
    }

    /// Reaps `pid` if it has ended, without blocking; nil while it runs.
    package static func poll(_ pid: pid_t) throws(Errno) -> ExitStatus? {
        var status: CInt = 0
        let result = try retryingOnInterrupt { waitpid(pid, &status, WNOHANG) }
        return result == 0 ? nil : ExitStatus(waitStatus: status)
    }

    /// Sends `signal` to `pid`; false when the process is already gone (ESRCH
    /// is not an error for a supervisor: the exit is on its way through SIGCHLD).
    /// The corresponding C function is `kill`.
    @discardableResult
    package static func kill(_ pid: pid_t, signal: CInt) throws(Errno) -> Bool {
        precondition(pid > 0, "swatchd bug: kill(\(pid)) would signal a process group or everyone")
        do {
            _ = try retryingOnInterrupt { Glibc.kill(pid, signal) }
            return true
        } catch .noSuchProcess {
            return false
        }
    }
}
