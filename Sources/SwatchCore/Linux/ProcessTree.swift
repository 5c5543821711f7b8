import CSwatch
import Glibc
import SystemPackage

/// swatchd's descendants, as procfs shows them: a process's children (the `children`
/// file of each of its threads, proc(5); CONFIG_PROC_CHILDREN, which Debian's and most
/// distributions' kernels set) and its `stat` line. Session tracking
/// (`ProcessTracker.Mode.session`) finds a service's processes by walking down from
/// swatchd, which is child subreaper — so a walk costs what the services' own processes
/// cost, not one read per process of the machine, as a scan of all of /proc did.
package enum ProcessTree {
    /// One line of /proc/<pid>/stat: what session tracking needs.
    struct Stat: Equatable {
        var pid: pid_t
        var state: Character
        var parent: pid_t
        var session: pid_t
        /// num_threads; nil when the line is cut short.
        var threads: Int?
    }

    /// Whether this kernel lists a thread's children (CONFIG_PROC_CHILDREN). Without
    /// it, session tracking scans /proc (`allProcesses`).
    static let listsChildren: Bool = access("/proc/self/task/\(getpid())/children", R_OK) == 0

    /// swatchd's own children: its services' processes and, as child subreaper, their orphans.
    static func ownChildren() -> [pid_t] {
        stat(of: getpid()).map(children(of:)) ?? []
    }

    /// Every live process below swatchd — its services and, swatchd being their child
    /// subreaper, their orphans — children before their own children.
    package static func ownDescendants() -> [pid_t] {
        guard listsChildren else {
            // By parent, over all of /proc.
            let table = allProcesses().filter { $0.state != "Z" }
            var found: [pid_t] = []
            var frontier: Set<pid_t> = [getpid()]
            while !frontier.isEmpty {
                let next = table.filter { frontier.contains($0.parent) }.map(\.pid)
                found += next
                frontier = Set(next)
            }
            return found
        }
        var found: [pid_t] = []
        var pending = ownChildren()
        while !pending.isEmpty {
            let pid = pending.removeFirst()
            guard let process = stat(of: pid), process.state != "Z" else { continue }
            found.append(pid)
            pending += children(of: process)
        }
        return found
    }

    /// The children of `process`: those of each of its threads (a process a thread forks
    /// is that thread's child). A single-threaded process costs one read.
    static func children(of process: Stat) -> [pid_t] {
        if process.threads == 1 { return pids(listedIn: "/proc/\(process.pid)/task/\(process.pid)/children") }
        let tasks = "/proc/\(process.pid)/task"
        return FileSystem.entries(of: tasks).reduce(into: []) { result, task in
            if task.name.first != "." { result += pids(listedIn: tasks + "/" + task.name + "/children") }
        }
    }

    /// The `stat` line of `pid`; nil once it is gone.
    static func stat(of pid: pid_t) -> Stat? {
        (try? FileSystem.readText("/proc/\(pid)/stat")).flatMap(parseStat)
    }

    /// Parses /proc/<pid>/stat: the command name is in parentheses and may
    /// itself contain spaces and parentheses, so fields are counted after the last `)`.
    static func parseStat(_ text: String) -> Stat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = pid_t(text[..<open].trimmingSpaces) else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
        // stime cutime cstime priority nice num_threads (proc(5), fields 3 to 20)
        guard fields.count >= 4, let state = fields[0].first,
              let parent = pid_t(fields[1]), let session = pid_t(fields[3]) else { return nil }
        let threads = fields.count > 17 ? Int(fields[17]) : nil
        return Stat(pid: pid, state: state, parent: parent, session: session, threads: threads)
    }

    /// Every process in /proc: what session tracking reads where the kernel lists no children.
    static func allProcesses() -> [Stat] {
        FileSystem.entries(of: "/proc").compactMap { entry in
            guard pid_t(entry.name) != nil else { return nil }
            return (try? FileSystem.readText("/proc/\(entry.name)/stat")).flatMap(parseStat)
        }
    }

    /// Sends `signal` to `pid` if it is still in one of `sessions`. The pidfd is taken
    /// first (pidfd_open(2)), the session read after, and the signal goes through the
    /// pidfd (pidfd_send_signal(2)): a process that ended meanwhile and whose pid went to
    /// another is never signalled — the pidfd still names the one that ended. Kernels
    /// before 5.3 have no pidfd: kill(2), with the race. Returns whether it was signalled.
    static func signal(_ pid: pid_t, _ signal: CInt, ifInSessions sessions: Set<pid_t>) -> Bool {
        let pidfd = swatch_pidfd_open(pid, 0)
        if pidfd < 0 {
            guard errno == ENOSYS, let found = stat(of: pid), sessions.contains(found.session) else { return false }
            return (try? Reaper.kill(pid, signal: signal)) == true
        }
        defer { close(pidfd) }
        guard let found = stat(of: pid), sessions.contains(found.session) else { return false }
        return swatch_pidfd_send_signal(pidfd, signal) == 0
    }

    /// The numbers of a `children` file ("12 34 ").
    private static func pids(listedIn path: String) -> [pid_t] {
        guard let text = try? FileSystem.readText(path) else { return [] }
        return text.splitAtWhitespace().compactMap { pid_t($0) }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
