import Glibc
import SystemPackage

/// RLIMIT_NOFILE for swatchd and for what it runs (getrlimit(2)).
///
/// swatchd holds a descriptor for every socket it listens on, so 1000 socket units need more
/// than the soft limit of 1024 that login shells and most service managers hand out. At start it
/// raises its own soft limit to the hard one, as systemd does for itself
/// (`bump_rlimit_nofile()`, src/core/main.c). Its services are given back the limit swatchd
/// was started with, as they would have it without swatchd in between: a soft limit of 1024 is
/// what keeps a program that uses select(2) safe, which cannot watch a descriptor above 1023
/// (systemd's `DefaultLimitNOFILE=1024:524288` is there for the same reason). `LimitNOFILE=`
/// still sets a service's own.
package enum FileLimit {
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

    /// Raises the soft limit to the hard one. Returns the limit as it was when the soft one was
    /// lower (what services are to get back); nil when nothing changed.
    package static func raise() -> LimitValue? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        defer { firstReserved = ceiling(below: UInt64(limit.rlim_cur)) }
        guard limit.rlim_cur < limit.rlim_max else { return nil }
        let inherited = LimitValue(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &raised) == 0 else { return nil }
        limit = raised
        return inherited
    }

    /// The descriptors below `soft` the sockets of the units, and what swatchd keeps open beyond
    /// a need of the moment, may take. The rest, 64 (a quarter of a smaller limit), are kept
    /// for swatchd's own work: its control socket and connections, the pipes and groups of a
    /// spawn. Without them a unit set with more sockets than the hard limit allows would leave
    /// swatchd unable to make its control socket, and it would exit; the sockets past the
    /// ceiling fail instead, each named, as EMFILE would.
    static func ceiling(below soft: UInt64) -> UInt64 {
        soft - min(64, soft / 4)
    }

    /// The first descriptor a listener may not take (`ceiling(below:)` of the limit `raise()`
    /// left); none before it (tests that bind without it). Kept: a getrlimit(2) per socket
    /// would cost start-up a system call each.
    nonisolated(unsafe) private static var firstReserved = UInt64.max

    /// Whether `fd` is below the ceiling: what swatchd may keep open beyond a need of the
    /// moment (a slot's files, ProcessTracker) without eating into the reserve.
    package static func leavesReserve(_ fd: CInt) -> Bool { UInt64(fd) < firstReserved }

    /// A listener's new descriptor, or EMFILE (and closed) when it is at or past the ceiling.
    package static func claim(_ fd: CInt) throws(Errno) -> CInt {
        guard UInt64(fd) >= firstReserved else { return fd }
        close(fd)
        throw .tooManyOpenFiles
    }

    /// Sets the limit back to `inherited` (before a re-exec, which raises it again).
    package static func restore(_ inherited: LimitValue) {
        var limit = rlimit(rlim_cur: rlim_t(inherited.soft), rlim_max: rlim_t(inherited.hard))
        _ = setrlimit(resource, &limit)
    }
}
