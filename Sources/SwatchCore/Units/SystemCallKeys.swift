// The values of the system call filtering keys (systemd.exec(5), "SYSTEM CALL
// FILTERING" and "SANDBOXING"): SystemCallFilter=, SystemCallErrorNumber=,
// SystemCallArchitectures=, RestrictAddressFamilies=, RestrictNamespaces=.
// Parsed as systemd's src/core/load-fragment.c parses them; what a service gets
// from them is Sources/SwatchCore/Sandbox/SeccompFilters.swift.

import CSwatch
import Glibc

enum SystemCallKeys {
    /// errno names → numbers, as glibc names them (strerrorname_np(3)).
    static let errnoNumbers: [String: Int32] = {
        var table: [String: Int32] = [:]
        for number in Int32(1)...Int32(4095) {
            guard let name = swatch_errno_name(number) else { continue }
            table[String(cString: name)] = number
        }
        return table
    }()

    /// An errno as systemd's parse_errno() reads it: a name (`EPERM`) or a number 1…4095.
    static func errno(_ text: String) -> Int32? {
        if let number = Int32(text) { return (1...4095).contains(number) ? number : nil }
        return errnoNumbers[text]
    }

    /// The Linux address families (<bits/socket.h>, PF_*), by name; AF_MAX is 46.
    static let addressFamilies: [String: Int32] = [
        "AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4, "AF_APPLETALK": 5,
        "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9, "AF_INET6": 10, "AF_ROSE": 11, "AF_DECnet": 12,
        "AF_NETBEUI": 13, "AF_SECURITY": 14, "AF_KEY": 15, "AF_NETLINK": 16, "AF_PACKET": 17, "AF_ASH": 18,
        "AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21, "AF_SNA": 22, "AF_IRDA": 23, "AF_PPPOX": 24,
        "AF_WANPIPE": 25, "AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28, "AF_CAN": 29, "AF_TIPC": 30,
        "AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34, "AF_PHONET": 35, "AF_IEEE802154": 36,
        "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39, "AF_VSOCK": 40, "AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43,
        "AF_XDP": 44, "AF_MCTP": 45,
    ]
    static let addressFamilyLimit: Int32 = 46

    /// RestrictNamespaces= names (systemd's namespace_info[], src/shared/namespace-util.c).
    static let namespaces: [String: Int32] = [
        "cgroup": SWATCH_CLONE_NEWCGROUP, "ipc": SWATCH_CLONE_NEWIPC, "net": SWATCH_CLONE_NEWNET,
        "mnt": SWATCH_CLONE_NEWNS, "pid": SWATCH_CLONE_NEWPID, "user": SWATCH_CLONE_NEWUSER,
        "uts": SWATCH_CLONE_NEWUTS,
    ]
    static let allNamespaces: Int32 = namespaces.values.reduce(0, |)

    /// The system calls a SystemCallFilter= word names: a `@group` expanded
    /// (recursively), or the name itself. nil: an unknown group or a bad name.
    static func systemCalls(_ word: String) -> Set<String>? {
        if word.hasPrefix("@") {
            guard let members = SystemCallGroups.members[word] else { return nil }
            var result: Set<String> = []
            for member in members {
                guard let calls = systemCalls(member) else { return nil }
                result.formUnion(calls)
            }
            return result
        }
        let valid = !word.isEmpty && word.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        return valid ? [word] : nil
    }

    /// A TemporaryFileSystem= word: an absolute path, then `:OPTIONS`.
    static let temporaryFileSystemWord: @Sendable (String) -> String? = { word in
        let path = word.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return ValueParser.isAbsolutePath(path) ? nil : "Path is not absolute"
    }

    /// A BindPaths= word: `[-]SOURCE[:DESTINATION[:rbind|norbind]]`, absolute paths.
    static let bindWord: @Sendable (String) -> String? = { word in
        let parts = word.drop(while: { $0 == "-" }).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 3, parts.prefix(2).allSatisfy({ ValueParser.isAbsolutePath(String($0)) }) else {
            return "Invalid bind path"
        }
        if parts.count == 3, !["rbind", "norbind"].contains(parts[2]) { return "Invalid bind option" }
        return nil
    }

    static let systemCallFilter = systemCallList(inSandbox { $1(&$0.systemCallFilter) }, addsDefault: true)
    /// SystemCallLog=: the same syntax; the listed calls (or, `~`, the others) are logged.
    static let systemCallLog = systemCallList(inSandbox { $1(&$0.systemCallLog) }, addsDefault: false)

