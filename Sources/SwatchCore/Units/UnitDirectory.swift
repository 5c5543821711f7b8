// The little file-system reading a unit load needs: list a directory, read a
// file, tell a file from a directory. Glibc only (no Foundation in SwatchCore).

import CSwatch
import Glibc
import SwatchControl
import SystemPackage

/// Reads unit directories and unit files.
enum UnitDirectory {
    /// The names in `path` (without `.` and `..`), sorted; nil when it cannot be opened.
    static func list(_ path: String) -> [String]? {
        try? listing(path).get().keys.sorted()
    }

    /// Whether a listing failed only because there is nothing to list: an optional
    /// directory that does not exist (or is no directory) is not a problem.
    static func isAbsent(_ errno: Errno) -> Bool {
        errno == .noSuchFileOrDirectory || errno == .notDirectory
    }

    /// Where the symlink `path` points when that does not exist (a dangling link); nil otherwise.
    static func danglingTarget(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, stat(path, &info) != 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        return n < 0 ? "?" : String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of a file, or the errno of why not.
    static func read(_ path: String) -> Result<[UInt8], Errno> {
        do {
            let fd = try FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec)
            defer { try? fd.close() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if n == 0 { break }
                bytes += chunk[..<n]
                if bytes.count > 16 << 20 { return .failure(.fileTooLarge) }   // no unit file is this big
            }
            return .success(bytes)
        } catch let error as Errno {
            return .failure(error)
        } catch {
            return .failure(.ioError)
        }
    }

    /// The entries of a directory by name, with their type as readdir(3) gives it
    /// (`DT_REG`, `DT_DIR`, `DT_LNK`; `DT_UNKNOWN` where the file system does not say);
    /// or why it cannot be opened. One listing answers every "is there a
    /// `NAME.d/`, `NAME.wants/`?" of a load, instead of one failing open each.
    static func listing(_ path: String) -> Result<[String: UInt8], Errno> {
        guard let dir = opendir(path) else { return .failure(Errno(rawValue: errno)) }
        defer { closedir(dir) }
        // Listed first, then put in a table of its final size: growing the table by doubling
        // rehashed every name at each step (1,300 instructions an entry with 2000 files).
        var listed: [(name: String, type: UInt8)] = []
        while let entry = readdir(dir) {
            let name = entryName(entry)
            if name != "." && name != ".." { listed.append((name, entry.pointee.d_type)) }
        }
        var entries = [String: UInt8](minimumCapacity: listed.count)
        for (name, type) in listed { entries[name] = type }
        return .success(entries)
    }

    /// What a listed entry is: its readdir type where that settles it (a regular file, a
    /// directory), else `kind(path)`, which follows a symlink.
    static func kind(_ path: @autoclosure () -> String, listedAs type: UInt8?) -> Kind {
        switch type.map(Int32.init) {
        case Int32(DT_REG)?: return .file
        case Int32(DT_DIR)?: return .directory
        case nil: return .missing
        default: return kind(path())
        }
    }

