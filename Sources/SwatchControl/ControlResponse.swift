// The answer half of the control protocol (see ControlProtocol.swift for the
// whole exchange). On the wire, every block of `KEY=VALUE` lines ends with an
// empty line; values are escaped by `ControlEscaping.escapeValue`; keys are
// [A-Za-z0-9_]. Records come first, then the trailer block:
//
//   Id=hello.service
//   ActiveState=active
//
//   RESULT=0
//   WARNING=Stopping hello.service, but it can still be activated by:\n  hello.socket
//

/// One record of an answer: ordered `KEY=VALUE` fields. A key may repeat (a list,
/// e.g. one `Listen=` per listener), so a record is not a dictionary.
package struct ControlRecord: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    package var fields: [(key: String, value: String)]

    package init(_ fields: [(key: String, value: String)] = []) {
        self.fields = fields
    }

    /// `["Id": "x", "Listen": "a", "Listen": "b"]`: repeated keys are kept, in order.
    package init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (key: $0.0, value: $0.1) }
    }

    /// The first value of `key`.
    package subscript(key: String) -> String? {
        fields.first(where: { $0.key == key })?.value
    }

    /// Every value of `key`, in order.
    package func values(_ key: String) -> [String] {
        fields.compactMap { $0.key == key ? $0.value : nil }
    }

    package mutating func append(_ key: String, _ value: String) {
        fields.append((key: key, value: value))
    }

    /// Appends `key` once per value.
    package mutating func append(_ key: String, each values: [String]) {
        for value in values { append(key, value) }
    }

    /// Appends `key` when the value is there.
    package mutating func append(_ key: String, ifPresent value: String?) {
        if let value { append(key, value) }
    }

    package var isEmpty: Bool { fields.isEmpty }

    package static func == (a: ControlRecord, b: ControlRecord) -> Bool {
        a.fields.elementsEqual(b.fields, by: { $0.key == $1.key && $0.value == $1.value })
    }

    /// The wire form: one escaped line per field, then the empty line that ends the block.
    package var encoded: String {
        var text = ""
        for (key, value) in fields {
            precondition(ControlRecord.isValidKey(key), "control record key '\(key)' is not [A-Za-z0-9_]+")
            text += key + "=" + ControlEscaping.escapeValue(value) + "\n"
        }
        return text + "\n"
    }

    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
    }
}

