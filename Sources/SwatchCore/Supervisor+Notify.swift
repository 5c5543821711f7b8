import Glibc
import Logging
import SystemPackage

extension Supervisor {
    /// Reads every pending sd_notify datagram (sd_notify(3)): attributes it by
    /// the sender's pid, checks NotifyAccess=, keeps FDSTORE=1 fds and closes
    /// any other fd that came along.
    func receiveNotifications() {
        guard let socket = notifySocket else { return }
        while true {
            let datagram: NotifyDatagram?
            do {
                datagram = try socket.receive()
            } catch {
                logger.warning("Failed to receive notification message: \(error)")
                return
            }
            guard let datagram else { return }
            if let reason = datagram.dropped {
                logger.warning("Dropped notification message from PID \(datagram.sender.map { String($0.pid) } ?? "?"): \(reason).")
                continue
            }
            handle(datagram)
        }
    }

    func handle(_ datagram: NotifyDatagram) {
        var fds = datagram.fds
        defer { for fd in fds { try? fd.close() } }
        guard let pid = datagram.sender?.pid else { return }
        guard let name = owner(of: pid), var record = services[name] else {
            logger.debug("Cannot find unit for notify message of PID \(pid), ignoring.")
            return
        }
        let inService = pidOwners[pid] == name || tracker.pids(of: name.description).contains(pid)
        guard record.machine.accepts(notifyFrom: pid, inService: inService) else {
            let main = record.machine.mainPID.map(String.init) ?? "n/a"
            logger.warning("\(name): Got notification message from PID \(pid), but reception only permitted for main PID \(main)",
                           metadata: ["unit": "\(name)"])
            return
        }
        let message = NotifyMessage(text: Substring(decoding: datagram.text, as: UTF8.self))
        let now = self.now
        if message.fdStoreRemove, let fdName = message.fdName {
            for entry in record.fdStore where entry.name == fdName { try? entry.fd.close() }
            record.fdStore.removeAll { $0.name == fdName }
        }
        if message.fdStore, !message.barrier {
            let limit = record.machine.unit.fileDescriptorStoreMax
            while !fds.isEmpty {
                guard record.fdStore.count < limit else {
                    logger.warning("\(name): Attempted to store file descriptors beyond FileDescriptorStoreMax=\(limit), closing.",
                                   metadata: ["unit": "\(name)"])
                    break
                }
                record.fdStore.append((name: message.fdName ?? "stored", fd: fds.removeFirst()))
            }
        }
        let actions = record.machine.notify(message, from: pid, now: now)
        if let main = record.machine.mainPID { pidOwners[main] = name }
        services[name] = record
        apply(actions, to: name, now: now)
    }

    /// The unit of a sender: a main or control process, or any process of a
    /// service's group (NotifyAccess=all).
    func owner(of pid: Int32) -> UnitName? {
        if let name = pidOwners[pid] { return name }
        return services.keys.first { tracker.pids(of: $0.description).contains(pid) }
    }
}
