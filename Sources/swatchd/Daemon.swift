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
            // The others that would end swatchd are read too (SignalFD.forwardedSignals): forwarded
            // to the --exit-with service, else logged and ignored (swatchd(8), SIGNALS).
            let signals = try SignalFD(signals: SignalFD.supervisedSignals + SignalFD.forwardedSignals)
            SignalFD.ignoreBrokenPipe()
            // As child subreaper, a service's orphans come back to swatchd to be reaped and counted.
            ProcessTracker.becomeSubreaper()
            let loop = try EventLoop()
            var configuration = Supervisor.Configuration(
                unitDirectories: directories, runtimeDirectory: runtime,
                specifiers: SpecifierContext.current(), ownEnvironment: environment)
            if let span = options.defaultTimeoutStop { configuration.specifiers.defaultTimeoutStop = span }
            configuration.exitWith = options.exitWith
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
                    default:
                        forward(info, to: options.exitWith, of: supervisor, logger: logger)
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
            return supervisor.exitStatus
        } catch {
            started?.abandonStartup()
            writeStderr("swatchd: \(error)\n")
            return 1
        }
    }

    /// A signal of SignalFD.forwardedSignals: to the main process of the `--exit-with`
    /// service, as tini hands signals to its child; without one it changes nothing.
    private static func forward(_ info: SignalFD.Info, to service: UnitName?, of supervisor: Supervisor,
                                logger: Logger) {
        let name = SignalName.fullName(info.signal)
        let sender = info.senderPID == 0 ? "outside the PID namespace" : "PID \(info.senderPID)"
        guard let service else {
            // A resized terminal is no news.
            if info.signal != SIGWINCH { logger.info("Received \(name) from \(sender); ignoring.") }
            return
        }
        guard let pid = supervisor.mainPID(of: service) else {
            logger.info("Received \(name) from \(sender), but \(service) has no main process; ignoring.",
                        metadata: ["unit": "\(service)"])
            return
        }
        do {
            guard try Reaper.kill(pid, signal: info.signal) else { return }   // gone: its SIGCHLD is on the way
            logger.debug("Forwarded \(name) from \(sender) to \(service) (PID \(pid)).", metadata: ["unit": "\(service)"])
        } catch {
            logger.warning("Failed to forward \(name) to \(service) (PID \(pid)): \(error)", metadata: ["unit": "\(service)"])
        }
    }
}
