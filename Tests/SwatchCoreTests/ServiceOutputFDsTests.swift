import Foundation
import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

@Suite struct ServiceOutputFDsTests {
    private func write(_ source: StdioSource, _ text: String) {
        guard case .descriptor(let fd) = source else { return }
        _ = text.withCString { Glibc.write(fd.rawValue, $0, strlen($0)) }
    }

    private func contents(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing>"
    }

    @Test func fileWritesFromTheStartAppendAppendsTruncateEmpties() throws {
        let directory = ShortTemporaryDirectory()
        for name in ["file", "append", "truncate"] {
            try "0123456789\n".write(toFile: "\(directory.path)/\(name)", atomically: false, encoding: .utf8)
        }
        let targets: [(OutputTarget, String)] = [
            (.file("\(directory.path)/file"), "abc\n456789\n"),
            (.append("\(directory.path)/append"), "0123456789\nabc\n"),
            (.truncate("\(directory.path)/truncate"), "abc\n"),
        ]
        for (target, expected) in targets {
            var fds = try ServiceOutputFDs.make(
                standardOutput: target, standardError: nil, unit: "x.service", identifier: "x", journalAvailable: false,
                unitLog: nil)
            #expect(fds.capture == nil)
            #expect(fds.standardError == fds.standardOutput, "stderr defaults to stdout's descriptor")
            write(fds.standardOutput, "abc\n")
            fds.closeAfterSpawn()
            if case .file(let p) = target { #expect(contents(p) == expected) }
            if case .append(let p) = target { #expect(contents(p) == expected) }
            if case .truncate(let p) = target { #expect(contents(p) == expected) }
        }
    }

    @Test func aMissingFileIsCreatedAndAnImpossibleOneFailsTheSetup() throws {
        let directory = ShortTemporaryDirectory()
        let path = directory.path + "/new.log"
        var fds = try ServiceOutputFDs.make(
            standardOutput: .append(path), standardError: .null, unit: "x.service", identifier: "x",
            journalAvailable: false, unitLog: nil)
        #expect(fds.standardError != fds.standardOutput)
        fds.closeAfterSpawn()
        #expect(access(path, F_OK) == 0)

        let missing = directory.path + "/no/such/dir/x.log"
        #expect(throws: ServiceOutputFDs.SetupError(stream: "output", path: missing, errno: .noSuchFileOrDirectory)) {
            _ = try ServiceOutputFDs.make(
                standardOutput: .file(missing), standardError: nil, unit: "x.service", identifier: "x",
                journalAvailable: false, unitLog: nil)
        }
    }

    @Test func journalOutputOfBothStreamsSharesOneCapture() throws {
        let log = UnitLogBuffer()
        var fds = try ServiceOutputFDs.make(
            standardOutput: nil, standardError: .journal, unit: "hello.service", identifier: "hello",
            journalAvailable: false, unitLog: log)
        let capture = try #require(fds.capture)
        #expect(fds.standardOutput == .descriptor(capture.writeEnd!))
        #expect(fds.standardError == fds.standardOutput)
        #expect(capture.destination == .stderr, "no journal: lines go to swatchd's stderr")
        fds.closeAfterSpawn()
        #expect(capture.writeEnd == nil)
        #expect(capture.readToEnd() == [])
        #expect(capture.isAtEnd, "with the parent's copy closed and no child, the pipe has ended")
    }

    @Test func inheritAndSocketAreLeftToTheSpawner() throws {
        let fds = try ServiceOutputFDs.make(
            standardOutput: .inherit, standardError: .socket, unit: "x.service", identifier: "x",
            journalAvailable: false, unitLog: nil)
        #expect(fds.standardOutput == .sameAsInput)
        #expect(fds.standardError == .connection)
        #expect(fds.capture == nil)
    }

    @Test func openedFilesAreCloseOnExec() throws {
        let fd = try #require(try ServiceOutputFDs.openFile(for: .null))
        defer { try? fd.close() }
        #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        #expect(try ServiceOutputFDs.openFile(for: .journal) == nil)
    }
}
