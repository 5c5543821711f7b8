import Glibc
import Testing
@testable import SwatchCore

@Suite struct ProcessStatusTests {
    @Test func readsTheOwnProcess() throws {
        let pid = getpid()
        #expect(ProcessStatus.command(of: pid)?.isEmpty == false)
        let usage = ProcessStatus.usage(of: [pid])
        #expect(try #require(usage.tasks) >= 1)
        #expect(try #require(usage.residentBytes) > 1_000_000)
        // Two processes: the sums.
        let twice = ProcessStatus.usage(of: [pid, pid])
        #expect(twice.residentBytes.map { $0 >= 2_000_000 } == true && twice.tasks.map { $0 >= 2 } == true)
    }

    @Test func aProcessThatIsGoneHasNothing() {
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        #expect(ProcessStatus.command(of: 5_000_000) == nil)
        #expect(ProcessStatus.usage(of: [5_000_000]) == ProcessStatus.ProcessUsage())
        #expect(ProcessStatus.usage(of: []) == ProcessStatus.ProcessUsage())
    }

    /// The lines of /proc/PID/status that count, wherever they are; a kernel thread has no VmRSS.
    @Test func readsThreadsAndVmRSSFromTheStatusText() {
        let status = "Name:\tcat\nUmask:\t0022\nVmPeak:\t    5544 kB\nVmRSS:\t    1756 kB\nRssAnon:\t  100 kB\n"
            + "Threads:\t3\nSigQ:\t0/31\n"
        #expect(ProcessStatus.threadsAndResidentKiB(in: Array(status.utf8)) == (3, 1756))
        let kernelThread = "Name:\tkthreadd\nThreads:\t1\nSigQ:\t0/31\n"
        #expect(ProcessStatus.threadsAndResidentKiB(in: Array(kernelThread.utf8)) == (1, nil))
        #expect(ProcessStatus.threadsAndResidentKiB(in: Array("VmRSSx: 5 kB\nThreads: many\n".utf8)) == (nil, nil))
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
