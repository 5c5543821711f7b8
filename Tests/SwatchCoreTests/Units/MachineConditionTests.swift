import Glibc
import Testing
@testable import SwatchCore

/// The conditions on what the machine is and has (systemd.unit(5)): versions compared as
/// systemd's strverscmp_improved() does, os-release(5), memory, CPUs, credentials, the
/// /usr update stamp, cgroup controllers and kernel modules.
@Suite struct MachineConditionTests {
    /// systemd's own ordering test of strverscmp_improved() (src/test/test-string-util.c).
    @Test func versionsCompareAsSystemdDoes() {
        let ordered = ["~1", "", "ab", "abb", "abc", "0001", "002", "12", "122", "122.9", "123~rc1", "123", "123-a",
                       "123-a.1", "123-a1", "123-a1.1", "123-3", "123-3.1", "123^patch1", "123^1", "123.a-1",
                       "123.1-1", "123a-1", "124"]
        for (i, a) in ordered.enumerated() {
            for (j, b) in ordered.enumerated() {
                let order = CompareOperator.compareVersions(a, b)
                #expect((order < 0) == (i < j) && (order == 0) == (i == j), "\(a) against \(b): \(order)")
            }
        }
        #expect(CompareOperator.compareVersions("6.1.0-13-amd64", "6.1") > 0)
        #expect(CompareOperator.compareVersions("5.10.0", "6.1") < 0)
        #expect(CompareOperator.compareVersions("1.0", "1.00") == 0)
    }

    @Test func kernelVersionExpressionsMustAllHold() {
        let check = ConditionCheck(environment: [])
        let version = "6.1.0-13-amd64"
        for holding in [">=6.1", "6.1.*", "$=6.*", ">= 5.10", "\">=5.10\" \"<7\"", "=6.1.0-13-amd64", "!=6.1", "<>6.0",
                        "!$=5.*", "==6.1.0-13-amd64"] {
            #expect(check.versionHolds(holding, version: version), "\(holding)")
        }
        for failing in ["<6", "5.*", ">=6.1 <6.1", "=6.1", ">=", "", "\">=5\" \"<=\""] {
            #expect(!check.versionHolds(failing, version: version), "\(failing)")
        }
    }

