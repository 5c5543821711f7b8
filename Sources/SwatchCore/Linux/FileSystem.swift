import CSwatch
import Glibc
import SwatchControl
import SystemPackage

/// The few file operations the Linux layer needs without Foundation: whole
/// small files (/proc, cgroupfs), parent directories, file types.
enum FileSystem {
    /// Reads a whole (small, possibly unseekable) file such as /proc/<pid>/stat or cgroup.procs.
    static func read(_ path: String) throws(Errno) -> [UInt8] {
        let fd = FileDescriptor(rawValue: try retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) })
        defer { fd.closeIgnoringErrors() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = try retryingOnInterrupt { () -> Int in
                chunk.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Reads a whole file as text (UTF-8, invalid bytes repaired).
    static func readText(_ path: String) throws(Errno) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Writes `text` to an existing file in one write(2) — how cgroupfs wants its commands;
    /// with `create`, a new or truncated file (0644).
    static func write(_ text: String, to path: String, create: Bool = false) throws(Errno) {
        let flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0)
        let fd = FileDescriptor(rawValue: try retryingOnInterrupt { open(path, flags, 0o644) })
        defer { fd.closeIgnoringErrors() }
        var bytes = Array(text.utf8)
        _ = try retryingOnInterrupt { () -> Int in
            bytes.withUnsafeMutableBytes { Glibc.write(fd.rawValue, $0.baseAddress, $0.count) }
        }
    }

    /// `mkdir -p` with mode 0755: the runtime dir and its parents.
    static func makeDirectories(_ path: String) throws(Errno) {
        // A relative path stays relative: its first component is made in the working directory.
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            // String(part): `"/" + part` is the unspecialized generic append (see SandboxPlan.normalize).
            if !prefix.isEmpty && prefix != "/" { prefix += "/" }
            prefix += String(part)
            if mkdir(prefix, 0o755) != 0, errno != EEXIST { throw Errno(rawValue: errno) }
        }
    }

    /// `lstat`, or nil when nothing is there (ENOENT, ENOTDIR).
    static func linkStatus(_ path: String) throws(Errno) -> Glibc.stat? {
        var info = Glibc.stat()
        do {
            _ = try retryingOnInterrupt { lstat(path, &info) }
        } catch .noSuchFileOrDirectory, .notDirectory {
            return nil
        }
        return info
    }

    /// The file type bits of a mode (`S_IFMT`), compared with `S_IFSOCK`, `S_IFIFO`, ...
    static func type(_ mode: mode_t) -> mode_t { mode & S_IFMT }

    /// The directory part of an absolute path: `/run/a` for `/run/a/b.sock`.
    static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// Creates the missing parents of `path` with exactly `mode` (systemd's
    /// mkdir_parents for DirectoryMode=; chmod after mkdir so the daemon's
    /// umask does not narrow it). Existing directories are left as they are.
    /// - Returns: nil, or the directory that could not be created and why.
    static func createParents(of path: String, mode: mode_t) -> (directory: String, error: Errno)? {
        guard let parent = parent(of: path), parent != "/" else { return nil }
        var prefix = ""
        for component in parent.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            do {
                _ = try retryingOnInterrupt { mkdir(prefix, mode) }
                _ = try retryingOnInterrupt { chmod(prefix, mode) }
            } catch .fileExists {
                continue
            } catch {
                return (prefix, error)
            }
        }
        return nil
    }
}

extension FileSystem {
    /// The entries of a directory, without `.` and `..`; empty when it cannot be read.
    /// With `prefix`, only the names that start with it, compared by byte before a String
    /// is made: a /tmp may hold thousands of others. The C functions are `opendir`/`readdir`.
    static func entries(of directory: String, prefix: String = "") -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let wanted = Array(prefix.utf8)
        var result: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(dir) {
            if let name = name(of: entry, startingWith: wanted), name != "." && name != ".." {
                result.append((name, entry.pointee.d_type == UInt8(DT_DIR)))
            }
        }
        return result
    }

    /// The name of a directory entry readdir(3) returned, if it starts with `prefix`:
    /// compared by byte, so the names that do not make no String.
    static func name(of entry: UnsafeMutablePointer<dirent>, startingWith prefix: [UInt8]) -> String? {
        withName(of: entry) { raw in raw.starts(with: prefix) ? String(decoding: raw, as: UTF8.self) : nil }
    }
}
