/// systemd's renderings of how a process ended (the enum is the Linux layer's, Linux/Reaper.swift).
extension ExitStatus {
    /// `EXIT_CODE=` for ExecStopPost= (exited, killed, dumped).
    package var code: String {
        switch self {
        case .exited: return "exited"
        case .signaled(_, let core): return core ? "dumped" : "killed"
        }
    }

    /// `EXIT_STATUS=`: the number, or the signal's name without SIG.
    package var status: String {
        switch self {
        case .exited(let n): return String(n)
        case .signaled(let s, _): return SignalName.shortName(s)
        }
    }
}
