import Glibc
import SystemPackage

/// How the spawner sets up fd 1 or fd 2 of a service.
package enum StdioSource: Equatable {
    /// dup2 this descriptor onto the fd.
    case descriptor(FileDescriptor)
    /// The same as the service's fd 0 (`StandardOutput=inherit`: systemd duplicates standard
    /// input, whatever StandardInput= put there) — systemd.exec(5).
    case sameAsInput
    /// The Accept=yes connection socket (`StandardOutput=socket`).
    case connection
}

/// The descriptors a service's StandardOutput=/StandardError= ask for (systemd.exec(5)),
/// opened before the spawn: `inherit`, `null`, `file:PATH`, `append:PATH`, `truncate:PATH`,
/// `journal` (and `kmsg`, taken as the journal). Owns what it opened until
/// `closeAfterSpawn()`; the capture (if any) then lives on with the running service.
package struct ServiceOutputFDs {
    package var standardOutput: StdioSource
    package var standardError: StdioSource
    /// The pipe that `journal` output goes through; the loop watches `capture.readEnd`.
    package var capture: OutputCapture?
    private var opened: [FileDescriptor]
    /// SyslogLevel=, SyslogLevelPrefix=, LogLevelMax=, SyslogFacility= and LogExtraFields= of the capture.
    private var levels = OutputCapture.Levels()
    private var extraFields: [String] = []

    /// Why an output could not be set up: the start fails, as systemd's does with
    /// `Failed to set up standard output: …` (exit status 209/STDOUT).
    package struct SetupError: Error, Equatable, CustomStringConvertible {
        package var stream: String
        package var path: String?
        package var errno: Errno
        package var description: String {
            if let path { return "Failed to set up standard \(stream): \(path): \(errno)" }
            return "Failed to set up standard \(stream): \(errno)"
        }
    }

    /// Opens what `standardOutput`/`standardError` ask for. nil means the default: stdout to the
    /// journal, stderr the same as stdout (ServiceUnit's doc). `journal` output is captured by one
    /// pipe shared by both streams (their lines keep their order, as with systemd's single stream)
    /// and forwarded to journald when `journalAvailable`, else to swatchd's stderr.
    /// `identifier` is SyslogIdentifier= or the executable's name.
    /// `input` is StandardInput=: `tty` output shares a terminal input, `file:` output the
    /// file input of the same path (setup_output(), src/core/exec-invoke.c); `ttyPath` is TTYPath=.
    package static func make(
        standardOutput: OutputTarget?, standardError: OutputTarget?, unit: String, identifier: String,
        journalAvailable: Bool, unitLog: UnitLogBuffer?, input: InputSource = .null, ttyPath: String = "/dev/console",
        named: (output: FileDescriptor?, error: FileDescriptor?) = (nil, nil), levels: OutputCapture.Levels = .init(),
        extraFields: [String] = []
    ) throws(SetupError) -> ServiceOutputFDs {
        var fds = ServiceOutputFDs(standardOutput: .sameAsInput, standardError: .sameAsInput, capture: nil, opened: [])
        fds.levels = levels
        fds.extraFields = extraFields
        do {
            fds.standardOutput = try fds.source(
                for: standardOutput ?? .journal, stream: "output", unit: unit, identifier: identifier,
                journalAvailable: journalAvailable, unitLog: unitLog, input: input, ttyPath: ttyPath, named: named.output)
            if let standardError, standardError != .inherit {
                fds.standardError = try fds.source(
                    for: standardError, stream: "error", unit: unit, identifier: identifier,
                    journalAvailable: journalAvailable, unitLog: unitLog, input: input, ttyPath: ttyPath, named: named.error)
            } else {
                fds.standardError = fds.standardOutput
            }
        } catch {
            fds.closeAfterSpawn()
            fds.capture?.close()
            throw error
        }
        return fds
    }

    private mutating func source(
        for target: OutputTarget, stream: String, unit: String, identifier: String, journalAvailable: Bool,
        unitLog: UnitLogBuffer?, input: InputSource, ttyPath: String, named: FileDescriptor?
    ) throws(SetupError) -> StdioSource {
        switch target {
        case .fd(let name):
            // A passed socket's fd, owned by the shell: not closed here.
            guard let named else { throw SetupError(stream: stream, path: "fd:" + name, errno: .noSuchFileOrDirectory) }
            return .descriptor(named)
        case .inherit: return .sameAsInput
        case .socket: return .connection
        case .tty where input.isTerminal: return .sameAsInput
        case .file(let path) where input == .file(path): return .sameAsInput
        case .tty:
            do {
                let fd = FileDescriptor(rawValue: try retryingOnInterrupt { open(ttyPath, O_WRONLY | O_NOCTTY | O_CLOEXEC) })
                opened.append(fd)
                return .descriptor(fd)
            } catch {
                throw SetupError(stream: stream, path: ttyPath, errno: error)
            }
        case .journal, .kmsg:
            if capture == nil {
                do {
                    capture = try OutputCapture(
                        unit: unit, destination: journalAvailable ? .journal(identifier: identifier) : .stderr,
                        levels: levels, extraFields: extraFields, unitLog: unitLog)
                } catch {
                    throw SetupError(stream: stream, path: nil, errno: error)
                }
            }
            return .descriptor(capture!.writeEnd!)
        case .null, .file, .append, .truncate:
            do {
                let fd = try Self.openFile(for: target)!
                opened.append(fd)
                return .descriptor(fd)
            } catch {
                throw SetupError(stream: stream, path: Self.path(of: target), errno: error)
            }
        }
    }

    private static func path(of target: OutputTarget) -> String? {
        switch target {
        case .file(let path), .append(let path), .truncate(let path): return path
        case .null: return "/dev/null"
        case .inherit, .journal, .kmsg, .socket, .tty, .fd: return nil
        }
    }

    /// Opens the file of `null`, `file:`, `append:` or `truncate:` for writing, CLOEXEC (the
    /// spawner dup2s it, which clears the flag on the copy): `file:` writes from the start
    /// without truncating, `append:` appends, `truncate:` empties the file first (systemd.exec(5)).
    /// A missing file is created 0666 less the umask. nil for targets that are not files.
    package static func openFile(for target: OutputTarget) throws(Errno) -> FileDescriptor? {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY
        let path: String
        switch target {
        case .null:
            path = "/dev/null"
        case .file(let p): path = p
        case .append(let p):
            path = p
            flags |= O_APPEND
        case .truncate(let p):
            path = p
            flags |= O_TRUNC
        case .inherit, .journal, .kmsg, .socket, .tty, .fd:
            return nil
        }
        return FileDescriptor(rawValue: try retryingOnInterrupt { open(path, flags, 0o666) })
    }

    /// The parent's copies of opened files and of the capture's write end, closed once the
    /// child has its own (right after the spawn, successful or not).
    package mutating func closeAfterSpawn() {
        for fd in opened { try? fd.close() }
        opened.removeAll()
        capture?.closeWriteEnd()
    }
}
