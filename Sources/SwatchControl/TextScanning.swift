// Text helpers shared by the unit file parser (SwatchCore/Units/) and swatchctl, written
// with the stdlib alone: the generic `String` algorithms of _StringProcessing
// (`contains(_: some StringProtocol)`, `split(separator: String)`, `replacing`, `ranges(of:)`,
// `firstRange(of:)`, `trimmingPrefix`) would bring the regex engine into both binaries
// (docs/HACKING.md "Where the bytes are"). `@inlinable`: the daemon's parser calls them per
// line, and across the module boundary they would not be specialized otherwise.

extension StringProtocol {
    /// Whether `text` occurs in this string, byte for byte. Not `contains(_:)` with a string:
    /// that one comes from _StringProcessing, which brings the regex engine (0.9 MB) into
    /// the binary (docs/HACKING.md "Footprint and start-up").
    @inlinable package func containsText(_ text: String) -> Bool {
        let haystack = Array(utf8), needle = Array(text.utf8)
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }

    /// Without leading and trailing spaces, tabs and newlines (systemd's WHITESPACE).
    @inlinable package func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}

extension Character {
    @inlinable package var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    /// The words between spaces, tabs and newlines (systemd's WHITESPACE). One function for
    /// every caller, not inlinable: a `split(whereSeparator:)` given a closure of its own is
    /// a specialized copy of `split` each, ~1 KB (docs/HACKING.md "Where the bytes are").
    package func splitAtWhitespace() -> [Substring] {
        split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
    }
}

extension Substring {
    /// Takes the number at the start, `12`, `1.5` or `.5`, as parse_time() and parse_size()
    /// read one: the whole part and the fraction's digits. nil when there is none or the
    /// whole part does not fit.
    package mutating func removeDecimalPrefix() -> (whole: UInt64, fraction: Substring)? {
        let whole = prefix(while: \.isASCIIDigit)
        self = dropFirst(whole.count)
        var fraction = Substring()
        if first == "." {
            self = dropFirst()
            fraction = prefix(while: \.isASCIIDigit)
            self = dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty, let value = UInt64(whole.isEmpty ? "0" : whole) else { return nil }
        return (value, fraction)
    }
}
