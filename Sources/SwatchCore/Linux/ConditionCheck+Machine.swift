import CSwatch
import Glibc

/// The checks of what the machine is and has: its architecture, kernel and OS versions,
/// memory, CPUs, credentials, updates and cgroup controllers, as systemd's
/// src/shared/condition.c tests them.
extension ConditionCheck {
    // MARK: - Architecture (condition_test_architecture(), src/basic/architecture.c)

    /// systemd's name of uname(2)'s machine: `x86-64`, `arm64`, … (nil when it has none).
    package static func architecture(machine: String) -> String? {
        for entry in words(architectures) {
            let parts = entry.split(separator: "=")
            if parts[0] == machine { return String(parts.last!) }
        }
        if machine.hasPrefix("arm") { return machine.hasSuffix("b") ? "arm-be" : "arm" }
        return nil
    }

    /// Whether `name` is one of systemd's architecture names (`x86-64`, `arm`, `mips64`, …).
    package static func isArchitectureName(_ name: String) -> Bool {
        name == "arm" || name == "arm-be" || words(architectures).contains { $0.split(separator: "=").last! == name }
    }

    /// MACHINE=NAME, or MACHINE when systemd's name is the same.
    private static let architectures = "x86_64=x86-64 i386=x86 i486=x86 i586=x86 i686=x86 aarch64=arm64 "
        + "aarch64_be=arm64-be ppc64le=ppc64-le ppcle=ppc-le ppc ppc64 s390 s390x alpha ia64 m68k tilegx cris sparc "
        + "sparc64 parisc parisc64 riscv32 riscv64 loongarch64 mips mips64 sh sh64 arc"

    /// The architecture swatchd is built for (`native`).
    static var nativeArchitecture: String? {
        #if arch(x86_64)
        return "x86-64"
        #elseif arch(arm64)
        return "arm64"
        #elseif arch(i386)
        return "x86"
        #elseif arch(arm)
        return "arm"
        #elseif arch(powerpc64le)
        return "ppc64-le"
        #elseif arch(s390x)
        return "s390x"
        #elseif arch(riscv64)
        return "riscv64"
        #else
        return nil
        #endif
    }

    func architectureHolds(_ parameter: String) -> Bool {
        guard let machine = Self.architecture(machine: uname().machine) else { return false }
        return machine == (parameter == "native" ? Self.nativeArchitecture : parameter)
    }

