// Unit names per systemd.unit(5) and src/basic/unit-name.c: `prefix[@instance].type`,
// at most 255 bytes of `[A-Za-z0-9:_.\-]` plus one `@`; escaping maps `/` to `-`
// and any other byte outside the set to `\xHH`.

extension UnitName {
    /// Parses a full unit name (`hello.service`, `echo@.service`, `echo@1.service`); nil when invalid
    /// or of a type swatchd does not run.
    package init?(parsing text: String) {
        guard text.utf8.count <= 255, let dot = text.lastIndex(of: "."),
              let type = UnitType(rawValue: String(text[text.index(after: dot)...])) else { return nil }
        let stem = text[..<dot]
        var prefix = stem
        var instance: String?
        if let at = stem.firstIndex(of: "@") {
            prefix = stem[..<at]
            let rest = stem[stem.index(after: at)...]
            guard !rest.contains("@") else { return nil }
            instance = String(rest)
        }
        guard !prefix.isEmpty, prefix.unicodeScalars.allSatisfy(Self.isValidScalar),
              instance?.unicodeScalars.allSatisfy(Self.isValidScalar) ?? true else { return nil }
        self.init(prefix: String(prefix), instance: instance, type: type)
    }

    /// `[A-Za-z0-9:\-_.\\]`, by value: Unicode property lookups (isAlphabetic) per character
    /// were a visible part of every Accept=yes connection (an instance name is parsed).
    private static func isValidScalar(_ s: Unicode.Scalar) -> Bool {
        s.isASCII && (isPlainByte(UInt8(s.value)) || s == "\\")
    }

    /// `[A-Za-z0-9:\-_.]`: the bytes a unit name holds as they are (VALID_CHARS,
    /// src/basic/unit-name.c); `\` only starts an escape.
    package static func isPlainByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// The template this unit is an instance of (`echo@1.service` → `echo@.service`); nil for a plain unit.
    package var template: UnitName? {
        guard instance != nil else { return nil }
        return UnitName(prefix: prefix, instance: "", type: type)
    }

    /// The same prefix and instance with another type (`hello.socket` → `hello.service`).
    package func with(type: UnitType) -> UnitName {
        UnitName(prefix: prefix, instance: instance, type: type)
    }

    /// unit_name_escape(): turns any string into text valid as a prefix or instance
    /// (`/` → `-`; `-`, `\`, a leading `.` and bytes outside the valid set → `\xHH`).
    package static func escape(_ text: String) -> String {
        var out = ""
        for (index, byte) in text.utf8.enumerated() {
            let s = Unicode.Scalar(byte)
            if byte == UInt8(ascii: "/") {
                out += "-"
            } else if isPlainByte(byte) && byte != UInt8(ascii: "-") && (byte != UInt8(ascii: ".") || index > 0) {
                out.unicodeScalars.append(s)
            } else {
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// unit_name_unescape(): `-` → `/`, `\xHH` → the byte; nil on a malformed escape.
    package static func unescape(_ text: String) -> String? {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "-"):
                out.append(UInt8(ascii: "/"))
                i += 1
            case UInt8(ascii: "\\"):
                guard i + 3 < bytes.count, bytes[i + 1] == UInt8(ascii: "x"),
                      let high = Character(Unicode.Scalar(bytes[i + 2])).hexDigitValue,
                      let low = Character(Unicode.Scalar(bytes[i + 3])).hexDigitValue else {
                    return nil
                }
                out.append(UInt8(high << 4 | low))
                i += 4
            default:
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
