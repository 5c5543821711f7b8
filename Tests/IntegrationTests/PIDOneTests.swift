// swatchd as PID 1 of a container (what this project is for, README): in a
// PID namespace of its own it serves its sockets, reaps the orphans its
// services leave (no zombie piles up), and `docker stop`'s SIGTERM — which
// comes from outside the namespace — stops everything and exits 0. With
// `--exit-with UNIT` it is that service's wrapper, as tini is a program's
// (swatchd(8), OPTIONS and SIGNALS): it exits with the service's status and
// forwards signals to it.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0)) struct PIDOneTests {
        @Test(.timeLimit(.minutes(1)))
        func servesReapsOrphansAndStopsOnSIGTERMFromOutside() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", "[Service]\nExecStart=\(try Harness.binary("swatchd-hello"))\n")
            // Orphans that exit: reparented to PID 1, they are swatchd's to reap.
            try daemon.write("orphans.service", """
                [Service]
                ExecStart=/bin/sh -c 'for i in 1 2 3 4 5; do ( sh -c "sleep 0.1; exit 3" & ); done; exec sleep 1000'
                """)
            // --kill-child: should the test fail, swatchd goes with unshare.
            try daemon.start(launcher: ["/usr/bin/unshare", "--pid", "--mount-proc", "--kill-child"])
            let swatchd = try waitFor("swatchd runs under unshare\n\(daemon.log)", timeout: .seconds(10)) {
                Processes.children(of: daemon.pid).first { $0.command == "swatchd" }
            }
            #expect(readText("/proc/\(swatchd.pid)/status")?.contains("NSpid:\t\(swatchd.pid)\t1\n") == true,
                    "swatchd is not PID 1 of its namespace")

            #expect(try Client.body(.loopback4(port)) == Client.helloBody)
            // The orphans were its children once reparented; none is left as a zombie.
            try waitUntil("only the two services are left below swatchd, none a zombie\n\(daemon.log)") {
                let children = Processes.children(of: swatchd.pid)
                return children.count == 2 && !children.contains { $0.state == "Z" }
            }

            kill(swatchd.pid, SIGTERM)
            #expect(Command.wait(daemon.pid, timeout: .seconds(15)) == .exited(0), "\(daemon.log)")
            #expect(daemon.log.contains("Received SIGTERM from outside the PID namespace."), "\(daemon.log)")
        }

        /// swatchd as PID 1 under `unshare --pid --fork --mount-proc` with `arguments`;
        /// returns swatchd's pid (daemon.pid is unshare's, which exits with swatchd's status).
        private func startAsPIDOne(_ daemon: Daemon, arguments: [String]) throws -> pid_t {
            // --kill-child: should the test fail, swatchd goes with unshare.
            try daemon.start(arguments: arguments, launcher: ["/usr/bin/unshare", "--pid", "--mount-proc", "--kill-child"])
            let swatchd = try waitFor("swatchd runs under unshare\n\(daemon.log)", timeout: .seconds(10)) {
                Processes.children(of: daemon.pid).first { $0.command == "swatchd" }
            }
            #expect(readText("/proc/\(swatchd.pid)/status")?.contains("NSpid:\t\(swatchd.pid)\t1\n") == true,
                    "swatchd is not PID 1 of its namespace")
            return swatchd.pid
        }

        /// A service that says it runs (`started`), then waits for the file `go` and exits with `code`.
        private static func waitingService(_ daemon: Daemon, exitCode code: Int32) -> String {
            """
            [Service]
            ExecStart=/bin/sh -c 'touch \(daemon.path("started")); while [ ! -e \(daemon.path("go")) ]; do sleep 0.02; done; exit \(code)'
            """
        }

        @Test(.timeLimit(.minutes(1)), arguments: [Int32(0), 3])
        func exitWithEndsWithTheMainServicesExitCode(code: Int32) throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("main.service", Self.waitingService(daemon, exitCode: code))
            // A second service that must be stopped on the way out.
            try daemon.write("side.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            let swatchd = try startAsPIDOne(daemon, arguments: ["--exit-with", "main"])
            try waitUntil("main.service runs\n\(daemon.log)") { access(daemon.path("started"), F_OK) == 0 }
            try daemon.waitForLog(containing: "Started side.service")
            #expect(Processes.isAlive(swatchd))
            _ = FileManager.default.createFile(atPath: daemon.path("go"), contents: nil)
            #expect(daemon.waitForExit() == .exited(code), "\(daemon.log)")
            #expect(daemon.log.contains("main.service ended, and swatchd runs --exit-with it"), "\(daemon.log)")
            #expect(daemon.log.contains("Stopping side.service"), "\(daemon.log)")
        }

        /// FailureAction=exit and SuccessAction=exit in the unit file do what `--exit-with` does:
        /// the other services are stopped and swatchd exits with the main process's status, or
        /// with FailureActionExitStatus=/SuccessActionExitStatus=.
        @Test(.timeLimit(.minutes(1)), arguments: [("FailureAction=exit", Int32(3), Int32(3)),
                                                   ("FailureAction=exit\nFailureActionExitStatus=42", 3, 42),
                                                   ("SuccessAction=exit", 0, 0)])
        func unitActionsEndSwatchdAsExitWithDoes(_ keys: String, code: Int32, expected: Int32) throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("main.service", "[Unit]\n\(keys)\n" + Self.waitingService(daemon, exitCode: code))
            try daemon.write("side.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            let swatchd = try startAsPIDOne(daemon, arguments: [])
            try waitUntil("main.service runs\n\(daemon.log)") { access(daemon.path("started"), F_OK) == 0 }
            try daemon.waitForLog(containing: "Started side.service")
            #expect(Processes.isAlive(swatchd))
            _ = FileManager.default.createFile(atPath: daemon.path("go"), contents: nil)
            #expect(daemon.waitForExit() == .exited(expected), "\(daemon.log)")
            #expect(daemon.log.contains("main.service: \(keys.prefix { $0 != "\n" }): stopping everything, exit status \(expected)."),
                    "\(daemon.log)")
            #expect(daemon.log.contains("Stopping side.service"), "\(daemon.log)")
        }

        /// A unit written as systemd's systemd-exit.service is: no Type=, no ExecStart=, only
        /// SuccessAction=. It loads as a oneshot; started at start-up after the other service,
        /// it ends swatchd, which stops that service on the way out.
        @Test(.timeLimit(.minutes(1)))
        func aServiceWithOnlySuccessActionEndsSwatchd() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("exit.service", "[Unit]\nDescription=Exit the container\nAfter=side.service\nSuccessAction=exit\n")
            try daemon.write("side.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            // It may be gone before startAsPIDOne would find it, or before it is seen ready.
            try daemon.start(waitForReady: false, launcher: ["/usr/bin/unshare", "--pid", "--mount-proc", "--kill-child"])
            #expect(daemon.waitForExit() == .exited(0), "\(daemon.log)")
            for line in ["Started side.service", "Starting exit.service - Exit the container...",
                         "exit.service: SuccessAction=exit: stopping everything, exit status 0.", "Stopping side.service"] {
                #expect(daemon.log.contains(line), "\(daemon.log)")
            }
        }

        @Test(.timeLimit(.minutes(1)))
        func exitWithEndsWith137WhenTheMainServiceIsKilled() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("main.service", "[Service]\nExecStart=/bin/sleep 1000\n")
            let swatchd = try startAsPIDOne(daemon, arguments: ["--exit-with=main.service"])
            let main = try waitFor("main.service runs\n\(daemon.log)") {
                Processes.children(of: swatchd).first { $0.command == "sleep" }
            }
            kill(main.pid, SIGKILL)
            #expect(daemon.waitForExit() == .exited(128 + SIGKILL), "\(daemon.log)")
        }

        /// With --exit-with, SIGUSR1 (and its kind) goes on to the main process, as tini forwards
        /// it; SIGTERM still stops everything, and swatchd then exits 0.
        @Test(.timeLimit(.minutes(1)))
        func exitWithForwardsSIGUSR1ToTheMainProcess() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("main.service", """
                [Service]
                ExecStart=/bin/sh -c 'trap "echo USR1 >>\(daemon.path("got"))" USR1; trap "echo USR2 >>\(daemon.path("got"))" USR2; touch \(daemon.path("trapping")); while :; do sleep 0.02; done'
                """)
            let swatchd = try startAsPIDOne(daemon, arguments: ["--exit-with", "main"])
            try waitUntil("main.service traps its signals\n\(daemon.log)") { access(daemon.path("trapping"), F_OK) == 0 }
            kill(swatchd, SIGUSR1)
            try waitUntil("main.service got SIGUSR1\n\(daemon.log)") { readText(daemon.path("got")) == "USR1\n" }
            kill(swatchd, SIGUSR2)
            try waitUntil("main.service got SIGUSR2\n\(daemon.log)") { readText(daemon.path("got")) == "USR1\nUSR2\n" }
            #expect(Processes.isAlive(swatchd))
            kill(swatchd, SIGTERM)
            #expect(daemon.waitForExit() == .exited(0), "\(daemon.log)")
        }
    }
}
