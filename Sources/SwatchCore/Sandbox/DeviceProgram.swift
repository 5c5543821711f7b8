import CSwatch
import Glibc

/// One device a service may use: a type, a major and a minor number (nil: any), and the access.
package struct DeviceRule: Hashable, Sendable {
    package enum Kind: Hashable, Sendable {
        case block, character
    }
    package var kind: Kind
    package var major: UInt32?
    package var minor: UInt32?
    package var access: DeviceAccessMask

    package init(_ kind: Kind, _ major: UInt32?, _ minor: UInt32?, _ access: DeviceAccessMask) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }
}

/// DevicePolicy= and DeviceAllow= (systemd.resource-control(5)) as a
/// BPF_PROG_TYPE_CGROUP_DEVICE program: the kernel runs it at each open or mknod of a
/// device node by a process of the service's cgroup (and of the groups below it), and
/// refuses with EPERM what it answers 0 to (<linux/bpf.h>, `struct bpf_cgroup_dev_ctx`;
/// systemd's src/core/bpf-devices.c, whose program this is). Pure: the machine (stat, /proc/devices)
/// comes in as parameters; Linux/CgroupPrograms.swift loads and attaches it.
package enum DeviceProgram {
    /// What `closed` allows besides DeviceAllow=, as systemd's
    /// bpf_devices_allow_list_static(): /dev/null (1:3), /dev/zero (1:5), /dev/full (1:7),
    /// /dev/random (1:8), /dev/urandom (1:9), /dev/tty (5:0), /dev/ptmx (5:2), with every
    /// access; and the pseudo-terminals (`char-pts`, below) for reading and writing. The
    /// numbers are the kernel's fixed ones (Documentation/admin-guide/devices.txt).
    package static let pseudoDevices: [DeviceRule] = [
        DeviceRule(.character, 1, 3, .all), DeviceRule(.character, 1, 5, .all), DeviceRule(.character, 1, 7, .all),
        DeviceRule(.character, 1, 8, .all), DeviceRule(.character, 1, 9, .all), DeviceRule(.character, 5, 0, .all),
        DeviceRule(.character, 5, 2, .all),
    ]
    package static let pseudoTerminals = DeviceAllowEntry(specifier: "char-pts", access: [.read, .write])

    /// The directive a failure names: DevicePolicy= when set, else DeviceAllow=.
    package static func directive(_ sandbox: Sandbox) -> String {
        sandbox.devicePolicy != .auto ? "DevicePolicy=" : "DeviceAllow="
    }

    /// The rules of a unit; nil: no program (`auto` without DeviceAllow=: every device).
    /// `resolve` turns one DeviceAllow= entry into rules (none: the device is not there,
    /// which allows nothing, as systemd skips it).
    package static func rules(_ sandbox: Sandbox, resolve: (DeviceAllowEntry) -> [DeviceRule]) -> [DeviceRule]? {
        if sandbox.devicePolicy == .auto && sandbox.deviceAllow.isEmpty { return nil }
        var rules: [DeviceRule] = []
        if sandbox.devicePolicy != .strict { rules = pseudoDevices + resolve(pseudoTerminals) }
        for entry in sandbox.deviceAllow { rules += resolve(entry) }
        return rules
    }

    /// One DeviceAllow= entry: a node's path by what `status` says of it (its type and
    /// device numbers; nil: missing, or not a device node), `char-NAME`/`block-NAME` by the
    /// majors /proc/devices (`devices`, its text, asked for only then) lists under that name
    /// (`fnmatch` glob).
    package static func resolve(_ entry: DeviceAllowEntry, status: (String) -> (kind: DeviceRule.Kind, major: UInt32, minor: UInt32)?,
                                devices: @autoclosure () -> String) -> [DeviceRule] {
        for (prefix, kind, section) in [("char-", DeviceRule.Kind.character, "Character devices:"),
                                        ("block-", DeviceRule.Kind.block, "Block devices:")]
        where entry.specifier.hasPrefix(prefix) {
            let pattern = String(entry.specifier.dropFirst(prefix.count))
            return majors(named: pattern, in: section, of: devices()).map { DeviceRule(kind, $0, nil, entry.access) }
        }
        guard let node = status(entry.specifier) else { return [] }
        return [DeviceRule(node.kind, node.major, node.minor, entry.access)]
    }

    /// The majors of /proc/devices' `section` whose driver name matches `pattern`.
    static func majors(named pattern: String, in section: String, of devices: String) -> [UInt32] {
        var inSection = false
        var found: [UInt32] = []
        for line in devices.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasSuffix(":") {
                inSection = line == section
                continue
            }
            guard inSection else { continue }
            let words = line.split(separator: " ")
            guard words.count == 2, let major = UInt32(words[0]) else { continue }
            if fnmatch(pattern, String(words[1]), 0) == 0, !found.contains(major) { found.append(major) }
        }
        return found
    }

    // MARK: - The program

    /// `struct bpf_insn` (<linux/bpf.h>): opcode, dst_reg in the low nibble and src_reg in the
    /// high one of the second byte, a 16-bit offset and a 32-bit immediate, little-endian
    /// (the only byte order swatchd is built for).
    struct Instruction: Equatable {
        var code: UInt8
        var destination: UInt8 = 0
        var source: UInt8 = 0
        var offset: Int16 = 0
        var immediate: Int32 = 0

        var bytes: [UInt8] {
            let off = UInt16(bitPattern: offset), imm = UInt32(bitPattern: immediate)
            return [code, destination | source << 4, UInt8(off & 0xFF), UInt8(off >> 8),
                    UInt8(imm & 0xFF), UInt8(imm >> 8 & 0xFF), UInt8(imm >> 16 & 0xFF), UInt8(imm >> 24)]
        }
    }

    // The opcodes used (<linux/bpf_common.h>, <linux/bpf.h>).
    static let loadWord: UInt8 = 0x61        // BPF_LDX | BPF_MEM | BPF_W
    static let and32Immediate: UInt8 = 0x54  // BPF_ALU | BPF_AND | BPF_K
    static let rightShift32Immediate: UInt8 = 0x74  // BPF_ALU | BPF_RSH | BPF_K
    static let move32Register: UInt8 = 0xbc  // BPF_ALU | BPF_MOV | BPF_X
    static let move64Immediate: UInt8 = 0xb7  // BPF_ALU64 | BPF_MOV | BPF_K
    static let jumpNotEqualImmediate: UInt8 = 0x55  // BPF_JMP | BPF_JNE | BPF_K
    static let jumpNotEqualRegister: UInt8 = 0x5d  // BPF_JMP | BPF_JNE | BPF_X
    static let jumpAlways: UInt8 = 0x05            // BPF_JMP | BPF_JA
    static let exit: UInt8 = 0x95            // BPF_JMP | BPF_EXIT

    /// The BPF access bits of a mask (BPF_DEVCG_ACC_*).
    static func bpfAccess(_ access: DeviceAccessMask) -> Int32 {
        (access.contains(.read) ? SWATCH_BPF_DEVCG_ACC_READ : 0) | (access.contains(.write) ? SWATCH_BPF_DEVCG_ACC_WRITE : 0)
            | (access.contains(.mknod) ? SWATCH_BPF_DEVCG_ACC_MKNOD : 0)
    }

    /// The program, as systemd's bpf-devices.c writes it: the context (`struct
    /// bpf_cgroup_dev_ctx`: access_type = access << 16 | type, major, minor) into r2 (type),
    /// r3 (access), r4 (major), r5 (minor); then per rule a test that jumps past the rule on
    /// the first mismatch — the access asked not within the rule's, another type, major or
    /// minor — and otherwise returns 1 (allowed); 0 (EPERM) after the last rule.
    static func instructions(_ rules: [DeviceRule]) -> [Instruction] {
        var program: [Instruction] = [
            Instruction(code: loadWord, destination: 2, source: 1, offset: 0),
            Instruction(code: and32Immediate, destination: 2, immediate: 0xFFFF),
            Instruction(code: loadWord, destination: 3, source: 1, offset: 0),
            Instruction(code: rightShift32Immediate, destination: 3, immediate: 16),
            Instruction(code: loadWord, destination: 4, source: 1, offset: 4),
            Instruction(code: loadWord, destination: 5, source: 1, offset: 8),
        ]
        for rule in rules {
            // The tests, each with the jump offset filled in once the block's length is known.
            var tests: [Instruction] = []
            if rule.access != .all {
                tests.append(Instruction(code: move32Register, destination: 1, source: 3))
                tests.append(Instruction(code: and32Immediate, destination: 1, immediate: bpfAccess(rule.access)))
                tests.append(Instruction(code: jumpNotEqualRegister, destination: 1, source: 3))
            }
            let type = rule.kind == .block ? SWATCH_BPF_DEVCG_DEV_BLOCK : SWATCH_BPF_DEVCG_DEV_CHAR
            tests.append(Instruction(code: jumpNotEqualImmediate, destination: 2, immediate: type))
            if let major = rule.major { tests.append(Instruction(code: jumpNotEqualImmediate, destination: 4, immediate: Int32(major))) }
            if let minor = rule.minor { tests.append(Instruction(code: jumpNotEqualImmediate, destination: 5, immediate: Int32(minor))) }
            let block = tests + [Instruction(code: move64Immediate, destination: 0, immediate: 1), Instruction(code: exit)]
            for (index, var instruction) in block.enumerated() {
                if instruction.code == jumpNotEqualImmediate || instruction.code == jumpNotEqualRegister {
                    instruction.offset = Int16(block.count - index - 1)
                }
                program.append(instruction)
            }
        }
        program += [Instruction(code: move64Immediate, destination: 0, immediate: 0), Instruction(code: exit)]
        return program
    }

    /// The program's bytes, as bpf(BPF_PROG_LOAD) takes them.
    package static func bytes(_ rules: [DeviceRule]) -> [UInt8] { instructions(rules).flatMap(\.bytes) }
}
