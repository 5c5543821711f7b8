// The building blocks of the key catalog: what a key's setter sees of one
// assignment (`KeyValue`), how a value of each type is read (`ValueKind`) and
// how it lands in a model (`KeySetter`, through a `Field`). An invalid value is an error that
// refuses the unit (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM"), worded like systemd's conf-parser — the
// problem, the consequence, then the value:
// `Failed to parse boolean value for NoDelay=, refusing the unit: yess`.

/// An invalid value, as the message the user reads.
struct ValueError: Error {
    var message: String
    /// A value swatchd knows and does not act on, which restricts nothing: warned about, the
    /// line ignored, the unit loaded (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").
    var ignored = false
}

/// One assignment as a setter sees it.
struct KeyValue {
    var key: String
    /// The value as written (after the lexer joined and trimmed it).
    var raw: String
    var location: SourceLocation
    var specifiers: SpecifierExpander

    /// The standard error for a value that does not parse as `what`.
    func invalid(_ what: String, _ value: String? = nil) -> ValueError {
        ValueError(message: "Failed to parse \(what) for \(key)=, refusing the unit: \(value ?? raw)")
    }

    /// An error with its own problem text, same shape.
    func problem(_ problem: String, _ value: String? = nil) -> ValueError {
        ValueError(message: "\(problem) in \(key)=, refusing the unit: \(value ?? raw)")
    }

    /// The raw value with specifiers expanded.
    func expanded() throws(ValueError) -> String {
        try expand(raw)
    }

    func expand(_ text: String) throws(ValueError) -> String {
        do {
            return try specifiers.expand(text)
        } catch {
            throw problem("Failed to resolve specifier '\(error.specifier)'")
        }
    }

    /// `text` (the whole value by default) as one string, C escapes resolved, then specifiers
    /// expanded: cunescape() then unit_full_printf(), as src/core/load-fragment.c reads
    /// SetCredential= and StandardInputText=.
    func unescaped(_ text: Substring? = nil) throws(ValueError) -> String {
        var quoted = "\""
        for character in text ?? raw[...] { quoted += character == "\"" ? "\\\"" : String(character) }
        quoted += "\""
        return try KeyValue(key: key, raw: quoted, location: location, specifiers: specifiers).words().first ?? ""
    }

    /// The words of the value (systemd's quoting and C escapes), each with specifiers expanded.
    func words(cUnescape: Bool = true, retainEscapes: Bool = false) throws(ValueError) -> [String] {
        // Most values are one word with nothing to unquote, unescape or expand (`network.target`,
        // `PORT=80`): the word is the value, without the splitter's copy of it (~1,500
        // instructions a value, callgrind).
        if Self.isOnePlainWord(raw) { return [raw] }
        var splitter = WordSplitter(raw)
        splitter.cUnescape = cUnescape
        splitter.retainEscapes = retainEscapes
        var words: [String] = []
        do {
            while let word = try splitter.next() { words.append(try expand(word)) }
        } catch let error as ValueError {
            throw error
        } catch WordSplitError.unbalancedQuotes {
            throw problem("Unbalanced quoting")
        } catch WordSplitError.badEscape(let escape) {
            throw problem("Invalid escape sequence \(escape)")
        } catch {
            throw problem("Trailing backslash")
        }
        return words
    }
}

extension KeyValue {
    /// Whether `text` splits into itself alone: not empty, and no byte that separates words
    /// (the splitter's whitespace), quotes, escapes or starts a specifier.
    static func isOnePlainWord(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            for byte in bytes {
                if UnitFileLexer.isWhitespace(byte) || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
                    || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "%") { return false }
            }
            return true
        }
    }
}

/// How a value of type `T` is read.
struct ValueKind<T>: Sendable {
    let parse: @Sendable (KeyValue) throws(ValueError) -> T

    /// A kind from a plain text parser: nil means invalid, reported as "Failed to parse `what`".
    /// `what` is made only for that report: the key tables hold a kind for every key, and an
    /// eager `"integer \(range.lowerBound)…\(range.upperBound)"` formatted numbers at every
    /// start for messages that are almost never shown.
    static func text(_ what: @escaping @autoclosure @Sendable () -> String, expand: Bool = false,
                     _ parse: @escaping @Sendable (String) -> T?) -> ValueKind {
        ValueKind { (kv: KeyValue) throws(ValueError) -> T in
            let value = expand ? try kv.expanded() : kv.raw
            guard let parsed = parse(value) else { throw kv.invalid(what(), value) }
            return parsed
        }
    }
}

extension ValueKind where T == Bool {
    static let boolean = ValueKind.text("boolean value", ValueParser.boolean)
}

extension ValueKind where T == TimeSpan {
    static let timeSpan = ValueKind.text("time span") { TimeSpan(parsing: $0) }
    /// TimeoutStartSec= and friends: `0` means no timeout (parse_sec_fix_0()).
    static let timeout = ValueKind.text("time span") { TimeSpan(parsing: $0).map { $0 == .zero ? .infinity : $0 } }
}

extension ValueKind where T == Int32 {
    static let signal = ValueKind.text("signal", ValueParser.signal)
}

extension ValueKind where T == UInt32 {
    static let mode = ValueKind.text("access mode", ValueParser.mode)
}

extension ValueKind where T == String {
    /// Free text with specifiers expanded.
    static let string = ValueKind { (kv: KeyValue) throws(ValueError) in try kv.expanded() }
}

