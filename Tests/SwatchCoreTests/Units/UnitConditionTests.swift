import Glibc
import Testing
@testable import SwatchCore

/// Condition…=/Assert…= (systemd.unit(5), "Conditions and Asserts"): how they
/// parse, how a list of them holds, and what each check asks of the machine.
@Suite struct UnitConditionTests {
    private func load(_ unitSection: String) -> UnitSet {
        UnitSet.parse([UnitSource(path: "u/a.service", text: "[Unit]\n\(unitSection)\n[Service]\nExecStart=/bin/true\n")],
                      context: UnitSetTests.context, checkExecutables: false)
    }

    private func conditions(_ set: UnitSet) -> [String] {
        set.services[UnitName(prefix: "a", type: .service)]?.unit.conditions.map(\.description) ?? ["<refused>"]
    }

    @Test func parsesTriggerAndNegationInSystemdsOrderWithSpecifiersExpanded() {
        let set = load("""
            ConditionPathExists=/etc/%H.conf
            ConditionPathExists=|!/run/a
            ConditionPathExists=| /run/b
            AssertUser=!root
            ConditionEnvironment=MODE=debug
            """)
        #expect(set.diagnostics.isEmpty)
        #expect(conditions(set) == ["ConditionPathExists=/etc/box.conf", "ConditionPathExists=|!/run/a",
                                    "ConditionPathExists=|/run/b", "AssertUser=!root", "ConditionEnvironment=MODE=debug"])
    }

    /// An empty value resets the conditions (or the assertions) assigned before it, of every kind.
    @Test func anEmptyValueResetsConditionsOrAssertions() {
        #expect(conditions(load("ConditionPathExists=/a\nConditionUser=root\nAssertHost=box\nConditionFileNotEmpty=\n"))
            == ["AssertHost=box"])
        #expect(conditions(load("ConditionPathExists=/a\nAssertHost=box\nAssertUser=\n")) == ["ConditionPathExists=/a"])
    }

    @Test func aRelativePathOrAMissingParameterRefusesTheUnit() {
        let relative = load("ConditionPathExists=etc/foo")
        #expect(conditions(relative) == ["<refused>"])
        #expect(relative.diagnostics.map(\.description)
            == ["u/a.service:2: Path is not absolute in ConditionPathExists=, refusing the unit: etc/foo"])
        #expect(conditions(load("AssertPathIsDirectory=!")) == ["<refused>"])
    }

    /// Every check of systemd 252 loads.
    @Test func theMachineChecksLoad() {
        let platform = load("ConditionCPUPressure=10%\nConditionMemoryPressure=system.slice:20%%/1min\n"
            + "AssertFirmware=uefi\nConditionCPUFeature=avx2\nConditionPathIsEncrypted=/var\nConditionIOPressure=50‱")
        #expect(platform.diagnostics.isEmpty)
        #expect(conditions(platform).count == 6)
        let machine = load("ConditionArchitecture=native\nConditionKernelVersion=>=4.0\nConditionOSRelease=ID=debian\n"
            + "ConditionMemory=>=1G\nAssertCPUs=>1\nConditionCredential=token\nConditionNeedsUpdate=/etc\n"
            + "ConditionControlGroupController=memory\nConditionKernelModuleLoaded=loop")
        #expect(machine.diagnostics.isEmpty)
        #expect(conditions(machine).count == 9)
        #expect(load("ConditionNeedsUpdate=etc").diagnostics.map(\.description)
            == ["u/a.service:2: Path is not absolute in ConditionNeedsUpdate=, refusing the unit: etc"])
        // These are evaluated, no longer ignored: a unit systemd would skip is skipped.
        let evaluated = load("ConditionVirtualization=container\nConditionCapability=CAP_NET_ADMIN\nAssertSecurity=selinux\nConditionACPower=true\nConditionFirstBoot=no")
        #expect(evaluated.diagnostics.isEmpty)
        #expect(conditions(evaluated).count == 5)
    }

    /// A fake machine below `root` (systemd's virt.c, battery-util.c and condition.c read these files).
    private func machine(_ files: [String: String]) -> (ShortTemporaryDirectory, ConditionCheck) {
        let directory = ShortTemporaryDirectory()
        for (path, contents) in files {
            let full = directory.path + path
            _ = system("mkdir -p \"$(dirname '\(full)')\"")
            let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            let bytes = Array(contents.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        return (directory, ConditionCheck(environment: [], root: directory.path))
    }

    @Test func virtualizationIsDetectedAsSystemdDetectVirtDoes() {
        let (d1, docker) = machine(["/.dockerenv": "", "/proc/cpuinfo": "flags\t\t: fpu hypervisor sse\n"])
        defer { _ = d1 }
        #expect(docker.holds(UnitCondition(.virtualization, "container")))
        #expect(docker.holds(UnitCondition(.virtualization, "docker")))
        #expect(docker.holds(UnitCondition(.virtualization, "yes")))
        #expect(!docker.holds(UnitCondition(.virtualization, "podman")))
        #expect(docker.holds(UnitCondition(.virtualization, "vm")), "the hypervisor flag: a VM underneath")
        let (d2, kvm) = machine(["/sys/class/dmi/id/sys_vendor": "QEMU\n", "/proc/cpuinfo": "flags: fpu hypervisor\n"])
        defer { _ = d2 }
        #expect(kvm.holds(UnitCondition(.virtualization, "vm")) && kvm.holds(UnitCondition(.virtualization, "qemu")))
        #expect(!kvm.holds(UnitCondition(.virtualization, "container")) && !kvm.holds(UnitCondition(.virtualization, "no")))
        let (d3, podman) = machine(["/proc/1/environ": "PATH=/bin\0container=podman\0"])
        defer { _ = d3 }
        #expect(podman.detectContainer() == "podman")
        let (d4, bare) = machine(["/proc/cpuinfo": "flags: fpu sse\n"])
        defer { _ = d4 }
        #expect(bare.holds(UnitCondition(.virtualization, "no")) && !bare.holds(UnitCondition(.virtualization, "vm")))
    }

    @Test func acPowerFirstBootAndSecurityReadTheMachine() {
        let (d1, battery) = machine(["/sys/class/power_supply/AC/type": "Mains\n", "/sys/class/power_supply/AC/online": "0\n",
                                     "/run/systemd/first-boot": "", "/sys/module/apparmor/parameters/enabled": "Y\n"])
        defer { _ = d1 }
        #expect(battery.holds(UnitCondition(.acPower, "false")) && !battery.holds(UnitCondition(.acPower, "true")))
        #expect(battery.holds(UnitCondition(.firstBoot, "yes")))
        #expect(battery.holds(UnitCondition(.security, "apparmor")) && !battery.holds(UnitCondition(.security, "selinux")))
        let (d2, server) = machine([:])
        defer { _ = d2 }
        // No Mains supply known at all counts as AC power (on_ac_power()).
        #expect(server.holds(UnitCondition(.acPower, "true")) && server.holds(UnitCondition(.firstBoot, "no")))
        #expect(!server.holds(UnitCondition(.security, "apparmor")))
    }

    @Test func capabilityIsSwatchdsBoundingSet() throws {
        let status = try #require(try? FileSystem.readText("/proc/self/status"))
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") })
        let bits = try #require(UInt64(line.dropFirst(7).trimmingWhitespace(), radix: 16))
        let check = ConditionCheck(environment: [])
        #expect(check.holds(UnitCondition(.capability, "CAP_CHOWN")) == (bits & 1 != 0))
        #expect(check.holds(UnitCondition(.capability, "cap_net_admin")) == (bits & (1 << 12) != 0))
        #expect(!check.holds(UnitCondition(.capability, "CAP_NO_SUCH")))
    }

    /// condition_test_list(): every plain one must hold; of the triggering ones, at least one.
    @Test func aListHoldsWhenEveryPlainOneAndAnyTriggeringOneHolds() {
        func failure(_ list: [UnitCondition], true holding: Set<String>) -> String? {
            UnitCondition.firstFailure(of: list, holds: { holding.contains($0.parameter) })?.description
        }
        let a = UnitCondition(.pathExists, "/a"), b = UnitCondition(.pathExists, "/b")
        let ta = UnitCondition(.pathExists, "/a", triggering: true), tb = UnitCondition(.pathExists, "/b", triggering: true)
        #expect(failure([], true: []) == nil)
        #expect(failure([a, b], true: ["/a", "/b"]) == nil)
        #expect(failure([a, b], true: ["/a"]) == "ConditionPathExists=/b")
        #expect(failure([ta, tb], true: ["/b"]) == nil)
        #expect(failure([ta, tb], true: []) == "ConditionPathExists=|/a")
        #expect(failure([a, ta, tb], true: ["/b"]) == "ConditionPathExists=/a")
        #expect(failure([UnitCondition(.pathExists, "/a", negated: true)], true: ["/a"]) == "ConditionPathExists=!/a")
        #expect(failure([UnitCondition(.pathExists, "/a", negated: true)], true: []) == nil)
    }

    @Test func skippedStartsAreLoggedInSystemdsWords() {
        #expect(UnitCondition(.pathExists, "/x", negated: true).skipMessage(for: "a.service")
            == "a.service was skipped because of an unmet condition check (ConditionPathExists=!/x).")
        #expect(UnitCondition(.user, "root", isAssertion: true).skipMessage(for: "a.service")
            == "a.service was skipped because of a failed assertion check (AssertUser=root).")
    }
}

