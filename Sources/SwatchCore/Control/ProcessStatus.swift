import Glibc

/// What `status` shows about a service's processes, read from /proc as systemctl
/// reads it (`Main PID: 4242 (hello)`, `Tasks:`, `Memory:`; swatchctl(1)).
/// Without a cgroup of its own to ask, swatchd counts the processes it knows.
package enum ProcessStatus {
    /// `/proc/PID/comm`: the name `Main PID:` shows in parentheses; nil when the process is gone.
    package static func command(of pid: Int32) -> String? {
        guard let text = read("/proc/\(pid)/comm") else { return nil }
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// The threads of the processes (`Tasks:` counts tasks, as the pids controller does).
    package static func taskCount(of pids: [Int32]) -> Int? {
        let counts = pids.compactMap { pid in status(of: pid, field: "Threads:") }
        return counts.isEmpty ? nil : Int(counts.reduce(0, +))
    }

    /// The resident memory of the processes in bytes (VmRSS; a cgroup's memory.current also
    /// counts page cache, so this is lower).
    package static func residentBytes(of pids: [Int32]) -> UInt64? {
        let sizes = pids.compactMap { pid in status(of: pid, field: "VmRSS:") }
        return sizes.isEmpty ? nil : sizes.reduce(0, +) * 1024
    }

    /// What a service's cgroup2 group says of it (Documentation/admin-guide/cgroup-v2.rst):
    /// nil where the file is missing (the controller is not enabled there) or unreadable.
    package struct CgroupUsage: Equatable, Sendable {
        /// memory.current: every byte charged to the group, page cache included.
        package var memoryCurrent: UInt64?
        /// memory.max; nil: `max` (no limit) or no memory controller.
        package var memoryMax: UInt64?
        /// pids.current: the tasks (threads) in the group.
        package var tasksCurrent: UInt64?
        /// pids.max; nil: `max` (no limit) or no pids controller.
        package var tasksMax: UInt64?
        /// usage_usec of cpu.stat, which every cgroup2 group has, with or without the cpu
        /// controller (cgroup-v2.rst, "CPU Interface Files").
        package var cpuUsageMicroseconds: UInt64?

        package init(memoryCurrent: UInt64? = nil, memoryMax: UInt64? = nil, tasksCurrent: UInt64? = nil, tasksMax: UInt64? = nil,
                     cpuUsageMicroseconds: UInt64? = nil) {
            self.memoryCurrent = memoryCurrent
            self.memoryMax = memoryMax
            self.tasksCurrent = tasksCurrent
            self.tasksMax = tasksMax
            self.cpuUsageMicroseconds = cpuUsageMicroseconds
        }
    }

    /// memory.current, memory.max, pids.current, pids.max and cpu.stat's usage_usec of the cgroup
    /// `directory`, as `systemctl status` reads them for `Memory:`, `Tasks:` and `CPU:`.
    package static func cgroupUsage(of directory: String) -> CgroupUsage {
        func number(_ file: String) -> UInt64? {
            guard let text = read(directory + "/" + file) else { return nil }
            return UInt64(text.splitAtWhitespace().first ?? "")
        }
        // "usage_usec 1234\nuser_usec …": the first line.
        let cpu = read(directory + "/cpu.stat").flatMap { text -> UInt64? in
            let words = text.splitAtWhitespace()
            return words.count > 1 && words[0] == "usage_usec" ? UInt64(words[1]) : nil
        }
        return CgroupUsage(memoryCurrent: number("memory.current"), memoryMax: number("memory.max"),
                           tasksCurrent: number("pids.current"), tasksMax: number("pids.max"), cpuUsageMicroseconds: cpu)
    }

    /// A number field of /proc/PID/status (`VmRSS:   1756 kB` → 1756).
    static func status(of pid: Int32, field: String) -> UInt64? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            return String(line.dropFirst(field.count)).splitAtWhitespace().first.flatMap { UInt64($0) }
        }
        return nil
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
