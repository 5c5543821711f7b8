import SystemPackage

/// The services' output pipes (OutputCapture): read while journald has room for their
/// lines; while it has none, the pipes of the captures that found it full are not read,
/// and the journal's socket is watched until it is writable again.
extension Supervisor {
    func watchCapture(_ capture: OutputCapture, of name: UnitName) {
        captures[capture.readEnd.rawValue] = (capture, name)
        // What a re-exec handed over with the pipe goes on first.
        if !capture.partial.isEmpty {
            _ = capture.resume()
            publishLogs()
        }
        if capture.isAtEnd {
            finish(capture)
        } else if capture.isWaitingForJournal {
            waitForJournal(capture)
        } else {
            watchPipe(of: capture)
        }
    }

    private func watchPipe(of capture: OutputCapture) {
        var watch: EventLoop.Watch?
        do {
            watch = try loop.watch(capture.readEnd) { [unowned self] in
                _ = capture.readAvailable()
                self.publishLogs()
                guard capture.isAtEnd || capture.isWaitingForJournal, let w = watch else { return }
                self.loop.unwatch(w)
                if capture.isAtEnd {
                    self.finish(capture)
                } else {
                    self.waitForJournal(capture)
                }
            }
        } catch {
            let name = captures[capture.readEnd.rawValue]?.unit.description ?? capture.unit
            logger.warning("\(name): Failed to watch its output: \(error)", metadata: ["unit": "\(name)"])
            finish(capture)
        }
    }

    /// At swatchd's exit: what each capture read and has not forwarded, and what its pipe
    /// still holds (a service's last lines, written as it was stopped), goes on before swatchd
    /// ends; first the captures journald had no room for, in the order they stopped. journald
    /// gets up to a second to make room; if it takes nothing in that time, the rest goes to
    /// stderr.
    func drainCaptures() {
        let waiting = capturesWaitingForJournal
        let others = captures.sorted { $0.key < $1.key }.map(\.value.capture).filter { capture in !waiting.contains { $0 === capture } }
        for capture in waiting + others {
            capture.journal?.boundWaits(to: 1000)
            _ = capture.drain()
        }
        publishLogs()
    }

    private func finish(_ capture: OutputCapture) {
        captures[capture.readEnd.rawValue] = nil
        capture.close()
    }

    private func waitForJournal(_ capture: OutputCapture) {
        capturesWaitingForJournal.append(capture)
        guard journalWatch == nil, let journal = capture.journal else { return }
        do {
            journalWatch = try loop.watch(FileDescriptor(rawValue: journal.fd), events: .writable) { [unowned self] in
                self.journalHasRoom()
            }
        } catch {
            // epoll_ctl(2) out of memory or watches: this output can no longer be waited for.
            let name = captures[capture.readEnd.rawValue]?.unit.description ?? capture.unit
            logger.warning("\(name): Failed to wait for room in the journal, no longer reading its output: \(error)",
                           metadata: ["unit": "\(name)"])
            capturesWaitingForJournal.removeAll { $0 === capture }
            finish(capture)
        }
    }

    /// The journal's socket is writable: the waiting captures go on in the order they
    /// stopped, until one fills the queue again.
    private func journalHasRoom() {
        while let capture = capturesWaitingForJournal.first {
            _ = capture.resume()
            publishLogs()
            if capture.isWaitingForJournal { return }
            capturesWaitingForJournal.removeFirst()
            if capture.isAtEnd {
                finish(capture)
            } else {
                watchPipe(of: capture)
            }
        }
        if let watch = journalWatch {
            loop.unwatch(watch)
            journalWatch = nil
        }
    }
}
