// swatchd as PID 1 of a container (what this project is for, README): in a
// PID namespace of its own it serves its sockets, reaps the orphans its
// services leave (no zombie piles up), and `docker stop`'s SIGTERM — which
// comes from outside the namespace — stops everything and exits 0.
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
    }
}