    /// The bytes of a file and its modification time, taken with fstat(2) of the open
    /// file before it is read (as `SourceFileTimes.record` wants it: a change between
    /// the two shows as a change later).
    ///
    /// With `entry` (the open unit directory and the file's name in it), the file is opened
    /// relative to the directory (openat(2)): the kernel walks one name, not the whole path,
    /// per unit file (docs/HACKING.md "Footprint and start-up").
    static func readStamped(_ path: SourcePath, entry: (directory: FileDescriptor, name: String)? = nil)
        -> (Result<[UInt8], Errno>, SourceFileTimes.Stamp?)
    {
        // O_NOATIME: reading a unit file is not an access worth an inode write. With relatime
        // (mount(8)) the first read after a change, and one a day, updates the atime: a
        // journalled write of each unit file's inode at start-up (docs/HACKING.md "Start-up
        // with 1000 units"). Only the file's owner, or CAP_FOWNER, may ask: EPERM for anyone
        // else, who opens it without.
        func open(_ flags: Int32) throws(Errno) -> Int32 {
            try retryingOnInterrupt {
                if let entry { return openat(entry.directory.rawValue, entry.name, flags) }
                return path.description.withCString { Glibc.open($0, flags) }
            }
        }
        let fd: FileDescriptor
        do throws(Errno) {
            let plain = O_RDONLY | O_CLOEXEC
            do {
                fd = FileDescriptor(rawValue: try open(plain | SWATCH_O_NOATIME))
            } catch .notPermitted {
                fd = FileDescriptor(rawValue: try open(plain))
            }
        } catch {
            return (.failure(error), nil)
        }
        defer { try? fd.close() }
        var info = stat()
        let stamp = fstat(fd.rawValue, &info) == 0
            ? SourceFileTimes.Stamp(seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec) : nil
        // A regular file of st_size bytes: read that much (and one more, to see the end), into
        // the array itself (not a zeroed chunk copied into it: 1,000 instructions a file). The
        // bytes are held until the whole load is parsed: no spare room in them (512 bytes a
        // file was 1 MB more heap with 1000 pairs).
        let isRegular = info.st_mode & S_IFMT == S_IFREG && info.st_size > 0
        let chunkSize = isRegular ? Int(info.st_size) + 1 : 512
        var bytes: [UInt8] = []
        do {
            while true {
                let chunk = try [UInt8](unsafeUninitializedCapacity: chunkSize) { buffer, count in
                    count = try fd.read(into: UnsafeMutableRawBufferPointer(buffer))
                }
                if chunk.isEmpty { break }
                if bytes.isEmpty { bytes = chunk } else { bytes += chunk }
                if bytes.count > 16 << 20 { return (.failure(.fileTooLarge), stamp) }   // no unit file is this big
                // All of a regular file: no second read for its end.
                if isRegular, bytes.count == Int(info.st_size) { break }
            }
        } catch {
            return (.failure(error as? Errno ?? .ioError), stamp)
        }
        return (.success(bytes), stamp)
    }

    enum Kind { case file, directory, masked, other, missing }

    /// What `path` is, following symlinks; a unit linked to /dev/null is masked (systemd.unit(5)).
    static func kind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFCHR: return .masked
        default: return .other
        }
    }

    /// When `path` (named `name` in its unit directory) is a symlink to a unit
    /// file of another name of the same type, that name and the resolved path:
    /// `name` is an alias. A link to a file of the same name (a linked unit
    /// file) and an instance linked to its template (`getty@tty1.service` →
    /// `getty@.service`, which instantiates it) are no aliases.
    static func aliasTarget(of path: String, name: String) -> (target: String, resolved: String)? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK,
              let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        let resolved = String(cString: real)
        let target = baseName(resolved)
        guard target != name, let unit = UnitName(parsing: name), let other = UnitName(parsing: target),
              unit.type == other.type, unit.template != other else { return nil }
        return (target, resolved)
    }

    /// `directory/name`, without doubling a trailing slash of the directory as the user gave it.
    static func join(_ directory: String, _ name: String) -> String {
        SourcePath.directoryPrefix(directory) + name
    }

    /// The directory part of a path (`.` for a bare name). By byte, as the kernel reads a
    /// path: `/` never combines with what follows, and a Character search was a grapheme
    /// walk over the whole path per unit (docs/HACKING.md "Footprint and start-up").
    static func parent(_ path: String) -> String {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == utf8.startIndex ? "/" : String(decoding: utf8[..<slash], as: UTF8.self)
    }

    /// The last component of a path (by byte, as `parent`).
    static func baseName(_ path: String) -> String {
        // On the string's own bytes: String.UTF8View's index steps cost ~1,800 instructions a path.
        var path = path
        return path.withUTF8 { bytes in
            var end = bytes.count
            while end > 0, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
            guard end > 0 else { return String(decoding: bytes, as: UTF8.self) }
            var start = end
            while start > 0, bytes[start - 1] != UInt8(ascii: "/") { start -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
    }
}
