// libFuzzer target over the unit-file parser: no crash and no hang on any
// input. Built only with SWATCH_FUZZ=1 (Package.swift); run by `make fuzz`:
//   SWATCH_FUZZ=1 swift build -c release --product SwatchFuzz --scratch-path .build-fuzz \
//       --sanitize fuzzer --sanitize address
//   SWIFT_BACKTRACE=enable=no .build-fuzz/release/SwatchFuzz -max_total_time=600 fuzz-corpus
// The first byte picks what the rest is: a service, a socket (with a service to
// pair with), a template and one instance of it, or an environment file.

import SwatchCore

private let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "fuzz")
private let environment = ["A": "one two", "B": "'quoted words' x", "EMPTY": ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let selector = data[0]
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
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
    return 0
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
