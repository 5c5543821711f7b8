/// A JSON value and its text (RFC 8259), written by hand: Foundation's JSONSerialization
/// would pull Foundation and ICU into swatchctl (docs/HACKING.md "Footprint and start-up").
/// Objects print with their keys sorted, so scripts and diffs see a stable text; `/` is not
/// escaped; non-ASCII text is written as UTF-8, control characters as escapes.
enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    /// Indented by two spaces per level, `"key" : value` (JSONSerialization's
    /// `.prettyPrinted` shape, which swatchctl printed before).
    var pretty: String {
        var text = ""
        write(to: &text, indent: 0, pretty: true)
        return text
    }

    /// On one line, no spaces (`logs --json`, like `journalctl -o json`).
    var compact: String {
        var text = ""
        write(to: &text, indent: 0, pretty: false)
        return text
    }

    private func write(to text: inout String, indent: Int, pretty: Bool) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .int(let value): text += String(value)
        case .string(let value): JSON.quote(value, into: &text)
        case .array(let elements):
            guard !elements.isEmpty else { text += "[]"; return }
            text += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                if pretty { JSON.newline(indent + 1, into: &text) }
                element.write(to: &text, indent: indent + 1, pretty: pretty)
            }
            if pretty { JSON.newline(indent, into: &text) }
            text += "]"
        case .object(let members):
            guard !members.isEmpty else { text += "{}"; return }
            text += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                if pretty { JSON.newline(indent + 1, into: &text) }
                JSON.quote(key, into: &text)
                text += pretty ? " : " : ":"
                members[key]!.write(to: &text, indent: indent + 1, pretty: pretty)
            }
            if pretty { JSON.newline(indent, into: &text) }
            text += "}"
        }
    }

    private static func newline(_ level: Int, into text: inout String) {
        text += "\n"
        text += String(repeating: "  ", count: level)
    }

    /// A JSON string: `"` and `\` escaped, the C0 controls as `\n`-style or `\u00XX` escapes.
    static func quote(_ value: String, into text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(nilLiteral: ()) { self = .null }
    init(dictionaryLiteral members: (String, JSON)...) {
        self = .object(Dictionary(members, uniquingKeysWith: { _, last in last }))
    }

    init(_ strings: [String]) { self = .array(strings.map(JSON.string)) }
}
