// Environment variable substitution in command lines, done at spawn time as
// systemd's replace_env_argv() (src/basic/env-util.c) does it, per
// systemd.service(5) "COMMAND LINES": a word that is exactly `$VAR` becomes the
// variable's value split at whitespace (zero words when unset); `${VAR}`
// inside a word is replaced as-is (empty when unset); `$$` is a literal `$`.

extension ExecCommand {
    /// argv for execve(): `arguments` with variables of `environment` substituted,
    /// unless the command had the `:` prefix.
    package func expand(environment: [String: String]) -> [String] {
        if noEnvironmentExpansion { return arguments }
        var argv: [String] = []
        for word in arguments {
            if word.hasPrefix("$"), ValueParser.isEnvironmentName(word.dropFirst()) {
                guard let value = environment[String(word.dropFirst())] else { continue }
                // Split as strv_split_full(…, EXTRACT_RELAX|EXTRACT_UNQUOTE) does: quotes
                // removed, no escapes decoded, an unbalanced quote tolerated.
                argv += Self.splitRelaxed(value)
            } else {
                argv.append(Self.substitute(word, environment))
            }
        }
        return argv
    }

    /// `${VAR}`, `${VAR:-default}`, `${VAR:+alternate}` and `$$` within one word (replace_env()).
    static func substitute(_ word: String, _ environment: [String: String]) -> String {
        guard word.contains("$") else { return word }
        var out = ""
        var rest = Substring(word)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "$" {
                out += "$"
                rest = after.dropFirst()
            } else if after.first == "{", let close = after.firstIndex(of: "}") {
                let inner = after[after.index(after: after.startIndex)..<close]
                out += resolve(inner, environment)
                rest = after[after.index(after: close)...]
            } else {
                out += "$"
                rest = after
            }
        }
        return out + rest
    }

    private static func resolve(_ inner: Substring, _ environment: [String: String]) -> String {
        if let colon = inner.firstIndex(of: ":") {
            let name = String(inner[..<colon])
            let operation = inner[inner.index(after: colon)...]
            let value = environment[name] ?? ""
            if operation.hasPrefix("-") { return value.isEmpty ? String(operation.dropFirst()) : value }
            if operation.hasPrefix("+") { return value.isEmpty ? "" : String(operation.dropFirst()) }
            return value
        }
        return environment[String(inner)] ?? ""
    }

    private static func splitRelaxed(_ value: String) -> [String] {
        var splitter = WordSplitter(value)
        splitter.cUnescape = false
        var words: [String] = []
        while true {
            let before = splitter
            do {
                guard let word = try splitter.next() else { break }
                words.append(word)
            } catch {
                // An unbalanced quote or a trailing backslash: the rest is one word (EXTRACT_RELAX).
                let rest = String(decoding: before.rest, as: UTF8.self).trimmingWhitespace()
                if !rest.isEmpty { words.append(rest.filter { $0 != "\"" && $0 != "'" }) }
                break
            }
        }
        return words
    }
}
