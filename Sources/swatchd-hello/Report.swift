import Glibc

/// What the process saw when it started, captured before libsystemd's
/// `sd_listen_fds_with_names(1, …)` unsets LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES — tests check exactly what the supervisor handed over.
struct Observation {
    var pid: pid_t
    /// Values of the LISTEN_* variables as received; "" when unset.
    var listenPID: String
    var listenFDs: String
    var listenFDNames: String
    /// Every open fd number, sorted (without the one used to list them).
    var openFDs: [Int32]
    var workingDirectory: String
    var umask: mode_t
    /// Names of every environment variable, sorted.
    var environmentNames: [String]
    var uid: uid_t
    var gid: gid_t

    /// Reads the process state. Call it first, before anything opens an fd.
    static func capture() -> Observation {
        var environment: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let assignment = String(cString: pointer)
            if let equals = assignment.firstIndex(of: "=") {
                environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
            entry += 1
        }
        // umask(2) can only be read by setting it: set, then put it back.
        let mask = Glibc.umask(0)
        _ = Glibc.umask(mask)
        return Observation(
            pid: getpid(),
            listenPID: environment["LISTEN_PID"] ?? "",
            listenFDs: environment["LISTEN_FDS"] ?? "",
            listenFDNames: environment["LISTEN_FDNAMES"] ?? "",
            openFDs: listOpenFDs(),
            workingDirectory: currentDirectory(),
            umask: mask,
            environmentNames: environment.keys.sorted(),
            uid: getuid(),
            gid: getgid()
        )
    }

    /// The numbers in /proc/self/fd, minus the directory's own fd.
    private static func listOpenFDs() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        let listing = dirfd(directory)
        var numbers: [Int32] = []
        while let entry = readdir(directory) {
            // In place: an entry is only as long as its name (d_reclen), so a copy of the
            // 256-byte d_name may read past the end of readdir's buffer.
            let name = String(cString: (UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                .assumingMemoryBound(to: CChar.self))
            if let number = Int32(name), number != listing { numbers.append(number) }
        }
        return numbers.sorted()
    }

    private static func currentDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "" }
        defer { free(path) }
        return String(cString: path)
    }
}

/// The `--report FILE` content: `KEY=VALUE` lines that integration tests
/// read to check what a service receives (sd_listen_fds(3), swatchd.service(5)): fds,
/// environment, cwd, umask, and the socket options of swatchd.socket(5).
struct Report {
    private(set) var lines: [String] = []

    init(_ observation: Observation, passed: [PassedFD]) {
        add("PID", "\(observation.pid)")
        add("LISTEN_PID", observation.listenPID)
        add("LISTEN_FDS", observation.listenFDs)
        add("LISTEN_FDNAMES", observation.listenFDNames)
        add("FDS", observation.openFDs.map(String.init).joined(separator: ","))
        add("CWD", observation.workingDirectory)
        add("UMASK", Report.octal(observation.umask))
        add("ENV", observation.environmentNames.joined(separator: ","))
        add("UID", "\(observation.uid)")
        add("GID", "\(observation.gid)")
        for fd in passed {
            for (key, value) in Report.details(of: fd) {
                add("FD\(fd.number)_\(key)", value)
            }
        }
    }

    mutating func add(_ key: String, _ value: String) {
        lines.append("\(key)=\(value)")
    }

    /// Writes FILE.tmp, then renames it to FILE, so that a test polling for
    /// FILE never reads half of it.
    func write(to path: String) throws(Errno) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Errno(errno) }
        let text = Array(lines.map { $0 + "\n" }.joined().utf8)
        var written = 0
        while written < text.count {
            let count = text[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let error = Errno(errno)
                close(fd)
                throw error
            }
            written += count
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw Errno(errno) }
    }

    /// "0022": four octal digits, as systemd writes UMask=.
    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// FAMILY, TYPE, every socket option the socket unit can set, and NAME.
    /// An option that does not apply to this kind of fd reads "n/a".
    static func details(of fd: PassedFD) -> [(String, String)] {
        let number = fd.number
        func option(_ level: Int32, _ name: Int32) -> String {
            Posix.socketOption(number, level: level, name: name).map(String.init) ?? "n/a"
        }
        let family = Posix.socketOption(number, level: SOL_SOCKET, name: SO_DOMAIN)
        let tcp = Int32(IPPROTO_TCP)
        // FreeBind= and Transparent= are set per family, as systemd does
        // (src/shared/socket-util.c socket_set_freebind/socket_set_transparent).
        let (ipLevel, freeBind, transparent) = family == AF_INET6
            ? (Int32(IPPROTO_IPV6), Int32(IPV6_FREEBIND), Int32(IPV6_TRANSPARENT))
            : (Int32(SOL_IP), Int32(IP_FREEBIND), Int32(IP_TRANSPARENT))
        return [
            ("FAMILY", familyName(family)),
            ("TYPE", typeName(of: number)),
            ("REUSEPORT", option(SOL_SOCKET, SO_REUSEPORT)),
            ("V6ONLY", family == AF_INET6 ? option(Int32(IPPROTO_IPV6), IPV6_V6ONLY) : "n/a"),
            ("NODELAY", option(tcp, TCP_NODELAY)),
            ("KEEPALIVE", option(SOL_SOCKET, SO_KEEPALIVE)),
            ("KEEPIDLE", option(tcp, TCP_KEEPIDLE)),
            ("KEEPINTVL", option(tcp, TCP_KEEPINTVL)),
            ("KEEPCNT", option(tcp, TCP_KEEPCNT)),
            ("RCVBUF", option(SOL_SOCKET, SO_RCVBUF)),
            ("SNDBUF", option(SOL_SOCKET, SO_SNDBUF)),
            ("PASSCRED", option(SOL_SOCKET, SO_PASSCRED)),
            ("PASSPIDFD", family == AF_UNIX ? option(SOL_SOCKET, soPassPIDFD) : "n/a"),
            ("PASSRIGHTS", family == AF_UNIX ? option(SOL_SOCKET, soPassRights) : "n/a"),
            ("CONGESTION", Posix.socketOptionText(number, level: tcp, name: TCP_CONGESTION) ?? "n/a"),
            ("MARK", option(SOL_SOCKET, SO_MARK)),
            ("FREEBIND", family == AF_INET || family == AF_INET6 ? option(ipLevel, freeBind) : "n/a"),
            ("TRANSPARENT", family == AF_INET || family == AF_INET6 ? option(ipLevel, transparent) : "n/a"),
            ("NAME", fd.name),
        ]
    }

    /// SO_PASSPIDFD (Linux 6.5) and SO_PASSRIGHTS (Linux 6.16), newer than Debian 12's
    /// headers: their values in Linux's include/uapi/asm-generic/socket.h.
    private static let soPassPIDFD: Int32 = 76
    private static let soPassRights: Int32 = 83

    private static func familyName(_ family: Int32?) -> String {
        switch family {
        case nil: "none"
        case AF_INET: "inet"
        case AF_INET6: "inet6"
        case AF_UNIX: "unix"
        case let other?: "af\(other)"
        }
    }

    private static func typeName(of fd: Int32) -> String {
        var status = stat()
        if fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO { return "fifo" }
        switch Posix.socketOption(fd, level: SOL_SOCKET, name: SO_TYPE) {
        case Int32(SOCK_STREAM.rawValue): return "stream"
        case Int32(SOCK_DGRAM.rawValue): return "dgram"
        case Int32(SOCK_SEQPACKET.rawValue): return "seqpacket"
        case nil: return "other"
        case let other?: return "type\(other)"
        }
    }
}
