// The values of the process properties systemd.exec(5) sets on the spawned process
// besides its scheduling: CPUAffinity=, NUMAPolicy=, NUMAMask=, TimerSlackNSec=, Personality=
// and KeyringMode=.

/// NUMAPolicy=: the set_mempolicy(2) modes by systemd's names (MPOL_* of <linux/mempolicy.h>).
package enum NUMAPolicy: String, Hashable, Sendable {
    case `default`, preferred, bind, interleave, local

    /// The mode set_mempolicy(2) takes.
    package var mode: Int32 {
        switch self {
        case .default: return 0
        case .preferred: return 1
        case .bind: return 2
        case .interleave: return 3
        case .local: return 4
        }
    }
}

/// KeyringMode=: the session keyring of a command's processes (keyrings(7)).
package enum KeyringMode: String, Hashable, Sendable {
    /// swatchd's own.
    case inherit
    /// A new one, theirs alone, holding the invocation ID.
    case `private`
    /// The same, with the user keyring of the service's user linked into it.
    case shared

    /// The mode of a unit that sets none: `private` for a service of a swatchd that is root,
    /// `inherit` for a socket's commands and under a swatchd that is not root — as systemd's
    /// system and user managers default (systemd.exec(5), KeyringMode=).
    package static func implicit(forService: Bool, swatchdIsRoot: Bool) -> KeyringMode {
        forService && swatchdIsRoot ? .private : .inherit
    }
}

extension ValueParser {
    /// SecureBits=: the words of secure_bits_from_string() (src/basic/securebits-util.c), each
    /// a SECBIT_* flag of <linux/securebits.h> (capabilities(7), "The securebits flags"); nil
    /// when a word is none of them.
    static func secureBits(_ text: String) -> Int32? {
        let flags: [String: Int32] = ["noroot": 1 << 0, "noroot-locked": 1 << 1, "no-setuid-fixup": 1 << 2,
                                      "no-setuid-fixup-locked": 1 << 3, "keep-caps": 1 << 4, "keep-caps-locked": 1 << 5]
        var bits: Int32 = 0
        for word in text.splitAtWhitespace() {
            guard let flag = flags[String(word)] else { return nil }
            bits |= flag
        }
        return bits
    }

    /// coredump_filter_mask_from_string() (src/shared/coredump-util.c): words, each a mapping
    /// type (its bit in /proc/PID/coredump_filter, core(5)), `default` (the kernel's default,
    /// 0x33), `all` (UINT32_MAX: the kernel refuses a wider mask with ERANGE) or a hexadecimal
    /// number; nil when a word is none of these, or there is none.
    static func coredumpFilter(_ text: String) -> UInt64? {
        let types = ["private-anonymous", "shared-anonymous", "private-file-backed", "shared-file-backed", "elf-headers",
                     "private-huge", "shared-huge", "private-dax", "shared-dax"]
        var mask: UInt64 = 0
        let words = text.splitAtWhitespace()
        guard !words.isEmpty else { return nil }
        for word in words {
            if word == "default" {
                mask |= 0x33
            } else if word == "all" {
                mask = UInt64(UInt32.max)
            } else if let bit = types.firstIndex(of: String(word)) {
                mask |= 1 << bit
            } else if let number = UInt64(word.hasPrefix("0x") || word.hasPrefix("0X") ? word.dropFirst(2) : word[...],
                                          radix: 16) {
                mask |= number
            } else {
                return nil
            }
        }
        return mask
    }

    /// parse_cpu_set(): CPU indices and ranges (`0-3 6,8`), separated by spaces or commas;
    /// nil when a word is neither (systemd's upper bound: CPU 8191).
    static func cpuSet(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
            let bounds = word.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = Int(bounds[0]), let last = bounds.count == 2 ? Int(bounds[1]) : first,
                  first >= 0, first <= last, last <= 8191 else { return nil }
            cpus += Array(first...last)
        }
        return cpus.isEmpty ? nil : cpus
    }

    /// NUMAMask=: nodes as CPUAffinity= takes CPUs, or `all`, the nodes online now
    /// (/sys/devices/system/node/online, as systemd's numa_mask_add_all() reads them).
    static func numaNodes(_ text: String) -> [Int]? {
        guard text == "all" else { return cpuSet(text) }
        return (try? FileSystem.readText("/sys/devices/system/node/online")).flatMap { cpuSet($0.trimmingWhitespace()) }
    }

    /// parse_nsec(): a number of nanoseconds (`50000`, `50000ns`), or a time span (`50us`, `1ms`).
    static func nanoseconds(_ text: String) -> UInt64? {
        for suffix in ["nsec", "ns", ""] where text.hasSuffix(suffix) {
            if let value = UInt64(text.dropLast(suffix.count)) { return value }
        }
        guard let span = TimeSpan(parsing: text), !span.isInfinite else { return nil }
        let (value, overflow) = span.microseconds.multipliedReportingOverflow(by: 1_000)
        return overflow ? nil : value
    }

    /// personality_from_string(): the machine's own architecture is PER_LINUX, the one it also
    /// runs (x86 on x86-64, arm on arm64, …) PER_LINUX32 (<sys/personality.h>); nil for others.
    static func personality(_ text: String) -> Int? {
        guard let native = ConditionCheck.nativeArchitecture else { return nil }
        if text == native { return 0 }
        let secondary = ["x86-64": "x86", "arm64": "arm", "ppc64-le": "ppc-le", "s390x": "s390"]
        return secondary[native] == text ? 0x0008 : nil
    }
}
