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

/// The bytes of `text` without leading and trailing spaces, tabs and newlines, as a range.
@inlinable package func trimmedRange(_ text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
    func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }
    var start = text.startIndex, end = text.endIndex
    while start < end, isSpace(text[start]) { start += 1 }
    while end > start, isSpace(text[end - 1]) { end -= 1 }
    return start..<end
}

/// The number at `at`, `12`, `1.5` or `.5`, as parse_time() and parse_size() read one: the
/// whole part and the range of the fraction's digits; `at` moves past it. nil when there is
/// none or the whole part does not fit. By byte: these parsers read the bytes, and a
/// Character walk through Substrings was most of a `*Sec=` value's cost.
@inlinable package func decimalPrefix(_ text: UnsafeBufferPointer<UInt8>, at: inout Int, end: Int) -> (whole: UInt64, fraction: Range<Int>)? {
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    var whole: UInt64 = 0
    let wholeStart = at
    while at < end, isDigit(text[at]) {
        let value = UInt64(text[at] - UInt8(ascii: "0"))
        let (times10, overflow) = whole.multipliedReportingOverflow(by: 10)
        guard !overflow, times10 <= .max - value else { return nil }
        whole = times10 + value
        at += 1
    }
    let hasWhole = at > wholeStart
    var fraction = at..<at
    if at < end, text[at] == UInt8(ascii: ".") {
        at += 1
        let fractionStart = at
        while at < end, isDigit(text[at]) { at += 1 }
        fraction = fractionStart..<at
    }
    guard hasWhole || !fraction.isEmpty else { return nil }
    return (whole, fraction)
}
