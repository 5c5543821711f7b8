import Testing
@testable import SwatchCore

/// systemd.syntax(7) as conf-parser.c reads it.
@Suite struct UnitFileLexerTests {
    private func assignments(_ text: String) -> [UnitFileAssignment] {
        UnitFile(path: "t.service", text: text, unit: "t.service").entries.compactMap {
            if case .assignment(let a) = $0 { return a } else { return nil }
        }
    }

    @Test func ignoresWhitespaceAroundEqualsAndAtTheEnds() {
        let a = assignments("[Service]\n  Type  =   notify   \n")
        #expect(a.map(\.key) == ["Type"])
        #expect(a.map(\.value) == ["notify"])
        #expect(a.map(\.location.line) == [2])
    }

    @Test func dropsWholeLineCommentsButNotInlineOnes() {
        let a = assignments("[Service]\n# Type=simple\n ; Type=forking\nType=notify # not a comment\n")
        #expect(a.map(\.value) == ["notify # not a comment"])
    }

    /// The example of systemd.syntax(7): comment lines inside a continuation are skipped,
    /// the backslash becomes a space, the joined line counts at its last physical line.
    @Test func joinsContinuationsSkippingCommentLines() {
        let text = """
            [Section C]
            KeyThree=value 3\\
            # this line is ignored
            ; this line is ignored too
                   value 3 continued
            KeyFour=x
            """
        let a = assignments(text)
        #expect(a.map(\.key) == ["KeyThree", "KeyFour"])
        #expect(a[0].value == "value 3        value 3 continued")
        #expect(a[0].location.line == 5)
        #expect(a[1].location.line == 6)
    }

    @Test func aDoubledBackslashAtTheEndIsNoContinuation() {
        let a = assignments("[S]\nA=x\\\\\nB=y\n")
        #expect(a.map(\.value) == ["x\\\\", "y"])
        // A third one is: an odd run at the end continues the line, whatever precedes it.
        #expect(assignments("[S]\nA=x\\\\\\\nB=y\n").map(\.value) == ["x\\\\ B=y"])
        #expect(assignments("[S]\nA=\\x\\\nB=y\n").map(\.value) == ["\\x B=y"])
    }

    @Test func aContinuationAtTheEndOfTheFileStillCounts() {
        #expect(assignments("[S]\nA=x \\").map(\.value) == ["x"])
    }

    @Test func keepsSectionsAndAcceptsCRLFAndABOM() {
        let a = assignments("\u{FEFF}[Unit]\r\nDescription=d\r\n[Service]\r\nType=simple\r\n")
        #expect(a.map(\.section) == ["Unit", "Service"])
        #expect(a.map(\.location.line) == [2, 4])
    }

    @Test func warnsAboutLinesItCannotRead() {
        let file = UnitFile(path: "t.service", text: "Orphan=1\n[Service]\nNoEquals\n=x\n", unit: "t.service")
        #expect(file.diagnostics.map(\.description) == [
            "t.service:1: Assignment outside of section, ignoring.",
            "t.service:3: Missing '=', ignoring line.",
            "t.service:4: Missing key name before '=', ignoring line.",
        ])
        #expect(file.diagnostics.allSatisfy { $0.severity == .warning && $0.unit == "t.service" })
    }

    @Test func refusesABrokenSectionHeader() {
        let file = UnitFile(path: "t.service", text: "[Service\nType=simple\n", unit: "t.service")
        #expect(file.diagnostics.map(\.description) == ["t.service:1: Invalid section header, refusing the unit: [Service"])
        #expect(file.diagnostics.first?.severity == .error)
        #expect(file.entries.isEmpty)
    }

    @Test func skipsInvalidUTF8Lines() {
        var bytes = Array("[Service]\nType=".utf8) + [0xFF, 0xFE] + Array("\nRestart=no\n".utf8)
        bytes += []
        let file = UnitFile(path: "t.service", bytes: bytes, unit: "t.service")
        #expect(file.diagnostics.map(\.description) == ["t.service:2: Line is not valid UTF-8, ignoring."])
        #expect(file.entries.count == 2)
    }

    /// A NUL byte does not end the line (it used to, losing the rest of the value): the unit is refused.
    @Test func refusesALineWithANulByte() {
        let bytes = Array("[Service]\nExecStart=/bin/true".utf8) + [0] + Array("--more\nRestart=no\n".utf8)
        let file = UnitFile(path: "t.service", bytes: bytes, unit: "t.service")
        #expect(file.diagnostics.map(\.description) == ["t.service:2: Line contains a NUL byte, refusing the unit."])
        #expect(file.diagnostics.first?.severity == .error)
        let lines = file.entries.compactMap { entry -> Int? in
            if case .assignment(let a) = entry { a.location.line } else { nil }
        }
        #expect(lines == [3], "Restart= keeps its line number; ExecStart= is not kept")
    }
}
