// `swatchd verify [--unit-dir DIR]... [FILE...]` (DESIGN §2): diagnostics on
// stderr, exit 0 when every unit would load, 1 otherwise, 64 on bad usage.

import Glibc
import SwatchCore

let verifyUsage = "Usage: swatchd verify [--unit-dir DIR]... [FILE...]\n"

/// Runs `swatchd verify`; `arguments` are those after `verify`.
func runVerify(arguments: [String]) -> Int32 {
    var directories: [String] = []
    var files: [String] = []
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        if argument == "--unit-dir" {
            guard let directory = rest.popFirst() else { return usage("option '--unit-dir' needs a directory") }
            directories.append(directory)
        } else if argument.hasPrefix("--unit-dir=") {
            directories.append(String(argument.dropFirst("--unit-dir=".count)))
        } else if argument == "--help" || argument == "-h" {
            print(verifyUsage, terminator: "")
            return 0
        } else if argument == "--" {
            files += rest
            break
        } else if argument.hasPrefix("-") {
            return usage("unknown option '\(argument)'")
        } else {
            files.append(argument)
        }
    }
    let report = Verifier.verify(unitDirectories: directories, files: files, context: .current())
    for line in report.lines { writeError(line + "\n") }
    return report.exitCode
}

private func usage(_ problem: String) -> Int32 {
    writeError("swatchd verify: \(problem)\n" + verifyUsage)
    return 64
}

private func writeError(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = Glibc.write(STDERR_FILENO, buffer.baseAddress, buffer.count) }
}
