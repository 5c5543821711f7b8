// Reading the Manager's entries (and a unit set's units) where they are. A read of
// `dictionary[key]` or of `values[index]` returns a copy of the whole value: for an
// entry, its unit inline, every string and array in it retained and released again.
// Before these, that was most of the Manager's work at start-up (docs/HACKING.md
// "Footprint and start-up").

extension Dictionary {
    /// `body` on the value at `index`, in place (a `_modify` access yields the storage itself).
    mutating func inPlace<R>(_ index: Index, _ body: (inout Value) -> R) -> R { body(&values[index]) }

    /// `body` on every key and its value in place, in the dictionary's order. Not a loop over
    /// `indices`: they hold the storage, so the first access in place would copy all of it.
    mutating func forEachInPlace(_ body: (Key, inout Value) -> Void) {
        var index = startIndex
        while index != endIndex {
            body(keys[index], &values[index])
            formIndex(after: &index)
        }
    }
}
