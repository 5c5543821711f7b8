// The units swatchd runs: loaded from unit directories (first directory wins,
// as systemd's search path), drop-ins applied, each socket paired with its
// service, every problem collected. A unit with an error is refused and left
// out; the rest load (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").

import Glibc
import SystemPackage

/// A unit file's text and its drop-ins, with the paths they are named by in diagnostics.
package struct UnitSource: Sendable {
    /// The unit's path as given; its last component is the unit name.
    package var path: SourcePath
    package var bytes: [UInt8]
    /// Drop-ins in the order they apply.
    package var dropIns: [(path: String, bytes: [UInt8])]
    /// The modification times of the file and its drop-ins when they were read (none for text given as is).
    package var fileTimes = SourceFileTimes()
    /// Why a part of the unit could not be read (a drop-in): each refuses the unit.
    package var readProblems: [Diagnostic] = []

    package init(path: String, text: String, dropIns: [(path: String, text: String)] = []) {
        self.init(path: SourcePath(path), bytes: Array(text.utf8), dropIns: dropIns.map { ($0.path, Array($0.text.utf8)) })
    }

    package init(path: SourcePath, bytes: [UInt8], dropIns: [(path: String, bytes: [UInt8])] = []) {
        self.path = path
        self.bytes = bytes
        self.dropIns = dropIns
    }
}

/// What the unit directories say besides the unit files: the drop-ins of instances with no
/// file of their own, for those their templates make (UnitSet.loadInstances(named:),
/// UnitSet.instantiateSocket(_:)), and the names that are masked.
package struct DirectoryFacts: Sendable {
    /// `x@a.service.d/*.conf` (with the template's `x@.service.d/`, merged as for a linked
    /// instance) by instance name, and why one could not be read.
    package var dropIns: [String: (files: [(path: String, bytes: [UInt8])], problems: [Diagnostic])] = [:]
    /// Service and socket names linked to /dev/null: not loaded, an instance never made from its template.
    package var masked: Set<String> = []

    package init() {}
}

