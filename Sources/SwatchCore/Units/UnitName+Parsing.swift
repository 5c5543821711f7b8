// Unit names per systemd.unit(5) and src/basic/unit-name.c: `prefix[@instance].type`,
// at most 255 bytes of `[A-Za-z0-9:_.\-]` plus one `@`; escaping maps `/` to `-`
// and any other byte outside the set to `\xHH`.

extension UnitName {
    /// Parses a full unit name (`hello.service`, `echo@.service`, `echo@1.service`); nil when invalid
    /// or of a type swatchd does not run.
    package init?(parsing text: String) {
        // By byte, on the string's own storage: a valid name is ASCII (every byte is checked
        // below), so its bytes are its characters; splitting it by Character (grapheme
        // breaking), then String.UTF8View's index steps, were most of a unit load's name
        // handling (docs/HACKING.md "Footprint and start-up"). A valid name is kept as written.
        var text = text
        let valid = text.withUTF8 { bytes -> Bool in
            guard bytes.count <= 255, let dot = bytes.lastIndex(of: UInt8(ascii: ".")) else { return false }
            // Against the literals' own bytes: a `rawValue.utf8` is a String made and stepped
            // through for each comparison (~300 instructions a name).
            let suffix = UnsafeBufferPointer(rebasing: bytes[(dot + 1)...])
            func isType(_ type: StaticString) -> Bool {
                suffix.elementsEqual(UnsafeBufferPointer(start: type.utf8Start, count: type.utf8CodeUnitCount))
            }
            guard isType("service") || isType("socket") else { return false }
            return Self.isValidStem(UnsafeBufferPointer(rebasing: bytes[..<dot]))
        }
        guard valid else { return nil }
        self.init(validated: text)
    }

    /// What comes before a name's type, `prefix[@instance]`: plain bytes and escapes, one
    /// `@` at most, a prefix of at least one byte (unit_name_is_valid(), src/basic/unit-name.c).
    package static func isValidStem(_ stem: UnsafeBufferPointer<UInt8>) -> Bool {
        var at: Int?
        for index in stem.indices {
            let byte = stem[index]
            if byte == UInt8(ascii: "@") {
                guard at == nil else { return false }   // one `@` at most
                at = index
            } else if !isPlainByte(byte) && byte != UInt8(ascii: "\\") {
                return false
            }
        }
        return (at ?? stem.endIndex) > stem.startIndex
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

extension Sequence<UnitName> {
    /// `sorted()`, sorting indices by the names' descriptions: the sort moves integers, where
    /// `sorted()` moved names in and out per comparison (18 M instructions for one sort of
    /// 1000 names when a name was several strings, in `valgrind --tool=callgrind`;
    /// docs/HACKING.md "Footprint and start-up"). `UnitName.<` is the order of the
    /// descriptions, so the order is the same.
    func sortedByName() -> [UnitName] {
        let names = Array(self)
        let keys = names.map(\.description)
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { names[$0] }
    }
}
