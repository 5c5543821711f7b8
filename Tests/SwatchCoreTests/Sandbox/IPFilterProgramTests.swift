import CSwatch
import Glibc
import Testing
@testable import SwatchCore

/// IPAddressAllow=/IPAddressDeny= (systemd.resource-control(5)): the keys as systemd parses
/// them (Units/IPAddressKeys.swift) and the programs they make (Sandbox/IPFilterProgram.swift).
/// Whether the kernel enforces them: Integration.IPFilterTests.
@Suite struct IPFilterProgramTests {
    private func service(_ lines: String) -> (ServiceUnit?, [String]) {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + lines)],
                                context: UnitSetTests.context, checkExecutables: false)
        return (set.services.values.first, set.diagnostics.map(\.description))
    }

    @Test func theKeysTakePrefixesAndSystemdsNames() throws {
        let (unit, problems) = service("IPAddressDeny=any\nIPAddressAllow=localhost 10.1.0.0/16\nIPAddressAllow=fe80::1\n")
        #expect(problems == [])
        let sandbox = try #require(unit?.sandbox)
        #expect(sandbox.ipAddressDeny.map(\.description) == ["0.0.0.0/0", "::/0"])
        #expect(sandbox.ipAddressAllow.map(\.description) == ["127.0.0.0/8", "::1/128", "10.1.0.0/16", "fe80::1/128"])
        #expect(service("IPAddressDeny=any\nIPAddressDeny=\n").0?.sandbox.ipAddressDeny == [])
        for bad in ["IPAddressDeny=10.0.0.0/33", "IPAddressDeny=everything", "IPAddressAllow=::1/129", "IPAddressDeny=10.0.0.1/"] {
            let (unit, problems) = service(bad + "\n")
            #expect(unit == nil, "\(bad)")
            #expect(problems.contains { $0.contains("refusing the unit") }, "\(bad): \(problems)")
        }
    }

    @Test func aKeyIsThePrefixLengthThenTheAddress() throws {
        #expect(IPFilterProgram.key(try #require(IPPrefix("10.1.0.0/16"))) == [16, 0, 0, 0, 10, 1, 0, 0])
        #expect(IPFilterProgram.key(try #require(IPPrefix("::1"))) == [128, 0, 0, 0] + [UInt8](repeating: 0, count: 15) + [1])
    }

    /// The deny lookup comes before the allow lookup (an allowed address passes even when
    /// denied), each map is looked up only where it exists, and the family blocks are skipped
    /// as a whole for another protocol.
    @Test func theProgramLooksUpDenyThenAllow() {
        typealias I = DeviceProgram.Instruction
        let program = IPFilterProgram.instructions(ingress: false, ipv4: .init(allow: 7, deny: 8), ipv6: .init())
        // prologue 2, block 10 + 7 + 7, epilogue 2.
        #expect(program.count == 2 + 24 + 2)
        #expect(program[1] == I(code: 0xb7, destination: 7, immediate: 1), "pass by default")
        #expect(program[3] == I(code: 0x55, destination: 0, offset: 22, immediate: 0x0008), "not IPv4: past the block")
        #expect(program[5] == I(code: 0xb7, destination: 2, immediate: 16), "egress: the destination address")
        #expect(program[12] == I(code: 0x18, destination: 1, source: 1, immediate: 8), "the deny map first")
        #expect(program[18] == I(code: 0xb7, destination: 7, immediate: 0))
        #expect(program[19] == I(code: 0x18, destination: 1, source: 1, immediate: 7), "then the allow map")
        #expect(program[25] == I(code: 0xb7, destination: 7, immediate: 1))
        #expect(program.suffix(2) == [I(code: 0xbf, destination: 0, source: 7), I(code: 0x95)])
        let ingress = IPFilterProgram.instructions(ingress: true, ipv4: .init(), ipv6: .init(deny: 3))
        #expect(ingress[3] == I(code: 0x55, destination: 0, offset: 15, immediate: 0xDD86))
        #expect(ingress[5] == I(code: 0xb7, destination: 2, immediate: 8), "ingress: the source address")
        #expect(ingress.count == 2 + 17 + 2)
    }

    /// RestrictNetworkInterfaces=: names, `~` for a deny list; the first assignment decides the
    /// kind, a later one of the other kind takes names out; empty resets.
    @Test func theInterfaceListIsAllowOrDeny() throws {
        let allow = try #require(service("RestrictNetworkInterfaces=lo eth0\nRestrictNetworkInterfaces=~eth0 wg0\n").0?.sandbox)
        #expect(allow.restrictNetworkInterfaces == ["lo"] && allow.networkInterfacesAllowed)
        let deny = try #require(service("RestrictNetworkInterfaces=~wg0\nRestrictNetworkInterfaces=~tun0\n").0?.sandbox)
        #expect(deny.restrictNetworkInterfaces == ["wg0", "tun0"] && !deny.networkInterfacesAllowed)
        #expect(service("RestrictNetworkInterfaces=lo\nRestrictNetworkInterfaces=\n").0?.sandbox.restrictNetworkInterfaces == [])
        #expect(service("RestrictNetworkInterfaces=a/b\n").1.contains { $0.contains("refusing the unit") })
    }

    /// The interface test comes first: an allow list jumps past the drop on a listed index,
    /// a deny list jumps to it; an allow list of no interface that exists is the drop alone.
    /// IPIngressFilterPath=/IPEgressFilterPath=: one path per assignment, each once; the empty
    /// value clears the list; a relative path refuses the unit at its line.
    @Test func theFilterPathsAreAbsolutePathsOnce() throws {
        let sandbox = try #require(service(
            "IPIngressFilterPath=/sys/fs/bpf/a\nIPIngressFilterPath=/sys/fs/bpf/b\nIPIngressFilterPath=/sys/fs/bpf/a\n"
            + "IPEgressFilterPath=/sys/fs/bpf/c\nIPEgressFilterPath=\nIPEgressFilterPath=/sys/fs/bpf/d\n").0?.sandbox)
        #expect(sandbox.ipIngressFilterPaths == ["/sys/fs/bpf/a", "/sys/fs/bpf/b"])
        #expect(sandbox.ipEgressFilterPaths == ["/sys/fs/bpf/d"])
        #expect(CgroupPrograms.asks(sandbox))
        #expect(service("IPEgressFilterPath=bpf/a\n").1 == [
            "u/a.service:3: Path is not absolute in IPEgressFilterPath=, refusing the unit: bpf/a",
        ])
    }

    /// Without a cgroup2 group (session tracking) a unit that asks for a program does not
    /// start: the refusal names its key and comes before any bpf(2) call, so it reads the same
    /// for root and for another user. A unit that asks for none is not refused.
    @Test func withoutAGroupAUnitThatAsksForAProgramIsRefusedNamingItsKey() throws {
        for (lines, directive) in [("DevicePolicy=closed", "DevicePolicy="), ("IPAddressDeny=any", "IPAddressDeny="),
                                   ("IPIngressFilterPath=/sys/fs/bpf/a", "IPIngressFilterPath="),
                                   ("SocketBindDeny=any", "SocketBindDeny=")] {
            let sandbox = try #require(service(lines + "\n").0?.sandbox, "\(lines)")
            #expect(throws: SandboxError.self, "\(lines)") {
                try CgroupPrograms.attach(sandbox, to: nil)
            }
            do {
                try CgroupPrograms.attach(sandbox, to: nil)
            } catch {
                #expect("\(error)".contains(directive) && "\(error)".contains("without a cgroup2 group"), "\(error)")
            }
        }
        let free = try #require(service("").0?.sandbox)
        #expect(try CgroupPrograms.attach(free, to: nil) == false)
    }

    @Test func theInterfaceTestComesFirst() {
        typealias I = DeviceProgram.Instruction
        let allow = IPFilterProgram.instructions(ingress: true, ipv4: .init(), ipv6: .init(),
                                                 interfaces: .init(indices: [1, 7], allowed: true))
        #expect(Array(allow[2..<7]) == [I(code: 0x61, destination: 2, source: 6, offset: Int16(SWATCH_SKB_IFINDEX_OFFSET)),
                                        I(code: 0x15, destination: 2, offset: 3, immediate: 1),
                                        I(code: 0x15, destination: 2, offset: 2, immediate: 7),
                                        I(code: 0xb7, immediate: 0), I(code: 0x95)])
        let deny = IPFilterProgram.instructions(ingress: true, ipv4: .init(), ipv6: .init(),
                                                interfaces: .init(indices: [1], allowed: false))
        #expect(Array(deny[3..<7]) == [I(code: 0x15, destination: 2, offset: 1, immediate: 1), I(code: 0x05, offset: 2),
                                       I(code: 0xb7, immediate: 0), I(code: 0x95)])
        #expect(IPFilterProgram.instructions(ingress: false, ipv4: .init(allow: 3), ipv6: .init(),
                                             interfaces: .init(indices: [], allowed: true)) == [I(code: 0xb7, immediate: 0), I(code: 0x95)])
    }
}
