import CSwatch
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// What a service observes about itself, checked from inside it (sd_listen_fds(3), swatchd.service(5)):
/// a shell script writes its own view into files of a temporary directory.
@Suite struct SpawnerTests {
    /// Writes the child's view of itself into "$1": the fds `ls` inherits
    /// from it (`ls /proc/self/fd` also lists the directory it reads, which
    /// takes the lowest free number — just above the passed fds when nothing
    /// leaked), where fds 3…5 lead, its pids, cwd, umask, /proc status and
    /// stat, and its environment as execve gave it.
    static let introspection = """
        ls /proc/self/fd > "$1/fds"
        for fd in 3 4 5; do readlink /proc/$$/fd/$fd; done > "$1/links"
        echo "$$ $LISTEN_PID $WATCHDOG_PID" > "$1/pids"
        pwd > "$1/cwd"
        umask > "$1/umask"
        cat /proc/$$/status > "$1/status"
        cat /proc/$$/stat > "$1/stat"
        tr '\\0' '\\n' < /proc/$$/environ > "$1/environ"
        """

    /// Files named a, b, c in `directory`, opened read-only: their paths show in /proc/<pid>/fd links.
    private func openFiles(_ names: [String], in directory: String) -> [FileDescriptor] {
        names.map { LinuxTestSupport.open(directory + "/" + $0, O_RDWR | O_CREAT) }
    }

