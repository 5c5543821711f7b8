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

    /// What the processes' /proc/PID/status (proc(5)) say together, where the service's
    /// cgroup has no pids or memory controller to ask.
    package struct ProcessUsage: Equatable, Sendable {
        /// Their threads (`Tasks:` counts tasks, as the pids controller does); nil when no
        /// process could be read.
        package var tasks: Int?
        /// Their resident memory in bytes (VmRSS; a cgroup's memory.current also counts page
        /// cache, so this is lower); nil when none has any (a kernel thread has no VmRSS).
        package var residentBytes: UInt64?
    }

    /// The threads and the resident memory of the processes, one read of each /proc/PID/status.
    package static func usage(of pids: [Int32]) -> ProcessUsage {
        var usage = ProcessUsage()
        for pid in pids {
            guard let bytes = readBytes("/proc/\(pid)/status") else { continue }
            let (threads, residentKiB) = threadsAndResidentKiB(in: bytes)
            if let threads { usage.tasks = (usage.tasks ?? 0) + Int(threads) }
            if let residentKiB { usage.residentBytes = (usage.residentBytes ?? 0) + residentKiB * 1024 }
        }
        return usage
    }

    /// `Threads:` and `VmRSS:` (`VmRSS:    1756 kB` → 1756) of a /proc/PID/status, found by
    /// their bytes: splitting the text into Characters was half of a `status` of 1000 running
    /// services (two reads of each file, ~0.14 ms a process).
    static func threadsAndResidentKiB(in bytes: [UInt8]) -> (threads: UInt64?, residentKiB: UInt64?) {
        var threads: UInt64?, resident: UInt64?
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if let value = number(in: line, after: "Threads:") {
                threads = value
            } else if let value = number(in: line, after: "VmRSS:") {
                resident = value
            }
        }
        return (threads, resident)
    }

    /// The whole number after `field` and blanks at the start of `line`, if it starts so.
    private static func number(in line: ArraySlice<UInt8>, after field: StaticString) -> UInt64? {
        let name = UnsafeBufferPointer(start: field.utf8Start, count: field.utf8CodeUnitCount)
        guard line.starts(with: name) else { return nil }
        return line.withUnsafeBufferPointer { bytes -> UInt64? in
            var at = name.count
            while at < bytes.count, bytes[at] == UInt8(ascii: " ") || bytes[at] == UInt8(ascii: "\t") { at += 1 }
            guard let (whole, fraction) = decimalPrefix(bytes, at: &at, end: bytes.count), fraction.isEmpty else { return nil }
            return whole
        }
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

    private static func read(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func readBytes(_ path: String) -> [UInt8]? {
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
        return out
    }
}
