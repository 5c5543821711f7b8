import CSwatch
import Glibc
import Logging
import SystemPackage

/// The listening sockets of every socket unit, bound, rebound, watched and
/// accepted on as the Manager asks, and the Accept=yes connections the
/// daemon holds until an instance's main process has them.
final class SocketListeners {
    private let loop: EventLoop
    private let logger: Logger
    private var bound: [UnitName: [Listener]] = [:]
    /// NetworkNamespacePath= of the units whose listeners were made in a namespace of that path.
    private var namespaces: [UnitName: String] = [:]
    private var connections: [Int: AcceptedConnection] = [:]
    private var connectionCounter = 0
    /// Called when a socket unit's listeners cannot be bound (`swatchd run` ends at once then).
    var onBindFailure: ((UnitName, any Error) -> Void)?
    /// Called when a watched listener is readable: its unit, and its index among the unit's.
    var onReadable: (UnitName, Int) -> Void = { _, _ in }

    init(loop: EventLoop, logger: Logger) {
        self.loop = loop
        self.logger = logger
    }

    /// Room for `count` socket units, made once at start-up: the tables are not rehashed
    /// (every name hashed again) at each doubling while a thousand units bind.
    func reserveCapacity(_ count: Int) {
        bound.reserveCapacity(count)
        loop.reserveCapacity(count)
    }

    /// The listening fds of `sockets`, in order: what a service gets at 3.. (sd_listen_fds(3)).
    func descriptors(of sockets: [UnitName]) -> [FileDescriptor] {
        sockets.flatMap { (bound[$0] ?? []).map(\.fd) }
    }

    /// An accepted connection still held, by the id the Manager knows it by.
    func connection(_ id: Int) -> FileDescriptor? { connections[id]?.fd }

    /// Listening sockets inherited across a re-exec whose state could not be read, with
    /// their local addresses: `bind` takes them for the directives they match.
    var inherited: [(fd: FileDescriptor, address: (host: String, port: UInt16)?, path: String?)] = []

    /// Whether a socket bound to `address` is what `directive` would bind.
    private static func matches(_ address: (host: String, port: UInt16)?, _ directive: ListenDirective) -> Bool {
        guard directive.kind == .stream, let address else { return false }
        switch directive.address {
        case .port(let port): return address.port == port && (address.host == "::" || address.host == "0.0.0.0")
        case .ipv4(let host, let port), .ipv6(let host, let port, _): return address.port == port && address.host == host
        case .unix, .abstract, .fifo, .special, .messageQueue, .netlink, .vsock: return false
        }
    }

    /// The inherited sockets no unit took: closed.
    func closeUnclaimedInherited() {
        for socket in inherited { try? socket.fd.close() }
        inherited = []
    }

    /// Listeners a re-exec carried over (Supervisor+Reexec.swift).
    func adopt(_ name: UnitName, _ unit: SocketUnit, _ listeners: [Listener]) {
        bound[name] = listeners
        namespaces[name] = unit.networkNamespacePath
    }

    func closeConnection(_ id: Int) { try? connections.removeValue(forKey: id)?.fd.close() }

    func close(_ name: UnitName, removeOnStop: Bool) {
        namespaces[name] = nil
        for listener in bound.removeValue(forKey: name) ?? [] {
            unwatch(listener)
            listener.close(removeOnStop: removeOnStop)
        }
    }

    /// Start-up failed: every listener goes.
    func closeAll(removeOnStop: (UnitName) -> Bool) {
        for name in Array(bound.keys) { close(name, removeOnStop: removeOnStop(name)) }
    }

    /// Binds every listener of a socket unit, or none (a failure closes those already bound);
    /// with NetworkNamespacePath=, in that network namespace.
    func bind(_ name: UnitName, _ unit: SocketUnit) -> ManagerEvent {
        guard let path = unit.networkNamespacePath else { return bindListeners(name, unit) }
        do throws(Errno) {
            return try NetworkNamespace.within(path) { bindListeners(name, unit) }
        } catch {
            let failure = ListenerError(.enterNetworkNamespace(path), unit.listens.first?.address.description ?? "", error)
            onBindFailure?(name, failure)
            return .socketBindFailed(name, failure)
        }
    }