@Suite struct ConditionCheckTests {
    private let check = ConditionCheck(environment: ["MODE=debug", "EMPTY="],
                                       kernelCommandLine: { ["quiet", "root=/dev/sda1", "swatch.debug"] })

    private func holds(_ kind: UnitCondition.Check, _ parameter: String) -> Bool {
        check.holds(UnitCondition(kind, parameter))
    }

    @Test func pathChecksLookAtTheFileSystem() throws {
        let directory = ShortTemporaryDirectory()
        let d = directory.path
        #expect(mkdir(d + "/empty", 0o755) == 0 && mkdir(d + "/full", 0o755) == 0 && mkdir(d + "/hidden", 0o755) == 0)
        #expect(close(open(d + "/full/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)) == 0)
        #expect(close(open(d + "/hidden/.dot", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)) == 0)
        let fd = open(d + "/script", O_WRONLY | O_CREAT | O_CLOEXEC, 0o755)
        #expect(write(fd, "#!/bin/sh\n", 10) == 10 && close(fd) == 0)
        #expect(symlink(d + "/script", d + "/link") == 0)

        #expect(holds(.pathExists, d + "/full/file") && !holds(.pathExists, d + "/nothing"))
        #expect(holds(.pathExistsGlob, d + "/f*/fi?e") && !holds(.pathExistsGlob, d + "/x*"))
        #expect(holds(.pathIsDirectory, d + "/empty") && !holds(.pathIsDirectory, d + "/script"))
        #expect(holds(.pathIsSymbolicLink, d + "/link") && !holds(.pathIsSymbolicLink, d + "/script"))
        #expect(holds(.directoryNotEmpty, d + "/full") && !holds(.directoryNotEmpty, d + "/empty"))
        #expect(!holds(.directoryNotEmpty, d + "/hidden"), "hidden entries do not count")
        #expect(!holds(.directoryNotEmpty, d + "/script") && !holds(.directoryNotEmpty, d + "/nothing"))
        #expect(holds(.fileNotEmpty, d + "/script") && !holds(.fileNotEmpty, d + "/full/file"))
        #expect(holds(.fileIsExecutable, d + "/link") && !holds(.fileIsExecutable, d + "/full/file"))
        #expect(holds(.pathIsMountPoint, "/proc") && !holds(.pathIsMountPoint, d + "/full"))
        #expect(holds(.pathIsReadWrite, d) && !holds(.pathIsReadWrite, d + "/nothing"))
    }

