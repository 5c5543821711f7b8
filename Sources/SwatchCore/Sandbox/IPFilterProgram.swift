import CSwatch

/// IPAddressAllow= and IPAddressDeny= (systemd.resource-control(5)) as two
/// BPF_PROG_TYPE_CGROUP_SKB programs, one for the packets the service's sockets receive
/// (ingress: the source address is checked) and one for those they send (egress: the
/// destination), each looking the address up in LPM-trie maps of the prefixes, as systemd's
/// src/core/bpf-firewall.c does: a packet passes when its address is in an allow prefix, is
/// dropped when it is in a deny prefix, and passes otherwise. RestrictNetworkInterfaces= is
/// tested in the same programs, first (`instructions`). Pure: the maps come in as fds;
/// Linux/CgroupPrograms.swift makes them and loads and attaches the programs.
package enum IPFilterProgram {
    typealias Instruction = DeviceProgram.Instruction

    /// The map fds of one address family; nil: that list has no prefix of the family.
    package struct Maps: Equatable, Sendable {
        package var allow: Int32?
        package var deny: Int32?
        package init(allow: Int32? = nil, deny: Int32? = nil) {
            self.allow = allow
            self.deny = deny
        }
        var isEmpty: Bool { allow == nil && deny == nil }
    }

    /// RestrictNetworkInterfaces= resolved: the interface indices (those of the names that
    /// exist), and whether they are the ones allowed.
    package struct Interfaces: Equatable, Sendable {
        package var indices: [Int32]
        package var allowed: Bool
        package init(indices: [Int32], allowed: Bool) {
            self.indices = indices
            self.allowed = allowed
        }
    }

    /// The directive a failure names.
    package static func directive(_ sandbox: Sandbox) -> String {
        !sandbox.ipAddressDeny.isEmpty ? "IPAddressDeny=" : !sandbox.ipAddressAllow.isEmpty ? "IPAddressAllow="
            : "RestrictNetworkInterfaces="
    }

    /// A map key: the prefix length (32 bits, host order) and the address (an LPM trie's
    /// `struct bpf_lpm_trie_key`).
    package static func key(_ prefix: IPPrefix) -> [UInt8] {
        let length = UInt32(prefix.length)
        return [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)] + prefix.address
    }

    // Opcodes besides DeviceProgram's (<linux/bpf_common.h>, <linux/bpf.h>).
    static let move64Register: UInt8 = 0xbf     // BPF_ALU64 | BPF_MOV | BPF_X
    static let add64Immediate: UInt8 = 0x07     // BPF_ALU64 | BPF_ADD | BPF_K
    static let storeWordImmediate: UInt8 = 0x62  // BPF_ST | BPF_MEM | BPF_W
    static let loadImmediate64: UInt8 = 0x18    // BPF_LD | BPF_IMM | BPF_DW (two slots)
    static let call: UInt8 = 0x85               // BPF_JMP | BPF_CALL
    static let jumpEqualImmediate: UInt8 = 0x15  // BPF_JMP | BPF_JEQ | BPF_K

    /// The program of one direction. r6 holds the context (`struct __sk_buff`), r7 the
    /// verdict (1: pass, the default); per family with maps: when `protocol` is the family's
    /// EtherType, the address is copied from the IP header (bpf_skb_load_bytes: the data
    /// of a cgroup skb starts there) behind its prefix length on the stack, then looked up in
    /// the deny map (found: 0) and in the allow map (found: 1).
    ///
    /// RestrictNetworkInterfaces= goes first, as systemd's restrict-ifaces.bpf.c decides it on
    /// `ifindex` (the device the packet came in on or goes out by): a packet on an interface
    /// that is not allowed is dropped whatever its address. systemd attaches it as a program of
    /// its own beside the firewall's, and a packet must pass both; here it is one program.
    static func instructions(ingress: Bool, ipv4: Maps, ipv6: Maps, interfaces: Interfaces? = nil) -> [Instruction] {
        var program: [Instruction] = [
            Instruction(code: move64Register, destination: 6, source: 1),
            Instruction(code: DeviceProgram.move64Immediate, destination: 7, immediate: 1),
        ]
        let drop = [Instruction(code: DeviceProgram.move64Immediate, destination: 0, immediate: 0), Instruction(code: DeviceProgram.exit)]
        if let interfaces {
            // An allow list of no interface that exists drops everything: nothing after it is
            // reached, and the verifier refuses unreachable instructions.
            if interfaces.allowed && interfaces.indices.isEmpty { return drop }
            // r2 = ifindex; a listed one jumps past the drop (allow list) or to it (deny list,
            // where the other interfaces jump over it).
            program.append(Instruction(code: DeviceProgram.loadWord, destination: 2, source: 6,
                                       offset: Int16(SWATCH_SKB_IFINDEX_OFFSET)))
            let count = interfaces.indices.count
            for (position, index) in interfaces.indices.enumerated() {
                let rest = count - position - 1
                program.append(Instruction(code: jumpEqualImmediate, destination: 2,
                                           offset: Int16(interfaces.allowed ? rest + 2 : rest + 1), immediate: index))
            }
            if !interfaces.allowed { program.append(Instruction(code: DeviceProgram.jumpAlways, offset: 2)) }
            program += drop
        }
        // (EtherType, byte order of __sk_buff.protocol: network; the address's offset in
        // the header; its size; where the key starts on the stack.)
        let families: [(Maps, Int32, Int32, Int32, Int16)] = [
            (ipv4, 0x0008 /* htons(ETH_P_IP) */, ingress ? 12 : 16, 4, -8),
            (ipv6, 0xDD86 /* htons(ETH_P_IPV6) */, ingress ? 8 : 24, 16, -20),
        ]
        for (maps, etherType, offset, size, keyStart) in families where !maps.isEmpty {
            var block: [Instruction] = [
                Instruction(code: DeviceProgram.loadWord, destination: 0, source: 6, offset: Int16(SWATCH_SKB_PROTOCOL_OFFSET)),
                Instruction(code: DeviceProgram.jumpNotEqualImmediate, destination: 0, immediate: etherType),
                // bpf_skb_load_bytes(skb, offset, stack + keyStart + 4, size)
                Instruction(code: move64Register, destination: 1, source: 6),
                Instruction(code: DeviceProgram.move64Immediate, destination: 2, immediate: offset),
                Instruction(code: move64Register, destination: 3, source: 10),
                Instruction(code: add64Immediate, destination: 3, immediate: Int32(keyStart) + 4),
                Instruction(code: DeviceProgram.move64Immediate, destination: 4, immediate: size),
                Instruction(code: call, immediate: SWATCH_BPF_FUNC_SKB_LOAD_BYTES),
                Instruction(code: DeviceProgram.jumpNotEqualImmediate, destination: 0, immediate: 0),
                // The prefix length in front of the address: the whole address.
                Instruction(code: storeWordImmediate, destination: 10, offset: keyStart, immediate: size * 8),
            ]
            for (map, verdict) in [(maps.deny, Int32(0)), (maps.allow, Int32(1))] {
                guard let map else { continue }
                block += [
                    Instruction(code: loadImmediate64, destination: 1, source: UInt8(SWATCH_BPF_PSEUDO_MAP_FD), immediate: map),
                    Instruction(code: 0),
                    Instruction(code: move64Register, destination: 2, source: 10),
                    Instruction(code: add64Immediate, destination: 2, immediate: Int32(keyStart)),
                    Instruction(code: call, immediate: SWATCH_BPF_FUNC_MAP_LOOKUP_ELEM),
                    Instruction(code: jumpEqualImmediate, destination: 0, offset: 1, immediate: 0),
                    Instruction(code: DeviceProgram.move64Immediate, destination: 7, immediate: verdict),
                ]
            }
            // The two jumps out of the block (another family, a load that failed) go past its end.
            for (index, var instruction) in block.enumerated() {
                if instruction.code == DeviceProgram.jumpNotEqualImmediate { instruction.offset = Int16(block.count - index - 1) }
                program.append(instruction)
            }
        }
        program += [
            Instruction(code: move64Register, destination: 0, source: 7),
            Instruction(code: DeviceProgram.exit),
        ]
        return program
    }

    /// The program's bytes, as bpf(BPF_PROG_LOAD) takes them.
    package static func bytes(ingress: Bool, ipv4: Maps, ipv6: Maps, interfaces: Interfaces? = nil) -> [UInt8] {
        instructions(ingress: ingress, ipv4: ipv4, ipv6: ipv6, interfaces: interfaces).flatMap(\.bytes)
    }
}
