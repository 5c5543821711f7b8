import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// The sandbox as the spawn shim applies it between clone and execve
/// (shim.c), on real processes: what /proc says about a sandboxed child, and
/// how a step that fails is reported. Needs root (namespaces, setresuid).
/// Serialized: one test mounts a tmpfs on the host, another compares the host's mount table.
@Suite(.enabled(if: getuid() == 0), .serialized) struct SandboxSpawnTests {
    /// A sleeping child with `steps`; the caller kills it.
    private func sleeper(_ steps: [SandboxStep]) throws -> pid_t {
        try Spawner.spawn(SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "60"], sandbox: steps))
    }

    private func finish(_ pid: pid_t) {
        _ = try? Reaper.kill(pid, signal: SIGKILL)
        _ = LinuxTestSupport.waitForExit(pid)
    }

    private func field(_ name: String, of pid: pid_t) -> String? {
        LinuxTestSupport.read("/proc/\(pid)/status").split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .map { $0.dropFirst(name.count + 1).trimmingWhitespace() }
    }

    @Test func childRunsAsTheUserWithTheBoundingSetAskedAndNoNewPrivileges() throws {
        var sandbox = Sandbox()
        sandbox.user = "nobody"
        sandbox.capabilityBoundingSet = CapabilitySet(bits: CapabilitySet.all.bits & ~(UInt64(1) << 21))
        sandbox.noNewPrivileges = true
        let last = (try Capabilities.lastCapability())
        let steps = SandboxPlan.steps(for: sandbox, context: SandboxContext(
            credentials: Credentials(uid: 65534, gid: 65534, groups: [65534]), lastCapability: last))
        let pid = try sleeper(steps)
        defer { finish(pid) }
        #expect(field("Uid", of: pid) == "65534\t65534\t65534\t65534")
        #expect(field("Gid", of: pid) == "65534\t65534\t65534\t65534")
        #expect(field("Groups", of: pid) == "65534")
        #expect(field("NoNewPrivs", of: pid) == "1")
        // What the test process has (a container may lack some already), without CAP_SYS_ADMIN.
        let bounding = UInt64(field("CapBnd", of: pid) ?? "", radix: 16)
        let own = try #require(UInt64(field("CapBnd", of: getpid()) ?? "", radix: 16))
        #expect(own & (UInt64(1) << 21) != 0)
        #expect(bounding == own & ~(UInt64(1) << 21))
        #expect(field("CapEff", of: pid) == "0000000000000000")
    }

    /// AmbientCapabilities= for a non-root user: keepcaps across setresuid,
    /// capset, PR_CAP_AMBIENT_RAISE — the capability survives execve.
    @Test func aNonRootUserKeepsItsAmbientCapabilityAcrossExecve() throws {
        var sandbox = Sandbox()
        sandbox.user = "nobody"
        sandbox.ambientCapabilities = CapabilitySet(bits: 1 << 10)  // CAP_NET_BIND_SERVICE
        sandbox.noNewPrivileges = true
        let steps = SandboxPlan.steps(for: sandbox, context: SandboxContext(
            credentials: Credentials(uid: 65534, gid: 65534, groups: []), lastCapability: (try Capabilities.lastCapability())))
        let pid = try sleeper(steps)
        defer { finish(pid) }
        #expect(field("Uid", of: pid) == "65534\t65534\t65534\t65534")
        #expect(field("CapAmb", of: pid) == "0000000000000400")
        #expect(field("CapEff", of: pid) == "0000000000000400")
        #expect(field("CapPrm", of: pid) == "0000000000000400")
    }

    @Test func limitsNiceAndOOMScoreShowInProc() throws {
        var sandbox = Sandbox()
        sandbox.limits[.nofile] = LimitValue(soft: 1024, hard: 2048)
        sandbox.limits[.core] = LimitValue(soft: 0, hard: .max)
        sandbox.nice = 7
        sandbox.oomScoreAdjust = 321
        let pid = try sleeper(SandboxPlan.steps(for: sandbox, context: SandboxContext()))
        defer { finish(pid) }
        let limits = LinuxTestSupport.read("/proc/\(pid)/limits").split(separator: "\n")
        let files = limits.first { $0.hasPrefix("Max open files") }?.split(separator: " ", omittingEmptySubsequences: true)
        #expect(files?.suffix(3).map(String.init) == ["1024", "2048", "files"])
        let core = limits.first { $0.hasPrefix("Max core file size") }?.split(separator: " ", omittingEmptySubsequences: true)
        #expect(core?.suffix(3).map(String.init) == ["0", "unlimited", "bytes"])
        // stat field 19 is nice (proc(5)); the command name "(sleep)" has no spaces.
        let stat = LinuxTestSupport.read("/proc/\(pid)/stat").split(separator: " ")
        #expect(stat.count > 19 && stat[18] == "7")
        #expect(LinuxTestSupport.read("/proc/\(pid)/oom_score_adj") == "321\n")
    }

    /// PrivateDevices= and ProtectSystem=strict from the real mount table: the
    /// child's /dev holds only the listed nodes, /usr is read-only for it, its
    /// /tmp is its own — and nothing of it shows in the host's mounts.
    @Test func privateDevicesAndProtectSystemHoldInTheChildOnly() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        mkdir(directory + "/dev", 0o755)
        mkdir(directory + "/idir", 0)
        close(open(directory + "/ifile", O_WRONLY | O_CREAT | O_CLOEXEC, 0))
        var sandbox = Sandbox()
        sandbox.privateDevices = true
        sandbox.privateTmp = true
        sandbox.protectSystem = .strict
        sandbox.inaccessiblePaths = ["-/etc/shadow", "-/nonexistent-swatch-test"]
        let hostMounts = MountTable.current()
        let temporary = try PrivateTemporaryDirectories.create(for: "sandbox-test-\(getpid()).service")
        defer { temporary.remove() }
        let steps = SandboxPlan.steps(for: sandbox, context: SandboxContext(
            lastCapability: (try Capabilities.lastCapability()), mountPoints: hostMounts,
            deviceStaging: directory + "/dev", inaccessibleDirectory: directory + "/idir",
            inaccessibleFile: directory + "/ifile", ttyGroup: UserAccounts.group("tty"),
            privateTemporaryDirectories: temporary,
            pathKind: { path in
                guard let info = LinuxTestSupport.status(path) else { return nil }
                return info.st_mode & S_IFMT == S_IFDIR ? .directory : .other
            }))
        let marker = "/tmp/swatch-sandbox-test-\(getpid())"
        let script = "touch \(marker) && sleep 60"
        let pid = try Spawner.spawn(SpawnRequest(executable: "/bin/sh", arguments: ["sh", "-c", script], sandbox: steps))
        defer { finish(pid); unlink(marker) }
        let root = "/proc/\(pid)/root"
        #expect(LinuxTestSupport.eventually { access(root + marker, F_OK) == 0 })
        // Its /tmp is not the host's, but the unit's own directory.
        #expect(access(marker, F_OK) != 0)
        #expect(access(temporary.tmp + "/" + marker.dropFirst("/tmp/".count), F_OK) == 0)
        let devices = Set(ServiceDirectories.entries(of: root + "/dev"))
        #expect(devices == Set(SandboxPlan.privateDeviceNodes + ["pts", "ptmx", "shm", "mqueue", "fd", "stdin", "stdout", "stderr"]))
        // Through /proc/<pid>/root the child's mounts apply: read-only.
        #expect(open(root + "/usr/swatch-sandbox-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) == -1 && errno == EROFS)
        #expect(access("/usr/swatch-sandbox-test", F_OK) != 0)
        #expect(LinuxTestSupport.status(root + "/etc/shadow")?.st_size == 0)
        #expect((LinuxTestSupport.status(root + "/etc/shadow")?.st_mode ?? 0o777) & 0o777 == 0)
        // The host's mount table is untouched (MS_SLAVE before anything).
        #expect(MountTable.current() == hostMounts)
    }

    /// A bind remount replaces a mount's nosuid/nodev/noexec: making a mount
    /// read-only must keep them, never loosen them.
    @Test func readOnlyRemountsKeepNosuidNodevAndNoexec() throws {
        let directory = LinuxTestSupport.temporaryDirectory()
        defer { LinuxTestSupport.removeTree(directory) }
        let target = directory + "/m"
        mkdir(target, 0o755)
        try #require(mount("tmpfs", target, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=0755") == 0)
        defer { umount2(target, Int32(MNT_DETACH)) }
        var sandbox = Sandbox()
        sandbox.readOnlyPaths = [directory]
        let steps = SandboxPlan.steps(for: sandbox, context: SandboxContext(mountPoints: MountTable.current()))
        #expect(steps.contains(SandboxStep(.remount(target: target, flags: [.readOnly]), "ReadOnlyPaths=",
                                           ignore: [.missing, .notMounted])))
        let pid = try sleeper(steps)
        defer { finish(pid) }
        // The last mount at that path is the visible one: the self-bind of the
        // directory (recursive) stacks a copy over the host's, which it hides.
        let line = LinuxTestSupport.read("/proc/\(pid)/mountinfo").split(separator: "\n")
            .last { $0.split(separator: " ")[4] == target }
        let options = Set(line?.split(separator: " ")[5].split(separator: ",").map(String.init) ?? [])
        #expect(options.isSuperset(of: ["ro", "nosuid", "nodev", "noexec"]), "\(line ?? "no mount")")
    }

    @Test func aFailedStepNamesItsDirectiveAndTheChildIsReaped() {
        let steps = [
            SandboxStep(.unshareMountNamespace, "ReadOnlyPaths="),
            SandboxStep(.mount(source: "/nonexistent-swatch-a", target: "/nonexistent-swatch-b", type: nil,
                               flags: [.bind], data: nil), "ReadOnlyPaths="),
        ]
        #expect(throws: SpawnError(errno: .noSuchFileOrDirectory, step: "mount", directive: "ReadOnlyPaths=")) {
            _ = try sleeper(steps)
        }
        do {
            _ = try sleeper(steps)
        } catch {
            #expect("\(error)" == "ReadOnlyPaths=: No such file or directory")
        }
    }

    /// What a swatchd that is not root meets: the namespace is refused, and
    /// the start fails naming the directive — the service never runs unsandboxed.
    @Test func anUnprivilegedChildCannotSandboxAndSaysWhichDirective() {
        let steps = [
            SandboxStep(.setUserID(65534), "User="),
            SandboxStep(.unshareMountNamespace, "PrivateDevices="),
        ]
        do {
            let pid = try sleeper(steps)
            finish(pid)
            Issue.record("a child without CAP_SYS_ADMIN made a mount namespace")
        } catch {
            #expect(error as? SpawnError == SpawnError(errno: .notPermitted, step: "unshare", directive: "PrivateDevices="))
            #expect("\(error)" == "PrivateDevices=: Operation not permitted")
        }
    }

    @Test func failuresTheStepMayIgnoreAreNoFailures() throws {
        let steps = [
            SandboxStep(.unshareMountNamespace, "ReadOnlyPaths="),
            SandboxStep(.mount(source: "/nonexistent-swatch-a", target: "/nonexistent-swatch-a", type: nil,
                               flags: [.bind, .recursive], data: nil), "ReadOnlyPaths=", ignore: .missing),
            SandboxStep(.remount(target: "/nonexistent-swatch-a", flags: [.readOnly]), "ReadOnlyPaths=", ignore: .missing),
            // /proc/sys is no mount point of its own here: EINVAL, which a submount remount ignores.
            SandboxStep(.remount(target: "/proc/sys", flags: [.readOnly]), "ProtectSystem=", ignore: [.missing, .notMounted]),
        ]
        let pid = try sleeper(steps)
        finish(pid)
    }
}
