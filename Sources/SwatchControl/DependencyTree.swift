// `swatchctl list-dependencies UNIT`: the tree systemctl prints
// (src/systemctl/systemctl-list-dependencies.c): the unit's name, then one line
// per dependency with the glyph of its active state, `├─`/`└─` branches and
// `│ ` for the levels still open; siblings sorted by name, case-insensitively.
// A unit already on the path from the root (a cycle) is shown as `...` and not
// followed. Unlike systemctl, which follows only targets without --all, every
// unit is followed: swatchd has no targets.

package enum DependencyTree {
    /// One line of the tree, before colouring.
    package struct Line: Equatable, Sendable {
        /// nil for the root line and for `...`.
        package var state: UnitActiveState?
        /// The branches before the name (`│ ├─`).
        package var prefix: String
        package var name: String
    }

    /// The tree of `root`. `lookup` gives a unit's report (from `show`); nil for a unit swatchd
    /// does not know, shown `inactive` with nothing below, as systemctl shows a unit not found.
    package static func lines(of root: String, lookup: (String) -> UnitStatusReport?) -> [Line] {
        var out = [Line(state: nil, prefix: "", name: root)]
        var path: [String] = []
        func walk(_ name: String, level: Int, branches: [Bool]) {
            path.append(name)
            defer { path.removeLast() }
            let children = (lookup(name)?.listedDependencies ?? []).sorted { a, b in
                let (x, y) = (a.lowercased(), b.lowercased())
                return x == y ? a < b : x < y
            }
            for (index, child) in children.enumerated() {
                let last = index == children.count - 1
                let open = branches.map { $0 ? "│ " : "  " }.joined()
                if path.contains(child) {
                    // systemctl: two spaces for the glyph, one more level, always the last branch.
                    out.append(Line(state: nil, prefix: open + (last ? "  " : "│ ") + "└─", name: "..."))
                    continue
                }
                let state = lookup(child)?.activeState ?? .inactive
                out.append(Line(state: state, prefix: open + (last ? "└─" : "├─"), name: child))
                walk(child, level: level + 1, branches: branches + [!last])
            }
        }
        walk(root, level: 0, branches: [])
        return out
    }

    /// The text of one line: `● ├─name`, `  name` for the root (systemctl prints it bare).
    /// `color` wraps the glyph (green active, red failed, as systemctl); `width` ellipsizes to
    /// the terminal (nil: never, as with --full).
    package static func render(_ line: Line, color: (String, UnitActiveState) -> String = { s, _ in s },
                               width: Int? = nil) -> String {
        let head: String
        if let state = line.state {
            head = color(state.glyph, state) + " " + line.prefix
        } else if line.prefix.isEmpty {
            return line.name
        } else {
            head = "  " + line.prefix
        }
        var name = line.name
        let used = 2 + line.prefix.count
        if let width, used + name.count > width {
            let room = max(width - used - 1, 0)
            name = String(name.prefix(room)) + "…"
        }
        return head + name
    }
}