    /// A fake machine below a temporary root.
    private func machine(_ files: [String: String], environment: [String] = [],
                         commandLine: [String] = []) -> (ShortTemporaryDirectory, ConditionCheck) {
        let directory = ShortTemporaryDirectory()
        for (path, contents) in files {
            let full = directory.path + path
            // A path ending in `/` is a directory.
            _ = system(path.hasSuffix("/") ? "mkdir -p '\(full)'" : "mkdir -p \"$(dirname '\(full)')\"")
            if path.hasSuffix("/") { continue }
            let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            _ = Array(contents.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        return (directory, ConditionCheck(environment: environment, kernelCommandLine: { commandLine }, root: directory.path))
    }

    @Test func osReleaseComparesItsKeys() {
        let (d, debian) = machine(["/etc/os-release": "ID=debian\nVERSION_ID=\"12\"\nNAME='Debian GNU/Linux'\n"])
        defer { _ = d }
        func holds(_ p: String) -> Bool { debian.holds(UnitCondition(.osRelease, p)) }
        #expect(holds("ID=debian") && holds("VERSION_ID>=11") && holds("ID$=deb*") && holds("ID=debian VERSION_ID<13"))
        #expect(holds("\"NAME=Debian GNU/Linux\"") && holds("VARIANT_ID!=server") && holds("BUILD_ID!$=?*"))
        #expect(!holds("ID=ubuntu") && !holds("VERSION_ID<12") && !holds("ID=debian VERSION_ID>12"))
        #expect(!holds("ID") && !holds("ID= debian") && !holds("VARIANT_ID=x"), "malformed, or a missing key compared as empty")
        let (d2, usrOnly) = machine(["/usr/lib/os-release": "ID=fedora\n"])
        defer { _ = d2 }
        #expect(usrOnly.holds(UnitCondition(.osRelease, "ID=fedora")))
    }

    @Test func memoryAndCPUsCompareWithWhatSwatchdHas() {
        let check = ConditionCheck(environment: [])
        let cpus = check.cpusInAffinityMask()
        #expect(cpus >= 1 && cpus <= sysconf(Int32(_SC_NPROCESSORS_CONF)))
        #expect(check.holds(UnitCondition(.cpus, "\(cpus)")), "no operator: at least")
        #expect(check.holds(UnitCondition(.cpus, "=\(cpus)")) && check.holds(UnitCondition(.cpus, "<\(cpus + 1)")))
        #expect(!check.holds(UnitCondition(.cpus, ">\(cpus)")) && !check.holds(UnitCondition(.cpus, "!=\(cpus)")))
        #expect(!check.holds(UnitCondition(.cpus, ">=many")))
        let memory = check.physicalMemory()
        let total = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        #expect(memory > 0 && memory <= total)
        #expect(check.holds(UnitCondition(.memory, "1M")) && check.holds(UnitCondition(.memory, ">= 64K")))
        #expect(check.holds(UnitCondition(.memory, "<=\(memory)")) && !check.holds(UnitCondition(.memory, "<\(memory)")))
        #expect(!check.holds(UnitCondition(.memory, ">1E")) && !check.holds(UnitCondition(.memory, "=lots")))
    }

    @Test func architectureIsUnamesInSystemdsNames() {
        #expect(ConditionCheck.architecture(machine: "x86_64") == "x86-64")
        #expect(ConditionCheck.architecture(machine: "i686") == "x86")
        #expect(ConditionCheck.architecture(machine: "aarch64") == "arm64")
        #expect(ConditionCheck.architecture(machine: "armv7l") == "arm")
        #expect(ConditionCheck.architecture(machine: "ppc64le") == "ppc64-le")
        #expect(ConditionCheck.architecture(machine: "vax") == nil)
        let check = ConditionCheck(environment: [])
        let own = ConditionCheck.architecture(machine: check.uname().machine)
        #expect(own != nil)
        #expect(check.holds(UnitCondition(.architecture, "native")) && check.holds(UnitCondition(.architecture, own ?? "")))
        #expect(!check.holds(UnitCondition(.architecture, own == "s390x" ? "arm64" : "s390x")))
    }

    @Test func credentialIsAFileOfSwatchdsCredentialsDirectory() {
        let (d, _) = machine(["/creds/token": "secret"])
        defer { _ = d }
        let check = ConditionCheck(environment: ["CREDENTIALS_DIRECTORY=\(d.path)/creds"])
        #expect(check.holds(UnitCondition(.credential, "token")))
        #expect(!check.holds(UnitCondition(.credential, "other")) && !check.holds(UnitCondition(.credential, "../creds/token")))
        #expect(!ConditionCheck(environment: []).holds(UnitCondition(.credential, "token")))
    }

    @Test func needsUpdateComparesUsrWithTheStamp() {
        func setTime(_ path: String, _ seconds: Int) {
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0)
        }
        let (d, check) = machine(["/usr/": "", "/etc/.updated": "# stamp\n", "/var/": ""])
        defer { _ = d }
        setTime(d.path + "/usr", 2_000)
        setTime(d.path + "/etc/.updated", 1_000)
        #expect(check.holds(UnitCondition(.needsUpdate, "/etc")), "/usr is newer")
        #expect(check.holds(UnitCondition(.needsUpdate, "/var")), "no stamp")
        setTime(d.path + "/etc/.updated", 3_000)
        #expect(!check.holds(UnitCondition(.needsUpdate, "/etc")))
        let (d2, forced) = machine(["/usr/": ""], commandLine: ["systemd.condition-needs-update=no"])
        defer { _ = d2 }
        #expect(!forced.holds(UnitCondition(.needsUpdate, "/etc")), "the kernel command line decides")
    }

    @Test func controllersAndModulesReadTheirFiles() {
        let (d, check) = machine(["/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
                                  "/sys/module/foo_bar/initstate": "live\n", "/sys/module/builtin/": "",
                                  "/sys/module/loading/initstate": "coming\n"])
        defer { _ = d }
        func holds(_ kind: UnitCondition.Check, _ p: String) -> Bool { check.holds(UnitCondition(kind, p)) }
        #expect(holds(.controlGroupController, "cpu memory") && holds(.controlGroupController, "cpuacct blkio devices"))
        #expect(holds(.controlGroupController, "frobnicate"), "names systemd does not know are left out")
        #expect(holds(.controlGroupController, "memory hugetlb misc rdma"), "hugetlb, misc and rdma are not systemd's")
        #expect(!holds(.controlGroupController, "v2") && holds(.controlGroupController, "v1"), "the fake tree is no cgroup2")
        let (d2, bare) = machine(["/sys/fs/cgroup/cgroup.controllers": "pids\n"])
        defer { _ = d2 }
        #expect(!bare.holds(UnitCondition(.controlGroupController, "memory")))
        #expect(holds(.kernelModuleLoaded, "foo-bar") && holds(.kernelModuleLoaded, "builtin"))
        #expect(!holds(.kernelModuleLoaded, "loading") && !holds(.kernelModuleLoaded, "absent"))
    }

    @Test func firmwareIsReadFromSys() {
        let (d, efi) = machine(["/sys/firmware/efi/": "", "/proc/device-tree/compatible": "acme,board-2\0acme,board\0",
                                "/sys/class/dmi/id/board_vendor": "ACME Inc.\n", "/sys/class/dmi/id/bios_version": "1.5\n"])
        defer { _ = d }
        func holds(_ p: String) -> Bool { efi.holds(UnitCondition(.firmware, p)) }
        #expect(holds("uefi") && !holds("device-tree"))
        #expect(holds("device-tree-compatible(acme,board)") && !holds("device-tree-compatible(acme)"))
        #expect(holds("smbios-field(board_vendor = ACME Inc.)") && holds("smbios-field(board_vendor $= ACME*)"))
        #expect(holds("smbios-field(bios_version < 2.0)") && !holds("smbios-field(bios_version >= 2.0)"))
        #expect(!holds("smbios-field(product_name = x)") && !holds("smbios-field(../x = y)") && !holds("bios"),
                "a field that is not there, a path, a kind systemd does not know")
    }

