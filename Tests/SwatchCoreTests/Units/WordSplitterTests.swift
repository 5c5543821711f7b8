import Testing
@testable import SwatchCore

/// systemd.syntax(7) "QUOTING".
@Suite struct WordSplitterTests {
    private func words(_ text: String) throws -> [String] {
        var splitter = WordSplitter(text)
        return try splitter.all()
    }

    @Test func splitsAtWhitespaceAndRemovesQuotes() throws {
        #expect(try words(#"  a  "b c"   'd "e" f' "#) == ["a", "b c", #"d "e" f"#])
        #expect(try words(#"x"y z"w"#) == ["xy zw"])
        #expect(try words(#""""#) == [""])
        // Plain words (cut as they are) beside quoted and escaped ones, and a quote after a plain start.
        #expect(try words("/bin/cat serve 3\t'a b' c\\sd e\"f g\" h") == ["/bin/cat", "serve", "3", "a b", "c d", "ef g", "h"])
    }

    /// A value that is one plain word is taken as it is (KeyValue.words): the same words as
    /// the splitter and the specifiers give, for values on either side of that line.
    @Test(arguments: ["network.target", "PORT=80", "a\u{E9}b", "a b", " a", "a\t", "\"a\"", "a'b'", "a\\x2db",
                      "%i.service", "100%", "", "x%%y"])
    func aPlainWordIsTheValueItself(value: String) throws {
        let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "box")
        let specifiers = SpecifierExpander(name: UnitName(parsing: "w@inst.service")!, context: context)
        let kv = KeyValue(key: "Wants", raw: value, location: SourceLocation(file: "u/w@.service", line: 1), specifiers: specifiers)
        #expect(KeyValue.isOnePlainWord(value) == (["network.target", "PORT=80", "a\u{E9}b"].contains(value)))
        #expect(try kv.words() == words(value).map { try specifiers.expand($0) })
    }

    @Test func withoutUnquotingQuotesAreLetters() throws {
        var splitter = WordSplitter(#"a"b c'd "#)
        splitter.unquote = false
        #expect(try splitter.all() == [#"a"b"#, "c'd"])
    }

    /// EXTRACT_RETAIN_ESCAPE, as config_parse_unit_deps() splits: an escape stays as written,
    /// and an escaped space does not end the word.
    @Test func retainingEscapesKeepsThemAsWritten() throws {
        var splitter = WordSplitter(#"a\x2db.service c\ d.target \\e"#)
        splitter.retainEscapes = true
        #expect(try splitter.all() == [#"a\x2db.service"#, #"c\ d.target"#, #"\\e"#])
        var trailing = WordSplitter(#"a\"#)
        trailing.retainEscapes = true
        #expect(throws: WordSplitError.trailingBackslash) { try trailing.all() }
    }

    @Test func decodesCEscapes() throws {
        #expect(try words(#"a\nb \t \\ \" \' \s \x41 \101 \u00e9"#) == ["a\nb", "\t", "\\", "\"", "'", " ", "A", "A", "é"])
        #expect(try words(#""in \"quotes\" \x42""#) == [#"in "quotes" B"#])
    }

    @Test func rejectsUnbalancedQuotesAndBadEscapes() {
        #expect(throws: WordSplitError.unbalancedQuotes) { try words(#"a "b"#) }
        #expect(throws: WordSplitError.unbalancedQuotes) { try words("'x") }
        #expect(throws: WordSplitError.badEscape(#"\q"#)) { try words(#"\q"#) }
        #expect(throws: WordSplitError.badEscape(#"\x0"#)) { try words(#"\x0"#) }
        #expect(throws: WordSplitError.trailingBackslash) { try words("a\\") }
    }
}
