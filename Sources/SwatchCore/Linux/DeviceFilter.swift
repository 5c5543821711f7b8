import CSwatch
import Glibc
import SystemPackage

/// Puts the DevicePolicy=/DeviceAllow= program (Sandbox/DeviceProgram.swift) on a service's
/// cgroup2 group before anything of the service runs there. These keys take access away,
/// so where that cannot be done — no cgroup2 group (session tracking), bpf(2) not
/// permitted (swatchd not root), a kernel without cgroup device programs — the start
/// fails naming the directive (swatchd.service(5), "RESOURCE CONTROL").
package enum DeviceFilter {
    /// Attaches the unit's program to the group `cgroup` (an fd of its directory; nil: none).
    /// Does nothing when the unit asks for no restriction.
    package static func attach(_ sandbox: Sandbox, to cgroup: FileDescriptor?) throws(SandboxError) {
        let devices = (try? FileSystem.readText("/proc/devices")) ?? ""
        guard let rules = DeviceProgram.rules(sandbox, resolve: { DeviceProgram.resolve($0, status: node, devices: devices) })
        else { return }
        let directive = DeviceProgram.directive(sandbox)
        guard let cgroup else {
            throw .deviceProgram(directive: directive, reason: "swatchd tracks the service without a cgroup2 group to attach a device program to (swatchd(8), PROCESS TRACKING)")
        }
        let bytes = DeviceProgram.bytes(rules)
        let program = bytes.withUnsafeBytes { swatch_bpf_load_cgroup_device($0.baseAddress!, CInt(bytes.count / 8)) }
        guard program >= 0 else {
            throw .deviceProgram(directive: directive, reason: "cannot load a BPF device program: \(Errno(rawValue: -program))")
        }
        // Attached, the program lives with the group: swatchd keeps no fd of it.
        defer { close(program) }
        let error = swatch_bpf_attach_cgroup_device(cgroup.rawValue, program)
        guard error == 0 else {
            throw .deviceProgram(directive: directive, reason: "cannot attach a BPF device program to the service's cgroup: \(Errno(rawValue: error))")
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
