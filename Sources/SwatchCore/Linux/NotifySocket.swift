import CSwatch
import Glibc
import SystemPackage

/// One datagram received on the notify socket, as the kernel delivered it;
/// the text is parsed by Supervision/NotifyMessage.
package struct NotifyDatagram: Equatable {
    /// The sender per SCM_CREDENTIALS: the kernel's word, not the sender's.
    package struct Credentials: Hashable, Sendable {
        package var pid: pid_t
        package var uid: uid_t
        package var gid: gid_t
    }

    /// Why a datagram is ignored, as systemd's manager_dispatch_notify_fd does.
    package enum DropReason: Hashable, Sendable, CustomStringConvertible {
        /// ≥ 4096 bytes (systemd's NOTIFY_BUFFER_MAX); the size is the real one (MSG_TRUNC).
        case tooLarge(Int)
        /// More fds or control data than fit (MSG_CTRUNC).
        case controlTruncated
        /// No SCM_CREDENTIALS: the sender cannot be attributed.
        case noCredentials
        /// An embedded NUL byte.
        case containsNUL

        package var description: String {
            switch self {
            case .tooLarge(let size): return "notification message of \(size) bytes exceeds the maximum of 4095"
            case .controlTruncated: return "notification message with truncated control data (too many fds)"
            case .noCredentials: return "notification message without credentials"
            case .containsNUL: return "notification message with an embedded NUL byte"
            }
        }
    }

    /// Why a datagram as received is ignored, nil when it is not: the checks of systemd's
    /// manager_dispatch_notify_fd (src/core/manager.c), in its order. `size` is what recvmsg
    /// returned (the real length, with MSG_TRUNC), `text` the bytes kept (at most
    /// `NotifySocket.bufferSize`). Pure, so that the fuzz target (Fuzz/SwatchFuzz) reaches it.
    package static func dropReason(
        size: Int, text: some Collection<UInt8>, hasSender: Bool, truncated: Bool, controlTruncated: Bool
    ) -> DropReason? {
        if controlTruncated { return .controlTruncated }
        if size >= NotifySocket.bufferSize || truncated { return .tooLarge(size) }
        if !hasSender { return .noCredentials }
        if text.contains(0) { return .containsNUL }
        return nil
    }

    package var sender: Credentials?
    /// The `KEY=VALUE\n...` bytes; empty when dropped.
    package var text: [UInt8]
    /// Received fds (SCM_RIGHTS), close-on-exec, owned by the caller — who
    /// closes them unless FDSTORE=1 keeps them (sd_notify(3)). Empty when dropped.
    package var fds: [FileDescriptor]
    /// Set when the datagram must be ignored; its fds were closed already.
    package var dropped: DropReason?
}

