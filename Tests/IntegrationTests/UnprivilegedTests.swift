// swatchd as a normal user (swatchd.service(5), "SANDBOXING"): the mount-namespace
// settings work through a user namespace of the service's own, as systemd's user
// manager does; what needs real root fails the start, naming the directive. The
// test runner is root and starts the built swatchd as nobody with setpriv(1).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0, "setpriv to nobody needs root"))
    struct UnprivilegedTests {
        static let nobody: uid_t = 65534

        /// Why this kernel gives nobody no user namespace (user_namespaces(7)); nil: it does.
        static let userNamespacesRefused: String? = {
            for (path, name) in [("/proc/sys/user/max_user_namespaces", "user.max_user_namespaces"),
                                 ("/proc/sys/kernel/unprivileged_userns_clone", "kernel.unprivileged_userns_clone")] {
                if let text = readText(path), text.trimmingCharacters(in: .whitespacesAndNewlines) == "0" {
                    return "\(name) = 0: no unprivileged user namespaces on this machine"
                }
            }
            return nil
        }()

        /// A Daemon whose directory nobody owns, started as nobody (no groups).
        private func daemonAsNobody(units: [String: String]) throws -> Daemon {
            let daemon = try Daemon()
            for (name, text) in units { try daemon.write(name, text) }
            for path in [daemon.directory, daemon.unitDirectory] + units.keys.map({ daemon.unitDirectory + "/" + $0 }) {
                guard chown(path, Self.nobody, Self.nobody) == 0 else { throw HarnessError("chown \(path): \(errno)") }
            }
            try daemon.start(launcher: ["/usr/bin/setpriv", "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups"])
            return daemon
        }

        /// The `view: KEY=VALUE` lines a private_view.py service printed.
        private func view(_ daemon: Daemon, unit: String) throws -> [String: String] {
            let lines = try waitFor("\(unit) reports its view\n\(daemon.log)", timeout: .seconds(15)) {
                let lines = daemon.logLines(containing: unit, "view: ")
                return lines.count >= 5 ? lines : nil
            }
            var view: [String: String] = [:]
            for line in lines {
                guard let range = line.range(of: "view: ") else { continue }
                for pair in line[range.upperBound...].split(separator: " ") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { view[String(parts[0])] = String(parts[1]) }
                }
            }
            return view
        }

        /// PrivateTmp=yes and ProtectSystem=strict with swatchd as nobody: the service has a
        /// /tmp of its own (empty; a file the test made in the host's /tmp is not there, and it
        /// may write there), /usr is read-only (EROFS, not the EACCES nobody gets anyway), and
        /// it keeps swatchd's uid and gid. Without a user namespace the same start failed with
        /// "PrivateTmp=: Operation not permitted".
        @Test(.timeLimit(.minutes(1)), .enabled(if: userNamespacesRefused == nil, "\(userNamespacesRefused ?? "")"))
        func privateTmpAndProtectSystemWorkThroughAUserNamespace() throws {
            let marker = "swatch-unprivileged-marker-\(getpid())"
            let markerPath = "/tmp/" + marker
            guard FileManager.default.createFile(atPath: markerPath, contents: Data("host\n".utf8)) else {
                throw HarnessError("cannot create \(markerPath)")
            }
            defer { unlink(markerPath) }
            let daemon = try daemonAsNobody(units: ["view.service": """
                [Service]
                Type=oneshot
                PrivateTmp=yes
                ProtectSystem=strict
                ExecStart=/usr/bin/python3 \(try Harness.sandboxVisibleService("private_view.py")) \(marker)
                """])
            defer { daemon.cleanUp() }
            let view = try view(daemon, unit: "view.service")
            #expect(view["marker"] == "absent", "\(view)")
            #expect(view["tmp-entries"] == "0", "\(view)")
            #expect(view["tmp-write"] == "ok", "\(view)")
            #expect(view["usr-write"] == "EROFS", "\(view)")
            #expect(view["uid"] == "\(Self.nobody)" && view["gid"] == "\(Self.nobody)", "\(view)")
            try daemon.waitForLog(containing: "Finished view.service.", timeout: .seconds(10))
            // The host's /tmp is as it was: the marker is still there, nothing of the service's.
            #expect(FileManager.default.fileExists(atPath: markerPath))
            #expect(daemon.logLines(containing: "Failed to spawn").isEmpty, "\(daemon.log)")
        }

        /// PrivateUsers=yes with swatchd as nobody: the user namespace swatchd sets up anyway
        /// is the service's, mapping swatchd's own ids alone (as systemd's user manager maps
        /// them), once: its parent is the host's namespace, not a second one of swatchd's.
        /// With PrivateTmp=yes too, still one.
        @Test(.timeLimit(.minutes(1)), .enabled(if: userNamespacesRefused == nil, "\(userNamespacesRefused ?? "")"))
        func privateUsersIsTheOneUserNamespaceSwatchdSetsUp() throws {
            let daemon = try daemonAsNobody(units: [
                "alone.service": "[Service]\nExecStart=/bin/sleep 1000\nPrivateUsers=yes\n",
                "tmp.service": "[Service]\nExecStart=/bin/sh -c 'exec tail -f /dev/null'\nPrivateUsers=yes\nPrivateTmp=yes\n",
            ])
            defer { daemon.cleanUp() }
            for command in ["sleep", "tail"] {
                let pid = try waitFor("swatchd runs \(command)\n\(daemon.log)", timeout: .seconds(10)) {
                    try daemon.checkRunning()
                    return daemon.children.first { $0.command == command }?.pid
                }
                let map = (readText("/proc/\(pid)/uid_map") ?? "").split(whereSeparator: \.isWhitespace)
                #expect(map == ["\(Self.nobody)", "\(Self.nobody)", "1"], "\(command): \(map)")
                #expect(readText("/proc/\(pid)/setgroups") == "deny\n")
                #expect(userNamespaceInode(of: pid) != userNamespaceInode(of: getpid()))
                #expect(parentUserNamespaceInode(of: pid) == userNamespaceInode(of: getpid()), "\(command): nested")
            }
            #expect(daemon.logLines(containing: "Failed to spawn").isEmpty, "\(daemon.log)")
        }

        /// The inode of a process's user namespace (namespaces(7)).
        private func userNamespaceInode(of pid: pid_t) -> ino_t? {
            var info = stat()
            return stat("/proc/\(pid)/ns/user", &info) == 0 ? info.st_ino : nil
        }

        /// The inode of the parent of a process's user namespace: ioctl_ns(2) NS_GET_PARENT.
        private func parentUserNamespaceInode(of pid: pid_t) -> ino_t? {
            let namespace = open("/proc/\(pid)/ns/user", O_RDONLY | O_CLOEXEC)
            guard namespace >= 0 else { return nil }
            defer { close(namespace) }
            let parent = ioctl(namespace, 0xb702)  // _IO(0xb7, 0x2)
            guard parent >= 0 else { return nil }
            defer { close(parent) }
            var info = stat()
            return fstat(parent, &info) == 0 ? info.st_ino : nil
        }

        /// As a normal user swatchd has no cgroup to write: a service's processes are its
        /// sessions, found by walking down from swatchd, the child subreaper (swatchd(8),
        /// "PROCESS TRACKING"). The orphan a Type=forking service leaves becomes its main
        /// process, a stop reaches it, and a process that is not the main one may say
        /// READY=1 (NotifyAccess=all).
        @Test(.timeLimit(.minutes(1)))
        func sessionTrackingFindsOrphansNotifiersAndStopsThem() throws {
            let notifier = try Harness.sandboxVisibleService("notify_steps.py")
            let units = [
                "forking.service": "[Service]\nType=forking\nExecStart=/bin/sh -c \"sleep 1000 & exit 0\"\n",
                "helper.service": "[Service]\nType=notify\nNotifyAccess=all\n"
                    // The notifier stays: the session of a sender that is gone can no longer be read
                    // (as in systemd, which finds a sender's unit by its cgroup).
                    + "ExecStart=/bin/sh -c \"\(notifier) send:READY=1 forever & exec sleep 1000\"\n",
            ]
            let daemon = try daemonAsNobody(units: units)
            defer { daemon.cleanUp() }

            let orphan = try daemon.waitForMainPID(of: "forking.service")
            #expect(ProcessStat(pid: orphan)?.command == "sleep")
            #expect(ProcessStat(pid: orphan)?.parent == daemon.pid, "the orphan is swatchd's, the subreaper's")
            try daemon.waitForProperty("ActiveState", of: "forking.service", toBe: "active")
            try daemon.waitForProperty("ActiveState", of: "helper.service", toBe: "active")
            // No cgroup: status has Tasks: and Memory: from the sessions, and no CPU: or CGroup:, as systemctl.
            let status = try daemon.ctl("status", "helper.service").lines
            #expect(status.contains { $0.hasPrefix("      Tasks: ") }, "\(status)")
            #expect(!status.contains { $0.hasPrefix("        CPU: ") || $0.hasPrefix("     CGroup: ") }, "\(status)")
            #expect(try daemon.property("ControlGroup", of: "helper.service") == "")

            try stop("forking.service", of: daemon, reaching: orphan)
        }

        /// The sessions a swatchd without cgroups tracks survive a re-exec: a child the main
        /// process forked is still the service's, and the stop after the re-exec reaches it.
        @Test(.timeLimit(.minutes(1)))
        func aReexecKeepsTrackOfTheSessions() throws {
            let daemon = try daemonAsNobody(units: [
                "pair.service": "[Service]\nExecStart=/bin/sh -c \"sleep 1000 & exec sleep 1001\"\n",
            ])
            defer { daemon.cleanUp() }
            let main = try daemon.waitForMainPID(of: "pair.service")
            let child = try waitFor("the main process \(main) has forked its child\n\(daemon.log)") {
                Processes.children(of: main).first?.pid
            }
            let reexec = try daemon.ctl("daemon-reexec")
            #expect(reexec.exitCode == 0, "\(reexec)")
            #expect(try daemon.property("MainPID", of: "pair.service") == String(main))

            try stop("pair.service", of: daemon, reaching: child)
        }

        /// `swatchctl stop UNIT`; then the unit is inactive and `process`, one of its processes
        /// the stop had to find, is gone.
        private func stop(_ unit: String, of daemon: Daemon, reaching process: pid_t) throws {
            let stop = try daemon.ctl("stop", unit)
            #expect(stop.exitCode == 0, "\(stop)")
            try daemon.waitForProperty("ActiveState", of: unit, toBe: "inactive")
            try waitUntil("process \(process) of \(unit) is gone\n\(daemon.log)") { kill(process, 0) != 0 }
        }

        /// What needs real root even in a user namespace fails the start with the reason:
        /// another user, a dynamic one, a proc instance of its own.
        @Test(.timeLimit(.minutes(1)))
        func whatNeedsRootFailsTheStartNamingTheDirective() throws {
            let units = [
                "other.service": "[Service]\nType=oneshot\nUser=root\nPrivateTmp=yes\nExecStart=/bin/true\n",
                "dynamic.service": "[Service]\nType=oneshot\nDynamicUser=yes\nExecStart=/bin/true\n",
                "proc.service": "[Service]\nType=oneshot\nProtectProc=invisible\nExecStart=/bin/true\n",
            ]
            let daemon = try daemonAsNobody(units: units)
            defer { daemon.cleanUp() }
            try daemon.waitForLog(containing: "Failed to spawn other.service: User=root: swatchd runs as uid 65534, not root:",
                                  "cannot switch to another user")
            try daemon.waitForLog(containing: "Failed to spawn dynamic.service: DynamicUser=: swatchd runs as uid 65534, not root")
            try daemon.waitForLog(containing: "Failed to spawn proc.service: ProtectProc=: swatchd runs as uid 65534, not root")
        }

        /// Where the kernel refuses unprivileged user namespaces, the start fails saying so.
        @Test(.timeLimit(.minutes(1)), .enabled(if: userNamespacesRefused != nil, "this machine allows unprivileged user namespaces"))
        func withoutUserNamespacesTheStartFailsSayingWhy() throws {
            let daemon = try daemonAsNobody(units: ["view.service": "[Service]\nType=oneshot\nPrivateTmp=yes\nExecStart=/bin/true\n"])
            defer { daemon.cleanUp() }
            try daemon.waitForLog(containing: "Failed to spawn view.service: PrivateTmp=: swatchd runs as uid 65534, not root,",
                                  "allows no unprivileged user namespaces")
        }
    }
}
