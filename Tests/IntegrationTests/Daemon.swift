import Foundation
import Glibc

/// One running `swatchd` on a private temp dir, as a test drives it:
/// unit files written into `unitDirectory`, the daemon started with
/// `--unit-dir U --runtime-dir R --log-target stderr` (swatchd(8)), its
/// stdout and stderr in `logPath` to search, and a NOTIFY_SOCKET of the
/// test's own so that swatchd's READY=1 can be read.
///
/// swatchd's environment carries `SWATCH_TEST_SECRET=leak-me` and one stray
/// non-CLOEXEC fd: neither may reach a service (docs/HACKING.md "Spawning").
///
/// Use it as
/// ```swift
/// let daemon = try Daemon()
/// defer { daemon.cleanUp() }
/// try daemon.write("hello.socket", "...")
/// try daemon.start()
/// ```
/// `cleanUp()` kills whatever is left (swatchd and every process below it)
/// and removes the temp dir; it also runs on deinit.
final class Daemon {
    /// The marker variable in swatchd's environment that must not leak.
    static let secretName = "SWATCH_TEST_SECRET"
    static let secretValue = "leak-me"
    /// A stray fd swatchd inherits without FD_CLOEXEC (docs/HACKING.md "Spawning":
    /// a parent's fds reach the service unless swatchd closes them).
    static let strayFD: Int32 = 27

    /// The temp dir `/tmp/sw-XXXXXX` holding everything of this daemon.
    let directory: String
    let unitDirectory: String
    let runtimeDirectory: String
    /// swatchd's stdout and stderr.
    let logPath: String
    /// The datagram socket given to swatchd as NOTIFY_SOCKET.
    let notifyPath: String
    /// swatchd's whole environment (for the leak checks).
    private(set) var environment: [String: String]
    private(set) var pid: pid_t = 0
    /// Set once swatchd has been reaped.
    private(set) var exitStatus: ExitStatus?
    /// Every datagram read from `notifyPath` so far.
    private(set) var notifications: [String] = []

    private var notifyFD: Int32 = -1
    private var temporary: TemporaryDirectory?

    /// Prepares the directories; `environment` adds to (or overrides) the
    /// daemon's environment.
    init(environment extra: [String: String] = [:]) throws {
        // A client writing to a service that just died must see EPIPE, not
        // take the test runner down.
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
        let temporary = try TemporaryDirectory()
        self.temporary = temporary
        directory = temporary.path
        unitDirectory = directory + "/units"
        runtimeDirectory = directory + "/run"
        logPath = directory + "/swatchd.log"
        notifyPath = directory + "/ntf"
        try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
        let binaries = Harness.binaryDirectory.map { $0 + ":" } ?? ""
        environment = [
            // Plain ExecStart= names are looked up in swatchd's own PATH
            // (swatchd.service(5)): the built swatchd-hello is found this way.
            "PATH": binaries + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            Daemon.secretName: Daemon.secretValue,
            "SWATCH_TEST_OTHER": "also-private",
            "NOTIFY_SOCKET": notifyPath,
        ].merging(extra) { $1 }
    }

    deinit { cleanUp() }

    /// A path inside the temp dir.
    func path(_ name: String) -> String { directory + "/" + name }

