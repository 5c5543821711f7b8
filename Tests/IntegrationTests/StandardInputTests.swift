// StandardInput= as a service sees it on fd 0 (man/swatchd.service.5, systemd.exec(5)):
// the bytes of StandardInputText=/StandardInputData=, a file, and a terminal that
// becomes the service's controlling terminal, with StandardOutput= following it there.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct StandardInputTests {
        @Test(.timeLimit(.minutes(1)))
        func aServiceReadsTheDataOfStandardInputTextAndData() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let out = daemon.path("data.out")
            // "bGluZSB0aHJl" and "ZQo=" are base64 for "line thre" and "e\n"; %n is the unit's name.
            try daemon.write("data.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/cat
                StandardInputText=line one\\tof %n
                StandardInputText=line two
                StandardInputData=bGluZSB0aHJl
                StandardInputData=ZQo=
                StandardOutput=file:\(out)
                """)
            try daemon.start()
            try daemon.waitForProperty("Result", of: "data.service", toBe: "success")
            #expect(readText(out) == "line one\tof data.service\nline two\nline three\n")
        }

        @Test(.timeLimit(.minutes(1)))
        func aServiceReadsTheFileOfStandardInputFile() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let input = daemon.path("input.txt"), out = daemon.path("file.out")
            try "from a file\n".write(toFile: input, atomically: true, encoding: .utf8)
            try daemon.write("file.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/cat
                StandardInput=file:\(input)
                StandardOutput=file:\(out)
                """)
            try daemon.write("missing.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/cat
                StandardInput=file:\(daemon.path("nowhere"))
                """)
            try daemon.start()
            try daemon.waitForProperty("Result", of: "file.service", toBe: "success")
            #expect(readText(out) == "from a file\n")
            _ = try daemon.waitForLog(containing: "missing.service", "Failed to set up standard input",
                                      daemon.path("nowhere"))
            #expect(try daemon.property("ActiveState", of: "missing.service") == "failed")
        }

        /// A pseudo-terminal stands in for the console: the service finds it on fd 0 as its
        /// controlling terminal, and what it prints (StandardOutput= defaults to inherit after
        /// a terminal) arrives at the master side.
        @Test(.timeLimit(.minutes(1)))
        func aTerminalOfStandardInputTTYBecomesTheControllingTerminal() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            // A pseudo-terminal stands in for the console (Services/pty_relay.py); what
            // arrives at its master side lands in tty.out.
            let ttyName = daemon.path("tty.name"), seen = daemon.path("tty.out")
            let relay = try Command.spawn(["/usr/bin/python3", Harness.service("pty_relay.py"), ttyName, seen, "50"],
                                          environment: [:], plumbing: .init(outputPath: daemon.path("relay.log")))
            defer {
                kill(relay, SIGKILL)
                _ = Command.wait(relay, timeout: .seconds(5))
            }
            let terminal = try waitFor("the relay's terminal", timeout: .seconds(10)) { readText(ttyName) }
            let script = daemon.path("tty.py")
            try """
                import os
                os.close(os.open("/dev/tty", os.O_RDWR))  # ENXIO without a controlling terminal
                # tcgetpgrp() fails with ENOTTY on a terminal that is not the caller's controlling one.
                print("tty=%s foreground=%s" % (os.ttyname(0), os.tcgetpgrp(0) == os.getpgrp()), flush=True)
                """.write(toFile: script, atomically: true, encoding: .utf8)
            // StandardOutput= is not set: after a terminal it defaults to inherit, the terminal.
            try daemon.write("console.service", """
                [Service]
                Type=oneshot
                ExecStart=/usr/bin/python3 \(script)
                StandardInput=tty
                TTYPath=\(terminal)
                """)
            try daemon.write("notatty.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/true
                StandardInput=tty-fail
                TTYPath=/dev/null
                """)
            try daemon.start()
            let line = try waitFor("the service's line on the terminal", timeout: .seconds(20)) { () -> String? in
                guard let text = readText(seen), text.contains("\n") else { return nil }
                return text
            }
            #expect(line.contains("tty=\(terminal) foreground=True"), "\(line)")
            // /dev/null is no terminal: TIOCSCTTY fails, and the start with it.
            _ = try daemon.waitForLog(containing: "notatty.service", "TIOCSCTTY")
            try daemon.waitForProperty("ActiveState", of: "notatty.service", toBe: "failed")
        }

        /// `fd:NAME` (systemd.exec(5)): the service reads fd 0 from the FIFO of in.socket and writes
        /// fd 1 into the FIFO of out.socket, both handed over by Sockets= and named by
        /// FileDescriptorName=; a name no socket gives fails the start.
        @Test(.timeLimit(.minutes(1)))
        func namedDescriptorsOfSocketsAreStandardInputAndOutput() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            let input = daemon.path("in.fifo"), output = daemon.path("out.fifo")
            try daemon.write("in.socket", "[Socket]\nListenFIFO=\(input)\nService=upper.service\n")
            try daemon.write("out.socket", "[Socket]\nListenFIFO=\(output)\nFileDescriptorName=result\nService=upper.service\n")
            try daemon.write("upper.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/sed -n "s/^/got: /p;q"
                Sockets=in.socket out.socket
                StandardInput=fd:in.socket
                StandardOutput=fd:result
                """)
            try daemon.write("nameless.service", """
                [Service]
                Type=oneshot
                ExecStart=/bin/true
                StandardInput=fd:nowhere
                """)
            try daemon.start()
            // Read the result FIFO without blocking; swatchd holds it open for writing too.
            let reader = open(output, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            try #require(reader >= 0)
            defer { close(reader) }
            // The line activates in.socket; sed answers its first line and quits (no EOF comes:
            // swatchd keeps the FIFO open).
            let writer = open(input, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            try #require(writer >= 0)
            _ = "named fds\n".withCString { write(writer, $0, strlen($0)) }
            close(writer)
            var seen = ""
            try waitUntil("sed's line in out.fifo (so far: \(seen.debugDescription))", timeout: .seconds(20)) {
                var buffer = [UInt8](repeating: 0, count: 256)
                let n = read(reader, &buffer, buffer.count)
                if n > 0 { seen += String(decoding: buffer[..<n], as: UTF8.self) }
                return seen.contains("\n")
            }
            #expect(seen == "got: named fds\n")
            _ = try daemon.waitForLog(containing: "nameless.service", "Failed to set up standard input: fd:nowhere")
        }
    }
}
