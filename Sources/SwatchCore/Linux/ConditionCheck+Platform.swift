import CSwatch
import Glibc

/// The checks of the platform under the machine — firmware, the processor's flags, disk
/// encryption — and of its load (pressure stall information), as systemd's
/// src/shared/condition.c tests them.
extension ConditionCheck {
    // MARK: - Firmware (condition_test_firmware())

    /// `uefi`, `device-tree`, `device-tree-compatible(VALUE)` or `smbios-field(FIELD OP VALUE)`;
    /// anything else does not hold.
    func firmwareHolds(_ parameter: String) -> Bool {
        switch parameter {
        case "uefi":
            // is_efi_boot(): never in a container.
            return detectContainer() == nil && access(root + "/sys/firmware/efi/", F_OK) == 0
        case "device-tree":
            return access(root + "/sys/firmware/devicetree/", F_OK) == 0
        default:
            break
        }
        if let value = argument(of: "device-tree-compatible", in: parameter) {
            let compatible = read("/proc/device-tree/compatible") ?? ""
            return compatible.split(separator: "\0").contains { $0 == value }
        }
        if let expression = argument(of: "smbios-field", in: parameter) {
            // condition_test_firmware_smbios_field(): FIELD, an operator, a value (version or glob).
            var rest = Substring(expression.trimmingWhitespace())
            let field = rest.prefix { !"<>=!$ \t".contains($0) }
            rest = rest.dropFirst(field.count).drop { $0 == " " || $0 == "\t" }
            guard !field.isEmpty, !field.containsText("/"), field != ".", field != "..",
                  let op = CompareOperator.take(from: &rest, byString: true, glob: true),
                  let actual = read("/sys/class/dmi/id/" + field) else { return false }
            return op.holds(actual.trimmingWhitespace(), rest.trimmingWhitespace())
        }
        return false
    }

    /// `VALUE` of `NAME(VALUE)`, nil when `parameter` is not of that form.
    private func argument(of name: String, in parameter: String) -> String? {
        guard parameter.hasPrefix(name + "("), parameter.hasSuffix(")") else { return nil }
        return String(parameter.dropFirst(name.count + 1).dropLast())
    }

    // MARK: - CPU features (condition_test_cpufeature(), has_cpu_with_flag() in src/basic/virt.c)

    /// A flag of the processor's CPUID leaves, by systemd's names (lower case); x86 only, as
    /// CPUID is: elsewhere no flag holds.
    func cpuFeatureHolds(_ parameter: String) -> Bool {
        // LEAF:REGISTER (0 eax … 3 edx), then BIT=NAME words: systemd's table.
        let table = """
            1:3 0=fpu 1=vme 2=de 3=pse 4=tsc 5=msr 6=pae 7=mce 8=cx8 9=apic 11=sep 12=mtrr 13=pge 14=mca \
            15=cmov 16=pat 17=pse36 19=clflush 23=mmx 24=fxsr 25=sse 26=sse2 28=ht
            1:2 0=pni 1=pclmul 3=monitor 9=ssse3 12=fma3 13=cx16 19=sse4_1 20=sse4_2 22=movbe 23=popcnt \
            25=aes 26=xsave 27=osxsave 28=avx 29=f16c 30=rdrand
            7:1 3=bmi1 5=avx2 8=bmi2 18=rdseed 19=adx 29=sha_ni
            2147483649:3 11=syscall 27=rdtscp 29=lm
            2147483649:2 0=lahf_lm 5=abm
            2147483655:3 8=constant_tsc
            """
        let flag = parameter.lowercased()
        for line in table.split(separator: "\n") {
            var words = Self.words(String(line))[...]
            let source = words.removeFirst().split(separator: ":")
            guard let entry = words.first(where: { $0.hasSuffix("=" + flag) }),
                  let bit = UInt32(entry.prefix { $0 != "=" }), let leaf = UInt32(source[0]),
                  let register = Int(source[1]) else { continue }
            var registers: [UInt32] = [0, 0, 0, 0]
            guard swatch_cpuid(leaf, &registers) == 0 else { return false }
            return registers[register] & (1 << bit) != 0
        }
        return false
    }

    // MARK: - Encryption (path_is_encrypted(), src/shared/blockdev-util.c)

    /// The block device under `path` is dm-crypt, or stacked only on dm-crypt devices.
    func pathIsEncrypted(_ path: String) -> Bool {
        var info = Glibc.stat()
        guard stat(path, &info) == 0 else { return false }
        // glibc's major() and minor() (<sys/sysmacros.h>), macros Swift does not import.
        let device = UInt64(info.st_dev)
        let major = (device >> 8) & 0xfff | (device >> 32) & ~0xfff
        let minor = device & 0xff | (device >> 12) & ~0xff
        // A file system with no block device of its own (tmpfs, overlay, btrfs subvolumes) is not.
        guard major != 0 else { return false }
        return blockDeviceIsEncrypted("/sys/dev/block/\(major):\(minor)", depth: 10) == true
    }

