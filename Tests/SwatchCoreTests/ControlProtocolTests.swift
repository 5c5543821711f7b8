import Testing
@testable import SwatchCore
@testable import SwatchControl

@Suite struct ControlProtocolTests {
    // MARK: Escaping

    @Test(arguments: ["hello.service", "my unit.service", "a\\b", "line\nbreak", "tab\there", "\"quoted\"", "", "ü-ñ.service", "x=y"])
    func wordsSurviveEscaping(_ word: String) throws {
        let escaped = ControlEscaping.escapeWord(word)
        #expect(!escaped.contains(" ") && !escaped.contains("\n") && !escaped.contains("\t"))
        #expect(try ControlEscaping.unescapeWord(escaped) == word)
    }

    /// Any bytes make one word and come back: a service's output need not be UTF-8.
    @Test(arguments: [Array("half a line".utf8), Array("two\nlines\n".utf8), [0xFF, 0x20, 0xC3], Array("ü".utf8), []])
    func bytesSurviveEscapingAsAWord(_ bytes: [UInt8]) throws {
        let escaped = ControlEscaping.escapeWord(bytes: bytes)
        #expect(!escaped.isEmpty && !escaped.contains(" ") && !escaped.contains("\n"), "\(escaped)")
        #expect(try ControlEscaping.unescapeWordBytes(escaped) == bytes)
    }

    @Test func spaceIsWrittenAsHexEscape() {
        #expect(ControlEscaping.escapeWord("/srv/my dir") == "/srv/my\\x20dir")
    }

    @Test(arguments: ["plain", "two\nlines", "back\\slash", "a=b=c", "\"\"", "\\n literally", "trailing\\", "cr\r\nlf"])
    func valuesSurviveEscaping(_ value: String) throws {
        let escaped = ControlEscaping.escapeValue(value)
        #expect(!escaped.contains("\n"))
        #expect(try ControlEscaping.unescapeValue(escaped) == value)
    }

    @Test func valueEscapesOnlyNewlineAndBackslash() {
        #expect(ControlEscaping.escapeValue("a\nb\\c=d") == "a\\nb\\\\c=d")
    }

    @Test(arguments: ["bad\\q", "end\\", "\\x4", "\\xzz", "\\xff"])
    func invalidEscapesAreRejected(_ text: String) {
        #expect(throws: ControlEscaping.InvalidEscape.self) { try ControlEscaping.unescapeValue(text) }
    }

    // MARK: Requests

    static let requests: [ControlRequest] = [
        .status(units: []), .status(units: ["hello.service", "hello.socket"]), .show(units: ["my unit.service"]),
        .start(units: ["a.service", "b.socket"]), .stop(units: ["x.service"]), .restart(units: ["x.service"]),
        .reload(units: ["x.service"]), .kill(units: ["x.service"], signal: 1), .kill(units: ["a", "b"], signal: 15),
        .listUnits, .listSockets, .isActive(unit: "x"), .isFailed(unit: "x"), .resetFailed(unit: nil),
        .resetFailed(unit: "x.service"), .logs(units: ["hello.service"], lines: 10, follow: true),
        .logs(units: ["hello.service"], lines: 0, follow: false), .logs(units: ["a.service", "b.socket"], lines: 3, follow: false),
        .logs(units: [], lines: 1, follow: true), .daemonReload,
    ]

    @Test(arguments: requests)
    func requestLinesRoundTrip(_ request: ControlRequest) throws {
        #expect(!request.line.contains("\n"))
        #expect(try ControlRequest(line: request.line + "\n") == request)
    }

    @Test func requestLinesReadAsDocumented() throws {
        #expect(try ControlRequest(line: "status hello.service") == .status(units: ["hello.service"]))
        #expect(try ControlRequest(line: "kill --signal=SIGHUP x.service") == .kill(units: ["x.service"], signal: 1))
        #expect(try ControlRequest(line: "kill --signal=HUP x.service") == .kill(units: ["x.service"], signal: 1))
        #expect(try ControlRequest(line: "kill x.service") == .kill(units: ["x.service"], signal: 15))
        #expect(try ControlRequest(line: "logs hello.service 10 follow") == .logs(units: ["hello.service"], lines: 10, follow: true))
        #expect(try ControlRequest(line: "logs a.service b.socket 5") == .logs(units: ["a.service", "b.socket"], lines: 5, follow: false))
        #expect(try ControlRequest(line: "start a\\x20b.service") == .start(units: ["a b.service"]))
        #expect(ControlRequest.kill(units: ["x.service"], signal: 1).line == "kill --signal=SIGHUP x.service")
        #expect(ControlRequest.daemonReload.line == "daemon-reload")
    }

