// `swatchctl status`'s Tasks: and Memory: lines (swatchctl(1)), read from the service's cgroup
// as systemctl status reads them: with the pids and memory controllers enabled there, the
// counters and the limits (`Tasks: 2 (limit: 50)`, `Memory: 1.2M (max: 64.0M)`); without them
// (the hybrid layout of docs/HACKING.md "Cgroups"), the threads of the group's processes and
// their resident memory, without a limit.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0, "a cgroup2 group of its own needs root")) struct StatusUsageTests {
        @Test(.timeLimit(.minutes(1)))
        func tasksAndMemoryComeFromTheServicesCgroup() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("two.service", """
                [Service]
                ExecStart=/bin/sh -c 'sleep 300 & exec sleep 301'
                TasksMax=50
                MemoryMax=64M
                """)
            try daemon.start()
            let main = try daemon.waitForMainPID(of: "two.service")
            let group = try #require(Processes.cgroupDirectory(of: main), "swatchd tracks two.service in a cgroup2 group")
            try waitUntil("two.service's group holds both processes", timeout: .seconds(10)) {
                (readText(group + "/cgroup.procs") ?? "").split(separator: "\n").count == 2
            }
            let status = try daemon.ctl("status", "two.service")
            let lines = status.standardOutput.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let tasks = try #require(lines.first { $0.hasPrefix("Tasks: ") }, "\(status)")
            let memory = try #require(lines.first { $0.hasPrefix("Memory: ") }, "\(status)")
            if FileManager.default.fileExists(atPath: group + "/pids.max") {
                #expect(tasks == "Tasks: 2 (limit: 50)", "\(status)")
            } else {
                // No pids controller: the threads of the two processes, and no limit.
                #expect(tasks == "Tasks: 2", "\(status)")
            }
            if FileManager.default.fileExists(atPath: group + "/memory.max") {
                #expect(memory.hasSuffix(" (max: 64.0M)"), "\(status)")
            } else {
                #expect(!memory.contains("("), "\(status)")
                // The resident memory of two sleeps: some hundreds of kilobytes, not nothing.
                #expect(memory.hasSuffix("K") || memory.hasSuffix("M"), "\(status)")
            }
            let show = try daemon.ctl("show", "-p", "TasksCurrent", "-p", "TasksMax", "two.service")
            #expect(show.standardOutput.hasPrefix("TasksCurrent=2\n"), "\(show)")
        }
    }
}
