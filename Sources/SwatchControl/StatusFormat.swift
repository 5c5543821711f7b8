import Glibc

/// The renderings systemctl and journalctl use, without Foundation (the daemon
/// renders log lines, swatchctl renders status): timestamps as
/// format_timestamp() and format_timestamp_relative() (src/basic/time-util.c),
/// sizes as format_bytes() (src/basic/format-util.c), exit statuses as
/// exit_status_to_string() (src/basic/exit-status.c).
package enum StatusFormat {
    /// CLOCK_REALTIME in microseconds since the epoch: the clock of `since …` and of log lines.
    package static func realtimeNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1_000)
    }

    /// CLOCK_MONOTONIC in microseconds: the clock of deadlines (never jumps).
    package static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1_000)
    }

    /// `Thu 2026-11-26 16:20:01 UTC`, in local time with the zone's abbreviation (systemctl status).
    package static func timestamp(_ microseconds: UInt64) -> String {
        strftime(microseconds, "%a %Y-%m-%d %H:%M:%S %Z")
    }

    /// `Nov 26 16:20:01`, journalctl's short format (what follows is `unit[pid]: message`).
    package static func journalTimestamp(_ microseconds: UInt64) -> String {
        strftime(microseconds, "%b %d %H:%M:%S")
    }

    private static func strftime(_ microseconds: UInt64, _ format: String) -> String {
        tzset()
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "n/a" }
        // strftime's own %a/%b follow LC_TIME; systemd writes English day names itself, and a
        // daemon started from a unit has the C locale anyway.
        var buffer = [CChar](repeating: 0, count: 128)
        let count = Glibc.strftime(&buffer, buffer.count, format, &parts)
        guard count > 0 else { return "n/a" }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `4s ago`, `1min 30s ago`, `2h 5min ago`, `3 days ago`, as format_timestamp_relative().
    package static func relative(_ microseconds: UInt64, now: UInt64) -> String {
        let (delta, suffix) = now >= microseconds ? (now - microseconds, " ago") : (microseconds - now, " left")
        let usec: UInt64 = 1, msec = 1_000 * usec, sec = 1_000 * msec, minute = 60 * sec
        let hour = 60 * minute, day = 24 * hour, week = 7 * day
        let year: UInt64 = 31_557_600 * sec, month: UInt64 = 2_629_800 * sec
        func plural(_ n: UInt64, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        switch delta {
        case year...:
            return plural(delta / year, "year", "years") + " " + plural(delta % year / month, "month", "months") + suffix
        case month...:
            return plural(delta / month, "month", "months") + " " + plural(delta % month / day, "day", "days") + suffix
        case week...:
            return plural(delta / week, "week", "weeks") + " " + plural(delta % week / day, "day", "days") + suffix
        case (2 * day)...: return "\(delta / day) days" + suffix
        case (25 * hour)...: return "1 day \((delta - day) / hour)h" + suffix
        case (6 * hour)...: return "\(delta / hour)h" + suffix
        case hour...: return "\(delta / hour)h \(delta % hour / minute)min" + suffix
        case (5 * minute)...: return "\(delta / minute)min" + suffix
        case minute...: return "\(delta / minute)min \(delta % minute / sec)s" + suffix
        case sec...: return "\(delta / sec)s" + suffix
        case msec...: return "\(delta / msec)ms" + suffix
        case 1...: return "\(delta)us" + suffix
        default: return "now"
        }
    }

    /// `1.2M`, `512.0K`, `800B`: base 1024, one truncated decimal, as format_bytes().
    package static func bytes(_ count: UInt64) -> String {
        let suffixes: [(String, UInt64)] = [
            ("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10),
        ]
        for (suffix, factor) in suffixes where count >= factor {
            let tenths = (count % factor).multipliedFullWidth(by: 10)
            let decimal = factor.dividingFullWidth((tenths.high, tenths.low)).quotient
            return "\(count / factor).\(decimal)\(suffix)"
        }
        return "\(count)B"
    }

    /// `Tasks: 5 (limit: 4915)`'s value, as systemctl status prints it: the limit only when there is one.
    package static func tasks(_ current: Int, limit: UInt64?) -> String {
        "\(current)" + (limit.map { " (limit: \($0))" } ?? "")
    }

    /// `Memory: 1.2M (max: 64.0M)`'s value, as systemctl status prints it: the limit only when there is one.
    package static func memory(_ current: UInt64, max: UInt64?) -> String {
        bytes(current) + (max.map { " (max: \(bytes($0)))" } ?? "")
    }

    /// `FAILURE` for 1, `EXEC` for 203: the names systemctl appends to an exit status.
    package static func exitStatusName(_ status: Int32) -> String? {
        switch status {
        case 0: return "SUCCESS"
        case 1: return "FAILURE"
        // LSB (init-script) codes.
        case 2: return "INVALIDARGUMENT"
        case 3: return "NOTIMPLEMENTED"
        case 4: return "NOPERMISSION"
        case 5: return "NOTINSTALLED"
        case 6: return "NOTCONFIGURED"
        case 7: return "NOTRUNNING"
        // systemd's own codes for a failure between fork and exec.
        case 200: return "CHDIR"
        case 201: return "NICE"
        case 202: return "FDS"
        case 203: return "EXEC"
        case 204: return "MEMORY"
        case 205: return "LIMITS"
        case 206: return "OOM_ADJUST"
        case 207: return "SIGNAL_MASK"
        case 208: return "STDIN"
        case 209: return "STDOUT"
        case 210: return "CHROOT"
        case 214: return "SETSCHEDULER"
        case 216: return "GROUP"
        case 217: return "USER"
        case 218: return "CAPABILITIES"
        case 219: return "CGROUP"
        case 220: return "SETSID"
        case 222: return "STDERR"
        case 226: return "NAMESPACE"
        case 227: return "NO_NEW_PRIVILEGES"
        case 233: return "RUNTIME_DIRECTORY"
        case 238: return "STATE_DIRECTORY"
        default: return nil
        }
    }

    /// `code=exited, status=1/FAILURE` or `code=killed, signal=TERM`, as systemctl status prints an
    /// ended process. `code` is waitid(2)'s si_code (CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3).
    package static func processExit(code: Int32, status: Int32) -> String {
        switch code {
        case 1:
            return "code=exited, status=\(status)" + (exitStatusName(status).map { "/" + $0 } ?? "")
        case 2: return "code=killed, signal=\(SignalName.shortName(status))"
        case 3: return "code=dumped, signal=\(SignalName.shortName(status))"
        default: return "code=\(code), status=\(status)"
        }
    }
}
