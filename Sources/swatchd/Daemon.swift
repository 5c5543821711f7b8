import Glibc
import Logging
import SwatchCore
import SystemPackage

let swatchdVersion = "0.1.0"

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { buffer in _ = Glibc.write(2, buffer.baseAddress, buffer.count) }
}

/// /dev/null in place of any of 0, 1, 2 that swatchd's parent closed (`swatchd 2>&-`), as
/// systemd's make_null_stdio() (src/basic/fd-util.h) gives PID 1 its standard streams:
/// otherwise the next descriptor swatchd opens takes that number, and its log lines to
/// stderr would go into a socket or an epoll instance. Not close-on-exec, as standard
/// streams are not; a child gets its own 0, 1, 2 from the spawner whatever these are.
private func openClosedStandardStreams() {
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
        // The lowest free number: `fd` itself, the ones below it being open by now.
        let null = open("/dev/null", O_RDWR | O_NOCTTY)
        if null >= 0 && null != fd {
            _ = dup2(null, fd)
            _ = close(null)
        }
    }
}

/// `SWATCHD_DESCRIPTOR_HANDOFF` (swatchd(8), ENVIRONMENT): on unless set to a false boolean
/// (`0`, `no`, `off`, … as in unit files). Any other value is named and ignored, as systemd's
/// callers of getenv_bool() (src/basic/env-util.c) name and ignore theirs.
private func wantsDescriptorHandoff(_ environment: [String: String]) -> Bool {
    guard let value = environment["SWATCHD_DESCRIPTOR_HANDOFF"] else { return true }
    guard let wanted = ValueParser.boolean(value) else {
        writeStderr("swatchd: Failed to parse SWATCHD_DESCRIPTOR_HANDOFF='\(value)' as a boolean, ignoring\n")
        return true
    }
    return wanted
}

/// getcwd(3), or `/` where the working directory is gone.
private func workingDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    return getcwd(&buffer, buffer.count) != nil
        ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/"
}

