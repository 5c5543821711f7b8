import Glibc

/// The capability arithmetic of CapabilityBoundingSet=, AmbientCapabilities= and
/// PrivateDevices= (systemd.exec(5) "CAPABILITIES"; capabilities(7)). Pure: the
/// running kernel's last capability is passed in.
package enum Capabilities {
    /// CAP_SYS_RAWIO (17): PrivateDevices= drops it.
    package static let systemRawIO: Int32 = 17
    /// CAP_SYS_ADMIN (21).
    package static let systemAdmin: Int32 = 21
    /// CAP_MKNOD (27): PrivateDevices= drops it.
    package static let makeNode: Int32 = 27

    /// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
    /// Unreadable, it fails the start: a guess below the kernel's would leave the
    /// capabilities above it in the bounding set.
    package static func lastCapability(path: String = "/proc/sys/kernel/cap_last_cap",
                                       directive: String = "CapabilityBoundingSet=") throws(SandboxError) -> Int32 {
        let text: String
        do { text = try FileSystem.readText(path) } catch {
            throw .machineUnreadable(directive: directive, path: path, reason: "\(error)")
        }
        guard let value = Int32(text.trimmingWhitespace()), (0...63).contains(value) else {
            throw .machineUnreadable(directive: directive, path: path, reason: "not a capability number")
        }
        return value
    }

    /// CAP_SYS_MODULE (16), CAP_SYS_TIME (25), CAP_SYSLOG (34), CAP_WAKE_ALARM (35).
    package static let systemModule: Int32 = 16
    package static let systemTime: Int32 = 25
    package static let syslog: Int32 = 34
    package static let wakeAlarm: Int32 = 35

    /// What the Protect*= keys take from the bounding set (systemd.exec(5):
    /// ProtectKernelModules= CAP_SYS_MODULE, ProtectKernelLogs= CAP_SYSLOG,
    /// ProtectClock= CAP_SYS_TIME and CAP_WAKE_ALARM).
    package static func protectionDrops(of sandbox: Sandbox) -> [(capability: Int32, directive: String)] {
        var drops: [(Int32, String)] = []
        if sandbox.protectKernelModules { drops.append((systemModule, "ProtectKernelModules=")) }
        if sandbox.protectKernelLogs { drops.append((syslog, "ProtectKernelLogs=")) }
        if sandbox.protectClock { drops += [(systemTime, "ProtectClock="), (wakeAlarm, "ProtectClock=")] }
        return drops
    }

    /// The directive a bounding-set drop of `capability` serves.
    package static func directive(dropping capability: Int32, sandbox: Sandbox) -> String {
        if let set = sandbox.capabilityBoundingSet, set.bits & (UInt64(1) << UInt64(capability)) == 0 {
            return "CapabilityBoundingSet="
        }
        if sandbox.privateDevices, capability == makeNode || capability == systemRawIO { return "PrivateDevices=" }
        if let drop = protectionDrops(of: sandbox).first(where: { $0.capability == capability }) { return drop.directive }
        return sandbox.capabilityBoundingSet == nil ? "PrivateDevices=" : "CapabilityBoundingSet="
    }

    /// Whether the plan drops anything from the bounding set (and so must know the last capability).
    package static func dropsAny(_ sandbox: Sandbox) -> Bool {
        sandbox.capabilityBoundingSet != nil || sandbox.privateDevices || !protectionDrops(of: sandbox).isEmpty
            || sandbox.ambientCapabilities != nil
    }

    /// What the service's bounding set keeps: CapabilityBoundingSet= (all when
    /// unset), without CAP_MKNOD and CAP_SYS_RAWIO under PrivateDevices=, as
    /// systemd documents for PrivateDevices=.
    package static func bounding(requested: CapabilitySet?, privateDevices: Bool) -> UInt64 {
        // Unset: every capability, including any a newer kernel adds after CapabilitySet.all.
        var bits = requested?.bits ?? .max
        if privateDevices { bits &= ~(UInt64(1) << makeNode | UInt64(1) << systemRawIO) }
        return bits
    }

    /// The capabilities to drop from the bounding set (PR_CAPBSET_DROP), in
    /// increasing order: those of 0...`last` not in `keep`.
    package static func drops(keeping keep: UInt64, last: Int32) -> [Int32] {
        (0...last).filter { keep & (UInt64(1) << UInt64($0)) == 0 }
    }

    /// AmbientCapabilities= as it can be granted: only what the bounding set
    /// keeps (a capability outside it cannot be raised, capabilities(7)), and
    /// only numbers the kernel knows.
    package static func ambient(requested: CapabilitySet?, bounding: UInt64, last: Int32) -> UInt64 {
        let known: UInt64 = last >= 63 ? .max : (UInt64(1) << UInt64(last + 1)) - 1
        return (requested?.bits ?? 0) & bounding & known
    }

    /// The capability numbers set in `bits`, in increasing order.
    package static func numbers(_ bits: UInt64) -> [Int32] {
        (0..<64).filter { bits & (UInt64(1) << UInt64($0)) != 0 }.map(Int32.init)
    }
}
