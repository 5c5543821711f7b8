/// `swatchctl --generate-completion-script bash|zsh|fish`: completions for the commands, their
/// options and the names of the loaded units, written from the table of commands
/// (ArgumentSpec.swift) so that they cannot fall behind it. `make install` installs them
/// where bash-completion, zsh and fish look. The unit names come from `swatchctl list-units`
/// at the time of completion, as systemctl's completions ask systemctl.
enum CompletionScripts {
    static func script(for shell: String, of tool: ToolSpec) -> String? {
        switch shell {
        case "bash": return bash(tool)
        case "zsh": return zsh(tool)
        case "fish": return fish(tool)
        default: return nil
        }
    }

    /// The unit names `list-units` prints, one a line: its UNIT column, after the `●` of a
    /// failed unit. `runtime` expands to the `--runtime-dir` of the command line being
    /// completed, so that the units are those of the daemon it talks to.
    private static func units(_ tool: ToolSpec, runtime: String) -> String {
        "\(tool.name) \(runtime) list-units 2>/dev/null"
            + " | awk '$1 ~ /[.](service|socket)$/ { print $1 } $2 ~ /[.](service|socket)$/ { print $2 }'"
    }

    private static func names(_ option: OptionSpec) -> [String] {
        ["--" + option.long] + (option.short.map { ["-\($0)"] } ?? [])
    }

    private static func header(_ shell: String, _ tool: ToolSpec) -> String {
        "# \(shell) completion for \(tool.name), written by `\(tool.name) --generate-completion-script \(shell)`.\n"
    }

    /// `'text'` for bash and zsh.
    private static func quoted(_ text: String) -> String {
        "'" + escaped(text, ["'": "'\\''"]) + "'"
    }

    /// `text` with each character of `table` written as the table says.
    private static func escaped(_ text: String, _ table: [Character: String]) -> String {
        var result = ""
        for character in text {
            if let replacement = table[character] { result += replacement } else { result.append(character) }
        }
        return result
    }

    private static func bash(_ tool: ToolSpec) -> String {
        let everyOption = tool.global + ArgumentParsing.builtins + tool.commands.flatMap(\.options)
        let valued = Set(everyOption.filter { $0.valueName != nil }.flatMap(names)).sorted()
        let global = (tool.global + ArgumentParsing.builtins).flatMap(names).joined(separator: " ")
        var text = header("bash", tool) + """
            _\(tool.name)() {
                local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command= i next runtime=()
                # bash splits `--name=value` at the `=` (COMP_WORDBREAKS): three words.
                [[ $prev == = ]] && prev=${COMP_WORDS[COMP_CWORD-2]}
                for ((i = 1; i < COMP_CWORD; i++)); do
                    next=$((i + 1)); [[ ${COMP_WORDS[next]} == = ]] && next=$((i + 2))
                    case ${COMP_WORDS[i]} in
                        --runtime-dir) runtime=(--runtime-dir "${COMP_WORDS[next]}"); i=$next ;;
                        \(valued.joined(separator: "|"))) i=$next ;;
                        -*) ;;
                        *) [[ -z $command ]] && command=${COMP_WORDS[i]} ;;
                    esac
                done
                case $prev in
                    --runtime-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
                    \(valued.joined(separator: "|"))) return ;;
                esac
                local options=\(quoted(global)) units=
                case $command in

            """
        for command in tool.commands {
            let own = command.options.flatMap(names).joined(separator: " ")
            let takesUnits = command.operands != nil
            if own.isEmpty && !takesUnits { continue }
            let settings = (own.isEmpty ? [] : ["options+=" + quoted(" " + own)]) + (takesUnits ? ["units=1"] : [])
            text += "        \(command.name)) \(settings.joined(separator: "; ")) ;;\n"
        }
        text += """
                esac
                if [[ $cur == -* ]]; then
                    COMPREPLY=($(compgen -W "$options" -- "$cur"))
                elif [[ -z $command ]]; then
                    COMPREPLY=($(compgen -W \(quoted(tool.commands.map(\.name).joined(separator: " "))) -- "$cur"))
                elif [[ -n $units ]]; then
                    COMPREPLY=($(compgen -W "$(\(units(tool, runtime: "\"${runtime[@]}\"")))" -- "$cur"))
                fi
            }
            complete -F _\(tool.name) \(tool.name)

            """
        return text
    }

