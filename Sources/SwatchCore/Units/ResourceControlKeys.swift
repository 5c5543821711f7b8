// The resource control keys of systemd.resource-control(5) that swatchd acts
// on: MemoryMax=, MemoryHigh=, MemoryLow=, MemoryMin=, MemorySwapMax=,
// TasksMax=, CPUWeight=, CPUQuota=, IOWeight=, AllowedCPUs=. They limit
// resources and take no access away, so a machine whose cgroup has not the
// controller (no delegation, cgroup v1 only) runs the unit all the same and
// says which key it could not apply and why (swatchd.service(5),
// "RESOURCE CONTROL"; Linux/ProcessTracker.swift applies them).

import Glibc

/// The limits of one service's cgroup: each the text its cgroup2 file takes
/// (Documentation/admin-guide/cgroup-v2.rst), nil when unset.
package struct ResourceControl: Hashable, Sendable {
    /// Key (`MemoryMax`) → (controller, file, value), in the order set.
    package var settings: [String: Setting] = [:]

    package struct Setting: Hashable, Sendable {
        package var controller: String
        package var file: String
        package var value: String
        /// The value as written, for messages.
        package var written: String
    }

    package init() {}

    /// The keys, sorted, with their settings.
    package var sorted: [(key: String, setting: Setting)] { settings.keys.sorted().map { ($0, settings[$0]!) } }
}

enum ResourceControlKeys {
    /// Key → (controller, file, parser of the value to the file's text).
    static let keys: [String: (controller: String, file: String, parse: @Sendable (String) -> String?)] = [
        "MemoryMax": ("memory", "memory.max", memory),
        "MemoryHigh": ("memory", "memory.high", memory),
        "MemoryLow": ("memory", "memory.low", { memory($0) == "max" ? nil : memory($0) }),
        "MemoryMin": ("memory", "memory.min", { memory($0) == "max" ? nil : memory($0) }),
        "MemorySwapMax": ("memory", "memory.swap.max", memory),
        "TasksMax": ("pids", "pids.max", tasks),
        "CPUWeight": ("cpu", "cpu.weight", { weight($0, idle: true) }),
        "CPUQuota": ("cpu", "cpu.max", quota),
        "IOWeight": ("io", "io.weight", { weight($0, idle: false).map { "default \($0)" } }),
        "AllowedCPUs": ("cpuset", "cpuset.cpus", cpus),
    ]

    /// Bytes (K, M, G, T, base 1024), a percentage of the physical memory, or `infinity`.
    static func memory(_ text: String) -> String? {
        if text == "infinity" { return "max" }
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), (0...100).contains(percent) {
            let total = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
            return String(UInt64(total * percent / 100))
        }
        return ValueParser.size(text).map(String.init)
    }

    /// A count, a percentage of the kernel's pid_max (systemd: of kernel.threads-max… pid_max), or `infinity`.
    static func tasks(_ text: String) -> String? {
        if text == "infinity" { return "max" }
        if text.hasSuffix("%"), let percent = Double(text.dropLast()), (0...100).contains(percent) {
            let pidMax = (try? FileSystem.readText("/proc/sys/kernel/pid_max")).flatMap { Double($0.trimmingWhitespace()) } ?? 4_194_304
            return String(UInt64(pidMax * percent / 100))
        }
        return UInt64(text).map(String.init)
    }

    /// 1…10000; CPUWeight= also takes `idle` (cpu.idle in systemd; here the lowest weight, 1).
    static func weight(_ text: String, idle: Bool) -> String? {
        if idle, text == "idle" { return "1" }
        guard let value = UInt32(text), (1...10000).contains(value) else { return nil }
        return String(value)
    }

    /// A percentage of one CPU per 100 ms period: `cpu.max` "QUOTA 100000".
    static func quota(_ text: String) -> String? {
        guard text.hasSuffix("%"), let percent = Double(text.dropLast()), percent > 0 else { return nil }
        return "\(max(1000, UInt64(percent * 1000))) 100000"
    }

    /// CPU numbers and ranges, `0-3 8` or `0-3,8`.
    static func cpus(_ text: String) -> String? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," })
        guard !parts.isEmpty, parts.allSatisfy({ part in
            part.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { UInt32($0) != nil }
                && part.split(separator: "-", omittingEmptySubsequences: false).count <= 2
        }) else { return nil }
        return parts.joined(separator: ",")
    }

    static func setter(_ key: String) -> KeySetter<ServiceUnit> {
        KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            // As written: systemd expands no specifiers here (`50%` is a percentage).
            let value = kv.raw
            guard !value.isEmpty else {
                service.sandbox.resourceControl.settings[key] = nil
                return
            }
            let entry = keys[key]!
            guard let text = entry.parse(value) else { throw kv.invalid("resource limit") }
            service.sandbox.resourceControl.settings[key] = .init(controller: entry.controller, file: entry.file,
                                                                  value: text, written: value)
        }
    }
}
