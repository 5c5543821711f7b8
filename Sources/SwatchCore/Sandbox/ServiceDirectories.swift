import Glibc
import SwatchControl
import SystemPackage

/// StateDirectory=, RuntimeDirectory=, CacheDirectory=, LogsDirectory= and
/// ConfigurationDirectory= (systemd.exec(5) "PATHS"): where they live, and
/// creating, handing over and removing them. Created before the service
/// starts, owned by its user (configuration: by root), with the mode of
/// StateDirectoryMode= and friends (0755 unset).
package struct ServiceDirectories: Hashable, Sendable {
    /// The bases: /var/lib, /run, /var/cache, /var/log, /etc for root (the
    /// system manager's), the XDG directories otherwise (the user manager's).
    package var state: String
    package var runtime: String
    package var cache: String
    package var logs: String
    package var configuration: String

    package init(state: String, runtime: String, cache: String, logs: String, configuration: String) {
        self.state = state
        self.runtime = runtime
        self.cache = cache
        self.logs = logs
        self.configuration = configuration
    }

    package static let system = ServiceDirectories(
        state: "/var/lib", runtime: "/run", cache: "/var/cache", logs: "/var/log", configuration: "/etc")

    /// The bases for swatchd running as `uid` with `environment` and `home`
    /// (systemd.exec(5)'s table of $XDG_* for user services).
    package static func forManager(uid: uid_t, environment: [String: String], home: @autoclosure () -> String) -> ServiceDirectories {
        guard uid != 0 else { return .system }
        let home = home()
        let state = environment["XDG_STATE_HOME"] ?? home + "/.local/state"
        return ServiceDirectories(
            state: state,
            runtime: environment["XDG_RUNTIME_DIR"] ?? "/run/user/\(uid)",
            cache: environment["XDG_CACHE_HOME"] ?? home + "/.cache",
            logs: state + "/log",
            configuration: environment["XDG_CONFIG_HOME"] ?? home + "/.config")
    }

    /// One kind of directory of a unit.
    package struct Kind: Hashable, Sendable {
        /// `StateDirectory=`
        package var directive: String
        /// `STATE_DIRECTORY`
        package var variable: String
        /// The base (/var/lib).
        package var base: String
        /// Owned by the service's user (all but ConfigurationDirectory=).
        package var ownedByService: Bool
        /// The names as written (relative paths).
        package var names: [String]
        /// StateDirectoryMode= and friends.
        package var mode: UInt32

        /// The absolute paths.
        package var paths: [String] { names.map { base + "/" + $0 } }
    }

    /// The unit's directories, kind by kind, in systemd's order.
    package func kinds(of sandbox: Sandbox) -> [Kind] {
        [
            Kind(directive: "RuntimeDirectory=", variable: "RUNTIME_DIRECTORY", base: runtime, ownedByService: true,
                 names: sandbox.runtimeDirectory, mode: sandbox.runtimeDirectoryMode),
            Kind(directive: "StateDirectory=", variable: "STATE_DIRECTORY", base: state, ownedByService: true,
                 names: sandbox.stateDirectory, mode: sandbox.stateDirectoryMode),
            Kind(directive: "CacheDirectory=", variable: "CACHE_DIRECTORY", base: cache, ownedByService: true,
                 names: sandbox.cacheDirectory, mode: sandbox.cacheDirectoryMode),
            Kind(directive: "LogsDirectory=", variable: "LOGS_DIRECTORY", base: logs, ownedByService: true,
                 names: sandbox.logsDirectory, mode: sandbox.logsDirectoryMode),
            Kind(directive: "ConfigurationDirectory=", variable: "CONFIGURATION_DIRECTORY", base: configuration,
                 ownedByService: false, names: sandbox.configurationDirectory, mode: sandbox.configurationDirectoryMode),
        ].filter { !$0.names.isEmpty }
    }

    /// `$STATE_DIRECTORY` and friends: the absolute paths, colon-separated.
    package func environment(of sandbox: Sandbox) -> [(String, String)] {
        kinds(of: sandbox).map { ($0.variable, $0.paths.joined(separator: ":")) }
    }

    // MARK: - On disk

    /// Creates `path` (parents root-owned 0755 as needed) with `mode` and
    /// gives it to `owner`. An existing directory gets `mode` again, and one of
    /// another owner — the service's uid changed, a dynamic uid was re-picked —
    /// is handed over with everything in it, as systemd's setup_exec_directory()
    /// does (src/core/exec-invoke.c).
    ///
    /// `keepingExisting` (ConfigurationDirectory=, configuration that a service does not
    /// write): an existing directory is left as it is, and its mode returned when it is
    /// not `mode`, for the caller to say so as systemd does.
    @discardableResult
    package static func prepare(_ path: String, mode: UInt32, owner: (uid: uid_t, gid: gid_t)?,
                                keepingExisting: Bool = false) throws(Errno) -> UInt32? {
        if let (directory, error) = FileSystem.createParents(of: path, mode: 0o755) {
            _ = directory
            throw error
        }
        do {
            _ = try retryingOnInterrupt { mkdir(path, mode_t(mode)) }
        } catch .fileExists {
            guard let info = try FileSystem.linkStatus(path), FileSystem.type(info.st_mode) == S_IFDIR else {
                throw .notDirectory
            }
            if keepingExisting {
                let existing = UInt32(info.st_mode) & 0o7777
                return existing == mode ? nil : existing
            }
            _ = try retryingOnInterrupt { chmod(path, mode_t(mode)) }
            if let owner, info.st_uid != owner.uid || info.st_gid != owner.gid { try changeOwner(path, to: owner) }
            return nil
        }
        // Made under swatchd's umask: the mode exactly.
        _ = try retryingOnInterrupt { chmod(path, mode_t(mode)) }
        if let owner { _ = try retryingOnInterrupt { lchown(path, owner.uid, owner.gid) } }
        return nil
    }

    /// Removes `path` and everything below it without following symlinks
    /// (RuntimeDirectory= and PrivateTmp= at stop). A missing path is fine.
    /// The walk goes by directory fds (openat O_NOFOLLOW, unlinkat), never by
    /// path strings: the tree belongs to the service, which could swap a
    /// directory for a symlink between a check and an unlink of ours.
    package static func remove(_ path: String) {
        guard unlink(path) != 0, errno == EISDIR else { return }
        let parent = open(FileSystem.parent(of: path) ?? "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return }
        defer { close(parent) }
        removeEntry(UnitDirectory.baseName(path), in: parent)
    }

    /// unlinkat of `name` in the directory `parent`, emptying it first when it is a directory.
    private static func removeEntry(_ name: String, in parent: Int32) {
        guard unlinkat(parent, name, 0) != 0, errno == EISDIR else { return }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0, let directory = fdopendir(fd) {
            var names: [String] = []
            while let entry = readdir(directory) {
                let child = entryName(entry)
                if child != "." && child != ".." { names.append(child) }
            }
            for child in names { removeEntry(child, in: dirfd(directory)) }
            closedir(directory)
        } else if fd >= 0 {
            close(fd)
        }
        _ = unlinkat(parent, name, AT_REMOVEDIR)
    }

    /// `lchown` of `path` and, for a directory (not a symlink to one), of everything below it.
    static func changeOwner(_ path: String, to owner: (uid: uid_t, gid: gid_t)) throws(Errno) {
        _ = try retryingOnInterrupt { lchown(path, owner.uid, owner.gid) }
        guard let info = try FileSystem.linkStatus(path), FileSystem.type(info.st_mode) == S_IFDIR else { return }
        for name in entries(of: path) { try changeOwner(path + "/" + name, to: owner) }
    }

    /// The names in a directory, without `.` and `..`; empty when unreadable.
    static func entries(of path: String) -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let directory = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            return []
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = entryName(entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
