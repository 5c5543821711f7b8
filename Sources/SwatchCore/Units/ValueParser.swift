// The value types of unit files, each read as systemd reads it
// (src/basic/parse-util.c, src/basic/signal-util.c, src/basic/rlimit-util.c,
// src/basic/cap-list.c). A nil result is an invalid value: the caller names
// the key and refuses the unit (swatchd.service(5), "WHAT HAPPENS TO A PROBLEM").

/// Parsers for the scalar values of unit files.
package enum ValueParser {
    /// parse_boolean(): `1 yes y true t on` / `0 no n false f off`, any case.
    package static func boolean(_ text: String) -> Bool? {
        // As written first: units write these in lower case, and lowercased() makes a new
        // string (~100 instructions a value, callgrind).
        func word(_ text: String) -> Bool? {
            switch text {
            case "1", "yes", "y", "true", "t", "on": return true
            case "0", "no", "n", "false", "f", "off": return false
            default: return nil
            }
        }
        return word(text) ?? word(text.lowercased())
    }

    /// A decimal integer within `range`.
    static func integer<T: FixedWidthInteger>(_ text: String, in range: ClosedRange<T>) -> T? {
        guard let value = T(text), range.contains(value) else { return nil }
        return value
    }

    /// An octal mode such as `0644` (parse_mode(): at most 07777).
    static func mode(_ text: String) -> UInt32? {
        guard !text.isEmpty, let value = UInt32(text, radix: 8), value <= 0o7777 else { return nil }
        return value
    }

    /// parse_size() with base 1024: `512`, `64K`, `1.5G`, `1G 512M` (summed), suffixes K M G T P E.
    static func size(_ text: String) -> UInt64? {
        func factor(_ byte: UInt8) -> UInt64? {
            switch byte {
            case UInt8(ascii: "K"): 1 << 10
            case UInt8(ascii: "M"): 1 << 20
            case UInt8(ascii: "G"): 1 << 30
            case UInt8(ascii: "T"): 1 << 40
            case UInt8(ascii: "P"): 1 << 50
            case UInt8(ascii: "E"): 1 << 60
            case UInt8(ascii: "B"): 1
            default: nil
            }
        }
        var text = text
        return text.withUTF8 { bytes -> UInt64? in
            let trimmed = trimmedRange(bytes)
            var at = trimmed.lowerBound
            let end = trimmed.upperBound
            guard at < end else { return nil }
            var total: UInt64 = 0
            while at < end {
                guard let (whole, fraction) = decimalPrefix(bytes, at: &at, end: end) else { return nil }
                while at < end, bytes[at] == UInt8(ascii: " ") { at += 1 }
                var multiplier: UInt64 = 1
                if at < end, let found = factor(bytes[at]) {
                    multiplier = found
                    at += 1
                }
                let (product, overflow) = whole.multipliedReportingOverflow(by: multiplier)
                guard !overflow else { return nil }
                // The fraction of a base-1024 factor is not exact in decimal: round down as parse_size() does.
                let digits = String(decoding: bytes[fraction].prefix(18), as: UTF8.self)
                let (part, partOverflow) = product.addingReportingOverflow(
                    fraction.isEmpty ? 0 : UInt64(Double("0." + digits)! * Double(multiplier)))
                let (sum, sumOverflow) = total.addingReportingOverflow(part)
                guard !partOverflow, !sumOverflow else { return nil }
                total = sum
                while at < end, bytes[at] == UInt8(ascii: " ") { at += 1 }
            }
            return total
        }
    }

    // MARK: Signals

    /// signal_from_string(): `SIGTERM`, `TERM`, `15`, `SIGRTMIN+3`, `RTMAX-1` (SwatchControl/SignalName.swift).
    static func signal(_ text: String) -> Int32? { SignalName.number(text) }

    /// log_level_from_string(): a syslog level by name (`err`, `warning`, …) or number, 0–7.
    static func syslogLevel(_ text: String) -> Int32? {
        if let number = Int32(text) { return (0...7).contains(number) ? number : nil }
        return ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"].firstIndex(of: text).map(Int32.init)
    }

    /// log_facility_unshifted_from_string(): a syslog facility by the name systemd.exec(5)
    /// lists for SyslogFacility= (`daemon`, `local0`, …) or by its number, unshifted.
    static func syslogFacility(_ text: String) -> Int32? {
        if let number = Int32(text) { return (0...23).contains(number) ? number : nil }
        let names = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"]
        if let number = names.firstIndex(of: text) { return Int32(number) }
        // local0…local7 are 16…23; 12…15 have no name in systemd's table (src/basic/syslog-util.c).
        guard text.utf8.count == 6, text.hasPrefix("local"), let n = Int32(text.dropFirst(5)), (0...7).contains(n) else { return nil }
        return 16 + n
    }

    /// The name systemd prints for a signal (`SIGTERM`), for messages.
    static func signalName(_ number: Int32) -> String { SignalName.fullName(number) }

    /// One word of SuccessExitStatus= and friends: an exit status 0…255, the name of one
    /// (`DATAERR`, `FAILURE`: exit_status_from_string(), src/basic/exit-status.c, tried
    /// before the signals as config_parse_set_status() does) or a signal name.
    static func exitStatus(_ word: String) -> (status: Int32?, signal: Int32?)? {
        if let n = Int32(word) { return (0...255).contains(n) ? (n, nil) : nil }
        if let code = ExitStatus.code(named: word) { return (code, nil) }
        return signal(word).map { (nil, $0) }
    }

    // MARK: Capabilities

    /// capability names of linux/capability.h, by number.
    static let capabilityNames = [
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
        "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
        "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
        "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
        "cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
        "cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin",
        "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
        "cap_checkpoint_restore",
    ]

    /// The words of one capability assignment: `~` inverts, names are case-insensitive.
    /// Returns the set named and whether it was inverted; nil names the first unknown word.
    static func capabilities(_ text: String) -> Result<(bits: UInt64, inverted: Bool), CapabilityError> {
        var rest = Substring(text)
        let inverted = rest.first == "~"
        if inverted { rest = rest.dropFirst() }
        var bits: UInt64 = 0
        for word in String(rest).splitAtWhitespace() {
            guard let index = capabilityNames.firstIndex(of: word.lowercased()) else {
                return .failure(CapabilityError(word: String(word)))
            }
            bits |= 1 << UInt64(index)
        }
        return .success((bits, inverted))
    }

    struct CapabilityError: Error { var word: String }

    // MARK: Resource limits

    /// rlimit_parse(): `soft:hard` or one value for both; `infinity`; sizes for the
    /// byte limits, seconds for LimitCPU=, microseconds for LimitRTTIME=, nice
    /// values (`-5` or `+5`, or the raw 0…40) for LimitNICE=.
    static func limit(_ text: String, for resource: ResourceLimit) -> LimitValue? {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let soft = limitPart(parts[0], resource) else { return nil }
        guard parts.count == 2 else { return LimitValue(soft: soft, hard: soft) }
        guard let hard = limitPart(parts[1], resource), soft <= hard else { return nil }
        return LimitValue(soft: soft, hard: hard)
    }

    private static func limitPart(_ text: String, _ resource: ResourceLimit) -> UInt64? {
        if text == "infinity" { return .max }
        switch resource {
        case .fsize, .data, .stack, .core, .rss, .as, .memlock, .msgqueue:
            return size(text)
        case .cpu:
            // Whole seconds, rounded up (rlimit_parse_sec()).
            return TimeSpan(parsing: text).map { $0.isInfinite ? .max : ($0.microseconds + 999_999) / 1_000_000 }
        case .rttime:
            return TimeSpan(parsing: text, defaultUnit: 1).map { $0.isInfinite ? .max : $0.microseconds }
        case .nice:
            if text.hasPrefix("+") || text.hasPrefix("-") {
                guard let nice = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text), (-20...19).contains(nice)
                else { return nil }
                return UInt64(20 - nice)
            }
            return integer(text, in: 0...40)
        case .nofile, .nproc, .locks, .sigpending, .rtprio:
            return UInt64(text)
        }
    }

    // MARK: Names

    /// env_name_is_valid(): ASCII letters, digits and `_`, not starting with a digit. By
    /// byte, as systemd checks it: a scalar's Unicode properties were looked up in the
    /// runtime's tables for each character, ~1,000 instructions an `Environment=` name.
    static func isEnvironmentName(_ name: some StringProtocol) -> Bool {
        name.utf8.withContiguousStorageIfAvailable(isEnvironmentName)
            ?? Array(name.utf8).withUnsafeBufferPointer(isEnvironmentName)
    }

    static func isEnvironmentName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard let first = name.first, !digits.contains(first) else { return false }
        return name.allSatisfy { byte in
            byte == UInt8(ascii: "_") || digits.contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }

    /// journal_field_valid() without protected fields (src/libsystemd/sd-journal/journal-file.c):
    /// upper-case letters, digits and `_`, at most 64 bytes, not starting with a digit or `_`
    /// (journald keeps those for the fields it sets itself).
    static func isJournalFieldName(_ name: some StringProtocol) -> Bool {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard let first = name.utf8.first, !digits.contains(first), first != UInt8(ascii: "_"),
              name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { byte in
            byte == UInt8(ascii: "_") || digits.contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
    }

    /// filename_is_valid(): a single path component.
    static func isFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && name.utf8.count <= 255
    }

    /// path_is_valid() for an absolute path: starts with `/`, components fit NAME_MAX, fits PATH_MAX.
    /// By byte, as systemd reads a path (a split into Substrings by Character was most of an
    /// ExecStart= value's check).
    static func isAbsolutePath(_ path: String) -> Bool {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/"), utf8.count < 4096 else { return false }
        var component = 0
        for byte in utf8 {
            if byte == 0 { return false }
            component = byte == UInt8(ascii: "/") ? 0 : component + 1
            if component > 255 { return false }
        }
        return true
    }

    /// fdname_is_valid(): printable ASCII without `:`, at most 255 bytes.
    static func isFileDescriptorName(_ name: String) -> Bool {
        name.utf8.count <= 255 && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F && $0 != ":" }
    }
}
