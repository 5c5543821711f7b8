import CSwatch
import Glibc
import SystemPackage

/// Why a listener could not be set up: the step, the address, the errno —
/// `Failed to bind [::]:8080: Address already in use`.
package struct ListenerError: Error, Hashable, CustomStringConvertible {
    /// The step that failed.
    package enum Operation: Hashable, Sendable {
        case parseAddress
        /// NetworkNamespacePath= of the socket unit, which its sockets are made in.
        case enterNetworkNamespace(String)
        case resolveInterface(String)
        case createSocket
        /// A socket option whose failure systemd treats as fatal (IPV6_V6ONLY,
        /// SO_BINDTODEVICE, SO_REUSEADDR); the others only warn.
        case setOption(String)
        case createDirectory(String)
        case removeStale
        case bind
        case listen
        case createFIFO
        case openFIFO
        /// Something other than a FIFO exists at a ListenFIFO= path.
        case notFIFO
        case openSpecial
        /// A ListenSpecial= path that is neither a regular file nor a character device.
        case notSpecial
        /// A ListenSpecial= file epoll cannot watch (EPERM: a regular file outside /proc and /sys).
        case watchSpecial
        case openMessageQueue
        /// A ListenMessageQueue= queue that exists and belongs to another user or group.
        case foreignMessageQueue
        case changeMode(mode_t)
        case resolveUser(String)
        case resolveGroup(String)
        case changeOwner
    }

    package var operation: Operation
    /// The address as the unit file writes it (`[::]:8080`, `/run/x.sock`).
    package var address: String
    /// nil when no system call failed (an unknown user name).
    package var errno: Errno?

    package init(_ operation: Operation, _ address: String, _ errno: Errno?) {
        self.operation = operation
        self.address = address
        self.errno = errno
    }

    package var description: String {
        let reason = errno?.description
        switch operation {
        case .parseAddress: return "Failed to parse address \(address): \(reason ?? "Invalid argument")"
        case .enterNetworkNamespace(let path):
            return "Failed to enter the network namespace of NetworkNamespacePath=\(path) for \(address): \(reason ?? "")"
        case .resolveInterface(let name):
            return "Failed to resolve interface '\(name)' of \(address): \(reason ?? "No such device")"
        case .createSocket: return "Failed to create socket for \(address): \(reason ?? "")"
        case .setOption(let name): return "Failed to set \(name) on \(address): \(reason ?? "")"
        case .createDirectory(let directory):
            return "Failed to create directory \(directory) for \(address): \(reason ?? "")"
        case .removeStale: return "Failed to remove stale socket \(address): \(reason ?? "")"
        case .bind: return "Failed to bind \(address): \(reason ?? "")"
        case .listen: return "Failed to listen on \(address): \(reason ?? "")"
        case .createFIFO: return "Failed to create FIFO \(address): \(reason ?? "")"
        case .openFIFO: return "Failed to open FIFO \(address): \(reason ?? "")"
        case .notFIFO: return "Failed to open FIFO \(address): it exists and is not a FIFO"
        case .openSpecial: return "Failed to open special file \(address): \(reason ?? "")"
        case .notSpecial:
            return "Failed to open special file \(address): it is neither a regular file nor a character device"
        case .watchSpecial:
            return "Failed to watch special file \(address): \(reason ?? "") (epoll cannot wait for it)"
        case .openMessageQueue: return "Failed to open message queue \(address): \(reason ?? "")"
        case .foreignMessageQueue:
            return "Failed to open message queue \(address): it exists and belongs to another user or group"
        case .changeMode(let mode):
            return "Failed to change mode of \(address) to \(String(mode, radix: 8)): \(reason ?? "")"
        case .resolveUser(let name): return "Failed to resolve user '\(name)' for \(address): \(reason ?? "No such user")"
        case .resolveGroup(let name):
            return "Failed to resolve group '\(name)' for \(address): \(reason ?? "No such group")"
        case .changeOwner: return "Failed to change owner of \(address): \(reason ?? "")"
        }
    }
}

/// One connection accepted on an Accept=yes listener: the fd (blocking,
/// close-on-exec, owned by the caller) and the peer for REMOTE_ADDR/REMOTE_PORT.
package struct AcceptedConnection {
    package let fd: FileDescriptor
    /// The peer's IP address as text (`127.0.0.1`, `::1`), nil for unix sockets.
    package let remoteAddress: String?
    package let remotePort: UInt16?
}

