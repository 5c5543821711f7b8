import Glibc
import SystemPackage

/// PrivateTmp=: the /tmp and /var/tmp of one unit, shared by all its
/// processes and removed when it stops (systemd.exec(5): "all temporary files
/// created by a service in these directories will be removed after the
/// service is stopped").
///
/// As systemd does (src/core/namespace.c, setup_tmp_dirs), each is a directory
/// `BASE/swatchd-private-UNIT-XXXXXX` of mode 0700 holding a `tmp` of mode
/// 1777: the outer one keeps other users out of the host's side, the inner one
/// is what the service sees at /tmp once bound there in its namespace.
///
/// swatchd holds an flock(2) on each outer directory while the unit uses it,
/// so that a swatchd starting later can tell the directories of one that was
/// killed (nobody holds them: `removeStale`) from a live one's.
package struct PrivateTemporaryDirectories: Hashable, Sendable {
    /// Bound onto /tmp.
    package var tmp: String
    /// Bound onto /var/tmp.
    package var varTmp: String
    /// The outer directories, open and locked; closed by `remove()`.
    var locks: [FileDescriptor] = []

    package static let namePrefix = "swatchd-private-"

    package init(tmp: String, varTmp: String) {
        self.tmp = tmp
        self.varTmp = varTmp
    }

    /// Makes both for `unit` below `/tmp` and `/var/tmp` (or the given bases).
    /// On failure nothing is left behind; the error names the base.
    package static func create(for unit: String, bases: (tmp: String, varTmp: String) = ("/tmp", "/var/tmp"))
        throws(CreationError) -> PrivateTemporaryDirectories
    {
        let tmp = try inner(below: bases.tmp, unit: unit)
        do {
            let varTmp = try inner(below: bases.varTmp, unit: unit)
            var made = PrivateTemporaryDirectories(tmp: tmp.path, varTmp: varTmp.path)
            made.locks = [tmp.lock, varTmp.lock]
            return made
        } catch {
            ServiceDirectories.remove(FileSystem.parent(of: tmp.path) ?? tmp.path)
            tmp.lock.closeIgnoringErrors()
            throw error
        }
    }

    /// Removes both, with everything the service left in them.
    package func remove() {
        for path in [tmp, varTmp] { ServiceDirectories.remove(FileSystem.parent(of: path) ?? path) }
        for lock in locks { lock.closeIgnoringErrors() }
    }

    /// At start-up: removes the directories of a swatchd that was killed
    /// (those below `bases` nobody holds), except those of the units in
    /// `keeping` (their processes were left running). Returns what it removed.
    @discardableResult
    package static func removeStale(bases: [String] = ["/tmp", "/var/tmp"], keeping: Set<String> = []) -> [String] {
        let sweep = StaleSweep(bases: bases, keeping: keeping)
        var removed: [String] = []
        while sweep.step(removed: { removed.append($0) }) {}
        return removed
    }

    /// `removeStale` in steps of a bounded number of directory entries: a /tmp of
    /// thousands of entries takes milliseconds of getdents64(2) to list, and swatchd's
    /// loop runs one step per idle turn, looking for events in between.
    package final class StaleSweep {
        private var bases: [String]
        private let keeping: Set<String>
        /// The base being listed, and its stream (opendir(3): O_CLOEXEC).
        private var base = ""
        private var directory: OpaquePointer?
        private static let prefix = Array(namePrefix.utf8)

        package init(bases: [String] = ["/tmp", "/var/tmp"], keeping: Set<String> = []) {
            self.bases = bases.reversed()
            self.keeping = keeping
        }

        deinit { if let directory { closedir(directory) } }

        /// Reads up to `batch` entries (about one getdents64 buffer of 32 KB for 512)
        /// and removes the stale directories among them, telling `removed` each.
        /// Returns whether more is left.
        package func step(batch: Int = 512, removed: (String) -> Void) -> Bool {
            for _ in 0..<batch {
                guard let stream = directory ?? openNext() else { return false }
                guard let entry = readdir(stream) else {
                    closedir(stream)
                    directory = nil
                    continue
                }
                guard let name = FileSystem.name(of: entry, startingWith: Self.prefix), entry.pointee.d_type == UInt8(DT_DIR),
                      !keeping.contains(where: { name.hasPrefix(namePrefix + $0 + "-") }) else { continue }
                let path = base + "/" + name
                guard let lock = lockedDirectory(path, wait: false) else { continue }
                ServiceDirectories.remove(path)
                lock.closeIgnoringErrors()
                removed(path)
            }
            return directory != nil || !bases.isEmpty
        }

        private func openNext() -> OpaquePointer? {
            while let next = bases.popLast() {
                if let stream = opendir(next) {
                    base = next
                    directory = stream
                    return stream
                }
            }
            return nil
        }
    }

    /// `path` opened and flock()ed, or nil when it cannot be (gone, or held
    /// by someone else and `wait` is false).
    private static func lockedDirectory(_ path: String, wait: Bool) -> FileDescriptor? {
        guard let fd = try? retryingOnInterrupt({ open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) })
        else { return nil }
        let lock = FileDescriptor(rawValue: fd)
        guard (try? retryingOnInterrupt { flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) }) != nil else {
            lock.closeIgnoringErrors()
            return nil
        }
        return lock
    }

    package struct CreationError: Error, Equatable, CustomStringConvertible {
        package var base: String
        package var errno: Errno
        package var description: String { "\(base): \(errno)" }
    }

    /// A fresh `BASE/swatchd-private-UNIT-XXXXXX/tmp`, with the lock on its outer directory.
    private static func inner(below base: String, unit: String) throws(CreationError) -> (path: String, lock: FileDescriptor) {
        for _ in 0..<8 {
            var template = Array("\(base)/\(namePrefix)\(unit)-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw CreationError(base: base, errno: Errno(rawValue: Glibc.errno))
            }
            let outer = String(cString: made)
            // A swatchd sweeping at this very moment may take it for stale and remove it
            // before we hold it: then make another.
            var held = stat(), current = stat()
            guard let lock = lockedDirectory(outer, wait: true) else { continue }
            guard fstat(lock.rawValue, &held) == 0, stat(outer, &current) == 0, held.st_ino == current.st_ino else {
                lock.closeIgnoringErrors()
                continue
            }
            let inner = outer + "/tmp"
            // mkdir's mode passes through the umask: set 1777 explicitly, as /tmp has it.
            guard mkdir(inner, 0o1777) == 0, chmod(inner, 0o1777) == 0 else {
                let error = Errno(rawValue: Glibc.errno)
                ServiceDirectories.remove(outer)
                lock.closeIgnoringErrors()
                throw CreationError(base: base, errno: error)
            }
            return (inner, lock)
        }
        throw CreationError(base: base, errno: .resourceTemporarilyUnavailable)
    }
}
