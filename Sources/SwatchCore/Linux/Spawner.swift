import CSwatch
import Glibc
import SystemPackage

/// Everything one process start needs. The fds are borrowed: the caller keeps
/// owning them (and closes them after `spawn` if they were only for the child).
package struct SpawnRequest: Sendable {
    /// An absolute path (resolve plain names first with `Spawner.resolveExecutable`).
    package var executable: String
    /// argv, argv[0] included; empty means `[executable]`.
    package var arguments: [String] = []
    /// The child's whole environment as `KEY=VALUE`, without LISTEN_PID and
    /// WATCHDOG_PID: those are the child's own pid, written in the child.
    package var environment: [String] = []
    /// Append `LISTEN_PID=<the child's pid>` (sd_listen_fds(3)).
    package var listenPID: Bool = false
    /// Append `WATCHDOG_PID=<the child's pid>` (sd_watchdog_enabled(3)).
    package var watchdogPID: Bool = false
    /// The fds the child gets as 3, 4, ... in this order; nothing else stays open.
    package var fds: [FileDescriptor] = []
    /// The child's 0, 1, 2; nil is /dev/null.
    package var stdin: FileDescriptor?
    package var stdout: FileDescriptor?
    package var stderr: FileDescriptor?
    /// WorkingDirectory=; `/` as systemd.
    package var workingDirectory: String = "/"
    /// UMask=; 0022 as systemd.
    package var umask: mode_t = 0o022
    /// The service's cgroup directory (from `ProcessTracker.prepare`): the
    /// child is created in that cgroup (clone3 CLONE_INTO_CGROUP), or joins it
    /// before it can fork anything where the kernel cannot do that.
    package var cgroup: FileDescriptor?
    /// The sandbox (systemd.exec(5)), applied by the child in this order after
    /// the fds are in place and before chdir; empty: none (`SandboxPlan` builds it).
    package var sandbox: [SandboxStep] = []
    /// NonBlocking=: the passed fds keep O_NONBLOCK; by default the child clears it.
    package var nonBlocking = false
    /// PrivatePIDs=: the child is made in a new PID namespace (CLONE_NEWPID), of which it is
    /// PID 1; its LISTEN_PID is then 1, written by itself.
    package var newPIDNamespace = false
    /// IgnoreSIGPIPE=: the program starts with SIGPIPE ignored. Off for a bare
    /// request (every disposition at its default); a service's follows its unit.
    package var ignoreSIGPIPE = false
    /// StandardInput=tty*: fd 0 (a terminal) becomes the controlling terminal of the
    /// child's new session; `.force` takes it from another session (TIOCSCTTY, tty_ioctl(4)).
    package var controllingTerminal: TerminalAcquisition?
}

/// A start that did not reach the program: which step failed and its errno.
/// The description is the errno's text, so a log line reads
/// `Failed to spawn hello.service: No such file or directory`; a sandbox step
/// names its directive first: `Failed to spawn hello.service: PrivateDevices=: Operation not permitted`.
package struct SpawnError: Error, Hashable, CustomStringConvertible {
    package var errno: Errno
    /// `execve`, `chdir`, `fds`, `cgroup`, `setsid`, `clone`, `mount`, `setresuid`, ...
    package var step: String
    /// The directive whose sandbox step failed (`PrivateDevices=`), nil for the other steps.
    package var directive: String?
    package var description: String {
        guard let directive else { return errno.description }
        // (Only a swatchd that is not root sets up a user namespace: UnprivilegedSandbox.)
        return step == "userns" ? "\(directive): no user namespace for swatchd, which is not root: \(errno)"
            : step == "private_users_map" ? "\(directive): cannot write the maps of the service's user namespace: \(errno)"
            : "\(directive): \(errno)"
    }
}

