// swatchd — the daemon (swatchd(8)). It never forks itself into the
// background; `verify` checks unit files; `run` activates one command ad hoc.
import Glibc
import Logging
import SwatchCore

let arguments = Array(ProcessArguments.current().dropFirst())
let command: DaemonCommand
do {
    command = try DaemonCommand.parse(arguments)
} catch {
    // EX_USAGE (sysexits.h), as swatchctl's usage errors.
    // `swatchd run: unknown option '--x'`, `swatchd: unknown option '--x'`.
    let text = error.description
    let separator = text.hasPrefix("run: ") || text.hasPrefix("verify: ") ? " " : ": "
    writeStderr("swatchd\(separator)\(text)\n\(DaemonCommand.helpHint(for: arguments))\n")
    exit(64)
}

switch command {
case .help(let text):
    print(text)
case .version:
    print("swatchd \(swatchdVersion)")
case .verify(let directories, let files):
    exit(runVerify(unitDirectories: directories, files: files))
case .serve(let options):
    exit(Daemon.run(options: options, adHoc: nil))
case .run(let adHoc, let options):
    exit(Daemon.run(options: options, adHoc: adHoc))
}
