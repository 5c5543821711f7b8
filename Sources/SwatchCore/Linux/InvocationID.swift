/// systemd's INVOCATION_ID (systemd.exec(5)): 128 random bits in hex, one per start.
enum InvocationID {
    static func random() -> String {
        var g = SystemRandomNumberGenerator()
        let bits = [g.next(), g.next()]  // two getrandom(2) calls, not 32
        let hex = Array("0123456789abcdef")
        return String((0..<32).map { i in hex[Int((bits[i / 16] >> (UInt64(i % 16) * 4)) & 0xf)] })
    }
}
