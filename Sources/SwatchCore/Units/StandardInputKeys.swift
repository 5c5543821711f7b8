// StandardInput=, StandardInputText=, StandardInputData= and TTYPath= (systemd.exec(5),
// "LOGGING AND STANDARD INPUT/OUTPUT"), read as src/core/load-fragment.c reads them.

extension ValueKind where T == InputSource {
    /// `null`, `tty`, `tty-force`, `tty-fail`, `data`, `file:PATH`, `socket`, `fd:NAME` (`fd`
    /// alone: the name `stdin`).
    static let inputSource = ValueKind { (kv: KeyValue) throws(ValueError) -> InputSource in
        let value = try kv.expanded()
        let named: [String: InputSource] = [
            "null": .null, "socket": .socket, "data": .data,
            "tty": .tty(.wait), "tty-force": .tty(.force), "tty-fail": .tty(.fail),
        ]
        if let source = named[value] { return source }
        if value.hasPrefix("file:") {
            let path = String(value.dropFirst("file:".count))
            guard ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
            return .file(path)
        }
        if let name = try ValueParser.namedDescriptor(value, default: "stdin", kv) { return .fd(name) }
        throw kv.invalid("standard input", value)
    }
}

extension ValueKind where T == String {
    /// One absolute path, specifiers expanded.
    static let absolutePath = ValueKind { (kv: KeyValue) throws(ValueError) -> String in
        let path = try kv.expanded()
        guard ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
        return path
    }
}

enum StandardInputKeys {
    /// systemd's EXEC_STDIN_DATA_MAX (src/core/execute.h): what fd 0 may hold in all.
    static let limit = 64 * 1024 * 1024

    /// StandardInputText=: one line, C escapes and specifiers resolved, a newline added; the
    /// lines of several assignments follow each other; empty resets.
    static let text = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else { return service.standardInputData.removeAll() }
        try append(Array(try kv.unescaped().utf8) + [UInt8(ascii: "\n")], to: &service, kv)
    }

    /// StandardInputData=: base64 (whitespace ignored, RFC 4648), decoded and appended; empty resets.
    static let data = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else { return service.standardInputData.removeAll() }
        guard let bytes = ValueParser.base64(kv.raw) else { throw kv.invalid("base64 data") }
        try append(bytes, to: &service, kv)
    }

    private static func append(_ bytes: [UInt8], to service: inout ServiceUnit, _ kv: KeyValue) throws(ValueError) {
        guard service.standardInputData.count + bytes.count <= limit else {
            throw kv.problem("Standard input data too large (more than \(limit) bytes)", "")
        }
        service.standardInputData += bytes
    }
}

extension ValueParser {
    /// `fd` or `fd:NAME` of StandardInput=/StandardOutput=/StandardError=: the name (`fd` alone
    /// names `default`); nil when the value is no such form. A name is what FileDescriptorName=
    /// accepts (fdname_is_valid(), src/basic/fd-util.c): at most 255 printable ASCII
    /// characters, no `:`.
    static func namedDescriptor(_ value: String, default name: String, _ kv: KeyValue) throws(ValueError) -> String? {
        if value == "fd" { return name }
        guard value.hasPrefix("fd:") else { return nil }
        let given = String(value.dropFirst(3))
        guard !given.isEmpty, given.utf8.count <= 255, given.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") })
        else { throw kv.invalid("file descriptor name", given) }
        return given
    }

    /// RFC 4648 base64 with `=` padding; whitespace anywhere is skipped, as systemd's
    /// unbase64mem() skips it. nil on any other character or a bad length.
    static func base64(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for c in text.utf8 {
            let value: UInt32
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "="):
                padding += 1
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            guard padding == 0 else { return nil }   // data after the padding
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // What is left must be padding bits only: 0, 2 (one `=`) or 4 (two `=`).
        guard bits == 0 && padding == 0 || bits == 4 && padding <= 2 || bits == 2 && padding <= 1,
              accumulator == 0 else { return nil }
        return bytes
    }
}
