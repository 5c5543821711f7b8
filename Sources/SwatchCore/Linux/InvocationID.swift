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
}
