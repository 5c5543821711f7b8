import SystemPackage

/// The one loop of swatchd: epoll over every fd the daemon
/// watches, one thread, no polling. Each watched fd has a handler; a watch
/// that is removed while a batch of events is being dispatched gets none of
/// that batch's remaining events (the registration id guards a reused fd
/// number, as swift-nio's SelectorEpoll does).
package final class EventLoop {
    /// A watched fd: remove it with `unwatch(_:)`.
    package struct Watch: Hashable, Sendable {
        fileprivate let registration: Epoll.Registration
    }

    private let epoll: Epoll
    private var handlers: [Epoll.RegistrationID: Handler] = [:]
    /// A handler in a struct: a closure stored as a dictionary's generic value is wrapped in a
    /// reabstraction thunk, a heap block per watch (32 bytes per listener of a socket unit).
    private struct Handler {
        let run: () -> Void
    }
    private var stopped = false
    /// Called after every batch of events, to re-arm the timer for the earliest deadline.
    package var afterBatch: () -> Void = {}
    /// Work that waits until nothing else is to be done (`whenIdle`), first in, first out.
    private var idleWork: [() -> Void] = []

    package init() throws(Errno) {
        epoll = try Epoll()
    }

    /// Calls `handler` whenever `fd` is readable (level-triggered) — or, with `events:
    /// .writable`, writable (a control answer still to send) — until unwatched. Hang-ups and
    /// errors call it too (epoll reports them always).
    package func watch(_ fd: FileDescriptor, events: Epoll.Events = .readable,
                       _ handler: @escaping () -> Void) throws(Errno) -> Watch {
        let registration = try epoll.add(fd, events: events, token: UInt32(bitPattern: fd.rawValue))
        handlers[registration.id] = Handler(run: handler)
        return Watch(registration: registration)
    }

    package func unwatch(_ watch: Watch) {
        handlers[watch.registration.id] = nil
        // EBADF/ENOENT here would be a bookkeeping bug; the fd may already be closed by its owner.
        try? epoll.remove(watch.registration)
    }

    /// Stops dispatching to a watch whose fd was already closed by its owner.
    package func forget(_ watch: Watch) {
        handlers[watch.registration.id] = nil
        epoll.forget(watch.registration)
    }

    package func stop() { stopped = true }

    /// Room for `count` more watches (start-up knows how many listeners are coming).
    package func reserveCapacity(_ count: Int) {
        handlers.reserveCapacity(handlers.count + count)
        epoll.reserveCapacity(count)
    }

    /// Runs `work` once the loop has had no event for `quietBeforeIdleWork`, and each piece
    /// after it while no event waits: what start-up can leave for later (the sweep of stale
    /// private /tmp directories) runs after the listeners are bound and after the first
    /// connections are served — a client that waits for the port connects at once, and on
    /// a small machine the sweep's CPU held back its service by 1–2 ms.
    package func whenIdle(_ work: @escaping () -> Void) { idleWork.append(work) }

    /// How long the loop is quiet before idle work begins (milliseconds); an event puts it off again.
    package var quietBeforeIdleWork: CInt = 100
    /// Whether the last wait ended with nothing to do: idle work goes on without waiting.
    private var quiet = false

    /// Waits and dispatches until `stop()`. Blocks with no timeout once no idle work is
    /// left: deadlines come through the timerfd, so an idle daemon never wakes up.
    package func run() throws(Errno) {
        while !stopped {
            let events = try epoll.wait(timeout: idleWork.isEmpty ? -1 : quiet ? 0 : quietBeforeIdleWork)
            quiet = events.isEmpty
            if events.isEmpty, !idleWork.isEmpty {
                idleWork.removeFirst()()
                afterBatch()
                continue
            }
            for event in events {
                // A handler earlier in this batch may have removed this watch.
                guard let handler = handlers[event.registration] else { continue }
                handler.run()
                if stopped { break }
            }
            afterBatch()
        }
    }
}
