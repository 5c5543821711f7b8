// Running the built swatchctl against a test's daemon (swatchctl(1):
// `swatchctl [--runtime-dir DIR] [--json] COMMAND`), as a user would from a
// shell: its stdout, its stderr and its exit status, nothing else.
import Foundation
import Glibc

/// What one `swatchctl` run printed and how it exited.
struct SwatchctlResult: CustomStringConvertible {
    var status: ExitStatus
    var standardOutput: String
    var standardError: String

    /// The exit code; nil when swatchctl was killed by a signal.
    var exitCode: Int32? {
        if case .exited(let code) = status { return code }
        return nil
    }

    /// stdout's lines.
    var lines: [String] { standardOutput.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// `show`'s `KEY=VALUE` lines; a key given more than once (`Listen=`) keeps every value.
    var properties: [String: [String]] {
        var found: [String: [String]] = [:]
        for line in lines {
            guard let equals = line.firstIndex(of: "=") else { continue }
            found[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return found
    }

    /// The first value of `show`'s `KEY=`.
    func property(_ key: String) -> String? { properties[key]?.first }

    /// stdout parsed with JSONSerialization (`--json`); throws what did not parse.
    func json() throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(standardOutput.utf8))
        } catch {
            throw HarnessError("swatchctl's --json output does not parse (\(error)):\n\(standardOutput)")
        }
    }

    var description: String {
        "swatchctl \(status)\n--- stdout:\n\(standardOutput)--- stderr:\n\(standardError)"
    }
}

extension Daemon {
    /// Runs `swatchctl --runtime-dir RUNTIME ARGUMENTS` to completion.
    /// `asUser` runs it with that uid/gid and no supplementary groups
    /// (setpriv(1)), e.g. 65534 for `nobody`.
    func ctl(_ arguments: [String], asUser uid: uid_t? = nil, timeout: Duration = .seconds(15)) throws -> SwatchctlResult {
        var argv = [try Harness.binary("swatchctl"), "--runtime-dir", runtimeDirectory] + arguments
        if let uid {
            argv = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"] + argv
        }
        let output = try Command.run(argv, timeout: timeout)
        return SwatchctlResult(status: output.status, standardOutput: output.standardOutput, standardError: output.standardError)
    }

    /// `ctl` with the arguments spelled out: `try daemon.ctl("status", "hello.service")`.
    func ctl(_ arguments: String...) throws -> SwatchctlResult { try ctl(arguments) }

    /// Starts `swatchctl logs -f UNIT` in the background, its output into `path`; the caller
    /// ends it with `stopFollowing`.
    func followLogs(of unit: String, into path: String) throws -> pid_t {
        try Command.spawn([try Harness.binary("swatchctl"), "--runtime-dir", runtimeDirectory, "logs", "-f", unit],
                          environment: ["PATH": "/usr/bin:/bin"], plumbing: .init(outputPath: path))
    }

    /// Ends a `followLogs` and reaps it.
    func stopFollowing(_ follower: pid_t) {
        kill(follower, SIGKILL)
        _ = Command.wait(follower, timeout: .seconds(5))
    }

    /// `show UNIT`'s `KEY=` value, or nil.
    func property(_ key: String, of unit: String) throws -> String? {
        try ctl("show", unit).property(key)
    }

    /// Waits until `show UNIT` reports `KEY=value`.
    func waitForProperty(_ key: String, of unit: String, toBe value: String, timeout: Duration = .seconds(10)) throws {
        var last: String?
        try waitUntil("swatchctl show \(unit) says \(key)=\(value) (last: \(last ?? "nil"))\n\(log)", timeout: timeout) {
            last = try property(key, of: unit)
            return last == value
        }
    }

    /// Waits until `show UNIT` reports a running main process; returns its pid.
    @discardableResult
    func waitForMainPID(of unit: String, replacing previous: pid_t? = nil, timeout: Duration = .seconds(10)) throws -> pid_t {
        try waitFor("\(unit) has a main pid other than \(previous.map(String.init) ?? "0")\n\(log)", timeout: timeout) {
            guard let pid = pid_t(try property("MainPID", of: unit) ?? ""), pid > 0, pid != previous else { return nil }
            return pid
        }
    }

    /// How many times swatchd has logged that it finished a reload.
    var completedReloads: Int { logLines(containing: "Reloaded:").count }
}
