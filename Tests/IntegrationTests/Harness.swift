// The integration harness: where the built binaries and the test services
// are, and waiting on a condition with a deadline (never sleep-and-hope).
// Tests run the BUILT executables against the command-line contract of
// swatchd(8) and swatchctl(1) only; they import nothing from SwatchCore.
import Foundation
import Glibc
import Testing

@Suite(.serialized)
enum Integration {
    // Every integration suite is nested in this one so that the whole target
    // runs one test at a time: they share the machine's ports, its 2 cores and,
    // for the CPU measurements, its quiet (Swift Testing runs tests in parallel
    // unless told otherwise: docs/HACKING.md "Tests, sanitizers, fuzzing"). The type cannot share the module's name,
    // IntegrationTests: the @Suite macro's test record then fails to compile.
    // (Inside the body: Swift Testing prints the comments above a suite with
    // every failure in it.)
}

/// Paths of the things the tests run.
enum Harness {
    /// The repository root, from this file's place in Tests/IntegrationTests/.
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The python3-systemd test services (run with Debian's /usr/bin/python3).
    static let servicesDirectory = repositoryRoot + "/Tests/IntegrationTests/Services"

    /// A test service by file name, e.g. `service("listen_fds.py")`.
    static func service(_ name: String) -> String { servicesDirectory + "/" + name }

    /// The directory holding the built `swatchd`: `$SWATCHD_BIN_DIR` when set,
    /// else the first ancestor of this test executable that contains an
    /// executable `swatchd` (SwiftPM puts the test bundle next to the
    /// products, `.build/<triple>/debug/`), else `.build/debug` of the
    /// repository. Nil when none of them has one.
    static let binaryDirectory: String? = {
        func hasDaemon(_ directory: String) -> Bool {
            access(directory + "/swatchd", X_OK) == 0
        }
        if let given = ProcessInfo.processInfo.environment["SWATCHD_BIN_DIR"], hasDaemon(given) {
            return given
        }
        var candidates: [String] = []
        for start in [resolvedExecutable(), CommandLine.arguments.first].compactMap({ $0 }) {
            var url = URL(fileURLWithPath: start)
            while url.path != "/" {
                url.deleteLastPathComponent()
                candidates.append(url.path)
            }
        }
        candidates.append(repositoryRoot + "/.build/debug")
        return candidates.first(where: hasDaemon)
    }()

    /// The absolute path of a built product (`swatchd`, `swatchd-hello`, `swatchctl`).
    static func binary(_ name: String) throws -> String {
        guard let directory = binaryDirectory else {
            throw HarnessError("no built swatchd found next to the test executable or in .build/debug; run `swift build` (or set SWATCHD_BIN_DIR)")
        }
        let path = directory + "/" + name
        guard access(path, X_OK) == 0 else { throw HarnessError("\(path) is not an executable; run `swift build`") }
        return path
    }

    /// A built product at a path a sandboxed service can see. DynamicUser=
    /// implies PrivateTmp=, which hides /tmp and /var/tmp — and a checkout may
    /// live there (CI clones wherever it likes): then the product is copied to
    /// /run/swatchd-test-bin/ once (readable by everyone, as /usr/bin is).
    static func sandboxVisibleBinary(_ name: String) throws -> String {
        try sandboxVisible(try binary(name))
    }

    /// A test service of Services/ (`service(_:)`) at a path a sandboxed service can see,
    /// as `sandboxVisibleBinary`: PrivateTmp= hides a checkout below /tmp.
    static func sandboxVisibleService(_ name: String) throws -> String {
        try sandboxVisible(service(name))
    }

    private static func sandboxVisible(_ path: String) throws -> String {
        guard path.hasPrefix("/tmp/") || path.hasPrefix("/var/tmp/") || path.hasPrefix("/home/")
            || path.hasPrefix("/root/") else { return path }
        let directory = "/run/swatchd-test-bin"
        mkdir(directory, 0o755)
        chmod(directory, 0o755)
        let copy = directory + "/" + (path as NSString).lastPathComponent
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        chmod(copy, 0o755)
        return copy
    }

    /// `/proc/self/exe`, resolved: the test runner's real path.
    private static func resolvedExecutable() -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
        }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// A failure of the harness or of a waited-for condition, with what was
/// waited for, so that a failed test says what it expected.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every `interval` until it holds; throws once `timeout`
/// has passed without it. This is wait-on-condition: it returns as soon as
/// the condition holds, and the timeout is only the point of giving up.
func waitUntil(
    _ what: @autoclosure () -> String,
    timeout: Duration = .seconds(5),
    interval: Duration = .milliseconds(20),
    _ condition: () throws -> Bool
) throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try condition() { return }
        guard clock.now < deadline else {
            throw HarnessError("timed out after \(timeout) waiting until \(what())")
        }
        pause(interval)
    }
}

/// Polls `produce` until it returns a value; throws after `timeout`.
func waitFor<T>(
    _ what: @autoclosure () -> String,
    timeout: Duration = .seconds(5),
    interval: Duration = .milliseconds(20),
    _ produce: () throws -> T?
) throws -> T {
    var result: T?
    try waitUntil(what(), timeout: timeout, interval: interval) {
        result = try produce()
        return result != nil
    }
    return result!
}

/// Checks that `condition` stays false for the whole `window`: the only way
/// to observe that something does NOT happen (a refused unit never runs).
/// Keep windows short; use it after a positive check has shown that the
/// daemon already handled the same kind of event for another unit.
func holdsNever(
    for window: Duration,
    interval: Duration = .milliseconds(20),
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + window
    while clock.now < end {
        if try condition() { return false }
        pause(interval)
    }
    return try !condition()
}

/// Blocks the calling thread (the tests are synchronous and serialized).
func pause(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var remaining = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    while true {
        let request = remaining
        guard nanosleep([request], &remaining) != 0 && errno == EINTR else { return }
    }
}

/// Reads a file as text, to its end; nil when it does not exist (yet) or cannot be read.
/// Not with Foundation: `FileManager.contents(atPath:)` and `String(contentsOfFile:)` return
/// what one read(2) gave for a file whose stat(2) size is 0, as /proc's files are — 4 KB of
/// the 9 KB of a debug swatchd's /proc/PID/maps (swift-corelibs-foundation, Swift 6.3).
func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var text: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count == 0 { return String(decoding: text, as: UTF8.self) }
        if count < 0 {
            guard errno == EINTR else { return nil }
            continue
        }
        text.append(contentsOf: buffer[..<count])
    }
}

/// Parses `KEY=VALUE` lines (a `--report` of swatchd-hello or of a python
/// test service); nil while the file does not exist. The services write
/// FILE.tmp and rename it, so an existing file is complete.
func readReport(_ path: String) -> [String: String]? {
    guard let text = readText(path) else { return nil }
    var report: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        report[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return report
}

/// Waits for a report file and parses it.
func waitForReport(_ path: String, timeout: Duration = .seconds(10)) throws -> [String: String] {
    try waitFor("the report \(path) exists", timeout: timeout) { readReport(path) }
}
