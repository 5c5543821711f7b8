extension Array {
    /// The element at `index`, or nil past either end: for an index another party gave (a
    /// socket unit's listener, by its place in the unit and in the shell).
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
