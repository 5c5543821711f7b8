import Glibc
import Logging
import SystemPackage

/// `daemon-reexec` (swatchctl(1), swatchd(8)): swatchd executes itself again
/// — the binary now installed at its path, so an upgrade takes effect — in the
/// same process, keeping every listening socket, the notify and control
/// sockets, the services' output pipes, stored fds and the locks of private /tmp
/// directories open across the execve (their close-on-exec flag is cleared for that one
/// call), what sandboxing holds for the running units (SandboxPreparation+Reexec.swift), and
/// the recent lines of `swatchctl logs`. The services stay
/// its children; the state goes through `RUNTIME/reexec-state` (0600, read
/// and removed by the new process), named in `SWATCHD_DESERIALIZE`.
extension Supervisor {
    package static let deserializeVariable = "SWATCHD_DESERIALIZE"

    struct StateError: Error, CustomStringConvertible {
        var description: String
    }

    func reexec(answering call: ControlServer.ConnectionID, _ state: Manager.ReexecState) {
        guard !configuration.passOwnEnvironment, let notifySocket, let control else {
            return reply(call, .response(.failure("daemon-reexec is for the daemon, not for swatchd run.")))
        }
        var lines = ["swatchd-state 1", "notify \(notifySocket.fd.rawValue)",
                     "control \(control.listeningDescriptor.rawValue) \(call.fd)",
                     "accept-counter \(state.acceptCounter)"]
        var passed: [Int32] = [notifySocket.fd.rawValue, control.listeningDescriptor.rawValue, call.fd]
        for name in state.boundSockets.sorted() {
            let fds = listeners.descriptors(of: [name]).map(\.rawValue)
            lines.append((["socket", name.description] + fds.map(String.init)).joined(separator: " "))
            passed += fds
        }
        for (name, counts) in state.socketCounts.sortedByKey() {
            lines.append("connections \(name) \(counts.accepted) \(counts.refused)")
        }
        for service in state.services {
            let s = service.snapshot
            lines.append(["service", service.name.description, s.state.rawValue, s.mainPID.map(String.init) ?? "-",
                          s.result.rawValue, String(s.restartCount), s.stateChanged.map { String($0.microseconds) } ?? "-",
                          service.invocationID.isEmpty ? "-" : service.invocationID,
                          service.instanceOf?.description ?? "-",
                          service.source.map(ControlEscaping.escapeWord) ?? "-",
                          service.peer.map(ControlEscaping.escapeWord) ?? "-"].joined(separator: " "))
            for entry in storedFDs[service.name] ?? [] {
                // FDPOLL=0: stored unwatched, and so it stays.
                let poll = storedFDWatches[entry.fd.rawValue] == nil ? " nopoll" : ""
                lines.append("stored \(service.name) \(ControlEscaping.escapeWord(entry.name)) \(entry.fd.rawValue)\(poll)")
                passed.append(entry.fd.rawValue)
            }
        }
        // The recent lines behind `swatchctl logs`, oldest first: the new process takes them
        // back before it logs anything itself. The newest 20,000 at most: the state file is
        // written in one piece.
        let carried = unitLog.entries(units: [], last: 20_000)
        for entry in carried {
            lines.append(["log", String(entry.realtime), String(entry.pid), String(entry.priority),
                          ControlEscaping.escapeWord(entry.unit), ControlEscaping.escapeWord(entry.identifier),
                          ControlEscaping.escapeWord(entry.message)].joined(separator: " "))
        }
        for (fd, held) in captures.sortedByKey() {
            let destination: String
            switch held.capture.destination {
            case .journal(let identifier): destination = "journal:" + ControlEscaping.escapeWord(identifier)
            case .stderr: destination = "stderr"
            case .none: destination = "none"
            }
            let levels = held.capture.levels
            // What was read from the pipe and not forwarded yet (a partial line, or lines journald
            // had no room for), as one word: the new swatchd forwards it before reading on.
            let unsent = ControlEscaping.escapeWord(bytes: held.capture.partial)
            lines.append("capture \(held.unit) \(held.capture.pid) \(fd) \(destination) "
                + "\(levels.priority):\(levels.prefix ? 1 : 0):\(levels.maximum):\(levels.facility) \(unsent)"
                + held.capture.extraFields.map { " " + ControlEscaping.escapeWord($0) }.joined())
            passed.append(fd)
        }
        // The `logs -f` clients follow on, each from where it stands among the lines carried
        // (the new process numbers them anew: its lines after the old `after` are the ones it
        // has not been sent).
        for follower in control.followers {
            let seen = carried.prefix { $0.sequence <= follower.after }.count
            lines.append((["follower", String(follower.fd.rawValue), String(seen)]
                          + follower.units.map(ControlEscaping.escapeWord)).joined(separator: " "))
            passed.append(follower.fd.rawValue)
        }
        // The dynamic users, and what the stops of the running units undo (their private /tmp
        // with its locks, runtime directories, credentials).
        let sandboxState = sandbox.reexecState()
        lines += sandboxState.lines
        passed += sandboxState.fds
        let path = configuration.runtimeDirectory + "/reexec-state"
        do {
            try FileSystem.write(lines.joined(separator: "\n") + "\n", to: path, create: true)
            _ = chmod(path, 0o600)
        } catch {
            return reply(call, .response(.failure("Failed to write \(path): \(error)")))
        }
        logger.info("Re-executing swatchd: \(state.services.count) services and \(state.boundSockets.count) sockets carried over.")
        for fd in passed { _ = fcntl(fd, F_SETFD, 0) }
        // The new swatchd starts with the limit this one was started with, and raises it again:
        // otherwise it would take the raised one for what its services are to get.
        if let inherited = configuration.inheritedFileLimit { FileLimit.restore(inherited) }
        let errno = Self.execSelf(deserializing: path, environment: configuration.ownEnvironment)
        // Still here: the execve failed. Everything stays as it was.
        _ = FileLimit.raise()
        for fd in passed { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        unlink(path)
        logger.error("Failed to re-execute swatchd: \(errno)")
        reply(call, .response(.failure("Failed to re-execute swatchd: \(errno)")))
    }

    /// execve(2) of the binary at swatchd's path — the new one, if it was replaced
    /// there — else of /proc/self/exe; returns only on failure.
    private static func execSelf(deserializing path: String, environment own: [String: String]) -> Errno {
        var link = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &link, link.count - 1)
        var program = length > 0 ? String(decoding: link[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        if program.hasSuffix(" (deleted)") { program.removeLast(" (deleted)".count) }
        if program.isEmpty || access(program, X_OK) != 0 { program = "/proc/self/exe" }
        let arguments = ProcessArguments.current()
        var environment = own.filter { $0.key != deserializeVariable }.map { "\($0.key)=\($0.value)" }
        environment.append("\(deserializeVariable)=\(path)")
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        execve(program, argv, envp)
        return Errno(rawValue: Glibc.errno)
    }

    /// The new swatchd after a re-exec: takes the fds and the state the old one
    /// left and goes on (instead of `start()`, `startControl()` and the start of
    /// the services). Throws only when the state cannot be used at all.
    package func restore(from path: String) throws {
        let text = try FileSystem.readText(path)
        unlink(path)
        // Only a state this version wrote, with its two sockets, is taken; anything else is a clean start.
        let lines = text.split(separator: "\n")
        guard lines.first == "swatchd-state 1",
              lines.contains(where: { $0.split(separator: " ").count == 2 && $0.hasPrefix("notify ") && Int32($0.dropFirst(7)) != nil }),
              lines.contains(where: { $0.hasPrefix("control ") }) else {
            throw StateError(description: "\(path) is not a state this swatchd can read")
        }
        // The recent lines first: what this process logs from here on (reading the units
        // again, say) comes after them.
        let carriedFrom = unitLog.lastSequence
        for line in lines where line.hasPrefix("log ") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 7, let realtime = UInt64(words[1]), let pid = Int32(words[2]),
                  let priority = Int32(words[3]), let unit = try? ControlEscaping.unescapeWord(words[4]),
                  let identifier = try? ControlEscaping.unescapeWord(words[5]),
                  let message = try? ControlEscaping.unescapeWord(words[6]) else { continue }
            unitLog.append(UnitLogEntry(unit: unit, realtime: realtime, pid: pid, identifier: identifier,
                                        priority: priority, message: message))
        }
        var set = loadUnits()
        var state = Manager.ReexecState()
        var call: ControlServer.ConnectionID?
        var socketFDs: [UnitName: [FileDescriptor]] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard let kind = words.first else { continue }
            func fd(_ i: Int) -> FileDescriptor? { words.count > i ? Int32(words[i]).map(FileDescriptor.init(rawValue:)) : nil }
            switch kind {
            case "notify":
                if let fd = fd(1) {
                    let notify = NotifySocket(adopting: fd, path: configuration.runtimeDirectory + "/notify")
                    notifySocket = notify
                    _ = try loop.watch(notify.fd) { [unowned self] in self.receiveNotifications() }
                }
            case "control":
                if let listening = fd(1) {
                    let server = ControlServer(adopting: listening, path: configuration.runtimeDirectory + "/control",
                                               waiting: fd(2))
                    call = server.adoptedCall
                    try adoptControl(server)
                }
            case "accept-counter":
                state.acceptCounter = words.count > 1 ? Int(words[1]) ?? 0 : 0
            case "socket":
                guard words.count > 1, let name = UnitName(parsing: words[1]) else { continue }
                socketFDs[name] = (2..<words.count).compactMap(fd)
            case "connections":
                guard words.count == 4, let name = UnitName(parsing: words[1]), let accepted = Int(words[2]),
                      let refused = Int(words[3]) else { continue }
                state.socketCounts[name] = (accepted, refused)
            case "service":
                guard words.count >= 9, let name = UnitName(parsing: words[1]),
                      let serviceState = ServiceState(rawValue: words[2]) else { continue }
                let snapshot = ServiceMachine.Snapshot(
                    state: serviceState, mainPID: Int32(words[3]), result: ServiceResult(rawValue: words[4]) ?? .success,
                    restartCount: Int(words[5]) ?? 0, stateChanged: UInt64(words[6]).map(Instant.init(microseconds:)))
                // The source, a tenth word, and the peer, an eleventh, are absent from the state of a
                // swatchd before them.
                func word(_ i: Int) -> String? {
                    words.count > i && words[i] != "-" ? try? ControlEscaping.unescapeWord(words[i]) : nil
                }
                state.services.append(.init(name: name, snapshot: snapshot, invocationID: words[7] == "-" ? "" : words[7],
                                            storedFDNames: [], instanceOf: UnitName(parsing: words[8]), source: word(9),
                                            peer: word(10)))
            case "stored":
                guard words.count == 4 || words.count == 5, let name = UnitName(parsing: words[1]), let fd = fd(3),
                      let fdName = try? ControlEscaping.unescapeWord(words[2]) else { continue }
                _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
                storedFDs[name, default: []].append((fdName, fd))
                if words.count == 4 { watchStoredFD(fd, of: name) }
                if let i = state.services.lastIndex(where: { $0.name == name }) { state.services[i].storedFDNames.append(fdName) }
            case "capture":
                guard words.count >= 5, let name = UnitName(parsing: words[1]),
                      let pid = Int32(words[2]), let fd = fd(3) else { continue }
                // SyslogLevel=, SyslogLevelPrefix=, LogLevelMax= (a swatchd before them wrote none), then
                // SyslogFacility= (a swatchd before it wrote three numbers); then what was read and not
                // forwarded (a swatchd before it wrote nothing, and lost it); then LogExtraFields=.
                var levels = OutputCapture.Levels()
                let numbers = words.count >= 6 ? words[5].split(separator: ":").compactMap { Int32($0) } : []
                if numbers.count >= 3 { (levels.priority, levels.prefix, levels.maximum) = (numbers[0], numbers[1] != 0, numbers[2]) }
                if numbers.count == 4 { levels.facility = numbers[3] }
                let destination: OutputCapture.Destination = words[4].hasPrefix("journal:")
                    ? .journal(identifier: (try? ControlEscaping.unescapeWord(String(words[4].dropFirst(8)))) ?? name.prefix)
                    : words[4] == "stderr" ? .stderr : .none
                let unsent = words.count >= 7 ? (try? ControlEscaping.unescapeWordBytes(words[6])) ?? [] : []
                let extraFields = words.dropFirst(7).compactMap { try? ControlEscaping.unescapeWord($0) }
                let capture = try OutputCapture(unit: name.description, destination: destination, levels: levels,
                                                extraFields: extraFields, unitLog: unitLog, adopting: fd, pid: pid, unsent: unsent)
                watchCapture(capture, of: name)
            case "sandbox", "dynamic-user", "dynamic-user-given-back":
                sandbox.restore(words)
            case "follower":
                guard let fd = fd(1) else { continue }
                let units = words.dropFirst(3).map { try? ControlEscaping.unescapeWord($0) }
                // Unreadable, it would follow every unit: it ends instead.
                guard words.count >= 3, let seen = UInt64(words[2]), let control, !units.contains(nil) else {
                    try? fd.close()
                    continue
                }
                applyControl(control.adoptFollower(fd, units: units.compactMap { $0 }, after: carriedFrom + seen))
            default:
                continue
            }
        }
        _ = try loop.watch(timer.fd) { [unowned self] in self.timerExpired() }
        loop.afterBatch = { [unowned self] in self.armTimer() }
        // Socket instances made by `start` are in no unit file: made again from their templates.
        Manager.keepInstances(socketFDs.keys.filter { $0.instance != nil }, in: &set)
        // A socket whose unit is gone or now asks for other listeners is closed; the Manager binds anew.
        for (name, fds) in socketFDs {
            guard let unit = set.sockets[name], unit.listens.count == fds.count else {
                for fd in fds { try? fd.close() }
                state.boundSockets.remove(name)
                continue
            }
            listeners.adopt(name, unit, zip(fds, unit.listens).map { Listener.adopting($0, directive: $1, options: unit.options) })
            state.boundSockets.insert(name)
        }
        send(.restore(set, state, call: call))
        for (pid, name) in manager.pidOwners { tracker.trackSession(of: pid, in: name.description) }
        // A follower handed over gets what it had not been sent yet.
        publishLogs()
    }

