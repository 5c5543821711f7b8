import Glibc
import Logging
import SystemPackage

/// Why a process of a unit could not be started, said only when logged.
enum SpawnFailure: Error, CustomStringConvertible {
    case environmentFile(path: String, Errno)
    case executableNotFound(String)
    case workingDirectory(path: String, Errno)
    case sandbox(SandboxError)
    case output(ServiceOutputFDs.SetupError)
    case cgroup(Errno)
    case spawn(SpawnError, executable: String)
    case openFile(path: String, Errno)

    /// Names the program or the directory that failed, as systemd's "Failed to locate
    /// executable …" and "Failed at step EXEC spawning …" do (src/core/execute.c).
    var description: String {
        switch self {
        case .environmentFile(let path, let errno): return "Failed to load environment file \(path): \(errno)"
        case .executableNotFound(let path): return "\(path): \(Errno.noSuchFileOrDirectory)"
        case .workingDirectory(let path, let errno): return "WorkingDirectory=\(path): \(errno)"
        case .sandbox(let error): return "\(error)"
        case .output(let error): return "\(error)"
        case .cgroup(let errno): return "\(errno)"
        case .openFile(let path, let errno): return "Failed to open OpenFile= file '\(path)': \(errno)"
        case .spawn(let error, let executable):
            return error.step == "execve" && error.directive == nil ? "\(executable): \(error.errno)" : "\(error)"
        }
    }

    /// EMFILE, ENFILE, ENOMEM or EAGAIN (fork's "too many processes") from a step that opens
    /// descriptors or clones: swatchd itself is short of resources, not the unit at fault.
    var resourceShortage: Errno? {
        let errno: Errno
        switch self {
        case .output(let error): errno = error.errno
        case .cgroup(let error): errno = error
        case .spawn(let error, _): errno = error.errno
        case .openFile(_, let error): errno = error
        case .environmentFile, .executableNotFound, .workingDirectory, .sandbox: return nil
        }
        return [.tooManyOpenFiles, .tooManyOpenFilesInSystem, .noMemory, .resourceTemporarilyUnavailable].contains(errno)
            ? errno : nil
    }
}

/// Carries out a `SpawnOrder`: reads what the unit names (EnvironmentFile=,
/// users, directories), prepares the sandbox, the output and the cgroup, and
/// starts the child with the order's fds at 3.. (Linux/Spawner.swift).
struct ProcessLauncher {
    let configuration: Supervisor.Configuration
    let sandbox: SandboxPreparation
    let tracker: ProcessTracker
    let unitLog: UnitLogBuffer
    /// Checked against what the sandbox hides from a service that talks sd_notify.
    let notifySocketPath: String

    /// The fds the order names, resolved by the shell.
    struct Descriptors {
        /// At 3.., in order: the sockets' listeners, the connection, the stored fds (the launcher
        /// adds the files of OpenFile=).
        var passed: [FileDescriptor] = []
        /// StandardInput=socket: the connection.
        var connection: FileDescriptor?
        /// An Accept=yes instance: its cgroup comes from the pool (`ProcessTracker.prepare`).
        var pooledGroup = false
    }

