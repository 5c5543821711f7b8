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

    /// Attaches the unit's programs to the group `cgroup` (an fd of its directory; nil: none).
    /// Does nothing for a unit that asks for neither restriction.
    package static func attach(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) {
        try attachDeviceProgram(sandbox, to: cgroup)
        try attachIPFilter(sandbox, to: cgroup)
        try attachSocketBind(sandbox, to: cgroup)
    }

    /// One program per bind hook; none without a deny rule (allow rules alone allow everything).
    static func attachSocketBind(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) {
        guard !sandbox.socketBindDeny.isEmpty else { return }
        let directive = "SocketBindDeny="
        let group = try group(cgroup, directive: directive)
        for (family, hook) in [(AF_INET, SWATCH_BPF_CGROUP_INET4_BIND), (AF_INET6, SWATCH_BPF_CGROUP_INET6_BIND)] {
            let bytes = SocketBindProgram.bytes(family: family, allow: sandbox.socketBindAllow, deny: sandbox.socketBindDeny)
            let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_SOCK_ADDR, bytes, hook: hook, what: "socket bind", directive: directive)
            defer { close(program) }
            try attach(program, to: group, as: hook, what: "socket bind", directive: directive)
        }
    }

    static func attachDeviceProgram(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) {
        // Read at most once, and only for a unit with a device program: every spawn comes here.
        lazy var devices = (try? FileSystem.readText("/proc/devices")) ?? ""
        guard let rules = DeviceProgram.rules(sandbox, resolve: { DeviceProgram.resolve($0, status: node, devices: devices) })
        else { return }
        let directive = DeviceProgram.directive(sandbox)
        let group = try group(cgroup, directive: directive)
        let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_DEVICE, DeviceProgram.bytes(rules), what: "device", directive: directive)
        defer { close(program) }
        try attach(program, to: group, as: SWATCH_BPF_CGROUP_DEVICE, what: "device", directive: directive)
    }

    static func attachIPFilter(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) {
        let custom = [(hook: SWATCH_BPF_CGROUP_INET_INGRESS, directive: "IPIngressFilterPath=", paths: sandbox.ipIngressFilterPaths),
                      (hook: SWATCH_BPF_CGROUP_INET_EGRESS, directive: "IPEgressFilterPath=", paths: sandbox.ipEgressFilterPaths)]
        let multi = custom.contains { !$0.paths.isEmpty }
        guard multi || !sandbox.ipAddressAllow.isEmpty || !sandbox.ipAddressDeny.isEmpty
              || !sandbox.restrictNetworkInterfaces.isEmpty else { return }
        // IPIngressFilterPath=/IPEgressFilterPath=: programs pinned by someone else, beside swatchd's
        // own, so every one of them is attached with BPF_F_ALLOW_MULTI (all must pass a packet,
        // bpf(2)), after what an earlier start attached is detached: the group outlives a restart,
        // and programs so attached add up, where one attached without the flag replaces the last.
        if multi {
            let directive = custom.first { !$0.paths.isEmpty }!.directive
            let group = try group(cgroup, directive: directive)
            for hook in custom.map(\.hook) {
                let error = swatch_bpf_detach_all(group.rawValue, hook)
                guard error == 0 else {
                    throw .cgroupProgram(directive: directive,
                                         reason: "cannot detach the BPF programs of the service's cgroup: \(Errno(rawValue: error))")
                }
            }
            for (hook, directive, paths) in custom {
                for path in paths {
                    let program = swatch_bpf_obj_get(path)
                    guard program >= 0 else {
                        throw .cgroupProgram(directive: directive, reason: "cannot open the BPF program pinned at \(path): \(Errno(rawValue: -program))")
                    }
                    defer { close(program) }
                    try attach(program, to: group, as: hook, multi: true, what: "IP filter", directive: directive)
                }
            }
        }
        guard !sandbox.ipAddressAllow.isEmpty || !sandbox.ipAddressDeny.isEmpty || !sandbox.restrictNetworkInterfaces.isEmpty
        else { return }
        let directive = IPFilterProgram.directive(sandbox)
        let group = try group(cgroup, directive: directive)
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
        for (ingress, attachType) in [(true, SWATCH_BPF_CGROUP_INET_INGRESS), (false, SWATCH_BPF_CGROUP_INET_EGRESS)] {
            let bytes = IPFilterProgram.bytes(ingress: ingress, ipv4: ipv4, ipv6: ipv6, interfaces: interfaces)
            let program = try load(SWATCH_BPF_PROG_TYPE_CGROUP_SKB, bytes, what: "IP filter", directive: directive)
            defer { close(program) }
            try attach(program, to: group, as: attachType, multi: multi, what: "IP filter", directive: directive)
        }
    }

    private static func group(_ cgroup: FileDescriptor?, directive: String) throws(SandboxError) -> FileDescriptor {
        guard let cgroup else {
            throw .cgroupProgram(directive: directive, reason: "swatchd tracks the service without a cgroup2 group to attach a BPF program to (swatchd(8), PROCESS TRACKING)")
        }
        return cgroup
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

    private static func attach(_ program: CInt, to group: FileDescriptor, as attachType: CInt, multi: Bool = false,
                               what: String, directive: String) throws(SandboxError) {
        let error = swatch_bpf_attach(group.rawValue, program, attachType, multi ? 1 : 0)
        guard error == 0 else {
            throw .cgroupProgram(directive: directive, reason: "cannot attach a BPF \(what) program to the service's cgroup: \(Errno(rawValue: error))")
        }
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