    /// blockdev_is_encrypted(): a device mapper device whose uuid says CRYPT-, or one whose
    /// underlying devices (`slaves/`) all are; nil when it cannot be told.
    func blockDeviceIsEncrypted(_ device: String, depth: Int) -> Bool? {
        guard depth > 0 else { return nil }
        if read(device + "/dm/uuid")?.hasPrefix("CRYPT-") == true { return true }
        let below = ServiceDirectories.entries(of: root + device + "/slaves").filter { !$0.hasPrefix(".") }
        guard !below.isEmpty else { return false }
        for name in below {
            guard let resolved = realpath(root + device + "/slaves/" + name, nil) else { return nil }
            let next = String(cString: resolved).dropFirst(root.count)
            free(resolved)
            guard let encrypted = blockDeviceIsEncrypted(String(next), depth: depth - 1) else { return nil }
            if !encrypted { return false }
        }
        return true
    }

    // MARK: - Pressure (condition_test_psi())

    /// `[SLICE:]PERCENT[/10sec|/1min|/5min]`: the pressure of `resource` (`memory`, `cpu`, `io`)
    /// averaged over that window (5 minutes by default), system-wide or of a slice's cgroup, is at
    /// most PERCENT. It holds where the kernel reports no pressure, or where the slice or its
    /// controller is missing, as systemd's does.
    func pressureHolds(_ parameter: String, resource: String) -> Bool {
        guard access(root + "/proc/pressure/" + resource, R_OK) == 0 else { return true }
        let parts = parameter.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let path: String
        // The `full` line, except for the system's CPU, where only `some` is defined.
        var kind = "full"
        if parts.count == 1 {
            path = "/proc/pressure/" + resource
            if resource == "cpu" { kind = "some" }
        } else {
            guard let slice = slicePath(parts[0].trimmingWhitespace()) else { return false }
            let available = Self.words(read("/sys/fs/cgroup/cgroup.controllers") ?? "")
            guard available.contains(Substring(resource)) else { return true }
            // Below swatchd's own group, without a trailing /init.scope, as systemd's user manager does.
            var own = SandboxPlan.normalize(String(read("/proc/self/cgroup").flatMap(ProcessTracker.unifiedPath) ?? "/"))
            if own.hasSuffix("/init.scope") { own = String(own.dropLast("/init.scope".count)) }
            path = "/sys/fs/cgroup" + (own == "/" ? "" : own) + slice + "/" + resource + ".pressure"
        }
        let value = parts[parts.count - 1].split(separator: "/", maxSplits: 1)
        guard let limit = value.first.flatMap({ Self.permyriad($0.trimmingWhitespace()) }) else { return false }
        var window = "avg300"
        if value.count == 2 {
            let span = value[1].trimmingWhitespace()
            guard let name = [("10sec", "avg10"), ("1min", "avg60"), ("5min", "avg300")]
                .first(where: { span.hasPrefix($0.0) })?.1 else { return false }
            window = name
        }
        guard let text = read(path) else { return true }
        let lines = text.split(separator: "\n")
        // A cgroup's cpu.pressure gained its `full` line late: `some` where it has none.
        guard let line = lines.first(where: { $0.hasPrefix(kind + " ") }) ?? lines.first(where: { $0.hasPrefix("some ") }),
              let field = Self.words(String(line)).first(where: { $0.hasPrefix(window + "=") }),
              let current = Self.hundredths(field.dropFirst(window.count + 1)) else { return false }
        return current <= limit
    }

    /// cg_slice_to_path(): `a-b.slice` is `/a.slice/a-b.slice`; `-.slice` the root (empty).
    private func slicePath(_ name: String) -> String? {
        guard name.hasSuffix(".slice") else { return nil }
        if name == "-.slice" { return "" }
        let stem = name.dropLast(".slice".count)
        guard !stem.isEmpty, !stem.hasPrefix("-"), !stem.hasSuffix("-"), !stem.containsText("--"),
              !stem.containsText("/") else { return nil }
        var path = ""
        var end = stem.startIndex
        while let dash = stem[end...].firstIndex(of: "-") {
            path += "/" + stem[..<dash] + ".slice"
            end = stem.index(after: dash)
        }
        return path + "/" + name
    }

    /// parse_permyriad(): `N%`, `N.N%`, `N.NN%` (up to 100%) or `N‱` (up to 10000), in hundredths
    /// of a percent.
    static func permyriad(_ text: String) -> UInt64? {
        if text.hasSuffix("‱") {
            guard let value = UInt64(text.dropLast()), value <= 10_000 else { return nil }
            return value
        }
        guard text.hasSuffix("%"), let value = hundredths(text.dropLast()), value <= 10_000 else { return nil }
        return value
    }

    /// `N`, `N.N` or `N.NN` in hundredths (the kernel's pressure averages have two decimals).
    static func hundredths(_ text: Substring) -> UInt64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        // Bounded, so that no value a unit writes can overflow the product below.
        guard let whole = UInt64(parts[0]), !parts[0].hasPrefix("+"), whole <= 1_000_000_000 else { return nil }
        guard parts.count == 2 else { return whole * 100 }
        let fraction = parts[1]
        guard (1...2).contains(fraction.count), fraction.allSatisfy(\.isASCIIDigit), let digits = UInt64(fraction)
        else { return nil }
        return whole * 100 + (fraction.count == 1 ? digits * 10 : digits)
    }
}
