import CSwatch
import Glibc
import SystemPackage

/// Puts the cgroup BPF programs of DevicePolicy=/DeviceAllow= (Sandbox/DeviceProgram.swift),
/// IPAddressAllow=/IPAddressDeny= and RestrictNetworkInterfaces= (Sandbox/IPFilterProgram.swift), the
/// pinned ones of IPIngressFilterPath=/IPEgressFilterPath=, and
/// SocketBindAllow=/SocketBindDeny= (Sandbox/SocketBindProgram.swift) on a service's cgroup2
/// group before anything of the service runs there. These keys take access away, so where
/// that cannot be done — no cgroup2 group (session tracking), bpf(2) not permitted (swatchd
/// not root), a kernel without these programs — the start fails naming the directive
/// (swatchd.service(5), "RESOURCE CONTROL"). Attached, a program (and its maps) lives with the
/// group: swatchd keeps no fd of it.
package enum CgroupPrograms {
    /// Whether the unit asks for a program at all.
    package static func asks(_ sandbox: Sandbox) -> Bool {
        sandbox.devicePolicy != .auto || !sandbox.deviceAllow.isEmpty
            || !sandbox.ipAddressAllow.isEmpty || !sandbox.ipAddressDeny.isEmpty || !sandbox.socketBindDeny.isEmpty
            || !sandbox.restrictNetworkInterfaces.isEmpty || !sandbox.ipIngressFilterPaths.isEmpty
            || !sandbox.ipEgressFilterPaths.isEmpty
    }

    /// The hooks swatchd puts programs on.
    static let hooks = [SWATCH_BPF_CGROUP_DEVICE, SWATCH_BPF_CGROUP_INET_INGRESS, SWATCH_BPF_CGROUP_INET_EGRESS,
                        SWATCH_BPF_CGROUP_INET4_BIND, SWATCH_BPF_CGROUP_INET6_BIND]

    /// Programs loaded for one start, by hook, with the directive a failure names.
    typealias Loaded = [CInt: (directive: String, fds: [CInt])]

    /// Makes the unit's programs those of the group `cgroup` (an fd of its directory; nil:
    /// none), hook by hook: what an earlier start attached is detached once the new ones
    /// are on, and where the unit now asks for none (a reload took the directive away) it
    /// is detached for good. Returns whether the group carries programs.
    @discardableResult
    package static func attach(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) -> Bool {
        var programs = Loaded()
        defer { for fd in programs.values.flatMap(\.fds) { close(fd) } }
        try loadDeviceProgram(sandbox, for: cgroup, into: &programs)
        try loadIPFilter(sandbox, for: cgroup, into: &programs)
        try loadSocketBind(sandbox, for: cgroup, into: &programs)
        // Without a group the loaders threw for a unit that asks for a program.
        guard let cgroup else { return false }
        var carries = false
        for hook in hooks {
            let wanted = programs[hook]
            let error = (wanted?.fds ?? []).withUnsafeBufferPointer {
                swatch_bpf_replace(cgroup.rawValue, hook, $0.baseAddress, CInt($0.count))
            }
            if let wanted, error != 0 {
                throw .cgroupProgram(directive: wanted.directive,
                                     reason: "cannot attach a BPF program to the service's cgroup: \(Errno(rawValue: error))")
            }
            // Left where the unit no longer asks for one, an earlier program takes away more,
            // never less. Where bpf(2) may not be used (EPERM: not root) or the kernel lacks the
            // hook (EINVAL), no program can have been attached either.
            carries = carries || wanted != nil || error != 0 && error != EPERM && error != EINVAL
        }
        return carries
    }

    /// One program per bind hook; none without a deny rule (allow rules alone allow everything).
    static func loadSocketBind(_ sandbox: Sandbox, for cgroup: FileDescriptor?, into programs: inout Loaded) throws(SandboxError) {
        guard !sandbox.socketBindDeny.isEmpty else { return }
        let directive = "SocketBindDeny="
        try requireGroup(cgroup, directive: directive)
        for (family, hook) in [(AF_INET, SWATCH_BPF_CGROUP_INET4_BIND), (AF_INET6, SWATCH_BPF_CGROUP_INET6_BIND)] {
            let bytes = SocketBindProgram.bytes(family: family, allow: sandbox.socketBindAllow, deny: sandbox.socketBindDeny)
            let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_SOCK_ADDR, bytes, hook: hook, what: "socket bind", directive: directive)
            programs[hook] = (directive, [program])
        }
    }

    static func loadDeviceProgram(_ sandbox: Sandbox, for cgroup: FileDescriptor?, into programs: inout Loaded) throws(SandboxError) {
        // Read at most once, and only for a unit with a device program.
        lazy var devices = (try? FileSystem.readText("/proc/devices")) ?? ""
        guard let rules = DeviceProgram.rules(sandbox, resolve: { DeviceProgram.resolve($0, status: node, devices: devices) })
        else { return }
        let directive = DeviceProgram.directive(sandbox)
        try requireGroup(cgroup, directive: directive)
        let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_DEVICE, DeviceProgram.bytes(rules), what: "device", directive: directive)
        programs[SWATCH_BPF_CGROUP_DEVICE] = (directive, [program])
    }

    /// IPAddressAllow=/IPAddressDeny= and RestrictNetworkInterfaces= in one program per direction,
    /// beside the programs pinned by someone else (IPIngressFilterPath=/IPEgressFilterPath=):
    /// every one of them must pass a packet (bpf(2), BPF_F_ALLOW_MULTI).
    static func loadIPFilter(_ sandbox: Sandbox, for cgroup: FileDescriptor?, into programs: inout Loaded) throws(SandboxError) {
        for (hook, directive, paths) in [(SWATCH_BPF_CGROUP_INET_INGRESS, "IPIngressFilterPath=", sandbox.ipIngressFilterPaths),
                                         (SWATCH_BPF_CGROUP_INET_EGRESS, "IPEgressFilterPath=", sandbox.ipEgressFilterPaths)] {
            if !paths.isEmpty { try requireGroup(cgroup, directive: directive) }
            for path in paths {
                let program = swatch_bpf_obj_get(path)
                guard program >= 0 else {
                    throw .cgroupProgram(directive: directive, reason: "cannot open the BPF program pinned at \(path): \(Errno(rawValue: -program))")
                }
                programs[hook, default: (directive, [])].fds.append(program)
            }
        }
        guard !sandbox.ipAddressAllow.isEmpty || !sandbox.ipAddressDeny.isEmpty || !sandbox.restrictNetworkInterfaces.isEmpty
        else { return }
        let directive = IPFilterProgram.directive(sandbox)
        try requireGroup(cgroup, directive: directive)
        var maps: [CInt] = []
        defer { for map in maps { close(map) } }
        /// One LPM trie of the prefixes of one family; nil: it has none.
        func trie(_ prefixes: [IPPrefix], ipv6: Bool) throws(SandboxError) -> Int32? {
            let selected = prefixes.filter { $0.isIPv6 == ipv6 }
            guard !selected.isEmpty else { return nil }
            let map = swatch_bpf_create_lpm_trie(ipv6 ? 20 : 8, CInt(selected.count))
            guard map >= 0 else {
                throw .cgroupProgram(directive: directive, reason: "cannot create a BPF map of addresses: \(Errno(rawValue: -map))")
            }
            maps.append(map)
            var value = [UInt8](repeating: 1, count: 8)
            for prefix in selected {
                let key = IPFilterProgram.key(prefix)
                let error = key.withUnsafeBytes { key in value.withUnsafeMutableBytes { swatch_bpf_map_update(map, key.baseAddress!, $0.baseAddress!) } }
                guard error == 0 else {
                    throw .cgroupProgram(directive: directive, reason: "cannot add \(prefix) to a BPF map: \(Errno(rawValue: error))")
                }
            }
            return map
        }
        let ipv4 = IPFilterProgram.Maps(allow: try trie(sandbox.ipAddressAllow, ipv6: false), deny: try trie(sandbox.ipAddressDeny, ipv6: false))
        let ipv6 = IPFilterProgram.Maps(allow: try trie(sandbox.ipAddressAllow, ipv6: true), deny: try trie(sandbox.ipAddressDeny, ipv6: true))
        // RestrictNetworkInterfaces=: the indices of the names that exist now, in swatchd's
        // network namespace; a name of none is left out, as systemd leaves it.
        var interfaces: IPFilterProgram.Interfaces?
        if !sandbox.restrictNetworkInterfaces.isEmpty {
            let indices = sandbox.restrictNetworkInterfaces.map { Int32(bitPattern: if_nametoindex($0)) }.filter { $0 != 0 }
            if sandbox.networkInterfacesAllowed || !indices.isEmpty {
                interfaces = IPFilterProgram.Interfaces(indices: indices, allowed: sandbox.networkInterfacesAllowed)
            }
        }
        for (ingress, hook) in [(true, SWATCH_BPF_CGROUP_INET_INGRESS), (false, SWATCH_BPF_CGROUP_INET_EGRESS)] {
            let bytes = IPFilterProgram.bytes(ingress: ingress, ipv4: ipv4, ipv6: ipv6, interfaces: interfaces)
            let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_SKB, bytes, what: "IP filter", directive: directive)
            // Ours first: a failure to attach names its directive.
            programs[hook] = (directive, [program] + (programs[hook]?.fds ?? []))
        }
    }

    /// Checked before a program is loaded, so that a start without a group names that, not bpf(2).
    private static func requireGroup(_ cgroup: FileDescriptor?, directive: String) throws(SandboxError) {
        guard cgroup != nil else {
            throw .cgroupProgram(directive: directive, reason: "swatchd tracks the service without a cgroup2 group to attach a BPF program to (swatchd(8), PROCESS TRACKING)")
        }
    }

    /// Loads a program; a refusal of the verifier comes with the first line of its log.
    private static func load(_ type: CInt, _ bytes: [UInt8], hook: CInt = 0, what: String,
                             directive: String) throws(SandboxError) -> CInt {
        let count = CInt(bytes.count / 8)
        let program = bytes.withUnsafeBytes { swatch_bpf_load_program(type, hook, $0.baseAddress!, count, nil, 0) }
        guard program < 0 else { return program }
        var reason = "cannot load a BPF \(what) program: \(Errno(rawValue: -program))"
        if -program == EINVAL || -program == EACCES {
            var log = [CChar](repeating: 0, count: 1 << 16)
            let again = bytes.withUnsafeBytes { swatch_bpf_load_program(type, hook, $0.baseAddress!, count, &log, UInt32(log.count)) }
            if again >= 0 { close(again) }
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let last = text.split(separator: "\n").last(where: { !$0.isEmpty }) { reason += " (\(last))" }
        }
        throw .cgroupProgram(directive: directive, reason: reason)
    }

    /// A device node's type and numbers (stat(2), following links as /dev/char/1:3 is one).
    static func node(_ path: String) -> (kind: DeviceRule.Kind, major: UInt32, minor: UInt32)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let kind: DeviceRule.Kind
        switch info.st_mode & S_IFMT {
        case S_IFCHR: kind = .character
        case S_IFBLK: kind = .block
        default: return nil
        }
        // gnu_dev_major()/gnu_dev_minor() of <sys/sysmacros.h>.
        let device = UInt64(info.st_rdev)
        let major = UInt32(truncatingIfNeeded: (device >> 8) & 0xFFF | (device >> 32) & ~0xFFF)
        let minor = UInt32(truncatingIfNeeded: device & 0xFF | (device >> 12) & ~0xFF)
        return (kind, major, minor)
    }
}