/// The socket services send sd_notify(3) datagrams to (RUNTIME/notify):
/// AF_UNIX, SOCK_DGRAM, with SO_PASSCRED so the kernel attaches each sender's
/// pid for NotifyAccess= (systemd.service(5)). It owns its fd.
package final class NotifySocket {
    /// The most bytes a notification may have, plus one (systemd's NOTIFY_BUFFER_MAX).
    package static let bufferSize = 4096
    /// The most fds one datagram may carry (systemd's NOTIFY_FD_MAX).
    package static let maximumFDs = 768

    package let path: String
    /// The socket, close-on-exec and non-blocking, owned by this object.
    package let fd: FileDescriptor
    private var isClosed = false
    private let buffer: UnsafeMutableRawBufferPointer
    private let control: UnsafeMutableRawBufferPointer

    /// Binds the notify socket at `path`, replacing a stale socket file of an
    /// earlier run; `mode` lets services that run as another user send (0666).
    package init(path: String, mode: mode_t = 0o666) throws(Errno) {
        let address: SocketAddress
        do {
            address = try SocketAddress.unix(path, abstract: false)
        } catch {
            throw Errno.fileNameTooLong
        }
        let raw = try retryingOnInterrupt {
            socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
        }
        fd = FileDescriptor(rawValue: raw)
        self.path = path
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 8)
        control = .allocate(
            byteCount: swatch_cmsg_space(MemoryLayout<swatch_ucred>.size)
                + swatch_cmsg_space(MemoryLayout<CInt>.size * Self.maximumFDs),
            alignment: 8)
        // From here deinit closes fd and frees the buffers.
        try fd.setOption(SOL_SOCKET, SO_PASSCRED, 1)
        // Bursts of notifications from many services must not be lost (systemd: 8 MiB, best effort).
        try? fd.setOption(SOL_SOCKET, SO_RCVBUFFORCE, 8 * 1024 * 1024)
        if let info = try FileSystem.linkStatus(path), FileSystem.type(info.st_mode) == S_IFSOCK {
            _ = try retryingOnInterrupt { unlink(path) }
        }
        _ = try retryingOnInterrupt { address.withSockaddr { bind(fd.rawValue, $0, $1) } }
        _ = try retryingOnInterrupt { chmod(path, mode) }
    }

    /// The notify socket kept across `daemon-reexec` (bound, SO_PASSCRED set already).
    package init(adopting fd: FileDescriptor, path: String) {
        _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
        self.fd = fd
        self.path = path
        buffer = .allocate(byteCount: Self.bufferSize, alignment: 8)
        control = .allocate(
            byteCount: swatch_cmsg_space(MemoryLayout<swatch_ucred>.size)
                + swatch_cmsg_space(MemoryLayout<CInt>.size * Self.maximumFDs),
            alignment: 8)
    }

    deinit {
        if !isClosed { fd.closeIgnoringErrors() }
        buffer.deallocate()
        control.deallocate()
    }

    /// Closes the socket and removes its file.
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        fd.closeIgnoringErrors()
        _ = unlink(path)
    }

    /// Receives one datagram, or nil when none is waiting. Call until nil on
    /// each readable event. A datagram to be ignored comes back with `dropped`
    /// set (for the log) and its fds already closed.
    /// The corresponding C function is `recvmsg(MSG_DONTWAIT|MSG_CMSG_CLOEXEC|MSG_TRUNC)`.
    package func receive() throws(Errno) -> NotifyDatagram? {
        var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        var message = msghdr()
        let size: Int
        do {
            // MSG_TRUNC: the real length of a longer datagram, so an
            // oversized one is recognised instead of read as its prefix.
            let flags = CInt(MSG_DONTWAIT) | SWATCH_MSG_CMSG_CLOEXEC | CInt(MSG_TRUNC)
            size = try retryingOnInterrupt { () -> Int in
                withUnsafeMutablePointer(to: &iov) { iovPointer in
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    message.msg_control = control.baseAddress
                    message.msg_controllen = control.count
                    return recvmsg(fd.rawValue, &message, flags)
                }
            }
        } catch .wouldBlock {
            return nil
        }

        var datagram = NotifyDatagram(sender: nil, text: [], fds: [], dropped: nil)
        var cmsg = swatch_cmsg_firsthdr(&message)
        while let header = cmsg {
            let data = UnsafeMutableRawPointer(swatch_cmsg_data(header))
            let payload = Int(header.pointee.cmsg_len) - swatch_cmsg_len(0)
            if header.pointee.cmsg_level == SOL_SOCKET {
                if header.pointee.cmsg_type == CInt(SCM_RIGHTS) {
                    for index in 0..<(payload / MemoryLayout<CInt>.size) {
                        let raw = data.loadUnaligned(fromByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self)
                        datagram.fds.append(FileDescriptor(rawValue: raw))
                    }
                } else if header.pointee.cmsg_type == SWATCH_SCM_CREDENTIALS,
                          payload >= MemoryLayout<swatch_ucred>.size {
                    let credentials = data.loadUnaligned(as: swatch_ucred.self)
                    datagram.sender = .init(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
                }
            }
            cmsg = swatch_cmsg_nxthdr(&message, header)
        }

        let text = UnsafeRawBufferPointer(rebasing: buffer[0..<min(size, buffer.count)])
        datagram.dropped = NotifyDatagram.dropReason(
            size: size, text: text, hasSender: datagram.sender != nil,
            truncated: message.msg_flags & CInt(MSG_TRUNC) != 0,
            controlTruncated: message.msg_flags & CInt(MSG_CTRUNC) != 0)
        if datagram.dropped != nil {
            for fd in datagram.fds { fd.closeIgnoringErrors() }
            datagram.fds = []
        } else {
            datagram.text = Array(text)
        }
        return datagram
    }

    /// Sends one sd_notify(3) datagram to `socketPath` — a path or `@abstract`
    /// (NOTIFY_SOCKET's two forms) — with `fds` attached (SCM_RIGHTS) if any.
    /// swatchd uses it for its own READY=1 when it runs under a supervisor.
    /// Throws ECONNREFUSED/ENOENT when nobody listens there, EAGAIN when the
    /// receiver's queue is full (never blocks).
    package static func sendNotify(_ text: String, to socketPath: String, fds: [FileDescriptor] = []) throws(Errno) {
        let address: SocketAddress
        do {
            if socketPath.hasPrefix("@") {
                address = try .unix(String(socketPath.dropFirst()), abstract: true)
            } else if socketPath.hasPrefix("/") {
                address = try .unix(socketPath, abstract: false)
            } else {
                throw Errno.invalidArgument
            }
        } catch let error as Errno {
            throw error
        } catch {
            throw Errno.fileNameTooLong
        }
        // Non-blocking: a supervisor that does not read its socket must not
        // hang swatchd's start-up; a full queue is thrown as EAGAIN instead.
        let raw = try retryingOnInterrupt {
            socket(AF_UNIX, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue), 0)
        }
        let fd = FileDescriptor(rawValue: raw)
        defer { fd.closeIgnoringErrors() }

        var bytes = Array(text.utf8)
        var storage = address.storage
        let controlSize = fds.isEmpty ? 0 : swatch_cmsg_space(MemoryLayout<CInt>.size * fds.count)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: max(controlSize, 1), alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        _ = try retryingOnInterrupt { () -> Int in
            bytes.withUnsafeMutableBytes { payload in
                var iov = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    withUnsafeMutableBytes(of: &storage) { name in
                        var message = msghdr()
                        message.msg_name = name.baseAddress
                        message.msg_namelen = address.length
                        message.msg_iov = iovPointer
                        message.msg_iovlen = 1
                        if controlSize > 0 {
                            message.msg_control = control.baseAddress
                            message.msg_controllen = controlSize
                            let header = swatch_cmsg_firsthdr(&message)!
                            header.pointee.cmsg_level = SOL_SOCKET
                            header.pointee.cmsg_type = CInt(SCM_RIGHTS)
                            header.pointee.cmsg_len = swatch_cmsg_len(MemoryLayout<CInt>.size * fds.count)
                            let data = UnsafeMutableRawPointer(swatch_cmsg_data(header))
                            for (index, passed) in fds.enumerated() {
                                data.storeBytes(
                                    of: passed.rawValue, toByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self)
                            }
                        }
                        return sendmsg(fd.rawValue, &message, CInt(MSG_NOSIGNAL))
                    }
                }
            }
        }
    }
}
