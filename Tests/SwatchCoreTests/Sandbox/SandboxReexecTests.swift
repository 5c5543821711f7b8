import Glibc
import Logging
import SystemPackage
import Testing
@testable import SwatchCore

/// What sandboxing holds for a running unit, as a daemon-reexec carries it
/// (SandboxPreparation+Reexec.swift): lines and the locks' fds out, the same back, and the
/// stop after it undoes what the start before it made.
@Suite struct SandboxReexecTests {
    private func preparation(_ runtime: String) -> SandboxPreparation {
        SandboxPreparation(runtimeDirectory: runtime, environment: [:], home: "/nonexistent",
                           logger: Logger(label: "swatchd") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test func theStopAfterAReexecUndoesWhatTheStartBeforeItMade() throws {
        let base = ShortTemporaryDirectory()
        for directory in ["t", "v", "run dir", "credentials"] { #expect(mkdir(base.path + "/" + directory, 0o755) == 0) }
        let temporary = try PrivateTemporaryDirectories.create(for: "web.service", bases: (base.path + "/t", base.path + "/v"))
        let credentials = base.path + "/credentials/web.service"
        #expect(mkdir(credentials, 0o700) == 0)
        let token = creat(credentials + "/token", 0o400)
        #expect(token >= 0 && close(token) == 0)
        let name = UnitName(prefix: "web", type: .service)
        let before = preparation(base.path)
        var prepared = SandboxPreparation.PreparedSandbox()
        prepared.runtimeDirectories = [base.path + "/run dir"]
        prepared.removeIPCOf = (61999, 61999)
        prepared.privateTemporaryDirectories = temporary
        prepared.credentialsDirectory = credentials
        before.prepared[name] = prepared

        let (lines, fds) = before.reexecState()
        #expect(Set(fds) == Set(temporary.locks.map(\.rawValue)) && fds.count == 2)
        #expect(lines.count == 1 && lines[0].hasPrefix("sandbox web.service runtime="))
        #expect(!lines[0].contains("run dir"), "a path's space is escaped: \(lines[0])")

        for fd in fds { _ = fcntl(fd, F_SETFD, 0) }  // as the execve leaves them
        let after = preparation(base.path)
        for line in lines { after.restore(line.split(separator: " ").map(String.init)) }
        #expect(after.reexecState().lines == lines)
        #expect(fds.allSatisfy { fcntl($0, F_GETFD) & FD_CLOEXEC != 0 }, "close-on-exec again")

        after.release(name)
        for path in [FileSystem.parent(of: temporary.tmp)!, FileSystem.parent(of: temporary.varTmp)!, base.path + "/run dir", credentials] {
            #expect(access(path, F_OK) != 0, "\(path) is removed")
        }
    }
}
