import Glibc
import Testing
@testable import SwatchCore

/// The pure parts of swatchctl's systemctl habits: the words of the protocol, the
/// suggestion for a mistyped verb, systemd.time(7) timestamps, the dependency tree,
/// list-units filters, the dependency fields of status records, the log of every unit,
/// the file times behind NeedDaemonReload= and verify's account warnings.
@Suite struct ControlHabitsTests {
    // MARK: Protocol

    @Test func statusCarriesItsLineCountAndLogsMayNameNoUnit() throws {
        #expect(try ControlRequest(line: "status --lines=3 a.service") == .status(units: ["a.service"], lines: 3))
        #expect(try ControlRequest(line: "status") == .status(units: [], lines: 10))
        #expect(ControlRequest.status(units: ["a.service"], lines: 3).line == "status --lines=3 a.service")
        #expect(ControlRequest.status(units: ["a.service"]).line == "status a.service")
        #expect(ControlRequest.status(units: [], lines: 0).statusLogLines == 0)
        #expect(ControlRequest.show(units: ["a.service"]).statusLogLines == 10)
        #expect(throws: ControlRequest.ParseError.invalidArgument(command: "status", argument: "--lines=x")) {
            try ControlRequest(line: "status --lines=x")
        }
        #expect(try ControlRequest(line: "logs 5") == .logs(units: [], lines: 5, follow: false))
        #expect(try ControlRequest(line: "logs 5 follow") == .logs(units: [], lines: 5, follow: true))
        #expect(ControlRequest.logs(units: [], lines: 7, follow: true).line == "logs 7 follow")
        for request in [ControlRequest.logs(units: [], lines: 0, follow: false), .status(units: ["b.socket"], lines: 200)] {
            #expect(try ControlRequest(line: request.line) == request)
        }
        #expect(throws: ControlRequest.ParseError.missingArgument(command: "logs")) { try ControlRequest(line: "logs") }
        #expect(throws: ControlRequest.ParseError.tooManyArguments(command: "logs")) {
            try ControlRequest(line: "logs 1 follow x")
        }
    }

    @Test func dependencyFieldsAndNeedDaemonReloadSurviveTheRecord() throws {
        var report = UnitStatusReport(id: "a.service")
        report.requires = ["b.service", "c.socket"]
        report.requisite = ["d.service"]
        report.wants = ["e.service"]
        report.bindsTo = ["f.socket"]
        report.partOf = ["g.service"]
        report.upholds = ["h.service"]
        report.conflicts = ["i.service"]
        report.before = ["j.service"]
        report.after = ["k.service", "l.service"]
        report.onFailure = ["m.service"]
        report.onSuccess = ["n.service"]
        report.needDaemonReload = true
        let record = report.toRecord()
        #expect(record["Requires"] == "b.service c.socket")
        #expect(record["After"] == "k.service l.service")
        #expect(record["NeedDaemonReload"] == "yes")
        #expect(try UnitStatusReport(record: record) == report)
        #expect(report.listedDependencies == ["b.service", "c.socket", "d.service", "e.service", "f.socket", "g.service",
                                               "h.service"])
        let plain = UnitStatusReport(id: "z.service")
        #expect(plain.toRecord()["Requires"] == nil)
        #expect(plain.toRecord()["NeedDaemonReload"] == "no")
        let bad = ControlRecord([("Id", "z.service"), ("LoadState", "loaded"), ("ActiveState", "inactive"),
                                 ("SubState", "dead"), ("NeedDaemonReload", "maybe")])
        #expect(throws: UnitStatusReport.RecordError.self) { try UnitStatusReport(record: bad) }
    }

    // MARK: Suggestions

    @Test func aTypoGetsTheNearestVerb() {
        let verbs = ["status", "show", "start", "stop", "restart", "list-units", "list-sockets", "daemon-reload", "logs"]
        #expect(CommandSuggestion.editDistance("stauts", "status") == 1)
        #expect(CommandSuggestion.editDistance("", "abc") == 3)
        #expect(CommandSuggestion.editDistance("kitten", "sitting") == 3)
        #expect(CommandSuggestion.nearest(to: "stauts", among: verbs) == "status")
        #expect(CommandSuggestion.nearest(to: "list-unit", among: verbs) == "list-units")
        #expect(CommandSuggestion.nearest(to: "strat", among: verbs) == "start")
        #expect(CommandSuggestion.nearest(to: "xyzzy", among: verbs) == nil)
        #expect(CommandSuggestion.unknownCommand("stauts", among: verbs) == "Unknown command 'stauts'; did you mean 'status'?")
        #expect(CommandSuggestion.unknownCommand("xyzzy", among: verbs) == "Unknown command 'xyzzy'")
    }

    @Test func systemctlVerbsSwatchctlLacksSayWhatToDo() {
        for verb in ["enable", "disable", "mask", "unmask", "isolate", "set-default", "edit", "preset", "link", "revert"] {
            let advice = CommandSuggestion.advice(for: verb)
            #expect(advice?.hasPrefix("'\(verb)' is not a command of swatchctl: ") == true, "\(verb)")
        }
        #expect(CommandSuggestion.advice(for: "enable") == "'enable' is not a command of swatchctl: a unit in a unit "
            + "directory is enabled; to disable it, remove it (or link it to /dev/null to mask it) and run 'swatchctl daemon-reload'.")
        #expect(CommandSuggestion.advice(for: "mask")?.contains("/dev/null") == true)
        #expect(CommandSuggestion.advice(for: "unmask")?.contains("/dev/null") == true)
        #expect(CommandSuggestion.advice(for: "daemon-reexec") == nil)
        #expect(CommandSuggestion.advice(for: "status") == nil)
    }

    // MARK: Timestamps

    /// 2024-11-26 16:20:01 UTC.
    static let now: UInt64 = 1_732_638_001_000_000

    @Test func timestampsOfSystemdTime() {
        ProcessTimeZone.with("UTC") { timestampsOfSystemdTimeInUTC() }
    }

    private func timestampsOfSystemdTimeInUTC() {
        let now = Self.now
        func parse(_ text: String) -> UInt64? { JournalTime.parse(text, now: now) }
        #expect(parse("now") == now)
        #expect(parse("@1732638001") == now)
        #expect(parse("@1732638001.25") == now + 250_000)
        #expect(parse("-5min") == now - 300_000_000)
        #expect(parse("+1h") == now + 3_600_000_000)
        #expect(parse("5 min ago") == now - 300_000_000)
        #expect(parse("1h 30min ago") == now - 5_400_000_000)
        #expect(parse("5min ago") == now - 300_000_000)
        #expect(parse("2024-11-26 16:20:01") == now)
        #expect(parse("2024-11-26 16:20:01 UTC") == now)
        #expect(parse("2024-11-26 16:20") == now - 1_000_000)
        #expect(parse("2024-11-26") == now - (16 * 3600 + 20 * 60 + 1) * 1_000_000)
        #expect(parse("16:00:00") == now - (20 * 60 + 1) * 1_000_000)
        #expect(parse("16:00") == now - (20 * 60 + 1) * 1_000_000)
        #expect(parse("today") == parse("2024-11-26"))
        #expect(parse("yesterday") == parse("2024-11-25"))
        #expect(parse("tomorrow") == parse("2024-11-27"))
        for bad in ["", "soon", "2024-13-01", "25:00", "16:61", "@x", "-5 parsecs", "5 ago ago", "2024-11-26 x",
                    "-infinity"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }

    @Test func localTimesUseTheZone() {
        let utc = ProcessTimeZone.with("UTC") { JournalTime.parse("2024-11-26 16:20:01", now: Self.now) }
        // Two hours east of UTC (POSIX signs are reversed).
        ProcessTimeZone.with("Etc/GMT-2") {
            #expect(JournalTime.parse("2024-11-26 18:20:01", now: Self.now) == utc)
            #expect(JournalTime.parse("2024-11-26 16:20:01 UTC", now: Self.now) == utc)
        }
    }

    // MARK: Dependency tree

    @Test func theTreeIsSystemctls() {
        func report(_ id: String, _ state: UnitActiveState, requires: [String] = [], wants: [String] = [],
                    partOf: [String] = []) -> UnitStatusReport {
            var r = UnitStatusReport(id: id, activeState: state)
            r.requires = requires
            r.wants = wants
            r.partOf = partOf
            return r
        }
        let units = [
            report("a.service", .active, requires: ["b.service", "C.socket"], wants: ["d.service"]),
            report("b.service", .failed, requires: ["e.service"], partOf: ["a.service"]),
            report("C.socket", .active),
            report("e.service", .inactive, wants: ["b.service"]),
        ]
        let lines = DependencyTree.lines(of: "a.service") { name in units.first { $0.id == name } }
        let text = lines.map { DependencyTree.render($0) }
        #expect(text == [
            "a.service",
            "× ├─b.service",
            "  │ │ └─...",
            "○ │ └─e.service",
            "  │     └─...",
            "● ├─C.socket",
            "○ └─d.service",
        ], "\(text.joined(separator: "\n"))")
        // Ellipsized to a width, and not with none (--full).
        #expect(DependencyTree.render(lines[3], width: 10) == "○ │ └─e.s…")
        #expect(DependencyTree.render(lines[3], width: nil) == "○ │ └─e.service")
        #expect(DependencyTree.lines(of: "x.service") { _ in nil }.map { DependencyTree.render($0) } == ["x.service"])
    }

    // MARK: list-units

    @Test func listFiltersMatchTypeAndAnyState() {
        let entries = [
            UnitListEntry(id: "a.service", loadState: .loaded, activeState: .active, subState: "running", description: ""),
            UnitListEntry(id: "b.socket", loadState: .loaded, activeState: .active, subState: "listening", description: ""),
            UnitListEntry(id: "c.service", loadState: .loaded, activeState: .failed, subState: "failed", description: ""),
            UnitListEntry(id: "d.service", loadState: .badSetting, activeState: .inactive, subState: "dead", description: ""),
        ]
        func ids(_ filter: UnitListFilter) -> [String] { entries.filter(filter.includes).map(\.id) }
        #expect(ids(UnitListFilter()) == ["a.service", "b.socket", "c.service", "d.service"])
        #expect(ids(UnitListFilter(failed: true)) == ["c.service"])
        #expect(ids(UnitListFilter(types: ["socket"])) == ["b.socket"])
        #expect(ids(UnitListFilter(types: ["service"], states: ["running,bad-setting"])) == ["a.service", "d.service"])
        #expect(ids(UnitListFilter(types: ["socket"], failed: true)) == [])
        #expect(UnitListFilter(types: ["service,timer", "path"]).unknownTypes == ["path", "timer"])
    }

    // MARK: Logs of every unit

    @Test func theLogOfEveryUnitIsInterleavedInOrder() {
        let log = UnitLogBuffer(capacityPerUnit: 3)
        for (index, unit) in ["a.service", "b.service", "a.service", "c.service", "b.service"].enumerated() {
            log.append(unit: unit, message: "m\(index)", identifier: unit, pid: 1, realtime: UInt64(index))
        }
        #expect(log.entries(unit: nil, last: 10).map(\.message) == ["m0", "m1", "m2", "m3", "m4"])
        #expect(log.entries(unit: nil, last: 2).map(\.message) == ["m3", "m4"])
        #expect(log.entries(unit: "a.service", last: 10).map(\.message) == ["m0", "m2"])
        #expect(log.entries(units: [], after: 3).map(\.message) == ["m3", "m4"])
        guard case .follow(let backlog, [], let after) = ControlServer.logsReply(units: [], lines: 1, follow: true, from: log)
        else {
            Issue.record("logs of every unit with follow keeps the connection")
            return
        }
        #expect(backlog.records.map { $0["LINE"] } == ["m4"])
        #expect(after == 5)
    }

    // MARK: NeedDaemonReload

    @Test func fileTimesNoticeAChangeAndDoNotTakePartInEquality() throws {
        var directory = Array("/tmp/swatch-times-XXXXXX".utf8CString)
        let path = String(cString: try #require(mkdtemp(&directory)))
        defer { _ = rmdir(path) }
        let unit = path + "/t.service"
        defer { unlink(unit) }
        let fd = open(unit, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        let text = "[Service]\nExecStart=/bin/true\n"
        #expect(write(fd, text, text.utf8.count) == text.utf8.count)
        close(fd)
        var times = SourceFileTimes()
        times.record(unit)
        times.record(path + "/missing.conf")
        #expect(times.changedPaths().isEmpty)
        // Back-date the file by a minute, as a touch would move it.
        var stamps = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, unit, &stamps, 0) == 0)
        #expect(times.changedPaths() == [unit])
        #expect(SourceFileTimes() == times)

        let loaded = UnitSet.load(directories: [path], context: .current())
        let service = try #require(loaded.services.values.first)
        #expect(service.fileTimes.stamps[SourcePath(unit)] == .some(SourceFileTimes.Stamp(seconds: 1_000_000, nanoseconds: 0)))
        #expect(service.fileTimes.changedPaths().isEmpty)
    }

    // MARK: verify

    @Test func unknownAccountsAreWarningsWithTheirLine() throws {
        let service = """
            [Service]
            ExecStart=/bin/true
            User=nosuchuser
            Group=root
            SupplementaryGroups=wheel nosuchgroup
            """
        let dropIn = "[Service]\nGroup=nogroup-here\n"
        let dynamic = "[Service]\nExecStart=/bin/true\nDynamicUser=yes\nUser=nosuchuser\n"
        let set = UnitSet.parse([
            UnitSource(path: "u/hello.service", text: service, dropIns: [("u/hello.service.d/g.conf", dropIn)]),
            UnitSource(path: "u/dyn.service", text: dynamic),
        ], context: .current(), checkExecutables: false)
        let files = ["u/hello.service": service, "u/hello.service.d/g.conf": dropIn, "u/dyn.service": dynamic]
        let warnings = Verifier.accountWarnings(
            set, userExists: { $0 == "root" }, groupExists: { ["root", "wheel"].contains($0) },
            read: { files[$0].map { Array($0.utf8) } })
        #expect(warnings.map(\.description) == [
            "u/hello.service:3: User=nosuchuser: no such user on this machine (it may exist at run time)",
            "u/hello.service.d/g.conf:2: Group=nogroup-here: no such group on this machine (it may exist at run time)",
            "u/hello.service:5: SupplementaryGroups=nosuchgroup: no such group on this machine (it may exist at run time)",
        ])
        #expect(warnings.allSatisfy { $0.severity == .warning })
    }
}
