import Logging

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

extension ExitStatus {
    /// The level of a `Main process exited` or `Control process exited` line, as systemd's
    /// unit_log_process_exit() (src/core/unit.c) picks it: debug for an end that counts as a
    /// success (a `-` command's failure too), notice for an exit code (the program will have
    /// said why), warning for a signal.
    package func exitLogLevel(countsAsSuccess: Bool) -> Logger.Level {
        if countsAsSuccess { return .debug }
        if case .exited = self { return .notice }
        return .warning
    }

    /// How systemd logs the end of a process: `status=1/FAILURE`, `status=9/KILL`
    /// (service_sigchld_event() in src/core/service.c), `n/a` for an exit code without a name.
    package var statusWithName: String {
        switch self {
        case .exited(let n): return "\(n)/\(ExitStatus.name(of: n) ?? "n/a")"
        case .signaled(let s, _): return "\(s)/\(SignalName.shortName(s))"
        }
    }

    /// The names of exit codes (systemd.exec(5), "Process Exit Codes"; src/basic/exit-status.c):
    /// the C library's, the LSB's, systemd's own and BSD's sysexits.h.
    package static func name(of code: Int32) -> String? { names[code] }

    /// The code of a name, for SuccessExitStatus= and friends.
    package static func code(named name: String) -> Int32? { codes[name] }

    private static let names: [Int32: String] = [
        0: "SUCCESS", 1: "FAILURE",
        2: "INVALIDARGUMENT", 3: "NOTIMPLEMENTED", 4: "NOPERMISSION", 5: "NOTINSTALLED", 6: "NOTCONFIGURED",
        7: "NOTRUNNING",
        64: "USAGE", 65: "DATAERR", 66: "NOINPUT", 67: "NOUSER", 68: "NOHOST", 69: "UNAVAILABLE", 70: "SOFTWARE",
        71: "OSERR", 72: "OSFILE", 73: "CANTCREAT", 74: "IOERR", 75: "TEMPFAIL", 76: "PROTOCOL", 77: "NOPERM",
        78: "CONFIG",
        200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 205: "LIMITS", 206: "OOM_ADJUST",
        207: "SIGNAL_MASK", 208: "STDIN", 209: "STDOUT", 210: "CHROOT", 211: "IOPRIO", 212: "TIMERSLACK",
        213: "SECUREBITS", 214: "SETSCHEDULER", 215: "CPUAFFINITY", 216: "GROUP", 217: "USER", 218: "CAPABILITIES",
        219: "CGROUP", 220: "SETSID", 221: "CONFIRM", 222: "STDERR", 224: "PAM", 225: "NETWORK", 226: "NAMESPACE",
        227: "NO_NEW_PRIVILEGES", 228: "SECCOMP", 229: "SELINUX_CONTEXT", 230: "PERSONALITY",
        231: "APPARMOR_PROFILE", 232: "ADDRESS_FAMILIES", 233: "RUNTIME_DIRECTORY", 235: "CHOWN",
        236: "SMACK_PROCESS_LABEL", 237: "KEYRING", 238: "STATE_DIRECTORY", 239: "CACHE_DIRECTORY",
        240: "LOGS_DIRECTORY", 241: "CONFIGURATION_DIRECTORY", 242: "NUMA_POLICY", 243: "CREDENTIALS", 245: "BPF",
    ]
    private static let codes: [String: Int32] = Dictionary(uniqueKeysWithValues: names.map { ($1, $0) })
}
