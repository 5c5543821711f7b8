// Command lines of ExecStart= and friends, read as systemd's config_parse_exec()
// (src/core/load-fragment.c) reads them: the first word carries the prefixes
// `-` `@` `:` `+` `!` `!!`; words are split and unquoted with C escapes; a lone
// `;` separates commands on one line and `\;` is a literal `;` argument;
// specifiers are expanded in every word when the unit is loaded.

extension ExecCommand {
    /// Parses one ExecStart=-style value into its commands (several when `;` separates them).
    /// The error is the message of an invalid value (without the key or consequence).
    static func parse(
        _ value: String, specifiers: SpecifierExpander
    ) throws(ExecParseError) -> [ExecCommand] {
        var splitter = WordSplitter(value)
        var commands: [ExecCommand] = []
        repeat {
            guard let first = try words(&splitter, value) else { break }
            var flags = Flags()
            var program = Substring(first)
            while let c = program.first, flags.take(c) { program = program.dropFirst() }
            let path = try expand(String(program), specifiers, value)
            var arguments: [String] = []
            arguments.reserveCapacity(8)   // no regrowth for the usual few words (trimmed below)
            if !flags.overrideArgv0 { arguments.append(path) }
            var separated = false
            while !splitter.atEnd {
                let rest = splitter.rest
                if rest.first == UInt8(ascii: ";"), rest.count == 1 || UnitFileLexer.isWhitespace(rest[rest.startIndex + 1]) {
                    splitter.advance(by: 1)
                    splitter.skipSeparators()
                    separated = true
                    break
                }
                if rest.count >= 2, rest[rest.startIndex] == UInt8(ascii: "\\"), rest[rest.startIndex + 1] == UInt8(ascii: ";"),
                   rest.count == 2 || UnitFileLexer.isWhitespace(rest[rest.startIndex + 2]) {
                    splitter.advance(by: 2)
                    splitter.skipSeparators()
                    arguments.append(";")
                    continue
                }
                guard let word = try words(&splitter, value) else { break }
                arguments.append(try expand(word, specifiers, value))
            }
            try validate(path: path, arguments: arguments, value: value)
            // Kept as long as the unit: a buffer of the exact size, not the spare room of the
            // appends above (3 words had room for 4: 16 bytes a service).
            if arguments.capacity > arguments.count { arguments = arguments.withUnsafeBufferPointer { Array($0) } }
            var command = ExecCommand(path: path, arguments: arguments)
            command.ignoreFailure = flags.ignoreFailure
            command.overrideArgv0 = flags.overrideArgv0
            command.noEnvironmentExpansion = flags.noEnvironmentExpansion
            command.fullPrivileges = flags.fullPrivileges
            command.keepsCredentials = flags.noSetuid
            commands.append(command)
            if !separated { break }
        } while !splitter.atEnd
        return commands
    }

    /// The prefixes, accepted in any order but each once, as config_parse_exec() does:
    /// `+` and `!`/`!!` exclude each other.
    private struct Flags {
        var ignoreFailure = false, overrideArgv0 = false, noEnvironmentExpansion = false
        var fullPrivileges = false, noSetuid = false, ambient = false

        mutating func take(_ c: Character) -> Bool {
            let privileged = fullPrivileges || noSetuid || ambient
            switch c {
            case "-" where !ignoreFailure: ignoreFailure = true
            case "@" where !overrideArgv0: overrideArgv0 = true
            case ":" where !noEnvironmentExpansion: noEnvironmentExpansion = true
            case "+" where !privileged: fullPrivileges = true
            case "!" where !privileged: noSetuid = true
            case "!" where noSetuid && !fullPrivileges && !ambient:
                noSetuid = false
                ambient = true
            default: return false
            }
            return true
        }
    }

    private static func words(_ splitter: inout WordSplitter, _ value: String) throws(ExecParseError) -> String? {
        do {
            return try splitter.next()
        } catch .unbalancedQuotes {
            throw ExecParseError(problem: "Unbalanced quoting", value: value)
        } catch .badEscape(let escape) {
            throw ExecParseError(problem: "Invalid escape sequence \(escape)", value: value)
        } catch {
            throw ExecParseError(problem: "Trailing backslash", value: value)
        }
    }

    private static func expand(_ word: String, _ specifiers: SpecifierExpander, _ value: String) throws(ExecParseError) -> String {
        do {
            return try specifiers.expand(word)
        } catch {
            throw ExecParseError(problem: "Failed to resolve specifier '\(error.specifier)'", value: value)
        }
    }

    /// The checks of config_parse_exec() on the executable.
    private static func validate(path: String, arguments: [String], value: String) throws(ExecParseError) {
        if path.isEmpty { throw ExecParseError(problem: "Empty executable path", value: value) }
        // By byte: every character it looks for is ASCII, and no byte of another one is.
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }) {
            throw ExecParseError(problem: "Executable name contains special characters", value: path)
        }
        if path.hasSuffix("/") { throw ExecParseError(problem: "Executable path specifies a directory", value: path) }
        if path.hasPrefix("/") ? !ValueParser.isAbsolutePath(path) : !ValueParser.isFileName(path) {
            throw ExecParseError(problem: "Neither a valid executable name nor an absolute path", value: path)
        }
        if arguments.isEmpty { throw ExecParseError(problem: "Empty zeroeth argument", value: value) }
    }
}

/// A command line that could not be read: the problem and the offending text.
struct ExecParseError: Error {
    var problem: String
    var value: String
}
