import Glibc

/// Calls `body` with the bytes of the name of `entry`, a `dirent` readdir(3) returned, without
/// its NUL. Read in place: an entry is only as long as its name (`d_reclen`, getdents64(2)),
/// so a copy of `entry.pointee` or of its 256-byte `d_name` reads past the last entry of
/// glibc's buffer, into a page that may not be mapped (it crashed swatchd's sweep of /tmp).
package func withName<R>(of entry: UnsafeMutablePointer<dirent>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let name = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
    return try body(UnsafeRawBufferPointer(start: name, count: strlen(name.assumingMemoryBound(to: CChar.self))))
}

/// The name of `entry` as a String (read in place, as `withName(of:)` reads it).
package func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
    withName(of: entry) { String(decoding: $0, as: UTF8.self) }
}
