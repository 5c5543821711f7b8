// From lexed files to a model: every assignment goes through the catalog of its
// unit type (UnitKeyCatalog.swift), then the unit as a whole is checked as
// systemd's service_verify() and socket_verify() check it (src/core/service.c,
// src/core/socket.c). Problems are collected, never thrown: a unit with an
// error is refused, the others load (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").

import Glibc

/// Applies the assignments of a unit's files (main file first, then drop-ins) to its model.
struct UnitInterpreter<Model> {
    let catalog: UnitKeyCatalog<Model>
    let specifiers: SpecifierExpander
    let unit: String
    /// The load's lookups of keys (nil: each line asks the catalog).
    let keys: KeyLookups<Model>?
    var diagnostics: [Diagnostic] = []
    /// Keys that had an invalid or refused value: a unit-wide check about them ("no
    /// ExecStart=") would only repeat the problem. "[" stands for a broken section header.
    var failedKeys: Set<String> = []

    init(catalog: UnitKeyCatalog<Model>, specifiers: SpecifierExpander, keys: KeyLookups<Model>? = nil) {
        self.catalog = catalog
        self.specifiers = specifiers
        self.unit = specifiers.name.description
        self.keys = keys
    }

    /// Walks every entry; `sandbox` reads the model's sandbox for RestrictingKeys (nil: none).
    mutating func apply(_ files: [UnitFile], to model: inout Model, sandbox: (Model) -> Sandbox?) {
        // Dictionary(), not [:]: -Osize leaves the literal to the unspecialized generic
        // Dictionary(dictionaryLiteral:), ~570 instructions for every unit loaded.
        var restricting = [String: (location: SourceLocation, asks: Bool)]()
        for file in files {
            diagnostics += file.diagnostics
            if file.diagnostics.contains(where: { $0.severity == .error }) { failedKeys.insert("[") }
            for entry in file.entries {
                switch entry {
                case .section(let name, let location):
                    if !catalog.hasSection(name) && !name.hasPrefix("X-") {
                        warn(location, "Unknown section [\(name)], ignoring.")
                    }
                case .assignment(let a):
                    // `X-` keys are ignored, unless one is swatchd's own (X-IdleStopSec=); so are
                    // the keys of a section this type does not have (warned about at its header).
                    if a.section == "Install" {
                        if !installKeys.contains(a.key) && !a.key.hasPrefix("X-") { warn(a.location, unknown(a)) }
                        continue
                    }
                    // What the catalog says of the key: asked once for the line, or once for the load.
                    let lookup = if let keys { keys.lookUp(a.section, a.key) } else { KeyLookup(catalog, a.section, a.key) }
                    guard let lookup else { continue }
                    let setter = lookup.setter
                    if setter == nil && a.key.hasPrefix("X-") { continue }
                    let restrictingKey = lookup.restricting
                    if let restrictingKey {
                        restricting[restrictingKey.name] = (a.location, RestrictingKeys.valueAsks(a.value))
                    }
                    if let setter {
                        let kv = KeyValue(key: a.key, raw: a.value, location: a.location, specifiers: specifiers)
                        do {
                            try setter.apply(&model, kv)
                        } catch where error.ignored {
                            warn(a.location, error.message)
                        } catch {
                            self.error(a.location, error.message)
                            failedKeys.insert(a.key)
                        }
                    } else if restrictingKey != nil {
                        continue
                    } else if catalog.unsupported(a.section).contains(a.key) {
                        warn(a.location, unsupported(a))
                    } else if let reason = catalog.refused(a.section)[a.key] {
                        error(a.location, "\(reason); refusing the unit.")
                        failedKeys.insert(a.key)
                    } else {
                        warn(a.location, unknown(a))
                    }
                }
            }
        }
        // A restriction is judged on the final value: a drop-in's `PrivateTmp=no` lifts the main file's `yes`.
        guard !restricting.isEmpty else { return }
        let finalSandbox = sandbox(model)
        for (name, last) in restricting.sorted(by: { $0.value.location.line < $1.value.location.line }) {
            let key = RestrictingKeys.byName[name]!
            guard !key.enforced || catalog.restrictingAlwaysRefused else { continue }
            let asks = finalSandbox.flatMap { s in key.asks.map { $0(s) } } ?? last.asks
            if asks { error(last.location, key.refusal) }
        }
    }

