import Glibc
import Logging
import SwatchCore
import SystemPackage

let swatchdVersion = "0.1.0"

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = Glibc.write(2, buffer.baseAddress, buffer.count) }
}

/// Start-up of the daemon, phase by phase (docs/HACKING.md "Conventions"): problems of swatchd
/// itself end it with `swatchd: …` and exit 1; after that nothing does but a
/// signal asking it to.
enum Daemon {
    static func run(options: DaemonOptions, adHoc: AdHocOptions?) -> Int32 {
        let environment = ProcessEnvironment.current()
        let isRoot = getuid() == 0
        let unitLog = UnitLogBuffer()
        let logger = bootstrapLogging(target: options.logTarget, level: options.logLevel, unitLog: unitLog)

        var directories = options.unitDirectories
        if directories.isEmpty {
            directories = [isRoot ? "/etc/swatchd"
                : (environment["XDG_CONFIG_HOME"] ?? ((environment["HOME"] ?? "/") + "/.config")) + "/swatchd"]
        }
        guard let runtime = options.runtimeDirectory
            ?? (isRoot ? "/run/swatchd" : environment["XDG_RUNTIME_DIR"].map { $0 + "/swatchd" }) else {
            writeStderr("swatchd: no --runtime-dir given and XDG_RUNTIME_DIR is not set\n")
            return 1
        }

        var started: Supervisor?
        do {
            // Block the signals signalfd reads before anything is spawned.
            let signals = try SignalFD(signals: [SIGCHLD, SIGTERM, SIGINT, SIGHUP])
            SignalFD.ignoreBrokenPipe()
            // As child subreaper, a service's orphans come back to swatchd to be reaped and counted.
            ProcessTracker.becomeSubreaper()
            let loop = try EventLoop()
            var configuration = Supervisor.Configuration(
                unitDirectories: directories, runtimeDirectory: runtime,
                specifiers: SpecifierContext.current(), ownEnvironment: environment)
            configuration.journalAvailable = LogTarget.journalIsAvailable()
            if let adHoc {
                let (dir, files) = try AdHocUnits.write(adHoc, runtimeDirectory: runtime)
                configuration.unitDirectories = [dir]
                _ = files
                configuration.passOwnEnvironment = true
            }
            let supervisor = try Supervisor(configuration: configuration, logger: logger, loop: loop, unitLog: unitLog)
            started = supervisor
            _ = try loop.watch(signals.fd) {
                for info in (try? signals.read()) ?? [] {
                    switch info.signal {
                    case SIGCHLD: supervisor.reapChildren()
                    case SIGTERM, SIGINT:
                        // ssi_pid is 0 for a sender outside our PID namespace (docker stop, for PID 1 of a container).
                        let sender = info.senderPID == 0 ? "outside the PID namespace"
                            : "PID \(info.senderPID) (\(ProcessStatus.command(of: info.senderPID) ?? "n/a"))"
                        logger.info("Received \(SignalName.fullName(info.signal)) from \(sender).")
                        supervisor.shutdown()
                    case SIGHUP:
                        logger.info("Received SIGHUP from PID \(info.senderPID): reloading.")
                        supervisor.reload()
                    default: break
                    }
                }
            }
            try supervisor.start()
            try supervisor.startControl()
            supervisor.startUntriggeredServices()
            var watch: FileWatch?
            if let adHoc, !adHoc.watch.isEmpty {
                let files = try FileWatch(paths: adHoc.watch)
                watch = files
                _ = try loop.watch(files.fd) {
                    if files.drain() { supervisor.restartRunningServices(reason: "a watched file changed") }
                }
            }
            defer { _ = watch }
            if let socket = environment["NOTIFY_SOCKET"] {
                // swatchd as a Type=notify service of systemd or of another swatchd.
                do {
                    try NotifySocket.sendNotify("READY=1\nSTATUS=Watching \(supervisor.socketCount) socket units", to: socket)
                } catch {
                    logger.warning("Failed to notify \(socket): \(error)")
                }
            }
            logger.info("swatchd \(swatchdVersion) ready: \(supervisor.socketCount) socket units, \(supervisor.serviceCount) services.")
            try loop.run()
            return 0
        } catch {
            started?.abandonStartup()
            writeStderr("swatchd: \(error)\n")
            return 1
        }
    }
}
