// When the files of a unit were last modified, as swatchd loaded them: what tells
// `swatchctl status` that a unit file or drop-in changed on disk since, and what
// `swatchctl show` prints as NeedDaemonReload= (systemd's unit_need_daemon_reload(),
// src/core/unit.c, compares the same modification times).

import Glibc

/// The modification time (st_mtim) of each file a unit was loaded from.
///
/// Not part of a unit's identity: two values are always equal, so a file that was
/// touched but not changed is the same unit to daemon-reload (UnitModels.swift:
/// `Hashable` tells changed units from unchanged ones).
package struct SourceFileTimes: Hashable, Sendable {
    /// A modification time, as stat(2)'s st_mtim.
    package struct Stamp: Hashable, Sendable {
        package var seconds: Int
        package var nanoseconds: Int
    }

    /// Path → its modification time when loaded; nil: it could not be stat()ed then.
    package var stamps: [String: Stamp?] = [:]

    package init(stamps: [String: Stamp?] = [:]) {
        self.stamps = stamps
    }

    /// The modification time of `path` now (following symlinks, as the unit was read); nil when
    /// it cannot be stat()ed (gone, or no permission).
    package static func stamp(of path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec)
    }

    /// Records `path` as it is now. Call it before reading the file: a change between the two
    /// then shows as a change later, rather than going unnoticed.
    package mutating func record(_ path: String) {
        stamps[path] = .some(Self.stamp(of: path))
    }

    /// The recorded files whose modification time is not the one recorded (changed, removed or replaced).
    package func changedPaths(stamp: (String) -> Stamp? = SourceFileTimes.stamp(of:)) -> [String] {
        stamps.keys.sorted().filter { stamp($0) != stamps[$0]! }
    }

    package static func == (a: SourceFileTimes, b: SourceFileTimes) -> Bool { true }
    package func hash(into hasher: inout Hasher) {}
}
