// The ini dialect of systemd.syntax(7), read as systemd's conf-parser does
// (src/shared/conf-parser.c, config_parse() and parse_line()): whole-line
// comments are dropped even inside a continuation, a trailing unescaped
// backslash joins the next line (the backslash becomes a space), and a joined
// line is reported at its last physical line, as systemd reports it.

/// One `Key=Value` line of a unit file, continuation lines joined, whitespace
/// around `=` and at both ends removed; the value is still raw (no unquoting,
/// no specifiers): each key decides what its value means.
package struct UnitFileAssignment: Hashable, Sendable {
    package var section: String
    package var key: String
    package var value: String
    package var location: SourceLocation
}

/// One logical line that matters: a section header or an assignment.
package enum UnitFileEntry: Hashable, Sendable {
    case section(String, SourceLocation)
    case assignment(UnitFileAssignment)
}

/// A unit file (or drop-in) split into entries, with the problems of its syntax.
package struct UnitFile: Hashable, Sendable {
    /// The path as it was given; diagnostics name it.
    package var path: SourcePath
    package var entries: [UnitFileEntry]
    package var diagnostics: [Diagnostic]

    /// Lexes `bytes`; `unit` is the unit full name each diagnostic carries.
    package init(path: SourcePath, bytes: some Collection<UInt8>, unit: String) {
        var lexer = UnitFileLexer(path: path, unit: unit)
        lexer.lex(Array(bytes))
        self.path = path
        self.entries = lexer.entries
        self.diagnostics = lexer.diagnostics
    }

    package init(path: SourcePath, text: String, unit: String) {
        self.init(path: path, bytes: text.utf8, unit: unit)
    }

    /// Where the first `[name]` header is, for problems of a whole section.
    func headerLocation(of name: String) -> SourceLocation? {
        for case .section(name, let location) in entries { return location }
        return nil
    }
}

/// Bytes → logical lines → entries. Works on bytes so that invalid UTF-8, NULs
/// and odd line ends are handled per line, as systemd's read_line() does.
struct UnitFileLexer {
    let path: SourcePath
    let unit: String
    var entries: [UnitFileEntry] = []
    var diagnostics: [Diagnostic] = []
    /// nil before the first header; "" after a header that could not be read.
    private var section: String?

    init(path: SourcePath, unit: String) {
        self.path = path
        self.unit = unit
    }

    /// The bytes are read through an UnsafeBufferPointer: under `-Osize` an ArraySlice's
    /// subscript, `contains` and `allSatisfy` stay calls, ~60 instructions a byte, where a
    /// buffer's element is one load (docs/HACKING.md "Start-up with 1000 units").
    mutating func lex(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { lex($0) }
    }

