// LoadCredential=, SetCredential=, ImportCredential= (systemd.exec(5),
// "CREDENTIALS"), parsed as systemd's src/core/load-fragment.c parses them.
// The encrypted forms are refused: this build cannot decrypt them, and a
// service must not start without a credential it asked for.

enum CredentialKeys {
    /// A credential name: not empty, no `/`, not `.` or `..` (systemd's credential_name_valid()).
    static func isValidID(_ id: Substring) -> Bool {
        !id.isEmpty && !id.contains("/") && id != "." && id != ".." && id.utf8.count <= 255
    }

    static let load = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        let value = try kv.expanded()
        guard !value.isEmpty else {
            service.sandbox.credentials.removeAll { if case .load = $0 { true } else { false } }
            return
        }
        let parts = value.split(separator: ":", maxSplits: 1)
        guard isValidID(parts[0]) else { throw kv.invalid("credential name", String(parts[0])) }
        let path = parts.count > 1 ? String(parts[1]) : nil
        if let path, path.isEmpty || path.split(separator: "/").contains("..") {
            throw kv.invalid("credential path", path)
        }
        service.sandbox.credentials.append(.load(id: String(parts[0]), path: path))
    }

    static let set = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else {
            service.sandbox.credentials.removeAll { if case .set = $0 { true } else { false } }
            return
        }
        let parts = kv.raw.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, isValidID(parts[0]) else { throw kv.invalid("credential", kv.raw) }
        // The value is C-unescaped (`\n`, `\x00`), as systemd does; one word, whatever it holds.
        service.sandbox.credentials.append(.set(id: String(parts[0]), value: try kv.unescaped(parts[1])))
    }

    static let importing = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        let value = try kv.expanded()
        guard !value.isEmpty else {
            service.sandbox.credentials.removeAll { if case .importing = $0 { true } else { false } }
            return
        }
        guard !value.contains("/") else { throw kv.invalid("credential glob", value) }
        service.sandbox.credentials.append(.importing(glob: value))
    }

    static let encrypted = KeySetter<ServiceUnit> { (service: inout ServiceUnit, kv: KeyValue) throws(ValueError) in
        guard !kv.raw.isEmpty else { return }
        throw ValueError(message: "\(kv.key)= is not supported by this build (it cannot decrypt credentials: "
            + "systemd-creds(1)); refusing to start the unit without the credential it asks for: \(kv.raw)")
    }
}
