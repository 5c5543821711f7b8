import Foundation
import Glibc

/// One line of /proc/PID/stat, the fields the tests look at (proc(5)).
struct ProcessStat: Equatable {
    var pid: pid_t
    /// The executable's name, at most 15 characters (the kernel's `comm`).
    var command: String
    /// R, S, D, Z (zombie: exited, not reaped yet), T, …
    var state: Character
    var parent: pid_t
    var session: pid_t
    /// CPU time in clock ticks (sysconf(_SC_CLK_TCK)), user and system.
    var userTicks: Int
    var systemTicks: Int

    /// Reads /proc/`pid`/stat; nil when the process does not exist.
    init?(pid: pid_t) {
        guard let text = readText("/proc/\(pid)/stat") else { return nil }
        self.init(parsing: text)
    }

    init?(parsing text: String) {
        // "pid (comm) state ppid pgrp session ..." — comm may hold spaces and
        // parentheses, so split at the LAST ')'.
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = pid_t(text[..<open].trimmingCharacters(in: .whitespaces))
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3 of proc(5)); utime is field 14, stime 15.
        guard fields.count > 12, let state = fields[0].first,
              let parent = pid_t(fields[1]), let session = pid_t(fields[3]),
              let user = Int(fields[11]), let system = Int(fields[12])
        else { return nil }
        self.pid = pid
        self.command = String(text[text.index(after: open)..<close])
        self.state = state
        self.parent = parent
        self.session = session
        self.userTicks = user
        self.systemTicks = system
    }
}

/// The process table as /proc shows it.
enum Processes {
    /// Every process now.
    static func all() -> [ProcessStat] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { pid_t($0) }.compactMap { ProcessStat(pid: $0) }
    }

    /// The live (not zombie) children of `pid`.
    static func children(of pid: pid_t) -> [ProcessStat] {
        all().filter { $0.parent == pid && $0.state != "Z" }
    }

    /// Every live descendant of `pid`, children first.
    static func descendants(of pid: pid_t) -> [ProcessStat] {
        let table = all()
        var found: [ProcessStat] = []
        var frontier: Set<pid_t> = [pid]
        while !frontier.isEmpty {
            let next = table.filter { frontier.contains($0.parent) && $0.state != "Z" }
            found += next
            frontier = Set(next.map(\.pid))
        }
        return found
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = ProcessStat(pid: pid) else { return false }
        return stat.state != "Z"
    }

    /// The open fd numbers of `pid` (/proc/PID/fd), sorted.
    static func openFDs(of pid: pid_t) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return names.compactMap { Int32($0) }.sorted()
    }

    /// `fd -> target` for every open fd of `pid` ("socket:[123]", "pipe:[4]",
    /// a path): the evidence to print when an fd count is off.
    static func describeFDs(of pid: pid_t) -> [Int32: String] {
        var targets: [Int32: String] = [:]
        for fd in openFDs(of: pid) {
            targets[fd] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? "?"
        }
        return targets
    }

    /// The NUL-separated /proc/PID/cmdline as arguments.
    static func arguments(of pid: pid_t) -> [String] {
        guard let text = readText("/proc/\(pid)/cmdline") else { return [] }
        return text.split(separator: "\0").map(String.init)
    }

    /// The directory of `pid`'s cgroup in the cgroup2 hierarchy (the `0::`
    /// line of /proc/PID/cgroup under the cgroup2 mount point); nil when
    /// there is no cgroup2 mount or the process is in its root.
    static func cgroupDirectory(of pid: pid_t) -> String? {
        guard let membership = readText("/proc/\(pid)/cgroup")?.split(separator: "\n")
                .first(where: { $0.hasPrefix("0::") }),
              let mount = readText("/proc/self/mountinfo")?.split(separator: "\n")
                .first(where: { $0.contains(" - cgroup2 ") })?.split(separator: " ").dropFirst(4).first
        else { return nil }
        let path = membership.dropFirst(3)
        return path == "/" ? nil : String(mount) + path
    }

    /// Clock ticks per second for `userTicks`/`systemTicks`.
    static let ticksPerSecond = Int(sysconf(Int32(_SC_CLK_TCK)))
}

/// What `ss -ltn` reports about TCP listeners (no getsockopt reads a listening
/// socket's backlog; ss shows it as Send-Q of the LISTEN row: docs/HACKING.md "Sockets").
struct ListeningSocket: Equatable {
    /// "*:8080", "[::]:8080", "127.0.0.1:8080", "[::1]:8080"…
    var localAddress: String
    /// For a LISTEN row, the backlog passed to listen(2).
    var backlog: Int

    /// Every TCP listener on `port`, from `ss -ltnH`.
    static func onPort(_ port: UInt16) throws -> [ListeningSocket] {
        let output = try Command.run(["/usr/bin/ss", "-ltnH"])
        guard output.status == .exited(0) else {
            throw HarnessError("ss -ltnH: \(output.status): \(output.standardError)")
        }
        return parse(output.standardOutput, port: port)
    }

    /// Parses `ss -ltnH` rows: State Recv-Q Send-Q Local:Port Peer:Port.
    static func parse(_ text: String, port: UInt16) -> [ListeningSocket] {
        text.split(separator: "\n").compactMap { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 5, columns[0] == "LISTEN", let backlog = Int(columns[2]),
                  columns[3].hasSuffix(":\(port)")
            else { return nil }
            return ListeningSocket(localAddress: String(columns[3]), backlog: backlog)
        }
    }
}
