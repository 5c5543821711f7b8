import Glibc

/// Tests `Condition…=`/`Assert…=` against this machine and this swatchd, as
/// systemd's src/shared/condition.c does: User=, Group= and Environment= are
/// about the service manager itself, not the service.
package struct ConditionCheck {
    /// swatchd's own environment (ConditionEnvironment=).
    package var environment: [String]
    /// The words of /proc/cmdline (ConditionKernelCommandLine=).
    package var kernelCommandLine: () -> [String]

    package init(environment: [String], kernelCommandLine: @escaping () -> [String] = ConditionCheck.procCommandLine) {
        self.environment = environment
        self.kernelCommandLine = kernelCommandLine
    }

    /// The check's own result, before `!`.
    package func holds(_ condition: UnitCondition) -> Bool {
        let parameter = condition.parameter
        switch condition.check {
        case .pathExists:
            return access(parameter, F_OK) == 0
        case .pathExistsGlob:
            var matches = glob_t()
            defer { globfree(&matches) }
            return glob(parameter, GLOB_NOSORT | GLOB_BRACE, nil, &matches) == 0 && matches.gl_pathc > 0
        case .pathIsDirectory:
            return status(parameter).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
        case .pathIsSymbolicLink:
            return (try? FileSystem.linkStatus(parameter))?.map { $0.st_mode & S_IFMT == S_IFLNK } ?? false
        case .pathIsMountPoint:
            guard let resolved = realpath(parameter, nil) else { return false }
            defer { free(resolved) }
            return MountTable.current().contains(String(cString: resolved))
        case .pathIsReadWrite:
            // condition_test_path_is_read_write(): a missing path is not read-write.
            var info = statvfs()
            return statvfs(parameter, &info) == 0 && info.f_flag & UInt(ST_RDONLY) == 0
        case .directoryNotEmpty:
            // dir_is_empty() ignoring hidden entries; a path that is no directory is not "not empty".
            guard status(parameter).map({ $0.st_mode & S_IFMT == S_IFDIR }) ?? false else { return false }
            return ServiceDirectories.entries(of: parameter).contains { !$0.hasPrefix(".") }
        case .fileNotEmpty:
            return status(parameter).map { $0.st_mode & S_IFMT == S_IFREG && $0.st_size > 0 } ?? false
        case .fileIsExecutable:
            return status(parameter).map { $0.st_mode & S_IFMT == S_IFREG && $0.st_mode & 0o111 != 0 } ?? false
        case .user:
            return isManagerUser(parameter)
        case .group:
            return isManagerGroup(parameter)
        case .host:
            return isThisHost(parameter)
        case .kernelCommandLine:
            // A word with `=` must be there as written; without, as a word or the name of one.
            let words = kernelCommandLine()
            if parameter.contains("=") { return words.contains(parameter) }
            return words.contains { $0 == parameter || $0.hasPrefix(parameter + "=") }
        case .environment:
            if parameter.contains("=") { return environment.contains(parameter) }
            return environment.contains { $0.hasPrefix(parameter + "=") }
        }
    }

    /// `stat`, following symbolic links; nil when nothing is there.
    private func status(_ path: String) -> Glibc.stat? {
        var info = Glibc.stat()
        return stat(path, &info) == 0 ? info : nil
    }

    /// A uid, a user name, or `@system` (a uid up to 999, systemd's SYSTEM_UID_MAX default).
    private func isManagerUser(_ parameter: String) -> Bool {
        let ids = [getuid(), geteuid()]
        if parameter == "@system" { return ids.contains { $0 <= 999 } }
        guard let identity = UserAccounts.user(parameter) else { return false }
        return ids.contains(identity.uid)
    }

    /// A gid or a group name: swatchd's gid, effective gid or a supplementary group.
    private func isManagerGroup(_ parameter: String) -> Bool {
        guard let gid = UserAccounts.group(parameter) else { return false }
        if gid == getgid() || gid == getegid() { return true }
        let count = getgroups(0, nil)
        guard count > 0 else { return false }
        var groups = [gid_t](repeating: 0, count: Int(count))
        return getgroups(count, &groups) >= 0 && groups.contains(gid)
    }

    /// The machine ID of /etc/machine-id, or a hostname pattern (fnmatch, case-insensitive).
    private func isThisHost(_ parameter: String) -> Bool {
        if parameter.count == 32, parameter.allSatisfy(\.isHexDigit),
           let id = try? FileSystem.readText("/etc/machine-id") {
            return id.trimmingWhitespace().lowercased() == parameter.lowercased()
        }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return false }
        // FNM_CASEFOLD is a GNU extension Glibc's module does not export: <fnmatch.h> defines it as 1 << 4.
        let caseFold: Int32 = 1 << 4
        return fnmatch(parameter, buffer, caseFold) == 0
    }

    /// The words of /proc/cmdline.
    package static func procCommandLine() -> [String] {
        guard let text = try? FileSystem.readText("/proc/cmdline") else { return [] }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
    }
}
