import Glibc
import Logging
import SystemPackage

/// systemd's default PATH for services (src/basic/path-util.h, DEFAULT_PATH_NORMAL).
let defaultServicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/// An ordered environment in which a later assignment of a name wins, as
/// systemd composes a service's environment.
struct Environment {
    private(set) var entries: [(String, String)] = []

    mutating func set(_ name: String, _ value: String) {
        if let i = entries.firstIndex(where: { $0.0 == name }) { entries[i].1 = value } else { entries.append((name, value)) }
    }

    mutating func unset(_ name: String) { entries.removeAll { $0.0 == name } }

    subscript(name: String) -> String? { entries.first { $0.0 == name }?.1 }

    var dictionary: [String: String] { Dictionary(entries, uniquingKeysWith: { _, b in b }) }
    var strings: [String] { entries.map { "\($0.0)=\($0.1)" } }
}

/// Why a spawn failed before the spawner ran (an EnvironmentFile= that is missing, ...).
struct SpawnPreparationError: Error, CustomStringConvertible {
    var description: String
}

extension Supervisor {
    /// Spawns the command `role` of a service and tells its machine how that went.
    func spawn(_ name: UnitName, role: ExecRole, now: Instant) -> [ServiceAction] {
        guard var record = services[name] else { return [] }
        let commands = record.machine.commands(of: role.phase)
        guard role.index < commands.count else { return [] }
        let command = commands[role.index]
        // One INVOCATION_ID per start: minted by the first command the start runs.
        let unit = record.machine.unit
        let firstOfStart = role.index == 0
            && (role.phase == .condition
                || (role.phase == .startPre && unit.execCondition.isEmpty)
                || (role.phase == .start && unit.execCondition.isEmpty && unit.execStartPre.isEmpty))
        if firstOfStart || record.invocationID.isEmpty {
            record.invocationID = Self.makeInvocationID()
        }
        do {
            var request = try spawnRequest(for: record, name: name, command: command, role: role)
            var output = try outputFDs(for: record.machine.unit, name: name, executable: request.executable)
            // Closed whatever happens next: a failing cgroup below must not leak the output pipe.
            defer {
                try? request.cgroup?.close()
                output.closeAfterSpawn()
            }
            let connection = role.phase == .start && record.machine.unit.standardInput == .socket
                ? record.connection?.fd : nil
            request.stdout = output.standardOutput.descriptor(connection: connection)
            request.stderr = output.standardError.descriptor(connection: connection)
            // The child starts in the service's cgroup; swatchd's fd of the directory goes right after.
            request.cgroup = try tracker.prepare(name.description)
            let pid: pid_t
            do {
                pid = try Spawner.spawn(request)
            } catch {
                output.capture?.close()
                throw error
            }
            if let capture = output.capture {
                capture.pid = pid
                watchCapture(capture, of: name)
            }
            pidOwners[pid] = name
            tracker.track(pid, in: name.description)
            if role.phase == .start, let connection = record.connection {
                // The instance has its connection now; swatchd's copy goes.
                try? connection.fd.close()
                record.connection = nil
            }
            let actions = record.machine.spawned(pid, role: role, now: now)
            services[name] = record
            return actions
        } catch {
            let actions = record.machine.spawnFailed("\(error)", role: role, now: now)
            services[name] = record
            return actions
        }
    }

    /// Everything the child of `command` gets (DESIGN §4): a clean
    /// environment, the sockets at 3.. for the main process, `/` and 0022
    /// unless the unit says otherwise.
    func spawnRequest(for record: ServiceRecord, name: UnitName, command: ExecCommand, role: ExecRole)
        throws -> SpawnRequest
    {
        let unit = record.machine.unit
        let isMain = role.phase == .start
        var env = try environment(for: record, name: name, role: role)

        var fds: [FileDescriptor] = []
        var names: [String] = []
        if isMain {
            if let connection = record.connection {
                if unit.standardInput != .socket {
                    fds.append(connection.fd)
                    names.append("connection")
                }
                if let address = connection.remoteAddress { env.set("REMOTE_ADDR", address) }
                if let port = connection.remotePort { env.set("REMOTE_PORT", String(port)) }
            } else {
                for socketName in triggeringSockets(of: name) {
                    guard let socket = sockets[socketName] else { continue }
                    let fdName = socket.machine.unit.fileDescriptorName ?? socketName.description
                    for listener in socket.listeners {
                        fds.append(listener.fd)
                        names.append(fdName)
                    }
                }
            }
            for entry in record.fdStore {
                fds.append(entry.fd)
                names.append(entry.name)
            }
            if !fds.isEmpty {
                env.set("LISTEN_FDS", String(fds.count))
                env.set("LISTEN_FDNAMES", names.joined(separator: ":"))
            }
            if record.machine.effectiveWatchdog > .zero {
                env.set("WATCHDOG_USEC", String(record.machine.effectiveWatchdog.microseconds))
            }
        }
        for variable in unit.unsetEnvironment { env.unset(variable) }

        let arguments = command.noEnvironmentExpansion ? command.arguments : command.expand(environment: env.dictionary)
        guard let executable = resolveExecutable(command.path) else {
            throw SpawnError(errno: .noSuchFileOrDirectory, step: "execve")
        }
        var request = SpawnRequest(executable: executable, arguments: arguments, environment: env.strings)
        request.fds = fds
        request.listenPID = isMain && !fds.isEmpty
        request.watchdogPID = isMain && record.machine.effectiveWatchdog > .zero
        request.workingDirectory = try workingDirectory(of: unit, name: name)
        request.umask = mode_t(unit.umask)
        request.nonBlocking = unit.nonBlocking
        if isMain, unit.standardInput == .socket, let connection = record.connection {
            request.stdin = connection.fd
        }
        request.sandbox = try sandbox.steps(for: unit, name: name, command: command, notifySocketPath: notifySocket?.path)
        return request
    }