    private static func zsh(_ tool: ToolSpec) -> String {
        /// An `_arguments` spec: `(-n --lines)'{-n+,--lines=}'[help]:N:'`.
        func spec(_ option: OptionSpec) -> String {
            let help = "[" + escaped(option.help, ["]": "\\]", ":": "\\:"]) + "]"
            let value = option.valueName.map { name in
                ":" + name.lowercased() + ":" + (option.long == "runtime-dir" ? "_directories" : " ")
            } ?? ""
            guard let short = option.short else {
                return quoted("--" + option.long + (option.valueName == nil ? "" : "=") + help + value)
            }
            let suffix = option.valueName == nil ? ("", "") : ("+", "=")
            return quoted("(-\(short) --\(option.long))") + "{-\(short)\(suffix.0),--\(option.long)\(suffix.1)}"
                + quoted(help + value)
        }
        var text = "#compdef \(tool.name)\n" + header("zsh", tool) + """
            _\(tool.name)_units() {
                # The whole command line ($BUFFER): within a command's arguments, $words
                # no longer holds a --runtime-dir given before it.
                local -a units runtime line=(${(z)BUFFER})
                local i=${line[(I)--runtime-dir]}
                (( i )) && runtime=(--runtime-dir ${(Q)line[i+1]})
                i=${line[(I)--runtime-dir=*]}
                (( i )) && runtime=(${(Q)line[i]})
                units=(${(f)"$(\(units(tool, runtime: "$runtime")))"})
                _describe -t units unit units
            }

            _\(tool.name)() {
                local -a commands global
                commands=(

            """
        for command in tool.commands {
            text += "        " + quoted(command.name + ":" + command.abstract) + "\n"
        }
        text += "    )\n    global=(\n"
        for option in tool.global + ArgumentParsing.builtins {
            text += "        " + spec(option) + "\n"
        }
        text += """
                )
                local curcontext=$curcontext state line
                _arguments -C $global '1: :->command' '*:: :->argument' && return
                case $state in
                    command) _describe -t commands command commands ;;
                    argument)
                        case $line[1] in

            """
        for command in tool.commands {
            var specs = ["$global"] + command.options.map(spec)
            if command.operands != nil { specs.append("'*:unit:_\(tool.name)_units'") }
            text += "                \(command.name)) _arguments \(specs.joined(separator: " ")) ;;\n"
        }
        text += """
                        esac ;;
                esac
            }

            _\(tool.name) "$@"

            """
        return text
    }

    private static func fish(_ tool: ToolSpec) -> String {
        /// `'text'` for fish, where only `\` and `'` are escaped inside single quotes.
        func quoted(_ text: String) -> String {
            "'" + escaped(text, ["\\": "\\\\", "'": "\\'"]) + "'"
        }
        func complete(_ option: OptionSpec, when condition: String?) -> String {
            var line = "complete -c \(tool.name)"
            if let condition { line += " -n " + quoted(condition) }
            if let short = option.short { line += " -s \(short)" }
            line += " -l \(option.long)"
            if option.valueName != nil { line += option.long == "runtime-dir" ? " -r -F" : " -r" }
            return line + " -d " + quoted(option.help) + "\n"
        }
        var text = header("fish", tool) + """
            function __\(tool.name)_units
                set -l words (commandline -opc)
                set -l runtime
                for i in (seq (count $words))
                    switch $words[$i]
                        case --runtime-dir
                            set runtime --runtime-dir $words[(math $i + 1)]
                        case '--runtime-dir=*'
                            set runtime $words[$i]
                    end
                end
                \(units(tool, runtime: "$runtime"))
            end
            complete -c \(tool.name) -f

            """
        for command in tool.commands {
            text += "complete -c \(tool.name) -n __fish_use_subcommand -a \(command.name) -d \(quoted(command.abstract))\n"
        }
        for option in tool.global + ArgumentParsing.builtins {
            text += complete(option, when: nil)
        }
        for command in tool.commands {
            let seen = "__fish_seen_subcommand_from \(command.name)"
            for option in command.options { text += complete(option, when: seen) }
            if command.operands != nil {
                text += "complete -c \(tool.name) -n \(quoted(seen)) -a '(__\(tool.name)_units)'\n"
            }
        }
        return text
    }
}
