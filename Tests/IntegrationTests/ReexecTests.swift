// `swatchctl daemon-reexec` (swatchd(8), RE-EXECUTION): swatchd executes
// itself again in the same process, keeping its sockets and services — no
// request refused or reset under a client loop, the same listening socket,
// the same pids — and an upgraded binary installed at its path takes effect.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ReexecTests {
        private func exe(of pid: pid_t) -> String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
        }

        @Test(.timeLimit(.minutes(2)))
        func threeReexecsUnderLoadDropNothingAndKeepEverything() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let report = daemon.path("report")
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: report))
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let main = try #require(try daemon.property("MainPID", of: "hello.service"))
            let inode = try ListenerInode.single(onPort: port)
            let fdsBefore = daemon.openFDs.count

            let clients = HandoverTests.ClientLoop(port: port)
            for round in 1...3 {
                let answeredBefore = clients.answered
                let reexec = try daemon.ctl("daemon-reexec")
                #expect(reexec.exitCode == 0, "\(reexec)")
                try daemon.waitForLog(containing: "re-executed")
                try waitUntil("requests are answered after re-exec \(round)") { clients.answered > answeredBefore }
            }
            let tally = try clients.finish()
            #expect(tally.failures.isEmpty, "refused or reset: \(tally.failures.prefix(5))")
            #expect(daemon.logLines(containing: "re-executed").count == 3)

            try daemon.checkRunning()
            #expect(try ListenerInode.single(onPort: port) == inode, "the same listening socket")
            #expect(try daemon.property("MainPID", of: "hello.service") == main)
            #expect(daemon.openFDs.count == fdsBefore, "no fd gained or lost: \(daemon.openFDs)")
            let stop = try daemon.ctl("stop", "hello.service")
            #expect(stop.exitCode == 0, "\(stop)")
            #expect(!Processes.isAlive(pid_t(main) ?? 0))
            #expect(try Client.body(.loopback4(port)) == Client.helloBody, "activated again after the stop")
        }

        /// An Accept=yes instance's group is a pooled slot, not named for the unit: after a
        /// re-exec the new process knows it again (its attribute names the instance), so when
        /// the instance's main process ends, what it left in its group is still stopped
        /// (KillMode=control-group).
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "cgroup tracking needs root"))
        func anAcceptInstanceKeepsItsGroupAcrossAReexec() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hold.socket", "[Socket]\nListenStream=127.0.0.1:\(port)\nAccept=yes\n")
            try daemon.write("hold@.service", """
                [Service]
                ExecStart=/bin/sh -c 'sleep 1000 & exec cat'
                StandardInput=socket
                """)
            try daemon.start()
            let connection = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            var sleeper: pid_t = 0
            try waitUntil("the instance and its sleep run") {
                sleeper = Processes.descendants(of: daemon.pid).first { $0.command == "sleep" }?.pid ?? 0
                return sleeper > 0
            }
            defer { kill(sleeper, SIGKILL) }
            let group = try #require(Processes.cgroupDirectory(of: sleeper))
            try #require(group.contains("/swatchd-"), "no cgroup tracking here: \(group)")

            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            // The connection ends: cat exits, and the instance's stop reaches the sleep in its group.
            close(connection)
            try waitUntil("the sleep left in the instance's group is stopped\n\(daemon.log)") {
                !Processes.isAlive(sleeper)
            }
            try daemon.checkRunning()
        }

        @Test(.timeLimit(.minutes(1)))
        func anUpgradedBinaryTakesEffect() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // swatchd run from a copy, which is then replaced as a package manager would (rename over it).
            let installed = daemon.path("swatchd")
            try FileManager.default.copyItem(atPath: try Harness.binary("swatchd"), toPath: installed)
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            try daemon.start(binary: installed)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let main = try daemon.property("MainPID", of: "hello.service")

            try FileManager.default.copyItem(atPath: try Harness.binary("swatchd"), toPath: installed + ".new")
            #expect(rename(installed + ".new", installed) == 0)
            #expect(exe(of: daemon.pid).hasSuffix("(deleted)"), "runs the old, replaced binary")
            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(exe(of: daemon.pid) == installed, "now runs the new one")
            #expect(try daemon.property("MainPID", of: "hello.service") == main)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
        }

        /// An Accept=yes socket's counters (status's `Accepted: N; Connected: N;   Refused: N`, show's
        /// NAccepted=, NConnections=, NRefused=) and its failed instances cross a re-exec.
        @Test(.timeLimit(.minutes(1)))
        func anAcceptSocketsCountersAndFailedInstancesCrossAReexec() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try Units.writeLineEcho(port: port, then: "[ \"$line\" = ok ]", to: daemon)
            try daemon.start()
            // One instance fails; two are held open; a third connection is one too many.
            let failing = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            #expect(try Client.exchangeLine("fail", on: failing) == "fail")
            close(failing)
            try daemon.waitForProperty("NConnections", of: "echo.socket", toBe: "0")
            let held = [try Client.connect(.loopback4(port), type: SOCK_STREAM),
                        try Client.connect(.loopback4(port), type: SOCK_STREAM)]
            defer { for client in held { close(client) } }
            try daemon.waitForProperty("NConnections", of: "echo.socket", toBe: "2")
            let refused = try Client.connect(.loopback4(port), type: SOCK_STREAM)
            defer { close(refused) }
            #expect(try Client.readLine(refused) == nil, "closed at once")
            try daemon.waitForProperty("NRefused", of: "echo.socket", toBe: "1")
            let before = try daemon.ctl("status", "echo.socket")
            #expect(before.lines.contains("   Accepted: 3; Connected: 2;   Refused: 1"), "\(before)")

            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            let after = try daemon.ctl("show", "-p", "NAccepted,NConnections,NRefused", "echo.socket")
            #expect(after.standardOutput == "NAccepted=3\nNConnections=2\nNRefused=1\n", "\(after)")
            let failed = try daemon.ctl("list-units", "--state=failed")
            #expect(failed.standardOutput.contains("echo@0-127.0.0.1:\(port)-"), "\(failed)")
            // Its description is its peer, as systemd sets it, across the re-exec too.
            let instance = try #require(failed.lines.compactMap { $0.split(separator: " ").first { $0.hasPrefix("echo@0-") } }.first)
            let peer = instance.split(separator: "-").last.map { String($0.dropLast(".service".count)) } ?? "?"
            #expect(try daemon.property("Description", of: String(instance)) == peer, "\(failed)")
            for client in held { #expect(try Client.exchangeLine("ok", on: client) == "ok") }
            try daemon.waitForProperty("NConnections", of: "echo.socket", toBe: "0")
            #expect(try daemon.stop() == .exited(0), "\(daemon.log)")
        }

        /// The output pipe a running service writes to is handed over with its levels: after the
        /// re-exec, LogLevelMax= still keeps the service's debug lines out of `swatchctl logs`.
        @Test(.timeLimit(.minutes(1)))
        func theOutputKeepsItsLogLevelMaxAcrossAReexec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let trigger = daemon.path("trigger")
            try daemon.write("chatty.service", """
                [Service]
                ExecStart=/bin/sh -c 'while :; do if [ -e \(trigger) ]; then rm \(trigger); echo "<7>late-debug"; echo "<3>late-error"; fi; sleep 0.05; done'
                LogLevelMax=warning
                """)
            try daemon.start()
            try daemon.waitForProperty("ActiveState", of: "chatty.service", toBe: "active")
            let main = try daemon.property("MainPID", of: "chatty.service")
            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(try daemon.property("MainPID", of: "chatty.service") == main)
            #expect(FileManager.default.createFile(atPath: trigger, contents: Data()))
            try waitUntil("the service's line after the re-exec arrived\n\(daemon.log)") {
                try daemon.ctl("logs", "chatty.service").standardOutput.contains("late-error")
            }
            #expect(!(try daemon.ctl("logs", "chatty.service").standardOutput.contains("late-debug")))
        }

        /// The recent lines behind `swatchctl logs` cross a re-exec, in order: a service's line and
        /// swatchd's own about it from before, then the service's line from after. A `logs -f`
        /// running meanwhile goes on, each line once.
        @Test(.timeLimit(.minutes(1)))
        func theRecentLinesOfLogsCrossAReexec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let trigger = daemon.path("trigger")
            try daemon.write("talk.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo "before the re-exec"; while [ ! -e \(trigger) ]; do sleep 0.05; done; echo "after it"; exec sleep 60'
                """)
            try daemon.start()
            _ = try daemon.waitForLog(containing: "talk.service[", "before the re-exec")
            let followed = daemon.path("follow.out")
            let follower = try daemon.followLogs(of: "talk.service", into: followed)
            defer { daemon.stopFollowing(follower) }
            try waitUntil("logs -f prints the line from before") { readText(followed)?.contains("before the re-exec") == true }

            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(FileManager.default.createFile(atPath: trigger, contents: Data()))
            _ = try daemon.waitForLog(containing: "talk.service[", "after it")
            let wanted = ["Started talk.service.", "before the re-exec", "after it"]
            func seen(_ lines: [String]) -> [String] { lines.compactMap { line in wanted.first { line.hasSuffix(": " + $0) } } }
            let logs = try daemon.ctl("logs", "talk.service").lines
            #expect(seen(logs) == wanted, "\(logs)")
            try waitUntil("logs -f prints the line from after\n\(readText(followed) ?? "")") {
                readText(followed)?.contains("after it") == true
            }
            #expect(Command.wait(follower, timeout: .milliseconds(200)) == nil, "logs -f exited")
            let printed = (readText(followed) ?? "").split(separator: "\n").map(String.init)
            #expect(seen(printed) == wanted, "\(printed)")
        }

        /// What sandboxing holds for a running service crosses a re-exec: the lock on its private
        /// /tmp stays held (another swatchd's sweep would take it for stale otherwise), a unit
        /// that starts afterwards with the same dynamic user shares its number, and the stop
        /// after the re-exec removes its private /tmp, runtime directory and credentials, as
        /// without one.
        @Test(.timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "DynamicUser= and /run need root"))
        func whatSandboxingHoldsForAServiceCrossesAReexec() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let tag = "swatch-reexec-\(getpid())"
            let runtime = "/run/\(tag)"
            defer { try? FileManager.default.removeItem(atPath: runtime) }
            try daemon.write("held.service", """
                [Service]
                ExecStart=/bin/sleep 300
                DynamicUser=yes
                PrivateTmp=yes
                RuntimeDirectory=\(tag)
                SetCredential=token:secret
                """)
            // An instance, started only when asked, after the re-exec: the same dynamic user, `held`.
            try daemon.write("sharer@.service", "[Service]\nExecStart=/bin/sleep 300\nDynamicUser=yes\nUser=held\n")
            func backing(_ base: String) -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
                    .filter { $0.hasPrefix("swatchd-private-held.service-") }.map { base + "/" + $0 }
            }
            func owner(_ pid: String?) -> uid_t? {
                var info = stat()
                return pid.flatMap { stat("/proc/\($0)", &info) == 0 ? info.st_uid : nil }
            }
            try daemon.start()
            let main = try #require(try daemon.property("MainPID", of: "held.service"))
            let uid = try #require(owner(main))
            let credentials = daemon.runtimeDirectory + "/credentials/held.service"
            let temporary = backing("/tmp") + backing("/var/tmp")
            #expect(temporary.count == 2 && access(runtime, F_OK) == 0 && access(credentials + "/token", F_OK) == 0)

            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(try daemon.property("MainPID", of: "held.service") == main)
            for directory in temporary {
                let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                defer { close(fd) }
                #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK, "\(directory) is still locked")
            }
            #expect(try daemon.ctl("start", "sharer@1.service").exitCode == 0)
            let sharer = try daemon.property("MainPID", of: "sharer@1.service")
            #expect(owner(sharer) == uid, "the dynamic user held before the re-exec is shared: uid \(owner(sharer) ?? 0), not \(uid)")

            #expect(try daemon.ctl("stop", "held.service", "sharer@1.service").exitCode == 0)
            try waitUntil("the stop removed what the start made\n\(daemon.log)") {
                temporary.allSatisfy { access($0, F_OK) != 0 } && access(runtime, F_OK) != 0 && access(credentials, F_OK) != 0
            }
        }

        /// What swatchd read from the pipe and had not forwarded yet — here half a line — goes to
        /// the new swatchd with the pipe: the line arrives whole, once.
        @Test(.timeLimit(.minutes(1)))
        func aLineHalfWrittenAtAReexecArrivesWhole() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let (half, trigger) = (daemon.path("half"), daemon.path("trigger"))
            try daemon.write("slow.service", """
                [Service]
                ExecStart=/bin/sh -c 'printf "half a "; touch \(half); while [ ! -e \(trigger) ]; do sleep 0.05; done; echo line; exec sleep 60'
                """)
            try daemon.start()
            try waitUntil("the service wrote half its line") { FileManager.default.fileExists(atPath: half) }
            // A control call after the write: the loop has read the pipe by its answer.
            _ = try daemon.ctl("status", "slow.service")
            #expect(try daemon.ctl("daemon-reexec").exitCode == 0)
            try daemon.waitForLog(containing: "re-executed")
            #expect(FileManager.default.createFile(atPath: trigger, contents: Data()))
            let line = try daemon.waitForLog(containing: "slow.service[", "line")
            #expect(line.hasSuffix("]: half a line"), "\(daemon.log)")
            let logs = try daemon.ctl("logs", "slow.service").lines
            #expect(logs.filter { $0.contains("half a") || $0.hasSuffix("line") }.count == 1, "\(logs)")
        }

        @Test(.timeLimit(.minutes(1)))
        func aReexecWaitsWhileAJobRuns() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("slow.socket", Units.tcpSocket(try Ports.free()))
            try daemon.write("slow.service", """
                [Service]
                Type=notify
                ExecStart=/usr/bin/python3 \(Harness.service("notify_steps.py")) sleep:3 send:READY=1 forever
                """)
            try daemon.start()
            #expect(try daemon.ctl("--no-block", "start", "slow.service").exitCode == 0)
            let reexec = try daemon.ctl("daemon-reexec")
            #expect(reexec.exitCode == 1)
            #expect(reexec.standardError.contains("Cannot re-execute now: jobs are running"), "\(reexec)")
        }

        /// A state the new process cannot read (a downgrade, corruption): a clean start.
        @Test(.timeLimit(.minutes(1)))
        func anUnreadableStateMeansACleanStart() throws {
            let port = try Ports.free()
            let garbage = "/tmp/sw-reexec-garbage-\(getpid())"
            try "swatchd-state 99\nnotify banana\n".write(toFile: garbage, atomically: true, encoding: .utf8)
            defer { unlink(garbage) }
            let daemon = try Daemon(environment: ["SWATCHD_DESERIALIZE": garbage])
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            try daemon.start()
            try daemon.waitForLog(containing: "Failed to take over after daemon-reexec")
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
        }

        /// A new binary that cannot read the state (a downgrade; here a wrapper that corrupts
        /// it first): a clean start that keeps the listening sockets and adopts the services.
        @Test(.timeLimit(.minutes(1)))
        func aLostStateKeepsTheSocketsAndAdoptsTheServices() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let installed = daemon.path("swatchd")
            try FileManager.default.copyItem(atPath: try Harness.binary("swatchd"), toPath: installed)
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            try daemon.start(binary: installed)
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            let main = try daemon.property("MainPID", of: "hello.service")
            let inode = try ListenerInode.single(onPort: port)

            let wrapper = daemon.path("swatchd.new")
            try """
                #!/bin/sh
                echo 'swatchd-state 99' > "$SWATCHD_DESERIALIZE"
                exec '\(try Harness.binary("swatchd"))' "$@"
                """.write(toFile: wrapper, atomically: true, encoding: .utf8)
            chmod(wrapper, 0o755)
            #expect(rename(wrapper, installed) == 0)
            let clients = HandoverTests.ClientLoop(port: port)
            _ = try? daemon.ctl("daemon-reexec")   // its answer is lost with the state
            try daemon.waitForLog(containing: "Failed to take over after daemon-reexec")
            try daemon.waitForLog(containing: "hello.service: Adopting its running process \(main ?? "")")
            let answered = clients.answered
            try waitUntil("requests answered after the takeover") { clients.answered > answered }
            let tally = try clients.finish()
            #expect(!tally.failures.contains { $0.contains("refused") }, "\(tally.failures.prefix(5))")
            #expect(try ListenerInode.single(onPort: port) == inode, "the same listening socket")
            #expect(try daemon.property("MainPID", of: "hello.service") == main)
            #expect(try daemon.ctl("stop", "hello.service").exitCode == 0)
            #expect(!Processes.isAlive(pid_t(main ?? "") ?? 0))
        }
    }
}
