import CSwatch
import Glibc

/// SocketBindAllow= and SocketBindDeny= (systemd.resource-control(5)) as two
/// BPF_PROG_TYPE_CGROUP_SOCK_ADDR programs, attached to the cgroup/bind4 and cgroup/bind6
/// hooks of the service's group: the kernel runs them at each bind(2) of an IPv4 or IPv6
/// socket there and fails with EPERM what they answer 0 to. The decision is systemd's
/// (src/core/bpf/socket_bind/socket-bind.bpf.c): an address that matches an allow rule may be
/// bound, else one that matches a deny rule may not, else it may. Pure; Linux/CgroupPrograms.swift
/// loads and attaches them.
package enum SocketBindProgram {
    typealias Instruction = DeviceProgram.Instruction

    // Opcodes besides DeviceProgram's (<linux/bpf_common.h>, <linux/bpf.h>).
    static let jumpGreaterImmediate: UInt8 = 0x25  // BPF_JMP | BPF_JGT | BPF_K
    static let jumpLessImmediate: UInt8 = 0xa5     // BPF_JMP | BPF_JLT | BPF_K
    static let toBigEndian: UInt8 = 0xdc           // BPF_ALU | BPF_END | BPF_TO_BE

    /// The program of one hook, `family` AF_INET (bind4) or AF_INET6 (bind6). The context,
    /// `struct bpf_sock_addr`, into r2 (user_family), r3 (family), r4 (protocol) and r5 (the
    /// port, host order: user_port holds it in network order); a bind of another family
    /// passes. Then per rule of that family a test that jumps past the rule on the first
    /// mismatch and otherwise to the verdict of its list; after the last, 1. (A rule of the
    /// other family is left out: here it could match nothing.)
    static func instructions(family: Int32, allow: [SocketBindRule], deny: [SocketBindRule]) -> [Instruction] {
        var program: [Instruction] = [
            Instruction(code: DeviceProgram.loadWord, destination: 2, source: 1, offset: 0),
            Instruction(code: DeviceProgram.loadWord, destination: 3, source: 1, offset: 28),
            Instruction(code: DeviceProgram.loadWord, destination: 4, source: 1, offset: 36),
            Instruction(code: DeviceProgram.loadWord, destination: 5, source: 1, offset: 24),
            Instruction(code: toBigEndian, destination: 5, immediate: 16),
        ]
        // The jumps to a verdict, patched once the verdicts' places are known.
        var toVerdict: [(index: Int, allows: Bool)] = []
        toVerdict.append((program.count, true))
        program.append(Instruction(code: DeviceProgram.jumpNotEqualImmediate, destination: 2, immediate: family))
        toVerdict.append((program.count, true))
        program.append(Instruction(code: DeviceProgram.jumpNotEqualImmediate, destination: 3, immediate: family))
        for (rules, allows) in [(allow, true), (deny, false)] {
            for rule in rules where rule.family == nil || rule.family == family {
                var tests: [Instruction] = []
                if let transport = rule.transport {
                    tests.append(Instruction(code: DeviceProgram.jumpNotEqualImmediate, destination: 4, immediate: transport))
                }
                if let ports = rule.ports {
                    tests.append(Instruction(code: jumpLessImmediate, destination: 5, immediate: Int32(ports.lowerBound)))
                    tests.append(Instruction(code: jumpGreaterImmediate, destination: 5, immediate: Int32(ports.upperBound)))
                }
                // Past the rule: over the rest of the tests and the jump to the verdict.
                for (index, var test) in tests.enumerated() {
                    test.offset = Int16(tests.count - index)
                    program.append(test)
                }
                toVerdict.append((program.count, allows))
                program.append(Instruction(code: DeviceProgram.jumpAlways))
            }
        }
        let allowed = program.count
        program += [Instruction(code: DeviceProgram.move64Immediate, destination: 0, immediate: 1), Instruction(code: DeviceProgram.exit)]
        // Only when a rule leads there: the verifier refuses a program with an instruction no path reaches.
        let denied = program.count
        if toVerdict.contains(where: { !$0.allows }) {
            program += [Instruction(code: DeviceProgram.move64Immediate, destination: 0, immediate: 0), Instruction(code: DeviceProgram.exit)]
        }
        for (index, allows) in toVerdict { program[index].offset = Int16((allows ? allowed : denied) - index - 1) }
        return program
    }

    /// The program's bytes, as bpf(BPF_PROG_LOAD) takes them.
    package static func bytes(family: Int32, allow: [SocketBindRule], deny: [SocketBindRule]) -> [UInt8] {
        instructions(family: family, allow: allow, deny: deny).flatMap(\.bytes)
    }
}
