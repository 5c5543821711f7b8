// DevicePolicy= and DeviceAllow= of systemd.resource-control(5), as systemd's
// load-fragment.c parses them (config_parse_device_policy, config_parse_device_allow).
// They take access away, so they are enforced or the start fails
// (Sandbox/DeviceProgram.swift builds the cgroup BPF program that enforces them).

/// DevicePolicy=: which devices a service may open besides its DeviceAllow= entries.
package enum DevicePolicy: String, Hashable, Sendable {
    /// Every device while there is no DeviceAllow=; with one, as `closed`.
    case auto
    /// The standard pseudo devices (/dev/null, /dev/zero, /dev/full, /dev/random,
    /// /dev/urandom, /dev/tty, /dev/ptmx, /dev/pts/*) and DeviceAllow=.
    case closed
    /// DeviceAllow= only.
    case strict
}

/// What a device may be used for: `r`, `w`, `m` (mknod) of DeviceAllow=.
package struct DeviceAccessMask: OptionSet, Hashable, Sendable {
    package var rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let read = DeviceAccessMask(rawValue: 1)
    package static let write = DeviceAccessMask(rawValue: 2)
    package static let mknod = DeviceAccessMask(rawValue: 4)
    package static let all: DeviceAccessMask = [.read, .write, .mknod]

    /// `rw`, `rwm`, `r`…; nil: a letter that is none of them. Empty: all of them (systemd's default).
    package init?(letters: String) {
        var mask: DeviceAccessMask = []
        for letter in letters {
            switch letter {
            case "r": mask.insert(.read)
            case "w": mask.insert(.write)
            case "m": mask.insert(.mknod)
            default: return nil
            }
        }
        self = mask.isEmpty ? .all : mask
    }
}

/// One DeviceAllow= line: a device node path (`/dev/null`), or `char-NAME`/`block-NAME`
/// naming the driver of a major number in /proc/devices (a glob, as `char-pts`), and the access.
package struct DeviceAllowEntry: Hashable, Sendable {
    package var specifier: String
    package var access: DeviceAccessMask

    package init(specifier: String, access: DeviceAccessMask) {
        self.specifier = specifier
        self.access = access
    }
}

enum DeviceAccessKeys {
    static let policy = KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        let value = try kv.expanded()
        guard let policy = value.isEmpty ? .auto : DevicePolicy(rawValue: value) else { throw kv.invalid("device policy") }
        service.sandbox.devicePolicy = policy
    }

    /// `SPECIFIER [ACCESS]`; an empty value clears the list (systemd.resource-control(5)).
    static let allow = KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        let value = try kv.expanded()
        guard !value.isEmpty else {
            service.sandbox.deviceAllow = []
            return
        }
        let words = value.splitAtWhitespace().map(String.init)
        guard words.count <= 2, let specifier = words.first else { throw kv.invalid("device allow entry") }
        guard specifier.hasPrefix("/dev/") || specifier.hasPrefix("char-") || specifier.hasPrefix("block-"),
              specifier.count > (specifier.hasPrefix("block-") ? 6 : 5) else {
            throw kv.problem("Invalid device node path (not /dev/…, char-… or block-…)", specifier)
        }
        guard let access = DeviceAccessMask(letters: words.count > 1 ? words[1] : "") else {
            throw kv.problem("Invalid device access (not a combination of r, w, m)", words[1])
        }
        service.sandbox.deviceAllow.append(DeviceAllowEntry(specifier: specifier, access: access))
    }
}
