// The signals swatchd reads besides SIGTERM, SIGINT, SIGHUP and SIGCHLD
// (swatchd(8), SIGNALS): without --exit-with, one whose default action would
// end a process (`kill -USR1`) is logged and ignored — swatchd and its services
// stay up, outside PID 1 too — and the services start with a clean signal mask
// (docs/HACKING.md "Spawning"). --default-timeout-stop is the TimeoutStopSec=
// of every unit that sets none.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct SignalTests {
        @Test(.timeLimit(.minutes(1)))
        func signalsThatWouldEndSwatchdAreIgnoredWithoutExitWith() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("busy.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            try daemon.start()
            let service = try #require(try daemon.waitForChildren(1).first)
            // Blocked in swatchd for its signalfd, none of them reaches a service blocked or ignored;
            // only SIGPIPE is ignored, as under systemd (IgnoreSIGPIPE=yes, systemd.exec(5)).
            // Read once it runs sleep: between clone and execve the child is still a copy of swatchd.
            let status = try waitFor("pid \(service.pid) runs sleep") { () -> String? in
                guard let text = readText("/proc/\(service.pid)/status"), text.hasPrefix("Name:\tsleep\n") else { return nil }
                return text
            }
            #expect(status.contains("SigBlk:\t0000000000000000\n") && status.contains("SigIgn:\t0000000000001000\n"),
                    "\(status)")
            let rtMin = __libc_current_sigrtmin()
            for signal in [SIGUSR1, SIGUSR2, SIGQUIT, SIGALRM, SIGPWR, SIGVTALRM, SIGPROF, SIGIO, SIGXCPU, SIGXFSZ,
                           SIGSTKFLT, SIGWINCH, rtMin] {
                daemon.signal(signal)
            }
            try daemon.waitForLog(containing: "Received SIGUSR1 from PID \(getpid()); ignoring.")
            try daemon.waitForLog(containing: "Received SIGQUIT from PID \(getpid()); ignoring.")
            try daemon.waitForLog(containing: "Received SIGRTMIN from PID \(getpid()); ignoring.")
            #expect(daemon.logLines(containing: "SIGWINCH").isEmpty, "\(daemon.log)")
            try daemon.checkRunning()
            #expect(daemon.children.map(\.pid) == [service.pid])
            #expect(try daemon.ctl("is-active", "busy.service").standardOutput == "active\n")
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
        }

        /// What swatchd's own parent ignored — a script's `swatchd &` ignores SIGINT and SIGQUIT,
        /// `trap ''` any — survives execve; swatchd sets every ignored signal back to its default
        /// first thing, as systemd resets its signals, so its services do not get them either.
        @Test(.timeLimit(.minutes(1)))
        func signalsIgnoredByTheParentOfSwatchdAreAtTheirDefaultInItsServices() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let piped = daemon.path("piped.out"), plain = daemon.path("plain.out"), launcher = daemon.path("launcher.out")
            // grep execs straight from the spawner: what it prints is what it was given.
            try daemon.write("piped.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/grep -E ^Sig(Blk|Ign): /proc/self/status
                StandardOutput=file:\(piped)
                """)
            try daemon.write("plain.service", """
                [Service]
                Type=oneshot
                IgnoreSIGPIPE=no
                ExecStart=/bin/grep -E ^Sig(Blk|Ign): /proc/self/status
                StandardOutput=file:\(plain)
                """)
            // The launcher's own child shows what swatchd is handed (sh then execs it).
            try daemon.start(launcher: ["/bin/sh", "-c",
                                        "trap '' INT QUIT XFSZ USR2; grep ^SigIgn: /proc/self/status > \(launcher); exec \"$@\"",
                                        "sh"])
            func mask(_ text: String?) -> UInt64? {
                text?.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }
                    .flatMap { UInt64($0.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16) }
            }
            let ignoredByParent = [SIGINT, SIGQUIT, SIGXFSZ, SIGUSR2].reduce(UInt64(0)) { $0 | 1 << UInt64($1 - 1) }
            let handed = try #require(mask(readText(launcher)), "\(readText(launcher) ?? "no \(launcher)")")
            #expect(handed & ignoredByParent == ignoredByParent)
            // swatchd itself ignores SIGPIPE alone (sh exec'd it: the same pid).
            #expect(mask(readText("/proc/\(daemon.pid)/status")) == 1 << UInt64(SIGPIPE - 1))
            for (path, expected) in [(piped, "0000000000001000"), (plain, "0000000000000000")] {
                let text = try waitFor("\(path) is written", timeout: .seconds(10)) { () -> String? in
                    guard let t = readText(path), t.hasSuffix("\n"), t.contains("SigIgn") else { return nil }
                    return t
                }
                #expect(text == "SigBlk:\t0000000000000000\nSigIgn:\t\(expected)\n", "\(path): \(text)")
            }
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
        }

        /// A parent that ignores SIGCHLD (a Python program that set SIG_IGN, say) hands that to
        /// swatchd across execve, and then the kernel reaps swatchd's children itself and sends no
        /// SIGCHLD (sigaction(2) and wait(2) on SIGCHLD set to SIG_IGN): swatchd would never see a
        /// service end, and would wait for it at its stop. It sets SIGCHLD back to its default first.
        @Test(.timeLimit(.minutes(1)))
        func aParentThatIgnoresSIGCHLDDoesNotHideTheEndOfAService() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("three.service", "[Service]\nExecStart=/bin/sh -c 'exit 3'\n")
            try daemon.start(launcher: ["/usr/bin/python3", "-c",
                                        "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
                                            + "os.execv(sys.argv[1], sys.argv[1:])"])
            try daemon.waitForProperty("Result", of: "three.service", toBe: "exit-code")
            #expect(try daemon.ctl("show", "three.service", "-p", "ActiveState", "-p", "ExecMainStatus").standardOutput
                    == "ActiveState=failed\nExecMainStatus=3\n")
            #expect(daemon.log.contains("three.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED"),
                    "\(daemon.log)")
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
        }

        /// A service that ignores SIGTERM is SIGKILLed after the default stop timeout given on the
        /// command line: shutdown then ends within the harness's 15 s, not after systemd's 90 s.
        @Test(.timeLimit(.minutes(1)))
        func defaultTimeoutStopKillsAServiceThatIgnoresSIGTERM() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("stubborn.service", """
                [Service]
                ExecStart=/bin/sh -c 'trap "" TERM; touch \(daemon.path("trapping")); while :; do sleep 0.02; done'
                """)
            try daemon.start(arguments: ["--default-timeout-stop", "1s"])
            try waitUntil("stubborn.service ignores SIGTERM\n\(daemon.log)") { access(daemon.path("trapping"), F_OK) == 0 }
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
            #expect(daemon.log.contains("stubborn.service: State 'stop-sigterm' timed out. Killing."), "\(daemon.log)")
            #expect(daemon.log.contains("stubborn.service: Failed with result 'timeout'."), "\(daemon.log)")
        }
    }
}
