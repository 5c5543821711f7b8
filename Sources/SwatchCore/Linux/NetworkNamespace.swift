import CSwatch
import Glibc
import SystemPackage

/// NetworkNamespacePath= of a socket unit: its sockets are made in that network namespace
/// (systemd.socket(5)), and a socket stays in the namespace it was made in whatever its
/// maker does next (network_namespaces(7)). setns(2) moves only the calling thread, and
/// swatchd has one: it steps into the namespace while it makes the sockets and back into its
/// own, where systemd forks a helper for the same (src/core/socket.c, socket_address_listen_in_cgroup()).
enum NetworkNamespace {
    /// Runs `body` in the network namespace the file `path` refers to (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`), then back in swatchd's own. Throws, without running `body`, when
    /// that namespace cannot be entered: no such file, not a network namespace (EINVAL).
    static func within<Result>(_ path: String, _ body: () -> Result) throws(Errno) -> Result {
        let own = try open("/proc/thread-self/ns/net")
        defer { own.closeIgnoringErrors() }
        let target = try open(path)
        defer { target.closeIgnoringErrors() }
        _ = try retryingOnInterrupt { swatch_setns(target.rawValue, SWATCH_CLONE_NEWNET) }
        defer {
            // Back into the namespace swatchd came from. Entering the other took CAP_SYS_ADMIN in
            // the user namespace swatchd runs in (setns(2)), which owns this one: it cannot
            // fail, and if it did every later socket would be made in the wrong namespace.
            let back = swatch_setns(own.rawValue, SWATCH_CLONE_NEWNET)
            precondition(back == 0, "setns back into swatchd's own network namespace: \(Errno(rawValue: errno))")
        }
        return body()
    }

    private static func open(_ path: String) throws(Errno) -> FileDescriptor {
        FileDescriptor(rawValue: try retryingOnInterrupt { Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) })
    }
}