    /// Starts the process; its output pipe, when there is one, comes back for the loop to read.
    func launch(_ order: SpawnOrder, _ descriptors: Descriptors) throws(SpawnFailure)
        -> (pid: pid_t, capture: OutputCapture?)
    {
        let name = order.unit
        var order = order, descriptors = descriptors
        let files = order.isMain ? try openFiles(of: &order, after: descriptors.passed.count) : []
        defer { for file in files { try? file.close() } }
        descriptors.passed += files
        var request = try request(for: order, descriptors)
        var input: ServiceInput
        var output: ServiceOutputFDs
        do throws(ServiceOutputFDs.SetupError) {
            let named = order.namedStandardFDs.map { $0.flatMap { descriptors.passed.indices.contains($0) ? descriptors.passed[$0] : nil } }
            input = descriptors.connection == nil ? try ServiceInput.open(for: order.service, named: named[0]) : ServiceInput()
            do {
                output = try outputFDs(for: order.service, name: name, executable: request.executable, named: (named[1], named[2]))
            } catch {
                input.closeAfterSpawn()
                throw error
            }
        } catch {
            throw .output(error)
        }
        // Closed whatever happens next: a failing cgroup below must not leak the output pipe.
        defer {
            try? request.cgroup?.close()
            input.closeAfterSpawn()
            output.closeAfterSpawn()
        }
        request.stdin = descriptors.connection ?? input.descriptor
        request.controllingTerminal = input.terminal
        request.stdout = output.standardOutput.descriptor(input: request.stdin, connection: descriptors.connection)
        request.stderr = output.standardError.descriptor(input: request.stdin, connection: descriptors.connection)
        // The child starts in the service's cgroup; swatchd's fd of the directory goes right after.
        do { request.cgroup = try tracker.prepare(name.description, pooled: descriptors.pooledGroup) } catch {
            throw .cgroup(error)
        }
        // DevicePolicy=/DeviceAllow= and IPAddressAllow=/IPAddressDeny= take access away: on the
        // group before the child is in it, or no start. A pooled group with programs is not
        // handed on to another instance.
        let asksPrograms = CgroupPrograms.asks(order.service.sandbox)
        if asksPrograms { tracker.keepOutOfPool(name.description) }
        // Delegate=: the group becomes the service's user's to manage, as systemd's cg_set_access()
        // hands it over (src/shared/cgroup-setup.c); a pooled one is not handed on.
        if order.service.sandbox.delegate, let group = request.cgroup, let owner = request.sandboxOwner, owner.uid != 0 {
            tracker.keepOutOfPool(name.description)
            do throws(Errno) { try ProcessTracker.delegate(group, to: owner) } catch { throw .cgroup(error) }
        }
        // The programs of the unit as it is now, replacing those of an earlier start (a kept
        // group); a group known to carry none, for a unit that asks for none, costs nothing.
        if asksPrograms || tracker.mayCarryPrograms(name.description) {
            tracker.noteGroup(of: name.description, carriesPrograms: true)  // a failure may leave some on
            do {
                let carries = try CgroupPrograms.attach(order.service.sandbox, to: request.cgroup)
                tracker.noteGroup(of: name.description, carriesPrograms: carries)
            } catch {
                throw .sandbox(error)
            }
        }
        // MemoryMax= and friends limit resources only: what cannot be applied is warned, not fatal.
        for problem in tracker.apply(order.service.sandbox.resourceControl, to: name.description) {
            sandbox.logger.warning("\(name): \(problem)", metadata: ["unit": "\(name)"])
        }
        // Delegate=: the process may start in a subgroup (SpawnOrder.delegatedSubgroup).
        if let subgroup = order.delegatedSubgroup, let group = request.cgroup {
            do throws(Errno) {
                request.cgroup = try ProcessTracker.subgroup(subgroup, of: group, owner: request.sandboxOwner)
            } catch {
                throw .cgroup(error)
            }
            try? group.close()
        }
        let pid: pid_t
        do { pid = try Spawner.spawn(request) } catch {
            output.capture?.close()
            throw .spawn(error, executable: request.executable)
        }
        output.capture?.pid = pid
        tracker.track(pid, in: name.description)
        return (pid, output.capture)
    }

    /// OpenFile=: each file opened (a socket connected to) as swatchd, in its own mount namespace
    /// (open_file_to_fd(), src/shared/open-file.c); a `graceful` one that fails is left out of
    /// the order's LISTEN_FDS/LISTEN_FDNAMES, any other fails the start.
    private func openFiles(of order: inout SpawnOrder, after passed: Int) throws(SpawnFailure) -> [FileDescriptor] {
        var opened: [FileDescriptor] = []
        for file in order.service.openFiles {
            do {
                opened.append(try file.open())
            } catch {
                guard file.graceful else {
                    for fd in opened { try? fd.close() }
                    throw .openFile(path: file.path, error)
                }
                sandbox.logger.warning("\(order.unit): Failed to open OpenFile= file '\(file.path)', ignoring: \(error)",
                                       metadata: ["unit": "\(order.unit)"])
                order.dropPassedFD(at: passed + opened.count)
            }
        }
        return opened
    }

