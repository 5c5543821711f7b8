/// The deadlines of every unit, earliest first: a binary min-heap with lazy
/// deletion, so that setting, moving or clearing one unit's deadline costs
/// O(log n) and finding the earliest O(1) — nothing per event that grows with
/// the number of units.
///
/// `schedule(_:at:)` records the one deadline a key has now; entries of earlier
/// schedules stay in the heap and are skipped when they surface, because they
/// no longer match the key's current deadline.
struct DeadlineHeap<Key: Hashable> {
    private var heap: [(at: Instant, key: Key)] = []
    private var current: [Key: Instant] = [:]

    /// Sets (or, with nil, clears) the deadline of `key`.
    mutating func schedule(_ key: Key, at deadline: Instant?) {
        guard current[key] != deadline else { return }
        current[key] = deadline
        guard let deadline else { return }
        heap.append((deadline, key))
        siftUp(heap.count - 1)
        // Stale entries cannot outnumber live ones by much: rebuild when they do.
        if heap.count > 64, heap.count > 4 * current.count { rebuild() }
    }

    func deadline(of key: Key) -> Instant? { current[key] }

    /// The earliest live deadline.
    mutating func earliest() -> Instant? {
        dropStaleTop()
        return heap.first?.at
    }

    /// Removes and returns every key whose deadline is at or before `now`, earliest first.
    mutating func popDue(_ now: Instant) -> [Key] {
        var due: [Key] = []
        while true {
            dropStaleTop()
            guard let top = heap.first, top.at <= now else { return due }
            popTop()
            current[top.key] = nil
            due.append(top.key)
        }
    }

    private func isLive(_ entry: (at: Instant, key: Key)) -> Bool { current[entry.key] == entry.at }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func rebuild() {
        heap = current.map { ($0.value, $0.key) }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
