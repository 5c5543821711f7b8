// SocketBindAllow= and SocketBindDeny= of systemd.resource-control(5), as systemd's
// parse_socket_bind_item() reads a rule (src/shared/parse-helpers.c). They take access away,
// so they are enforced or the start fails (Sandbox/SocketBindProgram.swift builds the cgroup
// BPF programs that enforce them).
import CSwatch
import Glibc

/// One rule: `any`, or `[ipv4:|ipv6:][tcp:|udp:]PORTS`, PORTS a port, a range `LOW-HIGH` (1–65535)
/// or `any`.
package struct SocketBindRule: Hashable, Sendable {
    /// AF_INET or AF_INET6; nil: both.
    package var family: Int32?
    /// IPPROTO_TCP or IPPROTO_UDP; nil: any.
    package var transport: Int32?
    /// nil: any port.
    package var ports: ClosedRange<UInt16>?

    package init(family: Int32? = nil, transport: Int32? = nil, ports: ClosedRange<UInt16>? = nil) {
        self.family = family
        self.transport = transport
        self.ports = ports
    }

    /// nil: not a rule.
    package init?(_ text: String) {
        self.init()
        guard text != "any" else { return }
        var words = text.split(separator: ":", omittingEmptySubsequences: false)
        if let first = words.first, let family = ["ipv4": AF_INET, "ipv6": AF_INET6][String(first)], words.count > 1 {
            self.family = Int32(family)
            words.removeFirst()
        }
        if let first = words.first, let transport = ["tcp": CInt(IPPROTO_TCP), "udp": CInt(IPPROTO_UDP)][String(first)], words.count > 1 {
            self.transport = transport
            words.removeFirst()
        }
        guard words.count == 1 else { return nil }
        guard words[0] != "any" else { return }
        let bounds = words[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = UInt16(bounds[0]), let high = bounds.count == 2 ? UInt16(bounds[1]) : low, low > 0, low <= high else {
            return nil
        }
        ports = low...high
    }
}

enum SocketBindKeys {
    /// One rule per assignment, added to the list; an empty value clears it.
    static func setter(_ field: @escaping Field<ServiceUnit, [SocketBindRule]>) -> KeySetter<ServiceUnit> {
        KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            let value = try kv.expanded()
            guard !value.isEmpty else { return field(&service) { $0 = [] } }
            guard let rule = SocketBindRule(value) else { throw kv.invalid("socket bind rule", value) }
            field(&service) { $0.append(rule) }
        }
    }
}
