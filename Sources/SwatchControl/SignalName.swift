import Glibc

/// Signal names as systemctl's `kill --signal=` and systemd's `signal_to_string()`
/// spell them: `SIGHUP`, `HUP` or `1` all name signal 1; printed back as `HUP`
/// (status: `code=killed, signal=TERM`) or `SIGHUP` (the request line).
package enum SignalName {
    /// The standard Linux signals, in number order (signal(7), x86 numbering).
    static let table: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("ILL", SIGILL), ("TRAP", SIGTRAP),
        ("ABRT", SIGABRT), ("BUS", SIGBUS), ("FPE", SIGFPE), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("SEGV", SIGSEGV), ("USR2", SIGUSR2), ("PIPE", SIGPIPE), ("ALRM", SIGALRM), ("TERM", SIGTERM),
        ("STKFLT", SIGSTKFLT), ("CHLD", SIGCHLD), ("CONT", SIGCONT), ("STOP", SIGSTOP), ("TSTP", SIGTSTP),
        ("TTIN", SIGTTIN), ("TTOU", SIGTTOU), ("URG", SIGURG), ("XCPU", SIGXCPU), ("XFSZ", SIGXFSZ),
        ("VTALRM", SIGVTALRM), ("PROF", SIGPROF), ("WINCH", SIGWINCH), ("IO", SIGIO), ("PWR", SIGPWR),
        ("SYS", SIGSYS),
        // Aliases systemd's signal_from_string() accepts; never printed (the first match wins).
        ("IOT", SIGABRT), ("POLL", SIGIO), ("CLD", SIGCHLD),
    ]

    /// The number of `SIGHUP`, `HUP`, `hup`, `1`, or `RTMIN+3`; nil for anything else.
    package static func number(_ text: String) -> Int32? {
        if let n = Int32(text) { return n > 0 && n < 65 ? n : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let entry = table.first(where: { $0.0 == name }) { return entry.1 }
        // Real-time signals, as systemd's signal_from_string() accepts them.
        let rtMin = Int32(__libc_current_sigrtmin()), rtMax = Int32(__libc_current_sigrtmax())
        if name == "RTMIN" { return rtMin }
        if name == "RTMAX" { return rtMax }
        // The offset is a plain count: `RTMAX--2` (a negative one) names no signal.
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), k >= 0, rtMin + k <= rtMax { return rtMin + k }
        if name.hasPrefix("RTMAX-"), let k = Int32(name.dropFirst(6)), k >= 0, rtMax - k >= rtMin { return rtMax - k }
        return nil
    }

    /// `TERM` for 15, as systemd's signal_to_string(); the number as text when it has no name.
    package static func shortName(_ number: Int32) -> String {
        if let entry = table.first(where: { $0.1 == number }) { return entry.0 }
        let rtMin = Int32(__libc_current_sigrtmin()), rtMax = Int32(__libc_current_sigrtmax())
        if number == rtMin { return "RTMIN" }
        if number > rtMin && number <= rtMax { return "RTMIN+\(number - rtMin)" }
        return String(number)
    }

    /// `SIGTERM` for 15; the bare number when it has no name.
    package static func fullName(_ number: Int32) -> String {
        let short = shortName(number)
        return Int32(short) == nil ? "SIG" + short : short
    }
}
