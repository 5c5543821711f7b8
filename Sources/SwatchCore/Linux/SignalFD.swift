import CSwatch
import Glibc
import SystemPackage

/// The signals of the daemon as an fd the event loop reads (docs/HACKING.md "Layout"): the
/// signals are blocked and then collected by `signalfd(2)`, so no handler ever
/// runs and no state is shared with one (tini's "Block all signals that are
/// meant to be collected by the main loop").
///
/// Create it in `main` before any other thread starts: blocking is per thread,
/// and a process-directed signal (SIGCHLD, a `kill` to swatchd) goes to any
/// thread that does not block it — where SIGCHLD's default action discards it.
/// Children do not inherit the mask: the spawner resets it.
package final class SignalFD {
    /// What swatchd's loop handles: children (SIGCHLD), stop (SIGTERM, SIGINT), reload (SIGHUP).
    package static let supervisedSignals: [CInt] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP]

    /// The other signals whose default action would end swatchd (signal(7): "Term" and
    /// "Core"), read here so that a stray `kill -USR1` does not, plus SIGWINCH; with
    /// `--exit-with` they go on to that service's main process, as tini forwards them
    /// (tini's src/tini.c, `default_signals` lists what it leaves alone). Not the
    /// synchronous ones a fault raises in swatchd itself (SIGSEGV, SIGBUS, SIGFPE,
    /// SIGILL, SIGABRT, SIGTRAP, SIGSYS): blocked, they would not stop a crash but hide
    /// it. SIGPIPE stays ignored (`ignoreBrokenPipe`). The real-time signals glibc
    /// leaves to programs (SIGRTMIN..SIGRTMAX, 34..64) end a process too.
    package static let forwardedSignals: [CInt] = {
        var signals: [CInt] = [SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
                               SIGIO, SIGPWR, SIGWINCH]
        signals += Array(CInt(__libc_current_sigrtmin())...CInt(__libc_current_sigrtmax()))
        return signals
    }()

    /// One received signal (`struct signalfd_siginfo`).
    package struct Info: Hashable, Sendable {
        package var signal: CInt
        /// `ssi_code`: for SIGCHLD, CLD_EXITED, CLD_KILLED, ...
        package var code: CInt
        /// The sender: for SIGCHLD the child, for `kill` the killer.
        package var senderPID: pid_t
        package var senderUID: uid_t
        /// For SIGCHLD: the exit code or signal number.
        package var status: CInt
    }

    /// The signalfd, owned by this object and closed by `deinit` (the signals stay blocked).
    package let fd: FileDescriptor
    package let signals: [CInt]

    /// Blocks `signals` in the calling thread (`pthread_sigmask(SIG_BLOCK)`) and
    /// opens a non-blocking signalfd for them (`signalfd(SFD_CLOEXEC|SFD_NONBLOCK)`).
    package init(signals: [CInt] = SignalFD.supervisedSignals) throws(Errno) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        try throwingErrno(pthread_sigmask(SIG_BLOCK, &set, nil))
        self.signals = signals
        fd = FileDescriptor(rawValue: try retryingOnInterrupt {
            signalfd(-1, &set, CInt(SFD_CLOEXEC | SFD_NONBLOCK))
        })
    }

    deinit { fd.closeIgnoringErrors() }

    /// Reads every pending signal; empty when none is pending.
    /// The corresponding C function is `read` on the signalfd.
    package func read() throws(Errno) -> [Info] {
        var infos: [Info] = []
        var buffer = [signalfd_siginfo](repeating: signalfd_siginfo(), count: 16)
        let size = MemoryLayout<signalfd_siginfo>.stride
        while true {
            let count: Int
            do {
                count = try retryingOnInterrupt { () -> Int in
                    buffer.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
                }
            } catch .wouldBlock {
                return infos
            }
            for index in 0..<(count / size) {
                let raw = buffer[index]
                infos.append(Info(
                    signal: CInt(raw.ssi_signo), code: raw.ssi_code, senderPID: pid_t(raw.ssi_pid),
                    senderUID: uid_t(raw.ssi_uid), status: raw.ssi_status
                ))
            }
            if count < buffer.count * size { return infos }
        }
    }

    /// Every ignored signal back to its default disposition, as systemd resets its
    /// signals first thing (reset_all_signal_handlers(), src/basic/signal-util.c): an
    /// ignored signal survives execve (signal(7)), so swatchd gets whatever its parent
    /// ignored. Its services would inherit those — and an ignored SIGCHLD has the kernel
    /// reap swatchd's children itself, with no SIGCHLD and nothing left for wait(2)
    /// (sigaction(2) and wait(2) on SIGCHLD set to SIG_IGN): swatchd would never see a
    /// service end. Only SIG_IGN: a handler does not survive execve, so any there is was
    /// set in this process (the crash handlers of the Swift runtime's backtracer, in the
    /// debug build), and stays. Call it before anything ignores a signal of its own.
    package static func resetInheritedDispositions() {
        _ = swatch_reset_ignored_signals()
    }

    /// Ignores SIGPIPE in the daemon: a client that hangs up must cost an
    /// EPIPE, not swatchd's life. The spawner resets it for children.
    package static func ignoreBrokenPipe() {
        _ = swatch_ignore_signal(SIGPIPE)
    }
}