/// Starts processes the way systemd's exec does, through the C shim's
/// clone(CLONE_VM|CLONE_VFORK) (docs/HACKING.md "Spawning"; sd_listen_fds(3)): fds at
/// 3..3+N-1, LISTEN_PID written by the child itself, a clean signal state, a
/// new session, and nothing else open. With a cgroup, clone3's
/// CLONE_INTO_CGROUP (Linux 5.7) creates the child in it: a write to
/// cgroup.procs would migrate it, and the first migration after a quiet spell
/// waits for an RCU grace period (6-9 ms here, scripts/bench 2b).
package enum Spawner {
    /// Makes the socket pair through which each child is handed its descriptors,
    /// so that it does not copy swatchd's whole descriptor table (one listening
    /// socket per `Listen*=` line) only to close it at execve. Called first
    /// thing, while the table holds little more than 0, 1 and 2: a child still
    /// copies what lies below the pair. Without it, or where it failed, spawns
    /// copy the table. The corresponding C function is `swatch_spawn_prepare_handoff`.
    /// `SWATCHD_DESCRIPTOR_HANDOFF` set false asks swatchd not to call this (swatchd(8),
    /// ENVIRONMENT), for tools that cannot follow a clone(2) with CLONE_FILES (valgrind,
    /// which scripts/link-order runs swatchd under).
    package static func prepareDescriptorHandoff() {
        _ = swatch_spawn_prepare_handoff()
    }

    /// Notes which signals this process does not leave at their default disposition
    /// — in swatchd SIGPIPE alone, which it ignores (what its parent ignored it put
    /// back, `SignalFD.resetInheritedDispositions`) — so that each child resets those
    /// alone before execve, not all 62 (a system call each, ~45 µs of every spawn on
    /// the machine of docs/HACKING.md "Spawning"). Called once swatchd has set its own
    /// dispositions; it changes none after (it reads signals through a signalfd and
    /// catches none). Until then, and in a process that never calls it, every child
    /// resets every signal. The corresponding C function is `swatch_spawn_prepare_signals`.
    package static func prepareSignalReset() {
        _ = swatch_spawn_prepare_signals()
    }

    /// Starts `request.executable`; returns once it runs (execve succeeded).
    /// The corresponding C function is `swatch_spawn`.
    package static func spawn(_ request: SpawnRequest) throws(SpawnError) -> pid_t {
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
        let sandbox = SandboxOperationArray(request.sandbox)
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
                                new_pid_namespace: request.newPIDNamespace ? 1 : 0,
                                ignore_sigpipe: request.ignoreSIGPIPE ? 1 : 0,
                                controlling_terminal: request.controllingTerminal.map { $0 == .force ? 2 : 1 } ?? 0,
                                stdin_fd: request.stdin?.rawValue ?? devNull,
                                stdout_fd: request.stdout?.rawValue ?? devNull,
                                stderr_fd: request.stderr?.rawValue ?? devNull,
                                working_directory: directory,
                                umask: request.umask,
                                cgroup_fd: request.cgroup?.rawValue ?? -1,
                                listen_pid_slot: listenSlot,
                                watchdog_pid_slot: watchdogSlot,
                                sandbox: sandbox.operations.isEmpty ? nil : sandbox.operations.baseAddress,
                                sandbox_count: CInt(sandbox.operations.count),
                                sandbox_failed_index: sandbox.failedIndex
                            )
                            return swatch_spawn(&raw, &pid, &step)
                        }
                    }
                }
            }
        }
        guard result == 0 else {
            let failed = Int(sandbox.failedIndex.pointee)
            let stepName = String(cString: swatch_spawn_step_name(step))
            let directive = request.sandbox.indices.contains(failed) ? request.sandbox[failed].directive
                : stepName == "TIOCSCTTY" ? "StandardInput=: TIOCSCTTY" : nil
            throw SpawnError(errno: Errno(rawValue: result), step: stepName, directive: directive)
        }
        return pid
    }

    /// The executable for a plain name of ExecStart= (systemd ≥ 239 looks
    /// plain names up in PATH): the first `dir/name` in `path` (colon-separated)
    /// that is a regular file we may execute. A name with a slash is returned
    /// as it is when it is absolute, nil otherwise (swatchd.service(5): a relative path
    /// with a slash is an error).
    package static func resolveExecutable(_ name: String, path: String) -> String? {
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

/// The C form of a sandbox (`struct swatch_sandbox_op` array), with every
/// string and group list it points to, alive as long as this object: built
/// before the clone, read by the child, freed after.
private final class SandboxOperationArray {
    let operations: UnsafeMutableBufferPointer<swatch_sandbox_op>
    /// Where the child writes the index of the operation that failed; -1 until then.
    let failedIndex: UnsafeMutablePointer<CInt>
    private var allocations: [UnsafeMutableRawPointer] = []

    init(_ steps: [SandboxStep]) {
        operations = .allocate(capacity: steps.count)
        failedIndex = .allocate(capacity: 1)
        failedIndex.initialize(to: -1)
        for (index, step) in steps.enumerated() {
            var op = swatch_sandbox_op()
            op.ignore = step.ignore.rawValue
            switch step.operation {
            case .setLimit(let resource, let soft, let hard):
                op.kind = Int32(SWATCH_SANDBOX_SETRLIMIT.rawValue)
                op.number = Int(resource)
                op.value = soft
                op.value2 = hard
            case .setNice(let nice):
                op.kind = Int32(SWATCH_SANDBOX_SETPRIORITY.rawValue)
                op.number = Int(nice)
            case .setScheduler(let policy, let priority):
                op.kind = Int32(SWATCH_SANDBOX_SCHED_SETSCHEDULER.rawValue)
                op.number = Int(policy)
                op.value = UInt64(priority)
            case .setIOPriority(let value):
                op.kind = Int32(SWATCH_SANDBOX_IOPRIO_SET.rawValue)
                op.number = Int(value)
            case .setCPUAffinity(let words):
                op.kind = Int32(SWATCH_SANDBOX_SCHED_SETAFFINITY.rawValue)
                (op.program, op.program_length) = (bytes(of: words), Int32(words.count * 8))
            case .setMemoryPolicy(let mode, let nodes):
                op.kind = Int32(SWATCH_SANDBOX_SET_MEMPOLICY.rawValue)
                op.number = Int(mode)
                (op.program, op.program_length) = (bytes(of: nodes), Int32(nodes.count * 8))
            case .setTimerSlack(let nanoseconds):
                op.kind = Int32(SWATCH_SANDBOX_TIMER_SLACK.rawValue)
                op.value = nanoseconds
            case .setPersonality(let persona):
                op.kind = Int32(SWATCH_SANDBOX_PERSONALITY.rawValue)
                op.number = persona
            case .joinSessionKeyring(let linkUserKeyring, let owner, let invocationID):
                op.kind = Int32(SWATCH_SANDBOX_SESSION_KEYRING.rawValue)
                op.number = linkUserKeyring ? 1 : 0
                op.value = owner.uid.map { UInt64($0) } ?? .max
                op.value2 = owner.gid.map { UInt64($0) } ?? .max
                if !invocationID.isEmpty { (op.program, op.program_length) = (bytes(of: invocationID), Int32(invocationID.count)) }
            case .writeFile(let path, let text):
                op.kind = Int32(SWATCH_SANDBOX_WRITE_FILE.rawValue)
                op.path = string(path)
                op.data = string(text)
            case .enterUserNamespace(let uid, let gid):
                op.kind = Int32(SWATCH_SANDBOX_USER_NAMESPACE.rawValue)
                op.number = Int(uid)
                op.value = UInt64(gid)
            case .privateUsers(let uid, let gid):
                op.kind = Int32(SWATCH_SANDBOX_PRIVATE_USERS.rawValue)
                op.number = Int(uid)
                op.value = UInt64(gid)
            case .unshareMountNamespace:
                op.kind = Int32(SWATCH_SANDBOX_UNSHARE.rawValue)
                op.number = Int(SWATCH_CLONE_NEWNS)
            case .setSecureBits(let bits):
                op.kind = Int32(SWATCH_SANDBOX_SECUREBITS.rawValue)
                op.number = Int(bits)
            case .joinNamespace(let path, let type):
                op.kind = Int32(SWATCH_SANDBOX_SETNS.rawValue)
                op.path = string(path)
                op.number = Int(type)
            case .unshareNamespaces(let flags):
                op.kind = Int32(SWATCH_SANDBOX_UNSHARE.rawValue)
                op.number = Int(flags)
            case .interfaceUp(let name):
                op.kind = Int32(SWATCH_SANDBOX_INTERFACE_UP.rawValue)
                op.path = string(name)
            case .loadSeccompFilter(let program):
                op.kind = Int32(SWATCH_SANDBOX_SECCOMP.rawValue)
                op.program = bytes(of: program.bytes)
                op.program_length = CInt(program.instructionCount)
            case .mount(let source, let target, let type, let flags, let data):
                op.kind = Int32(SWATCH_SANDBOX_MOUNT.rawValue)
                op.source = source.map(string)
                op.path = string(target)
                op.fstype = type.map(string)
                op.flags = flags.rawValue
                op.data = data.map(string)
            case .remount(let target, let flags):
                op.kind = Int32(SWATCH_SANDBOX_REMOUNT.rawValue)
                op.path = string(target)
                op.flags = flags.rawValue
            case .remountExecutable(let target, let flags):
                op.kind = Int32(SWATCH_SANDBOX_REMOUNT.rawValue)
                op.path = string(target)
                op.flags = flags.rawValue
                op.number = Int(MountFlags.noExec.rawValue)
            case .makeDirectory(let path, let mode):
                op.kind = Int32(SWATCH_SANDBOX_MKDIR.rawValue)
                op.path = string(path)
                op.number = Int(mode)
            case .createFile(let path, let mode):
                op.kind = Int32(SWATCH_SANDBOX_CREATE_FILE.rawValue)
                op.path = string(path)
                op.number = Int(mode)
            case .symlink(let destination, let path):
                op.kind = Int32(SWATCH_SANDBOX_SYMLINK.rawValue)
                op.source = string(destination)
                op.path = string(path)
            case .dropBoundingCapability(let capability):
                op.kind = Int32(SWATCH_SANDBOX_CAPBSET_DROP.rawValue)
                op.number = Int(capability)
            case .keepCapabilities(let on):
                op.kind = Int32(SWATCH_SANDBOX_KEEPCAPS.rawValue)
                op.number = on ? 1 : 0
            case .setGroups(let groups):
                op.kind = Int32(SWATCH_SANDBOX_SETGROUPS.rawValue)
                // malloc, as strdup allocates the strings: deinit frees all with free().
                let buffer = malloc(max(groups.count, 1) * MemoryLayout<gid_t>.stride)!.assumingMemoryBound(to: gid_t.self)
                buffer.initialize(from: groups, count: groups.count)
                allocations.append(UnsafeMutableRawPointer(buffer))
                op.groups = UnsafePointer(buffer)
                op.group_count = CInt(groups.count)
            case .setGroupID(let gid):
                op.kind = Int32(SWATCH_SANDBOX_SETRESGID.rawValue)
                op.number = Int(gid)
            case .setUserID(let uid):
                op.kind = Int32(SWATCH_SANDBOX_SETRESUID.rawValue)
                op.number = Int(uid)
            case .setCapabilities(let permitted, let inheritable):
                op.kind = Int32(SWATCH_SANDBOX_CAPSET.rawValue)
                op.value = permitted
                op.value2 = inheritable
            case .raiseAmbientCapability(let capability):
                op.kind = Int32(SWATCH_SANDBOX_AMBIENT_RAISE.rawValue)
                op.number = Int(capability)
            case .noNewPrivileges:
                op.kind = Int32(SWATCH_SANDBOX_NO_NEW_PRIVS.rawValue)
            }
            (operations.baseAddress! + index).initialize(to: op)
        }
    }

    /// A copy of `text` that lives until deinit.
    private func string(_ text: String) -> UnsafePointer<CChar> {
        let copy = strdup(text)!
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    /// A copy of `elements` for the child (a bit mask's words, a seccomp program, the
    /// invocation ID), malloc'ed as the strings are: deinit frees all with free().
    private func bytes<Element: FixedWidthInteger>(of elements: [Element]) -> UnsafeRawPointer {
        let buffer = malloc(max(elements.count * MemoryLayout<Element>.stride, 1))!
        elements.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: $0.count) } }
        allocations.append(buffer)
        return UnsafeRawPointer(buffer)
    }

    deinit {
        for pointer in allocations { free(pointer) }
        operations.deallocate()
        failedIndex.deallocate()
    }
}