/// A whole answer: the records, then the result code and messages of the trailer.
package struct ControlResponse: Equatable, Sendable {
    package var records: [ControlRecord] = []
    /// The exit code swatchctl uses (`Code`).
    package var result: Int32 = Code.success
    /// `ERROR=` lines, printed by swatchctl on stderr as they are.
    package var errors: [String] = []
    /// `WARNING=` lines, printed by swatchctl on stderr after `Warning: `.
    package var warnings: [String] = []

    /// The result codes: systemctl's, which are the LSB init-script codes (systemctl(1) "EXIT STATUS").
    package enum Code {
        package static let success: Int32 = 0
        /// Generic failure (a start that failed, refused access).
        package static let failure: Int32 = 1
        /// `status`: the unit is not active; `is-active`: not active.
        package static let notActive: Int32 = 3
        /// `status`: no such unit.
        package static let noSuchUnit: Int32 = 4
        /// `start`/`stop`/...: the unit is not loaded (systemctl exits 5).
        package static let notLoaded: Int32 = 5
        /// A request the daemon could not parse (EX_USAGE, sysexits.h).
        package static let usage: Int32 = 64
    }

    /// A failure with one message.
    package static func failure(_ message: String, code: Int32 = Code.failure) -> ControlResponse {
        ControlResponse(result: code, errors: [message])
    }

    /// `status`/`show` of a unit that is not there, worded as systemctl's.
    package static func unitNotFound(_ unit: String) -> ControlResponse {
        .failure("Unit \(unit) could not be found.", code: Code.noSuchUnit)
    }

    /// `start`/`stop`/... of a unit that is not loaded, worded as systemctl's
    /// (`Failed to start x.service: Unit x.service not found.`, exit 5).
    package static func unitNotLoaded(_ unit: String, verb: String) -> ControlResponse {
        .failure("Failed to \(verb) \(unit): Unit \(unit) not found.", code: Code.notLoaded)
    }

    /// The text of the warning systemctl prints when a stopped service can be
    /// started again by its sockets (systemctl's `warn_triggering_units`); swatchctl
    /// prints it after `Warning: `:
    /// `Stopping hello.service, but it can still be activated by:\n  hello.socket`.
    package static func stopTriggeredWarning(service: String, triggeredBy sockets: [String]) -> String {
        "Stopping \(service), but it can still be activated by:" + sockets.map { "\n  " + $0 }.joined()
    }

    /// The trailer block alone: `RESULT=`, then `ERROR=`s and `WARNING=`s.
    package var encodedTrailer: String {
        var trailer = ControlRecord()
        trailer.append("RESULT", String(result))
        trailer.append("ERROR", each: errors)
        trailer.append("WARNING", each: warnings)
        return trailer.encoded
    }

    /// The whole answer as it goes on the wire.
    package var encoded: String {
        var text = ""
        for record in records where !record.isEmpty {
            precondition(record.fields[0].key != "RESULT", "a record must not start with RESULT=, the trailer's key")
            text += record.encoded
        }
        return text + encodedTrailer
    }

    /// What can be wrong with an answer's text.
    package enum DecodeError: Error, Equatable, CustomStringConvertible {
        case malformedLine(String)
        case invalidResult(String)
        case missingTrailer
        case invalidEscape(String)

        package var description: String {
            switch self {
            case .malformedLine(let l): return "Malformed answer line '\(l)'"
            case .invalidResult(let r): return "Invalid RESULT= value '\(r)'"
            case .missingTrailer: return "The answer ended before its RESULT= line"
            case .invalidEscape(let v): return "Invalid escape sequence in '\(v)'"
            }
        }
    }

    /// Parses a complete answer (records, trailer, and nothing after the trailer).
    package static func decode(_ text: String) throws(DecodeError) -> ControlResponse {
        var decoder = ControlStreamDecoder()
        var records: [ControlRecord] = []
        var response: ControlResponse?
        for event in try decoder.feed(Array(text.utf8)) {
            switch event {
            case .record(let record): records.append(record)
            case .trailer(let trailer): response = trailer
            }
        }
        guard var response, decoder.isAtBlockBoundary else { throw .missingTrailer }
        response.records = records
        return response
    }

    /// The memberwise initializer, `package` for SwatchCore (an implicit one would be internal).
    package init(
        records: [ControlRecord] = [], result: Int32 = Code.success, errors: [String] = [], warnings: [String] = []
    ) {
        self.records = records
        self.result = result
        self.errors = errors
        self.warnings = warnings
    }
}

/// One block of an answer as a streaming reader sees it.
package enum ControlStreamEvent: Equatable, Sendable {
    case record(ControlRecord)
    /// The trailer: `records` is empty; result, errors, warnings are set.
    case trailer(ControlResponse)
}

/// Turns the bytes of an answer, as they arrive, into records and the trailer.
/// Used by the client for one-shot answers and for `logs … follow` streams.
package struct ControlStreamDecoder: Sendable {
    private var pending: [UInt8] = []
    private var block = ControlRecord()

    package init() {}

    /// True when no partial line or block is buffered.
    package var isAtBlockBoundary: Bool { pending.isEmpty && block.isEmpty }

    /// Consumes `bytes`, returning the blocks they complete.
    package mutating func feed(_ bytes: [UInt8]) throws(ControlResponse.DecodeError) -> [ControlStreamEvent] {
        pending += bytes
        var events: [ControlStreamEvent] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = pending[start..<newline]
            start = newline + 1
            if line.isEmpty {
                if !block.isEmpty { events.append(try Self.finish(block)) }
                block = ControlRecord()
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let equals = text.firstIndex(of: "="), ControlRecord.isValidKey(String(text[..<equals])) else {
                throw .malformedLine(text)
            }
            let value: String
            do {
                value = try ControlEscaping.unescapeValue(String(text[text.index(after: equals)...]))
            } catch {
                throw .invalidEscape(text)
            }
            block.append(String(text[..<equals]), value)
        }
        pending.removeFirst(start)
        return events
    }

    private static func finish(_ block: ControlRecord) throws(ControlResponse.DecodeError) -> ControlStreamEvent {
        guard block.fields[0].key == "RESULT" else { return .record(block) }
        guard let result = Int32(block.fields[0].value) else { throw .invalidResult(block.fields[0].value) }
        return .trailer(ControlResponse(result: result, errors: block.values("ERROR"), warnings: block.values("WARNING")))
    }
}
