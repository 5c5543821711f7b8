/// systemd's renderings of how a process ended (the enum is the Linux layer's, Linux/Reaper.swift).
extension ExitStatus {
    /// `EXIT_CODE=` for ExecStopPost= (exited, killed, dumped).
    public var code: String {
        switch self {
        case .exited: return "exited"
        case .signaled(_, let core): return core ? "dumped" : "killed"
        }
    }

    /// `EXIT_STATUS=`: the number, or the signal's name without SIG.
    public var status: String {
        switch self {
        case .exited(let n): return String(n)
        case .signaled(let s, _): return SignalNames.name(of: s).map { String($0.dropFirst(3)) } ?? String(s)
        }
    }
}

/// Signal numbers and names of Linux (x86-64 and the generic ABI agree on these).
public enum SignalNames {
    public static let table: [(String, Int32)] = [
        ("SIGHUP", 1), ("SIGINT", 2), ("SIGQUIT", 3), ("SIGILL", 4), ("SIGTRAP", 5), ("SIGABRT", 6),
        ("SIGBUS", 7), ("SIGFPE", 8), ("SIGKILL", 9), ("SIGUSR1", 10), ("SIGSEGV", 11), ("SIGUSR2", 12),
        ("SIGPIPE", 13), ("SIGALRM", 14), ("SIGTERM", 15), ("SIGSTKFLT", 16), ("SIGCHLD", 17),
        ("SIGCONT", 18), ("SIGSTOP", 19), ("SIGTSTP", 20), ("SIGTTIN", 21), ("SIGTTOU", 22), ("SIGURG", 23),
        ("SIGXCPU", 24), ("SIGXFSZ", 25), ("SIGVTALRM", 26), ("SIGPROF", 27), ("SIGWINCH", 28),
        ("SIGIO", 29), ("SIGPWR", 30), ("SIGSYS", 31),
    ]

    public static func name(of signal: Int32) -> String? {
        table.first { $0.1 == signal }?.0
    }

    /// `SIGTERM`, `TERM` or `15` (and `SIGRTMIN+N`) → number.
    public static func number(of text: String) -> Int32? {
        if let n = Int32(text), n > 0, n < 65 { return n }
        let upper = text.uppercased()
        let full = upper.hasPrefix("SIG") ? upper : "SIG" + upper
        if let hit = table.first(where: { $0.0 == full }) { return hit.1 }
        if full.hasPrefix("SIGRTMIN+"), let k = Int32(full.dropFirst(9)), 34 + k <= 64 { return 34 + k }
        if full == "SIGRTMIN" { return 34 }
        if full == "SIGRTMAX" { return 64 }
        return nil
    }
}