    private func bindListeners(_ name: UnitName, _ unit: SocketUnit) -> ManagerEvent {
        var bound: [Listener] = []
        var warnings: [String] = []
        for directive in unit.listens {
            if let index = inherited.firstIndex(where: { Self.matches($0.address, directive) }) {
                // Still open from before a re-exec whose state was lost: the same socket, nothing refused.
                bound.append(Listener.adopting(inherited.remove(at: index).fd, directive: directive, options: unit.options))
                continue
            }
            do {
                let listener = try Listener.bind(directive, options: unit.options)
                warnings += listener.warnings
                bound.append(listener)
            } catch {
                for listener in bound { listener.close(removeOnStop: false) }
                onBindFailure?(name, error)
                return .socketBindFailed(name, error)
            }
        }
        self.bound[name] = bound
        namespaces[name] = unit.networkNamespacePath
        return .socketBound(name, warnings: warnings)
    }

    /// A socket unit changed: keep each listener whose address and options are
    /// the same, and that lives in the network namespace the unit now names, bind the
    /// rest anew, close what is no longer wanted — or, if a bind fails, keep the old set
    /// as it was.
    func rebind(_ name: UnitName, _ unit: SocketUnit, removeOnStop: Bool) -> ManagerEvent {
        guard let path = unit.networkNamespacePath else {
            return rebindListeners(name, unit, removeOnStop: removeOnStop)
        }
        do throws(Errno) {
            return try NetworkNamespace.within(path) { rebindListeners(name, unit, removeOnStop: removeOnStop) }
        } catch {
            return .socketRebindFailed(name, ListenerError(.enterNetworkNamespace(path), unit.listens.first?.address.description ?? "", error))
        }
    }

    private func rebindListeners(_ name: UnitName, _ unit: SocketUnit, removeOnStop: Bool) -> ManagerEvent {
        let old = bound[name] ?? []
        var pool = old
        var new: [Listener] = []
        // A socket stays in the namespace it was made in: another NetworkNamespacePath= keeps none.
        let namespace = unit.networkNamespacePath
        let sameNamespace = namespaces[name] == namespace
        for directive in unit.listens {
            if sameNamespace, let i = pool.firstIndex(where: {
                $0.directive.kind == directive.kind && $0.directive.address == directive.address && $0.options == unit.options
            }) {
                new.append(pool.remove(at: i))
                continue
            }
            do {
                new.append(try Listener.bind(directive, options: unit.options))
                logger.info("\(name): Bound \(directive.address) anew.", metadata: ["unit": "\(name)"])
            } catch {
                for listener in new where !old.contains(where: { $0 === listener }) { listener.close(removeOnStop: false) }
                return .socketRebindFailed(name, error)
            }
        }
        for listener in pool {
            // A path, queue or link a new listener now holds is not the old one's to remove.
            let reused = new.contains { $0.directive.address == listener.directive.address }
            unwatch(listener)
            listener.close(removeOnStop: removeOnStop && !reused)
        }
        // A listener kept as it was is unpaused with the others: the Manager forgets the unit's
        // poll limits at a rebind (Manager+Reload.swift, socketRebound).
        for listener in new { listener.paused = false }
        bound[name] = new
        namespaces[name] = namespace
        let changed = !pool.isEmpty || new.count != old.count || zip(new, old).contains { $0 !== $1 }
        return .socketRebound(name, unit: unit, listenersChanged: changed)
    }

    /// Puts the unit's listeners in epoll, but those paused: `onReadable` hears of each.
    func watch(_ name: UnitName) {
        guard let listeners = bound[name] else { return }
        for index in listeners.indices {
            listeners[index].wanted = true
            if !listeners[index].paused { watch(listeners[index], index, of: name) }
        }
    }

    func unwatch(_ name: UnitName) {
        for listener in bound[name] ?? [] {
            listener.wanted = false
            unwatch(listener)
        }
    }

