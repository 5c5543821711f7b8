import SystemPackage

/// The file descriptor store (FDSTORE=1, sd_notify(3)): by default every stored fd is
/// watched for EPOLLHUP/EPOLLERR, and one that hangs up (its peer closed) is dropped,
/// as systemd's service_add_fd_store() and on_fd_store_io() do (src/core/service.c);
/// FDPOLL=0 stores it unwatched.
extension Supervisor {
    /// Watches a stored fd for a hang-up only (epoll reports EPOLLHUP and EPOLLERR without asking).
    /// An fd epoll cannot watch (a regular file: EPERM) is kept unwatched, as systemd keeps it.
    func watchStoredFD(_ fd: FileDescriptor, of name: UnitName) {
        do {
            storedFDWatches[fd.rawValue] = try loop.watch(fd, events: []) { [unowned self] in
                self.storedFDHungUp(fd, of: name)
            }
        } catch {
            logger.debug("\(name): Not watching stored fd \(fd.rawValue): \(error)", metadata: ["unit": "\(name)"])
        }
    }

    /// Closes a stored fd, unwatched first.
    func closeStoredFD(_ fd: FileDescriptor) {
        if let watch = storedFDWatches.removeValue(forKey: fd.rawValue) { loop.unwatch(watch) }
        try? fd.close()
    }

    private func storedFDHungUp(_ fd: FileDescriptor, of name: UnitName) {
        guard let index = storedFDs[name]?.firstIndex(where: { $0.fd == fd }) else {
            // No longer stored (closed meanwhile): stop hearing about it.
            if let watch = storedFDWatches.removeValue(forKey: fd.rawValue) { loop.unwatch(watch) }
            return
        }
        send(.storedFDHungUp(name, index: index))
    }
}
