/// The text of `swatchctl --help`, of `swatchctl COMMAND --help` and of a usage error, made
/// from the table of commands (ArgumentSpec.swift): 80 columns, as systemctl's help.
enum HelpText {
    static let width = 80
    /// Where the help of an entry starts: `  -n, --lines N` and the like fit before it.
    static let column = 26

    /// `swatchctl --help`: what it does, every command, the options every command takes.
    static func overview(_ tool: ToolSpec) -> String {
        var text = "Usage: " + usage(nil, of: tool) + "\n\n" + wrapped(tool.abstract, indent: 0) + "\n"
        text += "\nCommands:\n"
        for command in tool.commands {
            let synopsis = command.operands.map { command.name + " " + $0.synopsis } ?? command.name
            text += entry(synopsis, command.abstract)
        }
        text += "\nOptions:\n" + options(tool.global + ArgumentParsing.builtins)
        if let discussion = tool.discussion { text += "\n" + wrapped(discussion, indent: 0) + "\n" }
        text += "\nSee '\(tool.name) help COMMAND' for a command's own options, and \(tool.name)(1).\n"
        return text
    }

    /// `swatchctl COMMAND --help`: its usage, what it does, its options and the common ones.
    static func command(_ command: CommandSpec, of tool: ToolSpec) -> String {
        var text = "Usage: " + usage(command, of: tool) + "\n\n" + wrapped(command.abstract, indent: 0) + "\n"
        if let discussion = command.discussion { text += "\n" + wrapped(discussion, indent: 0) + "\n" }
        if let operands = command.operands {
            text += "\nArguments:\n" + entry(operands.name, operands.help)
        }
        if !command.options.isEmpty { text += "\nOptions:\n" + options(command.options) }
        text += "\nOptions of every command:\n" + options(tool.global + [ArgumentParsing.help])
        return text
    }

    /// `swatchctl logs [OPTION]... [UNIT]...`.
    static func usage(_ command: CommandSpec?, of tool: ToolSpec) -> String {
        guard let command else { return "\(tool.name) [OPTION]... COMMAND [UNIT]..." }
        return "\(tool.name) \(command.name) [OPTION]..." + (command.operands.map { " " + $0.synopsis } ?? "")
    }

    /// What a usage error prints on stderr.
    static func usageError(_ error: UsageError, command: CommandSpec?, of tool: ToolSpec) -> String {
        let helpCommand = command.map { "\(tool.name) \($0.name) --help" } ?? "\(tool.name) --help"
        return "Error: \(error.message)\nUsage: \(usage(command, of: tool))\n  See '\(helpCommand)' for more information."
    }

    private static func options(_ options: [OptionSpec]) -> String {
        options.map { option in
            // Long-only options line up with the long names of the others: `      --json`.
            entry((option.short == nil ? "    " : "") + option.synopsis, option.help)
        }.joined()
    }

    /// `  NAME  help…`, the help wrapped at `column`; on a line of its own after a long name.
    private static func entry(_ name: String, _ help: String) -> String {
        let head = "  " + name
        let body = wrapped(help, indent: column)
        let lead = body.dropFirst(column)
        if head.count < column - 1 {
            return head + String(repeating: " ", count: column - head.count) + lead + "\n"
        }
        return head + "\n" + body + "\n"
    }

    /// `text` filled to `width` columns, every line indented by `indent` spaces; its own line
    /// breaks stay.
    static func wrapped(_ text: String, indent: Int) -> String {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = margin
            for word in paragraph.split(separator: " ") {
                if line.count > indent && line.count + 1 + word.count > width {
                    lines.append(line)
                    line = margin
                }
                line += (line.count > indent ? " " : "") + word
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
