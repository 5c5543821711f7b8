import Glibc
import SystemPackage

/// What sandboxing holds for the units that run crosses a `daemon-reexec` with them
/// (Supervisor+Reexec.swift): the dynamic users, and what each unit's stop undoes — its
/// private /tmp (with the flock(2) on its directories, so that no other swatchd sweeps them
/// as stale meanwhile), its runtime directories, its credentials, whose IPC objects go. Without
/// it, a service stopped after an upgrade left them all behind, and its dynamic user's number
/// was free to be handed out again.
extension SandboxPreparation {
    /// The lines of the re-exec state, and the fds to keep open across the execve (the locks).
    /// A unit's line: `sandbox UNIT` and tagged words, `runtime=DIR`, `ipc=UID:GID`,
    /// `dynamic-user`, `tmp=DIR`, `var-tmp=DIR`, `lock=FD`, `credentials=DIR` (paths escaped).
    package func reexecState() -> (lines: [String], fds: [Int32]) {
        var lines = dynamicUsers.reexecLines
        var fds: [Int32] = []
        for (name, unit) in prepared.sorted(by: { $0.key < $1.key }) {
            var words = ["sandbox", name.description]
            words += unit.runtimeDirectories.sorted().map { "runtime=" + ControlEscaping.escapeWord($0) }
            if let owner = unit.removeIPCOf { words.append("ipc=\(owner.uid):\(owner.gid)") }
            if unit.dynamicUser { words.append("dynamic-user") }
            if let temporary = unit.privateTemporaryDirectories {
                words += ["tmp=" + ControlEscaping.escapeWord(temporary.tmp), "var-tmp=" + ControlEscaping.escapeWord(temporary.varTmp)]
                words += temporary.locks.map { "lock=\($0.rawValue)" }
                fds += temporary.locks.map(\.rawValue)
            }
            if let directory = unit.credentialsDirectory { words.append("credentials=" + ControlEscaping.escapeWord(directory)) }
            lines.append(words.joined(separator: " "))
        }
        return (lines, fds)
    }

    /// Takes back one line of `reexecState()` (its words). The locks are made close-on-exec
    /// again at once; a word it cannot read is left out.
    package func restore(_ words: [String]) {
        guard words.first == "sandbox" else { return dynamicUsers.restore(words) }
        let name = words.count >= 2 ? UnitName(parsing: words[1]) : nil
        var unit = PreparedSandbox()
        var tmp: String?
        var varTmp: String?
        var locks: [FileDescriptor] = []
        for word in words.dropFirst(2) {
            let (tag, value) = word.firstIndex(of: "=").map { (word[..<$0], String(word[word.index(after: $0)...])) } ?? (word[...], "")
            let text = try? ControlEscaping.unescapeWord(value)
            switch tag {
            case "runtime": if let text { unit.runtimeDirectories.insert(text) }
            case "ipc":
                let ids = value.split(separator: ":").compactMap { UInt32($0) }
                if ids.count == 2 { unit.removeIPCOf = (ids[0], ids[1]) }
            case "dynamic-user": unit.dynamicUser = true
            case "tmp": tmp = text
            case "var-tmp": varTmp = text
            case "lock":
                if let fd = Int32(value) {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    locks.append(FileDescriptor(rawValue: fd))
                }
            case "credentials": unit.credentialsDirectory = text
            default: continue
            }
        }
        // The locks of a line it cannot use are closed: nothing else would.
        guard let name, let tmp, let varTmp else {
            for lock in locks { lock.closeIgnoringErrors() }
            if let name { prepared[name] = unit }
            return
        }
        var temporary = PrivateTemporaryDirectories(tmp: tmp, varTmp: varTmp)
        temporary.locks = locks
        unit.privateTemporaryDirectories = temporary
        prepared[name] = unit
    }
}
