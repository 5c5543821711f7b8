// How every system call of swatchd is wrapped (docs/HACKING.md "Conventions"):
// the C call runs in a closure, and a -1 result turns into an `Errno` read at
// once, before anything else can touch errno; EINTR is retried; EBADF and
// EFAULT mean swatchd passed a closed fd or a bad pointer — a bug, so they trap
// (as NIO's `isUnacceptableErrno`); every other errno is thrown for the caller
// to log and act on. `@inline(never)` keeps ARC traffic out of the window
// between the call and the errno read (NIO's System.swift does the same).
// In SwatchControl, which swatchd and swatchctl share; `@inlinable` so that each
// call site's result type is specialized as it was within one module.
import Glibc
import SystemPackage

/// Calls `body` until it does not fail with EINTR. A result of -1 is thrown as
/// the `Errno` of that call; EBADF and EFAULT trap (a bug in swatchd).
///
/// Works for `CInt` results (most calls) and `Int`/`ssize_t` ones (read, recvmsg).
/// The optimizer makes a copy of this function for each closure it is given (about
/// ninety in swatchd): what follows a failure is one shared function, so each copy is
/// the call and the comparison.
@inlinable @inline(never)
package func retryingOnInterrupt<Result: FixedWidthInteger & SignedInteger>(
    retryOnInterrupt: Bool = true,
    _ body: () -> Result
) throws(Errno) -> Result {
    while true {
        let result = body()
        guard result == -1 else { return result }
        try failedSystemCall(retryOnInterrupt: retryOnInterrupt)
    }
}

/// The errno of a system call that just returned -1: returns to retry it (EINTR), traps on
/// EBADF and EFAULT, throws the others. Nothing between the call and this function touches errno.
@usableFromInline @inline(never)
func failedSystemCall(retryOnInterrupt: Bool) throws(Errno) {
    let error = Errno(rawValue: errno)
    switch error {
    case .interrupted where retryOnInterrupt:
        return
    case .badFileDescriptor, .badAddress:
        preconditionFailure("swatchd bug: a system call failed with \(error) (errno \(error.rawValue))")
    default:
        throw error
    }
}
