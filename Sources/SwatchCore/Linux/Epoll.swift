import CSwatch
import Glibc
import SystemPackage

/// The one epoll instance of the event loop (docs/HACKING.md "Layout"), which owns its fd.
///
/// A supervisor closes fds and gets the same numbers back all the time (a
/// connection closes, a log pipe is replaced), so an event must never reach
/// the new owner of a number. As NIO's SelectorEpoll does, the 64-bit user data
/// of each registration packs a registration id (high 32 bits) with the
/// caller's token (low 32 bits): an event carries the id of the registration it
/// was queued for, and `isLive(_:)` says whether that registration still exists
/// — false once it was removed, even if the same fd was registered again since,
/// earlier in the same batch of events.
///
/// Remove a registration *before* closing its fd: the kernel keeps a closed fd
/// in the interest list while any duplicate of it is open (epoll(7), Q6).
package final class Epoll {
    /// What a registration waits for.
    package struct Events: OptionSet, Hashable, Sendable {
        package var rawValue: UInt32
        package init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `EPOLLIN`
        package static let readable = Events(rawValue: EPOLLIN.rawValue)
        /// `EPOLLOUT`
        package static let writable = Events(rawValue: EPOLLOUT.rawValue)
    }

    /// The identity of one `add`: never reused while this `Epoll` lives.
    package struct RegistrationID: Hashable, Sendable, CustomStringConvertible {
        package var rawValue: UInt32
        package var description: String { "#\(rawValue)" }
    }

    /// What `add` returns: keep it to `modify` or `remove` the registration.
    package struct Registration: Hashable, Sendable {
        package let id: RegistrationID
        package let fd: FileDescriptor
        package let token: UInt32
    }

    /// One readiness event.
    package struct Event: Hashable, Sendable {
        /// The caller's token given to `add`.
        package var token: UInt32
        /// The registration the kernel queued the event for; check `isLive` before acting.
        package var registration: RegistrationID
        package var readable: Bool
        package var writable: Bool
        /// `EPOLLHUP` or `EPOLLRDHUP`: the other end is gone (a read returns 0 or fails).
        package var hangup: Bool
        /// `EPOLLERR`
        package var error: Bool
    }

    /// The epoll fd, owned by this object and closed by `deinit`.
    package let fd: FileDescriptor
    private var nextID: UInt32 = 1
    /// The registrations added and not removed: their ids alone, a set of 4-byte keys (one per
    /// listener of every socket unit).
    private var live: Set<RegistrationID> = []
    private var buffer: [epoll_event]

    /// Creates the epoll instance. The corresponding C function is `epoll_create1(EPOLL_CLOEXEC)`.
    /// - Parameter maximumEvents: the most events one `wait` returns.
    package init(maximumEvents: Int = 64) throws(Errno) {
        fd = FileDescriptor(rawValue: try retryingOnInterrupt { epoll_create1(CInt(EPOLL_CLOEXEC)) })
        buffer = Array(repeating: epoll_event(), count: max(1, maximumEvents))
    }

    deinit { fd.closeIgnoringErrors() }

    /// Watches `fd` for `events`. The corresponding C function is `epoll_ctl(EPOLL_CTL_ADD)`.
    package func add(_ fd: FileDescriptor, events: Events, token: UInt32) throws(Errno) -> Registration {
        let id = RegistrationID(rawValue: nextID)
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = Self.pack(id, token)
        _ = try retryingOnInterrupt { epoll_ctl(self.fd.rawValue, EPOLL_CTL_ADD, fd.rawValue, &event) }
        // Wraps after 4 billion registrations; by then the old ids are long gone.
        nextID = nextID == .max ? 1 : nextID + 1
        live.insert(id)
        return Registration(id: id, fd: fd, token: token)
    }

    /// Changes what a registration waits for (or re-arms a one-shot one).
    /// The corresponding C function is `epoll_ctl(EPOLL_CTL_MOD)`.
    package func modify(_ registration: Registration, events: Events) throws(Errno) {
        precondition(isLive(registration.id), "swatchd bug: modify of removed registration \(registration.id)")
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = Self.pack(registration.id, registration.token)
        _ = try retryingOnInterrupt { epoll_ctl(fd.rawValue, EPOLL_CTL_MOD, registration.fd.rawValue, &event) }
    }

    /// Stops watching; events of this registration still in a batch become
    /// stale (`isLive` is false). The corresponding C function is `epoll_ctl(EPOLL_CTL_DEL)`.
    package func remove(_ registration: Registration) throws(Errno) {
        guard live.remove(registration.id) != nil else { return }
        var event = epoll_event()
        _ = try retryingOnInterrupt { epoll_ctl(fd.rawValue, EPOLL_CTL_DEL, registration.fd.rawValue, &event) }
    }

    /// Forgets a registration whose fd its owner already closed: the kernel
    /// dropped it from the epoll set with the last reference, and
    /// `epoll_ctl(EPOLL_CTL_DEL)` on a closed fd would be EBADF (a trap here).
    package func forget(_ registration: Registration) {
        live.remove(registration.id)
    }

    /// Room for `count` more registrations.
    package func reserveCapacity(_ count: Int) { live.reserveCapacity(live.count + count) }

    /// Whether the registration an event was queued for still exists.
    package func isLive(_ id: RegistrationID) -> Bool { live.contains(id) }

    /// Waits for events; `timeout` in milliseconds, -1 forever, 0 to poll.
    /// EINTR returns no events rather than retrying, so a caller that computed
    /// the timeout from a deadline computes it again.
    /// The corresponding C function is `epoll_wait`.
    package func wait(timeout: CInt) throws(Errno) -> [Event] {
        let count: CInt
        do {
            count = try retryingOnInterrupt(retryOnInterrupt: false) { () -> CInt in
                buffer.withUnsafeMutableBufferPointer { events in
                    epoll_wait(fd.rawValue, events.baseAddress, CInt(events.count), timeout)
                }
            }
        } catch .interrupted {
            return []
        }
        var events: [Event] = []
        events.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            let raw = buffer[index]
            let flags = raw.events
            events.append(Event(
                token: UInt32(truncatingIfNeeded: raw.data.u64),
                registration: RegistrationID(rawValue: UInt32(truncatingIfNeeded: raw.data.u64 >> 32)),
                readable: flags & EPOLLIN.rawValue != 0,
                writable: flags & EPOLLOUT.rawValue != 0,
                hangup: flags & (EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0,
                error: flags & EPOLLERR.rawValue != 0
            ))
        }
        return events
    }

    private static func pack(_ id: RegistrationID, _ token: UInt32) -> UInt64 {
        UInt64(id.rawValue) << 32 | UInt64(token)
    }
}
