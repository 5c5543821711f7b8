import Glibc
import Logging
import SystemPackage

extension Supervisor {
    /// Binds a socket unit's listeners. A listener that cannot be bound is one
    /// error naming the unit and the address; the unit is left out and every
    /// other unit still comes up (DESIGN §6).
    func addSocket(_ name: UnitName, _ unit: SocketUnit) {
        // A socket unit's own conditions decide whether it listens at all; skipped, it
        // binds nothing and its service does not start on its own either.
        if let failure = failedCheck(of: unit.unit.conditions) {
            logger.log(level: failure.isAssertion ? .error : .info, "\(failure.skipMessage(for: name.description))",
                       metadata: ["unit": "\(name)"])
            return
        }
        var listeners: [Listener] = []
        for directive in unit.listens {
            do {
                let listener = try Listener.bind(directive, options: unit.options)
                for warning in listener.warnings { logger.warning("\(name): \(warning)", metadata: ["unit": "\(name)"]) }
                listeners.append(listener)
            } catch {
                logger.error("\(name): \(error)", metadata: ["unit": "\(name)"])
                for listener in listeners { listener.close(removeOnStop: false) }
                return
            }
        }
        let service = units.serviceName(for: unit)
        sockets[name] = SocketRecord(machine: SocketMachine(unit: unit), listeners: listeners, service: service)
        updateWatching(name)
    }

    /// The (non-Accept) socket units that trigger `service`, by unit name:
    /// the order of their fds (sd_listen_fds(3)).
    func triggeringSockets(of service: UnitName) -> [UnitName] {
        sockets.filter { !$0.value.machine.unit.accept && $0.value.service == service }.keys.sorted()
    }

    /// Puts the listeners in epoll or takes them out, as the socket machine says.
    func updateWatching(_ name: UnitName) {
        guard let record = sockets[name] else { return }
        let want = record.machine.watching && !shuttingDown
        if want && record.watches.isEmpty {
            var watches: [EventLoop.Watch] = []
            for listener in record.listeners {
                do {
                    watches.append(try loop.watch(listener.fd) { [unowned self] in self.listenerReadable(name) })
                } catch {
                    logger.error("\(name): Failed to watch \(listener.directive.address): \(error)",
                                 metadata: ["unit": "\(name)"])
                }
            }
            sockets[name]?.watches = watches
        } else if !want && !record.watches.isEmpty {
            unwatchListeners(name)
        }
    }

    func unwatchListeners(_ name: UnitName) {
        guard let watches = sockets[name]?.watches else { return }
        for watch in watches { loop.unwatch(watch) }
        sockets[name]?.watches = []
    }

    /// A watched listener is readable: trigger the service (or, with
    /// Accept=yes, accept and start an instance), unless over the trigger limit.
    func listenerReadable(_ name: UnitName) {
        guard var record = sockets[name] else { return }
        let now = self.now
        let (decision, actions) = record.machine.readable(now: now)
        sockets[name] = record
        for case .log(let level, let message) in actions {
            logger.log(level: level, "\(message)", metadata: ["unit": "\(name)"])
        }
        switch decision {
        case .throttle:
            updateWatching(name)
        case .trigger:
            if record.machine.unit.accept {
                acceptConnection(name, now: now)
            } else {
                updateWatching(name)
                logger.debug("\(name): Incoming traffic, starting \(record.service).", metadata: ["unit": "\(name)"])
                if services[record.service] == nil {
                    logger.error("\(name): Its service \(record.service) is not loaded.", metadata: ["unit": "\(name)"])
                }
                startService(record.service, now: now)
            }
        }
    }

    /// An instance name for a connection, as systemd makes them
    /// (`echo@0-127.0.0.1:40212.service`): the counter and the peer, with
    /// characters a unit name cannot hold replaced.
    static func instanceName(number: Int, _ connection: AcceptedConnection) -> String {
        var peer = connection.remoteAddress ?? "local"
        if let port = connection.remotePort { peer += ":\(port)" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.-")
        return "\(number)-" + String(peer.map { allowed.contains($0) ? $0 : "_" })
    }

    /// Accept=yes: one instance of the template per connection, the connection
    /// as its fd 3 (systemd.socket(5)); over MaxConnections= the connection is
    /// closed at once.
    func acceptConnection(_ name: UnitName, now: Instant) {
        guard let record = sockets[name] else { return }
        for listener in record.listeners {
            guard let connection = try? listener.acceptConnection() else { continue }
            guard record.instances < record.machine.unit.maxConnections else {
                logger.warning("\(name): Too many incoming connections (\(record.instances)), dropping connection.",
                               metadata: ["unit": "\(name)"])
                try? connection.fd.close()
                continue
            }
            acceptCounter += 1
            let instance = Self.instanceName(number: acceptCounter - 1, connection)
            let template = record.service
            let instanceName = UnitName(prefix: template.prefix, instance: instance, type: .service)
            guard let unit = units.instantiate(template, instance: instance) else {
                logger.error("\(name): Failed to instantiate \(template).", metadata: ["unit": "\(name)"])
                try? connection.fd.close()
                continue
            }
            var service = ServiceRecord(machine: ServiceMachine(unit: unit))
            service.connection = connection
            service.instanceOf = name
            services[instanceName] = service
            sockets[name]?.instances += 1
            startService(instanceName, now: now)
        }
    }
}
