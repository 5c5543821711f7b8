import Glibc
import SwatchControl
import SystemPackage

/// `swatchd run --watch PATH`: an inotify(7) fd that becomes readable when a
/// watched path changes (an editor's save, a rebuild).
///
/// A file is watched through its parent directory, never through its own
/// inode: an atomic replace (`mv new FILE`, `sed -i`, most editors' save, a
/// linker writing a new binary) puts a new inode under the name, and a watch
/// on the old one would end with IN_IGNORED and never fire again. The
/// directory's events are filtered to the watched names. A directory is
/// watched with every directory below it, new ones included. Editors'
/// temporary files (`isEditorTemporary`) are never a change.
///
/// Debouncing (a burst of events is one change) is the caller's: `drain()`
/// only says what changed.
package final class FileWatch {
    /// Owned; closed by `deinit`.
    package let fd: FileDescriptor

    /// What one watch descriptor (one directory) is for.
    private struct Watched {
        var directory: String
        /// The names watched in it; nil: every name, and the directory's new subdirectories are watched too.
        var names: Set<String>?
    }

    private var watches: [Int32: Watched] = [:]

    /// The events that mean "this name has other contents now" (inotify(7)): created,
    /// renamed here or away, written and closed, removed, metadata changed (touch, chmod).
    private static let mask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB)
        | UInt32(IN_ONLYDIR)

    /// Watches every path of `paths` (absolute, or relative to swatchd's directory). A
    /// missing file is fine as long as its directory exists: its creation is a change.
    /// The corresponding C functions are `inotify_init1(IN_CLOEXEC|IN_NONBLOCK)` and `inotify_add_watch`.
    package init(paths: [String]) throws(Errno) {
        fd = FileDescriptor(rawValue: try retryingOnInterrupt { inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK)) })
        // On failure deinit closes fd (it runs for a throwing init once every property is set).
        for path in paths {
            var trimmed = path
            while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
            var info = stat()
            if stat(trimmed, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
                try addTree(trimmed)
            } else {
                let (directory, name) = Self.split(trimmed)
                try add(directory, names: [name])
            }
        }
    }

    deinit { fd.closeIgnoringErrors() }

    /// `dir/name` → (`dir`, `name`); a bare name is in `.`.
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = path[..<slash]
        return (directory.isEmpty ? "/" : String(directory), String(path[path.index(after: slash)...]))
    }

    /// Files editors write next to the one being edited, which are no change of it:
    /// vim's swap files (`.name.swp`, `.swo`, `.swx`) and its write test `4913`, backups
    /// ending in `~`, Emacs's lock and autosave files (`.#name`, `#name#`).
    package static func isEditorTemporary(_ name: String) -> Bool {
        name == "4913" || name.hasSuffix("~") || name.hasPrefix(".#")
            || name.hasSuffix(".swp") || name.hasSuffix(".swo") || name.hasSuffix(".swx")
            || (name.hasPrefix("#") && name.hasSuffix("#") && name.count > 1)
    }

    private func add(_ directory: String, names: Set<String>?) throws(Errno) {
        let wd = try retryingOnInterrupt { inotify_add_watch(fd.rawValue, directory, Self.mask) }
        // The same directory twice (two files in it, or a file in a watched tree) is one watch descriptor.
        if let old = watches[wd] {
            watches[wd] = Watched(directory: directory, names: old.names.flatMap { a in names.map { a.union($0) } })
        } else {
            watches[wd] = Watched(directory: directory, names: names)
        }
    }

    /// Watches `directory` and every directory below it (symbolic links are not followed).
    private func addTree(_ directory: String) throws(Errno) {
        try add(directory, names: nil)
        guard let dir = opendir(directory) else { return }  // gone again, or unreadable: the watch above is all
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = entryName(entry)
            guard name != "." && name != "..", entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            try? addTree(directory == "/" ? "/" + name : directory + "/" + name)
        }
    }

    /// Reads every pending event and returns the watched paths that changed, each once, in
    /// the order first seen; empty when nothing watched changed. A new directory in a watched
    /// tree is watched from now on (and is itself a change).
    package func drain() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 8192)
        var changed: [String] = []
        func note(_ path: String) { if !changed.contains(path) { changed.append(path) } }
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return changed }
            var offset = 0
            // struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len] (NUL-padded).
            while offset + 16 <= count {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw in
                    (raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let name = String(decoding: buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 },
                                  as: UTF8.self)
                offset += 16 + length
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    // Events were lost: something changed, we cannot say what.
                    note(watches.values.first.map { $0.directory } ?? "?")
                    continue
                }
                guard let watched = watches[wd] else { continue }
                if mask & UInt32(IN_IGNORED) != 0 {
                    watches[wd] = nil  // the directory is gone
                    continue
                }
                guard !name.isEmpty, !Self.isEditorTemporary(name) else { continue }
                if let names = watched.names, !names.contains(name) { continue }
                let path = watched.directory == "/" ? "/" + name : watched.directory + "/" + name
                if watched.names == nil, mask & UInt32(IN_ISDIR) != 0, mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                    try? addTree(path)
                }
                note(path)
            }
        }
    }
}
