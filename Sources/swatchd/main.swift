// swatchd — the daemon (swatchd(8)). It never forks itself into the
// background; `verify` checks unit files; `run` activates one command ad hoc.
import Glibc
import Logging
import SwatchCore

let command: DaemonCommand
do {
    command = try DaemonCommand.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    writeStderr("swatchd: \(error)\n\(DaemonCommand.usage)\n")
    exit(64)
}

switch command {
case .help:
    print(DaemonCommand.usage)
case .version:
    print("swatchd \(swatchdVersion)")
case .verify(let directories, let files):
    exit(runVerify(unitDirectories: directories, files: files))
case .serve(let options):
    exit(Daemon.run(options: options, adHoc: nil))
case .run(let adHoc, let options):
    exit(Daemon.run(options: options, adHoc: adHoc))
}
