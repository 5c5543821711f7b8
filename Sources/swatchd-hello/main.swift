// swatchd-hello — the example service of swatchd: HTTP
// "Hello World!" on the sockets it is handed by sd_listen_fds(3), ready and
// watchdog through sd_notify(3). Glibc and libsystemd only, no Foundation.
import CSystemd
import Glibc

/// The write end of the pipe that wakes the poll loop on SIGTERM/SIGINT.
/// The signal handler reads it, hence nonisolated(unsafe); it is set once,
/// before the handlers are installed.
enum Wake {
    nonisolated(unsafe) static var writeFD: Int32 = -1
}

func fail(_ message: String, status: Int32 = 1) -> Never {
    Posix.log(message)
    exit(status)
}

/// The program, in a function rather than at the top level: top-level code is main-actor
/// isolated, and a closure in it (`.map { … }`, a `??` default) is compiled with a check of
/// the executor that links Swift's concurrency runtime and libdispatch (docs/HACKING.md
/// "No concurrency runtime").
func serve() -> Never {
    // Observe first: nothing may open an fd or touch LISTEN_* before this.
    let observation = Observation.capture()

    let options: Options
    do {
        switch try Options.parse(Array(CommandLine.arguments.dropFirst())) {
        case .help:
            print(Options.usage)
            exit(0)
        case .run(let parsed):
            options = parsed
        }
    } catch {
        fail("\(error.message)\nTry 'swatchd-hello --help'.", status: 64)
    }

    // unset_environment=1, as sd_listen_fds(3) recommends: children of this
    // process must not believe the fds are theirs.
    var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    let count = sd_listen_fds_with_names(1, &names)
    guard count >= 0 else { fail("Failed to receive sockets: \(Posix.describe(errno: -count))") }
    var passed: [PassedFD] = []
    for index in 0..<Int(count) {
        let name = names?[index].map { String(cString: $0) } ?? "unknown"
        passed.append(PassedFD(number: SD_LISTEN_FDS_START + Int32(index), name: name))
    }
    if let names {
        for index in 0..<Int(count) { free(names[index]) }
        free(names)
    }

    var (listeners, connections) = Server.classify(passed)
    if passed.isEmpty {
        // Started by hand: bind $PORT like the seed's release (default 8080).
        let text = getenv("PORT").map { String(cString: $0) } ?? "8080"
        guard let port = UInt16(text), port > 0 else { fail("PORT is not a port number: \(text)") }
        switch Posix.listenTCP(port: port) {
        case .success(let fd): listeners = [fd]
        case .failure(let error): fail("Failed to listen on port \(port): \(error)")
        }
    }

    var pipeFDs: [Int32] = [-1, -1]
    guard pipe(&pipeFDs) == 0 else { fail("Failed to create a pipe: \(Posix.describe(errno: errno))") }
    for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    // A full pipe must never block the signal handler.
    _ = fcntl(pipeFDs[1], F_SETFL, O_NONBLOCK)
    Wake.writeFD = pipeFDs[1]
    signal(SIGPIPE, SIG_IGN)
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber) { _ in
            var byte: UInt8 = 1
            _ = write(Wake.writeFD, &byte, 1)
        }
    }

    if options.readyDelayMilliseconds > 0 {
        // Connections wait in the backlog meanwhile; a SIGTERM cuts the wait
        // short (EINTR) and is seen by the loop through the pipe.
        var delay = timespec(
            tv_sec: options.readyDelayMilliseconds / 1000,
            tv_nsec: (options.readyDelayMilliseconds % 1000) * 1_000_000)
        _ = nanosleep(&delay, nil)
    }

    // The sandboxing tests expect EACCES here once capabilities are dropped.
    var privilegedBind: String?
    if let port = options.privilegedPort {
        switch Posix.listenTCP(port: port) {
        case .success(let fd):
            close(fd)
            privilegedBind = "ok"
        case .failure(let error):
            privilegedBind = error.description
        }
        Posix.log("Binding port \(port) myself: \(privilegedBind!)")
    }

    // Written before READY=1, so a supervisor's "ready" implies a full report.
    if let path = options.reportPath {
        var report = Report(observation, passed: passed)
        if let privilegedBind { report.add("PRIVILEGED_BIND", privilegedBind) }
        do {
            try report.write(to: path)
        } catch {
            fail("Failed to write the report \(path): \(error)")
        }
    }

    let served = listeners.count + connections.count
    let label = served == 1 ? "socket" : "sockets"
    let socketNames = passed.map(\.name).joined(separator: ", ")
    Posix.log("Serving \(served) \(label)\(passed.isEmpty ? "" : " (\(socketNames))")")
    sd_notify(0, "READY=1\nSTATUS=Serving \(served) \(label)")

    // sd_watchdog_enabled(3): > 0 when WATCHDOG_USEC is set for this pid;
    // ping at half the interval, as the man page advises.
    var watchdogMicroseconds: UInt64 = 0
    let watchdogInterval: Int64? =
        options.pingsWatchdog && sd_watchdog_enabled(0, &watchdogMicroseconds) > 0
        ? max(1, Int64(watchdogMicroseconds / 2000)) : nil

    let server = Server(
        listeners: listeners, connections: connections, wakeFD: pipeFDs[0],
        watchdogInterval: watchdogInterval,
        exitAfterRequests: options.exitAfterRequests, exitCode: options.exitCode)
    exit(server.run())
}

serve()