/// Start-up of the daemon, phase by phase (docs/HACKING.md "Conventions"): problems of swatchd
/// itself end it with `swatchd: …` and exit 1; after that nothing does but a
/// signal asking it to.
enum Daemon {
    static func run(options given: DaemonOptions, adHoc: AdHocOptions?) -> Int32 {
        // Before anything else is opened: the standard streams first, then the spawner's
        // socket pair, which takes the lowest free numbers.
        openClosedStandardStreams()
        // A descriptor per socket listened on: 1000 socket units are more than a soft limit of
        // 1024 allows. Services get the limit back (FileLimit).
        let inheritedFileLimit = FileLimit.raise()
        var environment = ProcessEnvironment.current()
        if wantsDescriptorHandoff(environment) { Spawner.prepareDescriptorHandoff() }
        // Set by a swatchd that re-executed itself (Supervisor+Reexec.swift): not for services.
        let restoring = environment.removeValue(forKey: Supervisor.deserializeVariable)
        unsetenv(Supervisor.deserializeVariable)
        let isRoot = getuid() == 0
        var options = given
        if adHoc != nil {
            // `run` is for a developer's terminal: everything on it, not in the journal.
            if options.logTarget == "auto" { options.logTarget = "stderr" }
            TerminalColors.enabled = TerminalColors.wanted(fd: 2, environment: environment)
        }
        let unitLog = UnitLogBuffer()
        let logger = bootstrapLogging(target: options.logTarget, level: options.logLevel, unitLog: unitLog)

        var directories = options.unitDirectories
        if directories.isEmpty {
            directories = [isRoot ? "/etc/swatchd"
                : (environment["XDG_CONFIG_HOME"] ?? ((environment["HOME"] ?? "/") + "/.config")) + "/swatchd"]
        }
        let defaultRuntime = isRoot ? "/run/swatchd" : environment["XDG_RUNTIME_DIR"].map { $0 + "/swatchd" }
        guard let defaultRuntime = options.runtimeDirectory == nil ? defaultRuntime : "" else {
            writeStderr("swatchd: no --runtime-dir given and XDG_RUNTIME_DIR is not set\n")
            return 1
        }

        // Paths of the command line are the caller's, relative to where swatchd was started: the
        // notify socket's path goes to services that run elsewhere (WorkingDirectory=, default /),
        // and swatchctl finds the control socket from its own directory.
        let cwd = workingDirectory()
        directories = directories.map { AdHocUnits.absolute($0, cwd: cwd) }
        options.runtimeDirectory = options.runtimeDirectory.map { AdHocUnits.absolute($0, cwd: cwd) }

        var adHocRun: AdHocRun?
        if let adHoc {
            // As a shell: a program that cannot be run is exit status 127, before anything is bound.
            if let problem = AdHocRun.checkProgram(adHoc.command[0], cwd: cwd, path: environment["PATH"]) {
                writeStderr("swatchd run: \(problem)\n")
                return 127
            }
            let run = AdHocRun(options: adHoc, cwd: cwd, runtimeDirectory: options.runtimeDirectory,
                               defaultRuntimeDirectory: defaultRuntime)
            do { try run.writeUnits() } catch {
                writeStderr("swatchd run: Failed to write the units to \(run.unitDirectory): \(error)\n")
                run.cleanUp()
                return 1
            }
            // What the command line asked for must load as it is, or the run ends here.
            let report = Verifier.verify(unitDirectories: [run.unitDirectory], files: [], context: .current())
            if report.exitCode != 0 {
                for line in report.lines { writeStderr("swatchd run: \(line)\n") }
                run.cleanUp()
                return 1
            }
            adHocRun = run
        }
        let runtime = adHocRun?.runtimeDirectory ?? options.runtimeDirectory ?? defaultRuntime

        var started: Supervisor?
        do throws(any Error) {
            // None of what swatchd's parent ignored: not for its services, and not SIGCHLD.
            SignalFD.resetInheritedDispositions()
            // Block the signals signalfd reads before anything is spawned.
            // The others that would end swatchd are read too (SignalFD.forwardedSignals): forwarded
            // to the --exit-with service, else logged and ignored (swatchd(8), SIGNALS).
            let signals = try SignalFD(signals: SignalFD.supervisedSignals + SignalFD.forwardedSignals)
            SignalFD.ignoreBrokenPipe()
            // Every disposition is set now: a child resets only those not at SIG_DFL.
            Spawner.prepareSignalReset()
            // As child subreaper, a service's orphans come back to swatchd to be reaped and counted.
            ProcessTracker.becomeSubreaper()
            let loop = try EventLoop()
            var configuration = Supervisor.Configuration(
                unitDirectories: directories, runtimeDirectory: runtime,
                specifiers: SpecifierContext.current(), ownEnvironment: environment)
            if let span = options.defaultTimeoutStop { configuration.specifiers.defaultTimeoutStop = span }
            configuration.exitWith = options.exitWith
            configuration.inheritedFileLimit = inheritedFileLimit
            configuration.journalAvailable = LogTarget.journalIsAvailable()
            if let adHocRun {
                configuration.unitDirectories = [adHocRun.unitDirectory]
                configuration.passOwnEnvironment = true
                // The command's output on the terminal, as `unit[pid]: line`.
                configuration.journalAvailable = false
            }
            let supervisor = try Supervisor(configuration: configuration, logger: logger, loop: loop, unitLog: unitLog)
            started = supervisor
            if let adHocRun {
                // A run that cannot listen where it was asked to is of no use: it says so and ends.
                supervisor.onBindFailure = { name, error in
                    writeStderr("swatchd run: cannot listen on \(adHocRun.addresses(of: name)): \(error)\n")
                    adHocRun.exitStatus = 1
                    loop.stop()
                }
            }
            _ = try loop.watch(signals.fd) {
                for info in (try? signals.read()) ?? [] {
                    switch info.signal {
                    case SIGCHLD: supervisor.reapChildren()
                    case SIGTERM, SIGINT:
                        // ssi_pid is 0 for a sender outside our PID namespace (docker stop, for PID 1 of a container).
                        let sender = info.senderPID == 0 ? "outside the PID namespace"
                            : "PID \(info.senderPID) (\(ProcessStatus.command(of: info.senderPID) ?? "n/a"))"
                        if let adHocRun {
                            // As a shell reports a command ended by signal N.
                            adHocRun.exitStatus = 128 + info.signal
                            if adHocRun.stopping {
                                logger.notice("Received \(SignalName.fullName(info.signal)) again: killing every service.")
                                AdHocRun.killDescendants()
                                adHocRun.killed = true
                                loop.stop()
                                return
                            }
                            adHocRun.stopping = true
                        }
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
            if let restoring, adHocRun == nil {
                do {
                    try supervisor.restore(from: restoring)
                    logger.info("swatchd \(swatchdVersion) re-executed: \(supervisor.socketCount) socket units, \(supervisor.serviceCount) services.")
                    try loop.run()
                    return supervisor.exitStatus
                } catch {
                    // A state it cannot read (corrupt, or from a version that writes another): a
                    // clean start, without the services the old one left (swatchd(8), RE-EXECUTION).
                    logger.error("Failed to take over after daemon-reexec (\(error)); starting afresh.")
                    supervisor.discardCarriedOver()
                }
            }
            try supervisor.start()
            if let adHocRun, adHocRun.exitStatus != nil {
                supervisor.abandonStartup()
                adHocRun.cleanUp()
                return adHocRun.exitStatus ?? 1
            }
            try supervisor.startControl()
            supervisor.startUntriggeredServices()
            if let adHocRun {
                try adHocRun.startWatching(loop: loop, cwd: adHocRun.cwd, logger: logger) { reason in
                    supervisor.restartRunningServices(reason: reason)
                }
                let service = adHocRun.units.serviceName
                // A template has no status of its own: its socket's lists the instances.
                let shown = service.contains("@") ? adHocRun.units.socketNames[0] : service
                writeStderr("""
                    swatchd run: \(service) on \(adHocRun.options.listen.joined(separator: ", ")), started on the first connection.
                    swatchd run: swatchctl --runtime-dir \(adHocRun.runtimeDirectory) status \(shown)

                    """)
            }
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
            if let adHocRun {
                // After a second signal the services were killed, not stopped: close what is left.
                if adHocRun.killed { supervisor.abandonStartup() }
                adHocRun.cleanUp()
                return adHocRun.exitStatus ?? 0
            }
            return supervisor.exitStatus
        } catch {
            started?.abandonStartup()
            adHocRun?.cleanUp()
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
