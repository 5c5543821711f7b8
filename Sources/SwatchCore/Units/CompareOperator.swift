import Glibc

/// The comparisons of ConditionKernelVersion=, ConditionOSRelease=, ConditionMemory= and
/// ConditionCPUs= (systemd.unit(5)), as systemd's src/basic/compare-operator.c parses
/// and applies them.
package enum CompareOperator: Hashable, Sendable {
    case lower, lowerOrEqual, equal, unequal, greaterOrEqual, greater
    /// `=`/`!=` where values compare as strings (versions and os-release values).
    case stringEqual, stringUnequal
    /// `$=`/`!$=`: a shell-style glob.
    case globEqual, globUnequal

    /// Takes the operator off the front of `text`, or nil when none is there.
    /// `byString`: `=` and `!=` compare strings (else numbers); `glob`: `$=` and `!$=` are allowed.
    /// Longer spellings are tried first, as parse_compare_operator()'s table orders them.
    package static func take(from text: inout Substring, byString: Bool, glob: Bool) -> CompareOperator? {
        let table: [(String, CompareOperator)] = [
            ("$=", .globEqual), ("!$=", .globUnequal), ("<>", .unequal), ("<=", .lowerOrEqual),
            (">=", .greaterOrEqual), ("<", .lower), (">", .greater), ("==", .equal),
            ("=", byString ? .stringEqual : .equal), ("!=", byString ? .stringUnequal : .unequal),
        ]
        for (spelling, op) in table where text.hasPrefix(spelling) {
            if !glob, op == .globEqual || op == .globUnequal { return nil }
            text = text.dropFirst(spelling.count)
            return op
        }
        return nil
    }

    /// Whether an order (`actual` against the expected value: < 0, 0, > 0) satisfies the operator.
    package func holds(order: Int) -> Bool {
        switch self {
        case .lower: return order < 0
        case .lowerOrEqual: return order <= 0
        case .equal, .stringEqual, .globEqual: return order == 0
        case .unequal, .stringUnequal, .globUnequal: return order != 0
        case .greaterOrEqual: return order >= 0
        case .greater: return order > 0
        }
    }

    /// version_or_fnmatch_compare(): `actual` against `expected` as strings, globs or versions.
    package func holds(_ actual: String, _ expected: String) -> Bool {
        switch self {
        case .stringEqual: return actual == expected
        case .stringUnequal: return actual != expected
        case .globEqual: return fnmatch(expected, actual, 0) == 0
        case .globUnequal: return fnmatch(expected, actual, 0) == FNM_NOMATCH
        case .lower, .lowerOrEqual, .equal, .unequal, .greaterOrEqual, .greater:
            return holds(order: Self.compareVersions(actual, expected))
        }
    }

    /// systemd's strverscmp_improved() (src/fundamental/string-util-fundamental.c): versions
    /// compare segment by segment; a numeric segment is newer than an alphabetic one; `~`
    /// marks a pre-release (older than anything), and a segment that starts with `-`, `^`
    /// or `.` is older than one that does not.
    package static func compareVersions(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var i = 0, j = 0
        func at(_ s: [UInt8], _ k: Int) -> UInt8 { k < s.count ? s[k] : 0 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
        func isVersionCharacter(_ c: UInt8) -> Bool {
            isDigit(c) || isAlpha(c) || c == UInt8(ascii: "~") || c == UInt8(ascii: "-") || c == UInt8(ascii: "^")
                || c == UInt8(ascii: ".")
        }
        func order(_ x: Bool, _ y: Bool) -> Int { x == y ? 0 : (x ? 1 : -1) }
        while true {
            while i < a.count, !isVersionCharacter(a[i]) { i += 1 }
            while j < b.count, !isVersionCharacter(b[j]) { j += 1 }
            for separator in [UInt8(ascii: "~"), UInt8(ascii: "-"), UInt8(ascii: "^"), UInt8(ascii: ".")] {
                // Either has ended (checked after `~`): the longer is newer.
                if separator == UInt8(ascii: "-"), at(a, i) == 0 || at(b, j) == 0 { return Int(at(a, i)) - Int(at(b, j)) }
                guard at(a, i) == separator || at(b, j) == separator else { continue }
                let r = order(at(a, i) != separator, at(b, j) != separator)
                if r != 0 { return r }
                i += 1
                j += 1
            }
            var ii = i, jj = j
            if isDigit(at(a, i)) || isDigit(at(b, j)) {
                while isDigit(at(a, ii)) { ii += 1 }
                while isDigit(at(b, jj)) { jj += 1 }
                let r = order(ii > i, jj > j)
                if r != 0 { return r }
                while at(a, i) == UInt8(ascii: "0"), i < ii { i += 1 }
                while at(b, j) == UInt8(ascii: "0"), j < jj { j += 1 }
                if ii - i != jj - j { return ii - i < jj - j ? -1 : 1 }
                if let r = zip(a[i..<ii], b[j..<jj]).first(where: { $0 != $1 }) { return r.0 < r.1 ? -1 : 1 }
            } else {
                while isAlpha(at(a, ii)) { ii += 1 }
                while isAlpha(at(b, jj)) { jj += 1 }
                if let r = zip(a[i..<ii], b[j..<jj]).first(where: { $0 != $1 }) { return r.0 < r.1 ? -1 : 1 }
                if ii - i != jj - j { return ii - i < jj - j ? -1 : 1 }
            }
            i = ii
            j = jj
        }
    }
}
