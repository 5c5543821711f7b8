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
    package var stamps = Stamps()

    /// None recorded: every unit and every loaded file starts so. (An `init(stamps: [:])`
    /// made a dictionary at every call for its default argument.)
    package init() {}

    /// The stamps of a unit's few files: the first (the unit file) inline, any drop-ins in an
    /// array. A dictionary of one file was a 152-byte block per unit, an array of one 80
    /// (docs/HACKING.md "Where the bytes are").
    package struct Stamps: Sendable {
        private var first: (path: SourcePath, stamp: Stamp?)?
        private var more: [(path: SourcePath, stamp: Stamp?)] = []

        package init() {}

        /// As a dictionary's: nil when `path` was not recorded, `.some(nil)` when it could not be stat()ed.
        package subscript(path: SourcePath) -> Stamp?? {
            get {
                if let first, first.path == path { return first.stamp }
                return more.first { $0.path == path }.map { $0.stamp }
            }
            set {
                if let recorded = first, recorded.path == path {
                    if let stamp = newValue {
                        first = (path, stamp)
                    } else {
                        first = more.isEmpty ? nil : more.removeFirst()
                    }
                    return
                }
                let index = more.firstIndex { $0.path == path }
                switch (index, newValue) {
                case (let index?, let stamp?): more[index].stamp = stamp
                case (let index?, nil): more.remove(at: index)
                case (nil, let stamp?):
                    if first == nil { first = (path, stamp) } else { more.append((path, stamp)) }
                case (nil, nil): break
                }
            }
        }

        package var keys: [SourcePath] { (first.map { [$0.path] } ?? []) + more.map(\.path) }
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
        stamps[SourcePath(path)] = .some(Self.stamp(of: path))
    }

    /// The recorded files whose modification time is not the one recorded (changed, removed or replaced).
    package func changedPaths(stamp: (String) -> Stamp? = SourceFileTimes.stamp(of:)) -> [String] {
        stamps.keys.filter { stamp($0.description) != stamps[$0]! }.map(\.description).sorted()
    }

    package static func == (a: SourceFileTimes, b: SourceFileTimes) -> Bool { true }
    package func hash(into hasher: inout Hasher) {}
}
