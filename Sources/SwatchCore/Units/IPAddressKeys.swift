// IPAddressAllow= and IPAddressDeny= of systemd.resource-control(5), as systemd's
// load-fragment.c parses them (config_parse_in_addr_prefixes). They take access away, so
// they are enforced or the start fails (Sandbox/IPFilterProgram.swift builds the cgroup
// BPF programs that enforce them).
import Glibc

/// An address prefix: `192.168.0.0/16`, `::1/128`.
package struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The address in network byte order: 4 bytes (IPv4) or 16 (IPv6).
    package var address: [UInt8]
    package var length: UInt8

    package init(address: [UInt8], length: UInt8) {
        self.address = address
        self.length = length
    }

    package var isIPv6: Bool { address.count == 16 }

    /// `ADDRESS` or `ADDRESS/LENGTH`; nil: not an address, or a length too long for it.
    package init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var bytes = [UInt8](repeating: 0, count: 16)
        let address = String(parts[0])
        let count: Int
        if inet_pton(AF_INET, address, &bytes) == 1 {
            count = 4
        } else if inet_pton(AF_INET6, address, &bytes) == 1 {
            count = 16
        } else {
            return nil
        }
        let maximum = UInt8(count * 8)
        var length = maximum
        if parts.count == 2 {
            guard let given = UInt8(parts[1]), given <= maximum else { return nil }
            length = given
        }
        self.init(address: Array(bytes.prefix(count)), length: length)
    }

    package var description: String {
        var text = [CChar](repeating: 0, count: 64)
        _ = inet_ntop(isIPv6 ? AF_INET6 : AF_INET, address, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(length)"
    }

    /// systemd's names for sets of prefixes (systemd.resource-control(5), IPAddressAllow=).
    static let named: [String: [String]] = [
        "any": ["0.0.0.0/0", "::/0"],
        "localhost": ["127.0.0.0/8", "::1/128"],
        "link-local": ["169.254.0.0/16", "fe80::/64"],
        "multicast": ["224.0.0.0/4", "ff00::/8"],
    ]
}

enum IPAddressKeys {
    /// IPIngressFilterPath=/IPEgressFilterPath=, as config_parse_ip_filter_bpf_progs() reads
    /// them (src/core/load-fragment.c): the whole value is one path, specifiers expanded, each
    /// assignment adds one (once), the empty one clears the list. A path that is not absolute
    /// refuses the unit where systemd ignores it: the key takes access away.
    static func filterPath(_ field: @escaping Field<ServiceUnit, [String]>) -> KeySetter<ServiceUnit> {
        KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            let path = try kv.expanded()
            guard !path.isEmpty else { return field(&service) { $0 = [] } }
            guard ValueParser.isAbsolutePath(path) else { throw kv.problem("Path is not absolute", path) }
            field(&service) { paths in if !paths.contains(path) { paths.append(path) } }
        }
    }

    /// RestrictNetworkInterfaces=, as config_parse_restrict_network_interfaces() reads it
    /// (src/core/load-fragment.c): names, `~` first for a deny list; the first assignment
    /// decides which kind of list it is, a later one of the other kind takes its names out of
    /// it; an empty value clears it.
    static let restrictNetworkInterfaces = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        var value = try kv.expanded()
        guard !value.isEmpty else { return service.sandbox.restrictNetworkInterfaces = [] }
        let allows = !value.hasPrefix("~")
        if !allows { value.removeFirst() }
        let names = value.splitAtWhitespace().map(String.init)
        // IFNAMSIZ: a name of more than 15 bytes, or with a slash or a space, names no interface.
        if let bad = names.first(where: { $0.utf8.count > 15 || $0.contains("/") || $0 == "." || $0 == ".." }) {
            throw kv.invalid("network interface name", bad)
        }
        if service.sandbox.restrictNetworkInterfaces.isEmpty { service.sandbox.networkInterfacesAllowed = allows }
        if service.sandbox.networkInterfacesAllowed == allows {
            for name in names where !service.sandbox.restrictNetworkInterfaces.contains(name) {
                service.sandbox.restrictNetworkInterfaces.append(name)
            }
        } else {
            service.sandbox.restrictNetworkInterfaces.removeAll { names.contains($0) }
        }
    }


    /// A space-separated list of prefixes and names; an empty value clears the list.
    static func setter(_ field: @escaping Field<ServiceUnit, [IPPrefix]>) -> KeySetter<ServiceUnit> {
        KeySetter { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
            let value = try kv.expanded()
            guard !value.isEmpty else {
                field(&service) { $0 = [] }
                return
            }
            var prefixes: [IPPrefix] = []
            for word in value.splitAtWhitespace().map(String.init) {
                let texts = IPPrefix.named[word] ?? [word]
                for text in texts {
                    guard let prefix = IPPrefix(text) else { throw kv.invalid("IP address prefix", word) }
                    prefixes.append(prefix)
                }
            }
            field(&service) { list in
                for prefix in prefixes where !list.contains(prefix) { list.append(prefix) }
            }
        }
    }
}