    /// After a re-exec whose state cannot be used: the listening sockets the old
    /// process passed on are kept for the units that listen there again (matched by
    /// address, `SocketListeners.bind`), every other fd it passed on is closed (ours
    /// are all close-on-exec from birth, so the others are its), and the services
    /// left running in this swatchd's groups are adopted once the units are loaded
    /// (`adoptLeftInGroups`).
    package func discardCarriedOver() {
        for entry in FileSystem.entries(of: "/proc/self/fd") {
            guard let number = Int32(entry.name), number > 2 else { continue }
            let flags = fcntl(number, F_GETFD)
            guard flags >= 0, flags & FD_CLOEXEC == 0 else { continue }
            var listening: CInt = 0
            var length = socklen_t(MemoryLayout<CInt>.size)
            let fd = FileDescriptor(rawValue: number)
            if getsockopt(number, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 1,
               let address = try? SocketAddress.local(of: fd), address.hostAndPort != nil {
                _ = fcntl(number, F_SETFD, FD_CLOEXEC)
                listeners.inherited.append((fd, address.hostAndPort, nil))
            } else {
                Glibc.close(number)
            }
        }
        adoptAfterLoad = true
    }

    /// The services the old process left in this swatchd's groups (a group is named for its
    /// unit, or is a slot that names it: `ProcessTracker.serviceGroups()`): adopted as running, their main process the one that is swatchd's child.
    func adoptLeftInGroups() {
        listeners.closeUnclaimedInherited()
        guard adoptAfterLoad, tracker.parentDirectory != nil else { return }
        adoptAfterLoad = false
        var adopted: [(UnitName, Int32)] = []
        for (service, directory) in tracker.serviceGroups() {
            guard let name = UnitName(parsing: service) else { continue }
            let pids = ProcessTracker.processes(inGroup: directory)
            let children = pids.filter { ProcessTree.stat(of: $0)?.parent == getpid() }
            guard let main = children.min() ?? pids.min() else { continue }
            adopted.append((name, main))
        }
        if !adopted.isEmpty { send(.adoptRunning(adopted)) }
    }
}
