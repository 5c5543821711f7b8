// DevicePolicy= and DeviceAllow= as a service meets them (swatchd.service(5), "RESOURCE
// CONTROL"; systemd.resource-control(5)): the built swatchd puts a BPF device program on the
// service's cgroup2 group, and what the kernel answers Services/device_probe.py (EPERM or
// not) at each open and mknod is the evidence. Root only: a cgroup2 group and bpf(2).
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite(.enabled(if: getuid() == 0, "bpf(2) and a cgroup2 group need root")) struct DeviceAccessTests {
        /// Runs one oneshot unit per entry (its [Service] lines, the probe's arguments) and
        /// returns what each probe answered: unit → "PATH MODE" → "ok" or the errno's name.
        private func probe(_ units: [String: (lines: String, probes: [String])]) throws -> [String: [String: String]] {
            let daemon = try Daemon()
            defer { daemon.cleanUp() }
            for (name, unit) in units {
                try daemon.write("\(name).service", """
                    [Service]
                    Type=oneshot
                    ExecStart=/usr/bin/python3 \(Harness.service("device_probe.py")) \(unit.probes.joined(separator: " "))
                    \(unit.lines)
                    """)
            }
            try daemon.start()
            var results: [String: [String: String]] = [:]
            for (name, unit) in units {
                let lines = try waitFor("\(name).service answers its \(unit.probes.count) probes\n\(daemon.log)",
                                        timeout: .seconds(15)) {
                    try daemon.checkRunning()
                    let lines = daemon.logLines(containing: "\(name).service[", "dev: ")
                    return lines.count == unit.probes.count ? lines : nil
                }
                var answers: [String: String] = [:]
                for line in lines {
                    guard let range = line.range(of: "dev: ") else { continue }
                    let words = line[range.upperBound...].split(separator: " ")
                    if words.count == 3 { answers["\(words[0]) \(words[1])"] = String(words[2]) }
                }
                results[name] = answers
            }
            #expect(daemon.logLines(containing: "Failed to spawn").isEmpty, "\(daemon.log)")
            return results
        }

        @Test(.timeLimit(.minutes(1)))
        func onlyTheAllowedDevicesOpen() throws {
            let node = "/tmp/swatch-device-node-\(getpid())"
            defer { unlink(node) }
            let seen = try probe([
                // strict: DeviceAllow= only — /dev/null for reading and writing, nothing else, no mknod.
                "strict": ("DevicePolicy=strict\nDeviceAllow=/dev/null rw",
                           ["/dev/null:r", "/dev/null:w", "/dev/zero:r", "/dev/full:w", "mknod:\(node)"]),
                // closed: the standard pseudo devices too, but not another device.
                "closed": ("DevicePolicy=closed\nDeviceAllow=/dev/null rw", ["/dev/null:w", "/dev/zero:r", "/dev/full:w", "/dev/kmsg:r"]),
                // The access is checked: r allows no write.
                "readonly": ("DevicePolicy=strict\nDeviceAllow=/dev/zero r", ["/dev/zero:r", "/dev/zero:w"]),
                // char-NAME: every minor of the majors /proc/devices names so (mem: 1).
                "driver": ("DevicePolicy=strict\nDeviceAllow=char-mem r", ["/dev/zero:r", "/dev/kmsg:r", "/dev/fuse:r"]),
                // The same probes without the keys, for comparison.
                "free": ("", ["/dev/zero:r", "/dev/kmsg:r", "/dev/fuse:r"]),
            ])
            #expect(seen["strict"] == ["/dev/null r": "ok", "/dev/null w": "ok", "/dev/zero r": "EPERM", "/dev/full w": "EPERM",
                                       "\(node) m": "EPERM"])
            #expect(seen["closed"] == ["/dev/null w": "ok", "/dev/zero r": "ok", "/dev/full w": "ok", "/dev/kmsg r": "EPERM"])
            #expect(seen["readonly"] == ["/dev/zero r": "ok", "/dev/zero w": "EPERM"])
            #expect(seen["driver"] == ["/dev/zero r": "ok", "/dev/kmsg r": "ok", "/dev/fuse r": "EPERM"])
            #expect(seen["free"] == ["/dev/zero r": "ok", "/dev/kmsg r": "ok", "/dev/fuse r": "ok"])
        }
    }
}
