import Glibc
import Testing
@testable import SwatchCore

@Suite struct ProcessStatusTests {
    @Test func readsTheOwnProcess() throws {
        let pid = getpid()
        #expect(ProcessStatus.command(of: pid)?.isEmpty == false)
        #expect(try #require(ProcessStatus.taskCount(of: [pid])) >= 1)
        #expect(try #require(ProcessStatus.residentBytes(of: [pid])) > 1_000_000)
    }

    @Test func aProcessThatIsGoneHasNothing() {
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        #expect(ProcessStatus.command(of: 5_000_000) == nil)
        #expect(ProcessStatus.taskCount(of: [5_000_000]) == nil)
        #expect(ProcessStatus.residentBytes(of: []) == nil)
    }

    /// A cgroup directory as the kernel fills it: numbers, or `max` for no limit; a
    /// controller that is not enabled has no files.
    @Test func readsTheCgroupsCountersAndLimits() throws {
        let directory = ShortTemporaryDirectory()
        func write(_ file: String, _ text: String) throws {
            try FileSystem.write(text, to: directory.path + "/" + file, create: true)
        }
        #expect(ProcessStatus.cgroupUsage(of: directory.path) == ProcessStatus.CgroupUsage())
        try write("pids.current", "3\n")
        try write("pids.max", "max\n")
        try write("memory.current", "1300000\n")
        try write("memory.max", "67108864\n")
        #expect(ProcessStatus.cgroupUsage(of: directory.path)
            == ProcessStatus.CgroupUsage(memoryCurrent: 1_300_000, memoryMax: 64 << 20, tasksCurrent: 3, tasksMax: nil))
        #expect(ProcessStatus.cgroupUsage(of: directory.path + "/gone") == ProcessStatus.CgroupUsage())
    }
}
