import Glibc
import SystemPackage

/// `swatchd run --watch PATH`: an inotify(7) fd that becomes readable when a
/// watched file is written, replaced or removed (an editor's save, a rebuild).
package final class FileWatch {
    /// Owned; closed by `deinit`.
    package let fd: FileDescriptor

    /// The corresponding C functions are `inotify_init1(IN_CLOEXEC|IN_NONBLOCK)` and `inotify_add_watch`.
    package init(paths: [String]) throws(Errno) {
        fd = FileDescriptor(rawValue: try retryingOnInterrupt { inotify_init1(CInt(IN_CLOEXEC | IN_NONBLOCK)) })
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_MOVED_TO | IN_CREATE)
        for path in paths {
            // On failure deinit closes fd (it runs for a throwing init once every property is set).
            _ = try retryingOnInterrupt { inotify_add_watch(fd.rawValue, path, mask) }
        }
    }

    deinit { fd.closeIgnoringErrors() }

    /// Reads every pending event; true when there was any. A watch on a file
    /// that was replaced (a rebuild renames over it) ends with IN_IGNORED;
    /// the directory watch a caller may add keeps seeing the next one.
    package func drain() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var any = false
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
            if count > 0 { any = true; continue }
            if count < 0 && errno == EINTR { continue }
            return any
        }
    }
}