extension ValueKind where T: FixedWidthInteger & Sendable {
    static func integer(_ range: ClosedRange<T>) -> ValueKind {
        .text("integer \(range.lowerBound)…\(range.upperBound)") { ValueParser.integer($0, in: range) }
    }
}

extension ValueKind where T == Int {
    static let size = ValueKind.text("size") { ValueParser.size($0).flatMap { Int(exactly: $0) } }
}

extension ValueKind where T: RawRepresentable & Sendable, T.RawValue == String {
    /// One of an enumeration's spellings.
    static func choice(_ what: String) -> ValueKind {
        .text(what) { T(rawValue: $0) }
    }
}

/// A field of a model, reached by a closure that hands it over to be read and changed:
/// `{ $1(&$0.umask) }`. Not a key path: making one (`swift_getKeyPath`) instantiates the
/// metadata of its classes at run time, 25,000–90,000 instructions for each key a start-up
/// sets, which was a quarter of a start with one real unit (docs/HACKING.md "Start-up with
/// 1000 units"). A closure costs nothing until called, and `inout` takes the field's type
/// exactly, so an optional field picks the setter that resets it, as with key paths.
typealias Field<Model, Value> = @Sendable (inout Model, (inout Value) -> Void) -> Void

/// A field of a copy-on-write model, `{ $1(&$0.umask) }` on its fields, as a field of the
/// model: the copy-on-write access is made once, here, as `inSandbox` does.
@_semantics("optimize.sil.specialize.generic.never") @inline(never)
func inFields<Model: CopyOnWrite & Sendable, T>(_ field: @escaping Field<Model.Value, T>) -> Field<Model, T> {
    { model, body in model.withFields { field(&$0, body) } }
}

/// A field of a service's sandbox, `{ $1(&$0.nice) }` on its fields, as a field of the
/// service. The closure of each key then only hands over the field's address: the two
/// copy-on-write accesses, to the service's storage and to its sandbox's, are made once,
/// here, not in a copy per key (about 430 bytes each; docs/HACKING.md "Where the bytes are").
@_semantics("optimize.sil.specialize.generic.never") @inline(never)
func inSandbox<T>(_ field: @escaping Field<SandboxFields, T>) -> Field<ServiceUnit, T> {
    { service, body in service.sandbox.withFields { field(&$0, body) } }
}

/// A field of a socket unit's options, as `inSandbox` reaches a sandbox's.
@_semantics("optimize.sil.specialize.generic.never") @inline(never)
func inOptions<T>(_ field: @escaping Field<SocketOptionsFields, T>) -> Field<SocketUnit, T> {
    { socket, body in socket.options.withFields { field(&$0, body) } }
}

/// Applies one key's value to a model of type `Model`.
struct KeySetter<Model>: Sendable {
    let apply: @Sendable (inout Model, KeyValue) throws(ValueError) -> Void

    init(_ apply: @escaping @Sendable (inout Model, KeyValue) throws(ValueError) -> Void) {
        self.apply = apply
    }

    // The three makers below are neither specialized nor inlined: one copy of each serves every
    // key. Otherwise the optimizer copied the setter's closure for each key it was given a
    // field for, 148 copies and 49 KB of text (docs/HACKING.md "Where the bytes are"); a key
    // is set a few times per unit at most, and a start-up with 1000 pairs runs as many
    // instructions either way.

    /// Sets a field.
    @_semantics("optimize.sil.specialize.generic.never") @inline(never)
    static func set<T>(_ field: @escaping Field<Model, T>, _ kind: ValueKind<T>) -> KeySetter {
        KeySetter { (model: inout Model, kv: KeyValue) throws(ValueError) in
            let value = try kind.parse(kv)
            field(&model) { $0 = value }
        }
    }

    /// Sets an optional field; the empty value resets it to nil (unset).
    @_semantics("optimize.sil.specialize.generic.never") @inline(never)
    static func set<T>(_ field: @escaping Field<Model, T?>, _ kind: ValueKind<T>) -> KeySetter {
        KeySetter { (model: inout Model, kv: KeyValue) throws(ValueError) in
            let value = kv.raw.isEmpty ? nil : try kind.parse(kv)
            field(&model) { $0 = value }
        }
    }

    /// Appends the words of the value to a list; the empty value resets the list (systemd.syntax(7)).
    @_semantics("optimize.sil.specialize.generic.never") @inline(never)
    static func list(
        _ field: @escaping Field<Model, [String]>,
        check: @escaping @Sendable (String) -> String? = { _ in nil },
        retainEscapes: Bool = false
    ) -> KeySetter {
        KeySetter { (model: inout Model, kv: KeyValue) throws(ValueError) in
            guard !kv.raw.isEmpty else {
                field(&model) { $0 = [] }
                return
            }
            let words = try kv.words(retainEscapes: retainEscapes)
            for word in words {
                if let problem = check(word) { throw kv.problem(problem, word) }
            }
            field(&model) { $0 += words }
        }
    }

    /// A setter of a part of the model (the `[Unit]` section of a socket or service).
    func lifted<Outer>(_ part: @escaping Field<Outer, Model>) -> KeySetter<Outer> {
        let apply = self.apply
        return KeySetter<Outer> { (outer: inout Outer, kv: KeyValue) throws(ValueError) in
            var failure: ValueError?
            part(&outer) { model in
                do throws(ValueError) { try apply(&model, kv) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }
}
