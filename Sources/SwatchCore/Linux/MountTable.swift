/// The mount points of swatchd's mount namespace, which a service's new
/// namespace starts as a copy of: the read-only remounts of ProtectSystem= and
/// ReadOnlyPaths= must reach every mount below their path, and a bind remount
/// changes one mount only. Read in the parent (the child may not parse files).
package enum MountTable {
    /// The mount points of /proc/self/mountinfo, in its order. Unreadable (or
    /// empty), it fails the start of `directive`: a read-only path would
    /// otherwise stay writable below each mount it holds.
    package static func read(path: String = "/proc/self/mountinfo", directive: String) throws(SandboxError) -> [String] {
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw .machineUnreadable(directive: directive, path: path, reason: "\(error)")
        }
        let points = mountPoints(mountinfo: text)
        guard !points.isEmpty else { throw .machineUnreadable(directive: directive, path: path, reason: "no mount points") }
        return points
    }

    /// The mount points of /proc/self/mountinfo, in its order; empty when unreadable.
    package static func current() -> [String] {
        guard let text = try? FileSystem.readText("/proc/self/mountinfo") else { return [] }
        return mountPoints(mountinfo: text)
    }

    /// The fifth field of each line of a mountinfo text (proc(5)), with the
    /// octal escapes of space, tab, newline and backslash (`\040`) decoded.
    package static func mountPoints(mountinfo: String) -> [String] {
        mountinfo.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            return unescape(fields[4])
        }
    }

    /// `\NNN` octal escapes back to their bytes.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count {
                let digits = utf8[(index + 1)...(index + 3)]
                if digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                    if value <= 255 {
                        bytes.append(UInt8(value))
                        index += 4
                        continue
                    }
                }
            }
            bytes.append(utf8[index])
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
