// How every system call of swatchd is wrapped (docs/HACKING.md "Conventions"):
// the C call runs in a closure, and a -1 result turns into an `Errno` read at
// once, before anything else can touch errno; EINTR is retried; EBADF and
// EFAULT mean swatchd passed a closed fd or a bad pointer — a bug, so they trap
// (as NIO's `isUnacceptableErrno`); every other errno is thrown for the caller
// to log and act on. `@inline(never)` keeps ARC traffic out of the window
// between the call and the errno read (NIO's System.swift does the same).
// `retryingOnInterrupt` itself is in SwatchControl/Syscall.swift: swatchctl's client uses it too.
import CSwatch
import Glibc
import SystemPackage

/// For C functions of the shim that return 0 or an errno (the convention of Sources/CSwatch/include/CSwatch.h).
@inline(__always)
func throwingErrno(_ code: CInt) throws(Errno) {
    if code != 0 { throw Errno(rawValue: code) }
}

extension FileDescriptor {
    /// A pipe whose ends are close-on-exec from birth (swift-system's `pipe()`
    /// is not), optionally non-blocking — for capturing a service's output:
    /// the spawner hands the write end on, swatchd keeps the read end.
    /// The corresponding C function is `pipe2(O_CLOEXEC[|O_NONBLOCK])`.
    package static func closeOnExecPipe(nonBlocking: Bool = false) throws(Errno) -> (readEnd: FileDescriptor, writeEnd: FileDescriptor) {
        var fds: [CInt] = [-1, -1]
        let flags = O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
        _ = try retryingOnInterrupt { fds.withUnsafeMutableBufferPointer { swatch_pipe2($0.baseAddress!, flags) } }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    /// Closes the descriptor, ignoring errors: used on paths that are already
    /// failing or tearing down. EINTR on close is not retried — the fd is gone
    /// on Linux either way, and retrying could close a reused number (NIO).
    func closeIgnoringErrors() {
        _ = Glibc.close(rawValue)
    }

    /// Sets an int socket option. The corresponding C function is `setsockopt`.
    func setOption(_ level: CInt, _ name: CInt, _ value: CInt) throws(Errno) {
        var value = value
        _ = try retryingOnInterrupt {
            setsockopt(rawValue, level, name, &value, socklen_t(MemoryLayout<CInt>.size))
        }
    }

    /// Reads an int socket option. The corresponding C function is `getsockopt`.
    func option(_ level: CInt, _ name: CInt) throws(Errno) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try retryingOnInterrupt { getsockopt(rawValue, level, name, &value, &length) }
        return value
    }

    /// The file's type, mode, owner, device and inode. The corresponding C function is `fstat`.
    func fileStatus() throws(Errno) -> Glibc.stat {
        var info = Glibc.stat()
        _ = try retryingOnInterrupt { fstat(rawValue, &info) }
        return info
    }
}