    @Test func malformedRequestsSayWhy() {
        func error(_ line: String) -> ControlRequest.ParseError? {
            do {
                _ = try ControlRequest(line: line)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("") == .empty)
        #expect(error("   \n") == .empty)
        #expect(error("frobnicate x") == .unknownCommand("frobnicate"))
        #expect(error("start") == .missingArgument(command: "start"))
        #expect(error("is-active a b") == .tooManyArguments(command: "is-active"))
        #expect(error("list-units x") == .tooManyArguments(command: "list-units"))
        // Every word before the count names a unit: `ten` is one, and the count is missing.
        #expect(error("logs x ten") == .missingArgument(command: "logs"))
        #expect(error("logs x -1") == .invalidArgument(command: "logs", argument: "-1"))
        #expect(error("logs x 10 forever") == .invalidArgument(command: "logs", argument: "forever"))
        #expect(error("kill --signal=SIGNOPE x") == .invalidArgument(command: "kill", argument: "--signal=SIGNOPE"))
        #expect(error("kill --signal=HUP") == .missingArgument(command: "kill"))
        #expect(error("start bad\\q") == .invalidEscape("bad\\q"))
        #expect(error("frobnicate")?.description == "Unknown command 'frobnicate'")
    }

    // MARK: Responses

    @Test func responsesRoundTripWithRepeatedKeysAndEscapes() throws {
        let response = ControlResponse(
            records: [
                ["Id": "hello.socket", "Listen": "[::]:8080 (Stream)", "Listen": "/run/a b.sock (Stream)"],
                ["Id": "hello.service", "StatusText": "line one\nline two \\ done", "Description": "a=b"],
            ],
            result: 5, errors: ["Failed to start x.service: Unit x.service not found."],
            warnings: [ControlResponse.stopTriggeredWarning(service: "hello.service", triggeredBy: ["hello.socket"])])
        let decoded = try ControlResponse.decode(response.encoded)
        #expect(decoded == response)
        #expect(decoded.records[0].values("Listen") == ["[::]:8080 (Stream)", "/run/a b.sock (Stream)"])
    }

    @Test func wireFormatIsKeyValueBlocksThenTrailer() {
        let response = ControlResponse(records: [["Id": "a.service", "ActiveState": "active"]], result: 0, warnings: ["w"])
        #expect(response.encoded == "Id=a.service\nActiveState=active\n\nRESULT=0\nWARNING=w\n\n")
    }

    @Test func stopWarningHasSystemctlsShape() {
        #expect(
            ControlResponse.stopTriggeredWarning(service: "hello.service", triggeredBy: ["hello-http.socket", "hello-https.socket"])
                == "Stopping hello.service, but it can still be activated by:\n  hello-http.socket\n  hello-https.socket")
    }

