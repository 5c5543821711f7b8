import Foundation
import Glibc

/// How a child process ended, as waitpid(2) tells it.
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED/WEXITSTATUS/WTERMSIG are macros Swift does not import.
        if status & 0x7f == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .signaled(status & 0x7f)
        }
    }

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// Starting child processes with posix_spawn(3) rather than Foundation's
/// Process: the harness decides exactly which fds the child gets (a log file
/// on 1 and 2, /dev/null on 0, optionally a stray inherited fd), starts it
/// with every signal at its default disposition and an empty mask — as a
/// shell would — and in a process group of its own.
enum Command {
    /// What the spawned child's fds 0–2 are, and any extra fd it inherits.
    struct Plumbing {
        /// stdout and stderr go (appended) to this file.
        var outputPath: String
        /// When set, stderr goes to this file instead of `outputPath`.
        var errorPath: String?
        /// Fd numbers left open (on /dev/null) in the child without
        /// FD_CLOEXEC, as a careless parent leaves them: swatchd must not
        /// pass them on to its services (docs/HACKING.md "Spawning").
        var strayFDs: [Int32] = []
    }

    /// Spawns `argv` (argv[0] an absolute path) with exactly `environment`.
    static func spawn(_ argv: [String], environment: [String: String], plumbing: Plumbing) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, plumbing.outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorPath = plumbing.errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        for fd in plumbing.strayFDs {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDONLY, 0)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.sorted(by: { $0.key < $1.key }).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw HarnessError("posix_spawn \(argv[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for `pid` until `timeout`; nil if it is still running then.
    static func wait(_ pid: pid_t, timeout: Duration) -> ExitStatus? {
        var result: ExitStatus?
        try? waitUntil("pid \(pid) exits", timeout: timeout, interval: .milliseconds(5)) {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                result = ExitStatus(waitStatus: status)
                return true
            }
            return reaped < 0 && errno != EINTR  // ECHILD: not ours, or already reaped
        }
        return result
    }

    /// What a finished command printed.
    struct Output {
        var status: ExitStatus
        var standardOutput: String
        var standardError: String
    }

    /// Runs `argv` to completion (killed after `timeout`) and returns its
    /// status and output. stdout and stderr are separate files, so a chatty
    /// child never blocks on a full pipe.
    static func run(
        _ argv: [String],
        environment: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        timeout: Duration = .seconds(30)
    ) throws -> Output {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let out = directory.path + "/stdout", err = directory.path + "/stderr"
        let pid = try spawn(argv, environment: environment, plumbing: Plumbing(outputPath: out, errorPath: err))
        guard let status = wait(pid, timeout: timeout) else {
            kill(pid, SIGKILL)
            _ = wait(pid, timeout: .seconds(5))
            throw HarnessError("\(argv.joined(separator: " ")) did not finish within \(timeout)")
        }
        return Output(status: status, standardOutput: readText(out) ?? "", standardError: readText(err) ?? "")
    }
}

/// A fresh directory `/tmp/sw-XXXXXX`: short, because unix socket paths
/// inside it must stay under 108 bytes (sockaddr_un.sun_path).
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/sw-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw HarnessError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// Removes the directory and everything in it.
    func remove() {
        precondition(path.hasPrefix("/tmp/sw-"))
        try? FileManager.default.removeItem(atPath: path)
    }
}
