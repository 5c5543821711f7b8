// EnvironmentFile= contents, read at spawn time with the rules of systemd's
// parse_env_file_internal() (src/basic/env-file.c): `KEY=VALUE` lines, `#`/`;`
// comment lines, whitespace around key and value dropped, `'…'` literal,
// `"…"` with `\` escaping only `"` `\` `` ` `` `$` (and a newline), a backslash
// outside quotes escaping the next character, backslash-newline continuing.

/// The parser of environment files.
package enum EnvironmentFileParser {
    private enum State {
        case preKey, key, preValue, value, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape, comment
    }

    /// The assignments of `text`, in order; a later one of a name wins when they are
    /// applied. Lines whose key is not a valid variable name are skipped, as systemd does.
    package static func parse(_ text: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var state = State.preKey
        var key: [UInt8] = [], value: [UInt8] = []
        // Where trailing whitespace of the key / of an unquoted value starts.
        var keyWhitespace: Int?, valueWhitespace: Int?

        func push(trimValue: Bool) {
            if let k = keyWhitespace { key.removeSubrange(k...) }
            if trimValue, let v = valueWhitespace { value.removeSubrange(v...) }
            let name = String(decoding: key, as: UTF8.self)
            if ValueParser.isEnvironmentName(name) { pairs.append((name, String(decoding: value, as: UTF8.self))) }
            key = []
            value = []
            keyWhitespace = nil
            valueWhitespace = nil
        }

        let isNewline = { (c: UInt8) in c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") }
        for c in text.utf8 {
            switch state {
            case .preKey:
                if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                    state = .comment
                } else if !UnitFileLexer.isWhitespace(c) {
                    state = .key
                    key = [c]
                    keyWhitespace = nil
                }
            case .key:
                if isNewline(c) {
                    state = .preKey   // a key without `=`: ignored
                    key = []
                } else if c == UInt8(ascii: "=") {
                    state = .preValue
                    valueWhitespace = nil
                } else {
                    if !UnitFileLexer.isWhitespace(c) { keyWhitespace = nil } else if keyWhitespace == nil { keyWhitespace = key.count }
                    key.append(c)
                }
            case .preValue:
                if isNewline(c) {
                    state = .preKey
                    push(trimValue: false)
                } else if c == UInt8(ascii: "'") {
                    state = .singleQuote
                } else if c == UInt8(ascii: "\"") {
                    state = .doubleQuote
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                } else if !UnitFileLexer.isWhitespace(c) {
                    state = .value
                    value.append(c)
                }
            case .value:
                if isNewline(c) {
                    state = .preKey
                    push(trimValue: true)
                } else if c == UInt8(ascii: "\\") {
                    state = .valueEscape
                    valueWhitespace = nil
                } else {
                    if !UnitFileLexer.isWhitespace(c) { valueWhitespace = nil } else if valueWhitespace == nil { valueWhitespace = value.count }
                    value.append(c)
                }
            case .valueEscape:
                state = .value
                if !isNewline(c) { value.append(c) }   // an escaped newline is eaten
            case .singleQuote:
                if c == UInt8(ascii: "'") { state = .preValue } else { value.append(c) }
            case .doubleQuote:
                if c == UInt8(ascii: "\"") {
                    state = .preValue
                } else if c == UInt8(ascii: "\\") {
                    state = .doubleQuoteEscape
                } else {
                    value.append(c)
                }
            case .doubleQuoteEscape:
                state = .doubleQuote
                if "\"\\`$".utf8.contains(c) {
                    value.append(c)
                } else if c != UInt8(ascii: "\n") {
                    value += [UInt8(ascii: "\\"), c]   // kept, as a shell keeps it
                }
            case .comment:
                if isNewline(c) { state = .preKey }
            }
        }
        switch state {
        case .preValue, .valueEscape, .singleQuote, .doubleQuote, .doubleQuoteEscape: push(trimValue: false)
        case .value: push(trimValue: true)
        case .preKey, .key, .comment: break
        }
        return pairs
    }
}
