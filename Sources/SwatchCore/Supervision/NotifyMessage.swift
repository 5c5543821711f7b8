/// One sd_notify(3) datagram, parsed: newline-separated `KEY=VALUE` lines.
/// Unknown keys are kept out; malformed numbers are ignored as systemd does
/// (src/core/service.c, service_notify_message()).
package struct NotifyMessage: Equatable, Sendable {
    package var ready = false
    package var reloading = false
    /// MONOTONIC_USEC=: when the sender's CLOCK_MONOTONIC read it (Type=notify-reload stamps
    /// its RELOADING=1 with it).
    package var monotonicUsec: UInt64?
    package var stopping = false
    package var status: String?
    package var mainPID: Int32?
    package var errno: Int32?
    package var watchdogPing = false
    package var watchdogTrigger = false
    package var watchdogUsec: UInt64?
    package var extendTimeoutUsec: UInt64?
    package var barrier = false
    package var fdStore = false
    package var fdStoreRemove = false
    package var fdName: String?
    package var fdPoll = true

    package init() {}

    /// Parses the text of a datagram (already checked for size and NULs by the receiver).
    package init(text: Substring) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = String(line[line.index(after: eq)...])
            switch key {
            case "READY": ready = value == "1"
            case "RELOADING": reloading = value == "1"
            case "MONOTONIC_USEC": monotonicUsec = UInt64(value)
            case "STOPPING": stopping = value == "1"
            case "STATUS": status = value
            case "MAINPID": mainPID = Int32(value).flatMap { $0 > 1 ? $0 : nil }
            case "ERRNO": errno = Int32(value)
            case "WATCHDOG":
                if value == "1" { watchdogPing = true } else if value == "trigger" { watchdogTrigger = true }
            case "WATCHDOG_USEC": watchdogUsec = UInt64(value).flatMap { $0 > 0 ? $0 : nil }
            case "EXTEND_TIMEOUT_USEC": extendTimeoutUsec = UInt64(value)
            case "BARRIER": barrier = value == "1"
            case "FDSTORE": fdStore = value == "1"
            case "FDSTOREREMOVE": fdStoreRemove = value == "1"
            case "FDNAME": fdName = value
            // A boolean (FDPOLL=0, no, false…); one that is not leaves the fd polled, as systemd ignores it.
            case "FDPOLL": fdPoll = ValueParser.boolean(value) ?? true
            default: continue
            }
        }
    }
}
