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
}
