extension Dictionary where Key: Comparable {
    /// The pairs in the order of their keys. Only the keys are sorted, with their own `<`: a
    /// `sorted(by: { $0.key < $1.key })` of the pairs is a specialized copy of the stdlib's
    /// sort for each closure and pair type, ~2 KB each (docs/HACKING.md "Where the bytes are").
    func sortedByKey() -> [(key: Key, value: Value)] {
        keys.sorted().map { ($0, self[$0]!) }
    }
}
