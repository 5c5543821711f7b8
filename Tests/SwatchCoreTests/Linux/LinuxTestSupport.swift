import CSwatch
import Glibc
import SystemPackage
@testable import SwatchCore

/// Helpers of the Linux-layer suites: temporary directories with short paths
/// (sun_path holds 108 bytes), condition polling with a deadline, and a forked
/// copy of the test process for what needs a single-threaded process.
enum LinuxTestSupport {
    /// A fresh directory under /tmp (short, for unix socket paths); removed by `removeTree`.
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/swt-XXXXXX".utf8CString)
        guard let path = mkdtemp(&template) else { fatalError("mkdtemp: \(Errno(rawValue: errno))") }
        return String(cString: path)
    }

    /// `rm -rf` for the trees the tests make (plain files, sockets, FIFOs, directories).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR, let dir = opendir(path) {
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(dir)
            for name in names { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Polls `condition` until it holds or `seconds` pass: a bounded wait for
    /// something another process does, never a fixed sleep.
    static func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + UInt64(seconds * 1_000_000)
        while MonotonicClock.now() < deadline {
            if condition() { return true }
            usleep(2_000)
        }
        return condition()
    }

    /// Waits for a spawned child, with a deadline (SIGKILL after it, then nil).
    static func waitForExit(_ pid: pid_t, within seconds: Double = 20) -> ExitStatus? {
        var status: ExitStatus?
        if eventually(within: seconds, { status = try? Reaper.poll(pid); return status != nil }) { return status }
        _ = try? Reaper.kill(pid, signal: SIGKILL)
        _ = try? Reaper.wait(for: pid)
        return nil
    }

    /// Runs `body` in a forked copy of the test process and returns its exit
    /// status (nil on timeout). The copy has one thread, so it can block
    /// signals process-wide, own fd numbers 3 and 4, and reap any child — none
    /// of which the parallel test runner allows. `body` returns the exit code:
    /// 0 for success, a distinct number per failed check.
    ///
    /// Only the forking thread survives in the copy: a runtime lock another
    /// thread held at that moment stays held. So bodies keep to plain code
    /// (no key paths, no new generic types), and `warmUp` first instantiates,
    /// in the parent, what the spawn and signal paths use.
    static func inForkedChild(within seconds: Double = 30, _ body: () -> Int32) -> ExitStatus? {
        warmUp()
        let pid = fork()
        precondition(pid >= 0, "fork: \(Errno(rawValue: errno))")
        if pid == 0 {
            _exit(body())
        }
        return waitForExit(pid, within: seconds)
    }

    /// Runs, in the parent, the code paths forked bodies use.
    private static func warmUp() {
        if let pid = try? Spawner.spawn(SpawnRequest(executable: "/bin/true", fds: [FileDescriptor(rawValue: 0)])) {
            _ = waitForExit(pid)
        }
        var saved = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &saved)
        if let signals = try? SignalFD(signals: [SIGUSR2]) {
            // Iterated too: a forked body that loops over what it read must find the
            // iterator's generic metadata made already. Making it takes a runtime lock,
            // which another thread of this test process may have held at fork().
            for info in (try? signals.read()) ?? [] { _ = (info.signal, info.senderPID) }
        }
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        let reaped: [(pid: pid_t, status: ExitStatus)] = [(1, .exited(0)), (2, .signaled(9, coreDumped: false))]
        _ = reaped.first { $0.status == .exited(0) }
    }

    /// Opens `path` with `flags` (close-on-exec added), or traps.
    static func open(_ path: String, _ flags: CInt, mode: mode_t = 0o644) -> FileDescriptor {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        precondition(fd >= 0, "open \(path): \(Errno(rawValue: errno))")
        return FileDescriptor(rawValue: fd)
    }

    /// The text of a file, or "" when it cannot be read.
    static func read(_ path: String) -> String {
        (try? FileSystem.readText(path)) ?? ""
    }

    /// `lstat`.
    static func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// A connected client socket (blocking, close-on-exec) to `address`, or the errno.
    static func connect(_ address: SocketAddress, type: CInt = CInt(SOCK_STREAM.rawValue)) -> Result<FileDescriptor, Errno> {
        let fd = socket(address.family, type | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            let error = Errno(rawValue: errno)
            close(fd)
            return .failure(error)
        }
        return .success(FileDescriptor(rawValue: fd))
    }

    /// `fcntl(F_GETFD) & FD_CLOEXEC`
    static func isCloseOnExec(_ fd: FileDescriptor) -> Bool {
        fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0
    }

    /// `fcntl(F_GETFL) & O_NONBLOCK`
    static func isNonBlocking(_ fd: FileDescriptor) -> Bool {
        fcntl(fd.rawValue, F_GETFL) & O_NONBLOCK != 0
    }
}