/// A listening socket or FIFO of a Listen*= directive, bound by swatchd and
/// kept open across service restarts (the point of socket activation). It
/// owns its fd: `close(removeOnStop:)` or deinit closes it.
///
/// The order of steps follows systemd (src/shared/socket-label.c
/// `socket_address_listen`, src/core/socket.c `socket_apply_socket_options`,
/// `fifo_address_create`): socket, IPV6_V6ONLY, SO_BINDTODEVICE, SO_REUSEPORT,
/// IP_FREEBIND, IP_TRANSPARENT, SO_REUSEADDR, bind, listen, then the other
/// options. As in systemd, a failing option after that list is a warning
/// (`warnings`), not a failure: the socket still works, just less tuned.
package final class Listener {
    package let directive: ListenDirective
    package let options: SocketOptions
    /// The socket or FIFO, close-on-exec and non-blocking, owned by this object.
    package let fd: FileDescriptor
    /// The address as bound: `[::]:8080`, or `0.0.0.0:8080` where the kernel has no IPv6.
    /// Made when asked for (a message, `status`), not at every bind: writing the text of
    /// 1000 addresses was ~0.8 M instructions of a start-up.
    package var boundAddress: String { boundText ?? directive.address.description }
    /// The text where it is not the directive's address: a bare port bound as IPv4.
    private let boundText: String?
    /// Options that could not be applied, worded for the log:
    /// `Failed to set SO_MARK socket option on [::]:8080, ignoring: Operation not permitted`.
    package private(set) var warnings: [String] = []
    /// Its registration in the daemon's loop while its unit is watched (SocketListeners.swift):
    /// kept here, not in a table of its own keyed by unit name.
    var watch: EventLoop.Watch?
    /// Its unit's listeners are watched: it is, unless `paused`.
    var wanted = false
    /// Over its poll limit (PollLimitBurst=): not watched until the Manager resumes it.
    var paused = false
    private var isClosed = false

    private init(directive: ListenDirective, options: SocketOptions, fd: FileDescriptor, boundText: String? = nil) {
        self.directive = directive
        self.options = options
        self.fd = fd
        self.boundText = boundText
    }

    /// A listener kept across `daemon-reexec`: the same open socket, whose
    /// directive and options are the unit's (the fd is made CLOEXEC again).
    package static func adopting(_ fd: FileDescriptor, directive: ListenDirective, options: SocketOptions) -> Listener {
        _ = fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC)
        return Listener(directive: directive, options: options, fd: fd)
    }

    deinit {
        if !isClosed { fd.closeIgnoringErrors() }
    }

    /// Binds one Listen*= directive with the unit's options.
    package static func bind(_ directive: ListenDirective, options: SocketOptions) throws(ListenerError) -> Listener {
        // Made only when thrown: the address's text costs ~800 instructions (1000 sockets bind at start-up).
        var mismatch: ListenerError { ListenerError(.parseAddress, directive.address.description, .invalidArgument) }
        switch directive.address {
        case .fifo(let path):
            guard directive.kind == .fifo else { throw mismatch }
            return try openFIFO(directive, path: path, options: options)
        case .special(let path):
            guard directive.kind == .special else { throw mismatch }
            return try openSpecial(directive, path: path, options: options)
        case .messageQueue(let name):
            guard directive.kind == .messageQueue else { throw mismatch }
            return try openMessageQueue(directive, name: name, options: options)
        case .netlink:
            guard directive.kind == .netlink else { throw mismatch }
            return try bindSocket(directive, options: options)
        case .port, .ipv4, .ipv6, .unix, .abstract, .vsock:
            switch directive.kind {
            case .stream, .datagram, .sequentialPacket: return try bindSocket(directive, options: options)
            case .fifo, .special, .messageQueue, .netlink: throw mismatch
            }
        }
    }

    /// FlushPending=: throws away what waits on the listener, as systemd's flush_ports() does
    /// before a socket listens again (src/core/socket.c): the connections not accepted yet,
    /// each accepted and closed (flush_accept()), else the data not read (flush_fd()), or a
    /// message queue's messages. At most 1024 of each, as there: a peer that keeps sending
    /// must not hold the loop. Each accept or read follows a poll(2) that does not wait, as
    /// there too: the service had the listener blocking (NonBlocking=, shim.c), and the flag
    /// belongs to the open file, which swatchd leaves as the service left it.
    package func flushPending() {
        let limit: CInt = 1024
        if directive.kind == .messageQueue {
            swatch_mq_flush(fd.rawValue, limit)
            return
        }
        var pending: Bool {
            var entry = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
        }
        var rounds: CInt = 0
        if directive.kind.acceptsConnections, (try? fd.option(SOL_SOCKET, SO_ACCEPTCONN)) == 1 {
            while rounds < limit, pending {
                rounds += 1
                let connection = swatch_accept4(fd.rawValue, nil, nil, CInt(SOCK_CLOEXEC.rawValue))
                if connection >= 0 { Glibc.close(connection) }
            }
            return
        }
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
            while rounds < limit, pending {
                rounds += 1
                // One datagram per read, whatever its size; a stream's bytes 4 KiB at a time.
                if Glibc.read(fd.rawValue, buffer.baseAddress, buffer.count) == 0 { return }
            }
        }
    }

    /// The file path of a unix socket or FIFO, nil for the others (a special file is not swatchd's to remove).
    package var path: String? {
        switch directive.address {
        case .unix(let path), .fifo(let path): return path
        case .port, .ipv4, .ipv6, .abstract, .special, .messageQueue, .netlink, .vsock: return nil
        }
    }

    /// Closes the fd; with `removeOnStop` (RemoveOnStop=) also removes the
    /// socket file, FIFO or message queue, and the Symlinks= to it
    /// (socket_close_fds(), src/core/socket.c).
    package func close(removeOnStop: Bool) {
        guard !isClosed else { return }
        isClosed = true
        fd.closeIgnoringErrors()
        guard removeOnStop else { return }
        if let path { _ = unlink(path) }
        if case .messageQueue(let name) = directive.address { _ = swatch_mq_unlink(name) }
        if directive.address.isFileSystemNode {
            for link in options.symlinks { _ = unlink(link) }
        }
    }

    /// The open file behind the fd (`fstat`): equal identities are the same
    /// socket, which tests and daemon-reload use to see that a listener was kept.
    package var identity: (device: UInt64, inode: UInt64) {
        guard let info = try? fd.fileStatus() else { return (0, 0) }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// The port actually bound (for `ListenStream=0` in tests), nil for unix sockets and FIFOs.
    package var localPort: UInt16? {
        (try? SocketAddress.local(of: fd))?.hostAndPort?.port
    }

    /// Accepts one connection for an Accept=yes socket, or returns nil when
    /// none is waiting. Connections that died in the backlog are skipped.
    /// The corresponding C function is `accept4(SOCK_CLOEXEC)`: the connection
    /// is blocking, as an inetd-style service expects of its stdin.
    package func acceptConnection() throws(Errno) -> AcceptedConnection? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connection: CInt
            do {
                connection = try retryingOnInterrupt { () -> CInt in
                    withUnsafeMutableBytes(of: &storage) { raw in
                        swatch_accept4(
                            fd.rawValue, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length,
                            CInt(SOCK_CLOEXEC.rawValue))
                    }
                }
            } catch .wouldBlock {
                return nil
            } catch .connectionAbort, .protocolError {
                // accept(2): pending network errors of the new connection are
                // reported here; that connection is gone, the next may be fine.
                continue
            }
            let peer = SocketAddress(storage: storage, length: length).hostAndPort
            return AcceptedConnection(
                fd: FileDescriptor(rawValue: connection), remoteAddress: peer?.host, remotePort: peer?.port)
        }
    }

    // MARK: - Sockets

    private static func bindSocket(_ directive: ListenDirective, options: SocketOptions) throws(ListenerError) -> Listener {
        let type: CInt
        switch directive.kind {
        case .stream: type = CInt(SOCK_STREAM.rawValue)
        case .datagram: type = CInt(SOCK_DGRAM.rawValue)
        case .sequentialPacket: type = CInt(SOCK_SEQPACKET.rawValue)
        case .netlink: type = CInt(SOCK_RAW.rawValue)
        case .fifo, .special, .messageQueue: throw ListenerError(.parseAddress, directive.address.description, .invalidArgument)
        }
        let flags = CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue)

        let (fd, address, fallbackText) = try openSocket(directive.address, type: type | flags)
        let listener = Listener(directive: directive, options: options, fd: fd, boundText: fallbackText)
        // From here on `listener` owns fd: a throw closes it in deinit.
        let isInet = address.family == AF_INET || address.family == AF_INET6

        if address.family == AF_INET6 {
            // default/both: one dual-stack socket answers IPv4 too; ipv6-only: not.
            try fatal("IPV6_V6ONLY", listener.boundAddress) { () throws(Errno) in
                try fd.setOption(IPPROTO_IPV6.cInt, IPV6_V6ONLY, options.bindIPv6Only == .ipv6Only ? 1 : 0)
            }
        }
        if isInet {
            if let device = options.bindToDevice {
                try fatal("SO_BINDTODEVICE", listener.boundAddress) { () throws(Errno) in
                    var name = Array(device.utf8CString)
                    _ = try retryingOnInterrupt {
                        setsockopt(fd.rawValue, SOL_SOCKET, SO_BINDTODEVICE, &name, socklen_t(name.count))
                    }
                }
            }
            if options.reusePort {
                listener.warnUnless("SO_REUSEPORT") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_REUSEPORT, 1) }
            }
            if options.freeBind {
                listener.warnUnless("IP_FREEBIND/IPV6_FREEBIND") { () throws(Errno) in
                    try setPerFamily(fd, address.family, ipv4: (IPPROTO_IP.cInt, IP_FREEBIND),
                                     ipv6: (IPPROTO_IPV6.cInt, IPV6_FREEBIND), 1)
                }
            }
            if options.transparent {
                listener.warnUnless("IP_TRANSPARENT/IPV6_TRANSPARENT") { () throws(Errno) in
                    try setPerFamily(fd, address.family, ipv4: (IPPROTO_IP.cInt, IP_TRANSPARENT),
                                     ipv6: (IPPROTO_IPV6.cInt, IPV6_TRANSPARENT), 1)
                }
            }
        }
        try fatal("SO_REUSEADDR", listener.boundAddress) { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_REUSEADDR, 1) }

        if case .unix(let path) = directive.address {
            try prepareSocketPath(path, options: options)
        }
        do {
            _ = try retryingOnInterrupt { address.withSockaddr { Glibc.bind(fd.rawValue, $0, $1) } }
        } catch {
            throw ListenerError(.bind, listener.boundAddress, error)
        }
        if case .unix(let path) = directive.address {
            // Mode and owner before listen(): until then a connect is refused,
            // so no client ever reaches the socket under a wider mode.
            try applyOwnership(path: path, fd: nil, options: options)
        }
        // socket_address_can_accept(): only stream and sequential-packet sockets listen.
        if directive.kind.acceptsConnections {
            do {
                _ = try retryingOnInterrupt { Glibc.listen(fd.rawValue, options.backlog) }
            } catch {
                throw ListenerError(.listen, listener.boundAddress, error)
            }
        }
        listener.applyOptions(family: address.family, isStream: type == CInt(SOCK_STREAM.rawValue))
        if case .unix(let path) = directive.address { listener.createSymlinks(to: path) }
        return listener
    }

    /// The address, a socket of its family, and the address's text where it is not the
    /// directive's (a bare port bound as IPv4). The text is made for an error only.
    private static func openSocket(
        _ listenAddress: ListenAddress, type: CInt
    ) throws(ListenerError) -> (FileDescriptor, SocketAddress, String?) {
        var text: String { listenAddress.description }
        let address: SocketAddress
        switch listenAddress {
        case .port(let port):
            // A bare port is [::]:port; where the kernel has no IPv6 at all,
            // 0.0.0.0:port (systemd.socket(5), socket_address_parse).
            do {
                return (try socket(AF_INET6, type), .ipv6Any(port: port), nil)
            } catch .addressFamilyNotSupported {
                let fallback = "0.0.0.0:\(port)"
                do {
                    return (try socket(AF_INET, type), .ipv4Any(port: port), fallback)
                } catch {
                    throw ListenerError(.createSocket, fallback, error)
                }
            } catch {
                throw ListenerError(.createSocket, text, error)
            }
        case .ipv4(let host, let port):
            address = try parse(text) { () throws(SocketAddress.Problem) in try .ipv4(host, port: port) }
        case .ipv6(let host, let port, let scope):
            address = try parse(text) { () throws(SocketAddress.Problem) in try .ipv6(host, port: port, scope: scope) }
        case .unix(let path):
            address = try parse(text) { () throws(SocketAddress.Problem) in try .unix(path, abstract: false) }
        case .abstract(let name):
            address = try parse(text) { () throws(SocketAddress.Problem) in try .unix(name, abstract: true) }
        case .netlink(let proto, let group):
            do {
                return (try socket(AF_NETLINK, type, proto), .netlink(groups: group), nil)
            } catch {
                throw ListenerError(.createSocket, text, error)
            }
        case .vsock(let cid, let port):
            // VMADDR_CID_ANY is -1U (vsock(7)).
            address = .vsock(cid: cid ?? UInt32.max, port: port)
        case .fifo, .special, .messageQueue:
            throw ListenerError(.parseAddress, text, .invalidArgument)
        }
        do {
            return (try socket(address.family, type), address, nil)
        } catch {
            throw ListenerError(.createSocket, text, error)
        }
    }

    /// Runs a fatal option step (systemd returns the error of these).
    private static func fatal(
        _ name: String, _ address: @autoclosure () -> String, _ body: () throws(Errno) -> Void
    ) throws(ListenerError) {
        do { try body() } catch { throw ListenerError(.setOption(name), address(), error) }
    }

    private static func socket(_ family: CInt, _ type: CInt, _ proto: CInt = 0) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try FileLimit.claim(retryingOnInterrupt { Glibc.socket(family, type, proto) }))
    }

    private static func parse(
        _ text: @autoclosure () -> String, _ build: () throws(SocketAddress.Problem) -> SocketAddress
    ) throws(ListenerError) -> SocketAddress {
        do {
            return try build()
        } catch {
            switch error {
            case .invalid: throw ListenerError(.parseAddress, text(), .invalidArgument)
            case .unknownInterface(let name):
                throw ListenerError(.resolveInterface(name), text(), .operationNotSupportedByDevice)  // ENODEV
            case .pathTooLong: throw ListenerError(.bind, text(), .fileNameTooLong)
            }
        }
    }

    /// Parent directories (DirectoryMode=), and a stale socket file of an
    /// earlier run removed — only a socket: any other file stays and bind fails.
    private static func prepareSocketPath(_ path: String, options: SocketOptions) throws(ListenerError) {
        if let failure = FileSystem.createParents(of: path, mode: mode_t(options.directoryMode)) {
            throw ListenerError(.createDirectory(failure.directory), path, failure.error)
        }
        do {
            if let info = try FileSystem.linkStatus(path), FileSystem.type(info.st_mode) == S_IFSOCK {
                _ = try retryingOnInterrupt { unlink(path) }
            }
        } catch {
            throw ListenerError(.removeStale, path, error)
        }
    }

    /// SocketMode=, SocketUser=, SocketGroup= on a socket file (by path) or a FIFO (by fd).
    private static func applyOwnership(path: String, fd: FileDescriptor?, options: SocketOptions) throws(ListenerError) {
        let mode = mode_t(options.socketMode)
        do {
            if let fd {
                _ = try retryingOnInterrupt { fchmod(fd.rawValue, mode) }
            } else {
                _ = try retryingOnInterrupt { chmod(path, mode) }
            }
        } catch {
            throw ListenerError(.changeMode(mode), path, error)
        }
        guard options.socketUser != nil || options.socketGroup != nil else { return }
        var uid = uid_t.max
        var gid = gid_t.max
        if let user = options.socketUser {
            // As systemd: a user alone also sets its primary group (a bare uid: the same number, as for User=).
            guard let found = UserAccounts.user(user) else { throw ListenerError(.resolveUser(user), path, nil) }
            (uid, gid) = (found.uid, found.gid)
        }
        if let group = options.socketGroup {
            guard let found = UserAccounts.group(group) else { throw ListenerError(.resolveGroup(group), path, nil) }
            gid = found
        }
        do {
            if let fd {
                _ = try retryingOnInterrupt { fchown(fd.rawValue, uid, gid) }
            } else {
                _ = try retryingOnInterrupt { lchown(path, uid, gid) }
            }
        } catch {
            throw ListenerError(.changeOwner, path, error)
        }
    }

    // MARK: - FIFOs

    private static func openFIFO(_ directive: ListenDirective, path: String, options: SocketOptions) throws(ListenerError) -> Listener {
        if let failure = FileSystem.createParents(of: path, mode: mode_t(options.directoryMode)) {
            throw ListenerError(.createDirectory(failure.directory), path, failure.error)
        }
        do {
            _ = try retryingOnInterrupt { mkfifo(path, mode_t(options.socketMode)) }
        } catch .fileExists {
            // An existing FIFO is reused (checked below once it is open).
        } catch {
            throw ListenerError(.createFIFO, path, error)
        }
        // O_RDWR: the FIFO never reports EOF while swatchd holds it, even with no writer.
        let raw: CInt
        do {
            raw = try FileLimit.claim(retryingOnInterrupt { open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW) })
        } catch {
            throw ListenerError(.openFIFO, path, error)
        }
        let fd = FileDescriptor(rawValue: raw)
        let listener = Listener(directive: directive, options: options, fd: fd)
        do {
            guard FileSystem.type(try fd.fileStatus().st_mode) == S_IFIFO else {
                throw ListenerError(.notFIFO, path, .fileExists)
            }
        } catch let error as ListenerError {
            throw error
        } catch {
            throw ListenerError(.openFIFO, path, error as? Errno)
        }
        try applyOwnership(path: path, fd: fd, options: options)
        if let size = options.pipeSize {
            listener.warnUnless("F_SETPIPE_SZ") { () throws(Errno) in
                _ = try retryingOnInterrupt { fcntl(fd.rawValue, SWATCH_F_SETPIPE_SZ, CInt(clamping: size)) }
            }
        }
        listener.createSymlinks(to: path)
        return listener
    }

    // MARK: - Symlinks

    /// Symlinks= to the unit's one socket path or FIFO, parent directories with
    /// DirectoryMode=; as socket_symlink() (src/core/socket.c): a link already
    /// pointing there is fine, anything else in the way is removed only with
    /// RemoveOnStop=yes, and a failure is a warning.
    private func createSymlinks(to target: String) {
        for link in options.symlinks {
            _ = FileSystem.createParents(of: link, mode: mode_t(options.directoryMode))
            var result = symlink(target, link) == 0 ? 0 : errno
            if result == EEXIST, Self.linkTarget(link) == target { result = 0 }
            if result == EEXIST, options.removeOnStop, unlink(link) == 0 {
                result = symlink(target, link) == 0 ? 0 : errno
            }
            if result != 0 {
                warnings.append("Failed to create symlink \(target) → \(link), ignoring: \(Errno(rawValue: result))")
            }
        }
    }

    /// What the symbolic link at `path` points to, nil if it is none.
    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Special files

    /// ListenSpecial=: opened as special_address_create() does (src/core/socket.c),
    /// read-only unless Writable=yes; a regular file (in /proc or /sys) or a character
    /// device. systemd waits for it with EPOLLIN, and a file epoll refuses (EPERM) fails
    /// the socket unit there (socket_watch_fds()): checked here, so that it fails at bind.
    private static func openSpecial(_ directive: ListenDirective, path: String, options: SocketOptions) throws(ListenerError) -> Listener {
        let access = options.writable ? O_RDWR : O_RDONLY
        let raw: CInt
        do {
            raw = try FileLimit.claim(retryingOnInterrupt { open(path, access | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW) })
        } catch {
            throw ListenerError(.openSpecial, path, error)
        }
        let fd = FileDescriptor(rawValue: raw)
        let listener = Listener(directive: directive, options: options, fd: fd)
        let type: mode_t
        do {
            type = FileSystem.type(try fd.fileStatus().st_mode)
        } catch {
            throw ListenerError(.openSpecial, path, error)
        }
        guard type == S_IFREG || type == S_IFCHR else { throw ListenerError(.notSpecial, path, .fileExists) }
        do {
            let probe = try Epoll(maximumEvents: 1)
            _ = try probe.add(fd, events: .readable, token: 0)
        } catch {
            throw ListenerError(.watchSpecial, path, error)
        }
        return listener
    }

    // MARK: - Message queues

    /// ListenMessageQueue=: mq_address_create() (src/core/socket.c): created if need be,
    /// read-only, with MessageQueueMaxMessages=/MessageQueueMessageSize= when both are set,
    /// mode SocketMode=; a queue of another user or group is not taken over.
    private static func openMessageQueue(_ directive: ListenDirective, name: String, options: SocketOptions) throws(ListenerError) -> Listener {
        let mode = mode_t(options.socketMode)
        let raw: CInt
        do {
            raw = try FileLimit.claim(retryingOnInterrupt {
                swatch_mq_open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, mode,
                               options.messageQueueMaxMessages, options.messageQueueMessageSize)
            })
        } catch {
            throw ListenerError(.openMessageQueue, name, error)
        }
        let fd = FileDescriptor(rawValue: raw)
        let listener = Listener(directive: directive, options: options, fd: fd)
        do {
            let info = try fd.fileStatus()
            guard info.st_uid == geteuid(), info.st_gid == getegid() else {
                throw ListenerError(.foreignMessageQueue, name, .fileExists)
            }
            // The mode exactly, whatever the umask (as for FIFOs here).
            _ = try retryingOnInterrupt { fchmod(fd.rawValue, mode) }
        } catch let error as ListenerError {
            throw error
        } catch {
            throw ListenerError(.openMessageQueue, name, error as? Errno)
        }
        return listener
    }

    // MARK: - Options that only warn

    /// systemd's socket_apply_socket_options: everything after bind/listen.
    /// TCP options are applied to TCP sockets only (systemd tries them on
    /// every socket and logs the EOPNOTSUPP at debug level).
    private func applyOptions(family: CInt, isStream: Bool) {
        let isInet = family == AF_INET || family == AF_INET6
        let isTCP = isInet && isStream
        let tcp = IPPROTO_TCP.cInt
        if options.keepAlive {
            warnUnless("SO_KEEPALIVE") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_KEEPALIVE, 1) }
        }
        if isTCP {
            if let time = options.keepAliveTime, time > .zero {
                warnUnless("TCP_KEEPIDLE") { () throws(Errno) in try fd.setOption(tcp, TCP_KEEPIDLE, seconds(time)) }
            }
            if let interval = options.keepAliveInterval, interval > .zero {
                warnUnless("TCP_KEEPINTVL") { () throws(Errno) in
                    try fd.setOption(tcp, TCP_KEEPINTVL, seconds(interval))
                }
            }
            if let probes = options.keepAliveProbes, probes > 0 {
                warnUnless("TCP_KEEPCNT") { () throws(Errno) in
                    try fd.setOption(tcp, TCP_KEEPCNT, CInt(clamping: probes))
                }
            }
            if let defer_ = options.deferAcceptSec, defer_ > .zero {
                warnUnless("TCP_DEFER_ACCEPT") { () throws(Errno) in
                    try fd.setOption(tcp, TCP_DEFER_ACCEPT, seconds(defer_))
                }
            }
            if options.noDelay {
                warnUnless("TCP_NODELAY") { () throws(Errno) in try fd.setOption(tcp, TCP_NODELAY, 1) }
            }
            if let algorithm = options.tcpCongestion {
                warnUnless("TCP_CONGESTION") { () throws(Errno) in
                    var name = Array(algorithm.utf8CString)
                    _ = try retryingOnInterrupt { setsockopt(fd.rawValue, tcp, TCP_CONGESTION, &name, socklen_t(name.count)) }
                }
            }
        }
        if options.broadcast {
            warnUnless("SO_BROADCAST") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_BROADCAST, 1) }
        }
        // Credentials and security labels travel over unix sockets only; newer
        // kernels refuse the options elsewhere (EOPNOTSUPP), which systemd logs
        // at debug level — so they are not tried on IP sockets at all.
        if options.passCredentials && (family == AF_UNIX || family == AF_NETLINK) {
            warnUnless("SO_PASSCRED") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_PASSCRED, 1) }
        }
        if options.passSecurity && (family == AF_UNIX || family == AF_NETLINK) {
            warnUnless("SO_PASSSEC") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_PASSSEC, 1) }
        }
        // Both are af_unix's alone (EOPNOTSUPP elsewhere), and a connection takes them from
        // its listener; a kernel older than each option warns, as under systemd.
        if options.passPIDFD && family == AF_UNIX {
            warnUnless("SO_PASSPIDFD") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SWATCH_SO_PASSPIDFD, 1) }
        }
        if !options.acceptFileDescriptors && family == AF_UNIX {
            warnUnless("SO_PASSRIGHTS") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SWATCH_SO_PASSRIGHTS, 0) }
        }
        if options.passPacketInfo {
            // socket_set_recvpktinfo(): by family; the others have no packet info to pass.
            warnUnless("packet info") { () throws(Errno) in
                switch family {
                case AF_INET: try fd.setOption(IPPROTO_IP.cInt, IP_PKTINFO, 1)
                case AF_INET6: try fd.setOption(IPPROTO_IPV6.cInt, IPV6_RECVPKTINFO, 1)
                case AF_NETLINK: try fd.setOption(SWATCH_SOL_NETLINK, SWATCH_NETLINK_PKTINFO, 1)
                default: throw Errno.addressFamilyNotSupported
                }
            }
        }
        switch options.timestamping {
        case .off: break
        case .us:
            warnUnless("SO_TIMESTAMP") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SWATCH_SO_TIMESTAMP, 1) }
        case .ns:
            warnUnless("SO_TIMESTAMPNS") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SWATCH_SO_TIMESTAMPNS, 1) }
        }
        // IP_TOS before SO_PRIORITY: setting the TOS also sets the socket
        // priority from it (ip(7)), which would undo an explicit Priority=.
        if isInet, let tos = options.ipTOS {
            warnUnless("IP_TOS") { () throws(Errno) in try fd.setOption(IPPROTO_IP.cInt, IP_TOS, CInt(clamping: tos)) }
        }
        if let priority = options.priority {
            warnUnless("SO_PRIORITY") { () throws(Errno) in
                try fd.setOption(SOL_SOCKET, SO_PRIORITY, CInt(clamping: priority))
            }
        }
        if let size = options.receiveBuffer, size > 0 {
            warnUnless("SO_RCVBUF/SO_RCVBUFFORCE") { () throws(Errno) in
                try setBuffer(SO_RCVBUF, force: SO_RCVBUFFORCE, size)
            }
        }
        if let size = options.sendBuffer, size > 0 {
            warnUnless("SO_SNDBUF/SO_SNDBUFFORCE") { () throws(Errno) in
                try setBuffer(SO_SNDBUF, force: SO_SNDBUFFORCE, size)
            }
        }
        if let mark = options.mark {
            warnUnless("SO_MARK") { () throws(Errno) in try fd.setOption(SOL_SOCKET, SO_MARK, CInt(clamping: mark)) }
        }
        if isInet, let ttl = options.ipTTL {
            warnUnless("IP_TTL/IPV6_UNICAST_HOPS") { () throws(Errno) in
                try Self.setPerFamily(fd, family, ipv4: (IPPROTO_IP.cInt, IP_TTL),
                                      ipv6: (IPPROTO_IPV6.cInt, IPV6_UNICAST_HOPS), CInt(clamping: ttl))
            }
        }
    }

    /// SO_RCVBUF/SO_SNDBUF are capped by net.core.[rw]mem_max; as root the
    /// *FORCE variant passes the cap (systemd's fd_set_rcvbuf). The kernel
    /// doubles the value it stores (socket(7)), so "enough" is ≥ 2 × size.
    private func setBuffer(_ option: CInt, force: CInt, _ size: Int) throws(Errno) {
        let value = CInt(clamping: size)
        try fd.setOption(SOL_SOCKET, option, value)
        if let current = try? fd.option(SOL_SOCKET, option), Int(current) >= 2 * size { return }
        do {
            try fd.setOption(SOL_SOCKET, force, value)
        } catch .notPermitted {
            // Unprivileged: the capped value stays, as systemd leaves it.
        }
    }

    /// For a dual-stack IPv6 socket the IPv6 option is the one that counts;
    /// the IPv4 one is also tried (best effort) for its mapped IPv4 traffic.
    private static func setPerFamily(
        _ fd: FileDescriptor, _ family: CInt, ipv4: (CInt, CInt), ipv6: (CInt, CInt), _ value: CInt
    ) throws(Errno) {
        if family == AF_INET6 {
            try fd.setOption(ipv6.0, ipv6.1, value)
            try? fd.setOption(ipv4.0, ipv4.1, value)
        } else {
            try fd.setOption(ipv4.0, ipv4.1, value)
        }
    }

    private func seconds(_ span: TimeSpan) -> CInt {
        CInt(clamping: max(1, span.microseconds / 1_000_000))
    }

    /// Runs an option step; a failure becomes a warning, worded as systemd's
    /// "Failed to set %s socket option, ignoring: %m".
    private func warnUnless(_ name: String, _ body: () throws(Errno) -> Void) {
        do {
            try body()
        } catch {
            warnings.append("Failed to set \(name) socket option on \(boundAddress), ignoring: \(error)")
        }
    }
}

extension Int {
    /// IPPROTO_* import as `Int` enum constants; socket calls take `CInt`.
    fileprivate var cInt: CInt { CInt(self) }
}
