// `swatchd verify [--unit-dir DIR]... [FILE...]` (swatchd(8)): diagnostics on
// stderr as FILE:LINE: message, exit 0 when every unit would load, 1 otherwise.
// The arguments are parsed with the rest of the command line (DaemonCommandLine.swift).

import Glibc
import SwatchCore

func runVerify(unitDirectories: [String], files: [String]) -> Int32 {
    let report = Verifier.verify(unitDirectories: unitDirectories, files: files, context: .current())
    for line in report.lines { writeStderr(line + "\n") }
    return report.exitCode
}
