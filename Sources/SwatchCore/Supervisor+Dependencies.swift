import Logging

/// What [Unit] dependencies between a service and socket units mean here
/// (systemd.unit(5)): a service that BindsTo=, Requires= or is PartOf= a socket
/// unit stops when that socket unit is stopped; starting a service by hand
/// starts again the socket units it BindsTo=, Requires= or Wants= (the seed's
/// multi/hello.service is BindTo= its two sockets). Targets and units of types
/// swatchd has no notion of count as always reached.
extension Supervisor {
    /// The services that go down with socket unit `socket`.
    func servicesBound(to socket: UnitName) -> [UnitName] {
        services.keys.sorted().filter { name in
            guard let unit = services[name]?.machine.unit.unit else { return false }
            return (unit.bindsTo + unit.requires + unit.partOf).contains { names(socket, $0) }
        }
    }

    /// Stops what is bound to a socket unit that was just stopped.
    func stopServicesBound(to socket: UnitName, now: Instant) {
        for name in servicesBound(to: socket) where services[name]?.machine.isInactive == false {
            logger.info("\(name): Stopping, as it is bound to \(socket), which was stopped.", metadata: ["unit": "\(name)"])
            stopService(name, now: now)
        }
    }

    /// Before a service is started by hand: its stopped socket units listen again.
    /// A BindsTo=/Requires= one that cannot keeps the service from starting, as
    /// systemd fails the job ("Dependency failed"); a Wants= one does not.
    func startSocketsNeeded(by service: UnitName, now: Instant) -> String? {
        guard let unit = services[service]?.machine.unit.unit else { return nil }
        let required = unit.bindsTo + unit.requires
        for dependency in required + unit.wants {
            guard let socket = sockets.keys.first(where: { names($0, dependency) }),
                  sockets[socket]?.listeners.isEmpty == true else { continue }
            if let error = startUnit(socket, now: now), required.contains(dependency) {
                return "Dependency failed for \(service): \(error)"
            }
        }
        return nil
    }

    /// Whether a dependency as written names this unit (or an alias of it).
    private func names(_ unit: UnitName, _ written: String) -> Bool {
        written == unit.description || units.aliases[written] == unit.description
    }
}