    /// Warns about each command whose program cannot be run now, at the line that wrote it: the
    /// unit still loads, and fails to start until the program is there (swatchd.service(5),
    /// "WHAT HAPPENS TO A PROBLEM").
    mutating func warnAboutPrograms(_ lists: [(key: String, commands: [ExecCommand])], in section: String,
                                    _ files: [UnitFile], _ executables: ExecutableChecks) {
        for (key, commands) in lists {
            for (index, command) in commands.enumerated() {
                guard let problem = executables.problem(command.path) else { continue }
                warn(commandLocation(index, of: key, in: section, files, specifiers),
                     "Program of \(key)= is not executable (\(problem)), the unit will fail to start until it is: \(command.path)")
            }
        }
    }

    /// Whether a check of the whole unit about `keys` would only repeat a problem already reported.
    func failed(_ keys: String...) -> Bool {
        failedKeys.contains("[") || keys.contains(where: failedKeys.contains)
    }

    private func unsupported(_ a: UnitFileAssignment) -> String {
        "Unsupported key '\(a.key)' in section [\(a.section)], ignoring."
    }

    private func unknown(_ a: UnitFileAssignment) -> String {
        "Unknown key '\(a.key)' in section [\(a.section)], ignoring."
    }

    mutating func warn(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.warning, location, message, unit: unit))
    }

    mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.error, location, message, unit: unit))
    }
}

/// Where the last assignment of `key` in `section` is, across a unit's files.
func lastAssignment(of key: String, in section: String, _ files: [UnitFile]) -> SourceLocation? {
    var found: SourceLocation?
    for file in files {
        for case .assignment(let a) in file.entries where a.key == key && a.section == section { found = a.location }
    }
    return found
}

/// Where command `index` of a command list (`ExecStart=` and the others) was written: the
/// list's assignments replayed, an empty one resetting it, a line with `;` giving as many
/// commands as it has. A command keeps no place of its own (40 bytes a service, and a moved
/// line would count as a changed unit at a reload), so this is asked only when a problem with
/// one is reported.
func commandLocation(_ index: Int, of key: String, in section: String, _ files: [UnitFile],
                     _ specifiers: SpecifierExpander) -> SourceLocation {
    var locations: [SourceLocation] = []
    for file in files {
        for case .assignment(let a) in file.entries where a.key == key && a.section == section {
            if a.value.isEmpty {
                locations.removeAll()
            } else if let commands = try? ExecCommand.parse(a.value, specifiers: specifiers) {
                locations += repeatElement(a.location, count: commands.count)
            }
        }
    }
    // The replay makes the list the setter made; should they ever differ, the key's last line.
    return locations.indices.contains(index)
        ? locations[index] : lastAssignment(of: key, in: section, files) ?? sectionLocation(section, files)
}

/// Where a problem of a whole section points: its first header in the main file, else line 1.
func sectionLocation(_ section: String, _ files: [UnitFile]) -> SourceLocation {
    files.first?.headerLocation(of: section) ?? SourceLocation(file: files.first?.path ?? "", line: 1)
}

// MARK: - Services

