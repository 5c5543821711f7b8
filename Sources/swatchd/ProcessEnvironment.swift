import Glibc

/// swatchd's own environment, read once at start (`environ`), without Foundation.
enum ProcessEnvironment {
    static func current() -> [String: String] {
        var count = 0
        while environ[count] != nil { count += 1 }
        var result: [String: String] = [:]
        result.reserveCapacity(count)
        // Split on the bytes of each entry: going through a String of the whole entry and its
        // Character indices cost ~4,500 instructions a variable at start-up.
        for entry in UnsafeBufferPointer(start: environ, count: count) {
            let bytes = UnsafeRawBufferPointer(start: entry, count: strlen(entry!))
            guard let eq = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            result[String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<eq]), as: UTF8.self)]
                = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(eq + 1)...]), as: UTF8.self)
        }
        return result
    }
}