    /// The request of one child: the order's fds and variables, the unit's
    /// environment composed in systemd's order, `/` and 0022 unless the unit
    /// says otherwise.
    private func request(for order: SpawnOrder, _ descriptors: Descriptors) throws(SpawnFailure) -> SpawnRequest {
        let unit = order.service
        let name = order.unit
        var files: [(String, String)] = []
        for file in unit.environmentFiles {
            do { files += EnvironmentFileParser.parse(try FileSystem.readText(file.path)) } catch {
                if file.optional { continue }
                throw .environmentFile(path: file.path, error)
            }
        }
        let user: [(String, String)]
        do { user = try sandbox.environment(for: unit, name: name) } catch { throw .sandbox(error) }
        let composer = ServiceEnvironment(own: configuration.ownEnvironment, passOwn: configuration.passOwnEnvironment)
        let env = composer.compose(order, user: user, files: files)

        let command = order.command
        let arguments = command.noEnvironmentExpansion ? command.arguments : command.expand(environment: env.dictionary)
        guard let executable = Spawner.resolveExecutable(
            command.path, path: configuration.ownEnvironment["PATH"] ?? defaultServicePath) else {
            throw .executableNotFound(command.path)
        }
        var request = SpawnRequest(executable: executable, arguments: arguments, environment: env.strings)
        request.fds = descriptors.passed
        request.listenPID = order.listenPID
        request.watchdogPID = order.watchdogPID
        request.workingDirectory = try workingDirectory(of: unit, name: name)
        request.umask = mode_t(unit.umask)
        request.nonBlocking = unit.nonBlocking
        // Each command, as systemd makes one for each; not one with `+` (no sandbox).
        request.newPIDNamespace = unit.sandbox.privatePIDs && !command.fullPrivileges
        request.ignoreSIGPIPE = unit.ignoreSIGPIPE
        do {
            request.sandbox = try sandbox.steps(for: unit, name: name, command: command, invocationID: order.invocationID,
                                                notifySocketPath: notifySocketPath)
        } catch {
            throw .sandbox(error)
        }
        return request
    }

    /// WorkingDirectory=: `/` by default; `-` makes a missing one fall back to `/`;
    /// `~` is the home of User= (of swatchd's user without one).
    private func workingDirectory(of unit: ServiceUnit, name: UnitName) throws(SpawnFailure) -> String {
        guard var dir = unit.workingDirectory else { return "/" }
        if dir == "~" {
            do { dir = try sandbox.user(of: unit, name: name)?.home ?? configuration.specifiers.facts.home } catch {
                throw .sandbox(error)
            }
        }
        var st = stat()
        if stat(dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            if unit.workingDirectoryOptional { return "/" }
            throw .workingDirectory(path: dir, Errno(rawValue: errno == 0 ? ENOTDIR : errno))
        }
        return dir
    }

    /// StandardOutput=/StandardError= for one spawn (systemd.exec(5)). The
    /// default, `journal`, goes through a pipe swatchd reads: to journald when
    /// there is one, else to swatchd's stderr as `unit[pid]: line`, and always
    /// into the unit's recent lines for `swatchctl status` and `logs`.
    private func outputFDs(for unit: ServiceUnit, name: UnitName, executable: String,
                           named: (output: FileDescriptor?, error: FileDescriptor?))
        throws(ServiceOutputFDs.SetupError) -> ServiceOutputFDs
    {
        let identifier = unit.syslogIdentifier ?? String(executable.split(separator: "/").last ?? "")
        return try ServiceOutputFDs.make(
            standardOutput: unit.effectiveStandardOutput, standardError: unit.standardError, unit: name.description,
            identifier: identifier, journalAvailable: configuration.journalAvailable, unitLog: unitLog,
            input: unit.effectiveStandardInput, ttyPath: unit.ttyPath, named: named, levels: unit.outputLevels,
            extraFields: unit.logExtraFields)
    }
}

extension SpawnRequest {
    /// The uid and gid the child switches to (its sandbox's setresuid and setresgid); nil: it
    /// keeps swatchd's.
    var sandboxOwner: (uid: uid_t, gid: gid_t)? {
        var uid: uid_t?, gid: gid_t?
        for step in sandbox {
            if case .setUserID(let id) = step.operation { uid = id }
            if case .setGroupID(let id) = step.operation { gid = id }
        }
        guard let uid else { return nil }
        return (uid, gid ?? getgid())
    }
}

extension StdioSource {
    /// The fd the spawner puts on 1 or 2, given its fd 0 (nil: /dev/null) and the connection.
    func descriptor(input: FileDescriptor?, connection: FileDescriptor?) -> FileDescriptor? {
        switch self {
        case .descriptor(let fd): return fd
        case .sameAsInput: return input
        case .connection: return connection
        }
    }
}