    /// PollLimitBurst=: the listener leaves epoll until `resume`.
    func pause(_ name: UnitName, _ index: Int) {
        guard let listener = bound[name]?[safe: index] else { return }
        listener.paused = true
        unwatch(listener)
    }

    /// The listener's pause ended: back in epoll if its unit's listeners are watched.
    func resume(_ name: UnitName, _ index: Int) {
        guard let listener = bound[name]?[safe: index] else { return }
        listener.paused = false
        if listener.wanted { watch(listener, index, of: name) }
    }

    /// One closure a listener, holding what names it.
    private func watch(_ listener: Listener, _ index: Int, of name: UnitName) {
        guard listener.watch == nil else { return }
        do {
            listener.watch = try loop.watch(listener.fd) { [unowned self] in self.onReadable(name, index) }
        } catch {
            logger.error("\(name): Failed to watch \(listener.directive.address): \(error)", metadata: ["unit": "\(name)"])
        }
    }

    /// FlushPending=: what waits on each of the unit's listeners is thrown away.
    func flush(_ name: UnitName) {
        for listener in bound[name] ?? [] { listener.flushPending() }
    }

    private func unwatch(_ listener: Listener) {
        guard let watch = listener.watch else { return }
        loop.unwatch(watch)
        listener.watch = nil
    }

    /// Accept=yes: takes the pending connection of the listener that was readable; the
    /// Manager decides what becomes of it. An accept(2) that fails for want of resources
    /// (EMFILE, ENFILE, ENOBUFS, ENOMEM) is reported: the Manager pauses the socket
    /// (Manager+AcceptFailure.swift).
    func accept(_ name: UnitName, listener index: Int) -> (accepted: [AcceptedConnectionInfo], failure: Errno?) {
        guard let listener = bound[name]?[safe: index] else { return ([], nil) }
        let connection: AcceptedConnection
        do {
            guard let pending = try listener.acceptConnection() else { return ([], nil) }
            connection = pending
        } catch {
            return ([], error)
        }
        connectionCounter += 1
        connections[connectionCounter] = connection
        let local = (try? SocketAddress.local(of: connection.fd))?.hostAndPort
        return ([AcceptedConnectionInfo(
            id: connectionCounter, remoteAddress: connection.remoteAddress, remotePort: connection.remotePort,
            localAddress: local?.host, localPort: local?.port,
            peer: connection.remoteAddress == nil ? Self.peerCredentials(connection.fd) : nil)], nil)
    }

    /// SO_PEERCRED of a unix connection (unix(7)); nil from another PID namespace or on failure.
    private static func peerCredentials(_ fd: FileDescriptor) -> (pid: Int32, uid: UInt32)? {
        var credentials = swatch_ucred()
        var length = socklen_t(MemoryLayout<swatch_ucred>.size)
        guard getsockopt(fd.rawValue, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.pid > 0 else {
            return nil
        }
        return (credentials.pid, credentials.uid)
    }

    /// The connections the listeners of `sockets` handed out that are still open (sock_diag(7));
    /// one that cannot be counted counts as busy.
    func openConnections(of sockets: [UnitName]) -> Int {
        var total = 0
        for listener in sockets.flatMap({ bound[$0] ?? [] }) where listener.directive.kind == .stream {
            let count: CInt
            switch listener.directive.address {
            case .port, .ipv4, .ipv6:
                count = listener.localPort.map { swatch_tcp_connections_on_port($0) } ?? -EINVAL
            case .unix(let path):
                count = Array(path.utf8).withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { swatch_unix_connections_on_path($0.baseAddress!, $0.count) }
                }
            case .abstract(let name):
                count = ([0] + Array(name.utf8)).withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { swatch_unix_connections_on_path($0.baseAddress!, $0.count) }
                }
            case .fifo, .special, .messageQueue, .netlink:
                count = 0
            case .vsock:
                // sock_diag here counts TCP and unix sockets only.
                count = -EOPNOTSUPP
            }
            guard count >= 0 else {
                logger.warning("Failed to count the connections of \(listener.directive.address): \(Errno(rawValue: -count)); taking it as busy.")
                return 1
            }
            total += Int(count)
        }
        return total
    }
}
