// The binaries' footprint (docs/HACKING.md "Footprint and start-up"): swatchctl links
// no Foundation, not even FoundationEssentials, and so no ICU, nor the daemon's C libraries; neither binary's own code uses
// the regex engine; its own JSON encoder (Sources/swatchctl/JSON.swift)
// writes what another parser reads back (Debian's /usr/bin/python3), and
// `make install` strips what it installs.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct FootprintTests {
        /// `python3 -c SCRIPT FILE` with `text` in FILE; its stdout, or what failed.
        private func python(_ script: String, on text: String) throws -> Command.Output {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let file = directory.path + "/input.json"
            try text.write(toFile: file, atomically: false, encoding: .utf8)
            return try Command.run(["/usr/bin/python3", "-c", script, file])
        }

        @Test(.timeLimit(.minutes(1)))
        func jsonOutputIsValidForAnotherParser() throws {
            let port = try Ports.free()
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("hello.socket", Units.tcpSocket(port))
            try daemon.write("hello.service", try Units.helloService(report: daemon.path("report")))
            // What a JSON string must escape, and what it must not (/ and non-ASCII).
            let description = "Quotes \"a\" back\\slash tab\t/path été ✓"
            try daemon.write("odd.service", "[Unit]\nDescription=\(description)\n[Service]\nExecStart=/bin/sleep 300\n")
            try daemon.start()
            #expect(try Client.body(.loopback4(port)) == Client.helloBody)

            let check = """
                import json, sys
                value = json.load(open(sys.argv[1], encoding="utf-8"))
                assert isinstance(value, list), type(value)
                for item in value:
                    assert isinstance(item, dict) and "Id" in item, item
                print(json.dumps({item["Id"]: item.get("Description") for item in value}, ensure_ascii=False))
                """
            for arguments in [["--json", "status", "hello.service", "odd.service"], ["list-units", "--json"],
                              ["--json", "list-sockets"], ["--json", "show", "hello.socket"]] {
                let result = try daemon.ctl(arguments)
                #expect(result.standardOutput.hasSuffix("\n"), "\(result)")
                let parsed = try python(check, on: result.standardOutput)
                #expect(parsed.status == .exited(0), "\(arguments): \(parsed.standardError)\n\(result.standardOutput)")
                if arguments.contains("odd.service") || arguments.contains("list-units") {
                    // Python and JSONSerialization read the same text, and it kept the quotes and the UTF-8.
                    let descriptions = try #require(
                        try JSONSerialization.jsonObject(with: Data(parsed.standardOutput.utf8)) as? [String: Any])
                    let objects = try #require(try result.json() as? [[String: Any]])
                    let odd = try #require(objects.first { $0["Id"] as? String == "odd.service" })
                    let text = try #require(descriptions["odd.service"] as? String, "\(parsed.standardOutput)")
                    #expect(text == odd["Description"] as? String)
                    #expect(text.hasPrefix("Quotes \"a\" back") && text.hasSuffix("/path été ✓"), "\(text)")
                }
            }
            // is-active --json is one object; pretty-printed with two-space indents and sorted keys.
            let isActive = try daemon.ctl("--json", "is-active", "hello.service")
            #expect(isActive.standardOutput == "{\n  \"ActiveState\" : \"active\",\n  \"Id\" : \"hello.service\"\n}\n",
                    "\(isActive)")
            let object = try python("import json, sys; print(json.load(open(sys.argv[1]))['Id'])", on: isActive.standardOutput)
            #expect(object.standardOutput == "hello.service\n", "\(object.standardError)")
        }

        @Test(.timeLimit(.minutes(1)))
        func swatchctlLinksNoFoundationNorICU() throws {
            let swatchctl = try Harness.binary("swatchctl")
            let ldd = try Command.run(["/usr/bin/ldd", swatchctl])
            #expect(ldd.status == .exited(0), "\(ldd.standardError)")
            for library in ldd.standardOutput.split(separator: "\n") {
                let name = library.trimmingCharacters(in: .whitespaces)
                #expect(!name.lowercased().contains("icu"), "\(name)")
                #expect(!name.hasPrefix("libFoundation.so"), "\(name)")
                #expect(!name.hasPrefix("libFoundationInternationalization"), "\(name)")
                #expect(!name.hasPrefix("libFoundationEssentials"), "\(name)")
            }
            // A --static-swift-stdlib build has no libraries to list: its symbols tell.
            let symbols = try Command.run(["/usr/bin/readelf", "-W", "-s", swatchctl], timeout: .seconds(60))
            #expect(symbols.status == .exited(0), "\(symbols.standardError)")
            let icu = symbols.standardOutput.split(separator: "\n").filter {
                $0.contains("_FoundationICU") || $0.contains(" ucol_open") || $0.contains(" u_strToUpper")
            }
            #expect(icu.isEmpty, "\(icu.prefix(5))")
            // Nor FoundationEssentials, which swift-argument-parser brought (4.5 MB of a static swatchctl).
            let essentials = symbols.standardOutput.split(separator: "\n").filter {
                $0.contains("21FoundationEssentials") || $0.contains("22_FoundationCollections")
            }
            #expect(essentials.isEmpty, "\(essentials.prefix(5))")
        }

        /// `String.contains(String)`, `replacing(_:with:)` and friends come from _StringProcessing,
        /// whose regex engine a static binary would carry (0.9 MB, docs/HACKING.md "Where the bytes
        /// are"). A debug build links the Swift libraries dynamically: its undefined symbols show
        /// every use by our code.
        @Test(.timeLimit(.minutes(1)), arguments: ["swatchd", "swatchctl"])
        func usesNoStringProcessing(program: String) throws {
            let symbols = try Command.run(["/usr/bin/readelf", "-W", "--dyn-syms", try Harness.binary(program)],
                                          timeout: .seconds(60))
            #expect(symbols.status == .exited(0), "\(symbols.standardError)")
            let uses = symbols.standardOutput.split(separator: "\n").filter {
                $0.contains("17_StringProcessing") || $0.contains("12_RegexParser")
            }
            #expect(uses.isEmpty, "\(program): \(uses.prefix(5))")
        }

        /// swatchctl links SwatchControl, not SwatchCore: none of the daemon's C libraries.
        @Test(.timeLimit(.minutes(1)))
        func swatchctlLinksNoDaemonLibraries() throws {
            let dynamic = try Command.run(["/usr/bin/readelf", "-W", "-d", try Harness.binary("swatchctl")])
            #expect(dynamic.status == .exited(0), "\(dynamic.standardError)")
            let needed = dynamic.standardOutput.split(separator: "\n").filter { $0.contains("(NEEDED)") }
            #expect(!needed.isEmpty, "\(dynamic.standardOutput)")
            for library in ["libsystemd", "libseccomp"] {
                #expect(!needed.contains { $0.contains(library) }, "\(needed)")
            }
        }

        /// libsystemd is loaded when the journal is first written to (Logging/Libsystemd.swift):
        /// a swatchd that logs to stderr and runs a service has none of it mapped, and the
        /// journal tests (JournalTests) show it loaded where the journal is written to.
        @Test(.timeLimit(.minutes(1)))
        func swatchdLoggingToStderrMapsNoLibsystemd() throws {
            let daemon = try daemonRunningAServiceWithout("libsystemd")
            defer { daemon.cleanUp() }
            #expect(try !maps(daemon, "libsystemd"))
        }

        /// A started daemon running one plain service, after checking that swatchd's binary
        /// does not name `library` among the ones it needs.
        private func daemonRunningAServiceWithout(_ library: String) throws -> Daemon {
            let dynamic = try Command.run(["/usr/bin/readelf", "-d", try Harness.binary("swatchd")])
            #expect(!dynamic.standardOutput.contains(library), "\(dynamic.standardOutput)")
            let daemon = try Daemon()
            try daemon.write("plain.service", "[Service]\nExecStart=/bin/sleep 300\n")
            try daemon.start()
            _ = try daemon.waitForChildren(1)
            return daemon
        }

        /// Whether the daemon's process has `library` mapped (/proc/PID/maps).
        private func maps(_ daemon: Daemon, _ library: String) throws -> Bool {
            let maps = try #require(readText("/proc/\(daemon.pid)/maps"))
            #expect(maps.contains("libc.so") && maps.contains("[stack]"), "the maps were read whole")
            return maps.contains(library)
        }

        /// libseccomp is loaded when a unit's filter is first built (Sandbox/Libseccomp.swift): a
        /// swatchd whose services filter no system calls has none of it mapped; the first
        /// service that does loads it, and its filter holds.
        @Test(.timeLimit(.minutes(1)))
        func libseccompIsMappedOnlyOnceAServiceFiltersSystemCalls() throws {
            let daemon = try daemonRunningAServiceWithout("libseccomp")
            defer { daemon.cleanUp() }
            #expect(try !maps(daemon, "libseccomp"))
            let report = daemon.path("report")
            try daemon.write("filtered.service", """
                [Service]
                Type=oneshot
                ExecStart=/usr/bin/python3 \(Harness.service("sandbox_probe.py")) \(report) swapon
                SystemCallFilter=~swapon
                SystemCallErrorNumber=EPERM
                """)
            #expect(try daemon.ctl("daemon-reload").exitCode == 0)
            #expect(try daemon.ctl("start", "filtered.service").exitCode == 0)
            let probed = try waitFor("the probe's report\n\(daemon.log)", timeout: .seconds(15)) { readText(report) }
            #expect(probed == "swapon EPERM\n", "\(daemon.log)")
            #expect(try maps(daemon, "libseccomp"))
        }

        /// Where libseccomp cannot be loaded (a bind mount of /dev/null over it, in a mount
        /// namespace of swatchd's own), a service that asks for a filter does not start, and
        /// says why; the others run.
        @Test(.enabled(if: getuid() == 0, "needs root for the bind mount"), .timeLimit(.minutes(1)))
        func withoutLibseccompAFilteredServiceFailsAndTheOthersRun() throws {
            let candidates = ["/usr/lib/x86_64-linux-gnu/libseccomp.so.2", "/usr/lib/aarch64-linux-gnu/libseccomp.so.2"]
            let library = try #require(candidates.first { FileManager.default.fileExists(atPath: $0) })
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("plain.service", "[Service]\nExecStart=/bin/sleep 300\n")
            try daemon.write("filtered.service", "[Service]\nExecStart=/bin/sleep 300\nSystemCallFilter=~swapon\n")
            try daemon.start(launcher: [
                "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind /dev/null \"$0\" && exec \"$@\"", library,
            ])
            let line = try daemon.waitForLog(containing: "SystemCallFilter=: cannot load libseccomp")
            #expect(line.contains("filtered.service"), "\(daemon.log)")
            try waitUntil("filtered.service has failed\n\(daemon.log)") {
                try daemon.ctl("is-failed", "filtered.service").exitCode == 0
            }
            #expect(try daemon.ctl("is-active", "plain.service").exitCode == 0)
        }

        /// `--log-target journal` where libsystemd cannot be loaded (a bind mount of /dev/null
        /// over it, in a mount namespace of swatchd's own): swatchd says why on stderr, logs
        /// there, and serves its units as ever.
        @Test(.enabled(if: getuid() == 0, "needs root for the bind mount"), .timeLimit(.minutes(1)))
        func withoutLibsystemdTheJournalTargetSaysWhyAndLogsToStderr() throws {
            let candidates: [String] = ["/usr/lib/x86_64-linux-gnu/libsystemd.so.0", "/usr/lib/aarch64-linux-gnu/libsystemd.so.0"]
            let library = try #require(candidates.first { FileManager.default.fileExists(atPath: $0) })
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("talk.service", "[Service]\nExecStart=/bin/sh -c 'echo hello-from-service; exec sleep 60'\n")
            try daemon.start(arguments: ["--log-target", "journal"], launcher: [
                "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind /dev/null \"$0\" && exec \"$@\"", library,
            ])
            let warning = try daemon.waitForLog(containing: "Cannot write to the journal")
            #expect(warning.hasPrefix("swatchd[") && warning.contains("logging to stderr"), "\(daemon.log)")
            let line = try daemon.waitForLog(containing: "hello-from-service")
            #expect(line.hasPrefix("talk.service["), "\(daemon.log)")
            #expect(try daemon.ctl("is-active", "talk.service").exitCode == 0)
        }

        @Test(.timeLimit(.minutes(2)))
        func makeInstallStripsTheBinaries() throws {
            let destination = try TemporaryDirectory()
            defer { destination.remove() }
            let bin = try #require(Harness.binaryDirectory)
            let install = try Command.run(
                ["/usr/bin/make", "-C", Harness.repositoryRoot, "install", "DESTDIR=\(destination.path)", "PREFIX=/usr",
                 "BIN_DIR=\(bin)"],
                environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                timeout: .seconds(90))
            #expect(install.status == .exited(0), "\(install.standardOutput)\(install.standardError)")
            for program in ["swatchd", "swatchctl", "swatchd-hello"] {
                let path = destination.path + "/usr/bin/" + program
                let sections = try Command.run(["/usr/bin/readelf", "-S", "-W", path])
                #expect(sections.status == .exited(0), "\(program): \(sections.standardError)")
                #expect(!sections.standardOutput.contains(".symtab"), "\(program) still has a symbol table")
                #expect(!sections.standardOutput.contains(".debug_info"), "\(program) still has debug info")
                // Stripped, it still runs.
                let version = try Command.run([path, "--help"])
                #expect(version.status == .exited(0), "\(program) --help: \(version.standardError)")
            }
        }
    }
}
