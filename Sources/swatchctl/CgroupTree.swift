import Glibc
import SwatchControl

/// The processes of a unit's cgroup as `systemctl status` draws them below `CGroup:`
/// (show_cgroup_by_path(), src/shared/cgroup-show.c): the group's own processes by pid,
/// `├─PID COMMAND LINE`, then each non-empty subgroup by name with its own below it. Read
/// here, from cgroupfs and /proc, as systemctl reads them: the daemon sends only the path.
enum CgroupTree {
    /// One group as read: its processes (pid, command line) and its subgroups.
    struct Group {
        var name: String
        var processes: [(pid: Int32, command: String)]
        var subgroups: [Group]
    }

    /// The lines below `CGroup:` for `controlGroup` (a path below the cgroup2 mount); none
    /// when the group cannot be read.
    static func lines(of controlGroup: String) -> [String] {
        guard let mount, let group = read(mount + controlGroup, name: "") else { return [] }
        return lines(group)
    }

    /// The cgroup2 mount, read once: `status` of every unit draws a tree for each, and the
    /// mount table read and split again for each was a tenth of swatchctl's time with 1000.
    private static let mount = cgroup2Mount(Output.readText("/proc/self/mountinfo") ?? "")

    /// The tree's lines: processes first, then subgroups, the last entry of each level `└─`.
    static func lines(_ group: Group, prefix: String = "") -> [String] {
        var lines: [String] = []
        for (index, process) in group.processes.enumerated() {
            let last = index == group.processes.count - 1 && group.subgroups.isEmpty
            lines.append(prefix + (last ? "└─" : "├─") + "\(process.pid) " + process.command)
        }
        for (index, subgroup) in group.subgroups.enumerated() {
            let last = index == group.subgroups.count - 1
            lines.append(prefix + (last ? "└─" : "├─") + subgroup.name)
            lines += Self.lines(subgroup, prefix: prefix + (last ? "  " : "│ "))
        }
        return lines
    }

    /// The first cgroup2 mount of the whole hierarchy in a /proc/self/mountinfo text
    /// (proc(5): the mount point is field 5, the file system type follows ` - `).
    static func cgroup2Mount(_ mountinfo: String) -> String? {
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash > 4, dash + 1 < fields.count else { continue }
            if fields[dash + 1] == "cgroup2", fields[3] == "/" { return String(fields[4]) }
        }
        return nil
    }

    /// A group and the groups below it; empty subgroups are left out, as systemctl does without --all.
    private static func read(_ directory: String, name: String) -> Group? {
        guard let procs = Output.readText(directory + "/cgroup.procs") else { return nil }
        let pids = procs.split(separator: "\n").compactMap { Int32($0) }.sorted()
        var group = Group(name: name, processes: pids.map { ($0, commandLine(of: $0)) }, subgroups: [])
        guard let listing = opendir(directory) else { return group }
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let child = entryName(entry)
            if child != "." && child != ".." { names.append(child) }
        }
        for subgroupName in names.sorted() {
            if let subgroup = read(directory + "/" + subgroupName, name: subgroupName),
               !subgroup.processes.isEmpty || !subgroup.subgroups.isEmpty {
                group.subgroups.append(subgroup)
            }
        }
        return group
    }

    /// /proc/PID/cmdline with its words joined by spaces; `[comm]` when it has none (a kernel
    /// thread, a zombie), as systemd's get_process_cmdline() shows it.
    private static func commandLine(of pid: Int32) -> String {
        let line = (Output.readText("/proc/\(pid)/cmdline") ?? "").split(separator: "\0").joined(separator: " ")
        if !line.isEmpty { return line }
        let comm = (Output.readText("/proc/\(pid)/comm") ?? "").split(separator: "\n").first.map(String.init) ?? "?"
        return "[" + comm + "]"
    }
}