    /// In a forked child: the handoff swatchd's Daemon.run prepares, then 100
    /// more descriptors, as a swatchd with 100 listening sockets holds.
    private static func prepareHandoffWithALargeTable() -> Bool {
        Spawner.prepareDescriptorHandoff()
        guard swatch_spawn_handoff_descriptor() >= 0 else { return false }
        for _ in 0..<100 { guard fcntl(0, F_DUPFD_CLOEXEC, 3) >= 0 else { return false } }
        return true
    }

    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }

    private func statusField(_ status: String, _ name: String) -> String? {
        lines(status).first { $0.hasPrefix(name + ":") }.map {
            String($0.dropFirst(name.count + 1).drop { $0 == " " || $0 == "\t" })
        }
    }

    @Test func childSeesItsFdsExactlyAtThreeOnwardsWithItsOwnListenPID() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let passed = openFiles(["a", "b", "c"], in: directory)
        defer { for fd in passed { try? fd.close() } }
        let working = directory + "/work"
        mkdir(working, 0o755)

        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", Self.introspection, "sh", directory],
            environment: ["PATH=/usr/bin:/bin", "MARKER=1"], listenPID: true, watchdogPID: true,
            fds: passed, workingDirectory: working, umask: 0o027))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))

        // Exactly 0, 1, 2 and the three passed fds (6 is ls's own directory):
        // nothing of the test process leaks.
        let fds = lines(LinuxTestSupport.read(directory + "/fds")).compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2, 3, 4, 5, 6])
        // In configuration order.
        #expect(lines(LinuxTestSupport.read(directory + "/links")) == ["a", "b", "c"].map { directory + "/" + $0 })
        // LISTEN_PID and WATCHDOG_PID are the child's own pid, which spawn also returned.
        #expect(LinuxTestSupport.read(directory + "/pids") == "\(pid) \(pid) \(pid)\n")
        #expect(LinuxTestSupport.read(directory + "/cwd") == working + "\n")
        #expect(LinuxTestSupport.read(directory + "/umask") == "0027\n")
        // The environment is exactly what was asked, plus the two pid variables.
        #expect(lines(LinuxTestSupport.read(directory + "/environ")).sorted()
                == ["LISTEN_PID=\(pid)", "MARKER=1", "PATH=/usr/bin:/bin", "WATCHDOG_PID=\(pid)"])
    }

    /// Observed from outside, on a sleeping child: a shell would blur it (dash
    /// blocks every signal around its own forks, so a `cat /proc/$$/status`
    /// from a script can catch the shell mid-fork).
    @Test func childStartsANewSessionWithAClearSignalState() throws {
        // Make the parent's signal state something to reset: SIGPIPE ignored
        // (as swatchd does) and signals blocked in this thread (as its signalfd does).
        SignalFD.ignoreBrokenPipe()
        var blocked = sigset_t()
        var before = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGTERM, SIGHUP, SIGUSR1] { sigaddset(&blocked, signal) }
        pthread_sigmask(SIG_BLOCK, &blocked, &before)
        defer { pthread_sigmask(SIG_SETMASK, &before, nil) }
        var duringTest = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &duringTest)

        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sleep", arguments: ["sleep", "100"], environment: ["A=1"]))
        defer {
            _ = try? Reaper.kill(pid, signal: SIGKILL)
            _ = LinuxTestSupport.waitForExit(pid)
        }
        // The spawner blocks every signal around clone; ours is back afterwards.
        var after = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &after)
        #expect(memcmp(&after, &duringTest, MemoryLayout<sigset_t>.size) == 0)

        let status = LinuxTestSupport.read("/proc/\(pid)/status")
        #expect(statusField(status, "SigBlk") == "0000000000000000")
        #expect(statusField(status, "SigIgn") == "0000000000000000")
        // Defaults: umask 0022 and cwd /.
        #expect(statusField(status, "Umask") == "0022")
        var link = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/\(pid)/cwd", &link, link.count - 1)
        #expect(length == 1 && link[0] == CChar(UInt8(ascii: "/")))
        // /proc/<pid>/stat: pid (comm) state ppid pgrp session ...: a session of its own.
        let stat = try #require(ProcessTree.parseStat(LinuxTestSupport.read("/proc/\(pid)/stat")))
        #expect(stat.pid == pid)
        #expect(stat.session == pid)
        #expect(stat.session != getsid(0))
        #expect(stat.parent == getpid())
        // Without listenPID, no LISTEN_PID: the environment is exactly what was asked. (The
        // spawner returns once execve has released the parent's memory, a moment before the
        // kernel records the new environment's place: /proc/PID/environ can read empty then.)
        #expect(LinuxTestSupport.eventually { !LinuxTestSupport.read("/proc/\(pid)/environ").isEmpty })
        #expect(LinuxTestSupport.read("/proc/\(pid)/environ") == "A=1\0")
    }

    @Test func outputReachesAPipeWhoseReadEndTheChildNeverSees() throws {
        let (readEnd, writeEnd) = try FileDescriptor.closeOnExecPipe()
        defer { try? readEnd.close() }
        #expect(LinuxTestSupport.isCloseOnExec(readEnd) && LinuxTestSupport.isCloseOnExec(writeEnd))
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh", arguments: ["sh", "-c", "echo hello; ls /proc/self/fd"], stdout: writeEnd))
        try writeEnd.close()
        // EOF arrives only once every write end is closed: the child had no copy of the read end
        // and swatchd's write end is gone — exactly 0, 1, 2 and ls's directory.
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try readEnd.read(into: $0) }
            if count == 0 { break }
            output += chunk[0..<count]
        }
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        #expect(String(decoding: output, as: UTF8.self) == "hello\n0\n1\n2\n3\n")
    }

    @Test func standardStreamsAreTheGivenFdsOrDevNull() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let output = LinuxTestSupport.open(directory + "/out", O_WRONLY | O_CREAT)
        defer { try? output.close() }
        let pid = try Spawner.spawn(SpawnRequest(
            executable: "/bin/sh",
            arguments: ["sh", "-c", "echo to-stdout; echo to-stderr >&2; readlink /proc/$$/fd/0"],
            stdout: output, stderr: output))
        #expect(LinuxTestSupport.waitForExit(pid) == .exited(0))
        #expect(LinuxTestSupport.read(directory + "/out") == "to-stdout\nto-stderr\n/dev/null\n")
    }

    /// The shuffle trap (docs/HACKING.md "Spawning"): with sources at 4 and 3, a naive dup2(4→3)
    /// then dup2(3→4) leaves both fds the same file. Needs fds 3 and 4 of its
    /// own, so it runs in a forked, single-threaded copy of the test process.
    /// With the handoff (swatchd's way) the child receives the sources at new numbers first.
    @Test(arguments: [false, true]) func fdOrderHoldsWhenSourcesAreFourAndThree(handoff: Bool) throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let files = openFiles(["a", "b"], in: directory)
        defer { for fd in files { try? fd.close() } }
        let (a, b) = (files[0], files[1])
        let status = LinuxTestSupport.inForkedChild {
            // Move our files out of the way first, then put a at 4 and b at 3.
            let high = [a, b].map { fcntl($0.rawValue, F_DUPFD_CLOEXEC, 100) }
            guard dup2(high[0], 4) == 4, dup2(high[1], 3) == 3 else { return 2 }
            if handoff { guard Self.prepareHandoffWithALargeTable() else { return 5 } }
            guard let pid = try? Spawner.spawn(SpawnRequest(
                executable: "/bin/sh", arguments: ["sh", "-c", Self.introspection, "sh", directory],
                fds: [FileDescriptor(rawValue: 4), FileDescriptor(rawValue: 3)]))
            else { return 3 }
            guard swatch_spawn_handoff_count() == (handoff ? 1 : 0) else { return 6 }
            return (try? Reaper.wait(for: pid)) == .exited(0) ? 0 : 4
        }
        #expect(status == .exited(0))
        let links = lines(LinuxTestSupport.read(directory + "/links"))
        #expect(links == [directory + "/a", directory + "/b"])
        let fds = lines(LinuxTestSupport.read(directory + "/fds")).compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2, 3, 4, 5])  // 5: ls's own directory
    }

    /// Kernels before 5.11 have no CLOSE_RANGE_CLOEXEC: the child then marks
    /// its fds by listing /proc/self/fd. Nor can close_range unshare a table
    /// before 5.9: the handoff is not made, and the child copies the table.
    /// Forked, because the switch is global.
    @Test(arguments: [false, true]) func childSeesOnlyItsFdsWithoutCloseRangeToo(handoff: Bool) throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let passed = openFiles(["a", "b"], in: directory)
        defer { for fd in passed { try? fd.close() } }
        let status = LinuxTestSupport.inForkedChild {
            swatch_spawn_test_set_without_close_range(1)
            if handoff {
                guard !Self.prepareHandoffWithALargeTable(), swatch_spawn_prepare_handoff() == ENOSYS else { return 5 }
            }
            // A non-close-on-exec fd far up, as swatchd may inherit from its own parent
            // (docs/HACKING.md "Spawning": 251 was seen).
            guard dup2(0, 300) == 300 else { return 2 }
            guard let pid = try? Spawner.spawn(SpawnRequest(
                executable: "/bin/sh", arguments: ["sh", "-c", Self.introspection, "sh", directory], fds: passed))
            else { return 3 }
            guard swatch_spawn_handoff_count() == 0 else { return 6 }
            return (try? Reaper.wait(for: pid)) == .exited(0) ? 0 : 4
        }
        #expect(status == .exited(0))
        let fds = lines(LinuxTestSupport.read(directory + "/fds")).compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2, 3, 4, 5])  // 5: ls's own directory
        #expect(Array(lines(LinuxTestSupport.read(directory + "/links")).prefix(2)) == [directory + "/a", directory + "/b"])
    }

    /// The spawner itself must not leak: /dev/null, the child's stack and the
    /// fds of failed starts are released. Counted in a forked copy of the test
    /// process, where no parallel test opens or closes fds meanwhile.
    @Test(arguments: [false, true]) func spawningLeavesTheParentsFdsAsTheyWere(handoff: Bool) {
        let status = LinuxTestSupport.inForkedChild {
            if handoff { guard Self.prepareHandoffWithALargeTable() else { return 5 } }
            func openFds() -> Int32 {
                guard let dir = opendir("/proc/self/fd") else { return -1 }
                var count: Int32 = 0
                while readdir(dir) != nil { count += 1 }
                closedir(dir)
                return count
            }
            let passed = [FileDescriptor(rawValue: 0), FileDescriptor(rawValue: 1)]
            let before = openFds()
            for round in 0..<100 {
                let request = round % 2 == 0
                    ? SpawnRequest(executable: "/bin/true", fds: passed)
                    : SpawnRequest(executable: "/nonexistent/swatch-test", fds: passed)
                if let pid = try? Spawner.spawn(request) {
                    guard (try? Reaper.wait(for: pid)) == .exited(0) else { return 2 }
                }
            }
            guard swatch_spawn_handoff_count() == (handoff ? 100 : 0) else { return 4 }
            return openFds() == before ? 0 : 3
        }
        #expect(status == .exited(0))
    }

    /// swatchd's way (Daemon.run prepares it first thing): the child shares the
    /// parent's descriptor table only until it takes its own descriptors from a
    /// datagram (shim.c, "Handing the child its descriptors"). It sees exactly
    /// its own, in order, however many the parent holds.
    @Test func withTheHandoffTheChildSeesExactlyItsFdsWhileTheParentHoldsMany() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let status = LinuxTestSupport.inForkedChild {
            guard Self.prepareHandoffWithALargeTable() else { return 2 }
            // 200 more, one of them not close-on-exec, as swatchd may inherit from its parent.
            for _ in 0..<200 { guard fcntl(0, F_DUPFD_CLOEXEC, 3) >= 0 else { return 3 } }
            guard fcntl(0, F_DUPFD, 3) >= 0 else { return 3 }
            let passed = openFiles(["a", "b", "c"], in: directory)
            guard let pid = try? Spawner.spawn(SpawnRequest(
                executable: "/bin/sh", arguments: ["sh", "-c", Self.introspection, "sh", directory],
                environment: ["PATH=/usr/bin:/bin"], listenPID: true, fds: passed))
            else { return 4 }
            guard swatch_spawn_handoff_count() == 1 else { return 6 }
            return (try? Reaper.wait(for: pid)) == .exited(0) ? 0 : 5
        }
        #expect(status == .exited(0))
        let fds = lines(LinuxTestSupport.read(directory + "/fds")).compactMap { Int($0) }.sorted()
        #expect(fds == [0, 1, 2, 3, 4, 5, 6])  // 6: ls's own directory
        #expect(lines(LinuxTestSupport.read(directory + "/links")) == ["a", "b", "c"].map { directory + "/" + $0 })
        let pids = LinuxTestSupport.read(directory + "/pids").split(separator: " ")
        #expect(pids.count == 3 && pids[0] == pids[1], "\(pids)")
    }

    /// A child that fails before it takes its datagram (here: joining a
    /// "cgroup" that is a plain directory) leaves it queued; the parent closes
    /// what it carried, so nothing keeps the passed file open and the next
    /// child gets its own descriptors, not the stale ones.
    @Test func aChildThatFailsBeforeItsHandoffLeavesNoDescriptorBehind() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let status = LinuxTestSupport.inForkedChild {
            guard Self.prepareHandoffWithALargeTable() else { return 8 }
            var ends: [CInt] = [-1, -1]
            guard swatch_pipe2(&ends, O_CLOEXEC | O_NONBLOCK) == 0 else { return 2 }
            let notACgroup = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard notACgroup >= 0 else { return 2 }
            do {
                _ = try Spawner.spawn(SpawnRequest(
                    executable: "/bin/true", fds: [FileDescriptor(rawValue: ends[1])],
                    cgroup: FileDescriptor(rawValue: notACgroup)))
                return 3
            } catch {
                guard (error as? SpawnError)?.step == "cgroup" else { return 4 }
            }
            guard swatch_spawn_handoff_count() == 1 else { return 9 }
            // The write end's last reference is ours: closed, the read end sees EOF.
            close(ends[1])
            var byte: UInt8 = 0
            guard Glibc.read(ends[0], &byte, 1) == 0 else { return 5 }
            let passed = openFiles(["a", "b", "c"], in: directory)
            guard let pid = try? Spawner.spawn(SpawnRequest(
                executable: "/bin/sh", arguments: ["sh", "-c", Self.introspection, "sh", directory], fds: passed))
            else { return 6 }
            return (try? Reaper.wait(for: pid)) == .exited(0) ? 0 : 7
        }
        #expect(status == .exited(0))
        #expect(lines(LinuxTestSupport.read(directory + "/links")) == ["a", "b", "c"].map { directory + "/" + $0 })
    }

    @Test func missingExecutableFailsWithENOENTAtExecve() {
        #expect(throws: SpawnError(errno: .noSuchFileOrDirectory, step: "execve")) {
            try Spawner.spawn(SpawnRequest(executable: "/nonexistent/swatch-test"))
        }
        do {
            _ = try Spawner.spawn(SpawnRequest(executable: "/nonexistent/swatch-test"))
        } catch {
            #expect(error.description == "No such file or directory")
        }
    }

    @Test func failingStepsAreNamed() {
        #expect(throws: SpawnError(errno: .noSuchFileOrDirectory, step: "chdir")) {
            try Spawner.spawn(SpawnRequest(executable: "/bin/true", workingDirectory: "/nonexistent/dir"))
        }
        #expect(throws: SpawnError(errno: .permissionDenied, step: "execve")) {
            try Spawner.spawn(SpawnRequest(executable: "/etc/passwd"))
        }
        #expect(throws: SpawnError(errno: .invalidArgument, step: "execve")) {
            try Spawner.spawn(SpawnRequest(executable: "relative/true"))
        }
    }

    @Test func exitStatusesAreDecoded() throws {
        let exited = try Spawner.spawn(SpawnRequest(executable: "/bin/sh", arguments: ["sh", "-c", "exit 3"]))
        #expect(LinuxTestSupport.waitForExit(exited) == .exited(3))
        let killed = try Spawner.spawn(SpawnRequest(executable: "/bin/sh", arguments: ["sh", "-c", "kill -9 $$"]))
        #expect(LinuxTestSupport.waitForExit(killed) == .signaled(9, coreDumped: false))
        let sleeper = try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "100"]))
        #expect(try Reaper.poll(sleeper) == nil)
        #expect(try Reaper.kill(sleeper, signal: SIGTERM))
        #expect(LinuxTestSupport.waitForExit(sleeper) == .signaled(SIGTERM, coreDumped: false))
        // Gone and reaped: ESRCH is an answer, not an error.
        #expect(try Reaper.kill(sleeper, signal: SIGTERM) == false)
    }

    @Test func resolvesPlainNamesInPath() {
        #expect(Spawner.resolveExecutable("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(Spawner.resolveExecutable("sh", path: "/usr/bin/:/bin") == "/usr/bin/sh")
        #expect(Spawner.resolveExecutable("/usr/bin/env", path: "") == "/usr/bin/env")
        #expect(Spawner.resolveExecutable("bin/sh", path: "/") == nil)
        #expect(Spawner.resolveExecutable("no-such-program-swatch", path: "/bin:/usr/bin") == nil)
        // A directory of that name is not a program.
        #expect(Spawner.resolveExecutable("tmp", path: "/") == nil)
        // Not executable.
        #expect(Spawner.resolveExecutable("passwd", path: "/etc") == nil)
    }
}
