import Glibc

/// The command line of swatchd-hello: all flags are optional test and
/// diagnostic knobs; with none it is the plain example service.
struct Options {
    /// `--report FILE`: write what the process observed at start (see `Report`).
    var reportPath: String?
    /// `--bind-privileged PORT`: also try to bind this port and record the result.
    var privilegedPort: UInt16?
    /// `--no-watchdog`: send READY=1 but never WATCHDOG=1, so the supervisor's
    /// watchdog fires.
    var pingsWatchdog = true
    /// `--exit-after N`: exit after answering N requests.
    var exitAfterRequests: Int?
    /// `--exit-code C`: the status used by `--exit-after`.
    var exitCode: Int32 = 0
    /// `--ready-delay MS`: wait this long before serving and sending READY=1.
    var readyDelayMilliseconds = 0

    static let usage = """
        Usage: swatchd-hello [OPTIONS]

        A tiny HTTP/1.1 server, the example service of swatchd: it answers
        "Hello World!" on every stream socket it is handed through the
        sd_listen_fds protocol (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). Started
        without sockets it binds $PORT (default 8080) on [::], dual-stack.
        It sends READY=1 and STATUS= with sd_notify once it serves, and
        WATCHDOG=1 at half the interval of WATCHDOG_USEC when that is set.
        SIGTERM or SIGINT: stop accepting, answer the connections already
        accepted (for at most 5 s), exit 0.

        Options (test and diagnostic knobs):
          --report FILE           At start, write KEY=VALUE lines of what the
                                  process observes (PID, LISTEN_PID, LISTEN_FDS,
                                  LISTEN_FDNAMES, FDS, CWD, UMASK, ENV, UID, GID,
                                  and per passed fd N: FDN_FAMILY, FDN_TYPE,
                                  FDN_NAME and socket options, "n/a" where an
                                  option does not apply). Written to FILE.tmp,
                                  then renamed, before READY=1 is sent.
          --bind-privileged PORT  Also try to bind PORT (e.g. 81) and record
                                  PRIVILEGED_BIND=ok or PRIVILEGED_BIND=ERRNO: text
                                  in the report.
          --no-watchdog           Never send WATCHDOG=1 (to test watchdog kills).
          --exit-after N          Exit after answering N requests.
          --exit-code C           Exit status for --exit-after (default 0).
          --ready-delay MS        Wait MS milliseconds before serving and READY=1.
          -h, --help              Show this help.

        Exit status: 0 on SIGTERM/SIGINT or --exit-after, 1 when serving fails,
        64 on a usage error.
        """

    /// A command line that cannot be understood; the message names the flag.
    struct UsageError: Error {
        var message: String
    }

    /// What the command line asks for: run with options, or print the help.
    enum Request {
        case run(Options)
        case help
    }

    /// Parses the arguments after the program name.
    static func parse(_ arguments: [String]) throws(UsageError) -> Request {
        var options = Options()
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            func value() throws(UsageError) -> String {
                guard let value = rest.popFirst() else {
                    throw UsageError(message: "\(flag) needs a value")
                }
                return value
            }
            func number<N: FixedWidthInteger>(_: N.Type, atLeast minimum: N) throws(UsageError) -> N {
                let text = try value()
                guard let number = N(text), number >= minimum else {
                    throw UsageError(message: "\(flag): not a valid number: \(text)")
                }
                return number
            }
            switch flag {
            case "-h", "--help": return .help
            case "--report": options.reportPath = try value()
            case "--bind-privileged": options.privilegedPort = try number(UInt16.self, atLeast: 1)
            case "--no-watchdog": options.pingsWatchdog = false
            case "--exit-after": options.exitAfterRequests = try number(Int.self, atLeast: 1)
            case "--exit-code": options.exitCode = try number(Int32.self, atLeast: 0)
            case "--ready-delay": options.readyDelayMilliseconds = try number(Int.self, atLeast: 0)
            default: throw UsageError(message: "unknown option: \(flag)")
            }
        }
        return .run(options)
    }
}