    #if arch(x86_64)
    /// CPUID flags by systemd's names: what every x86-64 processor has, in any case.
    @Test func cpuFeaturesAreCPUIDFlags() {
        let check = ConditionCheck(environment: [])
        for flag in ["fpu", "sse2", "lm", "SSE2", "syscall"] {
            #expect(check.holds(UnitCondition(.cpuFeature, flag)), "\(flag)")
        }
        #expect(!check.holds(UnitCondition(.cpuFeature, "swatchd-no-such-flag")))
    }
    #endif

    /// dm-crypt, or a device stacked on dm-crypt devices only (the `slaves/` links).
    @Test func encryptionFollowsTheDevicesBelow() throws {
        let (d, check) = machine(["/sys/block/dm-0/dm/uuid": "CRYPT-LUKS2-0123-root\n",
                                  "/sys/block/dm-1/dm/uuid": "LVM-abc\n", "/sys/block/dm-1/slaves/": "",
                                  "/sys/block/dm-2/dm/uuid": "LVM-def\n", "/sys/block/dm-2/slaves/": "",
                                  "/sys/block/sda/size": "1\n"])
        defer { _ = d }
        #expect(symlink(d.path + "/sys/block/dm-0", d.path + "/sys/block/dm-1/slaves/dm-0") == 0)
        #expect(symlink(d.path + "/sys/block/dm-0", d.path + "/sys/block/dm-2/slaves/dm-0") == 0)
        #expect(symlink(d.path + "/sys/block/sda", d.path + "/sys/block/dm-2/slaves/sda") == 0)
        #expect(check.blockDeviceIsEncrypted("/sys/block/dm-0", depth: 10) == true)
        #expect(check.blockDeviceIsEncrypted("/sys/block/dm-1", depth: 10) == true, "LVM on LUKS")
        #expect(check.blockDeviceIsEncrypted("/sys/block/dm-2", depth: 10) == false, "one device below is plain")
        #expect(check.blockDeviceIsEncrypted("/sys/block/sda", depth: 10) == false)
        #expect(!ConditionCheck(environment: []).holds(UnitCondition(.pathIsEncrypted, "/proc")), "no block device")
    }

    @Test func pressureIsComparedWithTheAverageOfItsWindow() {
        let (d, check) = machine([
            "/proc/pressure/memory": "some avg10=1.50 avg60=0.80 avg300=0.20 total=9\nfull avg10=0.75 avg60=0.40 avg300=0.10 total=5\n",
            "/proc/pressure/cpu": "some avg10=5.00 avg60=3.00 avg300=1.00 total=9\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
            "/proc/self/cgroup": "0::/init.scope\n", "/sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n",
            "/sys/fs/cgroup/system.slice/memory.pressure": "some avg10=60.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=50.00 avg60=0.00 avg300=0.00 total=1\n",
        ])
        defer { _ = d }
        func memory(_ p: String) -> Bool { check.holds(UnitCondition(.memoryPressure, p)) }
        #expect(memory("1%") && !memory("0.05%"), "the 5-minute average of `full`")
        #expect(memory("0.8%/10sec") && !memory("0.7%/10sec") && memory("50‱/1min") && !memory("30‱/1min"))
        #expect(!memory("abc") && !memory("5") && !memory("101%") && !memory("1%/2min"), "invalid: not met")
        #expect(check.holds(UnitCondition(.cpuPressure, "5%/10sec")) && !check.holds(UnitCondition(.cpuPressure, "4.99%/10sec")),
                "the system's CPU pressure is `some`")
        #expect(check.holds(UnitCondition(.ioPressure, "0%")), "no pressure reported: holds")
        #expect(!memory("system.slice:40%/10sec") && memory("system.slice:50%/10sec"))
        #expect(memory("foo-bar.slice:0%"), "a slice that is not there holds, as under systemd")
        #expect(ConditionCheck.permyriad("12.34%") == 1234 && ConditionCheck.permyriad("7.5%") == 750
                && ConditionCheck.permyriad("100%") == 10_000 && ConditionCheck.permyriad("1.234%") == nil)
        #expect(ConditionCheck.permyriad("184467440737095516%") == nil && !memory("18446744073709551615%"),
                "a number that would overflow is no value (and no trap)")
    }
}
