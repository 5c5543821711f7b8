/// systemd's unit types (systemd.unit(5)), by the suffix of a unit's name. swatchd loads
/// services and sockets; a name of another type is one it knows and does not run, which a
/// dependency may name (targets and mounts count as reached) and swatchctl keeps as written.
package enum UnitTypes {
    package static let all: Set<Substring> = ["service", "socket", "target", "device", "mount", "automount", "swap",
                                              "timer", "path", "slice", "scope"]

    /// The type of `name` (`timer` of `tick.timer`); nil when its suffix names none.
    package static func type(of name: String) -> Substring? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let type = name[name.index(after: dot)...]
        return all.contains(type) ? type : nil
    }
}
