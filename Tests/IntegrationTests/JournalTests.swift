// Logging through libsystemd as a user reads it back (swatchd(8),
// "LOGGING"): a real /lib/systemd/systemd-journald receives
// swatchd's own messages (SYSLOG_IDENTIFIER=swatchd, PRIORITY, CODE_*,
// UNIT=/OBJECT_SYSTEMD_UNIT=, CONFIG_FILE/CONFIG_LINE) and the services'
// stdout lines (SYSLOG_IDENTIFIER= of the executable or SyslogIdentifier=,
// `<N>` prefixes as PRIORITY=N), read back with `journalctl -o json`. With no
// journal, service lines reach swatchd's stderr as `name.service[PID]: line`.
//
// journald runs in private namespaces (docs/HACKING.md "libsystemd and the journal"): `unshare --mount
// --pid --fork --kill-child --mount-proc` with a tmpfs on /run, so the host's
// /run and any host journal are untouched, and when the script ends — or the
// test kills it — the kernel ends journald, swatchd and its services with it
// (the namespace's init is gone).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: JournalScenario.isRunnable, "needs root, unshare(1), systemd-journald and journalctl"))
    struct JournalTests {
        // MARK: With a journal

        /// `auto` finds the journal's socket; `journal` is told.
        @Test(.timeLimit(.minutes(1)), arguments: ["auto", "journal"])
        func journaldReceivesSwatchdsMessagesAndServiceOutputWithTheirFields(_ target: String) throws {
            let scenario = try JournalScenario(withJournal: true, logTarget: target)
            defer { scenario.remove() }
            try scenario.writeUnits()
            let run = try scenario.run(markers: [
                "hello-from-service", "trouble-from-service", "thirty-as-text", "named-line", "named-after-reexec",
                "Serving 1 socket",
                "Unknown key", "failing.service: Main process exited", "failing.service: Failed with result",
                "Started hello.service", "chatty-3000",
            ])
            #expect(run.curl == Client.helloBody, "\(run)")
            let entries = try run.journalEntries()

            // The lifecycle lines, as systemd's: `journalctl -u` shows what swatchd did to the unit.
            let started = try #require(entries.first { ($0["MESSAGE"] ?? "").hasPrefix("Started hello.service") }, "\(run)")
            #expect(started["UNIT"] == "hello.service", "\(started)")
            #expect(started["PRIORITY"] == "6", "\(started)")

            // swatchd's own message: identifier, priority, where in the code.
            let ready = try #require(entries.first { $0["SYSLOG_IDENTIFIER"] == "swatchd" && ($0["MESSAGE"] ?? "").contains("ready") },
                                     "no swatchd ready message in the journal\n\(run)")
            #expect(ready["PRIORITY"] == "6", "\(ready)")
            #expect(ready["_TRANSPORT"] == "journal", "\(ready)")
            #expect(!(ready["CODE_FILE"] ?? "").isEmpty, "\(ready)")
            #expect(Int(ready["CODE_LINE"] ?? "").map { $0 > 0 } == true, "\(ready)")
            #expect(!(ready["CODE_FUNC"] ?? "").isEmpty, "\(ready)")
            #expect(ready["UNIT"] == nil && ready["OBJECT_SYSTEMD_UNIT"] == nil, "\(ready)")

            // A message about a unit names it twice, as systemd's do.
            let exited = try #require(entries.first { ($0["MESSAGE"] ?? "").hasPrefix("failing.service: Main process exited") },
                                      "\(run)")
            #expect(exited["SYSLOG_IDENTIFIER"] == "swatchd", "\(exited)")
            #expect(exited["UNIT"] == "failing.service", "\(exited)")
            #expect(exited["OBJECT_SYSTEMD_UNIT"] == "failing.service", "\(exited)")
            #expect(Int(exited["CODE_LINE"] ?? "") != nil, "\(exited)")
            let failed = try #require(entries.first { ($0["MESSAGE"] ?? "").hasPrefix("failing.service: Failed with result 'exit-code'") },
                                      "\(run)")
            // systemd: log_unit_warning(…, "Failed with result '%s'.") (src/core/service.c).
            #expect(failed["PRIORITY"] == "4", "\(failed)")
            #expect(failed["UNIT"] == "failing.service", "\(failed)")
            // journalctl -u matches OBJECT_SYSTEMD_UNIT= of root's messages.
            let byUnit = try run.unitEntries()
            #expect(byUnit.contains { ($0["MESSAGE"] ?? "").hasPrefix("failing.service: Main process exited") },
                    "journalctl -u failing.service:\n\(byUnit)")
            #expect(!byUnit.contains { $0["MESSAGE"] == "hello-from-service" }, "\(byUnit)")

            // A unit-file problem carries its place.
            let unknown = try #require(entries.first { ($0["MESSAGE"] ?? "").contains("Unknown key 'Frobnicate'") }, "\(run)")
            #expect(unknown["CONFIG_FILE"] == scenario.unitDirectory + "/talk.service", "\(unknown)")
            #expect(unknown["CONFIG_LINE"] == "\(JournalScenario.frobnicateLine)", "\(unknown)")
            #expect(unknown["PRIORITY"] == "4", "\(unknown)")
            #expect(unknown["SYSLOG_IDENTIFIER"] == "swatchd", "\(unknown)")

            // The services' stdout: one entry per line, named after the executable, of the
            // facility `daemon` as under systemd…
            let hello = try #require(entries.first { $0["MESSAGE"] == "hello-from-service" }, "\(run)")
            #expect(hello["SYSLOG_IDENTIFIER"] == "sh", "\(hello)")
            #expect(hello["PRIORITY"] == "6", "\(hello)")
            #expect(hello["SYSLOG_FACILITY"] == "3", "\(hello)")
            #expect(hello["_TRANSPORT"] == "journal", "\(hello)")
            // …with a `<3>` prefix as its priority, the prefix gone, the facility kept…
            let trouble = try #require(entries.first { ($0["MESSAGE"] ?? "").hasSuffix("trouble-from-service") }, "\(run)")
            #expect(trouble["MESSAGE"] == "trouble-from-service", "\(trouble)")
            #expect(trouble["PRIORITY"] == "3", "\(trouble)")
            #expect(trouble["SYSLOG_FACILITY"] == "3", "\(trouble)")
            // …but a prefix with a facility is text to journald, as it is to swatchd (OutputCapture)…
            let thirty = try #require(entries.first { ($0["MESSAGE"] ?? "").hasSuffix("thirty-as-text") }, "\(run)")
            #expect(thirty["MESSAGE"] == "<30>thirty-as-text", "\(thirty)")
            #expect(thirty["PRIORITY"] == "6", "\(thirty)")
            // …or after SyslogIdentifier=, of SyslogFacility=local3 (19).
            let named = try #require(entries.first { $0["MESSAGE"] == "named-line" }, "\(run)")
            #expect(named["SYSLOG_IDENTIFIER"] == "my-ident", "\(named)")
            #expect(named["SYSLOG_FACILITY"] == "19", "\(named)")
            // …with LogExtraFields=…
            #expect(named["TEAM"] == "web" && named["NOTE"] == "two words", "\(named)")
            // …and so is a line written after a daemon-reexec, through the stream the new swatchd opened.
            let after = try #require(entries.first { $0["MESSAGE"] == "named-after-reexec" }, "\(run)")
            #expect(after["SYSLOG_IDENTIFIER"] == "my-ident", "\(after)")
            #expect(after["SYSLOG_FACILITY"] == "19", "\(after)")
            #expect(after["TEAM"] == "web" && after["NOTE"] == "two words", "\(after)")
            let serving = try #require(entries.first { ($0["MESSAGE"] ?? "").contains("Serving 1 socket") }, "\(run)")
            #expect(serving["SYSLOG_IDENTIFIER"] == "swatchd-hello", "\(serving)")

            // `journalctl -u` finds a service's own lines, as under systemd, attributed to its
            // main process (journalctl shows `sh[PID]:`).
            let talk = try run.talkEntries()
            let own = try #require(talk.first { $0["MESSAGE"] == "hello-from-service" }, "journalctl -u talk.service:\n\(talk)")
            #expect(own["OBJECT_SYSTEMD_UNIT"] == "talk.service", "\(own)")
            #expect(run.talkMainPID != nil, "\(run)")
            #expect(own["SYSLOG_PID"] == run.talkMainPID, "\(own)")
            #expect(own["_PID"] == run.talkMainPID, "\(own)")
            #expect(own["_UID"] == "0", "journalctl -u matches OBJECT_SYSTEMD_UNIT= of uid 0: \(own)")
            #expect(!talk.contains { ($0["MESSAGE"] ?? "").hasPrefix("chatty-") }, "only talk.service's lines")

            // A burst far larger than journald's queue (net.unix.max_dgram_qlen) loses no line:
            // swatchd waits for room, as systemd's stream does.
            let chatty = entries.filter { $0["SYSLOG_IDENTIFIER"] == "seq" }.map { $0["MESSAGE"] ?? "" }
            #expect(chatty == (1...3000).map { "chatty-\($0)" }, "\(chatty.count) lines of 3000, first \(chatty.prefix(3))")

            // In the journal, not (also) on stderr.
            #expect(!run.standardError.contains("hello-from-service"), "\(run)")
            #expect(!run.standardError.contains("ready"), "\(run)")
        }

        /// A service's last lines, written as swatchd stops it on its way out, reach the journal:
        /// 3000 of them, more than journald's queue takes at once, so swatchd, which would
        /// otherwise wait for room in its loop, waits for it as it exits.
        @Test(.timeLimit(.minutes(1)))
        func theLastLinesOfAServiceStoppedAtExitReachTheJournal() throws {
            let scenario = try JournalScenario(withJournal: true, logTarget: "journal")
            defer { scenario.remove() }
            let entries = try scenario.runFarewell()
            let farewell = entries.filter { $0["SYSLOG_IDENTIFIER"] == "farewell" }.map { $0["MESSAGE"] ?? "" }
            #expect(farewell.first == "up", "\(farewell.prefix(3))")
            let bye = Array(farewell.dropFirst())
            #expect(bye.count == 3000, "\(bye.count) lines of 3000, the last \(bye.suffix(2))")
            let misplaced = bye.indices.first { bye[$0] != "bye-\($0 + 1)" }
            #expect(misplaced == nil, "out of order from \(misplaced.map { bye[$0...].prefix(3) } ?? [])")
        }

        /// A swatchd that is not root names the unit in USER_UNIT=, which `journalctl --user -u`
        /// matches for the sender's uid, on the service's lines and on its own about the unit
        /// (read back here by root: journald's files are not the sender's to read).
        @Test(.timeLimit(.minutes(1)))
        func notRootTheUnitIsInUserUnitOnEveryLine() throws {
            let scenario = try JournalScenario(withJournal: true, logTarget: "journal")
            defer { scenario.remove() }
            let entries = try scenario.runAsNobody()
            let line = try #require(entries.first { $0["MESSAGE"] == "hello-from-nobody" }, "\(entries.count) entries")
            #expect(line["USER_UNIT"] == "talk.service", "\(line)")
            #expect(line["OBJECT_SYSTEMD_UNIT"] == nil, "\(line)")
            #expect(line["_UID"] == "65534", "\(line)")
            #expect(line["SYSLOG_IDENTIFIER"] == "talk", "\(line)")
            let started = try #require(entries.first { $0["MESSAGE"] == "Started talk.service." }, "\(entries.count) entries")
            #expect(started["USER_UNIT"] == "talk.service", "\(started)")
            #expect(started["SYSLOG_IDENTIFIER"] == "swatchd", "\(started)")
            #expect(started["_UID"] == "65534", "\(started)")
        }

        // MARK: Without a journal

        /// `--log-target auto` with no /run/systemd/journal/socket: stderr.
        @Test(.timeLimit(.minutes(1)))
        func withNoJournalSocketAutoWritesPrefixedLinesToStderr() throws {
            let scenario = try JournalScenario(withJournal: false, logTarget: "auto")
            defer { scenario.remove() }
            try scenario.writeUnits()
            let run = try scenario.run(markers: [
                "]: hello-from-service", "trouble-from-service", "]: named-line", "]: named-after-reexec", "Serving 1 socket",
                "failing.service: Failed with result", "Unknown key",
            ])
            #expect(run.curl == Client.helloBody, "\(run)")
            let lines = run.standardError.split(separator: "\n").map(String.init)
            #expect(lines.contains { Self.isPrefixed($0, unit: "talk.service", line: "hello-from-service") }, "\(run)")
            #expect(lines.contains { Self.isPrefixed($0, unit: "named.service", line: "named-line") }, "\(run)")
            #expect(lines.contains { Self.isPrefixed($0, unit: "named.service", line: "named-after-reexec") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("hello.service[") && $0.contains("Serving 1 socket") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("swatchd[") && $0.contains("failing.service: Failed with result") }, "\(run)")
            #expect(lines.contains { $0.hasPrefix("swatchd[") && $0.contains("Unknown key 'Frobnicate'") }, "\(run)")
        }

        /// The same with the test harness's daemon (`--log-target stderr`, on
        /// the host): the pid in the prefix is the service's main pid.
        @Test(.timeLimit(.minutes(1)))
        func withLogTargetStderrServiceLinesCarryTheirUnitAndPID() throws {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            try daemon.write("talk.service", """
                [Service]
                ExecStart=/bin/sh -c 'echo hello-from-service; exec sleep 60'
                """)
            try daemon.start()
            let pid = try daemon.waitForMainPID(of: "talk.service")
            let line = try daemon.waitForLog(containing: "hello-from-service")
            #expect(line == "talk.service[\(pid)]: hello-from-service", "\(daemon.log)")
            // …and kept in memory for swatchctl (what journalctl -u would give).
            let logs = try daemon.ctl("logs", "talk.service")
            #expect(logs.lines.contains { $0.hasSuffix("talk.service[\(pid)]: hello-from-service") }, "\(logs)")
        }

        static func isPrefixed(_ text: String, unit: String, line: String) -> Bool {
            guard text.hasPrefix(unit + "["), text.hasSuffix("]: " + line) else { return false }
            let pid = text.dropFirst(unit.count + 1).dropLast(line.count + 3)
            return !pid.isEmpty && pid.allSatisfy(\.isNumber)
        }
    }
}

