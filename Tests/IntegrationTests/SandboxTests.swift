// Privileges and sandboxing as a user sees them (swatchd.service(5), "SANDBOXING"): the built
// swatchd runs real services, and what the kernel says about them — /proc/<pid>/
// status, limits, mountinfo, root/dev — is the evidence. Root only.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0)) struct SandboxTests {
        /// A directory outside /tmp for swatchd's runtime directory: the
        /// services here get a private /tmp (PrivateTmp=, DynamicUser=), and
        /// the notify socket must stay reachable for them, as /run/swatchd is.
        private struct RuntimeDirectory {
            let path: String
            init() throws {
                var template = Array("/run/swatch-test-XXXXXX".utf8CString)
                guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp in /run: \(String(cString: strerror(errno)))") }
                path = String(cString: made)
                chmod(path, 0o755)
            }
            func remove() {
                precondition(path.hasPrefix("/run/swatch-test-"))
                try? FileManager.default.removeItem(atPath: path)
            }
        }

        /// A field of /proc/<pid>/status ("NoNewPrivs", "CapBnd", "Uid", ...).
        private func status(_ field: String, of pid: pid_t) -> String? {
            (readText("/proc/\(pid)/status") ?? "").split(separator: "\n")
                .first { $0.hasPrefix(field + ":") }
                .map { $0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces) }
        }

        /// The test runner's own bounding set (the machine may lack some capabilities already).
        private var ownBoundingSet: UInt64 { UInt64(status("CapBnd", of: getpid()) ?? "", radix: 16) ?? 0 }

        /// "Max open files  1024  2048  files" → ["1024", "2048"].
        private func limit(_ name: String, of pid: pid_t) -> [String] {
            guard let line = (readText("/proc/\(pid)/limits") ?? "").split(separator: "\n").first(where: { $0.hasPrefix(name) })
            else { return [] }
            return line.dropFirst(name.count).split(separator: " ").prefix(2).map(String.init)
        }

        /// The environment of a process as execve gave it.
        private func environment(of pid: pid_t) -> [String: String] {
            guard let environ = readText("/proc/\(pid)/environ") else { return [:] }
            var result: [String: String] = [:]
            for text in environ.split(separator: "\0") {
                guard let equals = text.firstIndex(of: "=") else { continue }
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            return result
        }

        /// The only live child of swatchd running `command` (the kernel's comm).
        private func service(_ daemon: Daemon, command: String) throws -> pid_t {
            try waitFor("swatchd runs \(command)\n\(daemon.log)", timeout: .seconds(10)) {
                try daemon.checkRunning()
                return daemon.children.first { $0.command == command }?.pid
            }
        }

        // MARK: The seed, as written

        /// The seed's single/ units with only the port, ExecStart= and a
        /// RuntimeDirectory= for the report changed: the service runs as a
        /// dynamic user with no privilege, in a private /dev, serves through
        /// the passed socket and cannot bind a privileged port itself.
        @Test(.timeLimit(.minutes(1)))
        func runsTheSeedAsADynamicUserThatServesThroughThePassedSocketOnly() throws {
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            let directoryName = "swatch-seed-\(getpid())"
            let report = "/run/\(directoryName)/report"
            var units = SeedUnits.adapted(
                SeedUnits.single, ports: ["80": port],
                execStart: "\(try Harness.sandboxVisibleBinary("swatchd-hello")) --report \(report) --bind-privileged 81", dropping: [])
            units["hello.service"]! += "RuntimeDirectory=\(directoryName)\n"
            for (name, text) in units { try daemon.write(name, text) }
            try daemon.start(arguments: ["--runtime-dir", runtime.path])

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let seen = try waitForReport(report)
            let pid = try #require(pid_t(seen["PID"] ?? ""))
            let uid = try #require(UInt32(seen["UID"] ?? ""))
            #expect((61184...65519).contains(uid), "\(seen)")
            #expect(seen["GID"] == seen["UID"])
            #expect(seen["PRIVILEGED_BIND"]?.hasPrefix("EACCES") == true, "\(seen)")
            #expect(status("Uid", of: pid) == "\(uid)\t\(uid)\t\(uid)\t\(uid)")
            #expect(status("NoNewPrivs", of: pid) == "1")
            // No CapabilityBoundingSet= in single/: everything but what PrivateDevices= takes.
            let mknodAndRawIO: UInt64 = 1 << 27 | 1 << 17
            #expect(UInt64(status("CapBnd", of: pid) ?? "", radix: 16) == ownBoundingSet & ~mknodAndRawIO)
            #expect(status("CapEff", of: pid) == "0000000000000000")
            // Its /dev: the listed nodes and directories, and the usual links.
            let dev = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/root/dev"))
            #expect(dev == ["null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "mqueue",
                            "fd", "stdin", "stdout", "stderr"])
            let environment = environment(of: pid)
            #expect(environment["USER"] == "hello" && environment["LOGNAME"] == "hello")
            #expect(environment["HOME"] == "/" && environment["RUNTIME_DIRECTORY"] == "/run/\(directoryName)")
            // Still serving, and the passed socket is the only way in.
            #expect(try Client.body(.loopback6(port)) == Client.helloBody)
            // Its READY=1 reached swatchd from inside the sandbox (Type=notify).
            let swatchctl = try Harness.binary("swatchctl")
            try waitUntil("hello.service is active\n\(daemon.log)") {
                try Command.run([swatchctl, "--runtime-dir", runtime.path, "is-active", "hello.service"]).status == .exited(0)
            }

            try daemon.stop()
            // The runtime directory goes with the service.
            #expect(access("/run/\(directoryName)", F_OK) != 0)
        }

        /// The dynamic user is given back when the unit stops (its runtime
        /// directory goes with it) and, the number being a hash of the name,
        /// the next start gets the same one; swatchd keeps no fd of it.
        @Test(.timeLimit(.minutes(1)))
        func givesTheDynamicUserBackAtTheStopAndGetsTheSameOneNextTime() throws {
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let directoryName = "swatch-dyn-\(getpid())"
            try daemon.write("dyn.service", """
                [Service]
                ExecStart=/bin/sleep 300
                DynamicUser=yes
                RuntimeDirectory=\(directoryName)
                """)
            try daemon.start(arguments: ["--runtime-dir", runtime.path])
            let swatchctl = try Harness.binary("swatchctl")
            let first = try service(daemon, command: "sleep")
            let uid = try #require(status("Uid", of: first)?.split(separator: "\t").first.map(String.init))
            #expect((61184...65519).contains(UInt32(uid) ?? 0))
            var owner = stat()
            #expect(stat("/run/\(directoryName)", &owner) == 0 && "\(owner.st_uid)" == uid)
            let fdsWhileRunning = daemon.openFDs

            #expect(try Command.run([swatchctl, "--runtime-dir", runtime.path, "stop", "dyn.service"]).status == .exited(0))
            try waitUntil("dyn.service's process is gone") { !Processes.isAlive(first) }
            try waitUntil("its runtime directory is removed") { access("/run/\(directoryName)", F_OK) != 0 }

            #expect(try Command.run([swatchctl, "--runtime-dir", runtime.path, "start", "dyn.service"]).status == .exited(0))
            let second = try service(daemon, command: "sleep")
            #expect(second != first)
            #expect(status("Uid", of: second)?.split(separator: "\t").first.map(String.init) == uid)
            // As many fds as while the first ran (their numbers may be reused differently).
            try waitUntil("swatchd holds \(fdsWhileRunning.count) fds again: \(daemon.openFDs)") {
                daemon.openFDs.count == fdsWhileRunning.count
            }
        }

        /// StateDirectoryMode= and friends set the directories' mode; an existing
        /// ConfigurationDirectory= keeps its own, with a warning, as systemd's does.
        /// RuntimeDirectoryPreserve=: `no` empties the directory at every stop, also
        /// before an automatic restart; `restart` keeps it across restarts and removes it
        /// when the unit is inactive; `yes` keeps it.
        @Test(.timeLimit(.minutes(1)))
        func directoriesTakeTheirModeAndRuntimeDirectoriesArePreservedAsAsked() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let tag = "swatch-test-\(getpid())"
            let (state, configuration, existing) = ("/var/lib/\(tag)", "/etc/\(tag)", "/etc/\(tag)-existing")
            let runtimes = ["no", "restart", "yes"].map { ($0, "/run/\(tag)-\($0)") }
            defer { for path in [state, configuration, existing] + runtimes.map(\.1) { try? FileManager.default.removeItem(atPath: path) } }
            #expect(mkdir(existing, 0o755) == 0 && chmod(existing, 0o755) == 0)
            try daemon.write("modes.service", """
                [Service]
                ExecStart=/bin/sleep 300
                StateDirectory=\(tag)
                StateDirectoryMode=0700
                ConfigurationDirectory=\(tag) \(tag)-existing
                ConfigurationDirectoryMode=0550
                RuntimeDirectory=\(tag)-yes
                RuntimeDirectoryMode=0770
                RuntimeDirectoryPreserve=yes
                """)
            // Each run counts the lines left in its runtime directory by the runs before it.
            for (preserve, _) in runtimes where preserve != "yes" {
                try daemon.write("\(preserve).service", """
                    [Service]
                    ExecStart=/bin/sh -c 'echo run >> "$RUNTIME_DIRECTORY/runs"; wc -l < "$RUNTIME_DIRECTORY/runs" >> \(daemon.path(preserve)); [ $(wc -l < \(daemon.path(preserve))) -ge 3 ] && exec sleep 300; exit 1'
                    Restart=on-failure
                    RestartSec=50ms
                    RuntimeDirectory=\(tag)-\(preserve)
                    RuntimeDirectoryPreserve=\(preserve)
                    """)
            }
            try daemon.start()
            func mode(_ path: String) -> UInt32? {
                var info = stat()
                return stat(path, &info) == 0 ? UInt32(info.st_mode) & 0o7777 : nil
            }
            try waitUntil("both counters ran three times\n\(daemon.log)") {
                try daemon.checkRunning()
                return ["no", "restart"].allSatisfy { (readText(daemon.path($0)) ?? "").split(separator: "\n").count == 3 }
            }
            #expect(readText(daemon.path("no"))?.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["1", "1", "1"])
            #expect(readText(daemon.path("restart"))?.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["1", "2", "3"])
            #expect(mode(state) == 0o700)
            #expect(mode(configuration) == 0o550)
            #expect(mode(existing) == 0o755)
            #expect(mode(runtimes[2].1) == 0o770)
            _ = try daemon.waitForLog(containing: "ConfigurationDirectory '\(tag)-existing' already exists but the mode is different. (File system: 755 ConfigurationDirectoryMode: 550)")

            let swatchctl = try Harness.binary("swatchctl")
            #expect(try Command.run([swatchctl, "--runtime-dir", daemon.runtimeDirectory, "stop", "modes.service", "no.service", "restart.service"]).status == .exited(0))
            #expect(access(runtimes[0].1, F_OK) != 0)
            #expect(access(runtimes[1].1, F_OK) != 0)
            #expect(access(runtimes[2].1, F_OK) == 0)
            #expect(access(state, F_OK) == 0)
        }

        /// The instances of an Accept=yes template share its RuntimeDirectory= (ssh@.service's
        /// `RuntimeDirectory=sshd`): one connection ending does not remove it from under
        /// another; the last one does.
        @Test(.timeLimit(.minutes(1)))
        func instancesShareTheirRuntimeDirectoryUntilTheLastEnds() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let directory = "/run/swatch-test-\(getpid())-shared"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try daemon.write("shared.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("shared@.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo hello; read line; test -d "$RUNTIME_DIRECTORY" && echo present || echo gone'
                StandardInput=socket
                RuntimeDirectory=\(directory.dropFirst(5))
                """)
            try daemon.start()
            let first = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(first) }
            #expect(try Client.readLine(first) == "hello")
            let second = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            #expect(try Client.readLine(second) == "hello")
            try Client.write("bye\n", to: second)
            #expect(try Client.readLine(second) == "present")
            close(second)
            try waitUntil("the second instance is gone\n\(daemon.log)") {
                daemon.children.filter { $0.command == "sh" }.count == 1
            }
            try Client.write("bye\n", to: first)
            #expect(try Client.readLine(first) == "present", "removed while the first instance ran\n\(daemon.log)")
            try waitUntil("the runtime directory goes with the last instance\n\(daemon.log)") { access(directory, F_OK) != 0 }
        }

        /// `swatchd verify` on the seed as shipped: no word about any directive;
        /// only the seed's own program, not installed here, is warned about.
        /// The repository's verbatim copy of the seed is conf/seed/.
        @Test(.timeLimit(.minutes(1)), arguments: ["conf/seed/first", "conf/seed/single", "conf/seed/multi"])
        func verifiesTheSeedWithOnlyTheMissingProgramWarned(_ folder: String) throws {
            let directory = Harness.repositoryRoot + "/" + folder
            try #require(FileManager.default.fileExists(atPath: directory), "the repository's copy of the seed is missing: \(directory)")
            let result = try Command.run([try Harness.binary("swatchd"), "verify", "--unit-dir", directory])
            #expect(result.status == .exited(0), "\(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(result.standardError)")
            #expect(lines.allSatisfy { $0.contains("Program of ExecStart= is not executable") && $0.hasSuffix("/opt/hello/bin/hello") },
                    "\(result.standardError)")
        }

        // MARK: Identity, capabilities, limits

        @Test(.timeLimit(.minutes(1)))
        func runsAsNobodyWithoutCapSysAdminAndWithTheLimitsAsked() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("nobody.service", """
                [Service]
                ExecStart=/bin/sleep 300
                User=nobody
                Group=nogroup
                CapabilityBoundingSet=~CAP_SYS_ADMIN
                LimitNOFILE=1024:2048
                """)
            try daemon.start()
            let pid = try service(daemon, command: "sleep")
            #expect(status("Uid", of: pid) == "65534\t65534\t65534\t65534")
            #expect(status("Gid", of: pid) == "65534\t65534\t65534\t65534")
            let bounding = try #require(UInt64(status("CapBnd", of: pid) ?? "", radix: 16))
            #expect(bounding & (1 << 21) == 0)
            #expect(bounding == ownBoundingSet & ~(1 << 21))
            #expect(limit("Max open files", of: pid) == ["1024", "2048"])
            let environment = environment(of: pid)
            #expect(environment["USER"] == "nobody" && environment["LOGNAME"] == "nobody")
            #expect(environment["HOME"] == "/nonexistent" && environment["SHELL"] == "/usr/sbin/nologin")
        }

        /// SecureBits= as the kernel shows it: a root service with `noroot` has no capability after
        /// execve (capabilities(7)), and PR_GET_SECUREBITS reads the flags that outlive execve
        /// (keep-caps itself does not) in a root service and in one of nobody's, whose flags are
        /// set after its user change.
        @Test(.timeLimit(.minutes(1)))
        func secureBitsAreSetAsAsked() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let probe = "/usr/bin/python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(27, 0, 0, 0, 0))'; "
                + "grep -E '^Cap(Prm|Eff)' /proc/self/status"
            let seen = try daemon.outputsOfOneshots(running: "/bin/sh -c \"\(probe)\"", [
                ("noroot", "SecureBits=noroot noroot-locked"),
                ("nobody", "User=nobody\nSecureBits=keep-caps keep-caps-locked\nSecureBits=no-setuid-fixup"),
                ("plain", ""),
            ])
            #expect(seen["noroot"] == ["3", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", ""])
            #expect(seen["nobody"]?.first == "36", "\(seen["nobody"] ?? [])")
            #expect(seen["plain"]?.first == "0" && seen["plain"]?.contains("CapEff:\t0000000000000000") == false,
                    "\(seen["plain"] ?? [])")
        }

        /// CPUScheduling*= and IOScheduling*= as util-linux's chrt(1) and ionice(1) read them
        /// back; a priority the policy does not take fails the start, naming its directive.
        @Test(.timeLimit(.minutes(1)))
        func setsTheCPUAndIOSchedulingOfTheService() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("batch.service", """
                [Service]
                ExecStart=/bin/sleep 300
                CPUSchedulingPolicy=batch
                CPUSchedulingResetOnFork=yes
                IOSchedulingClass=idle
                """)
            try daemon.write("low.service", """
                [Service]
                ExecStart=/bin/sleep 301
                IOSchedulingPriority=6
                """)
            try daemon.write("wrong.service", """
                [Service]
                ExecStart=/bin/sleep 302
                CPUSchedulingPriority=20
                """)
            try daemon.start()
            try daemon.waitForLog(containing: "Failed to spawn wrong.service: CPUSchedulingPriority=: Invalid argument")
            let sleeps = try waitFor("both sleeps run\n\(daemon.log)") {
                let found = daemon.children.filter { $0.command == "sleep" }
                return found.count == 2 ? found : nil
            }
            func argument(of pid: pid_t) -> String {
                (readText("/proc/\(pid)/cmdline") ?? "").split(separator: "\0").last.map(String.init) ?? ""
            }
            let batch = try #require(sleeps.first { argument(of: $0.pid) == "300" }).pid
            let low = try #require(sleeps.first { argument(of: $0.pid) == "301" }).pid
            let chrt = try Command.run(["/usr/bin/chrt", "-p", "\(batch)"]).standardOutput
            #expect(chrt.contains("scheduling policy: SCHED_BATCH|SCHED_RESET_ON_FORK"), "\(chrt)")
            #expect(try Command.run(["/usr/bin/ionice", "-p", "\(batch)"]).standardOutput == "idle\n")
            #expect(try Command.run(["/usr/bin/chrt", "-p", "\(low)"]).standardOutput.contains("scheduling policy: SCHED_OTHER\n"))
            #expect(try Command.run(["/usr/bin/ionice", "-p", "\(low)"]).standardOutput == "best-effort: prio 6\n")
        }

        /// CPUAffinity=, TimerSlackNSec=, CoredumpFilter= and Personality= as the service reads them
        /// back in /proc and uname(1) (a 32-bit personality makes an x86-64 machine i686).
        @Test(.timeLimit(.minutes(1)))
        func setsTheCPUAffinityTimerSlackAndPersonality() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let out = daemon.path("properties")
            #if arch(x86_64)
            let personality = "Personality=x86", machine = "i686"
            #else
            let personality = "", machine = try Command.run(["/bin/uname", "-m"]).standardOutput.trimmingWhitespace()
            #endif
            try daemon.write("pinned.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/sh -c 'grep Cpus_allowed_list /proc/self/status > \(out).tmp; cat /proc/self/timerslack_ns >> \(out).tmp; cat /proc/self/coredump_filter >> \(out).tmp; uname -m >> \(out).tmp; mv \(out).tmp \(out)'
                CPUAffinity=0
                TimerSlackNSec=1ms
                CoredumpFilter=private-anonymous elf-headers
                \(personality)
                """)
            try daemon.start()
            let lines = try waitFor("the service wrote what it sees\n\(daemon.log)") {
                readText(out).map { $0.split(separator: "\n").map(String.init) }
            }
            #expect(lines == ["Cpus_allowed_list:\t0", "1000000", "00000011", machine])
        }

        /// NUMAPolicy= and NUMAMask= as the service reads its policy back with get_mempolicy(2)
        /// (through python's ctypes: x86-64's system call number).
        @Test(.timeLimit(.minutes(1)), .enabled(if: access("/sys/devices/system/node/node0", F_OK) == 0))
        func setsTheNUMAPolicy() throws {
            #if arch(x86_64)
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let out = daemon.path("policy")
            let probe = "import ctypes; libc = ctypes.CDLL(None); mode = ctypes.c_int(); mask = (ctypes.c_ulong * 16)(); "
                + "libc.syscall(239, ctypes.byref(mode), mask, 1025, 0, 0); print(mode.value, mask[0])"
            try daemon.write("numa.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/sh -c '/usr/bin/python3 -c "\(probe)" > \(out).tmp; mv \(out).tmp \(out)'
                NUMAPolicy=bind
                NUMAMask=0
                """)
            try daemon.write("empty.service", "[Service]\nExecStart=/bin/true\nNUMAPolicy=bind\n")
            try daemon.start()
            let policy = try waitFor("the service read its policy\n\(daemon.log)") { readText(out) }
            #expect(policy == "2 1\n", "MPOL_BIND, node 0")
            try daemon.waitForLog(containing: "Failed to spawn empty.service: NUMAPolicy=: Invalid argument")
            #endif
        }

        /// `+`: that command runs as root with no sandbox; the others as the user.
        @Test(.timeLimit(.minutes(1)))
        func aPlusPrefixRunsThatCommandWithFullPrivileges() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let out = daemon.path("pre")
            try daemon.write("plus.service", """
                [Service]
                ExecStartPre=+/bin/sh -c 'id -u > \(out)'
                ExecStart=/bin/sleep 300
                User=nobody
                NoNewPrivileges=yes
                """)
            try daemon.start()
            let pid = try service(daemon, command: "sleep")
            #expect(readText(out) == "0\n")
            #expect(status("Uid", of: pid)?.hasPrefix("65534") == true)
            #expect(status("NoNewPrivs", of: pid) == "1")
        }

        /// PermissionsStartOnly=yes, the old spelling of `+` on every command but ExecStart= (as
        /// mariadb.service still writes it): ExecStartPre= and ExecStartPost= run as root, the
        /// service as the user.
        @Test(.timeLimit(.minutes(1)))
        func permissionsStartOnlyRunsTheOtherCommandsWithFullPrivileges() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let pre = daemon.path("pre"), post = daemon.path("post")
            try daemon.write("old.service", """
                [Service]
                PermissionsStartOnly=true
                ExecStartPre=/bin/sh -c 'id -u > \(pre)'
                ExecStart=/bin/sleep 300
                ExecStartPost=/bin/sh -c 'grep NoNewPrivs /proc/self/status | cut -f2 > \(post)'
                User=nobody
                NoNewPrivileges=yes
                """)
            try daemon.start()
            let pid = try service(daemon, command: "sleep")
            try waitUntil("ExecStartPost= ran") { readText(post)?.hasSuffix("\n") == true }
            #expect(readText(pre) == "0\n")
            #expect(readText(post) == "0\n")
            #expect(status("Uid", of: pid)?.hasPrefix("65534") == true)
            #expect(status("NoNewPrivs", of: pid) == "1")
        }

        /// `!`: that command keeps root's credentials (User=, Group= and
        /// SupplementaryGroups= are not applied) but not less of the rest of
        /// the sandbox; `!!` changes nothing where ambient capabilities exist.
        @Test(.timeLimit(.minutes(1)))
        func aBangPrefixSkipsOnlyTheCredentialChange() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let bang = daemon.path("bang"), bangBang = daemon.path("bang-bang")
            try daemon.write("bang.service", """
                [Service]
                ExecStartPre=!/bin/sh -c 'echo $$(id -u) $$(grep NoNewPrivs /proc/self/status | cut -f2) > \(bang)'
                ExecStartPre=!!/bin/sh -c 'id -u > \(bangBang) || true'
                ExecStart=/bin/sleep 300
                User=nobody
                NoNewPrivileges=yes
                """)
            // The `!!` command runs as nobody: it may write only where nobody can.
            chmod(daemon.directory, 0o777)
            try daemon.start()
            let pid = try service(daemon, command: "sleep")
            #expect(readText(bang) == "0 1\n")
            #expect(readText(bangBang) == "65534\n")
            #expect(status("Uid", of: pid)?.hasPrefix("65534") == true)
        }

        // MARK: File system

        @Test(.timeLimit(.minutes(1)))
        func protectSystemStrictMakesUsrReadOnlyForTheService() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let out = daemon.path("out")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let probe = "/usr/swatch-sandbox-probe-\(getpid())"
            try daemon.write("strict.service", """
                [Service]
                ExecStart=/bin/sh -c 'touch \(probe) 2> \(out)/error; echo $$? > \(out)/status; exec sleep 300'
                ProtectSystem=strict
                ReadWritePaths=\(out)
                """)
            try daemon.start()
            let pid = try service(daemon, command: "sleep")
            #expect(readText(out + "/status") == "1\n")
            #expect(readText(out + "/error")?.contains("Read-only file system") == true, "\(readText(out + "/error") ?? "")")
            #expect(access(probe, F_OK) != 0)
            // Its whole view is read-only, not only /usr; the host's is not.
            let etcProbe = "/etc/swatch-sandbox-probe-\(getpid())"
            defer { unlink(etcProbe) }
            #expect(open("/proc/\(pid)/root" + etcProbe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) == -1 && errno == EROFS)
        }

        /// PrivateTmp=: an empty /tmp of the unit's own, shared by all its
        /// processes (what ExecStartPre= leaves there, ExecStart= finds); a
        /// file it writes there is not in the host's /tmp, and once it stops
        /// the directories behind its /tmp and /var/tmp are gone.
        @Test(.timeLimit(.minutes(1)))
        func privateTmpIsEmptySharedByTheUnitAndGoesWithIt() throws {
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let name = "swatch-private-\(getpid())"
            // Something in the host's /tmp the service must not see.
            try "host".write(toFile: "/tmp/\(name)-host", atomically: true, encoding: .utf8)
            defer { unlink("/tmp/\(name)-host") }
            let unit = "private-\(getpid()).service"
            try daemon.write(unit, """
                [Service]
                ExecStartPre=/bin/sh -c 'n=$$(ls -A /tmp | wc -l); m=$$(ls -A /var/tmp | wc -l); echo $$n $$m > /tmp/count; echo pre > /var/tmp/handoff'
                ExecStart=/bin/sh -c 'cat /var/tmp/handoff > /tmp/seen; echo mine > /tmp/\(name); exec sleep 300'
                PrivateTmp=yes
                """)
            try daemon.start(arguments: ["--runtime-dir", runtime.path])
            let pid = try service(daemon, command: "sleep")
            let root = "/proc/\(pid)/root"
            // Both were empty when the unit started; the main process found what ExecStartPre= left.
            #expect(readText(root + "/tmp/count") == "0 0\n")
            #expect(readText(root + "/tmp/seen") == "pre\n")
            #expect(readText(root + "/tmp/\(name)") == "mine\n")
            #expect(access("/tmp/\(name)", F_OK) != 0)
            #expect(access(root + "/tmp/\(name)-host", F_OK) != 0)
            // On the host, one directory per base holds it, closed to others (0700).
            func backing(_ base: String) -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
                    .filter { $0.hasPrefix("swatchd-private-\(unit)-") }.map { base + "/" + $0 }
            }
            let tmp = backing("/tmp"), varTmp = backing("/var/tmp")
            #expect(tmp.count == 1 && varTmp.count == 1)
            #expect(readText((tmp.first ?? "") + "/tmp/\(name)") == "mine\n")
            #expect(readText((varTmp.first ?? "") + "/tmp/handoff") == "pre\n")
            #expect(tmp.allSatisfy { (try? FileManager.default.attributesOfItem(atPath: $0)[.posixPermissions] as? Int) == 0o700 })
            try daemon.stop()
            try waitUntil("the unit's /tmp and /var/tmp are removed") { backing("/tmp").isEmpty && backing("/var/tmp").isEmpty }
        }

        /// A restart gets a fresh /tmp, as under systemd (service_enter_dead()
        /// drops the unit's runtime before the restart).
        @Test(.timeLimit(.minutes(1)))
        func aRestartedServiceGetsAFreshTmp() throws {
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let counts = runtime.path + "/counts"
            try daemon.write("fresh.service", """
                [Service]
                ExecStart=/bin/sh -c 'ls -A /tmp | wc -l >> \(counts); touch /tmp/left-behind; exit 1'
                PrivateTmp=yes
                Restart=on-failure
                RestartSec=50ms
                StartLimitBurst=100
                """)
            try daemon.start(arguments: ["--runtime-dir", runtime.path])
            try waitUntil("three runs\n\(daemon.log)") { (readText(counts) ?? "").split(separator: "\n").count >= 3 }
            _ = try daemon.ctl("stop", "fresh.service")
            #expect((readText(counts) ?? "").split(separator: "\n").allSatisfy { $0 == "0" }, "\(readText(counts) ?? "")")
        }

        /// The private /tmp of a swatchd that was killed (nobody holds its lock) is removed
        /// by the next one, after its listeners are bound (Sandbox/PrivateTemporaryDirectories.swift,
        /// SandboxPreparation.removeStaleTemporaryDirectories); a held one stays.
        @Test(.timeLimit(.minutes(1)))
        func theStalePrivateTmpOfAGoneSwatchdIsRemovedAfterStartUp() throws {
            let stale = "/tmp/swatchd-private-gone-\(getpid()).service-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: stale + "/tmp", withIntermediateDirectories: true)
            try "left".write(toFile: stale + "/tmp/file", atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: stale) }
            let held = "/tmp/swatchd-private-held-\(getpid()).service-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: held + "/tmp", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: held) }
            let lock = open(held, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
            defer { close(lock) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free(1)[0]
            try daemon.write("web.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\n")
            try daemon.write("web.service", "[Service]\nExecStart=/bin/true\n")
            try daemon.start()
            // The directory goes first, then the line is logged.
            try waitUntil("the stale directory is removed and that is logged\n\(daemon.log)") {
                access(stale, F_OK) != 0
                    && daemon.log.contains("Removed \(stale), the private /tmp of a unit of a swatchd that is gone.")
            }
            #expect(access(held + "/tmp", F_OK) == 0)
        }

        // MARK: Failures

        // MARK: PrivateUsers=

        /// The lines of a /proc/PID/uid_map or gid_map, their columns single-spaced.
        private func idMap(_ path: String) -> [String] {
            (readText(path) ?? "").split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        }

        /// A file of uid and gid 4242, whom no PrivateUsers= namespace maps, mode 0600.
        private func foreignFile(_ path: String) throws -> String {
            try "secret\n".write(toFile: path, atomically: false, encoding: .utf8)
            guard chown(path, 4242, 4242) == 0, chmod(path, 0o600) == 0 else { throw HarnessError("chown \(path): \(errno)") }
            return path
        }

        /// PrivateUsers=yes (systemd.exec(5)): the service runs as its User= in a user namespace
        /// of its own that maps root and its user and group alone, setgroups(2) denied; a file
        /// of another owner shows as nobody's (65534). Its ambient capabilities count in that
        /// namespace only: it holds CAP_KILL and CAP_CHOWN, yet can neither signal the test runner
        /// (a process of the host's root) nor take a file of uid 4242.
        @Test(.timeLimit(.minutes(1)))
        func privateUsersMapsRootAndTheServicesUserAndNobodyElse() throws {
            let user = try #require(getpwnam("daemon")?.pointee, "Debian's `daemon` user")
            let (uid, gid) = (user.pw_uid, user.pw_gid)
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let out = runtime.path + "/out"
            #expect(mkdir(out, 0o777) == 0 && chmod(out, 0o777) == 0)
            let foreign = try foreignFile(out + "/foreign")
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("mapped.service", """
                [Service]
                ExecStart=/bin/sh -c 'stat -c "%%u %%g" \(foreign) > \(out)/owner; kill -0 \(getpid()) 2> /dev/null; echo $$? > \(out)/kill; chown \(uid) \(foreign) 2> /dev/null; echo $$? > \(out)/chown; touch \(out)/mine; exec sleep 300'
                User=daemon
                PrivateUsers=yes
                AmbientCapabilities=CAP_KILL CAP_CHOWN
                """)
            try daemon.start(arguments: ["--runtime-dir", runtime.path])
            let pid = try service(daemon, command: "sleep")
            #expect(idMap("/proc/\(pid)/uid_map") == ["0 0 1", "\(uid) \(uid) 1"])
            #expect(idMap("/proc/\(pid)/gid_map") == ["0 0 1", "\(gid) \(gid) 1"])
            #expect(readText("/proc/\(pid)/setgroups") == "deny\n")
            #expect(status("Uid", of: pid) == "\(uid)\t\(uid)\t\(uid)\t\(uid)")
            #expect(status("Gid", of: pid) == "\(gid)\t\(gid)\t\(gid)\t\(gid)")
            #expect(readText(out + "/owner") == "65534 65534\n")
            // CAP_CHOWN (0) and CAP_KILL (5), in its namespace...
            #expect(status("CapEff", of: pid) == String(format: "%016llx", UInt64(1 << 0 | 1 << 5)))
            // ...and no power over the host's ids.
            #expect(readText(out + "/kill") == "1\n")
            #expect(readText(out + "/chown") == "1\n")
            var info = stat()
            #expect(stat(foreign, &info) == 0 && info.st_uid == 4242)
            // What it makes is its user's on the host too.
            #expect(stat(out + "/mine", &info) == 0 && info.st_uid == uid && info.st_gid == gid)
        }

        /// PrivateUsers=yes as root: root maps to root, with every capability in its namespace,
        /// but the namespace is made after the mounts, so they stay the host namespace's: the
        /// service cannot remount ProtectSystem='s read-only /usr writable, keeps its private
        /// /tmp, and its CAP_DAC_OVERRIDE and CAP_CHOWN do not reach a file of uid 4242.
        /// CapabilityBoundingSet= bounds what a service holds there; a dynamic user is mapped
        /// as a static one is.
        @Test(.timeLimit(.minutes(1)))
        func privateUsersAsRootLeavesTheMountsAndTheHostsFilesOutOfReach() throws {
            let runtime = try RuntimeDirectory()
            defer { runtime.remove() }
            let out = runtime.path + "/out"
            #expect(mkdir(out, 0o755) == 0)
            let secret = try foreignFile(out + "/secret")
            // Programs of their own names, to tell the services apart (the kernel's comm).
            for name in ["pu-bounded", "pu-dynamic"] {
                try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: runtime.path + "/" + name)
            }
            let probe = "/usr/swatch-private-users-probe-\(getpid())"
            defer { unlink(probe) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("root.service", """
                [Service]
                ExecStart=/bin/sh -c 'mount -o remount,bind,rw /usr 2> /dev/null; echo $$? > \(out)/remount; touch \(probe) 2> /dev/null; echo $$? > \(out)/touch; cat \(secret) > /dev/null 2>&1; echo $$? > \(out)/read; chown 0 \(secret) 2> /dev/null; echo $$? > \(out)/chown; ls -A /tmp | wc -l > \(out)/tmp; exec sleep 300'
                PrivateUsers=yes
                PrivateTmp=yes
                ProtectSystem=strict
                ReadWritePaths=\(out)
                """)
            try daemon.write("bounded.service", """
                [Service]
                ExecStart=\(runtime.path)/pu-bounded 300
                PrivateUsers=yes
                CapabilityBoundingSet=CAP_NET_ADMIN
                """)
            try daemon.write("dynamic.service", """
                [Service]
                ExecStart=\(runtime.path)/pu-dynamic 300
                PrivateUsers=yes
                DynamicUser=yes
                """)
            try daemon.start(arguments: ["--runtime-dir", runtime.path])

            let root = try service(daemon, command: "sleep")
            #expect(idMap("/proc/\(root)/uid_map") == ["0 0 1"])
            #expect(idMap("/proc/\(root)/gid_map") == ["0 0 1"])
            #expect(status("Uid", of: root) == "0\t0\t0\t0")
            // Every capability the kernel has, in its namespace (entering one gives the full set).
            let last = try #require(Int((readText("/proc/sys/kernel/cap_last_cap") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
            let all = UInt64.max >> (63 - last)
            #expect(UInt64(status("CapEff", of: root) ?? "", radix: 16) == all)
            #expect(readText(out + "/remount") != "0\n")
            #expect(readText(out + "/touch") == "1\n")
            #expect(access(probe, F_OK) != 0)
            #expect(readText(out + "/read") == "1\n")
            #expect(readText(out + "/chown") == "1\n")
            #expect(readText(out + "/tmp") == "0\n")
            var info = stat()
            #expect(stat(secret, &info) == 0 && info.st_uid == 4242)

            let bounded = try service(daemon, command: "pu-bounded")
            #expect(idMap("/proc/\(bounded)/uid_map") == ["0 0 1"])
            #expect(status("CapEff", of: bounded) == String(format: "%016llx", UInt64(1 << 12)))
            #expect(status("CapBnd", of: bounded) == String(format: "%016llx", UInt64(1 << 12)))

            let dynamic = try service(daemon, command: "pu-dynamic")
            let dynamicUID = try #require(status("Uid", of: dynamic)?.split(separator: "\t").first.flatMap { UInt32($0) })
            #expect((61184...65519).contains(dynamicUID))
            #expect(idMap("/proc/\(dynamic)/uid_map") == ["0 0 1", "\(dynamicUID) \(dynamicUID) 1"])
            #expect(idMap("/proc/\(dynamic)/gid_map") == ["0 0 1", "\(dynamicUID) \(dynamicUID) 1"])
            #expect(status("CapEff", of: dynamic) == "0000000000000000")
            #expect(status("NoNewPrivs", of: dynamic) == "1")
        }

        /// Where the kernel refuses the user namespace (here: swatchd is itself a service of
        /// another, with RestrictNamespaces=~user), a PrivateUsers= unit fails to start naming
        /// the directive and never runs; the other units run.
        @Test(.timeLimit(.minutes(1)))
        func withoutAUserNamespaceAPrivateUsersUnitFailsToStartAndTheOthersRun() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let units = daemon.path("inner-units")
            try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: false)
            let (ran, other) = (daemon.path("ran"), daemon.path("other"))
            try "[Service]\nExecStart=/bin/touch \(ran)\nPrivateUsers=yes\n"
                .write(toFile: units + "/private.service", atomically: false, encoding: .utf8)
            try "[Service]\nExecStart=/bin/sh -c 'touch \(other); exec sleep 300'\n"
                .write(toFile: units + "/other.service", atomically: false, encoding: .utf8)
            try daemon.write("inner.service", """
                [Service]
                ExecStart=\(try Harness.binary("swatchd")) --unit-dir \(units) --runtime-dir \(daemon.path("inner-run")) --log-target stderr
                RestrictNamespaces=~user
                """)
            try daemon.start()
            try daemon.waitForLog(containing: "Failed to spawn private.service: PrivateUsers=: Operation not permitted")
            try waitUntil("other.service ran\n\(daemon.log)") { access(other, F_OK) == 0 }
            #expect(access(ran, F_OK) != 0)
            try daemon.checkRunning()
        }

        /// A user that does not exist, or a setting that cannot be applied,
        /// fails the start naming the directive — and the program never runs.
        // MARK: Named namespaces

        /// NetworkNamespacePath= as `ip netns` users write it: the socket unit's listener is made
        /// inside the named namespace (a client there is served, the host's 127.0.0.1 refuses),
        /// and the service's processes run in it (`/proc/self/ns/net` is the namespace's file);
        /// IPCNamespacePath= joins another process's IPC namespace. A path that is no network
        /// namespace fails that socket's start, naming it, and the other units run. The
        /// setting taken away, a daemon-reload binds the socket in the host's namespace.
        @Test(.timeLimit(.minutes(1)), .enabled(if: access("/usr/bin/ip", X_OK) == 0 || access("/sbin/ip", X_OK) == 0))
        func namedNamespacesAreJoinedBySocketsAndServices() throws {
            let ip = access("/usr/bin/ip", X_OK) == 0 ? "/usr/bin/ip" : "/sbin/ip"
            let name = "swatch-test-\(getpid())"
            try Command.run([ip, "netns", "add", name])
            defer { _ = try? Command.run([ip, "netns", "delete", name]) }
            try Command.run([ip, "-n", name, "link", "set", "lo", "up"])
            var namespace = stat()
            try #require(stat("/run/netns/\(name)", &namespace) == 0)
            // A process in an IPC namespace of its own, whose /proc/PID/ns/ipc the service joins.
            let holder = try Command.spawn(["/usr/bin/unshare", "--ipc", "/bin/sleep", "300"], environment: [:],
                                           plumbing: .init(outputPath: "/dev/null"))
            defer { kill(holder, SIGKILL); _ = Command.wait(holder, timeout: .seconds(5)) }
            let ipc = try waitFor("unshare made its IPC namespace") { () -> String? in
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder)/ns/ipc")
                let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
                return link != nil && link != own ? link : nil
            }

            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let port = try Ports.free()
            try daemon.write("inside.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(port)
                Accept=yes
                NetworkNamespacePath=/run/netns/\(name)
                """)
            try daemon.write("inside@.service", """
                [Service]
                ExecStart=/bin/sh -c 'readlink /proc/self/ns/net /proc/self/ns/ipc'
                StandardInput=socket
                NetworkNamespacePath=/run/netns/\(name)
                IPCNamespacePath=/proc/\(holder)/ns/ipc
                PrivateNetwork=yes
                """)
            try daemon.write("wrong.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(try Ports.free())
                NetworkNamespacePath=/proc/self/ns/ipc
                """)
            try daemon.write("wrong.service", "[Service]\nExecStart=/bin/cat\n")
            try daemon.start()
            try daemon.waitForLog(containing: "Failed to enter the network namespace of NetworkNamespacePath=/proc/self/ns/ipc")

            let client = "import socket; s = socket.create_connection(('127.0.0.1', \(port)), 10); "
                + "print(s.makefile().read(), end='')"
            let answer = try Command.run([ip, "netns", "exec", name, "/usr/bin/python3", "-c", client]).standardOutput
            #expect(answer == "net:[\(namespace.st_ino)]\n\(ipc)\n")
            #expect(throws: ClientError.self, "the host's 127.0.0.1:\(port) has no listener") {
                close(try Client.connect(.loopback4(port), type: SOCK_STREAM))
            }

            // Without NetworkNamespacePath=, a daemon-reload makes the listener anew in the host's
            // namespace: the one in the named namespace is not kept for the same address.
            try daemon.write("inside.socket", """
                [Socket]
                ListenStream=127.0.0.1:\(port)
                Accept=yes
                """)
            let reload = try daemon.ctl("daemon-reload")
            #expect(reload.exitCode == 0, "\(reload)")
            try waitUntil("the host's 127.0.0.1:\(port) listens\n\(daemon.log)") {
                guard let fd = try? Client.connect(.loopback4(port), type: SOCK_STREAM) else { return false }
                close(fd)
                return true
            }
            let inside = try Command.run([ip, "netns", "exec", name, "/usr/bin/python3", "-c", client])
            #expect(inside.standardError.contains("ConnectionRefusedError"), "\(inside)")
            try daemon.checkRunning()
        }

        // MARK: Delegation

        /// Delegate=yes as a container runtime's unit writes it, for a service of nobody's: it may
        /// make a group below its own and move itself there (without, mkdir is refused), swatchd
        /// still counts that process as the service's, and the stop reaches it and removes the
        /// groups.
        @Test(.timeLimit(.minutes(1)))
        func delegateLetsTheServiceManageTheGroupsBelowItsOwn() throws {
            let script = Self.groupScript("delegate", "mkdir \"$dir/worker\" 2>&1 && echo $$ > \"$dir/worker/cgroup.procs\" && echo moved\n"
                + "echo \"$dir\"\nexec sleep 300\n")
            defer { unlink(script) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            for (name, delegate) in [("runtime", "Delegate=yes"), ("plain", "")] {
                try daemon.write("\(name).service", """
                    [Service]
                    ExecStart=/bin/sh \(script)
                    User=nobody
                    StandardOutput=truncate:\(daemon.path(name))
                    \(delegate)
                    """)
            }
            try daemon.start()
            let pid = try daemon.waitForMainPID(of: "runtime.service")
            let lines = try waitFor("runtime.service moved itself\n\(daemon.log)") { () -> [String]? in
                let lines = (readText(daemon.path("runtime")) ?? "").split(separator: "\n").map(String.init)
                return lines.count == 2 ? lines : nil
            }
            #expect(lines.first == "moved")
            let group = lines[1]
            #expect(readText("/proc/\(pid)/cgroup")?.hasSuffix("/worker\n") == true, "\(readText("/proc/\(pid)/cgroup") ?? "")")
            let plain = try waitFor("plain.service was refused\n\(daemon.log)") { () -> String? in
                let text = readText(daemon.path("plain")) ?? ""
                return text.split(separator: "\n").count == 2 ? text : nil
            }
            #expect(plain.contains("Permission denied"), "\(plain)")

            let stop = try daemon.ctl("stop", "runtime.service")
            #expect(stop.exitCode == 0, "\(stop)")
            try daemon.waitForProperty("ActiveState", of: "runtime.service", toBe: "inactive")
            try waitUntil("the delegated process \(pid) is gone\n\(daemon.log)") { kill(pid, 0) != 0 }
            try waitUntil("the service's groups are removed\n\(daemon.log)") { access(group, F_OK) != 0 }
        }

        /// PrivatePIDs=yes: each command is PID 1 of a PID namespace of its own, with a /proc of
        /// it. The service takes its socket with python3-systemd (LISTEN_PID=1), serves, and stops
        /// on SIGTERM, for which it has a handler (a namespace's init gets no other signal from
        /// outside, pid_namespaces(7)); swatchd knows it by its pid on the host.
        @Test(.timeLimit(.minutes(1)))
        func privatePIDsMakesEachCommandTheFirstProcessOfItsOwnNamespace() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report"), pre = daemon.path("pre")
            try daemon.write("pid.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\n")
            try daemon.write("pid.service", """
                [Service]
                PrivatePIDs=yes
                ExecStartPre=/bin/sh -c 'echo $$$$ > \(pre); test -e /proc/\(getpid()) && echo host >> \(pre) || echo own >> \(pre)'
                ExecStart=/usr/bin/python3 \(Harness.service("listen_fds.py")) \(report) --echo
                """)
            try daemon.start()
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(connection) }
            try Client.write("ping\n", to: connection)
            #expect(try Client.readLine(connection) == "ping")
            #expect(readText(pre) == "1\nown\n", "ExecStartPre= is PID 1 and sees its own /proc")
            let seen = try waitForReport(report)
            #expect(seen["PID"] == "1" && seen["LISTEN_PID"] == "1" && seen["FDS"] == "3", "\(seen)")
            let main = try daemon.waitForMainPID(of: "pid.service")
            #expect(main != 1)
            let nsPID = readText("/proc/\(main)/status")?.split(separator: "\n").first { $0.hasPrefix("NSpid:") }
            #expect(nsPID?.split(whereSeparator: \.isWhitespace).dropFirst().map(String.init) == ["\(main)", "1"])
            let stop = try daemon.ctl("stop", "pid.service")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(try daemon.property("Result", of: "pid.service") == "success")
        }

        /// Delegate=yes: the commands beside the main process (ExecReload=, ExecStop=) run in the
        /// group's ".control" subgroup, which becomes their user's, as under systemd; ExecStartPre=
        /// runs in the group, unless DelegateSubgroup= puts the main process in a subgroup. So they
        /// still start once the service has enabled a controller for the groups below its own, when
        /// cgroup v2 lets no process into its group itself ("no internal processes"). The service
        /// enables the first controller its group has, where it has one (a pure cgroup2 host,
        /// TasksMax= asking swatchd for pids; this machine kind's hybrid layout has none to give).
        @Test(.timeLimit(.minutes(1)))
        func delegatedServicesRunTheirCommandsInSubgroupsAsUnderSystemd() throws {
            let script = Self.groupScript("delegate-control", "mkdir \"$dir/worker\" && echo $$ > \"$dir/worker/cgroup.procs\" || exit 1\n"
                + "controller=$(cut -d ' ' -f 1 \"$dir/cgroup.controllers\")\n"
                + "[ -z \"$controller\" ] || echo \"+$controller\" > \"$dir/cgroup.subtree_control\" || exit 1\n"
                + "echo \"$dir\"\nexec sleep 300\n")
            defer { unlink(script) }
            let subMain = Self.groupScript("delegate-sub", "echo \"$dir\" > \"$1\"\nexec sleep 300\n")
            defer { unlink(subMain) }
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // The commands run as nobody and write where nobody may (the daemon's directory is root's alone).
            let out = "/run/swatch-delegate-control-\(getpid())"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o777])
            defer { try? FileManager.default.removeItem(atPath: out) }
            try daemon.write("runtime.service", """
                [Service]
                User=nobody
                ExecStartPre=/bin/sh -c 'grep ^0:: /proc/self/cgroup > \(out)/pre'
                ExecStart=/bin/sh \(script)
                ExecReload=/bin/sh -c 'grep ^0:: /proc/self/cgroup > \(out)/reload'
                ExecStop=/bin/sh -c 'grep ^0:: /proc/self/cgroup > \(out)/stop'
                StandardOutput=truncate:\(daemon.path("runtime"))
                Delegate=yes
                TasksMax=100
                """)
            // DelegateSubgroup=: the main process starts in that subgroup, and every other command in ".control".
            try daemon.write("sub.service", """
                [Service]
                User=nobody
                ExecStartPre=/bin/sh -c 'grep ^0:: /proc/self/cgroup > \(out)/sub-pre'
                ExecStart=/bin/sh \(subMain) \(out)/sub-main
                Delegate=yes
                DelegateSubgroup=init.scope
                """)
            try daemon.start()
            let subgroup = try waitFor("sub.service's main process wrote\n\(daemon.log)") { () -> String? in
                let text = (readText(out + "/sub-main") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                return text.isEmpty ? nil : text
            }
            #expect(subgroup.hasSuffix("/sub.service/init.scope"), "\(subgroup)")
            #expect(readText(out + "/sub-pre")?.hasSuffix("/sub.service/.control\n") == true, "\(readText(out + "/sub-pre") ?? "")")
            let subPID = try daemon.waitForMainPID(of: "sub.service")
            #expect(readText("/proc/\(subPID)/cgroup")?.contains("/sub.service/init.scope\n") == true)
            var owner = stat()
            #expect(stat(subgroup, &owner) == 0 && owner.st_uid == 65534, "\(subgroup) is not nobody's")

            let group = try waitFor("runtime.service set up the groups below its own\n\(daemon.log)") { () -> String? in
                let text = (readText(daemon.path("runtime")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                return text.isEmpty ? nil : text
            }
            try #require(group.hasPrefix("/"), "\(group)")
            #expect(readText(out + "/pre")?.hasSuffix("/runtime.service\n") == true, "\(readText(out + "/pre") ?? "")")
            // status draws the subgroup the service made, and its process below it.
            let runtimeMain = try daemon.waitForMainPID(of: "runtime.service")
            let status = try daemon.ctl("status", "runtime.service").lines
            #expect(status.contains("             └─worker") && status.contains("               └─\(runtimeMain) sleep 300"),
                    "\(status)")

            let reload = try daemon.ctl("reload", "runtime.service")
            #expect(reload.exitCode == 0, "\(reload)\n\(daemon.log)")
            #expect(readText(out + "/reload")?.hasSuffix("/runtime.service/.control\n") == true,
                    "\(readText(out + "/reload") ?? "no reload output")")
            #expect(try daemon.property("ActiveState", of: "runtime.service") == "active")
            for file in ["", "/cgroup.procs", "/cgroup.subtree_control"] {
                var info = stat()
                #expect(stat(group + "/.control" + file, &info) == 0 && info.st_uid == 65534, ".control\(file) is not nobody's")
            }

            let stop = try daemon.ctl("stop", "runtime.service")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(readText(out + "/stop")?.hasSuffix("/runtime.service/.control\n") == true,
                    "\(readText(out + "/stop") ?? "no stop output")")
            try daemon.waitForProperty("ActiveState", of: "runtime.service", toBe: "inactive")
            try waitUntil("the service's groups are removed\n\(daemon.log)") { access(group, F_OK) != 0 }
        }

        /// A shell script in /run (which nobody may read; the daemon's directory is root's alone) that
        /// starts with `$dir`, the cgroup2 directory of the group it runs in.
        private static func groupScript(_ name: String, _ body: String) -> String {
            let path = "/run/swatch-\(name)-\(getpid()).sh"
            let text = "dir=$(findmnt -t cgroup2 -n -o TARGET | head -n 1)$(sed -n 's/^0:://p' /proc/self/cgroup)\n" + body
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o755])
            return path
        }

        // MARK: Keyrings

        /// KeyringMode= as keyutils' keyctl(1) shows it from inside the service: under a swatchd
        /// that is root each service has a session keyring of its own (systemd's default for a
        /// system service), owned by its user and holding its INVOCATION_ID as the key
        /// "invocation_id"; `inherit` leaves it in swatchd's, which is the test's own; `shared`
        /// links the user keyring of the service's user into its own.
        @Test(.timeLimit(.minutes(1)), .enabled(if: access("/usr/bin/keyctl", X_OK) == 0))
        func eachServiceHasASessionKeyringOfItsOwn() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // One line each: the keyring's serial, its description (type;uid;gid;perm;name), the
            // invocation_id key's bytes in hex, $INVOCATION_ID; then the keyring's tree.
            // (keyctl's `%user:invocation_id` would also find other services' keys, which are
            // root's: the search stays in the session keyring.)
            let probe = "keyctl id @s; keyctl rdescribe @s; keyctl search @s user invocation_id 2>/dev/null | xargs -r keyctl pipe "
                + "| od -An -tx1 -v | tr -d \" \\n\"; echo; printenv INVOCATION_ID; keyctl show @s"
            let seen = try daemon.outputsOfOneshots(running: "/bin/sh -c '\(probe)'", [
                ("root", ""), ("nobody", "User=nobody"), ("inherit", "KeyringMode=inherit"),
                ("shared", "User=nobody\nKeyringMode=shared"),
            ])
            let test = try Command.run(["/usr/bin/keyctl", "id", "@s"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            for (name, owner) in [("root", "0;0"), ("nobody", "65534;65534"), ("shared", "65534;65534")] {
                let lines = seen[name] ?? []
                try #require(lines.count > 4, "\(name): \(lines)")
                #expect(lines[0] != test, "\(name) has the test's own session keyring")
                #expect(lines[1].hasPrefix("keyring;\(owner);") && lines[1].hasSuffix(";_ses"), "\(name): \(lines[1])")
                #expect(lines[2].count == 32 && lines[2] == lines[3], "\(name): the invocation ID key \(lines[2]), INVOCATION_ID \(lines[3])")
            }
            #expect(Set([seen["root"]?[0], seen["nobody"]?[0], seen["shared"]?[0]]).count == 3, "one keyring each")
            #expect(seen["inherit"]?[0] == test, "inherit: \(seen["inherit"] ?? [])")
            #expect(seen["inherit"]?[2] == "", "no invocation ID in swatchd's keyring")
            #expect(seen["shared"]?.contains { $0.hasSuffix("keyring: _uid.65534") } == true, "\(seen["shared"] ?? [])")
            #expect(seen["nobody"]?.contains { $0.contains("_uid.") } == false, "\(seen["nobody"] ?? [])")
        }

        @Test(.timeLimit(.minutes(1)))
        func aSettingThatCannotBeAppliedFailsTheStartNamingTheDirective() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let ran = daemon.path("ran")
            try daemon.write("typo.service", """
                [Service]
                ExecStart=/bin/touch \(ran)
                User=nobodyy
                """)
            try daemon.write("hidden.service", """
                [Service]
                ExecStart=/bin/touch \(ran)
                InaccessiblePaths=/nonexistent-swatch-path
                """)
            // The harness's runtime directory is below /tmp: a private /tmp would hide the notify socket.
            try daemon.write("notify.service", """
                [Service]
                Type=notify
                ExecStart=/bin/touch \(ran)
                PrivateTmp=yes
                """)
            try daemon.start()
            try daemon.waitForLog(containing: "Failed to spawn notify.service: PrivateTmp=: it hides swatchd's notify socket")
            try daemon.waitForLog(containing: "Failed to spawn typo.service: User=nobodyy: no such user")
            try daemon.waitForLog(containing: "Failed to spawn hidden.service: InaccessiblePaths=: No such file or directory")
            #expect(access(ran, F_OK) != 0)
        }
    }
}
