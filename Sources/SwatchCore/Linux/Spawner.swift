import CSwatch
import Glibc
import SystemPackage

/// Everything one process start needs. The fds are borrowed: the caller keeps
/// owning them (and closes them after `spawn` if they were only for the child).
public struct SpawnRequest: Sendable {
    /// An absolute path (resolve plain names first with `Spawner.resolveExecutable`).
    public var executable: String
    /// argv, argv[0] included; empty means `[executable]`.
    public var arguments: [String]
    /// The child's whole environment as `KEY=VALUE`, without LISTEN_PID and
    /// WATCHDOG_PID: those are the child's own pid, written in the child.
    public var environment: [String]
    /// Append `LISTEN_PID=<the child's pid>` (sd_listen_fds(3)).
    public var listenPID: Bool
    /// Append `WATCHDOG_PID=<the child's pid>` (sd_watchdog_enabled(3)).
    public var watchdogPID: Bool
    /// The fds the child gets as 3, 4, ... in this order; nothing else stays open.
    public var fds: [FileDescriptor]
    /// The child's 0, 1, 2; nil is /dev/null.
    public var stdin: FileDescriptor?
    public var stdout: FileDescriptor?
    public var stderr: FileDescriptor?
    /// WorkingDirectory=; `/` as systemd.
    public var workingDirectory: String
    /// UMask=; 0022 as systemd.
    public var umask: mode_t
    /// The service's `cgroup.procs` (from `ProcessTracker.prepare`): the child
    /// joins that cgroup before it can fork anything.
    public var cgroupProcs: FileDescriptor?
    /// NonBlocking=: the passed fds keep O_NONBLOCK; by default the child clears it.
    public var nonBlocking = false

    public init(
        executable: String, arguments: [String] = [], environment: [String] = [],
        listenPID: Bool = false, watchdogPID: Bool = false, fds: [FileDescriptor] = [],
        stdin: FileDescriptor? = nil, stdout: FileDescriptor? = nil, stderr: FileDescriptor? = nil,
        workingDirectory: String = "/", umask: mode_t = 0o022, cgroupProcs: FileDescriptor? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.listenPID = listenPID
        self.watchdogPID = watchdogPID
        self.fds = fds
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.workingDirectory = workingDirectory
        self.umask = umask
        self.cgroupProcs = cgroupProcs
    }
}

/// A start that did not reach the program: which step failed and its errno.
/// The description is the errno's text, so a log line reads
/// `Failed to spawn hello.service: No such file or directory`.
public struct SpawnError: Error, Hashable, CustomStringConvertible {
    public var errno: Errno
    /// `execve`, `chdir`, `fds`, `cgroup`, `setsid`, `clone`, ...
    public var step: String
    public init(errno: Errno, step: String) {
        self.errno = errno
        self.step = step
    }
    public var description: String { errno.description }
}

/// Starts processes the way systemd's exec does, through the C shim's
/// clone(CLONE_VM|CLONE_VFORK) (NOTES, "Spawning"; DESIGN §4): fds at
/// 3..3+N-1, LISTEN_PID written by the child itself, a clean signal state, a
/// new session, and nothing else open.
public enum Spawner {
    /// Starts `request.executable`; returns once it runs (execve succeeded).
    /// The corresponding C function is `swatch_spawn`.
    public static func spawn(_ request: SpawnRequest) throws(SpawnError) -> pid_t {
        guard request.executable.hasPrefix("/") else {
            throw SpawnError(errno: .invalidArgument, step: "execve")
        }
        // /dev/null for the standard fds that were not given, opened here: the
        // child may only move fds, not open them (async-signal-safety aside, an
        // open failing there would be harder to report).
        var devNull: CInt = -1
        if request.stdin == nil || request.stdout == nil || request.stderr == nil {
            do {
                devNull = try retryingOnInterrupt { open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY) }
            } catch {
                throw SpawnError(errno: error, step: "open /dev/null")
            }
        }
        defer { if devNull >= 0 { _ = close(devNull) } }

        let argv = CStringArray(request.arguments.isEmpty ? [request.executable] : request.arguments)
        let envp = CStringArray(request.environment)
        // Room for the pid in the envp strings, prepared before the clone: the
        // child may not allocate (it shares our memory and our malloc locks).
        let listenSlot = request.listenPID ? envp.appendSlot("LISTEN_PID=") : nil
        let watchdogSlot = request.watchdogPID ? envp.appendSlot("WATCHDOG_PID=") : nil
        envp.terminate()
        argv.terminate()

        let fds = request.fds.map { $0.rawValue }
        var pid: pid_t = 0
        var step: CInt = 0
        let result = request.executable.withCString { path in
            request.workingDirectory.withCString { directory in
                fds.withUnsafeBufferPointer { fdBuffer in
                    argv.pointers.withUnsafeBufferPointer { argvBuffer in
                        envp.pointers.withUnsafeBufferPointer { envpBuffer in
                            var raw = swatch_spawn_request(
                                path: path,
                                argv: argvBuffer.baseAddress!,
                                envp: envpBuffer.baseAddress!,
                                fds: fdBuffer.baseAddress,
                                fd_count: CInt(fdBuffer.count),
                                nonblocking: request.nonBlocking ? 1 : 0,
                                stdin_fd: request.stdin?.rawValue ?? devNull,
                                stdout_fd: request.stdout?.rawValue ?? devNull,
                                stderr_fd: request.stderr?.rawValue ?? devNull,
                                working_directory: directory,
                                umask: request.umask,
                                cgroup_procs_fd: request.cgroupProcs?.rawValue ?? -1,
                                listen_pid_slot: listenSlot,
                                watchdog_pid_slot: watchdogSlot
                            )
                            return swatch_spawn(&raw, &pid, &step)
                        }
                    }
                }
            }
        }
        guard result == 0 else {
            throw SpawnError(errno: Errno(rawValue: result), step: String(cString: swatch_spawn_step_name(step)))
        }
        return pid
    }

    /// The executable for a plain name of ExecStart= (systemd ≥ 239 looks
    /// plain names up in PATH): the first `dir/name` in `path` (colon-separated)
    /// that is a regular file we may execute. A name with a slash is returned
    /// as it is when it is absolute, nil otherwise (DESIGN §3: a relative path
    /// with a slash is an error).
    public static func resolveExecutable(_ name: String, path: String) -> String? {
        if name.contains("/") { return name.hasPrefix("/") ? name : nil }
        guard !name.isEmpty else { return nil }
        for directory in path.split(separator: ":", omittingEmptySubsequences: true) where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            var info = Glibc.stat()
            guard stat(candidate, &info) == 0, FileSystem.type(info.st_mode) == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A NULL-terminated array of C strings that lives as long as this object
/// (argv and envp for the spawn shim).
private final class CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
    }

    /// Appends `prefix` followed by 21 bytes of room (a pid in decimal and its
    /// NUL); returns where the child writes the digits.
    func appendSlot(_ prefix: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(prefix.utf8CString.dropLast())
        // calloc, as strdup allocates the others: deinit frees all with free().
        let string = calloc(bytes.count + 21, 1)!.assumingMemoryBound(to: CChar.self)
        for (index, byte) in bytes.enumerated() { string[index] = byte }
        pointers.append(string)
        return string + bytes.count
    }

    func terminate() { pointers.append(nil) }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}
