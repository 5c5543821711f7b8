import Testing
@testable import SwatchCore

/// systemd.unit(5) "SPECIFIERS".
@Suite struct SpecifierContextTests {
    static let context = SpecifierContext(runtimeDirectory: "/run/user/1000", home: "/home/ann", userName: "ann",
                                          uid: 1000, hostName: "box")

    private func expand(_ text: String, _ unit: String) throws -> String {
        try SpecifierExpander(name: UnitName(parsing: unit)!, context: Self.context).expand(text)
    }

    @Test(arguments: [
        ("%n", "getty@tty1.service"), ("%N", "getty@tty1"), ("%p", "getty"), ("%P", "getty"),
        ("%i", "tty1"), ("%I", "tty1"), ("%f", "/tty1"), ("%j", "getty"), ("%J", "getty"),
        ("%t", "/run/user/1000"), ("%h", "/home/ann"), ("%u", "ann"), ("%U", "1000"), ("%H", "box"),
        ("%%", "%"), ("a%%b%ic", "a%btty1c"),
    ])
    func expandsEverySpecifier(text: String, expected: String) throws {
        #expect(try expand(text, "getty@tty1.service") == expected)
    }

    @Test func unescapesWhereSystemdDoes() throws {
        let unit = #"dev-disk\x2dby.service"#
        #expect(try expand("%p", unit) == #"dev-disk\x2dby"#)
        #expect(try expand("%P", unit) == "dev/disk-by")
        #expect(try expand("%f", unit) == "/dev/disk-by")
        #expect(try expand("%j", "a-b-c.service") == "c")
        #expect(try expand("%i|%I", "x@var-lib.service") == "var-lib|var/lib")
        #expect(try expand("%f", "x@var-lib.service") == "/var/lib")
        #expect(try expand("[%i]", "plain.service") == "[]")
    }

    /// The machine's own specifiers (systemd.unit(5), "Specifiers").
    @Test func expandsTheMachineSpecifiers() throws {
        var context = Self.context
        context.hostName = "box.example.org"
        context.machineID = "0123456789abcdef0123456789abcdef"
        context.bootID = "fedcba9876543210fedcba9876543210"
        context.kernelRelease = "6.1.0-18-amd64"
        context.architecture = SpecifierContext.architectureName("x86_64")
        context.osRelease = ["ID": "debian", "VERSION_ID": "12"]
        context.groupName = "ann"
        context.gid = 1000
        context.shell = "/bin/bash"
        let expander = SpecifierExpander(name: UnitName(parsing: "a.service")!, context: context)
        #expect(try expander.expand("%m %b %H %l %q %v %a %o %w %B") ==
            "0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210 box.example.org box box 6.1.0-18-amd64 x86-64 debian 12 ")
        #expect(try expander.expand("%g %G %s %S %C %L %E %T %V") == "ann 1000 /bin/bash /var/lib /var/cache /var/log /etc /tmp /var/tmp")
        context.machineID = nil
        #expect(throws: SpecifierExpander.UnknownSpecifier.self) {
            try SpecifierExpander(name: UnitName(parsing: "a.service")!, context: context).expand("%m")
        }
        // This machine's: /etc/machine-id and the boot id are 32 hex digits.
        let current = SpecifierContext.current()
        if let id = current.machineID { #expect(id.count == 32 && id.allSatisfy(\.isHexDigit)) }
        #expect(current.bootID?.count == 32)
        #expect(!current.kernelRelease.isEmpty && !current.architecture.isEmpty)
    }

    @Test func namesAnUnknownSpecifier() {
        #expect(throws: SpecifierExpander.UnknownSpecifier.self) { try expand("%m", "a.service") }
        #expect(throws: SpecifierExpander.UnknownSpecifier.self) { try expand("%Z", "a.service") }
        #expect(throws: SpecifierExpander.UnknownSpecifier.self) { try expand("20%/5min", "a.service") }
        #expect((try? expand("20%", "a.service")) == "20%", "a stray % at the end stays, as in systemd")
    }

    @Test func escapesForUnitNames() {
        #expect(UnitName.escape("/var/lib") == "-var-lib")
        #expect(UnitName.escape("a-b c") == #"a\x2db\x20c"#)
        #expect(UnitName.escape(".hidden") == #"\x2ehidden"#)
        #expect(UnitName.unescape(UnitName.escape("10.0.0.1:80-x")) == "10.0.0.1:80-x")
    }

    @Test func currentContextDescribesThisProcess() {
        let current = SpecifierContext.current()
        #expect(!current.userName.isEmpty && !current.hostName.isEmpty)
        #expect(current.uid != 0 || current.runtimeDirectory == "/run")
    }
}
