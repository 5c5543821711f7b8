import CSwatch
import Glibc
import Testing
@testable import SwatchCore

/// SocketBindAllow=/SocketBindDeny= (systemd.resource-control(5)): the rules as systemd's
/// parse_socket_bind_item() reads them (Units/SocketBindKeys.swift) and the programs they make
/// (Sandbox/SocketBindProgram.swift). Whether the kernel enforces them: Integration.IPFilterTests.
@Suite struct SocketBindProgramTests {
    private func service(_ lines: String) -> (ServiceUnit?, [String]) {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + lines)],
                                context: UnitSetTests.context, checkExecutables: false)
        return (set.services.values.first, set.diagnostics.map(\.description))
    }

    @Test func theRulesAreFamilyTransportAndPorts() throws {
        let (unit, problems) = service("SocketBindDeny=any\nSocketBindAllow=tcp:8080\nSocketBindAllow=ipv6:udp:5000-5010\n"
            + "SocketBindAllow=ipv4:any\n")
        #expect(problems == [])
        let sandbox = try #require(unit?.sandbox)
        #expect(sandbox.socketBindDeny == [SocketBindRule()])
        #expect(sandbox.socketBindAllow == [SocketBindRule(transport: Int32(IPPROTO_TCP), ports: 8080...8080),
                                            SocketBindRule(family: AF_INET6, transport: Int32(IPPROTO_UDP), ports: 5000...5010),
                                            SocketBindRule(family: AF_INET)])
        #expect(service("SocketBindDeny=any\nSocketBindDeny=\n").0?.sandbox.socketBindDeny == [])
        for bad in ["SocketBindDeny=0", "SocketBindDeny=tcp", "SocketBindDeny=ipv4:tcp", "SocketBindDeny=sctp:80",
                    "SocketBindDeny=10-9", "SocketBindDeny=65536", "SocketBindDeny=tcp:80:81", "SocketBindDeny=ipv4:"] {
            let (unit, problems) = service(bad + "\n")
            #expect(unit == nil, "\(bad)")
            #expect(problems.contains { $0.contains("Failed to parse socket bind rule") }, "\(bad): \(problems)")
        }
    }

    /// Allow rules before deny rules, each a test per field it sets that jumps past the rule,
    /// then a jump to its list's verdict; a rule of the other family is left out; a bind of the
    /// other family passes at once.
    @Test func theProgramTriesTheAllowRulesThenTheDenyRules() {
        typealias I = DeviceProgram.Instruction
        let program = SocketBindProgram.instructions(
            family: AF_INET, allow: [SocketBindRule(transport: Int32(IPPROTO_TCP), ports: 80...90), SocketBindRule(family: AF_INET6)],
            deny: [SocketBindRule()])
        // 5 loads, 2 family checks, the allow rule (3 tests + jump), the deny rule (jump), 2 verdicts of 2.
        #expect(program.count == 5 + 2 + 4 + 1 + 4)
        let allowed = 12, denied = 14
        #expect(program[5] == I(code: 0x55, destination: 2, offset: Int16(allowed - 5 - 1), immediate: AF_INET))
        #expect(program[6] == I(code: 0x55, destination: 3, offset: Int16(allowed - 6 - 1), immediate: AF_INET))
        #expect(program[7] == I(code: 0x55, destination: 4, offset: 3, immediate: Int32(IPPROTO_TCP)))
        #expect(program[8] == I(code: 0xa5, destination: 5, offset: 2, immediate: 80))
        #expect(program[9] == I(code: 0x25, destination: 5, offset: 1, immediate: 90))
        #expect(program[10] == I(code: 0x05, offset: Int16(allowed - 10 - 1)))
        #expect(program[11] == I(code: 0x05, offset: Int16(denied - 11 - 1)))
        #expect(Array(program[allowed...]) == [I(code: 0xb7, immediate: 1), I(code: 0x95), I(code: 0xb7, immediate: 0), I(code: 0x95)])
        // No rule of the family: nothing leads to a denial, and there is none to reach (the
        // verifier refuses unreachable instructions).
        let none = SocketBindProgram.instructions(family: AF_INET6, allow: [], deny: [SocketBindRule(family: AF_INET)])
        #expect(none.count == 5 + 2 + 2 && none.suffix(2) == [I(code: 0xb7, immediate: 1), I(code: 0x95)])
    }
}