extension ServiceUnit {
    /// Builds a service from its main file and drop-ins, with every problem found.
    static func interpret(
        name: UnitName, files: [UnitFile], context: SpecifierContext, checkExecutables: Bool,
        executables: ExecutableChecks? = nil, keys: KeyLookups<ServiceUnit>? = nil
    ) -> (ServiceUnit, [Diagnostic]) {
        var service = ServiceUnit(name: name, path: files.first?.path ?? "")
        service.timeoutStop = context.defaultTimeoutStop
        service.dropIns = files.dropFirst().map(\.path.description)
        var interpreter = UnitInterpreter(catalog: serviceCatalog, specifiers: SpecifierExpander(name: name, context: context), keys: keys)
        interpreter.apply(files, to: &service, sandbox: { $0.sandbox })
        // Sockets= is Wants= and After= too (config_parse_service_sockets()).
        for socket in service.sockets.map(\.description) {
            if !service.unit.wants.contains(socket) { service.unit.wants.append(socket) }
            if !service.unit.after.contains(socket) { service.unit.after.append(socket) }
        }

        // PermissionsStartOnly=: the control commands run without the sandbox, User= or the
        // other privilege settings, as with `+` (service_spawn_internal(), src/core/service.c).
        if service.permissionsStartOnly {
            for keyPath in [\ServiceUnit.execCondition, \.execStartPre, \.execStartPost, \.execReload, \.execStop, \.execStopPost] {
                for index in service[keyPath: keyPath].indices { service[keyPath: keyPath][index].fullPrivileges = true }
            }
        }

        // A service that names no Type= is simple, or oneshot when it has no ExecStart=
        // (service_add_extras(), src/core/service.c).
        if service.execStart.isEmpty, lastAssignment(of: "Type", in: "Service", files) == nil {
            service.type = .oneshot
        }

        // service_verify(): without ExecStart=, SuccessAction= alone is a service's work.
        let header = sectionLocation("Service", files)
        if service.execStart.isEmpty && !interpreter.failed("ExecStart", "Type") {
            let hasSuccessAction = service.unit.successAction != .none
            if service.execStop.isEmpty && !hasSuccessAction {
                // A SuccessAction= on the machine (poweroff, reboot) was warned about and ignored.
                let ignored = lastAssignment(of: "SuccessAction", in: "Unit", files) != nil
                interpreter.error(header, ignored
                    ? "Service has no ExecStart= or ExecStop=, and swatchd does not take its SuccessAction=; refusing the unit."
                    : "Service has no ExecStart=, ExecStop=, or SuccessAction=; refusing the unit.")
            } else if service.type != .oneshot {
                interpreter.error(header, "Service has no ExecStart= setting, which is only allowed for Type=oneshot services; refusing the unit.")
            } else if !service.remainAfterExit && !hasSuccessAction {
                interpreter.error(header, "Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set; refusing the unit.")
            }
        }
        if service.type != .oneshot, service.execStart.count > 1 {
            interpreter.error(commandLocation(1, of: "ExecStart", in: "Service", files, interpreter.specifiers), "Service has more than one ExecStart= command, which is only allowed for Type=oneshot services; refusing the unit.")
        }
        if service.type == .oneshot, service.restart == .always || service.restart == .onSuccess {
            interpreter.error(lastAssignment(of: "Restart", in: "Service", files) ?? header,
                              "Restart=\(service.restart.rawValue) is not allowed for Type=oneshot services; refusing the unit.")
        }
        if checkExecutables {
            let executables = executables ?? ExecutableChecks()
            // The services of a load that run one program keep one string for its path. ExecStart=
            // alone: every service has it, the other lists are few, and writing one of those
            // would copy the group of rarely set fields it lives in (UnitModels.swift).
            for index in service.execStart.indices {
                let path = service.execStart[index].path
                let shared = executables.sharedPath(path)
                service.execStart[index].path = shared
                if service.execStart[index].arguments.first == path, !service.execStart[index].overrideArgv0 {
                    service.execStart[index].arguments[0] = shared
                }
            }
            interpreter.warnAboutPrograms([
                ("ExecCondition", service.execCondition), ("ExecStartPre", service.execStartPre),
                ("ExecStart", service.execStart),
                ("ExecStartPost", service.execStartPost), ("ExecReload", service.execReload),
                ("ExecStop", service.execStop), ("ExecStopPost", service.execStopPost),
            ], in: "Service", files, executables)
        }
        return (service, interpreter.diagnostics)
    }
}

// MARK: - Sockets

