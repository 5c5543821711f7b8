import Testing
@testable import SwatchCore

/// The rules of systemd's parse_env_file_internal().
@Suite struct EnvironmentFileParserTests {
    private func parse(_ text: String) -> [String] {
        EnvironmentFileParser.parse(text).map { "\($0.0)=\($0.1)" }
    }

    @Test func readsAssignmentsAndSkipsComments() {
        #expect(parse("# comment\n; also\nA=1\n  B = two words  \n\nC=\n") == ["A=1", "B=two words", "C="])
    }

    @Test func readsQuotes() {
        #expect(parse(#"A="x  y""# + "\n" + "B='\\n $x'\nC=\"a\\\"b\\$c\\d\"\n") == [
            "A=x  y", #"B=\n $x"#, #"C=a"b$c\d"#,
        ])
    }

    @Test func joinsBackslashNewline() {
        #expect(parse("A=one \\\ntwo\nB=\"x\\\ny\"\n") == ["A=one two", "B=xy"])
    }

    @Test func skipsInvalidNamesAndLinesWithoutEquals() {
        #expect(parse("1X=a\nexport Y=b\nNOEQUALS\nZ=c") == ["Z=c"])
    }
}
