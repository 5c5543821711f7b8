// libFuzzer targets over every input swatchd parses: no crash and no hang on any
// input. Built only with SWATCH_FUZZ=1 (Package.swift); `make fuzz` builds it and runs
// every target for FUZZ_SECONDS each. One executable; the environment variable
// SWATCH_FUZZ_TARGET picks the target (docs/HACKING.md "Tests, sanitizers, fuzzing"):
//
//   unit              unit files: the first byte picks a service (with a drop-in after the
//                     first NUL), a socket (with services to pair with), a template and one
//                     instance of it, or the small parsers (time spans, unit names)
//   environment-file  EnvironmentFile= contents (Units/EnvironmentFileParser.swift)
//   control-request   a control request line as the daemon reads it (ControlRequest(line:)),
//                     re-encoded and parsed again: the round trip must give the same request
//   control-response  an answer as swatchctl reads it: ControlResponse.decode and the
//                     streaming decoder fed in two pieces, which must agree
//   notify            an sd_notify datagram: the receiver's checks (size, NUL, credentials,
//                     truncation: NotifyDatagram.dropReason), then NotifyMessage(text:)
//
//   SWATCH_FUZZ=1 swift build -c release --product SwatchFuzz --scratch-path .build-fuzz \
//       --sanitize fuzzer --sanitize address
//   SWATCH_FUZZ_TARGET=notify SWIFT_BACKTRACE=enable=no .build-fuzz/release/SwatchFuzz \
//       -max_total_time=600 fuzz-corpus/notify Fuzz/corpus/notify
//
// Seeds are committed under Fuzz/corpus/<target>/; libFuzzer writes what it finds into the
// first directory given (fuzz-corpus/<target>, not committed).

import Glibc
import SwatchCore

private enum Target: String, CaseIterable {
    case unit
    case environmentFile = "environment-file"
    case controlRequest = "control-request"
    case controlResponse = "control-response"
    case notify
}

private let target: Target = {
    guard let raw = getenv("SWATCH_FUZZ_TARGET") else { return .unit }
    let name = String(cString: raw)
    guard let target = Target(rawValue: name) else {
        let names = Target.allCases.map(\.rawValue).joined(separator: ", ")
        let message = "SwatchFuzz: unknown SWATCH_FUZZ_TARGET '\(name)' (one of: \(names))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(2)
    }
    return target
}()

private let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "fuzz")
private let environment = ["A": "one two", "B": "'quoted words' x", "EMPTY": ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case .unit: fuzzUnit(bytes)
    case .environmentFile: _ = EnvironmentFileParser.parse(String(decoding: bytes, as: UTF8.self))
    case .controlRequest: fuzzControlRequest(bytes)
    case .controlResponse: fuzzControlResponse(bytes)
    case .notify: fuzzNotify(bytes)
    }
    return 0
}

// MARK: - Control protocol

private func fuzzControlRequest(_ bytes: [UInt8]) {
    // What the server hands the parser: the line before the newline, at most maximumLineLength bytes.
    let line = bytes.prefix(ControlRequest.maximumLineLength).prefix { $0 != 0x0A }
    guard let request = try? ControlRequest(line: String(decoding: line, as: UTF8.self)) else { return }
    // What is accepted has a wire form that parses back to itself (the client sends `line`).
    let again: ControlRequest
    do {
        again = try ControlRequest(line: request.line)
    } catch {
        fatalError("the line of \(request) does not parse: \(error) (\(request.line))")
    }
    guard again == request else { fatalError("round trip changed \(request) into \(again)") }
}

