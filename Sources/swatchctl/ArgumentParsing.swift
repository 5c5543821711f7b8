import SwatchControl

/// swatchctl's words as systemctl(1) takes them: the options of swatchctl and of the command
/// anywhere, before or after the command's name, between its operands; `--name=value`,
/// `--name value`, `-n5`, `-n 5` and flags together (`-lq`); `--` ends the options.
enum ArgumentParsing {
    /// What the words ask for.
    enum Invocation {
        /// The command at this index of the table, with what it was given.
        case run(Int, ParsedArguments)
        /// `--help`, `-h` or `help`: of a command, or of swatchctl when nil.
        case help(CommandSpec?)
        case version
        /// `--generate-completion-script SHELL`.
        case completionScript(String)
    }

    /// Why the words were not understood.
    enum Failure: Error {
        /// A usage error; `command` gives the usage line printed with it.
        case usage(UsageError, command: CommandSpec?)
        /// A first word that is no command: the message is all that is printed (exit 64).
        case unknownCommand(String)
        /// A command of systemctl that swatchctl deliberately lacks: what to do instead (exit 1).
        case notACommand(String)
    }

    static let help = OptionSpec.flag("help", "h", help: "Print this help and exit.")
    static let version = OptionSpec.flag("version", help: "Print the version and exit.")
    static let completion = OptionSpec.value("generate-completion-script", "SHELL",
                                             help: "Print the completion script for SHELL: bash, zsh or fish.")
    /// Answered by swatchctl itself, with or without a command.
    static let builtins = [help, version, completion]

    /// Parses `words` (argv without argv[0]). No command is `defaultCommand`, as `systemctl`
    /// alone is `systemctl list-units`.
    static func parse(_ words: [String], commands: [CommandSpec], global: [OptionSpec],
                      defaultCommand: String) throws(Failure) -> Invocation {
        let verbIndex = Self.verbIndex(in: words, options: global + builtins + commands.flatMap(\.options))
        // The command named, by its index in the table; nil when none is.
        var named: Int?
        if let verbIndex {
            let verb = words[verbIndex]
            if verb == "help" {
                return .help(try helpTarget(words[(verbIndex + 1)...], commands: commands))
            }
            guard let index = commands.firstIndex(where: { $0.isNamed(verb) }) else {
                if let advice = CommandSuggestion.advice(for: verb) { throw .notACommand("swatchctl: " + advice) }
                throw .unknownCommand(CommandSuggestion.unknownCommand(verb, among: commands.map(\.name) + ["help"]))
            }
            named = index
        }
        let command = named.map { commands[$0] }
        var rest = words
        if let verbIndex { rest.remove(at: verbIndex) }
        // Without a command, the default's options count too: `swatchctl --failed`.
        guard let running = named ?? commands.firstIndex(where: { $0.name == defaultCommand }) else {
            throw .usage(UsageError("Missing command"), command: nil)
        }
        let parsed: ParsedArguments
        do throws(UsageError) {
            parsed = try arguments(rest, options: builtins + global + commands[running].options)
            if parsed.flag(help.long) { return .help(command) }
            if parsed.flag(version.long) { return .version }
            if let shell = parsed.value(completion.long) { return .completionScript(shell) }
            try check(parsed.operands, of: commands[running])
        } catch {
            throw .usage(error, command: command)
        }
        return .run(running, parsed)
    }

    /// `help` alone, or `help COMMAND`.
    private static func helpTarget(_ words: ArraySlice<String>, commands: [CommandSpec]) throws(Failure) -> CommandSpec? {
        guard let name = words.first(where: { !$0.hasPrefix("-") }) else { return nil }
        guard let command = commands.first(where: { $0.isNamed(name) }) else {
            throw .unknownCommand(CommandSuggestion.unknownCommand(name, among: commands.map(\.name)))
        }
        return command
    }

    /// Where the command's name is: the first word that is neither an option nor the value of
    /// one (`swatchctl --runtime-dir /run/x status`); after `--`, the next word. nil: none.
    static func verbIndex(in words: [String], options: [OptionSpec]) -> Int? {
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            if word == "--" { return index + 1 < words.endIndex ? index + 1 : nil }
            if word.hasPrefix("--") {
                let name = word.dropFirst(2)
                let takesNext = !name.contains("=") && options.contains { $0.long == name && $0.valueName != nil }
                index += takesNext ? 2 : 1
            } else if word.hasPrefix("-") && word.count > 1 {
                // A cluster of short options: the first that takes a value takes the rest of the
                // word, or the next word when it is the last letter.
                var letters = word.dropFirst()
                var takesNext = false
                while let letter = letters.popFirst() {
                    if options.contains(where: { $0.short == letter && $0.valueName != nil }) {
                        takesNext = letters.isEmpty
                        break
                    }
                }
                index += takesNext ? 2 : 1
            } else {
                return index
            }
        }
        return nil
    }

    /// The options and operands of `words`, which no longer hold the command's name.
    static func arguments(_ words: [String], options: [OptionSpec]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var rest = words[...]
        /// The value of `option`, from the rest of its word or the next word.
        func value(of option: OptionSpec, named name: String, inline: Substring?) throws(UsageError) -> String {
            if let inline { return String(inline) }
            guard let next = rest.first, option.anyValue || !looksLikeAnOption(next) else {
                throw UsageError("Missing value for '\(name)'")
            }
            rest.removeFirst()
            return next
        }
        while let word = rest.popFirst() {
            if word == "--" {
                parsed.operands += rest
                break
            }
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let name = body.prefix { $0 != "=" }
                let inline = name.count < body.count ? body[body.index(after: name.endIndex)...] : nil
                guard let option = options.first(where: { $0.long == name }) else {
                    var message = "Unknown option '--\(name)'"
                    if let near = CommandSuggestion.nearest(to: "--" + name, among: options.map { "--" + $0.long }) {
                        message += "; did you mean '\(near)'?"
                    }
                    throw UsageError(message)
                }
                if option.valueName == nil {
                    guard inline == nil else { throw UsageError("Option '--\(name)' takes no value") }
                    parsed.given[option.long, default: []].append("")
                } else {
                    parsed.given[option.long, default: []].append(try value(of: option, named: "--\(name)", inline: inline))
                }
            } else if looksLikeAnOption(word) {
                var letters = word.dropFirst()
                while let letter = letters.popFirst() {
                    guard let option = options.first(where: { $0.short == letter }) else {
                        throw UsageError("Unknown option '-\(letter)'")
                    }
                    if option.valueName == nil {
                        parsed.given[option.long, default: []].append("")
                    } else {
                        let value = try value(of: option, named: "-\(letter)", inline: letters.isEmpty ? nil : letters)
                        parsed.given[option.long, default: []].append(value)
                        break
                    }
                }
            } else {
                parsed.operands.append(word)
            }
        }
        return parsed
    }

    /// `-x`, `--x`; not `-` alone, which is a word like any other.
    private static func looksLikeAnOption(_ word: String) -> Bool {
        word.hasPrefix("-") && word.count > 1
    }

    /// As many operands as the command takes.
    private static func check(_ operands: [String], of command: CommandSpec) throws(UsageError) {
        guard let spec = command.operands else {
            if let first = operands.first { throw UsageError("Unexpected argument '\(first)'") }
            return
        }
        switch spec.count {
        case .one, .oneOrMore:
            if operands.isEmpty { throw UsageError("Missing expected argument '\(spec.synopsis)'") }
        case .optionalOne, .any:
            break
        }
        if spec.count == .one || spec.count == .optionalOne, operands.count > 1 {
            throw UsageError("Unexpected argument '\(operands[1])'")
        }
    }
}