    static func systemCallList(_ field: @escaping Field<ServiceUnit, SystemCallFilter?>,
                               addsDefault: Bool) -> KeySetter<ServiceUnit> {
      KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            field(&service) { $0 = nil }
            return
        }
        var text = Substring(kv.raw)
        let inverted = text.hasPrefix("~")
        if inverted { text = text.dropFirst() }
        // The first assignment decides: an allow list (always with @default) or a deny list.
        var current: SystemCallFilter?
        field(&service) { current = $0 }
        var filter = current ?? {
            var new = SystemCallFilter(allowList: !inverted)
            if !inverted, addsDefault { for call in systemCalls("@default")! { new.entries[call] = 0 } }
            return new
        }()
        let kvText = KeyValue(key: kv.key, raw: String(text), location: kv.location, specifiers: kv.specifiers)
        for word in try kvText.words() {
            var name = Substring(word)
            var number: Int32 = 0
            if let colon = word.firstIndex(of: ":") {
                name = word[..<colon]
                let suffix = String(word[word.index(after: colon)...])
                guard let parsed = errno(suffix) else { throw kv.invalid("errno", suffix) }
                guard inverted else { throw kv.problem("An allow-listed system call cannot take an error number", word) }
                number = parsed
            }
            guard let calls = systemCalls(String(name)) else { throw kv.invalid("system call or group", String(name)) }
            for call in calls {
                if inverted == !filter.allowList {
                    filter.entries[call] = number
                } else {
                    filter.entries[call] = nil
                }
            }
        }
        field(&service) { $0 = filter }
      }
    }

    static let systemCallErrorNumber = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        let value = try kv.expanded()
        if value.isEmpty {
            service.sandbox.systemCallErrorNumber = nil
        } else if value == "kill" {
            service.sandbox.systemCallErrorNumber = .kill
        } else if let number = errno(value) {
            service.sandbox.systemCallErrorNumber = .errno(number)
        } else {
            throw kv.invalid("errno", value)
        }
    }

    static let systemCallArchitectures = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            service.sandbox.systemCallArchitectures = []
            return
        }
        let known: Set<String> = ["native", "x86", "x86-64", "x32", "arm", "arm64", "mips", "mips64", "mips64-n32",
                                  "mips-le", "mips64-le", "mips64-le-n32", "ppc", "ppc64", "ppc64-le", "s390",
                                  "s390x", "riscv64", "loongarch64", "parisc", "parisc64"]
        for word in try kv.words() {
            guard known.contains(word) else { throw kv.invalid("architecture", word) }
            if !service.sandbox.systemCallArchitectures.contains(word) { service.sandbox.systemCallArchitectures.append(word) }
        }
    }

    static let restrictAddressFamilies = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            service.sandbox.restrictAddressFamilies = nil
            return
        }
        if kv.raw == "none" {
            service.sandbox.restrictAddressFamilies = AddressFamilies(allowList: true, families: [])
            return
        }
        var text = Substring(kv.raw)
        let inverted = text.hasPrefix("~")
        if inverted { text = text.dropFirst() }
        var families = service.sandbox.restrictAddressFamilies ?? AddressFamilies(allowList: !inverted, families: [])
        let kvText = KeyValue(key: kv.key, raw: String(text), location: kv.location, specifiers: kv.specifiers)
        for word in try kvText.words() {
            guard let family = addressFamilies[word] else { throw kv.invalid("address family", word) }
            if inverted == !families.allowList { families.families.insert(family) } else { families.families.remove(family) }
        }
        service.sandbox.restrictAddressFamilies = families
    }

    static let restrictNamespaces = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            service.sandbox.restrictNamespaces = nil
            return
        }
        if let on = ValueParser.boolean(kv.raw) {
            service.sandbox.restrictNamespaces = on ? allNamespaces : 0
            return
        }
        var text = Substring(kv.raw)
        let inverted = text.hasPrefix("~")
        if inverted { text = text.dropFirst() }
        let kvText = KeyValue(key: kv.key, raw: String(text), location: kv.location, specifiers: kv.specifiers)
        var listed: Int32 = 0
        for word in try kvText.words() {
            guard let flag = namespaces[word] else { throw kv.invalid("namespace type", word) }
            listed |= flag
        }
        // A list names what is allowed (merged with earlier lists); `~` what is not.
        let current = service.sandbox.restrictNamespaces
        service.sandbox.restrictNamespaces = inverted ? (current ?? 0) | listed : (current ?? allNamespaces) & ~listed
    }
}