/// One run of swatchd (and, when asked, journald) in private mount and pid
/// namespaces, driven by a shell script: the units of `writeUnits()`, one
/// curl to activate hello.service, then waiting (with a deadline) until
/// every marker is in the journal — or on swatchd's stderr with no journal.
struct JournalScenario {
    static let journald = "/lib/systemd/systemd-journald"
    /// The line of `Frobnicate=` in talk.service.
    static let frobnicateLine = 4

    /// Root (mounts), and the programs the script runs.
    static var isRunnable: Bool {
        let programs: [String] = [journald, "/usr/bin/journalctl", "/usr/bin/unshare", "/usr/bin/curl"]
        return getuid() == 0 && programs.allSatisfy { access($0, X_OK) == 0 }
    }

    let withJournal: Bool
    let logTarget: String
    let directory: TemporaryDirectory
    /// hello.socket's port (127.0.0.1).
    let port: UInt16
    var unitDirectory: String { directory.path + "/units" }

    init(withJournal: Bool, logTarget: String) throws {
        self.withJournal = withJournal
        self.logTarget = logTarget
        port = try Ports.free()
        directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: unitDirectory, withIntermediateDirectories: true)
    }

    func remove() { directory.remove() }

    private func write(_ name: String, _ text: String) throws {
        try (text + "\n").write(toFile: unitDirectory + "/" + name, atomically: true, encoding: .utf8)
    }

    /// talk.service (stdout lines, a `<3>` line, an unknown key at
    /// `frobnicateLine`), named.service (SyslogIdentifier=, SyslogFacility=, LogExtraFields=; a
    /// second line once the script has re-executed swatchd), failing.service
    /// (exit 7), chatty.service (3000 lines at once), hello.socket + hello.service (swatchd-hello).
    func writeUnits() throws {
        try write("talk.service", """
            [Service]
            ExecStart=/bin/sh -c 'echo hello-from-service; echo "<3>trouble-from-service"; echo "<30>thirty-as-text"; exec sleep 60'
            # An unknown key: a warning with CONFIG_FILE= and CONFIG_LINE=.
            Frobnicate=yes
            """)
        try write("named.service", """
            [Service]
            ExecStart=/bin/sh -c 'echo named-line; touch \(directory.path)/named-up; while [ ! -e \(directory.path)/reexecd ]; do sleep 0.05; done; echo named-after-reexec; exec sleep 60'
            SyslogIdentifier=my-ident
            SyslogFacility=local3
            LogExtraFields=TEAM=web "NOTE=two words"
            """)
        try write("chatty.service", """
            [Service]
            ExecStart=/usr/bin/seq -f chatty-%%g 3000
            """)
        try write("failing.service", """
            [Service]
            ExecStart=/bin/sh -c 'exit 7'
            """)
        try write("hello.socket", """
            [Socket]
            ListenStream=127.0.0.1:\(port)
            """)
        try write("hello.service", """
            [Service]
            Type=notify
            ExecStart=\(try Harness.binary("swatchd-hello"))
            """)
    }

    /// What the script left behind.
    struct Outcome: CustomStringConvertible {
        var status: ExitStatus
        var scriptOutput: String
        /// swatchd's stderr.
        var standardError: String
        /// `journalctl -o json`, one object per line ("" with no journal).
        var journal: String
        /// `journalctl -u failing.service -o json`.
        var unitJournal: String
        /// `journalctl -u talk.service -o json`, and `swatchctl show talk.service`.
        var talkJournal: String
        var talkShow: String
        var curl: String

        func journalEntries() throws -> [[String: String]] { try Self.parse(journal) }
        func unitEntries() throws -> [[String: String]] { try Self.parse(unitJournal) }
        func talkEntries() throws -> [[String: String]] { try Self.parse(talkJournal) }
        var talkMainPID: String? {
            talkShow.split(separator: "\n").first { $0.hasPrefix("MainPID=") }.map { String($0.dropFirst(8)) }
        }

        /// journalctl's JSON lines; a field that is not text (an array of
        /// bytes) is left out.
        static func parse(_ text: String) throws -> [[String: String]] {
            try text.split(separator: "\n").map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw HarnessError("not a JSON object: \(line)")
                }
                return object.compactMapValues { $0 as? String }
            }
        }

        var description: String {
            let swatchdLines = journal.split(separator: "\n").filter { !$0.contains("\"_TRANSPORT\":\"kernel\"") }
            return """
                script \(status)
                --- script output:
                \(scriptOutput)--- swatchd's stderr:
                \(standardError)--- journal (without kernel lines):
                \(swatchdLines.joined(separator: "\n"))
                """
        }
    }

    /// Runs the scenario until every marker shows up (10 s at most), then
    /// stops swatchd (SIGTERM) and journald. Throws when the script fails
    /// before swatchd runs.
    func run(markers: [String]) throws -> Outcome {
        let dir = directory.path
        try (markers.joined(separator: "\n") + "\n").write(toFile: dir + "/markers", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
        let environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DIR": dir, "SWATCHD": try Harness.binary("swatchd"), "SWATCHCTL": try Harness.binary("swatchctl"),
            "JOURNALD": Self.journald,
            "WITH_JOURNAL": withJournal ? "1" : "0", "TARGET": logTarget, "PORT": "\(port)",
        ]
        let output = try Command.run(
            ["/usr/bin/unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
             "/bin/sh", "-c", Self.script],
            environment: environment, timeout: .seconds(40))
        let outcome = Outcome(
            status: output.status, scriptOutput: output.standardOutput + output.standardError,
            standardError: readText(dir + "/swatchd.err") ?? "", journal: readText(dir + "/journal.json") ?? "",
            unitJournal: readText(dir + "/unit.json") ?? "", talkJournal: readText(dir + "/talk.json") ?? "",
            talkShow: readText(dir + "/talk.show") ?? "", curl: readText(dir + "/curl.out") ?? "")
        guard output.status == .exited(0) else { throw HarnessError("the journal scenario failed:\n\(outcome)") }
        return outcome
    }

    /// farewell.service, which writes 3000 lines when it gets SIGTERM; swatchd is stopped
    /// (SIGTERM) once the service's first line is in the journal, and the journal read after.
    func runFarewell() throws -> [[String: String]] {
        try write("farewell.service", """
            [Service]
            ExecStart=/bin/sh -c 'trap "seq -f bye-%%g 3000; exit 0" TERM; echo up; while :; do sleep 0.05; done'
            SyslogIdentifier=farewell
            KillMode=mixed
            """)
        return try runUntilStopped(identifier: "farewell", first: "up", last: "bye-3000")
    }

    /// talk.service under a swatchd that runs as nobody (setpriv(1)), stopped once the
    /// service's line is in the journal.
    func runAsNobody() throws -> [[String: String]] {
        try write("talk.service", """
            [Service]
            ExecStart=/bin/sh -c 'echo hello-from-nobody; exec sleep 60'
            SyslogIdentifier=talk
            """)
        return try runUntilStopped(identifier: "talk", first: "hello-from-nobody", last: "hello-from-nobody",
                                   runAs: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    }

    /// journald, then swatchd (`runAs` that command, if given) on the unit directory until
    /// the line `first` of `identifier` is in the journal; then SIGTERM to swatchd, and, once
    /// the line `last` is in too (5 s at most), the journal as JSON.
    private func runUntilStopped(identifier: String, first: String, last: String, runAs: [String] = []) throws -> [[String: String]] {
        let dir = directory.path
        let environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "DIR": dir, "SWATCHD": try Harness.binary("swatchd"), "JOURNALD": Self.journald,
            "IDENT": identifier, "FIRST": first, "LAST": last, "RUN_AS": runAs.joined(separator: " "),
        ]
        let output = try Command.run(
            ["/usr/bin/unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
             "/bin/sh", "-c", Self.untilStoppedScript],
            environment: environment, timeout: .seconds(40))
        let journal = readText(dir + "/journal.json") ?? ""
        guard output.status == .exited(0) else {
            throw HarnessError("the scenario failed: \(output.status)\n\(output.standardOutput)\(output.standardError)"
                               + "--- swatchd's stderr:\n\(readText(dir + "/swatchd.err") ?? "")")
        }
        return try Outcome.parse(journal)
    }

    static let untilStoppedScript = #"""
        set -u
        fail() { echo "scenario: $*" >&2; exit 1; }
        mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount a tmpfs on /run"
        mkdir -p /run/systemd/journal /run/log || fail "mkdir in /run"
        "$JOURNALD" & J=$!
        i=0
        until [ -S /run/systemd/journal/socket ]; do
            i=$((i + 1)); [ "$i" -gt 200 ] && fail "journald did not create its socket"; sleep 0.05
        done
        mkdir -p "$DIR/run"
        if [ -n "$RUN_AS" ]; then
            # Another user reads the units and owns the runtime directory.
            chmod 755 "$DIR" "$DIR/units" && chown 65534:65534 "$DIR/run" || fail "cannot hand $DIR over"
        fi
        $RUN_AS "$SWATCHD" --unit-dir "$DIR/units" --runtime-dir "$DIR/run" --log-target journal 2>"$DIR/swatchd.err" & S=$!
        i=0
        until journalctl -D /run/log/journal -o cat SYSLOG_IDENTIFIER="$IDENT" 2>/dev/null | grep -qxF "$FIRST"; do
            i=$((i + 1)); [ "$i" -gt 200 ] && fail "the first line of $IDENT did not arrive"; sleep 0.05
        done
        kill -TERM "$S"
        wait "$S" || fail "swatchd exited with $?"
        # What swatchd sent may still be in journald's queue: until the last line is in (5 s at
        # most), then whatever is there.
        i=0
        until journalctl -D /run/log/journal -o cat SYSLOG_IDENTIFIER="$IDENT" 2>/dev/null | grep -qxF "$LAST"; do
            i=$((i + 1)); [ "$i" -gt 100 ] && break; sleep 0.05
        done
        journalctl -D /run/log/journal -o json --no-pager >"$DIR/journal.json" || fail "journalctl"
        kill -TERM "$J"; wait "$J"
        exit 0
        """#

    /// The scenario, in sh. Everything it needs comes in the environment.
    /// The trap stops swatchd, then journald, however the script ends; if
    /// the script itself is killed, --kill-child ends the namespace's init
    /// and the kernel every process in it.
    static let script = #"""
        set -u
        cleanup() {
            if [ -n "${S:-}" ]; then kill -TERM "$S" 2>/dev/null; wait "$S"; fi
            if [ -n "${J:-}" ]; then kill -TERM "$J" 2>/dev/null; wait "$J"; fi
        }
        trap cleanup EXIT
        fail() { echo "scenario: $*" >&2; exit 1; }
        waitfor() {  # waitfor TEST-ARGS...: up to 10 s
            i=0
            until test "$@"; do
                i=$((i + 1)); [ "$i" -gt 200 ] && return 1
                sleep 0.05
            done
        }

        # A private /run: journald's sockets and /run/log/journal, nothing of the host's.
        mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount a tmpfs on /run"
        mkdir -p /run/systemd/journal /run/log || fail "mkdir in /run"
        if [ "$WITH_JOURNAL" = 1 ]; then
            "$JOURNALD" & J=$!
            waitfor -S /run/systemd/journal/socket || fail "journald did not create its socket"
        fi

        "$SWATCHD" --unit-dir "$DIR/units" --runtime-dir "$DIR/run" --log-target "$TARGET" \
            >"$DIR/swatchd.out" 2>"$DIR/swatchd.err" & S=$!
        waitfor -S "$DIR/run/control" || fail "swatchd did not come up: $(cat "$DIR/swatchd.err")"
        curl -sS --max-time 10 "http://127.0.0.1:$PORT/" >"$DIR/curl.out" || fail "curl failed"
        # A re-exec while named.service runs: its next line goes through the output capture the
        # new swatchd took over. daemon-reexec is answered by the new swatchd.
        waitfor -e "$DIR/named-up" || fail "named.service did not start"
        "$SWATCHCTL" --runtime-dir "$DIR/run" daemon-reexec >"$DIR/reexec.out" 2>&1 \
            || fail "daemon-reexec: $(cat "$DIR/reexec.out")"
        touch "$DIR/reexecd"

        # Until every marker is there (a deadline, not a sleep).
        i=0
        while :; do
            if [ "$WITH_JOURNAL" = 1 ]; then
                journalctl -D /run/log/journal -o json --no-pager >"$DIR/journal.json" 2>"$DIR/journalctl.err" \
                    || fail "journalctl: $(cat "$DIR/journalctl.err")"
                journalctl -D /run/log/journal -o json --no-pager -u failing.service >"$DIR/unit.json" 2>>"$DIR/journalctl.err"
                found="$DIR/journal.json"
            else
                found="$DIR/swatchd.err"
            fi
            missing=""
            while IFS= read -r marker; do
                grep -qF -- "$marker" "$found" || missing="$missing [$marker]"
            done <"$DIR/markers"
            [ -z "$missing" ] && break
            i=$((i + 1))
            if [ "$i" -gt 100 ]; then echo "scenario: still missing after 10 s:$missing" >&2; break; fi
            sleep 0.1
        done
        if [ "$WITH_JOURNAL" = 1 ]; then
            journalctl -D /run/log/journal -o json --no-pager -u talk.service >"$DIR/talk.json" 2>>"$DIR/journalctl.err"
            "$SWATCHCTL" --runtime-dir "$DIR/run" show talk.service >"$DIR/talk.show" 2>&1
        fi
        exit 0
        """#
}
