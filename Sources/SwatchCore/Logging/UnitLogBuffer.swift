import Synchronization

/// The last lines of every unit, in memory, for `swatchctl status` and `swatchctl logs`
/// (swatchctl(1)). Both log handlers add
/// swatchd's messages that carry `unit` metadata; every OutputCapture adds the
/// service's output. Shared by reference; a lock makes it Sendable for swift-log,
/// though the daemon only uses it from its one thread.
package final class UnitLogBuffer: Sendable {
    /// Lines kept per unit; older ones are dropped.
    package let capacityPerUnit: Int
    /// Units kept; the one written to longest ago goes first (Accept=yes makes a unit per connection).
    package let capacityOfUnits: Int
    /// The longest message kept, in bytes: with `capacityPerUnit`, what bounds one unit's memory.
    package static let maximumMessageBytes = 2048

    private struct State {
        var units: [String: Ring] = [:]
        var lastSequence: UInt64 = 0
        /// (sequence, unit) of every line in the order added, the stale ones (a unit wrote
        /// again since, or is gone) skipped when read: the unit whose newest line is oldest
        /// is the first live entry. Finding it was a scan of every unit per new unit once
        /// `capacityOfUnits` were kept — with Accept=yes, per connection.
        var recency: [(sequence: UInt64, unit: String)] = []
        var recencyStart = 0

        /// The unit whose newest line is the oldest.
        mutating func stalest() -> String? {
            while recencyStart < recency.count {
                let (sequence, unit) = recency[recencyStart]
                if units[unit]?.newest == sequence { return unit }
                recencyStart += 1
            }
            return nil
        }

        /// Drops the skipped entries once they are most of the list, and the stale ones once
        /// the list is four times the units (then one entry per unit is left): amortized O(1).
        mutating func compactRecency() {
            if recencyStart > 1024, recencyStart * 2 > recency.count {
                recency.removeFirst(recencyStart)
                recencyStart = 0
            }
            if recency.count > 4 * max(units.count, 1024) {
                let units = self.units
                recency = recency[recencyStart...].filter { units[$0.unit]?.newest == $0.sequence }
                recencyStart = 0
            }
        }
    }

    /// A fixed-size ring of one unit's entries, oldest first from `start`.
    private struct Ring {
        var entries: [UnitLogEntry] = []
        var start = 0

        mutating func append(_ entry: UnitLogEntry, capacity: Int) {
            if entries.count < capacity {
                entries.append(entry)
            } else {
                entries[start] = entry
                start = (start + 1) % capacity
            }
        }

        var ordered: [UnitLogEntry] { Array(entries[start...] + entries[..<start]) }

        /// The sequence of the newest line.
        var newest: UInt64? { entries.isEmpty ? nil : entries[(start + entries.count - 1) % entries.count].sequence }
    }

    private let state = Mutex(State())

    package init(capacityPerUnit: Int = 200, capacityOfUnits: Int = 2048) {
        precondition(capacityPerUnit > 0 && capacityOfUnits > 0)
        self.capacityPerUnit = capacityPerUnit
        self.capacityOfUnits = capacityOfUnits
    }

    /// Adds one line (its `sequence` is assigned here) and returns it as stored.
    @discardableResult
    package func append(_ entry: UnitLogEntry) -> UnitLogEntry {
        state.withLock { state in
            state.lastSequence += 1
            var stored = entry
            stored.sequence = state.lastSequence
            if stored.message.utf8.count > Self.maximumMessageBytes {
                stored.message = String(decoding: stored.message.utf8.prefix(Self.maximumMessageBytes), as: UTF8.self) + "…"
            }
            // One lookup of the name where a line of a known unit goes (an Accept=yes instance's
            // name is long, and each of its lines came here twice).
            if let index = state.units.index(forKey: entry.unit) {
                state.units.values[index].append(stored, capacity: capacityPerUnit)
            } else {
                if state.units.count >= capacityOfUnits, let stale = state.stalest() {
                    // The unit whose newest line is oldest goes: a finished Accept=yes instance, usually.
                    state.units[stale] = nil
                }
                var ring = Ring()
                ring.append(stored, capacity: capacityPerUnit)
                state.units[entry.unit] = ring
            }
            state.recency.append((stored.sequence, entry.unit))
            state.compactRecency()
            return stored
        }
    }

    /// Adds one line stamped now.
    @discardableResult
    package func append(
        unit: String, message: String, identifier: String, pid: Int32, priority: Int32 = 6,
        realtime: UInt64 = StatusFormat.realtimeNow()
    ) -> UnitLogEntry {
        append(UnitLogEntry(unit: unit, realtime: realtime, pid: pid, identifier: identifier, priority: priority, message: message))
    }

    /// The last `count` lines of `unit` (nil: of every unit, interleaved), oldest first.
    package func entries(unit: String?, last count: Int) -> [UnitLogEntry] {
        entries(units: unit.map { [$0] } ?? [], last: count)
    }

    /// The last `count` lines of `units` together (none: of every unit), interleaved, oldest first.
    package func entries(units: [String], last count: Int) -> [UnitLogEntry] {
        count > 0 ? Array(entries(units: units, after: 0).suffix(count)) : []
    }

    /// The lines of `units` (none: of every unit) added after `sequence`, interleaved, oldest first.
    package func entries(units: [String], after sequence: UInt64) -> [UnitLogEntry] {
        state.withLock { state in
            guard state.lastSequence > sequence else { return [] }
            let rings = units.isEmpty ? Array(state.units.values) : Set(units).compactMap { state.units[$0] }
            let lists = rings.map { $0.ordered.filter { $0.sequence > sequence } }
            return lists.count == 1 ? lists[0] : Self.interleaved(lists)
        }
    }

    /// The lines of several units in the order they were added: by sequence, which follows
    /// the clock as lines come in (one daemon thread stamps and appends them).
    private static func interleaved(_ lists: [[UnitLogEntry]]) -> [UnitLogEntry] {
        lists.flatMap { $0 }.sorted { $0.sequence < $1.sequence }
    }

    /// The sequence number of the newest line of any unit (0: none yet).
    package var lastSequence: UInt64 { state.withLock { $0.lastSequence } }

    /// Forgets a unit's lines (the unit disappeared at daemon-reload).
    package func removeUnit(_ unit: String) {
        _ = state.withLock { $0.units.removeValue(forKey: unit) }
    }
}
