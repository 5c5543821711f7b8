/// Accept=yes: accept(2) failed for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM),
/// or the spawn of an instance did (EMFILE for its output pipe, …): the shell says so with
/// `.acceptFailed` after `.connectionsAccepted` or `.spawnFailed`.
///
/// The connection stays in the kernel's backlog and the listener stays readable, so
/// watching on would spin the loop on a failing accept. systemd's socket_dispatch_io
/// (src/core/socket.c) puts the whole socket unit into a failed state on such an error;
/// swatchd pauses instead, with the same throttle and doubling back-off as the trigger
/// limit (SocketMachine: 1 s, 2 s, … 16 s), and the queued connections are served once
/// descriptors are free again. The error is logged once per burst: at the first back-off
/// step; later steps of the same burst are logged at debug level. swatchd(8), LIMITS.
extension Manager {
    mutating func acceptFailed(_ name: UnitName, _ error: any Error, now: Instant) {
        guard let entry = sockets[name], entry.listeners == .bound, entry.machine.unit.accept else { return }
        var pause: TimeSpan?
        withSocket(name) { machine in
            // Its log line speaks of the service's start limit: this one is said below instead.
            _ = machine.throttleAfterServiceFailure(now: now)
            pause = machine.deadline.map { $0.since(now) }
            return []
        }
        guard let pause else { return }
        let firstOfBurst = pause <= SocketMachine.firstBackoff
        log(name, firstOfBurst ? .error : .debug,
            "\(name): \(error); not accepting connections for \(pause).")
    }
}
