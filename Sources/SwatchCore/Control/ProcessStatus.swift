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

    /// A number field of /proc/PID/status (`VmRSS:   1756 kB` → 1756).
    static func status(of pid: Int32, field: String) -> UInt64? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field) {
            return line.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt64($0) }
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
