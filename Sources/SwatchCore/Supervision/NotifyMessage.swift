/// One sd_notify(3) datagram, parsed: newline-separated `KEY=VALUE` lines.
/// Unknown keys are kept out; malformed numbers are ignored as systemd does
/// (src/core/service.c, service_notify_message()).
public struct NotifyMessage: Equatable, Sendable {
    public var ready = false
    public var reloading = false
    public var stopping = false
    public var status: String?
    public var mainPID: Int32?
    public var errno: Int32?
    public var watchdogPing = false
    public var watchdogTrigger = false
    public var watchdogUsec: UInt64?
    public var extendTimeoutUsec: UInt64?
    public var barrier = false
    public var fdStore = false
    public var fdStoreRemove = false
    public var fdName: String?
    public var fdPoll = true

    public init() {}

    /// Parses the text of a datagram (already checked for size and NULs by the receiver).
    public init(text: Substring) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = String(line[line.index(after: eq)...])
            switch key {
            case "READY": ready = value == "1"
            case "RELOADING": reloading = value == "1"
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
            case "FDPOLL": fdPoll = value != "0"
            default: continue
            }
        }
    }
}