extension SocketUnit {
    /// Builds a socket from its main file and drop-ins, with every problem found.
    static func interpret(name: UnitName, files: [UnitFile], context: SpecifierContext, checkExecutables: Bool = false,
                          executables: ExecutableChecks? = nil, keys: KeyLookups<SocketUnit>? = nil)
        -> (SocketUnit, [Diagnostic])
    {
        var socket = SocketUnit(name: name, path: files.first?.path ?? "")
        socket.dropIns = files.dropFirst().map(\.path.description)
        var interpreter = UnitInterpreter(catalog: socketCatalog, specifiers: SpecifierExpander(name: name, context: context), keys: keys)
        interpreter.apply(files, to: &socket, sandbox: { $0.execution?.sandbox })

        // socket_verify()
        let header = sectionLocation("Socket", files)
        let listenKeys = ["ListenStream", "ListenDatagram", "ListenSequentialPacket", "ListenFIFO", "ListenNetlink",
                          "ListenSpecial", "ListenMessageQueue", "ListenUSBFunction"]
        if socket.listens.isEmpty && !listenKeys.contains(where: { interpreter.failed($0) }) {
            interpreter.error(header, "Socket has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...); refusing the unit.")
        }
        let acceptLocation = lastAssignment(of: "Accept", in: "Socket", files) ?? header
        if socket.accept, socket.listens.contains(where: { !$0.kind.acceptsConnections }) {
            // systemd.socket(5) calls Accept= "ignored" for datagram sockets and FIFOs, but
            // socket_verify() (src/core/socket.c, have_non_accept_socket()) refuses the unit:
            // "Unit configured for accepting sockets, but sockets are non-accepting."
            interpreter.error(acceptLocation, "Accept=yes needs sockets that accept connections; datagram and netlink sockets, FIFOs, special files and message queues do not (one service handles all their traffic); refusing the unit.")
        }
        if !socket.options.symlinks.isEmpty, socket.listens.filter(\.address.isFileSystemNode).count != 1 {
            // socket_verify(), socket_find_symlink_target(): the links point at the one node.
            interpreter.error(lastAssignment(of: "Symlinks", in: "Socket", files) ?? header,
                              "Symlinks= needs exactly one unix socket path or FIFO to point to; this unit has \(socket.listens.filter(\.address.isFileSystemNode).count); refusing the unit.")
        }
        if socket.accept, let service = socket.service {
            interpreter.error(lastAssignment(of: "Service", in: "Socket", files) ?? acceptLocation,
                              "Service=\(service) is not allowed with Accept=yes (each connection gets an instance of \(socket.name.prefix)@.service); refusing the unit.")
        }
        if checkExecutables {
            let executables = executables ?? ExecutableChecks()
            interpreter.warnAboutPrograms([
                ("ExecStartPre", socket.execStartPre), ("ExecStartPost", socket.execStartPost),
                ("ExecStopPre", socket.execStopPre), ("ExecStopPost", socket.execStopPost),
            ], in: "Socket", files, executables)
        }
        // systemd's defaults with Accept=yes (socket_add_extras(), src/core/socket.c).
        if socket.accept, lastAssignment(of: "TriggerLimitBurst", in: "Socket", files) == nil {
            socket.triggerLimitBurst = 200
        }
        if socket.accept, lastAssignment(of: "PollLimitBurst", in: "Socket", files) == nil {
            socket.pollLimitBurst = 150
        }
        return (socket, interpreter.diagnostics)
    }
}

/// The looks at programs of one load, each path looked at once: a thousand services
/// running one program made two thousand stat(2)/access(2) calls (docs/HACKING.md
/// "Footprint and start-up"). A load takes milliseconds; a program installed during one
/// is seen by the next, as one installed after it is.
final class ExecutableChecks {
    private var problems: [String: String?] = [:]

    init() {}

    /// `Executable.problem(path)`, remembered for the rest of the load.
    func problem(_ path: String) -> String? {
        let index = looked(at: path)   // first: it may insert, which makes earlier views stale
        return problems.values[index]
    }

    /// `path` as this load first saw it: one string (one heap block, for a path longer than
    /// 15 bytes) for every command that runs the program.
    func sharedPath(_ path: String) -> String {
        let index = looked(at: path)
        return problems.keys[index]
    }

    /// Where `path` is in the table, looked at first if it is new.
    private func looked(at path: String) -> [String: String?].Index {
        if let index = problems.index(forKey: path) { return index }
        problems[path] = .some(Executable.problem(path))
        return problems.index(forKey: path)!
    }
}

/// Load-time look at an ExecStart= program (a warning only: it may be installed later, swatchd.service(5)).
enum Executable {
    /// Why `path` cannot be executed now, or nil. A plain name is looked up in swatchd's own PATH.
    static func problem(_ path: String) -> String? {
        if path.hasPrefix("/") { return check(path) }
        let search = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in search.split(separator: ":") where check("\(directory)/\(path)") == nil { return nil }
        return "No such file or directory in PATH"
    }

    private static func check(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return String(cString: strerror(errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { return "Not a regular file" }
        guard access(path, X_OK) == 0 else { return String(cString: strerror(errno)) }
        return nil
    }
}
