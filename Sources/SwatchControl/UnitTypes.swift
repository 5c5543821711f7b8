/// systemd's unit types (systemd.unit(5)), by the suffix of a unit's name. swatchd loads
/// services and sockets; a name of another type is one it knows and does not run, which a
/// dependency may name (targets and mounts count as reached) and swatchctl keeps as written.
package enum UnitTypes {
    private static let names: [StaticString] = ["service", "socket", "target", "device", "mount", "automount", "swap",
                                                "timer", "path", "slice", "scope"]

    /// The type of `name` (`timer` of `tick.timer`); nil when its suffix names none.
    package static func type(of name: String) -> Substring? {
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")), dot != name.startIndex else { return nil }
        let type = name[name.utf8.index(after: dot)...]
        var suffix = type
        return suffix.withUTF8(isType) ? type : nil
    }

    /// Whether `suffix`, the bytes after a name's last dot, names a type: compared in place
    /// with the literals' bytes, as names are read at load (`UnitName(parsing:)`).
    package static func isType(_ suffix: UnsafeBufferPointer<UInt8>) -> Bool {
        names.contains { suffix.elementsEqual(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) }
    }
}
