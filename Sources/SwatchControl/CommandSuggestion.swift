// What swatchctl says to a verb it does not have: the nearest verb it has
// (`swatchctl stauts` → did you mean 'status'?), or, for a verb of systemctl(1)
// that has no place in swatchd, what to do instead (unit files are enabled by
// being in a unit directory; swatchctl(1), "COMMANDS SYSTEMCTL HAS").

package enum CommandSuggestion {
    /// systemctl's verbs that swatchctl deliberately lacks, with what to do instead.
    package static func advice(for verb: String) -> String? {
        let enabling = "a unit in a unit directory is enabled; to disable it, remove it (or link it to /dev/null to mask it) "
            + "and run 'swatchctl daemon-reload'."
        let masking = "link the unit to /dev/null in its unit directory to mask it, remove that link to unmask it, "
            + "then run 'swatchctl daemon-reload'."
        let text: String
        switch verb {
        case "enable", "disable", "reenable", "preset", "preset-all", "is-enabled", "list-unit-files":
            text = enabling
        case "mask", "unmask":
            text = masking
        case "link", "revert":
            text = "put the unit file (or a symlink to it) in a unit directory, or remove it there, "
                + "and run 'swatchctl daemon-reload'."
        case "edit":
            text = "edit the unit file, or add a drop-in NAME.d/*.conf next to it, and run 'swatchctl daemon-reload'."
        case "isolate", "set-default", "get-default":
            text = "swatchd has no targets; start and stop the units themselves."
        default:
            return nil
        }
        return "'\(verb)' is not a command of swatchctl: " + text
    }

    /// The verb of `verbs` closest to `word` by edit distance, when it is close enough to be a
    /// typo (at most a third of the word's length, and at least 1, apart); nil otherwise.
    package static func nearest(to word: String, among verbs: [String]) -> String? {
        let limit = max(1, word.count / 3)
        var best: (verb: String, distance: Int)?
        for verb in verbs {
            let distance = editDistance(word, verb)
            if distance <= limit, distance < (best?.distance ?? .max) { best = (verb, distance) }
        }
        return best?.verb
    }

    /// The message for an unknown verb, with a suggestion when one is near.
    package static func unknownCommand(_ word: String, among verbs: [String]) -> String {
        var text = "Unknown command '\(word)'"
        if let verb = nearest(to: word, among: verbs) { text += "; did you mean '\(verb)'?" }
        return text
    }

    /// Damerau–Levenshtein distance (optimal string alignment): insertions, deletions,
    /// substitutions and swaps of two neighbours cost 1 each, so `stauts` is 1 from `status`.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