    /// uname(2)'s `release` and `machine`.
    func uname() -> (release: String, machine: String) {
        var names = utsname()
        guard Glibc.uname(&names) == 0 else { return ("", "") }
        func text<T>(_ field: inout T) -> String {
            withUnsafeBytes(of: &field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return (text(&names.release), text(&names.machine))
    }

    // MARK: - Versions (condition_test_version_cmp(), condition_test_osrelease())

    /// Every expression of the list holds for `version`: `OPERATOR VALUE` words (quoted if need
    /// be), a bare value a glob; whitespace after the operator only in the first word's case.
    func versionHolds(_ parameter: String, version: String) -> Bool {
        var words = WordSplitter(parameter)
        words.cUnescape = false
        guard var list = try? words.all(), !list.isEmpty else { return false }
        var first = true
        while !list.isEmpty {
            var word = Substring(list.removeFirst().trimmingWhitespace())
            let op = CompareOperator.take(from: &word, byString: true, glob: true) ?? .globEqual
            word = word.drop { $0 == " " || $0 == "\t" }
            if word.isEmpty {
                guard first, !list.isEmpty else { return false }
                word = Substring(list.removeFirst())
            }
            guard op.holds(version, String(word)) else { return false }
            first = false
        }
        return true
    }

    /// `KEY=VALUE` words against os-release(5) (/etc/os-release, else /usr/lib/os-release);
    /// a key the file lacks compares as empty.
    func osReleaseHolds(_ parameter: String) -> Bool {
        var words = WordSplitter(parameter)
        words.cUnescape = false
        guard let list = try? words.all(), !list.isEmpty else { return false }
        let text = read("/etc/os-release") ?? read("/usr/lib/os-release") ?? ""
        let release = EnvironmentFileParser.parse(text)
        for word in list {
            guard let end = word.firstIndex(where: { "<>=!$".contains($0) }) else { return false }
            let key = String(word[..<end])
            var rest = word[end...]
            guard ValueParser.isEnvironmentName(key),
                  let op = CompareOperator.take(from: &rest, byString: true, glob: true),
                  let first = rest.first, first != " ", first != "\t" else { return false }
            let actual = release.last { $0.0 == key }?.1 ?? ""
            guard op.holds(actual, String(rest)) else { return false }
        }
        return true
    }

    // MARK: - Resources (condition_test_memory(), condition_test_cpus())

    /// `[OPERATOR]NUMBER` (`>=` when none) against `actual`; false when the value does not parse.
    private func quantityHolds(_ parameter: String, actual: UInt64, parse: (String) -> UInt64?) -> Bool {
        var rest = Substring(parameter)
        let op = CompareOperator.take(from: &rest, byString: false, glob: false) ?? .greaterOrEqual
        guard let expected = parse(String(rest)) else { return false }
        return op.holds(order: actual < expected ? -1 : actual == expected ? 0 : 1)
    }

    func memoryHolds(_ parameter: String) -> Bool {
        quantityHolds(parameter, actual: physicalMemory(), parse: ValueParser.size)
    }

    func cpusHolds(_ parameter: String) -> Bool {
        quantityHolds(parameter, actual: UInt64(cpusInAffinityMask()), parse: { UInt64($0.trimmingWhitespace()) })
    }

    /// physical_memory(): the RAM, or less when the cgroups swatchd is in are limited to less
    /// (a container's memory.max).
    package func physicalMemory() -> UInt64 {
        var memory = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) &* UInt64(sysconf(Int32(_SC_PAGESIZE)))
        guard let own = read("/proc/self/cgroup").flatMap(ProcessTracker.unifiedPath) else { return memory }
        var path = SandboxPlan.normalize(String(own))
        while path != "/" {
            if let text = read("/sys/fs/cgroup" + path + "/memory.max"), let limit = UInt64(text.trimmingWhitespace()) {
                memory = min(memory, limit)
            }
            path = FileSystem.parent(of: path) ?? "/"
        }
        return memory
    }

    /// The CPUs swatchd may run on (`Cpus_allowed:` of /proc/self/status, a hex mask).
    package func cpusInAffinityMask() -> Int {
        guard let mask = statusField("Cpus_allowed") else { return 0 }
        return mask.reduce(0) { count, digit in count + (digit.hexDigitValue.map { $0.nonzeroBitCount } ?? 0) }
    }

    // MARK: - Credentials, updates, cgroups, modules

    /// condition_test_credential(): a file of that name in swatchd's own $CREDENTIALS_DIRECTORY
    /// or $ENCRYPTED_CREDENTIALS_DIRECTORY (what a container manager or systemd passed it).
    func credentialHolds(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, name != ".", name != "..", !name.contains("/") else { return false }
        for variable in ["CREDENTIALS_DIRECTORY", "ENCRYPTED_CREDENTIALS_DIRECTORY"] {
            guard let entry = environment.last(where: { $0.hasPrefix(variable + "=") }) else { continue }
            let directory = entry.dropFirst(variable.count + 1)
            if linkStatus(directory + "/" + name) != nil { return true }
        }
        return false
    }

    /// condition_test_needs_update(): /usr is newer than DIRECTORY/.updated (or the kernel
    /// command line's systemd.condition_needs_update= says); never on a read-only file system.
    func needsUpdate(_ directory: String) -> Bool {
        // The kernel command line's key, `-` and `_` alike (proc_cmdline_key_streq()).
        let key = "systemd.condition_needs_update="
        let override = kernelCommandLine().last { String($0.map { $0 == "-" ? "_" : $0 }).hasPrefix(key) }
        if let word = override, let value = ValueParser.boolean(String(word.dropFirst(key.count))) { return value }
        var info = statvfs()
        if statvfs(root + directory, &info) == 0, info.f_flag & UInt(ST_RDONLY) != 0 { return false }
        guard let stamp = linkStatus(root + directory + "/.updated"), let usr = linkStatus(root + "/usr/") else { return true }
        if usr.st_mtim.tv_sec != stamp.st_mtim.tv_sec { return usr.st_mtim.tv_sec > stamp.st_mtim.tv_sec }
        // A stamp on a file system of whole seconds carries the nanoseconds it meant in TIMESTAMP_NSEC=.
        if usr.st_mtim.tv_nsec == 0 || stamp.st_mtim.tv_nsec > 0 { return usr.st_mtim.tv_nsec > stamp.st_mtim.tv_nsec }
        let written = EnvironmentFileParser.parse(read(directory + "/.updated") ?? "")
            .last { $0.0 == "TIMESTAMP_NSEC" }.flatMap { Int($0.1) }
        guard let nanoseconds = written else { return true }
        return usr.st_mtim.tv_nsec > nanoseconds % 1_000_000_000
    }

    /// condition_test_control_group_controller(): `v2` (the only hierarchy swatchd uses), `v1`,
    /// or controllers that must all be in the hierarchy's cgroup.controllers; names systemd
    /// does not know are left out, and a list of none of its names holds.
    func controllersHold(_ parameter: String) -> Bool {
        if parameter == "v2" || parameter == "v1" {
            var info = statfs()
            let unified = statfs(root + "/sys/fs/cgroup", &info) == 0 && Int(info.f_type) == SWATCH_CGROUP2_SUPER_MAGIC
            return unified == (parameter == "v2")
        }
        // v1 names of the same controllers: cpuacct is cpu's, blkio is io's; devices is BPF on v2.
        let known = ["cpu": "cpu", "cpuacct": "cpu", "cpuset": "cpuset", "io": "io", "blkio": "io",
                     "memory": "memory", "pids": "pids", "devices": ""]
        let wanted = Self.words(parameter).compactMap { known[String($0)] }
        let available = Set(Self.words(read("/sys/fs/cgroup/cgroup.controllers") ?? ""))
        return wanted.allSatisfy { $0.isEmpty || available.contains(Substring($0)) }
    }

    /// `lstat`; nil when nothing is there.
    private func linkStatus(_ path: String) -> Glibc.stat? {
        var info = Glibc.stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// condition_test_kernel_module_loaded(): /sys/module/NAME (`-` as `_`), live unless it
    /// says otherwise.
    func kernelModuleLoaded(_ name: String) -> Bool {
        let directory = "/sys/module/" + String(name.map { $0 == "-" ? "_" : $0 })
        guard access(root + directory, F_OK) == 0 else { return false }
        return read(directory + "/initstate").map { $0.trimmingWhitespace() == "live" } ?? true
    }
}
