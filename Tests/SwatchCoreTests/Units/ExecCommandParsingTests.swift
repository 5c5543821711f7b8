import Testing
@testable import SwatchCore

/// systemd.service(5) "COMMAND LINES".
@Suite struct ExecCommandParsingTests {
    static let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "box")

    private func parse(_ value: String, unit: String = "x.service") throws -> [ExecCommand] {
        let expander = SpecifierExpander(name: UnitName(parsing: unit)!, context: Self.context)
        return try ExecCommand.parse(value, specifiers: expander)
    }

    @Test func splitsWordsWithQuotesAndEscapes() throws {
        let c = try parse(#"/bin/echo "hello world" 'it''s' a\tb"#)
        #expect(c.count == 1)
        #expect(c[0].path == "/bin/echo")
        #expect(c[0].arguments == ["/bin/echo", "hello world", "its", "a\tb"])
    }

    @Test func readsEveryPrefixInAnyOrder() throws {
        let c = try parse("@-:/bin/sh sh -c true")[0]
        #expect(c.ignoreFailure && c.overrideArgv0 && c.noEnvironmentExpansion)
        #expect(c.path == "/bin/sh")
        #expect(c.arguments == ["sh", "-c", "true"])
        #expect(try parse("+/bin/true")[0].fullPrivileges)
        #expect(try parse("!/bin/true")[0].keepsCredentials)
        #expect(try !parse("-!!/bin/true")[0].keepsCredentials, "`!!` has no effect where ambient capabilities exist")
        #expect(!(try parse("/bin/true")[0].ignoreFailure))
    }

    @Test func refusesPrefixesThatExcludeEachOther() {
        #expect(throws: ExecParseError.self) { try parse("+!/bin/true") }
    }

    @Test func separatesCommandsAtALoneSemicolon() throws {
        let c = try parse(#"/bin/echo a ; /bin/echo b \; c;d"#)
        #expect(c.map(\.arguments) == [["/bin/echo", "a"], ["/bin/echo", "b", ";", "c;d"]])
    }

    /// config_parse_exec(): a program name with a control character, a quote or a backslash
    /// (once unquoted) is refused; other characters, non-ASCII ones too, are the file system's.
    @Test func refusesSpecialCharactersInTheProgramOnly() throws {
        // As written in the unit: a quote, a backslash, a tab and a DEL, once unquoted.
        let programs = ["\"/bin/it's\"", "/bin/a\\\\b", "\"/bin/a\\\"b\"", "\"/bin/a\\tb\"", "\"/bin/a\\x7fb\""]
        for program in programs {
            let error = #expect(throws: ExecParseError.self, "\(program)") { try parse(program) }
            #expect(error?.problem == "Executable name contains special characters", "\(program)")
        }
        #expect(try parse("/opt/café/bin/run 'it''s' \"q\\\"\"")[0].arguments == ["/opt/café/bin/run", "its", "q\""])
    }

    @Test func acceptsPlainNamesAndRefusesRelativePathsWithASlash() throws {
        #expect(try parse("swatchd-hello --port 1")[0].path == "swatchd-hello")
        #expect(throws: ExecParseError.self) { try parse("bin/hello") }
        #expect(throws: ExecParseError.self) { try parse("/usr/bin/") }
        #expect(throws: ExecParseError.self) { try parse("@/bin/true") }
        #expect(throws: ExecParseError.self) { try parse(#"/bin/echo "open"#) }
    }

    @Test func expandsSpecifiersAtLoad() throws {
        let c = try parse("/bin/echo %n %i %I %p %t/%N %% %h %u %U %H", unit: "web@a-b.service")[0]
        #expect(c.arguments == ["/bin/echo", "web@a-b.service", "a-b", "a/b", "web", "/run/web@a-b", "%", "/root", "root", "0", "box"])
        #expect(throws: ExecParseError.self) { try parse("/bin/echo %z") }
    }

    @Test func expandsVariablesAtSpawn() throws {
        let env = ["A": "one two  three", "B": "x", "E": ""]
        let c = try parse(#"/bin/echo $A ${A} pre${B}post $$A $$ ${NONE}x $NONE ${E:-dflt} ${B:+alt} $B-x"#)[0]
        #expect(c.expand(environment: env) == [
            "/bin/echo", "one", "two", "three", "one two  three", "prexpost", "$A", "$", "x", "dflt", "alt", "$B-x",
        ])
        let literal = try parse(#":/bin/echo $A ${B}"#)[0]
        #expect(literal.expand(environment: env) == ["/bin/echo", "$A", "${B}"])
    }

    @Test func splitsAVariableWithQuotesAsSystemdDoes() throws {
        let c = try parse("/bin/echo $Q")[0]
        #expect(c.expand(environment: ["Q": #"a "b c" d"#]) == ["/bin/echo", "a", "b c", "d"])
    }
}
