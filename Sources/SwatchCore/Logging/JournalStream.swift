import CSwatch
import Glibc
import SwatchControl
import SystemPackage

/// A stream to journald's stdout socket, opened as sd_journal_stream_fd(3) opens one but
/// with the whole syslog priority in its header: sd_journal_stream_fd() takes a level only
/// (0–7), and SyslogFacility= needs the facility as well. systemd's service manager writes
/// the header itself for the same reason (connect_journal_socket(), src/core/exec-invoke.c).
enum JournalStream {
    static let path = "/run/systemd/journal/stdout"

    /// The header journald reads before the lines (stdout_stream_line(),
    /// src/journal/journald-stream.c), one field a line: the identifier; the unit (which
    /// journald takes from root only, and uses only when it cannot read the sender's
    /// cgroup); the priority, facility and level (`LOG_DAEMON|LOG_INFO` is 30); whether a
    /// line's `<N>` prefix sets its level; forwarding to syslog, kmsg and the console, off.
    static func header(identifier: String, unit: String, priority: Int32, levelPrefix: Bool) -> [UInt8] {
        Array("\(identifier)\n\(unit)\n\(priority)\n\(levelPrefix ? 1 : 0)\n0\n0\n0\n".utf8)
    }

    /// A connected stream, CLOEXEC, its reading side shut down (nothing comes back); the
    /// caller owns it. The connect and the header's write block, as sd_journal_stream_fd()'s do:
    /// a listening journald takes both at once.
    static func open(identifier: String, unit: String, priority: Int32, levelPrefix: Bool) throws(Errno) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        do throws(Errno) {
            try connectUnix(fd, path: path)
            _ = shutdown(fd, Int32(SHUT_RD))
            // Room for a burst of lines while journald is busy, as sd_journal_stream_fd() makes
            // (SNDBUF_SIZE, src/libsystemd/sd-journal/journal-send.c): a line the stream
            // cannot take at once is dropped (OutputCapture).
            var size: Int32 = 8 << 20
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            try sendFully(fd, header(identifier: identifier, unit: unit, priority: priority, levelPrefix: levelPrefix))
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
