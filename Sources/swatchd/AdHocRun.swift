import Glibc
import Logging
import SwatchControl
import SwatchCore
import SystemPackage

/// What `swatchd run` keeps besides the supervisor (swatchd(8), `run`): its own
/// runtime directory with its generated units, removed on exit; how it ends
/// (`exitStatus`); the debounced `--watch`.
final class AdHocRun {
    let options: AdHocOptions
    let units: AdHocUnits
    let runtimeDirectory: String
    /// A runtime dir made for this run (no `--runtime-dir`): all of it goes at exit.
    let ownsRuntimeDirectory: Bool
    /// The generated units: in the runtime dir, read by this run only.
    var unitDirectory: String { runtimeDirectory + "/units" }
    /// Set by what ends the run: 1 for a socket that cannot be bound, 128+N after signal N.
    var exitStatus: Int32?
    /// A first SIGINT/SIGTERM asked the services to stop; a second kills them.
    var stopping = false
    /// A second signal killed every service.
    var killed = false
    /// The caller's directory, where relative paths of the command line start.
    let cwd: String

    /// The debounce of `--watch`: a burst of events within `quietPeriod` of each other is one
    /// change, and a change never waits more than `longestWait` after its first event.
    static let quietPeriod: UInt64 = 100_000      // µs
    static let longestWait: UInt64 = 1_000_000    // µs
    private var watch: FileWatch?
    private var debounce: TimerFD?
    private var pendingChanges: [String] = []
    private var firstPendingChange: UInt64 = 0

    /// The bare `PATH` lookup default of a service (swatchd.service(5)), when the caller has no PATH.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    init(options: AdHocOptions, cwd: String, runtimeDirectory given: String?, defaultRuntimeDirectory: String) {
        self.options = options
        self.cwd = cwd
        units = AdHocUnits(options, cwd: cwd)
        if let given {
            runtimeDirectory = AdHocUnits.absolute(given, cwd: cwd)
            ownsRuntimeDirectory = false
        } else {
            // One directory per run, so that several runs (and the default daemon) never share
            // a control socket, a notify socket or units.
            runtimeDirectory = defaultRuntimeDirectory + "/run-\(units.name)-\(getpid())"
            ownsRuntimeDirectory = true
        }
    }

    /// The command's program as a shell finds it: a name with a slash is a path (relative to
    /// `cwd`), a plain name is looked up in `PATH`. nil with the message a shell prints
    /// (`command not found`) when it cannot be run.
    static func checkProgram(_ program: String, cwd: String, path: String?) -> String? {
        if program.contains("/") {
            let absolute = AdHocUnits.absolute(program, cwd: cwd)
            var info = stat()
            guard stat(absolute, &info) == 0 else { return "\(program): \(Errno(rawValue: errno))" }
            guard info.st_mode & S_IFMT == S_IFREG, access(absolute, X_OK) == 0 else {
                return "\(program): not an executable file"
            }
            return nil
        }
        return Spawner.resolveExecutable(program, path: path ?? defaultPath) == nil ? "\(program): command not found" : nil
    }

    /// Makes the runtime dir and writes the units into a fresh unit dir (one left by an
    /// earlier run that was killed, in the same `--runtime-dir`, goes first).
    func writeUnits() throws {
        var prefix = ""
        for part in runtimeDirectory.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { throw Errno(rawValue: errno) }
        }
        Self.removeTree(unitDirectory)
        try units.write(to: unitDirectory)
    }

    /// At exit: the whole runtime dir when this run made it, else only the units.
    func cleanUp() {
        watch = nil
        Self.removeTree(ownsRuntimeDirectory ? runtimeDirectory : unitDirectory)
    }

    /// The listen addresses of one generated socket unit, for messages.
    func addresses(of socket: UnitName) -> String {
        let listens: [String]
        if options.accept || options.inetd || options.listen.count == 1 {
            listens = options.listen
        } else if let i = units.socketNames.firstIndex(of: socket.description) {
            listens = [options.listen[i]]
        } else {
            listens = []
        }
        return listens.isEmpty ? socket.description : listens.joined(separator: ", ")
    }

    // MARK: - --watch

    /// Watches the `--watch` paths; each debounced change restarts what runs, naming the file.
    func startWatching(loop: EventLoop, cwd: String, logger: Logger, restart: @escaping (String) -> Void) throws(Errno) {
        guard !options.watch.isEmpty else { return }
        let files = try FileWatch(paths: options.watch.map { AdHocUnits.absolute($0, cwd: cwd) })
        let timer = try TimerFD()
        watch = files
        debounce = timer
        _ = try loop.watch(files.fd) { [unowned self] in
            let changed = files.drain()
            guard !changed.isEmpty else { return }
            let now = MonotonicClock.now()
            if pendingChanges.isEmpty { firstPendingChange = now }
            for path in changed where !pendingChanges.contains(path) { pendingChanges.append(path) }
            do {
                try timer.arm(at: min(now + Self.quietPeriod, firstPendingChange + Self.longestWait))
            } catch {
                logger.warning("Failed to arm the --watch timer: \(error)")
            }
        }
        _ = try loop.watch(timer.fd) { [unowned self] in
            _ = try? timer.read()
            guard !pendingChanges.isEmpty else { return }
            let names = pendingChanges.count > 3
                ? pendingChanges.prefix(3).joined(separator: ", ") + " and \(pendingChanges.count - 3) more"
                : pendingChanges.joined(separator: ", ")
            pendingChanges = []
            restart("\(names) changed")
        }
    }

    // MARK: - A second Ctrl-C

    /// SIGKILL to every process below swatchd — its services and, swatchd being their child
    /// subreaper, their orphans — and to their process groups (each service is a session
    /// of its own).
    static func killDescendants() {
        for pid in ProcessTree.ownDescendants() {
            Glibc.kill(-pid, SIGKILL)  // its process group, when it leads one
            Glibc.kill(pid, SIGKILL)
        }
    }

    // MARK: - Files

    /// `rm -rf path`, without following symbolic links; errors are ignored (what cannot be
    /// removed stays).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let entry = readdir(dir) {
                    let name = entryName(entry)
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
