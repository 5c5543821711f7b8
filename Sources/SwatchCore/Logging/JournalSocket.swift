import CSwatch
import Glibc
import SwatchControl
import SystemPackage

/// A datagram socket connected to journald's native socket (systemd-journald.service(8)):
/// swatchd's own messages go through it when a test or an unusual journal names its path
/// (JournalLogHandler), and every service's output lines through `system` (OutputCapture).
///
/// Connected, not sending to an address each time, for one reason: only then does epoll
/// say when journald's queue has room again (unix_dgram_poll(), net/unix/af_unix.c, checks
/// the peer's queue for a connected socket only). A sender that does not wait is told the
/// queue is full (`.full`, EAGAIN) and waits for EPOLLOUT on `fd`, as the Supervisor does.
/// Where journald went away (ECONNREFUSED) or is not there yet (ENOENT), the next send
/// connects anew: a restarted journald is found again.
///
/// Used by the one thread of the daemon's loop (and by a test's own), hence `@unchecked`.
package final class JournalSocket: @unchecked Sendable {
    package static let systemPath = "/run/systemd/journal/socket"

    /// The socket the services' output goes to, made at its first use; nil when even
    /// socket(2) failed, and then the lines go to stderr (OutputCapture).
    package static let system: JournalSocket? = try? JournalSocket(path: systemPath)

    package enum Outcome: Hashable {
        case sent
        /// Sent as swatchd's own: the process it was to be attributed to is gone (ESRCH).
        case sentAsSwatchd
        /// journald's queue, or the socket's send buffer, is full: wait for `fd` to be writable.
        case full
        /// Not sent, and waiting will not help: no journald, or a datagram too large.
        case failed(Errno)
    }

    package let fd: Int32
    package let path: String
    private var isConnected = false
    /// Set by `boundWaits(to:)` once a send that waited timed out: later ones do not wait.
    private var waitedInVain = false

    package init(path: String) throws(Errno) {
        _ = try unixSocketAddress(path)
        self.path = path
        fd = try retryingOnInterrupt { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        // Room for a line of journald's LineMax= (48 KiB) with its fields, as sd_journal_sendv()
        // makes room (SNDBUF_SIZE, src/libsystemd/sd-journal/journal-send.c); capped by
        // net.core.wmem_max.
        var size: Int32 = 8 << 20
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// From now on a send that waits waits at most `milliseconds` (SO_SNDTIMEO, socket(7)),
    /// and once one has waited that long in vain, no later one waits at all: at swatchd's
    /// exit, the lines journald has no room for wait for it, but a journald that takes
    /// nothing holds the exit up once, not once per line.
    package func boundWaits(to milliseconds: Int) {
        var limit = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends one entry of `JournalNativeProtocol`. With `wait`, blocks while journald's
    /// queue is full, as sd_journal_sendv(3) does; without, says `.full` at once.
    ///
    /// `process`: the entry is attributed to that process by SCM_CREDENTIALS (unix(7)), so
    /// journald records its _PID=, _COMM=, _EXE=, _CMDLINE= and cgroup, as it does for the
    /// stream a service writes to under systemd. Only a sender with CAP_SYS_ADMIN may name
    /// another process, and only one that still exists (ESRCH once it was reaped): then the
    /// entry goes as swatchd's own.
    package func send(_ datagram: [UInt8], wait: Bool, as process: Int32? = nil) -> Outcome {
        let wasConnected = isConnected
        let outcome = attempt(datagram, wait: wait, as: process)
        // journald restarted since the last entry: its new socket is found for this one.
        if wasConnected, case .failed(.connectionRefused) = outcome { return attempt(datagram, wait: wait, as: process) }
        return outcome
    }

    private func attempt(_ datagram: [UInt8], wait: Bool, as process: Int32?) -> Outcome {
        if !isConnected {
            do throws(Errno) {
                try connectUnix(fd, path: path)
            } catch {
                return .failed(error)
            }
            isConnected = true
        }
        let waits = wait && !waitedInVain
        let flags = Int32(MSG_NOSIGNAL) | (waits ? 0 : Int32(MSG_DONTWAIT))
        do throws(Errno) {
            do throws(Errno) {
                let sent = try sendMessage(datagram, flags: flags, credentials: process)
                return sent == datagram.count ? .sent : .failed(.messageTooLong)
            } catch .noSuchProcess where process != nil {
                let sent = try sendMessage(datagram, flags: flags, credentials: nil)
                return sent == datagram.count ? .sentAsSwatchd : .failed(.messageTooLong)
            }
        } catch .wouldBlock {
            // A send that waited gets EAGAIN only once SO_SNDTIMEO has passed.
            if waits { waitedInVain = true }
            return .full
        } catch {
            // ECONNREFUSED: journald closed its socket (it restarted, or is gone).
            isConnected = false
            return .failed(error)
        }
    }

    /// sendmsg(2) of one datagram, with a `struct ucred` naming `credentials` (and swatchd's
    /// own uid and gid) when given.
    private func sendMessage(_ datagram: [UInt8], flags: Int32, credentials: Int32?) throws(Errno) -> Int {
        var bytes = datagram
        let controlSize = swatch_cmsg_space(MemoryLayout<swatch_ucred>.size)
        var control = [UInt64](repeating: 0, count: (controlSize + 7) / 8)  // cmsghdr's alignment
        return try retryingOnInterrupt {
            bytes.withUnsafeMutableBytes { payload in
                control.withUnsafeMutableBytes { controlBytes in
                    var iov = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPointer in
                        var message = msghdr()
                        message.msg_iov = iovPointer
                        message.msg_iovlen = 1
                        if let pid = credentials {
                            message.msg_control = controlBytes.baseAddress
                            message.msg_controllen = controlSize
                            let header = swatch_cmsg_firsthdr(&message)!
                            header.pointee.cmsg_level = SOL_SOCKET
                            header.pointee.cmsg_type = SWATCH_SCM_CREDENTIALS
                            header.pointee.cmsg_len = swatch_cmsg_len(MemoryLayout<swatch_ucred>.size)
                            UnsafeMutableRawPointer(swatch_cmsg_data(header))
                                .storeBytes(of: swatch_ucred(pid: pid, uid: geteuid(), gid: getegid()), as: swatch_ucred.self)
                        }
                        return sendmsg(fd, &message, flags)
                    }
                }
            }
        }
    }
}

/// journald's native protocol (systemd.journal-fields(7), "Native Journal Protocol" in
/// systemd's docs/JOURNAL_NATIVE_PROTOCOL.md): `FIELD=value\n`, or for a value holding a
/// newline `FIELD\n`, its length as a little-endian 64-bit integer, the bytes, `\n`.
enum JournalNativeProtocol {
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in fields { append(key, value.utf8, to: &out) }
        return out
    }

    /// One field, its value as the bytes given (a service's line need not be UTF-8).
    static func append(_ key: String, _ value: some Collection<UInt8>, to out: inout [UInt8]) {
        out += key.utf8
        if value.contains(0x0A) {
            out.append(0x0A)
            withUnsafeBytes(of: UInt64(value.count).littleEndian) { out += $0 }
            out += value
        } else {
            out.append(UInt8(ascii: "="))
            out += value
        }
        out.append(0x0A)
    }
}
