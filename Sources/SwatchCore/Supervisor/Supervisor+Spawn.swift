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
    case spawn(SpawnError)

    var description: String {
        switch self {
        case .environmentFile(let path, let errno): return "Failed to load environment file \(path): \(errno)"
        case .executableNotFound: return "\(Errno.noSuchFileOrDirectory)"
        case .workingDirectory(_, let errno): return "\(errno)"
        case .sandbox(let error): return "\(error)"
        case .output(let error): return "\(error)"
        case .cgroup(let errno): return "\(errno)"
        case .spawn(let error): return "\(error)"
        }
    }
}

/// Carries out a `SpawnOrder`: reads what the unit names (EnvironmentFile=,
/// users, directories), prepares the sandbox, the output and the cgroup, and
/// starts the child with the Manager's fds at 3.. (Linux/Spawner.swift).
extension Supervisor {
    func spawn(_ order: SpawnOrder) -> ManagerEvent {
        let name = order.unit
        do throws(SpawnFailure) {
            var request = try spawnRequest(for: order)
            var output: ServiceOutputFDs
            do { output = try outputFDs(for: order.service, name: name, executable: request.executable) } catch {
                throw .output(error)
            }
            // Closed whatever happens next: a failing cgroup below must not leak the output pipe.
            defer {
                try? request.cgroup?.close()
                output.closeAfterSpawn()
            }
            let connection = order.connectionOnStdin.flatMap { connections[$0]?.fd }
            request.stdout = output.standardOutput.descriptor(connection: connection)
            request.stderr = output.standardError.descriptor(connection: connection)
            // The child starts in the service's cgroup; swatchd's fd of the directory goes right after.
            do { request.cgroup = try tracker.prepare(name.description) } catch { throw .cgroup(error) }
            let pid: pid_t
            do { pid = try Spawner.spawn(request) } catch {
                output.capture?.close()
                throw .spawn(error)
            }
            if let capture = output.capture {
                capture.pid = pid
                watchCapture(capture, of: name)
            }
            tracker.track(pid, in: name.description)
            return .spawned(name, order.role, pid: pid)
        } catch {
            return .spawnFailed(name, order.role, error)
        }
    }

    /// The request of one child: the Manager's fds and variables, the unit's
    /// environment composed in systemd's order, `/` and 0022 unless the unit
    /// says otherwise.
    private func spawnRequest(for order: SpawnOrder) throws(SpawnFailure) -> SpawnRequest {
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
        request.fds = order.sockets.flatMap { (listeners[$0] ?? []).map(\.fd) }
            + (order.connectionAsFD.flatMap { connections[$0]?.fd }.map { [$0] } ?? [])
            + (order.passesStoredFDs ? (storedFDs[name] ?? []).map(\.fd) : [])
        request.listenPID = order.listenPID
        request.watchdogPID = order.watchdogPID
        request.workingDirectory = try workingDirectory(of: unit, name: name)
        request.umask = mode_t(unit.umask)
        request.nonBlocking = unit.nonBlocking
        request.stdin = order.connectionOnStdin.flatMap { connections[$0]?.fd }
        do {
            request.sandbox = try sandbox.steps(for: unit, name: name, command: command,
                                                notifySocketPath: notifySocket?.path)
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
            do { dir = try sandbox.user(of: unit, name: name)?.home ?? configuration.specifiers.home } catch {
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
}