    /// The service's environment, in systemd's order: the defaults, then
    /// Environment=, EnvironmentFile= and PassEnvironment=, then the protocol
    /// variables. Nothing else of swatchd's own environment (DESIGN §4).
    func environment(for record: ServiceRecord, name: UnitName, role: ExecRole) throws -> Environment {
        let unit = record.machine.unit
        var env = Environment()
        if configuration.passOwnEnvironment {
            for (key, value) in configuration.ownEnvironment.sorted(by: { $0.key < $1.key }) { env.set(key, value) }
        }
        env.set("PATH", configuration.passOwnEnvironment ? (configuration.ownEnvironment["PATH"] ?? defaultServicePath)
                                                         : defaultServicePath)
        env.set("INVOCATION_ID", record.invocationID)
        for (key, value) in try sandbox.environment(for: unit, name: name) { env.set(key, value) }
        for (key, value) in unit.environment { env.set(key, value) }
        for file in unit.environmentFiles {
            let text: String
            do {
                text = try FileSystem.readText(file.path)
            } catch {
                if file.optional { continue }
                throw SpawnPreparationError(description: "Failed to load environment file \(file.path): \(error)")
            }
            for (key, value) in EnvironmentFileParser.parse(text) { env.set(key, value) }
        }
        for key in unit.passEnvironment {
            if let value = configuration.ownEnvironment[key] { env.set(key, value) }
        }
        if unit.effectiveNotifyAccess != .none, let notify = notifySocket {
            env.set("NOTIFY_SOCKET", notify.path)
        }
        if let main = record.machine.mainPID, role.phase != .start {
            env.set("MAINPID", String(main))
        }
        if role.phase == .stopPost {
            env.set("SERVICE_RESULT", record.machine.result.rawValue)
            if let exit = record.machine.mainExit {
                env.set("EXIT_CODE", exit.code)
                env.set("EXIT_STATUS", exit.status)
            }
        }
        return env
    }

    /// WorkingDirectory=: `/` by default; `-` makes a missing one fall back to `/`;
    /// `~` is the home of User= (of swatchd's user without one).
    func workingDirectory(of unit: ServiceUnit, name: UnitName) throws -> String {
        guard var dir = unit.workingDirectory else { return "/" }
        if dir == "~" { dir = try sandbox.user(of: unit, name: name)?.home ?? configuration.specifiers.home }
        var st = stat()
        if stat(dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            if unit.workingDirectoryOptional { return "/" }
            throw SpawnError(errno: Errno(rawValue: errno == 0 ? ENOTDIR : errno), step: "chdir")
        }
        return dir
    }

    /// An absolute path as it is; a plain name looked up in swatchd's own PATH
    /// (systemd ≥ 239 does the same with its own search path).
    func resolveExecutable(_ path: String) -> String? {
        Spawner.resolveExecutable(path, path: configuration.ownEnvironment["PATH"] ?? defaultServicePath)
    }

    /// 128 random bits in hex, as systemd's INVOCATION_ID.
    static func makeInvocationID() -> String {
        var g = SystemRandomNumberGenerator()
        let bits = [g.next(), g.next()]  // two getrandom(2) calls, not 32
        let hex = Array("0123456789abcdef")
        return String((0..<32).map { i in hex[Int((bits[i / 16] >> (UInt64(i % 16) * 4)) & 0xf)] })
    }
}
