/// What swatchctl's command line is made of: its commands, their options and operands
/// (swatchctl(1)). One table describes them, and the parser (ArgumentParsing.swift), the
/// help (HelpText.swift) and the shell completions (CompletionScripts.swift) read it.
/// swatchctl parses its arguments itself: swift-argument-parser imports FoundationEssentials,
/// which made swatchctl 14 MB stripped (docs/HACKING.md "Where the bytes are").

/// One option: `--long`, maybe `-s`, a flag or an option that takes a value.
struct OptionSpec: Sendable {
    /// The name after `--`; also the key the parsed arguments are looked up by.
    let long: String
    let short: Character?
    /// The value's name in the help (`--runtime-dir DIR`); nil for a flag.
    let valueName: String?
    let help: String
    /// The value may begin with `-` (`--since -5min`), so the next word is taken whatever it is.
    let anyValue: Bool

    static func flag(_ long: String, _ short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, valueName: nil, help: help, anyValue: false)
    }

    static func value(_ long: String, _ short: Character? = nil, _ valueName: String, anyValue: Bool = false,
                      help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, valueName: valueName, help: help, anyValue: anyValue)
    }

    static func value(_ long: String, _ valueName: String, anyValue: Bool = false, help: String) -> OptionSpec {
        value(long, nil, valueName, anyValue: anyValue, help: help)
    }

    /// `-n, --lines N` as the help and the error messages write it.
    var synopsis: String {
        let names = short.map { "-\($0), --\(long)" } ?? "--\(long)"
        return valueName.map { names + " " + $0 } ?? names
    }
}

/// The operands after a command: unit names, mostly.
struct OperandSpec: Sendable {
    enum Count: Sendable { case one, optionalOne, oneOrMore, any }
    /// In the usage line: `UNIT`.
    let name: String
    let count: Count
    let help: String

    /// `UNIT`, `[UNIT]`, `UNIT...`, `[UNIT]...`.
    var synopsis: String {
        switch count {
        case .one: return name
        case .optionalOne: return "[\(name)]"
        case .oneOrMore: return name + "..."
        case .any: return "[\(name)]..."
        }
    }
}

struct CommandSpec: Sendable {
    let name: String
    /// One sentence: the list of commands in `--help` shows it.
    let abstract: String
    /// Other names systemctl knows the command by (`force-reload`), taken as this one.
    var aliases: [String] = []
    var discussion: String? = nil
    /// Its own options; every command takes the global ones too.
    var options: [OptionSpec] = []
    var operands: OperandSpec? = nil
}

extension CommandSpec {
    /// Whether `word` names this command.
    func isNamed(_ word: String) -> Bool { name == word || aliases.contains(word) }
}

/// A usage error: swatchctl prints it with the command's usage line and exits with 64
/// (EX_USAGE, sysexits.h).
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Ends swatchctl with `status`, what had to be said being said.
struct ExitCode: Error {
    let status: Int32
    init(_ status: Int32) { self.status = status }
    static let usage = ExitCode(64)
}

/// The options and operands given to one command, by each option's long name.
struct ParsedArguments {
    /// Every value an option was given, in order; a flag has one empty value per time it is given.
    var given: [String: [String]] = [:]
    var operands: [String] = []

    func flag(_ long: String) -> Bool { given[long] != nil }
    /// The last value given: `-n 5 -n 7` is 7, as with systemctl.
    func value(_ long: String) -> String? { given[long]?.last }
    func values(_ long: String) -> [String] { given[long] ?? [] }

    /// The option's value as a whole number, nil when it was not given.
    func integer(_ option: OptionSpec) throws(UsageError) -> Int? {
        guard let text = value(option.long) else { return nil }
        guard let number = Int(text) else {
            throw UsageError("The value '\(text)' is invalid for '\(option.synopsis)'")
        }
        return number
    }
}

/// The whole command line: the program, its options and its commands.
struct ToolSpec: Sendable {
    let name: String
    let version: String
    let abstract: String
    let discussion: String?
    /// The options every command takes.
    let global: [OptionSpec]
    let commands: [CommandSpec]
}
