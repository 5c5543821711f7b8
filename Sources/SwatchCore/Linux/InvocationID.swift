import CSwatch
import Glibc

/// systemd's INVOCATION_ID (systemd.exec(5)): 128 random bits in hex, one per start.
enum InvocationID {
    static func random() -> String {
        // One getrandom(2) of 16 bytes (the C function is swatch_random_bytes): an Accept=yes
        // connection is one start.
        var bits = (UInt64(0), UInt64(0))
        if withUnsafeMutableBytes(of: &bits, { swatch_random_bytes($0.baseAddress!, $0.count) }) != 0 {
            var generator = SystemRandomNumberGenerator()
            bits = (generator.next(), generator.next())
        }
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 32) { text in
            withUnsafeBytes(of: &bits) { raw in
                for (index, byte) in raw.enumerated() {
                    text[2 * index] = digits.utf8Start[Int(byte >> 4)]
                    text[2 * index + 1] = digits.utf8Start[Int(byte & 0xf)]
                }
            }
            return 32
        }
    }

    /// The 16 bytes an ID's 32 hex digits stand for; empty for anything else (no ID).
    static func bytes(of id: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        for character in id.utf8 {
            let digit: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = character - UInt8(ascii: "a") + 10
            default: return []
            }
            if let first = high { bytes.append(first << 4 | digit); high = nil } else { high = digit }
        }
        return bytes.count == 16 && high == nil ? bytes : []
    }
}