    @Test func decodingRejectsBrokenAnswers() {
        #expect(throws: ControlResponse.DecodeError.missingTrailer) { try ControlResponse.decode("Id=x\n\n") }
        #expect(throws: ControlResponse.DecodeError.missingTrailer) { try ControlResponse.decode("RESULT=0\n") }
        #expect(throws: ControlResponse.DecodeError.malformedLine("no equals sign")) {
            try ControlResponse.decode("no equals sign\n\nRESULT=0\n\n")
        }
        #expect(throws: ControlResponse.DecodeError.invalidResult("zero")) { try ControlResponse.decode("RESULT=zero\n\n") }
    }

    @Test func streamDecoderHandlesAnswersSplitAnywhere() throws {
        let text = Array("Id=a\nX=1\\n2\n\nRESULT=0\n\nLINE=later\n\n".utf8)
        for split in 0...text.count {
            var decoder = ControlStreamDecoder()
            let events = try decoder.feed(Array(text[..<split])) + decoder.feed(Array(text[split...]))
            #expect(events == [
                .record(["Id": "a", "X": "1\n2"]), .trailer(ControlResponse(result: 0)), .record(["LINE": "later"]),
            ])
            #expect(decoder.isAtBlockBoundary)
        }
    }

    // MARK: Reports

    @Test func statusReportRoundTripsThroughItsRecord() throws {
        var report = UnitStatusReport(
            id: "hello.service", description: "Hello World service", loadState: .loaded,
            fragmentPath: "/etc/swatchd/hello.service", dropIns: ["/etc/swatchd/hello.service.d/a.conf"],
            activeState: .active, subState: "running", result: .success, activeSince: 1_795_000_000_000_000,
            mainPID: 4242, mainProcessName: "swatchd-hello", execMainPID: 4000, execMainCode: 1, execMainStatus: 3,
            nRestarts: 2, statusText: "Serving 1 sockets\nsecond line", tasks: 1, memoryBytes: 1_258_291,
            triggers: [], triggeredBy: [UnitReference(name: "hello.socket", activeState: .active)],
            listen: [], logLines: ["Nov 26 16:20:01 hello.service[4242]: line = with \\ backslash"])
        report.serviceType = "notify"
        report.propagatesReloadTo = ["a.service", "b.service"]
        report.stopPropagatedFrom = ["c.service"]
        let record = try ControlResponse.decode(ControlResponse(records: [report.toRecord()]).encoded).records[0]
        #expect(try UnitStatusReport(record: record) == report)
        #expect(record["Type"] == "notify")
        #expect(record["PropagatesReloadTo"] == "a.service b.service")
        #expect(record["MainPID"] == "4242")
        #expect(record["TriggeredBy"] == "hello.socket active")
    }

    @Test func socketReportKeepsListenersAndTriggers() throws {
        var report = UnitStatusReport(
            id: "hello.socket", activeState: .active, subState: "listening",
            triggers: [UnitReference(name: "hello.service", activeState: .inactive)],
            listen: [ListenEntry(kind: "Stream", address: "[::]:8080"), ListenEntry(kind: "Stream", address: "/run/x (1).sock")])
        report.connections = SocketConnections(accept: true, accepted: 12, connected: 3, refused: 4)
        let back = try UnitStatusReport(record: report.toRecord())
        #expect(back == report)
        #expect(report.toRecord().values("Listen") == ["[::]:8080 (Stream)", "/run/x (1).sock (Stream)"])
    }

    @Test func minimalRecordsUseDefaultsAndBrokenOnesAreNamed() throws {
        let minimal = try UnitStatusReport(record: ["Id": "a.service", "LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"])
        #expect(minimal.loadState == .notFound && minimal.mainPID == 0 && minimal.memoryBytes == nil)
        #expect(throws: UnitStatusReport.RecordError(key: "ActiveState")) {
            try UnitStatusReport(record: ["Id": "a.service", "LoadState": "loaded", "SubState": "dead"])
        }
        #expect(throws: UnitStatusReport.RecordError(key: "MainPID", value: "many")) {
            try UnitStatusReport(record: ["Id": "a", "LoadState": "loaded", "ActiveState": "active", "SubState": "running", "MainPID": "many"])
        }
    }

    @Test func listingsRoundTrip() throws {
        let entry = UnitListEntry(id: "hello.service", loadState: .loaded, activeState: .failed, subState: "failed", description: "Hello")
        #expect(try UnitListEntry(record: entry.toRecord()) == entry)
        let listing = SocketListing(
            listen: [ListenEntry(kind: "Stream", address: "[::]:80"), ListenEntry(kind: "Datagram", address: "0.0.0.0:53")],
            unit: "multi.socket", activates: ["multi.service"])
        #expect(try SocketListing(record: listing.toRecord()) == listing)
    }

    @Test func listenEntryFollowsTheDirective() {
        let directive = ListenDirective(kind: .datagram, address: .ipv4(address: "127.0.0.1", port: 53))
        #expect(ListenEntry(directive).description == "127.0.0.1:53 (Datagram)")
        #expect(ListenEntry(description: "no kind here") == nil)
    }

    @Test func glyphsFollowSystemctl() {
        #expect(UnitActiveState.active.glyph == "●")
        #expect(UnitActiveState.inactive.glyph == "○")
        #expect(UnitActiveState.failed.glyph == "×")
    }

    // MARK: Signals

    @Test func signalNamesReadAndPrintAsSystemd() throws {
        #expect(SignalName.number("SIGHUP") == 1)
        #expect(SignalName.number("hup") == 1)
        #expect(SignalName.number("9") == 9)
        #expect(SignalName.number("RTMIN+1") == SignalName.number("RTMIN")! + 1)
        // Found by the fuzzer: a negative offset named signal 66, which printed back as a number the parser refuses.
        #expect(SignalName.number("RTMAX--2") == nil)
        // Also found by the fuzzer: a unit word that looks like the option survives the round trip.
        let odd = try ControlRequest(line: "status --lines=0010 --lines=0010")
        #expect(try ControlRequest(line: odd.line) == odd)
        #expect(SignalName.number("RTMIN+-1") == nil)
        #expect(throws: ControlRequest.ParseError.self) { try ControlRequest(line: "kill --signal=RTMAX--2 x.service") }
        #expect(SignalName.number("SIGFOO") == nil)
        #expect(SignalName.number("0") == nil)
        #expect(SignalName.shortName(15) == "TERM")
        #expect(SignalName.fullName(9) == "SIGKILL")
    }

    // MARK: Requests too long for one line

    /// 300 units of ~30 bytes: ~9 KB, more than one line holds.
    private static let manyUnits = (1...300).map { "a-service-with-a-long-name-\($0).service" }

    @Test func aShortRequestStaysWhole() {
        let request = ControlRequest.stop(units: ["a.service", "b.service"])
        #expect(request.split() == [request])
        #expect(ControlRequest.listUnits.split() == [.listUnits])
    }

    @Test(arguments: [
        ControlRequest.job(.stop, units: manyUnits, noBlock: false),
        .job(.restart, units: manyUnits, noBlock: true),
        .kill(units: manyUnits, signal: 9),
        .status(units: manyUnits, lines: 3),
        .show(units: manyUnits),
    ])
    func aLongListOfUnitsIsCutIntoRequestsThatEachFitALine(_ request: ControlRequest) throws {
        let parts = request.split()
        #expect(parts.count == 3, "\(parts.map { $0.line.utf8.count })")
        for part in parts {
            #expect(part.line.utf8.count + 1 <= ControlRequest.maximumLineLength)
            #expect(part.command == request.command)
            // Each part reads back as the request it is, with its options.
            #expect(try ControlRequest(line: part.line) == part)
        }
        let units = parts.flatMap { part -> [String] in
            switch part {
            case .job(_, let units, _), .kill(let units, _), .status(let units, _), .show(let units): return units
            default: return []
            }
        }
        #expect(units == Self.manyUnits)
        if case .job(_, _, let noBlock) = request {
            #expect(parts.allSatisfy { if case .job(_, _, noBlock) = $0 { true } else { false } })
        }
    }

    /// `status` of no unit means every unit, and `logs` interleaves its units' lines: neither is
    /// cut, and the daemon refuses a `logs` line that is too long.
    @Test func statusOfEveryUnitAndLogsStayWhole() {
        #expect(ControlRequest.status(units: []).split() == [.status(units: [])])
        let logs = ControlRequest.logs(units: Self.manyUnits, lines: 10, follow: false)
        #expect(logs.split() == [logs])
    }

    /// A part whose first unit looks like status's option says `--lines=` before it, and still fits.
    @Test func aPartStartingWithAUnitThatLooksLikeTheOptionStillFits() throws {
        let units = (1...130).map { _ in String(repeating: "x", count: 30) } + (1...130).map { _ in "--lines=5" }
        for limit in [200, 4096] {
            for part in ControlRequest.status(units: units).split(maximumLineLength: limit) {
                #expect(part.line.utf8.count + 1 <= limit, "\(part.line)")
                #expect(try ControlRequest(line: part.line) == part)
            }
        }
    }
}
