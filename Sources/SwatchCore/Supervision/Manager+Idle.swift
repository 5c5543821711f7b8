/// X-IdleStopSec= (`swatchd run --exit-idle`): a socket-activated service
/// that has had no connection for that long is stopped; its sockets stay
/// bound, and the next connection starts it again. "No connection" is what
/// the kernel can tell at each look: no open connection that its listeners
/// handed out (sock_diag(7)). A connection opened and closed between two looks
/// is not seen.
extension Manager {
    /// The service entered or left `running`: arm or clear its idle deadline.
    mutating func scheduleIdleStop(_ name: UnitName) {
        guard let entry = services[name], entry.instanceOf == nil else { return }
        let span = entry.machine.unit.idleStop
        let watched = entry.machine.state == .running && span > .zero && !triggers(of: name).isEmpty
        deadlines.schedule(.idle(name), at: watched ? now.adding(span) : nil)
    }

    mutating func idleChecked(_ name: UnitName, connections: Int) {
        guard let entry = services[name], entry.machine.state == .running else { return }
        let span = entry.machine.unit.idleStop
        guard connections == 0 else {
            log(name, .debug, "\(name): \(connections) connections open; looking again in \(span).")
            deadlines.schedule(.idle(name), at: now.adding(span))
            return
        }
        log(name, .info, "\(name): No connection for \(span); stopping it (its sockets stay bound).")
        enqueue(.stop, name, anchor: false)
    }
}