/// The loaded units, paired and validated.
package struct UnitSet: Sendable {
    package var sockets: [UnitName: SocketUnit] = [:]
    /// Services, templates included (keyed by their template name, `echo@.service`).
    package var services: [UnitName: ServiceUnit] = [:]
    /// Every problem, in file and line order.
    package var diagnostics: [Diagnostic] = []
    /// Refused units (full name → their errors); a refused unit is in neither `sockets` nor `services`.
    package var refused: [String: [Diagnostic]] = [:]
    /// Alias names (a symlink in a unit directory to a unit of another name,
    /// as `systemctl enable` makes for Alias=) → the unit's own name.
    package var aliases: [String: String] = [:]
    /// Instances of loaded templates made because a unit or a request names them, with no file
    /// of their own in a unit directory (`notify@%n.service` named by OnFailure=, `swatchctl
    /// start getty@tty1.service`): loaded, not started on their own. A job starts them, as systemd
    /// loads a unit on its first reference and starts it only when something pulls it in.
    package var namedInstances: Set<UnitName> = []

    package var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Socket units named by a service's Sockets= → the first such service (by name).
    private var listedBy: [UnitName: UnitName] = [:]
    /// The files of each template, to evaluate specifiers again per instance.
    private var templateFiles: [UnitName: [UnitFile]] = [:]
    /// The templates whose files name no specifier that differs between instances
    /// (`%i`, `%I`, `%n`, `%N`, `%f`), interpreted once: an instance is this model under its
    /// own name, with no parse per Accept=yes connection.
    private var sameForEveryInstance: [UnitName: ServiceUnit] = [:]
    /// The drop-ins of instances with no file of their own (`x@a.service.d/*.conf`, merged with
    /// the template's as a linked instance's are), and why one could not be read: an instance
    /// made from its template gets them.
    private var instanceDropIns: [UnitName: (files: [UnitFile], problems: [Diagnostic])] = [:]
    /// The service and socket names masked in the unit directories (linked to /dev/null).
    package private(set) var masked: Set<String> = []
    private var context: SpecifierContext

    private init(context: SpecifierContext) {
        self.context = context
    }

    // MARK: Loading

    /// The type of a file named as a unit of systemd's other kinds, which swatchd does not
    /// load: `timer` for `tick.timer`; nil for a service, a socket or any other name.
    static func otherUnitType(of fileName: String) -> Substring? {
        UnitTypes.type(of: fileName).flatMap { $0 == "service" || $0 == "socket" ? nil : $0 }
    }

    /// Loads the `*.socket` and `*.service` files of `directories` (a name found in two is taken from
    /// the first) and the given `files` (which win over the directories), with their drop-ins.
    package static func load(directories: [String], files: [String] = [], context: SpecifierContext) -> UnitSet {
        var sources: [UnitSource] = []
        var unreadable: [Diagnostic] = []
        var seen: Set<String> = []
        var aliases: [String: String] = [:]
        var warnings: [Diagnostic] = []
        var facts = DirectoryFacts()
        // Each directory is listed once; `NAME.d/`, `.wants/`, `.requires/` are looked up in
        // the listings (1000 units made ~6 failing opens each).
        var listings = DirectoryListings()
        func add(_ path: SourcePath, dropInSearch: [String], entry: (directory: FileDescriptor, name: String)? = nil) {
            let name = path.name
            guard seen.insert(name).inserted else { return }
            var times = SourceFileTimes()
            let (content, stamp) = UnitDirectory.readStamped(path, entry: entry)
            times.stamps[path] = .some(stamp)
            switch content {
            case .failure(let errno):
                unreadable.append(Diagnostic(.error, SourceLocation(file: path, line: 1),
                                             "Failed to read unit file: \(errno.description); refusing the unit.", unit: name))
            case .success(let bytes):
                let (found, problems) = dropIns(of: name, in: dropInSearch, times: &times, listings: &listings)
                var source = UnitSource(path: path, bytes: bytes, dropIns: found)
                source.readProblems = problems
                source.fileTimes = times
                sources.append(source)
            }
        }
        for file in files {
            add(SourcePath(file), dropInSearch: [UnitDirectory.parent(file)] + directories)
        }
        for directory in directories {
            guard let listing = listings[directory] else {
                // A unit dir that is not there is fine; one that cannot be read is named.
                if let errno = listings.problem(directory) {
                    warnings.append(Diagnostic(.warning, SourceLocation(file: SourcePath(directory), line: 1),
                                               "Failed to read unit directory: \(errno); its units are not loaded."))
                }
                continue
            }
            // Its files are opened relative to it (UnitDirectory.readStamped); nil: by path.
            let directoryFD = (try? retryingOnInterrupt { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) })
                .map { FileDescriptor(rawValue: $0) }
            defer { try? directoryFD?.close() }
            // One string for the directory, shared by the paths of all its units (SourcePath.swift).
            let prefix = SourcePath.directoryPrefix(directory)
            // No rehash of `seen` while 1000 names come in: 22 of them were 2 M instructions.
            seen.reserveCapacity(seen.count + listing.count)
            sources.reserveCapacity(sources.count + listing.count)
            // Sorted with their types, not looked up again by name; a path is made only for an
            // entry that is not a plain file (a symlink, a masked unit): the units of a directory
            // are named by its prefix and their names (SourcePath).
            for (name, type) in listing.sorted(by: { $0.key < $1.key }) {
                var path: String { prefix + name }
                guard name.hasSuffix(".service") || name.hasSuffix(".socket") else {
                    // A timer or a mount that does nothing must say so, once per name (the first
                    // directory's wins, as for the units loaded); a masked one is meant to do nothing.
                    guard let other = Self.otherUnitType(of: name) else { continue }
                    switch UnitDirectory.kind(path, listedAs: type) {
                    case .file where seen.insert(name).inserted:
                        warnings.append(Diagnostic(.warning, SourceLocation(file: SourcePath(path), line: 1),
                                                   "Unit type .\(other) is not supported by this build, ignoring the unit.",
                                                   unit: name))
                    case .masked: seen.insert(name)
                    default: break
                    }
                    continue
                }
                switch UnitDirectory.kind(path, listedAs: type) {
                case .file:
                    // One unit under two names, loaded once under its own (systemd.unit(5), "Aliases").
                    if Int32(type) != Int32(DT_REG),
                       let (target, resolved) = UnitDirectory.aliasTarget(of: path, name: name) {
                        if seen.insert(name).inserted { aliases[name] = target }
                        // Named by the target's place in this directory when it has one.
                        let sibling = prefix + target
                        add(SourcePath(UnitDirectory.kind(sibling, listedAs: listing[target]) == .file ? sibling : resolved),
                            dropInSearch: directories)
                    } else {
                        add(SourcePath(directory: prefix, name: name), dropInSearch: directories,
                            entry: directoryFD.map { ($0, name) })
                    }
                case .masked:   // linked to /dev/null: masked, also in later directories
                    if seen.insert(name).inserted { facts.masked.insert(name) }
                case .missing:
                    if let target = UnitDirectory.danglingTarget(path) {
                        warnings.append(Diagnostic(.warning, SourceLocation(file: SourcePath(path), line: 1),
                                                   "Unit file is a dangling symlink to \(target), ignoring the unit.",
                                                   unit: name))
                    }
                case .directory, .other: continue
                }
            }
        }
        // `x@a.service.d/` with no `x@a.service`: for the instance its template may make.
        for directory in directories {
            for (entry, type) in listings[directory] ?? [:]
            where type != UInt8(DT_REG) && (entry.hasSuffix(".service.d") || entry.hasSuffix(".socket.d")) {
                let name = String(entry.dropLast(2))
                guard !seen.contains(name), facts.dropIns[name] == nil, let unit = UnitName(parsing: name),
                      unit.instance != nil, !unit.isTemplate else { continue }
                var times = SourceFileTimes()
                facts.dropIns[name] = dropIns(of: name, in: directories, times: &times, listings: &listings)
            }
        }
        var set = parse(sources, context: context, aliases: aliases, facts: facts)
        set.addDependencyDirectories(directories, listings: &listings)
        for diagnostic in unreadable {
            set.refused[diagnostic.unit ?? diagnostic.location.file.description, default: []].append(diagnostic)
        }
        set.diagnostics = sortedByPlace(set.diagnostics + unreadable + warnings)
        return set
    }

    /// The listings of the directories a load looks into, each read once (nil: cannot be opened).
    private struct DirectoryListings {
        private var byPath: [String: Result<[String: UInt8], Errno>] = [:]
        /// Whether a directory lists anything that may be a directory (not `DT_REG`), by path.
        private var holdsDirectories: [String: Bool] = [:]

        /// Whether `path` lists an entry that may be a directory (a drop-in or dependency
        /// directory, or a link to one); false when it cannot be listed.
        mutating func mayHoldDirectories(_ path: String) -> Bool {
            if let known = holdsDirectories[path] { return known }
            let holds = self[path]?.values.contains { $0 != UInt8(DT_REG) } ?? false
            holdsDirectories[path] = holds
            return holds
        }

        /// The entries of `path`; nil when it cannot be listed (`problem` says whether that matters).
        subscript(path: String) -> [String: UInt8]? {
            mutating get { try? result(path).get() }
        }

        /// Why `path` cannot be listed, when it exists and should: nil for a listing, or for a
        /// directory that is not there.
        mutating func problem(_ path: String) -> Errno? {
            guard case .failure(let errno) = result(path), !UnitDirectory.isAbsent(errno) else { return nil }
            return errno
        }

        private mutating func result(_ path: String) -> Result<[String: UInt8], Errno> {
            if let known = byPath[path] { return known }
            let listing = UnitDirectory.listing(path)
            byPath[path] = listing
            return listing
        }

        /// The names in `directory/sub` (sorted) when `directory` lists `sub` as a directory
        /// or a link to one; nil otherwise, without a failing open.
        mutating func names(in directory: String, _ sub: String) -> [String]? {
            guard let type = self[directory]?[sub], type != UInt8(DT_REG) else { return nil }
            return self[UnitDirectory.join(directory, sub)]?.keys.sorted()
        }
    }

    /// `NAME.wants/` and `NAME.requires/` of the unit dirs (what `systemctl enable` makes for
    /// WantedBy=/RequiredBy=): each entry named there is wanted or required by NAME
    /// (systemd.unit(5), "Description").
    private mutating func addDependencyDirectories(_ directories: [String], listings: inout DirectoryListings) {
        func entries(_ name: UnitName, _ suffix: String) -> [String] {
            directories.flatMap { directory in
                (listings.names(in: directory, name.description + suffix) ?? []).filter { UnitName(parsing: $0) != nil }
            }
        }
        // Only names some directory lists at all (`x.service.wants`): most units have none.
        var named: Set<String> = []
        for directory in directories {
            for (entry, type) in listings[directory] ?? [:] where type != UInt8(DT_REG)
                && (entry.hasSuffix(".wants") || entry.hasSuffix(".requires")) {
                named.insert(String(entry[..<entry.lastIndex(of: ".")!]))
            }
        }
        guard !named.isEmpty else { return }
        var added: [String] = []
        for name in services.keys where !name.isTemplate && named.contains(name.description) {
            let (wants, requires) = (entries(name, ".wants"), entries(name, ".requires"))
            services[name]?.unit.wants += wants
            services[name]?.unit.requires += requires
            added += wants + requires
        }
        for name in sockets.keys where named.contains(name.description) {
            let (wants, requires) = (entries(name, ".wants"), entries(name, ".requires"))
            sockets[name]?.unit.wants += wants
            sockets[name]?.unit.requires += requires
            added += wants + requires
        }
        // `worker@eu.service` linked into `app.service.wants/`: made from its template.
        loadInstances(named: added.compactMap { UnitName(parsing: aliases[$0] ?? $0) })
    }

    /// `NAME.d/*.conf` (and, for an instance, the template's `NAME@.TYPE.d/*.conf`) across the
    /// directories: a drop-in file name found twice is taken from the first (one linked to
    /// /dev/null masks the name); they apply sorted by file name. A drop-in directory or file
    /// that exists but cannot be read refuses the unit: what it says may restrict the service.
    private static func dropIns(of name: String, in directories: [String], times: inout SourceFileTimes,
                                listings: inout DirectoryListings)
        -> (files: [(path: String, bytes: [UInt8])], problems: [Diagnostic])
    {
        // Unit directories of plain files only (most): no `NAME.d/` to look for, nor names to make.
        guard directories.contains(where: { listings.mayHoldDirectories($0) }) else { return ([], []) }
        var dirNames = [name + ".d"]
        if let unit = UnitName(parsing: name), let template = unit.template, !unit.isTemplate {
            dirNames.append(template.description + ".d")
        }
        var byFileName: [String: String?] = [:]   // nil: masked
        var problems: [Diagnostic] = []
        func refuse(_ path: String, _ message: String) {
            problems.append(Diagnostic(.error, SourceLocation(file: SourcePath(path), line: 1), message, unit: name))
        }
        for directory in directories {
            for dirName in dirNames {
                guard let type = listings[directory]?[dirName], type != UInt8(DT_REG) else { continue }
                let dropInDirectory = UnitDirectory.join(directory, dirName)
                guard let types = listings[dropInDirectory] else {
                    if let errno = listings.problem(dropInDirectory) {
                        refuse(dropInDirectory, "Failed to read drop-in directory: \(errno); refusing the unit.")
                    }
                    continue
                }
                for file in types.keys.sorted() where file.hasSuffix(".conf") && byFileName[file] == nil {
                    let path = UnitDirectory.join(dropInDirectory, file)
                    switch UnitDirectory.kind(path, listedAs: types[file]) {
                    case .file: byFileName[file] = path
                    case .masked: byFileName[file] = .some(nil)
                    case .missing:
                        if let target = UnitDirectory.danglingTarget(path) {
                            refuse(path, "Drop-in is a dangling symlink to \(target); refusing the unit.")
                        }
                    case .directory, .other: continue
                    }
                }
            }
        }
        var found: [(path: String, bytes: [UInt8])] = []
        for file in byFileName.keys.sorted() {
            guard let path = byFileName[file] ?? nil else { continue }
            let (content, stamp) = UnitDirectory.readStamped(SourcePath(path))
            times.stamps[SourcePath(path)] = .some(stamp)
            switch content {
            case .success(let bytes): found.append((path, bytes))
            case .failure(let errno): refuse(path, "Failed to read drop-in: \(errno); refusing the unit.")
            }
        }
        return (found, problems)
    }

    /// The instance a template is checked with at load (systemd-analyze's `test_instance`).
    package static let sampleInstance = "test_instance"

    /// Loads units from text, with no file system except, when `checkExecutables`, a look at
    /// the ExecStart= programs (missing ones warn). Later sources of a name already seen are ignored.
    /// `facts`: the drop-ins of instances with no file of their own, and the masked names.
    package static func parse(_ sources: [UnitSource], context: SpecifierContext, checkExecutables: Bool = true,
                             aliases: [String: String] = [:], facts: DirectoryFacts = DirectoryFacts()) -> UnitSet {
        var set = UnitSet(context: context)
        set.aliases = aliases
        for (unit, dropIns) in facts.dropIns {
            guard let name = UnitName(parsing: unit) else { continue }
            set.instanceDropIns[name] = (dropIns.files.map { UnitFile(path: SourcePath($0.path), bytes: $0.bytes, unit: unit) },
                                         dropIns.problems)
        }
        set.masked = facts.masked
        // No rehash while the units come in.
        let socketCount = sources.count(where: { $0.path.name.hasSuffix(".socket") })
        set.services.reserveCapacity(sources.count - socketCount)
        set.sockets.reserveCapacity(socketCount)
        var seen: Set<String> = []
        var socketFiles: [UnitName: [UnitFile]] = [:]
        seen.reserveCapacity(sources.count)
        socketFiles.reserveCapacity(socketCount)
        let executables = ExecutableChecks()
        // A load of a few units asks the catalog for each line: the lookups' generic metadata,
        // made by the runtime at their first use, costs what ~80 lines' lookups save (~1,000
        // instructions a line against ~80,000, callgrind): some 32 units of two or three lines.
        let sharesKeys = sources.count > 32
        let serviceKeys = sharesKeys ? KeyLookups(serviceCatalog) : nil
        let socketKeys = sharesKeys ? KeyLookups(socketCatalog) : nil
        // The instances the units' dependencies name (`x@a.service`), made after the loop.
        var named: [UnitName] = []
        for source in sources {
            let fileName = source.path.name
            guard seen.insert(fileName).inserted else { continue }
            guard let name = UnitName(parsing: fileName) else {
                let problem = Self.otherUnitType(of: fileName).map { "Unit type .\($0) is not supported by this build" }
                    ?? "Invalid unit name"
                set.refuse(fileName, Diagnostic(.error, SourceLocation(file: source.path, line: 1),
                                                "\(problem), refusing the unit: \(fileName)", unit: fileName))
                continue
            }
            let unit = name.description
            guard source.readProblems.isEmpty else {
                for problem in source.readProblems { set.refuse(unit, problem) }
                continue
            }
            let files = [UnitFile(path: source.path, bytes: source.bytes, unit: unit)]
                + source.dropIns.map { UnitFile(path: SourcePath($0.path), bytes: $0.bytes, unit: unit) }
            switch name.type {
            case .service:
                // A template is checked as an instance, as `systemd-analyze verify` checks it
                // (src/analyze/analyze-verify-util.c): `%i` in a path or a user name must make
                // sense with a real instance, which the empty one of `x@.service` does not give.
                let isTemplate = name.isTemplate
                let checked = isTemplate ? UnitName(prefix: name.prefix, instance: Self.sampleInstance, type: .service) : name
                // Bound as a var: changed in place, its storage not shared (Units/CopyOnWrite.swift).
                var loaded: ServiceUnit, diagnostics: [Diagnostic]
                (loaded, diagnostics) = ServiceUnit.interpret(name: checked, files: files, context: context,
                                                              checkExecutables: checkExecutables, executables: executables,
                                                              keys: serviceKeys)
                guard set.record(unit, diagnostics) else { continue }
                if !isTemplate { appendInstanceNames(of: loaded.unit, aliases: aliases, to: &named) }
                loaded.name = name
                loaded.fileTimes = source.fileTimes
                set.services[name] = loaded
                if isTemplate {
                    set.templateFiles[name] = files
                    if !files.contains(where: \.namesInstanceSpecifiers) {
                        var model = ServiceUnit.interpret(name: name, files: files, context: context, checkExecutables: false,
                                                          keys: serviceKeys).0
                        model.fileTimes = SourceFileTimes()
                        set.sameForEveryInstance[name] = model
                    }
                }
            case .socket where name.isTemplate:
                // Checked as an instance too (see above); its instances are made per instance name.
                let checked = UnitName(prefix: name.prefix, instance: Self.sampleInstance, type: .socket)
                let (_, diagnostics) = SocketUnit.interpret(name: checked, files: files, context: context, keys: socketKeys)
                if set.record(unit, diagnostics) { set.templateFiles[name] = files }
            case .socket:
                var loaded: SocketUnit, diagnostics: [Diagnostic]
                (loaded, diagnostics) = SocketUnit.interpret(name: name, files: files, context: context,
                                                             checkExecutables: checkExecutables, executables: executables,
                                                             keys: socketKeys)
                loaded.fileTimes = source.fileTimes
                if set.record(unit, diagnostics) {
                    appendInstanceNames(of: loaded.unit, aliases: aliases, to: &named)
                    set.sockets[name] = loaded
                }
                socketFiles[name] = files
            }
        }
        // The services with Sockets= (few), read in place (Dictionary.inPlace), by name: the first wins.
        var listing: [UnitName: [UnitName]] = [:]
        set.services.forEachInPlace { name, service in if !service.sockets.isEmpty { listing[name] = service.sockets } }
        for name in listing.keys.sortedByName().reversed() {
            for socket in listing[name] ?? [] { set.listedBy[socket] = name }
        }
        set.pairSockets(socketFiles)
        set.loadInstances(named: named)
        set.warnAboutMissingListedSockets(listing)
        set.diagnostics = sortedByPlace(set.diagnostics)
        return set
    }

    /// `Sockets=` naming a socket unit that is not there: the service starts without its fds
    /// (systemd loads the name as not-found and goes on), said at the line. A refused socket
    /// has its own error; an instance of a loaded template is made when the service wants it.
    private mutating func warnAboutMissingListedSockets(_ listing: [UnitName: [UnitName]]) {
        for service in listing.keys.sortedByName() {
            for socket in listing[service] ?? [] where sockets[socket] == nil && refused[socket.description] == nil {
                if socket.instance != nil, sockets[UnitName(prefix: socket.prefix, instance: "", type: .socket)] != nil { continue }
                guard let unit = services[service] else { continue }
                let location = unit.socketsLocation ?? SourceLocation(file: unit.path, line: 1)
                diagnostics.append(Diagnostic(.warning, location,
                    "Sockets= names \(socket), which is not loaded: the service starts without it", unit: service.description))
            }
        }
    }

    /// Keeps a unit's diagnostics; false (and the unit refused) when one is an error.
    private mutating func record(_ unit: String, _ unitDiagnostics: [Diagnostic]) -> Bool {
        diagnostics += unitDiagnostics
        let errors = unitDiagnostics.filter { $0.severity == .error }
        if !errors.isEmpty { refused[unit, default: []] += errors }
        return errors.isEmpty
    }

    private mutating func refuse(_ unit: String, _ diagnostic: Diagnostic) {
        diagnostics.append(diagnostic)
        refused[unit, default: []].append(diagnostic)
    }

    /// Each socket needs its service: Service=, the service of the same name, or with
    /// Accept=yes the template `prefix@.service`. A socket whose service is missing or refused
    /// is refused too (it would activate nothing).
    private mutating func pairSockets(_ socketFiles: [UnitName: [UnitFile]]) {
        // Each socket read in place (Dictionary.inPlace), in any order: what one finds does not
        // depend on the others (an instance made here is the same for every socket naming it),
        // and the diagnostics are sorted by place after. Sorting 1000 names was 1.4 M instructions.
        for socketName in Array(sockets.keys) {
            guard let index = sockets.index(forKey: socketName) else { continue }
            let (service, accept) = sockets.inPlace(index) { ($0.service, $0.accept) }
            let target = serviceName(ofSocket: socketName, service: service, accept: accept)
            if services.index(forKey: target) == nil, target.instance != nil, !target.isTemplate {
                loadInstances(named: [target])   // Service=echo@main.service: an instance made at load
            }
            guard services.index(forKey: target) == nil else { continue }
            let files = socketFiles[socketName] ?? []
            let header = sectionLocation("Socket", files)
            let location = service != nil ? lastAssignment(of: "Service", in: "Socket", files) ?? header
                : accept ? lastAssignment(of: "Accept", in: "Socket", files) ?? header : header
            let message: String
            if refused[target.description] != nil {
                message = "The service \(target) was refused; refusing the socket too."
            } else if accept {
                message = "Accept=yes needs the template \(target), which does not exist; refusing the unit."
            } else if service != nil {
                message = "Service= names \(target), which does not exist; refusing the unit."
            } else {
                message = "No service \(target) to activate; refusing the unit."
            }
            sockets[socketName] = nil
            refuse(socketName.description, Diagnostic(.error, location, message, unit: socketName.description))
        }
    }

    // MARK: Queries

    /// The service a socket activates: Service=, else the same name as a service, or the
    /// template `prefix@.service` for Accept=yes; without such a service, the (first) service
    /// whose Sockets= names the socket (systemd: the unit it triggers, UNIT_TRIGGERED_BY).
    package func serviceName(for socket: SocketUnit) -> UnitName {
        serviceName(ofSocket: socket.name, service: socket.service, accept: socket.accept)
    }

    /// `serviceName(for:)` from the socket's name, Service= and Accept=, without its unit at hand.
    package func serviceName(ofSocket name: UnitName, service: UnitName?, accept: Bool) -> UnitName {
        if let service { return resolvingAlias(service) }
        if accept { return UnitName(prefix: name.prefix, instance: "", type: .service) }
        let same = resolvingAlias(name.with(type: .service))
        // index(forKey:): `services[same] == nil` copied the whole ServiceUnit out to compare it.
        if services.index(forKey: same) == nil, let listing = listedBy[name] { return listing }
        return same
    }

    /// The unit an alias name stands for; any other name as it is.
    package func resolvingAlias(_ name: UnitName) -> UnitName {
        // Most unit sets have no alias: no name to make then.
        guard !aliases.isEmpty else { return name }
        return aliases[name.description].flatMap { UnitName(parsing: $0) } ?? name
    }

    /// The sockets that activate `service`, sorted by unit name: the order of their fds (LISTEN_FDS).
    package func sockets(triggering service: UnitName) -> [SocketUnit] {
        sockets.values.filter { serviceName(for: $0) == service }.sorted { $0.name < $1.name }
    }

    /// An instance of a template service (`echo@.service` → `echo@<instance>.service`), its
    /// specifiers evaluated for the instance; nil when there is no such template, the instance is
    /// not valid in a unit name (escape it with `UnitName.escape`) or the instance has errors.
    package func instantiate(_ template: UnitName, instance: String) -> ServiceUnit? {
        guard let files = templateFiles[template],
              let name = UnitName(parsing: "\(template.prefix)@\(instance).\(template.type.rawValue)") else { return nil }
        let (service, diagnostics) = self.instance(name, of: template, files)
        return diagnostics.contains { $0.severity == .error } ? nil : service
    }

    /// The service `name` interpreted from its template's files, or the template's own model
    /// under its name when no value there differs between instances.
    /// With drop-ins of its own (`x@a.service.d/`), it is read from the template's file and
    /// those (which hold the template's too); a drop-in that could not be read is an error.
    private func instance(_ name: UnitName, of template: UnitName, _ files: [UnitFile]) -> (ServiceUnit, [Diagnostic]) {
        // Usually none at all: no lookup (with a hash of the name) per Accept=yes connection.
        if !instanceDropIns.isEmpty, let (dropIns, problems) = instanceDropIns[name] {
            let (unit, diagnostics) = ServiceUnit.interpret(name: name, files: [files[0]] + dropIns, context: context,
                                                            checkExecutables: false)
            return (unit, problems + diagnostics)
        }
        if var unit = sameForEveryInstance[template] {
            unit.name = name
            return (unit, [])
        }
        return ServiceUnit.interpret(name: name, files: files, context: context, checkExecutables: false)
    }

    /// Appends the instances (`x@a.service`, `x@a.socket`) that `section`'s dependencies name to `named`.
    private static func appendInstanceNames(of section: UnitSection, aliases: [String: String], to named: inout [UnitName]) {
        section.forEachDependencyName { written in
            if let name = UnitName(parsing: aliases[written] ?? written), name.instance != nil, !name.isTemplate {
                named.append(name)
            }
        }
    }

    /// Loads each instance of `names` that is not loaded yet but whose template is
    /// (`getty@tty1.service` of `getty@.service`, `x@a.socket` of `x@.socket` with the service
    /// instance it activates), and the instances their dependencies name in turn; they are
    /// `namedInstances`. A service instance whose specifiers make an error of a line (a `%i`
    /// that is no valid variable name, say) is refused, named at the template's line; a socket
    /// instance with an error is not made (`instantiateSocket`). Returns the units loaded.
    @discardableResult
    package mutating func loadInstances(named names: [UnitName]) -> [UnitName] {
        var pending = names, loaded: [UnitName] = []
        while let name = pending.popLast() {
            guard !name.isTemplate, let template = name.template, services.index(forKey: name) == nil,
                  sockets.index(forKey: name) == nil, refused[name.description] == nil,
                  !masked.contains(name.description) else { continue }
            guard let files = templateFiles[template] else {
                // A refused template refuses its instances, for the same reasons.
                if let errors = refused[template.description] { refused[name.description] = errors }
                continue
            }
            let section: UnitSection
            if name.type == .socket {
                guard let (socket, service) = instantiateSocket(name) else { continue }
                sockets[name] = socket
                if let service {
                    services[service.name] = service
                    loaded.append(service.name)
                }
                section = socket.unit
            } else {
                let (unit, diagnostics) = instance(name, of: template, files)
                // Its warnings were said of the template already; those of its own drop-ins are said now.
                let own = Set((instanceDropIns[name]?.files ?? []).map(\.path))
                self.diagnostics += diagnostics.filter { $0.severity != .error && own.contains($0.location.file) }
                let errors = diagnostics.filter { $0.severity == .error }
                guard errors.isEmpty else {
                    // At a line of the template's, which every instance shares, the message names this one.
                    for error in errors {
                        let shared = files.contains { $0.path == error.location.file }
                        refuse(name.description, Diagnostic(.error, error.location, shared ? "\(name): \(error.message)" : error.message,
                                                            unit: name.description))
                    }
                    continue
                }
                services[name] = unit
                section = unit.unit
            }
            namedInstances.insert(name)
            loaded.append(name)
            Self.appendInstanceNames(of: section, aliases: aliases, to: &pending)
        }
        return loaded
    }

    /// Whether `name` is an instance of a loaded template (`x@a.socket` of `x@.socket`).
    package func hasTemplate(of name: UnitName) -> Bool {
        guard !name.isTemplate, let template = name.template else { return false }
        return templateFiles[template] != nil
    }

    /// An instance of a template socket (`x@.socket` → `x@<instance>.socket`, systemd.unit(5)),
    /// its specifiers (`%i`, `%I`) evaluated for the instance, with the instance of the
    /// service it activates when that is an instance of a template too; nil when there is no
    /// such template or the instance has errors.
    package func instantiateSocket(_ name: UnitName) -> (socket: SocketUnit, service: ServiceUnit?)? {
        guard name.type == .socket, let template = name.template, !name.isTemplate,
              let files = templateFiles[template], !masked.contains(name.description) else { return nil }
        // The drop-ins of its own name (`x@a.socket.d/`) apply, as to a linked instance.
        let own = instanceDropIns[name]
        let (socket, diagnostics) = SocketUnit.interpret(name: name, files: own.map { [files[0]] + $0.files } ?? files,
                                                         context: context)
        guard own?.problems.isEmpty ?? true, !diagnostics.contains(where: { $0.severity == .error }) else { return nil }
        let target = serviceName(for: socket)
        if services[target] != nil { return (socket, nil) }
        guard let serviceTemplate = target.template, let instance = target.instance, !target.isTemplate,
              let service = instantiate(serviceTemplate, instance: instance) else { return nil }
        return (socket, service)
    }

    /// Diagnostics in file and line order, keeping the order of equal places.
    private static func sortedByPlace(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            (a.element.location.file, a.element.location.line, a.offset) < (b.element.location.file, b.element.location.line, b.offset)
        }.map(\.element)
    }
}

extension UnitFile {
    /// Whether a value names a specifier that differs between instances of one template
    /// (`%i`, `%I`, `%n`, `%N`, `%f`; `%p` and `%j` are the template's own): `%%` is a plain `%`.
    fileprivate var namesInstanceSpecifiers: Bool {
        entries.contains { entry in
            guard case .assignment(let a) = entry else { return false }
            var escaped = false
            for byte in a.value.utf8 {
                if escaped {
                    escaped = false
                    if "iInNf".utf8.contains(byte) { return true }
                } else if byte == UInt8(ascii: "%") {
                    escaped = true
                }
            }
            return false
        }
    }
}
