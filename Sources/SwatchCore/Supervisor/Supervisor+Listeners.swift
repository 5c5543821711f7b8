import CSwatch
import Glibc
import Logging
import SystemPackage

/// The listening sockets: bound, rebound, watched and accepted on as the Manager asks.
extension Supervisor {
    /// Binds every listener of a socket unit, or none (a failure closes those already bound).
    func bind(_ name: UnitName, _ unit: SocketUnit) -> ManagerEvent {
        var bound: [Listener] = []
        var warnings: [String] = []
        for directive in unit.listens {
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
        listeners[name] = bound
        return .socketBound(name, warnings: warnings)
    }

    /// A socket unit changed: keep each listener whose address and options are
    /// the same, bind the rest anew, close what is no longer wanted — or, if a
    /// bind fails, keep the old set as it was.
    func rebind(_ name: UnitName, _ unit: SocketUnit) -> ManagerEvent {
        let old = listeners[name] ?? []
        var pool = old
        var new: [Listener] = []
        for directive in unit.listens {
            if let i = pool.firstIndex(where: {
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
        let removeOnStop = manager.sockets[name]?.machine.unit.options.removeOnStop ?? false
        for listener in pool { listener.close(removeOnStop: removeOnStop) }
        listeners[name] = new
        let changed = !pool.isEmpty || new.count != old.count || zip(new, old).contains { $0 !== $1 }
        return .socketRebound(name, unit: unit, listenersChanged: changed)
    }

    func watchListeners(_ name: UnitName) {
        var watches: [EventLoop.Watch] = []
        for listener in listeners[name] ?? [] {
            do {
                watches.append(try loop.watch(listener.fd) { [unowned self] in self.send(.listenerReadable(name)) })
            } catch {
                logger.error("\(name): Failed to watch \(listener.directive.address): \(error)", metadata: ["unit": "\(name)"])
            }
        }
        listenerWatches[name] = watches
    }

    func unwatchListeners(_ name: UnitName) {
        for watch in listenerWatches.removeValue(forKey: name) ?? [] { loop.unwatch(watch) }
    }

    /// Accept=yes: takes the pending connection of each listener; the Manager decides what
    /// becomes of it. A listener whose accept(2) fails for want of resources (EMFILE, ENFILE,
    /// ENOBUFS, ENOMEM) is reported: the Manager pauses the socket (Manager+AcceptFailure.swift).
    func acceptConnections(_ name: UnitName) -> (accepted: [AcceptedConnectionInfo], failure: Errno?) {
        var accepted: [AcceptedConnectionInfo] = []
        var failure: Errno?
        for listener in listeners[name] ?? [] {
            let connection: AcceptedConnection?
            do {
                connection = try listener.acceptConnection()
            } catch {
                failure = failure ?? error
                continue
            }
            guard let connection else { continue }
            connectionCounter += 1
            connections[connectionCounter] = connection
            accepted.append(AcceptedConnectionInfo(id: connectionCounter, remoteAddress: connection.remoteAddress,
                                                   remotePort: connection.remotePort))
        }
        return (accepted, failure)
    }

    /// The connections the listeners of `sockets` handed out that are still open (sock_diag(7));
    /// one that cannot be counted counts as busy.
    func openConnections(of sockets: [UnitName]) -> Int {
        var total = 0
        for listener in sockets.flatMap({ listeners[$0] ?? [] }) where listener.directive.kind == .stream {
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
            case .fifo:
                count = 0
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
