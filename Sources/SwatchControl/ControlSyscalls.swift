import Glibc
import SystemPackage

// Socket helpers of the control and logging code; their system calls go
// through `retryingOnInterrupt` (Syscall.swift).

/// A filled-in `sockaddr_un` for `path` and its length, for bind/connect/sendto.
/// Paths of 108 bytes or more do not fit (unix(7)): ENAMETOOLONG.
package func unixSocketAddress(_ path: String) throws(Errno) -> (sockaddr_un, socklen_t) {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard !bytes.isEmpty, bytes.count < capacity else { throw .fileNameTooLong }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let length = MemoryLayout<sa_family_t>.size + bytes.count + 1
    return (address, socklen_t(length))
}

/// `connect(2)` of a stream socket to a unix socket path; the caller owns `fd`. Not retried on
/// EINTR: an interrupted connect goes on in the background (connect(2)), a second call fails.
package func connectUnix(_ fd: Int32, path: String) throws(Errno) {
    var (address, length) = try unixSocketAddress(path)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
    }
    if result == -1 { throw Errno(rawValue: errno) }
}

/// Sends all of `bytes` on the socket `fd`, retrying short writes; throws the first error
/// (EAGAIN included). MSG_NOSIGNAL: a peer that left is EPIPE, never a SIGPIPE.
package func sendFully(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
    var offset = 0
    while offset < bytes.count {
        let written = try retryingOnInterrupt {
            bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        }
        offset += written
    }
}
