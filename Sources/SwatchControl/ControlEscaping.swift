// The escaping of the control protocol (swatchctl(1): plain text in sd_notify's
// spirit). Two places need it:
// - request words: unit names and paths may hold spaces, so a word is escaped
//   C-style (`\x20`, `\n`, `\\`, `\"`), as systemd's cescape() does for names in
//   its own text interfaces, and the empty word is written `""`;
// - answer values: one `KEY=VALUE` per line, so only a newline (`\n`), a carriage
//   return (`\r`) and the backslash (`\\`) are escaped; `=` needs nothing since
//   a line splits at its first `=`.

/// C-style escaping and unescaping for the control protocol's words and values.
package enum ControlEscaping {
    /// The error of `unescape`: a backslash not followed by a known escape, or bytes that are not UTF-8.
    package struct InvalidEscape: Error, Equatable, CustomStringConvertible {
        package var text: String
        package var description: String { "Invalid escape sequence in '\(text)'" }
    }

    /// Escapes one request word so it holds no space, tab, newline or quote.
    package static func escapeWord(_ word: String) -> String {
        if word.isEmpty { return "\"\"" }
        return escape(word.utf8, nonASCII: false)
    }

    /// Escapes any bytes as one word — what a service's output pipe held, say, which need not
    /// be UTF-8: then every byte above 0x7F is written `\xHH` too. `unescapeWordBytes` undoes it.
    package static func escapeWord(bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "\"\"" }
        return escape(bytes, nonASCII: String(validating: bytes, as: UTF8.self) == nil)
    }

    private static func escape(_ bytes: some Sequence<UInt8>, nonASCII: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case UInt8(ascii: "\""): out += [0x5C, UInt8(ascii: "\"")]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x20, 0x00..<0x20, 0x7F: out += hexEscape(byte)
            case 0x80... where nonASCII: out += hexEscape(byte)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes an answer value so it fits on one line.
    package static func escapeValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D }) else { return value }
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 8)
        for byte in value.utf8 {
            switch byte {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Undoes `escapeWord`: `\\ \" \n \t \r \xHH`, and `""` as the empty word.
    package static func unescapeWord(_ text: String) throws(InvalidEscape) -> String {
        if text == "\"\"" { return "" }
        return try unescapeValue(text)
    }

    /// Undoes `escapeValue` (and accepts every escape `escapeWord` writes).
    package static func unescapeValue(_ text: String) throws(InvalidEscape) -> String {
        guard text.utf8.contains(0x5C) else { return text }
        guard let decoded = String(validating: try unescapedBytes(text), as: UTF8.self) else { throw InvalidEscape(text: text) }
        return decoded
    }

    /// Undoes `escapeWord(bytes:)`: the bytes, UTF-8 or not.
    package static func unescapeWordBytes(_ text: String) throws(InvalidEscape) -> [UInt8] {
        text == "\"\"" ? [] : try unescapedBytes(text)
    }

    private static func unescapedBytes(_ text: String) throws(InvalidEscape) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == 0x5C else {
                out.append(byte)
                continue
            }
            switch bytes.next() {
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "x"):
                guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                    throw InvalidEscape(text: text)
                }
                out.append(high << 4 | low)
            default:
                throw InvalidEscape(text: text)
            }
        }
        return out
    }

    private static func hexEscape(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [0x5C, UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
