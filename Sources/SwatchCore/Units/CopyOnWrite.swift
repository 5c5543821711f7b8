// Values kept out of line, copied on write: a large model that is held in several
// places (the UnitSet of the last load, the Manager's entry, the machine of the unit)
// is one heap block that every copy shares until one of them changes it, as Array and
// String share their storage. The type itself is one pointer wide, so a dictionary of
// them costs a pointer per bucket rather than the whole value per bucket (Dictionary
// keeps up to twice as many buckets as elements). docs/HACKING.md "Where the bytes are"
// has the measurements.

/// The heap block of a `CopyOnWrite` value.
package final class CopyOnWriteStorage<Value>: @unchecked Sendable {
    // Unchecked: a storage is only written when it is uniquely referenced (the `_modify`
    // of `CopyOnWrite`), so shared storage is never mutated; `Value` is Sendable where
    // the wrapper is declared Sendable.
    package var value: Value
    package init(_ value: Value) { self.value = value }
}

/// A value type whose fields live in a `CopyOnWriteStorage`: reading `x.field` and
/// writing `x.field = …` (or `x.field.append(…)`) look as they would on the fields
/// themselves; a write first copies a storage that another value shares.
@dynamicMemberLookup
package protocol CopyOnWrite {
    associatedtype Value
    var storage: CopyOnWriteStorage<Value> { get set }
}

extension CopyOnWrite {
    // Inlined always: where a read is not inlined, the key path reaches the specialized
    // subscript as a value and is projected by the runtime (swift_getAtKeyPath, ~1,400
    // instructions for a computed property such as `unit.execStartPre`); inlined, the literal
    // key path is resolved at compile time into the property's getter.
    @inline(__always)
    package subscript<T>(dynamicMember key: KeyPath<Value, T>) -> T {
        storage.value[keyPath: key]
    }

    package subscript<T>(dynamicMember key: WritableKeyPath<Value, T>) -> T {
        @inline(__always) get { storage.value[keyPath: key] }
        _modify {
            if !isKnownUniquelyReferenced(&storage) { storage = CopyOnWriteStorage(storage.value) }
            yield &storage.value[keyPath: key]
        }
    }

    /// The fields as one value (a copy).
    package var fields: Value { storage.value }

    /// Changes the fields in place, in one access (a shared storage is copied first).
    package mutating func withFields<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = CopyOnWriteStorage(storage.value) }
        return try body(&storage.value)
    }
}

extension CopyOnWrite where Value: Equatable {
    /// Two values sharing a storage are equal without a look at the fields (an unchanged
    /// unit across daemon-reload, for one).
    package static func sameFields(_ a: Self, _ b: Self) -> Bool {
        a.storage === b.storage || a.storage.value == b.storage.value
    }
}

/// A copy-on-write type that is Hashable is so by its fields: these are its `==` and
/// `hash(into:)` (the storage, a class, has neither).
extension CopyOnWrite where Self: Hashable, Value: Hashable {
    package static func == (a: Self, b: Self) -> Bool { sameFields(a, b) }
    package func hash(into hasher: inout Hasher) { storage.value.hash(into: &hasher) }
}