private func fuzzControlResponse(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let whole = try? ControlResponse.decode(text)
    if let whole {
        // A decoded answer encodes to text that decodes to the same answer.
        guard let again = try? ControlResponse.decode(whole.encoded), again == whole else {
            fatalError("round trip changed the answer: \(whole)")
        }
    }
    // The streaming decoder, fed the same bytes in two pieces (as recv() may cut them),
    // sees the same blocks as when fed them at once.
    let utf8 = Array(text.utf8)
    let cut = utf8.isEmpty ? 0 : Int(utf8[0]) % (utf8.count + 1)
    var once = ControlStreamDecoder(), split = ControlStreamDecoder()
    let all = try? once.feed(utf8)
    var pieces: [ControlStreamEvent]? = nil
    if let first = try? split.feed(Array(utf8[..<cut])), let second = try? split.feed(Array(utf8[cut...])) {
        pieces = first + second
    }
    if let all, let pieces, all != pieces { fatalError("split feed differs: \(all) vs \(pieces)") }
}

// MARK: - sd_notify

private func fuzzNotify(_ bytes: [UInt8]) {
    guard let flags = bytes.first else { return }
    // The first byte plays the kernel's part: the datagram's real size may exceed what was
    // kept (MSG_TRUNC), control data may be cut (MSG_CTRUNC), credentials may be missing.
    let text = Array(bytes.dropFirst().prefix(NotifySocket.bufferSize))
    let size = flags & 0x08 != 0 ? bytes.count - 1 + Int(flags >> 4) * 1024 : text.count
    let reason = NotifyDatagram.dropReason(
        size: size, text: text, hasSender: flags & 0x01 == 0,
        truncated: flags & 0x02 != 0, controlTruncated: flags & 0x04 != 0)
    if reason == nil {
        precondition(!text.contains(0) && text.count < NotifySocket.bufferSize, "a datagram passed the checks it fails")
    } else {
        _ = reason!.description
    }
    // The parser must cope with anything, checked or not.
    let message = NotifyMessage(text: Substring(decoding: text, as: UTF8.self))
    if let pid = message.mainPID { precondition(pid > 1, "MAINPID=\(pid) accepted") }
}

// MARK: - Unit files

private func fuzzUnit(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let body = Array(bytes.dropFirst())
    switch selector % 4 {
    case 0:
        // The body split at the first NUL: main file and one drop-in.
        let cut = body.firstIndex(of: 0) ?? body.endIndex
        let dropIn = cut < body.endIndex ? [(path: "fuzz.service.d/a.conf", bytes: Array(body[(cut + 1)...]))] : []
        exercise(UnitSet.parse([UnitSource(path: "fuzz.service", bytes: Array(body[..<cut]), dropIns: dropIn)],
                               context: context, checkExecutables: false))
    case 1:
        exercise(UnitSet.parse([
            UnitSource(path: "fuzz.socket", bytes: body),
            UnitSource(path: "fuzz.service", text: "[Service]\nExecStart=/bin/true\n"),
            UnitSource(path: "fuzz@.service", text: "[Service]\nExecStart=/bin/echo %i\n"),
        ], context: context, checkExecutables: false))
    case 2:
        let set = UnitSet.parse([UnitSource(path: "fuzz@.service", bytes: body)], context: context, checkExecutables: false)
        exercise(set)
        if let instance = set.instantiate(UnitName(prefix: "fuzz", instance: "", type: .service),
                                          instance: UnitName.escape(String(decoding: body.prefix(16), as: UTF8.self))) {
            for command in instance.execStart { _ = command.expand(environment: environment) }
        }
    default:
        let text = String(decoding: body, as: UTF8.self)
        _ = EnvironmentFileParser.parse(text)
        _ = TimeSpan(parsing: text)
        _ = UnitName(parsing: text)
        _ = UnitName.unescape(text)
    }
}

private func exercise(_ set: UnitSet) {
    for service in set.services.values {
        for command in service.execStartPre + service.execStart + service.execStop {
            _ = command.expand(environment: environment)
        }
    }
    for socket in set.sockets.values {
        _ = set.sockets(triggering: set.serviceName(for: socket))
        _ = socket.listens.map(\.address.description)
    }
    _ = set.diagnostics.map(\.description)
}
