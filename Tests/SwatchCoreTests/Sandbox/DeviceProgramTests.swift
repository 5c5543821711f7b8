import Glibc
import Testing
@testable import SwatchCore

/// DevicePolicy=/DeviceAllow= (systemd.resource-control(5)): the keys as systemd parses them
/// (Units/DeviceAccessKeys.swift) and the BPF program they make (Sandbox/DeviceProgram.swift).
/// Whether the kernel enforces it: Integration.DeviceAccessTests.
@Suite struct DeviceProgramTests {
    private func service(_ lines: String) -> (ServiceUnit?, [String]) {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + lines)],
                                context: UnitSetTests.context, checkExecutables: false)
        return (set.services.values.first, set.diagnostics.map(\.description))
    }

    @Test func theKeysParseAsSystemdsAndAreNoLongerRefused() throws {
        let (unit, problems) = service("DevicePolicy=closed\nDeviceAllow=/dev/null rw\nDeviceAllow=char-pts\nDeviceAllow=block-loop m\n")
        #expect(problems == [])
        let sandbox = try #require(unit?.sandbox)
        #expect(sandbox.devicePolicy == .closed)
        #expect(sandbox.deviceAllow == [DeviceAllowEntry(specifier: "/dev/null", access: [.read, .write]),
                                        DeviceAllowEntry(specifier: "char-pts", access: .all),
                                        DeviceAllowEntry(specifier: "block-loop", access: .mknod)])
        // An empty assignment clears the list.
        #expect(service("DeviceAllow=/dev/null\nDeviceAllow=\n").0?.sandbox.deviceAllow == [])
    }

    @Test func badValuesRefuseTheUnit() {
        for bad in ["DevicePolicy=open", "DeviceAllow=/dev/null rx", "DeviceAllow=null rw", "DeviceAllow=char-", "DeviceAllow=/dev/null r w"] {
            let (unit, problems) = service(bad + "\n")
            #expect(unit == nil, "\(bad)")
            #expect(problems.contains { $0.contains("refusing the unit") }, "\(bad): \(problems)")
        }
    }

    /// /proc/devices as the kernel writes it.
    static let procDevices = """
        Character devices:
          1 mem
          5 /dev/tty
          5 /dev/console
        136 pts
        137 pts
        254 gpiochip

        Block devices:
          7 loop
        259 blkext

        """

    private func resolve(_ entry: DeviceAllowEntry) -> [DeviceRule] {
        let nodes: [String: (kind: DeviceRule.Kind, major: UInt32, minor: UInt32)] = [
            "/dev/null": (.character, 1, 3), "/dev/sda": (.block, 8, 0),
        ]
        return DeviceProgram.resolve(entry, status: { nodes[$0] }, devices: Self.procDevices)
    }

    @Test func entriesResolveToNodesAndDriverMajors() {
        #expect(resolve(DeviceAllowEntry(specifier: "/dev/null", access: .read)) == [DeviceRule(.character, 1, 3, .read)])
        #expect(resolve(DeviceAllowEntry(specifier: "/dev/sda", access: .all)) == [DeviceRule(.block, 8, 0, .all)])
        #expect(resolve(DeviceAllowEntry(specifier: "/dev/missing", access: .all)) == [])
        #expect(resolve(DeviceAllowEntry(specifier: "char-pts", access: .read))
            == [DeviceRule(.character, 136, nil, .read), DeviceRule(.character, 137, nil, .read)])
        #expect(resolve(DeviceAllowEntry(specifier: "block-loop", access: .all)) == [DeviceRule(.block, 7, nil, .all)])
        #expect(resolve(DeviceAllowEntry(specifier: "char-gpio*", access: .all)) == [DeviceRule(.character, 254, nil, .all)])
        #expect(resolve(DeviceAllowEntry(specifier: "char-loop", access: .all)) == [], "loop is a block driver")
    }

    /// Every spawn builds the rules; /proc/devices is read only for a `char-`/`block-` entry.
    @Test func procDevicesIsReadOnlyForDriverEntries() {
        var reads = 0
        func devices() -> String { reads += 1; return Self.procDevices }
        _ = DeviceProgram.resolve(DeviceAllowEntry(specifier: "/dev/null", access: .read), status: { _ in (.character, 1, 3) },
                                  devices: devices())
        #expect(reads == 0)
        _ = DeviceProgram.resolve(DeviceAllowEntry(specifier: "char-pts", access: .read), status: { _ in nil }, devices: devices())
        #expect(reads == 1)
    }

    @Test func thePolicyDecidesTheBaseRules() {
        var sandbox = Sandbox()
        #expect(DeviceProgram.rules(sandbox, resolve: resolve) == nil, "auto, nothing allowed: no program")
        sandbox.deviceAllow = [DeviceAllowEntry(specifier: "/dev/sda", access: .read)]
        let auto = DeviceProgram.rules(sandbox, resolve: resolve)
        // auto with an entry is closed: the pseudo devices, the pts majors, then the entry.
        #expect(auto == DeviceProgram.pseudoDevices + [DeviceRule(.character, 136, nil, [.read, .write]),
                                                       DeviceRule(.character, 137, nil, [.read, .write]),
                                                       DeviceRule(.block, 8, 0, .read)])
        sandbox.devicePolicy = .closed
        #expect(DeviceProgram.rules(sandbox, resolve: resolve) == auto)
        sandbox.devicePolicy = .strict
        #expect(DeviceProgram.rules(sandbox, resolve: resolve) == [DeviceRule(.block, 8, 0, .read)])
        sandbox.deviceAllow = []
        #expect(DeviceProgram.rules(sandbox, resolve: resolve) == [], "strict, nothing allowed: a program that denies all")
        #expect(DeviceProgram.directive(sandbox) == "DevicePolicy=")
    }

    /// systemd's program for `c 1:3 rw` (src/core/bpf-devices.c): the prologue, the rule's
    /// tests jumping past it, allow, and deny at the end.
    @Test func theProgramIsSystemds() {
        let program = DeviceProgram.instructions([DeviceRule(.character, 1, 3, [.read, .write])])
        typealias I = DeviceProgram.Instruction
        #expect(program == [
            I(code: 0x61, destination: 2, source: 1, offset: 0),  // r2 = access_type
            I(code: 0x54, destination: 2, immediate: 0xFFFF),     // r2 &= 0xFFFF: type
            I(code: 0x61, destination: 3, source: 1, offset: 0),  // r3 = access_type
            I(code: 0x74, destination: 3, immediate: 16),         // r3 >>= 16: access
            I(code: 0x61, destination: 4, source: 1, offset: 4),  // r4 = major
            I(code: 0x61, destination: 5, source: 1, offset: 8),  // r5 = minor
            I(code: 0xbc, destination: 1, source: 3),             // r1 = r3
            I(code: 0x54, destination: 1, immediate: 6),          // r1 &= READ|WRITE
            I(code: 0x5d, destination: 1, source: 3, offset: 5),  // asked more: skip the rule
            I(code: 0x55, destination: 2, offset: 4, immediate: 2),  // not a character device
            I(code: 0x55, destination: 4, offset: 3, immediate: 1),  // another major
            I(code: 0x55, destination: 5, offset: 2, immediate: 3),  // another minor
            I(code: 0xb7, destination: 0, immediate: 1), I(code: 0x95),  // allowed
            I(code: 0xb7, destination: 0, immediate: 0), I(code: 0x95),  // denied
        ])
        // Every access and any minor: only the type and the major are tested.
        let wide = DeviceProgram.instructions([DeviceRule(.block, 7, nil, .all)])
        #expect(wide.count == 6 + 4 + 2)
        #expect(wide[6] == I(code: 0x55, destination: 2, offset: 3, immediate: 1))
        // The bytes: opcode, registers (dst low nibble), offset and immediate little-endian.
        #expect(I(code: 0x55, destination: 5, source: 0, offset: 2, immediate: 0x0102_0304).bytes == [0x55, 0x05, 2, 0, 4, 3, 2, 1])
        #expect(I(code: 0x61, destination: 2, source: 1, offset: 8).bytes == [0x61, 0x12, 8, 0, 0, 0, 0, 0])
    }
}
