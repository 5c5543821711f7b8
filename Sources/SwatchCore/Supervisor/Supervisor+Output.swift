import Glibc
import Logging
import SystemPackage

extension Supervisor {
    /// StandardOutput=/StandardError= for one spawn (systemd.exec(5)). The
    /// default, `journal`, goes through a pipe swatchd reads: to journald when
    /// there is one, else to swatchd's stderr as `unit[pid]: line`, and always
    /// into the unit's recent lines for `swatchctl status` and `logs`.
    func outputFDs(for unit: ServiceUnit, name: UnitName, executable: String) throws(ServiceOutputFDs.SetupError) -> ServiceOutputFDs {
        let identifier = unit.syslogIdentifier ?? String(executable.split(separator: "/").last ?? "")
        // systemd.exec(5): with StandardInput=socket, StandardOutput= defaults to inherit (the connection).
        let standardOutput = unit.standardOutput ?? (unit.standardInput == .socket ? .inherit : nil)
        return try ServiceOutputFDs.make(
            standardOutput: standardOutput, standardError: unit.standardError, unit: name.description,
            identifier: identifier, journalAvailable: configuration.journalAvailable, unitLog: unitLog)
    }

    /// Watches a started process's output pipe until its last writer is gone.
    func watchCapture(_ capture: OutputCapture, of name: UnitName) {
        var watch: EventLoop.Watch?
        do {
            watch = try loop.watch(capture.readEnd) { [unowned self] in
                _ = capture.readAvailable()
                self.publishLogs()
                if capture.isAtEnd, let w = watch {
                    self.loop.unwatch(w)
                    capture.close()
                }
            }
        } catch {
            logger.warning("\(name): Failed to watch its output: \(error)", metadata: ["unit": "\(name)"])
            capture.close()
        }
    }
}

extension StdioSource {
    /// The fd the spawner puts on 1 or 2: nil is the same as stdin (/dev/null, or the connection).
    func descriptor(connection: FileDescriptor?) -> FileDescriptor? {
        switch self {
        case .descriptor(let fd): return fd
        case .sameAsInput: return connection
        case .connection: return connection
        }
    }
}