    @Test func environmentAndKernelCommandLineMatchAWordOrItsName() {
        #expect(holds(.environment, "MODE") && holds(.environment, "MODE=debug") && holds(.environment, "EMPTY"))
        #expect(!holds(.environment, "MODE=release") && !holds(.environment, "MOD"))
        #expect(holds(.kernelCommandLine, "quiet") && holds(.kernelCommandLine, "root"))
        #expect(holds(.kernelCommandLine, "root=/dev/sda1") && !holds(.kernelCommandLine, "root=/dev/sdb1"))
        #expect(!holds(.kernelCommandLine, "roo") && holds(.kernelCommandLine, "swatch.debug"))
    }

    /// User=, Group= and Host= are about swatchd itself.
    @Test func userGroupAndHostAreThoseOfTheManager() {
        let uid = getuid()
        #expect(holds(.user, String(uid)) && !holds(.user, String(uid + 1)))
        #expect(holds(.user, "@system") == (uid <= 999))
        #expect(!holds(.user, "no-such-user-swatch"))
        #expect(holds(.group, String(getgid())) && !holds(.group, "no-such-group-swatch"))
        var buffer = [UInt8](repeating: 0, count: 256)
        _ = gethostname(&buffer, 255)
        let host = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        #expect(holds(.host, host) && holds(.host, host.uppercased()) && holds(.host, "*"))
        #expect(!holds(.host, host + "-not"))
    }
}
