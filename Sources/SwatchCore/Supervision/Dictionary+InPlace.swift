// Reading the Manager's entries (and a unit set's units) where they are. A read of
// `dictionary[key]` or of `values[index]` returns a copy of the whole value, and a write
// through `dictionary[key]?.x` moves it out and back. When the entries held their units
// inline that was most of the Manager's work at start-up; with copy-on-write units
// (Units/CopyOnWrite.swift) a copy is cheaper, and a write to a copy still duplicates the
// storage (docs/HACKING.md "Start-up with 1000 units").

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
