import Testing
@testable import SwatchCore

/// Unit names parsed by byte and ordered without making their descriptions
/// (Units/UnitName+Parsing.swift, UnitModels.swift): the same answers as the
/// descriptions give.
@Suite struct UnitNameTests {
    /// Names whose prefixes run into each other, `@` and `.` against a prefix's next byte, and
    /// instances that differ: `<` is the order of the descriptions, both ways round.
    @Test func ordersAsTheDescriptionsDo() {
        let texts = [
            "a.service", "a.socket", "a-.service", "a-b.service", "a.b.service", "a@.service", "a@.socket",
            "a@x.service", "a@x.socket", "a@xy.service", "a@x.y.service", "a@x-y.service", "ab.service",
            "a@b.service", "A.service", "a:b.service", "a_b.service", "a\\x2d.service", "b.service",
            "s-1.service", "s-1.socket", "s-10.service", "s-100.socket", "s-2.service",
        ]
        var names = texts.compactMap { UnitName(parsing: $0) }
        #expect(names.count == texts.count)
        // Not valid unit names, but the order still follows the strings (the fallback).
        names += [UnitName(prefix: "é", type: .service), UnitName(prefix: "e", instance: "é", type: .socket),
                  UnitName(prefix: "a", instance: "é", type: .service)]
        for a in names {
            for b in names {
                #expect((a < b) == (a.description < b.description), "\(a) < \(b)")
            }
        }
        #expect(names.sortedByName() == names.sorted())
        #expect(names.sorted().map(\.description) == names.map(\.description).sorted())
    }

    @Test func parsesByByte() {
        #expect(UnitName(parsing: "echo@1.service") == UnitName(prefix: "echo", instance: "1", type: .service))
        #expect(UnitName(parsing: "echo@.socket") == UnitName(prefix: "echo", instance: "", type: .socket))
        #expect(UnitName(parsing: "a.b.service") == UnitName(prefix: "a.b", type: .service))
        #expect(UnitName(parsing: "a\\x2db.service")?.prefix == "a\\x2db")
        for invalid in ["", ".service", "@x.service", "a@b@c.service", "a.target", "a", "a.service.", "é.service",
                        "a b.service", "a@é.service", "a/b.service", "a.Service",
                        String(repeating: "a", count: 248) + ".service"] {
            #expect(UnitName(parsing: invalid) == nil, "\(invalid)")
        }
        #expect(UnitName(parsing: String(repeating: "a", count: 247) + ".service") != nil)
    }

    @Test func splitsPathsByByte() {
        #expect(UnitDirectory.baseName("/etc/swatchd/a.service") == "a.service")
        #expect(UnitDirectory.baseName("a.service") == "a.service")
        #expect(UnitDirectory.baseName("/etc/swatchd/") == "swatchd")
        #expect(UnitDirectory.baseName("/") == "/")
        #expect(UnitDirectory.baseName("/é/b\u{301}.service") == "b\u{301}.service")
        #expect(UnitDirectory.parent("/etc/swatchd/a.service") == "/etc/swatchd")
        #expect(UnitDirectory.parent("/a.service") == "/")
        #expect(UnitDirectory.parent("a.service") == ".")
    }
}
