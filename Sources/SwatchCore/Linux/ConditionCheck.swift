import CSwatch
import Glibc

/// Tests `Condition…=`/`Assert…=` against this machine and this swatchd, as
/// systemd's src/shared/condition.c does: User=, Group= and Environment= are
/// about the service manager itself, not the service.
package struct ConditionCheck {
    /// swatchd's own environment (ConditionEnvironment=).
    package var environment: [String]
    /// The words of /proc/cmdline (ConditionKernelCommandLine=).
    package var kernelCommandLine: () -> [String]

    /// Where the machine facts are read (a test points it at a fake tree): `/`.
    package var root: String

    package init(environment: [String], kernelCommandLine: @escaping () -> [String] = ConditionCheck.procCommandLine,
                 root: String = "") {
        self.environment = environment
        self.kernelCommandLine = kernelCommandLine
        self.root = root
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
        case .virtualization:
            return virtualizationHolds(parameter)
        case .capability:
            // condition_test_capability(): the bounding set of the manager, CapBnd: of /proc/self/status.
            guard let number = ValueParser.capabilityNames.firstIndex(of: parameter.lowercased()),
                  let bounding = statusField("CapBnd"), let bits = UInt64(bounding, radix: 16) else { return false }
            return bits & (1 << UInt64(number)) != 0
        case .security:
            return securityHolds(parameter)
        case .acPower:
            // condition_test_ac_power(): on_ac_power() against the boolean.
            guard let wanted = ValueParser.boolean(parameter) else { return false }
            return onACPower() == wanted
        case .firstBoot:
            // condition_test_first_boot(): /run/systemd/first-boot, which systemd creates on a first boot.
            guard let wanted = ValueParser.boolean(parameter) else { return false }
            return (access(root + "/run/systemd/first-boot", F_OK) == 0) == wanted
        case .architecture:
            return architectureHolds(parameter)
        case .kernelVersion:
            return versionHolds(parameter, version: uname().release)
        case .osRelease:
            return osReleaseHolds(parameter)
        case .memory:
            return memoryHolds(parameter)
        case .cpus:
            return cpusHolds(parameter)
        case .credential:
            return credentialHolds(parameter)
        case .needsUpdate:
            return needsUpdate(parameter)
        case .controlGroupController:
            return controllersHold(parameter)
        case .kernelModuleLoaded:
            return kernelModuleLoaded(parameter)
        case .firmware:
            return firmwareHolds(parameter)
        case .cpuFeature:
            return cpuFeatureHolds(parameter)
        case .pathIsEncrypted:
            return pathIsEncrypted(parameter)
        case .memoryPressure:
            return pressureHolds(parameter, resource: "memory")
        case .cpuPressure:
            return pressureHolds(parameter, resource: "cpu")
        case .ioPressure:
            return pressureHolds(parameter, resource: "io")
        }
    }

    // MARK: - Virtualization (src/basic/virt.c, the common cases)

    /// What swatchd runs in: a container first (as detect_virtualization()), else a VM, else nil.
    package func detectVirtualization() -> (id: String, isContainer: Bool)? {
        if let container = detectContainer() { return (container, true) }
        if let vm = detectVM() { return (vm, false) }
        return nil
    }

    /// detect_container(): $container of PID 1 (or /run/systemd/container), then the marker
    /// files of podman and docker.
    package func detectContainer() -> String? {
        if let value = read("/run/systemd/container")?.trimmingWhitespace(), !value.isEmpty {
            return containerName(value)
        }
        if let environ = read("/proc/1/environ") {
            for entry in environ.split(separator: "\0") where entry.hasPrefix("container=") {
                let value = String(entry.dropFirst("container=".count))
                if !value.isEmpty { return containerName(value) }
            }
        }
        if access(root + "/run/.containerenv", F_OK) == 0 { return "podman" }
        if access(root + "/.dockerenv", F_OK) == 0 { return "docker" }
        if let release = read("/proc/sys/kernel/osrelease"), release.containsText("Microsoft") || release.containsText("WSL") {
            return "wsl"
        }
        return nil
    }

    /// The names of $container systemd knows (virtualization_from_string()); `oci` is docker's.
    private func containerName(_ value: String) -> String {
        value == "oci" ? "docker" : value
    }

    /// detect_vm(): the DMI vendor strings, then the CPU's hypervisor flag (`vm-other`).
    package func detectVM() -> String? {
        let vendors: [(String, String)] = [
            ("KVM", "kvm"), ("OpenStack", "kvm"), ("KubeVirt", "kvm"), ("Amazon EC2", "amazon"), ("QEMU", "qemu"),
            ("VMware", "vmware"), ("VMW", "vmware"), ("innotek GmbH", "oracle"), ("VirtualBox", "oracle"),
            ("Oracle Corporation", "oracle"), ("Xen", "xen"), ("Bochs", "bochs"), ("Parallels", "parallels"),
            ("BHYVE", "bhyve"), ("Hyper-V", "microsoft"), ("Apple Virtualization", "apple"), ("Google", "google"),
        ]
        for file in ["product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"] {
            guard let text = read("/sys/class/dmi/id/" + file) else { continue }
            if let (_, id) = vendors.first(where: { text.hasPrefix($0.0) }) { return id }
            if file == "sys_vendor", text.hasPrefix("Microsoft Corporation"),
               read("/sys/class/dmi/id/product_name")?.hasPrefix("Virtual Machine") == true {
                return "microsoft"
            }
        }
        if access(root + "/proc/xen", F_OK) == 0 { return "xen" }
        if let cpuinfo = read("/proc/cpuinfo") {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
                if line.split(separator: " ").contains("hypervisor") { return "vm-other" }
                break
            }
        }
        return nil
    }

    private static let containerIDs: Set<String> = [
        "openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch",
        "container-other",
    ]

    /// condition_test_virtualization(): a boolean (any virtualization), `vm`, `container`,
    /// `private-users`, or the id of one.
    private func virtualizationHolds(_ parameter: String) -> Bool {
        switch parameter {
        case "vm": return detectVM() != nil
        case "container": return detectContainer() != nil
        case "private-users":
            // A user namespace that does not map the whole range (running_in_userns()).
            guard let map = read("/proc/self/uid_map") else { return false }
            let words = Self.words(map)
            return !(words.count == 3 && words[0] == "0" && words[1] == "0" && words[2] == "4294967295")
        default:
            let detected = detectVirtualization()
            if let wanted = ValueParser.boolean(parameter) { return wanted == (detected != nil) }
            if Self.containerIDs.contains(parameter) { return detectContainer() == parameter }
            return detected?.id == parameter
        }
    }

    // MARK: - Security (condition_test_security(), src/shared/condition.c)

    private func securityHolds(_ parameter: String) -> Bool {
        switch parameter {
        case "selinux":
            return access(root + "/sys/fs/selinux/enforce", F_OK) == 0
        case "apparmor":
            return read("/sys/module/apparmor/parameters/enabled")?.hasPrefix("Y") == true
        case "smack":
            return access(root + "/sys/fs/smackfs", F_OK) == 0
        case "ima":
            return access(root + "/sys/kernel/security/ima", F_OK) == 0
        case "tomoyo":
            return access(root + "/sys/kernel/security/tomoyo/version", F_OK) == 0
        case "audit":
            // use_audit(): an audit netlink socket can be had.
            let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 9 /* NETLINK_AUDIT */)
            if fd < 0 { return errno != EAFNOSUPPORT && errno != EPROTONOSUPPORT && errno != EPERM }
            close(fd)
            return true
        case "uefi-secureboot":
            // The SecureBoot EFI variable: 4 bytes of attributes, then 1 when enabled.
            let path = root + "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
            guard let bytes = try? UnitDirectory.read(path).get() else { return false }
            return bytes.count >= 5 && bytes[4] == 1
        case "tpm2":
            return ServiceDirectories.entries(of: root + "/sys/class/tpmrm").isEmpty == false
        case "measured-uki":
            return access(root + "/sys/firmware/efi/efivars/StubPcrKernelImage-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f",
                          F_OK) == 0
        default:
            // `cvm` (a confidential VM) and names swatchd does not know: not detected.
            return false
        }
    }

    // MARK: - Power

    /// on_ac_power() (src/shared/battery-util.c): a Mains supply online, or no Mains supply known at all.
    package func onACPower() -> Bool {
        var foundOnline = false, foundOffline = false
        let directory = root + "/sys/class/power_supply"
        for entry in ServiceDirectories.entries(of: directory) {
            guard read("/sys/class/power_supply/\(entry)/type")?.trimmingWhitespace() == "Mains" else { continue }
            switch read("/sys/class/power_supply/\(entry)/online")?.trimmingWhitespace() {
            case "1": foundOnline = true
            case "0": foundOffline = true
            default: break
            }
        }
        return foundOnline || !foundOffline
    }

    func read(_ path: String) -> String? {
        try? FileSystem.readText(root + path)
    }

    /// A field of /proc/self/status (`CapBnd`), its value trimmed.
    func statusField(_ name: String) -> String? {
        guard let text = try? FileSystem.readText("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1)).trimmingWhitespace()
        }
        return nil
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
        return words(text).map(String.init)
    }

    /// The words of `text` between whitespace; one splitter for every check, not a copy each.
    static func words(_ text: String) -> [Substring] {
        text.splitAtWhitespace()
    }
}