    /// Writes a unit file (or a drop-in, "x.service.d/y.conf") into the unit dir.
    func write(_ name: String, _ contents: String) throws {
        let path = unitDirectory + "/" + name
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Starts swatchd and waits until it is ready: READY=1 on its
    /// NOTIFY_SOCKET or, failing that, `RUNTIME/control` exists (swatchd(8):
    /// both happen once every listener is bound). Throws with the log if
    /// swatchd exits first.
    /// `launcher` runs before swatchd (`unshare --pid ...`: swatchd as PID 1); `pid` is then the launcher's.
    func start(logLevel: String = "info", waitForReady: Bool = true, arguments extra: [String] = [],
               launcher: [String] = [], binary: String? = nil) throws {
        precondition(pid == 0, "start() once per Daemon")
        notifyFD = try Daemon.bindDatagramSocket(notifyPath)
        let argv = launcher + [try binary ?? Harness.binary("swatchd"),
                    "--unit-dir", unitDirectory,
                    "--runtime-dir", runtimeDirectory,
                    "--log-target", "stderr",
                    "--log-level", logLevel] + extra
        pid = try Command.spawn(argv, environment: environment,
                                plumbing: .init(outputPath: logPath, strayFDs: [Daemon.strayFD]))
        if waitForReady { try waitUntilReady() }
    }

    /// Starts swatchd again on the same unit and runtime dirs, once the first one has
    /// exited (or was killed): what an init or a container runtime does after a crash.
    func startAgain(logLevel: String = "info") throws {
        precondition(exitStatus != nil, "startAgain() after the first swatchd exited")
        if notifyFD >= 0 { close(notifyFD) }
        notifyFD = -1
        unlink(notifyPath)
        // The killed one's control socket file is still there: ready means the new one's.
        unlink(runtimeDirectory + "/control")
        notifications = []
        pid = 0
        exitStatus = nil
        try start(logLevel: logLevel)
    }

    /// Waits for READY=1 or the control socket, whichever comes first.
    func waitUntilReady(timeout: Duration = .seconds(10)) throws {
        try waitUntil("swatchd is ready (READY=1 or \(runtimeDirectory)/control)\n\(log)", timeout: timeout) {
            try checkRunning()
            return receivedReady || Daemon.isSocket(runtimeDirectory + "/control")
        }
    }

    /// True once READY=1 has arrived on the test's NOTIFY_SOCKET.
    var receivedReady: Bool {
        readNotifications()
        return notifications.contains { $0.split(separator: "\n").contains("READY=1") }
    }

    /// Throws (with the log) when swatchd is no longer running.
    func checkRunning() throws {
        if exitStatus == nil {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { exitStatus = ExitStatus(waitStatus: status) }
        }
        if let exitStatus { throw HarnessError("swatchd \(exitStatus); its log:\n\(log)") }
    }

    /// Everything swatchd has logged so far.
    var log: String { readText(logPath) ?? "" }

    /// The log's lines that contain every one of `fragments`.
    func logLines(containing fragments: String...) -> [String] {
        log.split(separator: "\n").map(String.init).filter { line in fragments.allSatisfy(line.contains) }
    }

    /// Waits for a log line containing every one of `fragments`; returns it.
    @discardableResult
    func waitForLog(containing fragments: String..., timeout: Duration = .seconds(5)) throws -> String {
        try waitFor("swatchd logs a line containing \(fragments); its log:\n\(log)", timeout: timeout) {
            log.split(separator: "\n").first { line in fragments.allSatisfy(line.contains) }.map(String.init)
        }
    }

    /// The live processes whose parent is swatchd: its services.
    var children: [ProcessStat] { Processes.children(of: pid) }

    /// swatchd's own open fds.
    var openFDs: [Int32] { Processes.openFDs(of: pid) }

    /// Waits until swatchd has exactly `count` live children; returns them.
    @discardableResult
    func waitForChildren(_ count: Int, timeout: Duration = .seconds(10)) throws -> [ProcessStat] {
        try waitFor("swatchd has \(count) child process(es)\n\(log)", timeout: timeout) {
            try checkRunning()
            let children = self.children
            return children.count == count ? children : nil
        }
    }

    /// Sends `signal` to swatchd.
    func signal(_ signal: Int32) { if exitStatus == nil { kill(pid, signal) } }

    /// SIGTERM, then waits for the exit status until `timeout`; SIGKILL and
    /// throw if swatchd does not exit in time.
    @discardableResult
    func stop(timeout: Duration = .seconds(15)) throws -> ExitStatus {
        if let exitStatus { return exitStatus }
        kill(pid, SIGTERM)
        guard let status = Command.wait(pid, timeout: timeout) else {
            kill(pid, SIGKILL)
            exitStatus = Command.wait(pid, timeout: .seconds(5))
            throw HarnessError("swatchd did not exit within \(timeout) of SIGTERM; its log:\n\(log)")
        }
        exitStatus = status
        return status
    }

    /// Waits until swatchd (or its launcher) exits on its own, e.g. with `--exit-with`; nil
    /// when it still runs after `timeout`.
    func waitForExit(timeout: Duration = .seconds(15)) -> ExitStatus? {
        if exitStatus == nil { exitStatus = Command.wait(pid, timeout: timeout) }
        return exitStatus
    }

    /// Stops swatchd (SIGTERM, as a user would; SIGKILL for it and every
    /// process below it if it has not exited within 5 s), closes the notify
    /// socket and removes the temp dir. Idempotent.
    func cleanUp() {
        if pid > 0 && exitStatus == nil {
            let below = Processes.descendants(of: pid)
            kill(pid, SIGTERM)
            exitStatus = Command.wait(pid, timeout: .seconds(5))
            if exitStatus == nil {
                kill(pid, SIGKILL)
                exitStatus = Command.wait(pid, timeout: .seconds(5))
                // A killed swatchd cannot remove the cgroups it made: the
                // harness does, so that test runs do not pile them up.
                let cgroups = below.compactMap { Processes.cgroupDirectory(of: $0.pid) }
                for process in below { kill(process.pid, SIGKILL) }
                for directory in Set(cgroups) {
                    try? waitUntil("\(directory) is empty", timeout: .seconds(2)) {
                        rmdir(directory) == 0 || errno == ENOENT
                    }
                    rmdir((directory as NSString).deletingLastPathComponent)
                }
            }
        }
        if notifyFD >= 0 {
            close(notifyFD)
            notifyFD = -1
        }
        temporary?.remove()
        temporary = nil
    }

    /// Reads every pending datagram from the test's NOTIFY_SOCKET.
    private func readNotifications() {
        guard notifyFD >= 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(notifyFD, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count >= 0 else { return }
            notifications.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }

    /// A bound, non-blocking unix datagram socket at `path`.
    static func bindDatagramSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0, Endpoint.unix(path).withSocketAddress({ bind(fd, $0, $1) }) == 0 else {
            let message = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw HarnessError("cannot bind \(path): \(message)")
        }
        return fd
    }

    /// True when `path` exists and is a socket.
    static func isSocket(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFSOCK
    }
}

extension Daemon {
    /// Starts the daemon with one oneshot service per `(name, settings)` whose ExecStart= is
    /// `command`, and returns the lines each printed once it finished (empty ones kept, the
    /// last one too). swatchd opens the output file: the harness's directory is not nobody's.
    func outputsOfOneshots(running command: String, _ services: [(name: String, settings: String)]) throws -> [String: [String]] {
        // One after another (After= the one before): run together, probes that bind the same
        // port would find it taken by each other (EADDRINUSE).
        for (index, (name, settings)) in services.enumerated() {
            try write("\(name).service", """
                [Unit]
                After=\(index > 0 ? services[index - 1].name + ".service" : "")
                [Service]
                Type=oneshot
                ExecStart=\(command)
                StandardOutput=truncate:\(path(name))
                \(settings)
                """)
        }
        try start()
        var seen: [String: [String]] = [:]
        for (name, _) in services {
            try waitForLog(containing: "Finished \(name).service.")
            seen[name] = (readText(path(name)) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        return seen
    }
}