    private mutating func lex(_ bytes: UnsafeBufferPointer<UInt8>) {
        var continuation: [UInt8]?
        var lineNumber = 0
        var body = bytes
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = UnsafeBufferPointer(rebasing: body[3...]) }   // UTF-8 BOM
        Self.forEachPhysicalLine(body) { raw in
            lineNumber += 1
            var first = raw.startIndex
            while first < raw.endIndex, Self.isWhitespace(raw[first]) { first += 1 }
            // A comment line is skipped even in the middle of a continuation (systemd.syntax(7)).
            if first < raw.endIndex, raw[first] == UInt8(ascii: "#") || raw[first] == UInt8(ascii: ";") { return }
            // Most lines stand alone: parsed where they are, without a copy.
            if continuation == nil, !Self.endsInUnescapedBackslash(raw) {
                parseLine(raw, line: lineNumber)
                return
            }
            var logical = (continuation ?? []) + raw
            if logical.withUnsafeBufferPointer(Self.endsInUnescapedBackslash) {
                logical[logical.count - 1] = UInt8(ascii: " ")
                continuation = logical
                return
            }
            continuation = nil
            logical.withUnsafeBufferPointer { parseLine($0, line: lineNumber) }
        }
        if let continuation {
            continuation.withUnsafeBufferPointer { parseLine($0, line: max(lineNumber, 1)) }
        }
    }

    /// Each line, split on `\n`, `\r\n` and `\r` as read_line() does (a NUL refuses its line:
    /// parseLine), handed over as it is found: no array of the lines.
    private static func forEachPhysicalLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var start = 0
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                body(UnsafeBufferPointer(rebasing: bytes[start..<i]))
                if c == UInt8(ascii: "\r"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < bytes.count { body(UnsafeBufferPointer(rebasing: bytes[start...])) }
    }

    /// True when the line ends in a backslash that is not itself escaped (`\\` at the end is a
    /// literal): an odd run of backslashes at its end. Only that run counts (a backslash before
    /// it escapes the byte after it), so a line is read from its end, and most not at all.
    private static func endsInUnescapedBackslash(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: "\\") { end -= 1 }
        return (line.count - end) % 2 == 1
    }

    static func isWhitespace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    /// By byte, as conf-parser's parse_line() reads a line (strstrip(), `*l == '['`, strchr(l,
    /// '=')): splitting the line as Characters (grapheme breaking) was most of a unit file's
    /// lexing (docs/HACKING.md "Footprint and start-up"). The key and the value are cut at
    /// ASCII bytes of a line that is valid UTF-8 as a whole, so each is valid too.
    private mutating func parseLine(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) {
        let stripped = Self.trimmed(bytes)
        guard !stripped.isEmpty else { return }
        let location = SourceLocation(file: path, line: line)
        // A NUL would cut the value short where systemd's reader refuses the file: never guess.
        var ascii = true, nul = false
        for byte in stripped {
            ascii = ascii && byte < 0x80
            nul = nul || byte == 0
        }
        guard !nul else {
            error(location, "Line contains a NUL byte, refusing the unit.")
            return
        }
        // ASCII (nearly every line) is valid UTF-8 as it is: the String of the whole line is
        // only made for a message about a header.
        guard ascii || String(validating: stripped, as: UTF8.self) != nil else {
            // Ignoring the line would drop what its key asks for: a restricting key
            // (RestrictingKeys) refuses the unit instead (swatchd.service(5), "WHAT
            // HAPPENS TO A PROBLEM": never less isolation than the unit asks for).
            if let section, let key = Self.key(of: Array(stripped)), RestrictingKeys.byName[key] != nil,
               section == "Service" || section == "Socket" {
                error(location, "Line is not valid UTF-8 and sets \(key)=, which restricts the service; refusing the unit.")
            } else {
                warn(location, "Line is not valid UTF-8, ignoring.")
            }
            return
        }
        if stripped[0] == UInt8(ascii: "[") {
            let text = { String(decoding: stripped, as: UTF8.self) }
            guard stripped.count >= 2, stripped[stripped.count - 1] == UInt8(ascii: "]") else {
                error(location, "Invalid section header, refusing the unit: \(text())")
                section = ""
                return
            }
            let name = String(decoding: UnsafeBufferPointer(rebasing: stripped[1..<(stripped.count - 1)]), as: UTF8.self)
            guard name.unicodeScalars.allSatisfy(Self.isSafeInHeader) else {
                error(location, "Bad characters in section header, refusing the unit: \(text())")
                section = ""
                return
            }
            section = name
            entries.append(.section(name, location))
            return
        }
        guard let section else {
            warn(location, "Assignment outside of section, ignoring.")
            return
        }
        var equals = 0
        while equals < stripped.count, stripped[equals] != UInt8(ascii: "=") { equals += 1 }
        guard equals < stripped.count else {
            warn(location, "Missing '=', ignoring line.")
            return
        }
        guard equals != 0 else {
            warn(location, "Missing key name before '=', ignoring line.")
            return
        }
        guard !section.isEmpty else { return }   // under a broken header: already refused
        let key = String(decoding: Self.trimmed(UnsafeBufferPointer(rebasing: stripped[..<equals])), as: UTF8.self)
        let value = String(decoding: Self.trimmed(UnsafeBufferPointer(rebasing: stripped[(equals + 1)...])), as: UTF8.self)
        entries.append(.assignment(UnitFileAssignment(section: section, key: key, value: value, location: location)))
    }

    /// Without leading and trailing whitespace (systemd's WHITESPACE, by byte).
    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lower = 0, upper = bytes.count
        while lower < upper, isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isWhitespace(bytes[upper - 1]) { upper -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[lower..<upper])
    }

    /// The key of an assignment line whose value may be anything: the bytes before
    /// the first `=`, trimmed, when they are valid UTF-8.
    private static func key(of line: [UInt8]) -> String? {
        guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let key = line[..<equals].drop(while: isWhitespace).reversed().drop(while: isWhitespace).reversed()
        return String(validating: Array(key), as: UTF8.self)
    }

    /// string_is_safe(): no control characters, quotes or backslashes.
    private static func isSafeInHeader(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x20 && s.value != 0x7F && s != "\"" && s != "'" && s != "\\"
    }

    private mutating func warn(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.warning, location, message, unit: unit))
    }

    private mutating func error(_ location: SourceLocation, _ message: String) {
        diagnostics.append(Diagnostic(.error, location, message, unit: unit))
    }
}
