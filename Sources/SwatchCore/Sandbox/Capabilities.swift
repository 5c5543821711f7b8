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

    /// The highest capability number this kernel knows
    /// (/proc/sys/kernel/cap_last_cap; 40, CAP_CHECKPOINT_RESTORE, when unreadable).
    package static func lastCapability() -> Int32 {
        guard let text = try? FileSystem.readText("/proc/sys/kernel/cap_last_cap"),
              let value = Int32(text.trimmingWhitespace()), (0...63).contains(value)
        else { return 40 }
        return value
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
