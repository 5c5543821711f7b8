// systemd's word splitting (src/basic/extract-word.c, extract_first_word()
// with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) and C unescaping (src/basic/escape.c,
// cunescape_one()), as systemd.syntax(7) "QUOTING" describes them: words are
// separated by whitespace, `"…"` and `'…'` quote (quotes may start mid-word and
// are removed), and backslash escapes are C's plus `\s` for a space.

/// Why a value could not be split into words.
enum WordSplitError: Error, Equatable {
    case unbalancedQuotes
    case badEscape(String)
    case trailingBackslash
}

/// A cursor over a value's bytes that yields one word at a time.
struct WordSplitter {
    private let bytes: [UInt8]
    private(set) var position: Int = 0
    /// Whether quotes are removed (EXTRACT_UNQUOTE).
    var unquote = true
    /// Whether `\n`, `\x41`… are decoded (EXTRACT_CUNESCAPE); otherwise `\c` is just `c`.
    var cUnescape = true
    /// Whether a backslash is kept with the byte it escapes, `\x2d` as written
    /// (EXTRACT_RETAIN_ESCAPE); it wins over `cUnescape`.
    var retainEscapes = false

    init(_ text: some StringProtocol) {
        bytes = Array(text.utf8)
    }

    var atEnd: Bool { position >= bytes.count }

    /// The remaining text after separators (to look at `;` and `\;` as ExecStart= does).
    var rest: ArraySlice<UInt8> { bytes[min(position, bytes.count)...] }

    mutating func skipSeparators() {
        while position < bytes.count, UnitFileLexer.isWhitespace(bytes[position]) { position += 1 }
    }

    mutating func advance(by n: Int) { position = min(position + n, bytes.count) }

    /// The next word, or nil at the end.
    mutating func next() throws(WordSplitError) -> String? {
        skipSeparators()
        guard position < bytes.count else { return nil }
        if let plain = plainWord() { return plain }
        var word: [UInt8] = []
        var quote: UInt8?
        while position < bytes.count {
            let c = bytes[position]
            if let q = quote {
                if c == q {
                    quote = nil
                    position += 1
                } else if c == UInt8(ascii: "\\") {
                    try unescape(into: &word)
                } else {
                    word.append(c)
                    position += 1
                }
            } else if unquote && (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) {
                quote = c
                position += 1
            } else if c == UInt8(ascii: "\\") {
                try unescape(into: &word)
            } else if UnitFileLexer.isWhitespace(c) {
                break
            } else {
                word.append(c)
                position += 1
            }
        }
        if quote != nil { throw .unbalancedQuotes }
        skipSeparators()
        return String(decoding: word, as: UTF8.self)
    }

    /// The next word when it has no quote and no backslash, as most words: cut from the
    /// value as it is, without the byte-by-byte copy and its regrowth (a third of the
    /// instructions of an `ExecStart=` line). nil, and nothing consumed, otherwise.
    private mutating func plainWord() -> String? {
        var end = position
        while end < bytes.count, !UnitFileLexer.isWhitespace(bytes[end]) {
            let c = bytes[end]
            if c == UInt8(ascii: "\\") || unquote && (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) { return nil }
            end += 1
        }
        let word = String(decoding: bytes[position..<end], as: UTF8.self)
        position = end
        skipSeparators()
        return word
    }

    /// All remaining words.
    mutating func all() throws(WordSplitError) -> [String] {
        var words: [String] = []
        while let word = try next() { words.append(word) }
        return words
    }

    /// Consumes a backslash and what it escapes, appending the decoded bytes.
    private mutating func unescape(into word: inout [UInt8]) throws(WordSplitError) {
        position += 1
        guard position < bytes.count else { throw .trailingBackslash }
        if retainEscapes {
            word += [UInt8(ascii: "\\"), bytes[position]]
            position += 1
            return
        }
        guard cUnescape else {
            word.append(bytes[position])
            position += 1
            return
        }
        guard let (decoded, length) = CEscape.decode(bytes[position...]) else {
            let end = min(position + 4, bytes.count)
            throw .badEscape("\\" + String(decoding: bytes[position..<end], as: UTF8.self))
        }
        word += decoded
        position += length
    }
}

/// C-style escapes of systemd.syntax(7)'s table.
enum CEscape {
    /// Decodes the escape whose first character (after the backslash) starts `s`:
    /// the bytes it stands for and how many input bytes it used. nil: not a valid escape.
    static func decode(_ s: ArraySlice<UInt8>) -> ([UInt8], Int)? {
        guard let c = s.first else { return nil }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
            UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
            UInt8(ascii: "\""): 34, UInt8(ascii: "'"): 39, UInt8(ascii: "s"): 32,
        ]
        if let byte = simple[c] { return ([byte], 1) }
        let digits = Array(s.dropFirst())
        switch c {
        case UInt8(ascii: "x"):
            guard let value = number(digits.prefix(2), radix: 16, count: 2), value != 0 else { return nil }
            return ([UInt8(value)], 3)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = c == UInt8(ascii: "u") ? 4 : 8
            guard let value = number(digits.prefix(n), radix: 16, count: n), value != 0,
                  let scalar = Unicode.Scalar(value) else { return nil }
            return (Array(String(Character(scalar)).utf8), n + 1)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            guard let value = number([c] + digits.prefix(2), radix: 8, count: 3), value != 0, value <= 255 else {
                return nil
            }
            return ([UInt8(value)], 3)
        default:
            return nil
        }
    }

    private static func number(_ digits: some Collection<UInt8>, radix: UInt32, count: Int) -> UInt32? {
        guard digits.count == count else { return nil }
        var value: UInt32 = 0
        for d in digits {
            guard let digit = Character(Unicode.Scalar(d)).hexDigitValue, UInt32(digit) < radix else { return nil }
            value = value * radix + UInt32(digit)
        }
        return value
    }
}
