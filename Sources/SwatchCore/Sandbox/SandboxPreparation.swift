import Glibc
import Logging
import SystemPackage

/// The part of sandboxing done by swatchd itself before each clone, and what
/// it holds from a unit's start until the unit is inactive again: allocates
/// dynamic users, creates the service directories and the private /tmp,
/// finds out what the plan needs to know of the machine, and plans the steps
/// the child applies (`SandboxPlan`). At the stop it undoes what the start
/// left behind. Everything that is not async-signal-safe happens here, never
/// in the child (Sources/CSwatch/shim.c).
package final class SandboxPreparation {
    /// swatchd's runtime directory: `RUNTIME/sandbox` holds the staging directory
    /// of a private /dev and the inaccessible nodes.
    let runtimeDirectory: String
    /// The directories' bases for this swatchd (system or user manager).
    let directoryBases: ServiceDirectories
    let logger: Logger
    /// The uids of DynamicUser=, held from a unit's first command until it is inactive.
    var dynamicUsers = DynamicUserRegistry()
    /// swatchd's own $CREDENTIALS_DIRECTORY (ImportCredential=, relative LoadCredential= paths).
    let managerCredentialsDirectory: String?
    /// swatchd's own uid and gid when it is not root (`UnprivilegedSandbox`); nil: root.
    let unprivilegedIDs: (uid: uid_t, gid: gid_t)?
    /// The RLIMIT_NOFILE swatchd was started with, when it raised its own (FileLimit): what a
    /// service without LimitNOFILE= gets back.
    let inheritedFileLimit: LimitValue?
    /// The units whose start prepared something that their stop undoes (carried across a
    /// daemon-reexec: SandboxPreparation+Reexec.swift).
    var prepared: [UnitName: PreparedSandbox] = [:]
    /// The sweep of the private /tmp directories of an earlier swatchd, while it is still to
    /// be done; nil once it is done (or when there is none to do: a re-executed swatchd).
    private var staleSweep: PrivateTemporaryDirectories.StaleSweep?

    /// What one unit's start left to undo when it is inactive.
    struct PreparedSandbox {
        /// RuntimeDirectory=: removed at the stop as RuntimeDirectoryPreserve= says (the Manager's events).
        var runtimeDirectories: Set<String> = []
        /// RemoveIPC= (or DynamicUser=): the IPC objects of this uid/gid go at the stop.
        var removeIPCOf: (uid: uid_t, gid: gid_t)?
        /// The unit holds a dynamic user (given back at the stop).
        var dynamicUser = false
        /// PrivateTmp=: its /tmp and /var/tmp, made at its first sandboxed command.
        var privateTemporaryDirectories: PrivateTemporaryDirectories?
        /// $CREDENTIALS_DIRECTORY, installed at its first command.
        var credentialsDirectory: String?
    }

    /// - Parameters:
    ///   - runtimeDirectory: swatchd's runtime directory (`--runtime-dir`).
    ///   - environment: swatchd's own environment (XDG_*_HOME of a user manager).
    ///   - home: swatchd's user's home (the bases of a user manager; asked only when not root).
    ///   - unprivilegedIDs: swatchd's uid and gid when it is not root (the default finds out).
    package init(runtimeDirectory: String, environment: [String: String], home: @autoclosure () -> String, logger: Logger,
                 unprivilegedIDs: (uid: uid_t, gid: gid_t)? = UnprivilegedSandbox.ids(), inheritedFileLimit: LimitValue? = nil) {
        self.runtimeDirectory = runtimeDirectory
        self.unprivilegedIDs = unprivilegedIDs
        self.inheritedFileLimit = inheritedFileLimit
        self.managerCredentialsDirectory = environment["CREDENTIALS_DIRECTORY"].flatMap { $0.isEmpty ? nil : $0 }
        self.directoryBases = ServiceDirectories.forManager(uid: getuid(), environment: environment, home: home())
        self.logger = logger
    }

    /// At start-up: begins the sweep of the private /tmp directories of a swatchd that was
    /// killed (PrivateTemporaryDirectories.StaleSweep), except those of the units in `kept`.
    package func beginStaleTemporaryDirectorySweep(keeping kept: Set<String>) {
        staleSweep = PrivateTemporaryDirectories.StaleSweep(keeping: kept)
    }

    /// One step of the sweep (an idle turn of the loop); whether more is left.
    package func sweepStaleTemporaryDirectories() -> Bool {
        guard let sweep = staleSweep else { return false }
        let more = sweep.step { path in
            logger.info("Removed \(path), the private /tmp of a unit of a swatchd that is gone.")
        }
        if !more { staleSweep = nil }
        return more
    }

    /// The rest of the sweep at once: before the first private /tmp is made.
    package func removeStaleTemporaryDirectories() {
        while sweepStaleTemporaryDirectories() {}
    }

    // MARK: - The user

    /// The user the service runs as, for its environment (USER, LOGNAME, HOME,
    /// SHELL) and WorkingDirectory=~: User=, or the DynamicUser= user. The uid
    /// of a dynamic user not allocated yet is not known here; only `steps`
    /// decides credentials. nil: neither is set.
    package func user(of unit: ServiceUnit, name: UnitName) throws(SandboxError) -> UserIdentity? {
        if unit.sandbox.dynamicUser {
            let userName = dynamicUserName(of: unit, name: name)
            if let existing = staticUser(forDynamic: userName) { return existing }
            return dynamicIdentity(userName, uid: dynamicUsers.uid(of: userName) ?? uid_t.max)
        }
        guard let user = unit.sandbox.user else { return nil }
        guard let identity = UserAccounts.user(user) else { throw .noSuchUser(directive: "User=", name: user) }
        return identity
    }

    /// The name of the user of DynamicUser=: User= if set, else the unit's
    /// prefix (systemd names the dynamic user after the unit; the instances of
    /// a template share it).
    func dynamicUserName(of unit: ServiceUnit, name: UnitName) -> String {
        unit.sandbox.user ?? name.prefix
    }

    /// DynamicUser= with a user of that name in the databases: systemd runs
    /// the service as that static user instead. Looked up by name only (a
    /// number is no user name, and never falls back to anything).
    func staticUser(forDynamic userName: String) -> UserIdentity? {
        uid_t(userName) == nil ? UserAccounts.user(userName) : nil
    }

    /// The identity of a dynamic user of `uid` (systemd: home `/`, shell nologin).
    func dynamicIdentity(_ userName: String, uid: uid_t) -> UserIdentity {
        UserIdentity(name: userName, uid: uid, gid: gid_t(uid), home: "/", shell: "/usr/sbin/nologin")
    }

    // MARK: - The environment

    /// The variables the sandbox adds to the environment, before Environment=
    /// (as systemd's build_environment, src/core/execute.c): USER/LOGNAME/HOME/SHELL
    /// when there is a User= (or DynamicUser=), and $STATE_DIRECTORY and friends.
    package func environment(for unit: ServiceUnit, name: UnitName) throws(SandboxError) -> [(String, String)] {
        var variables: [(String, String)] = []
        if let user = try user(of: unit, name: name) {
            variables += [("USER", user.name), ("LOGNAME", user.name), ("HOME", user.home), ("SHELL", user.shell)]
        }
        if !unit.sandbox.credentials.isEmpty {
            variables.append(("CREDENTIALS_DIRECTORY", credentialsDirectory(of: name)))
        }
        return variables + directoryBases.environment(of: unit.sandbox)
    }

    /// `RUNTIME/credentials/UNIT`: the unit's $CREDENTIALS_DIRECTORY.
    func credentialsDirectory(of name: UnitName) -> String { runtimeDirectory + "/credentials/" + name.description }

    // MARK: - The steps

    /// The sandbox of one command: allocates the dynamic user, creates the
    /// service's directories and its private /tmp, and plans the steps the
    /// child applies (`SandboxPlan`), in `SandboxStep.Kind.executionOrder`.
    /// `notifySocketPath`: swatchd's notify socket, which the namespace must
    /// not hide from a service that talks sd_notify(3); nil: none. `invocationID`: the
    /// start's INVOCATION_ID, which a session keyring of its own holds.
    package func steps(for unit: ServiceUnit, name: UnitName, command: ExecCommand, invocationID: String,
                       notifySocketPath: String?) throws(SandboxError) -> [SandboxStep] {
        let sandbox = SandboxPlan.effective(unit.sandbox)
        let implicitKeyring = KeyringMode.implicit(forService: name.type == .service, swatchdIsRoot: unprivilegedIDs == nil)
        guard sandbox != Sandbox() else {
            // Nothing to prepare and no process property: a session keyring at most, swatchd's.
            var steps: [SandboxStep] = []
            if let limit = inheritedFileLimitStep(unit) { steps.append(limit) }
            if let keyring = SandboxPlan.keyringStep(implicitKeyring, owner: Credentials(),
                                                     invocationID: InvocationID.bytes(of: invocationID)) {
                steps.append(keyring)
            }
            return steps
        }
        // Not root: what needs real root is refused before anything is allocated or made.
        let unprivileged = command.fullPrivileges ? nil : unprivilegedIDs
        if let ids = unprivileged, sandbox.dynamicUser || sandbox.privatePIDs {
            throw UnprivilegedSandbox.refusal(unitSandbox: unit.sandbox, uid: ids.uid, gid: ids.gid,
                                              user: nil, group: nil, supplementaryGroups: [])!
        }
        var prepared = self.prepared[name] ?? PreparedSandbox()
        defer { self.prepared[name] = prepared }

        let user: UserIdentity?
        if sandbox.dynamicUser {
            let userName = dynamicUserName(of: unit, name: name)
            if let existing = staticUser(forDynamic: userName) {
                // Never root, though: DynamicUser= asks for an unprivileged user.
                guard existing.uid != 0 else { throw .staticUserIsRoot(userName) }
                user = existing
            } else {
                // All of /proc is read only when a new number is picked: not for a uid held
                // (a restart, another instance) or given back with nothing left running.
                var owners: Set<uid_t>?
                guard let uid = dynamicUsers.acquire(userName, for: name, isAccount: DynamicUserAllocator.isAccount,
                                                     isTaken: { uid in
                    if owners == nil { owners = DynamicUserAllocator.runningProcessOwners() }
                    return DynamicUserAllocator.inUse(uid, processOwners: owners ?? [])
                }) else {
                    throw .noFreeUID(DynamicUserAllocator.range)
                }
                prepared.dynamicUser = true
                user = dynamicIdentity(userName, uid: uid)
            }
        } else {
            user = try self.user(of: unit, name: name)
        }
        var gid = user?.gid
        if let group = unit.sandbox.group, !sandbox.dynamicUser {
            guard let found = UserAccounts.group(group) else { throw .noSuchGroup(directive: "Group=", name: group) }
            gid = found
        }
        var groups: [gid_t]?
        if user != nil || gid != nil || !sandbox.supplementaryGroups.isEmpty {
            // A static user gets its memberships (initgroups); a dynamic one, and
            // root's Group=, only SupplementaryGroups= — never swatchd's own groups.
            var list: [gid_t] = []
            if let user, !prepared.dynamicUser { list = UserAccounts.memberships(of: user.name, primary: gid ?? user.gid) }
            for text in sandbox.supplementaryGroups {
                guard let found = UserAccounts.group(text) else {
                    throw .noSuchGroup(directive: "SupplementaryGroups=", name: text)
                }
                if !list.contains(found) { list.append(found) }
            }
            groups = list
        }
        if let ids = unprivileged, !command.keepsCredentials {
            let supplementary = try sandbox.supplementaryGroups.map { text throws(SandboxError) in
                guard let found = UserAccounts.group(text) else { throw .noSuchGroup(directive: "SupplementaryGroups=", name: text) }
                return found
            }
            if let refusal = UnprivilegedSandbox.refusal(unitSandbox: unit.sandbox, uid: ids.uid, gid: ids.gid, user: user?.uid,
                                                         group: gid, supplementaryGroups: supplementary) {
                throw refusal
            }
            // Its own user and group: nothing to switch (and setgroups(2) is not permitted).
            groups = nil
        }
        let owner = user.map { (uid: $0.uid, gid: gid ?? $0.gid) } ?? gid.map { (uid: getuid(), gid: $0) }
        if sandbox.removeIPC, let owner, owner.uid != 0 { prepared.removeIPCOf = owner }

        var serviceDirectories: [(path: String, directive: String)] = []
        for kind in directoryBases.kinds(of: sandbox) {
            for path in kind.paths {
                let existingMode: UInt32?
                do {
                    existingMode = try ServiceDirectories.prepare(path, mode: kind.mode, owner: kind.ownedByService ? owner : nil,
                                                                  keepingExisting: !kind.ownedByService)
                } catch {
                    throw .directory(directive: kind.directive, path: path, error)
                }
                if let existingMode {
                    // As systemd words it (setup_exec_directory(), src/core/exec-invoke.c).
                    let key = kind.directive.dropLast()
                    logger.warning("\(name): \(key) '\(path.dropFirst(kind.base.count + 1))' already exists but the mode is different. (File system: \(String(existingMode, radix: 8)) \(key)Mode: \(String(kind.mode, radix: 8)))",
                                   metadata: ["unit": "\(name)"])
                }
                if kind.variable == "RUNTIME_DIRECTORY" { prepared.runtimeDirectories.insert(path) }
                if kind.ownedByService { serviceDirectories.append((path, kind.directive)) }
            }
        }

        if !sandbox.credentials.isEmpty, prepared.credentialsDirectory == nil {
            let directory = credentialsDirectory(of: name)
            let credentials = try ServiceCredentials.collect(sandbox.credentials, managerDirectory: managerCredentialsDirectory)
            if mkdir(runtimeDirectory + "/credentials", 0o755) != 0, errno != EEXIST {
                throw .credential(directive: "LoadCredential=", id: "*",
                                  reason: "mkdir \(runtimeDirectory)/credentials: \(Errno(rawValue: errno))")
            }
            try ServiceCredentials.install(credentials, at: directory, owner: owner)
            prepared.credentialsDirectory = directory
        }

        // A service that talks sd_notify must still see the notify socket
        // (a --runtime-dir below /tmp and PrivateTmp=): say so now rather
        // than let the start time out.
        if !command.fullPrivileges, unit.effectiveNotifyAccess != .none, let socket = notifySocketPath,
           let cover = SandboxPlan.coveredPaths(for: unit.sandbox).first(where: { SandboxPlan.atOrBelow(socket, $0.path) }) {
            throw .hidesNotifySocket(directive: cover.directive, path: cover.path, socket: socket)
        }

        if sandbox.privateTmp, !command.fullPrivileges, prepared.privateTemporaryDirectories == nil {
            // The directories of a swatchd that is gone go before any unit makes its own.
            removeStaleTemporaryDirectories()
            do {
                prepared.privateTemporaryDirectories = try PrivateTemporaryDirectories.create(for: name.description)
            } catch {
                throw .privateTemporaryDirectory(directive: unit.sandbox.privateTmp ? "PrivateTmp=" : "DynamicUser=",
                                                 base: error.base, error.errno)
            }
        }

        if let ids = unprivileged, let directive = SandboxPlan.namespaceDirective(for: unit.sandbox),
           let reason = UnprivilegedSandbox.userNamespacesUnavailable() {
            throw .needsRoot(directive: directive,
                             reason: "swatchd runs as uid \(ids.uid), not root, and \(reason)")
        }
        let staging = try stagingDirectory()
        // What the plan must know of the machine: unreadable, the start fails rather than
        // guess (a guessed capability count or mount table could leave something unprotected).
        var lastCapability: Int32 = 63
        if Capabilities.dropsAny(sandbox), !command.fullPrivileges {
            lastCapability = try Capabilities.lastCapability(
                directive: sandbox.capabilityBoundingSet != nil ? "CapabilityBoundingSet=" : "PrivateDevices=")
        }
        var mountPoints = ["/"]
        if let directive = SandboxPlan.readOnlyDirective(for: unit.sandbox), !command.fullPrivileges {
            mountPoints = try MountTable.read(directive: directive)
        }
        var seccompPrograms: [(directive: String, program: SeccompProgram)] = []
        if !command.fullPrivileges {
            for filter in SeccompFilters.filters(for: sandbox) {
                seccompPrograms.append((filter.directive, try SeccompCompiler.compile(filter)))
            }
        }
        var context = SandboxContext(
            credentials: command.fullPrivileges || command.keepsCredentials || unprivileged != nil
                || (user == nil && gid == nil && groups == nil) ? nil : Credentials(uid: user?.uid, gid: gid, groups: groups),
            lastCapability: lastCapability,
            mountPoints: mountPoints,
            deviceStaging: staging + "/dev",
            inaccessibleDirectory: staging + "/inaccessible-dir",
            inaccessibleFile: staging + "/inaccessible-file",
            // (In a user namespace only the service's own gid is mapped: devpts takes no other.)
            ttyGroup: unprivileged == nil ? UserAccounts.group("tty") : nil,
            serviceDirectories: serviceDirectories,
            // (No PrivateTmp=, or a `+` command: the plan binds nothing.)
            privateTemporaryDirectories: prepared.privateTemporaryDirectories
                ?? PrivateTemporaryDirectories(tmp: "/tmp", varTmp: "/var/tmp"),
            pathKind: { path in
                guard let info = try? FileSystem.linkStatus(path) else { return nil }
                return FileSystem.type(info.st_mode) == S_IFDIR ? .directory : .other
            })
        context.seccompPrograms = seccompPrograms
        context.unprivilegedIDs = unprivileged
        context.implicitKeyringMode = implicitKeyring
        context.keyringOwner = Credentials(uid: owner?.uid, gid: owner?.gid)
        context.invocationID = InvocationID.bytes(of: invocationID)
        if sandbox.protectClock {
            context.clockDevices = (UnitDirectory.list("/dev") ?? []).filter { $0.hasPrefix("rtc") }.sorted().map { "/dev/" + $0 }
        }
        let steps = SandboxPlan.steps(for: unit.sandbox, fullPrivileges: command.fullPrivileges, context: context)
        return inheritedFileLimitStep(unit).map { [$0] + steps } ?? steps
    }

    /// The file limit swatchd was started with, for a service that sets none (FileLimit): first,
    /// with the unit's other limits (SandboxStep.Kind.executionOrder), and never refused, as a
    /// soft limit may always be lowered.
    private func inheritedFileLimitStep(_ unit: ServiceUnit) -> SandboxStep? {
        guard let limit = inheritedFileLimit, unit.sandbox.limits[.nofile] == nil else { return nil }
        return SandboxStep(.setLimit(resource: ResourceLimit.nofile.number, soft: limit.soft, hard: limit.hard), "LimitNOFILE=")
    }

    /// `RUNTIME/sandbox`: the empty directory a private /dev is built in, and
    /// the mode-0000 nodes bound over inaccessible paths. Created once.
    func stagingDirectory() throws(SandboxError) -> String {
        let base = runtimeDirectory + "/sandbox"
        do throws(Errno) {
            var prefix = ""
            for part in (base + "/dev").split(separator: "/") {
                prefix += "/" + part
                if mkdir(prefix, 0o755) != 0, errno != EEXIST { throw Errno(rawValue: errno) }
            }
            if try FileSystem.linkStatus(base + "/inaccessible-dir") == nil {
                _ = try retryingOnInterrupt { mkdir(base + "/inaccessible-dir", 0) }
            }
            if try FileSystem.linkStatus(base + "/inaccessible-file") == nil {
                let fd = try retryingOnInterrupt { open(base + "/inaccessible-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0) }
                _ = close(fd)
            }
            _ = try retryingOnInterrupt { chmod(base + "/inaccessible-dir", 0) }
            _ = try retryingOnInterrupt { chmod(base + "/inaccessible-file", 0) }
        } catch {
            throw .staging(path: base, error)
        }
        return base
    }

    // MARK: - Release

    /// Removes `directories`, but those another unit still uses (the instances of a template).
    private func removeRuntimeDirectories(_ directories: Set<String>, of name: UnitName) {
        for directory in directories
        where !prepared.contains(where: { $0.key != name && $0.value.runtimeDirectories.contains(directory) }) {
            ServiceDirectories.remove(directory)
        }
    }

    /// A stop is over and the unit may start again at once: its next run gets a fresh /tmp,
    /// as systemd's service_enter_dead() drops the unit's runtime (src/core/service.c), and,
    /// when `runtimeDirectories`, new runtime directories.
    package func releaseRuntime(of name: UnitName, runtimeDirectories: Bool) {
        guard var unit = prepared[name] else { return }
        unit.privateTemporaryDirectories?.remove()
        unit.privateTemporaryDirectories = nil
        if runtimeDirectories {
            removeRuntimeDirectories(unit.runtimeDirectories, of: name)
            unit.runtimeDirectories = []
        }
        prepared[name] = unit
    }

    /// The unit is inactive: remove its private /tmp, give back its dynamic
    /// user, remove its runtime directories when `runtimeDirectories` and, with RemoveIPC=,
    /// its user's IPC objects — unless another unit still uses them (the instances of a template).
    /// `processesLeft`: a process of the unit still runs (KillMode=process or none), as
    /// its dynamic user.
    package func release(_ name: UnitName, runtimeDirectories: Bool = true, processesLeft: Bool = false) {
        guard let prepared = prepared.removeValue(forKey: name) else { return }
        prepared.privateTemporaryDirectories?.remove()
        if let directory = prepared.credentialsDirectory { ServiceCredentials.remove(directory) }
        let others = self.prepared.values
        if runtimeDirectories { removeRuntimeDirectories(prepared.runtimeDirectories, of: name) }
        var removeIPC = prepared.removeIPCOf
        if prepared.dynamicUser, dynamicUsers.release(name, processesLeft: processesLeft) == nil { removeIPC = nil }
        if let owner = removeIPC, !others.contains(where: { $0.removeIPCOf?.uid == owner.uid }) {
            let count = IPCObjects.remove(uid: owner.uid, gid: owner.gid)
            if count > 0 {
                logger.debug("\(name): removed \(count) IPC objects of uid \(owner.uid).", metadata: ["unit": "\(name)"])
            }
        }
    }
}
