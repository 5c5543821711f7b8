import Glibc

/// A user as a service runs as it: the credentials and what the environment
/// says about them (USER, LOGNAME, HOME, SHELL — systemd.exec(5) "ENVIRONMENT VARIABLES").
package struct UserIdentity: Hashable, Sendable {
    package var name: String
    package var uid: uid_t
    /// The primary group (Group= overrides it).
    package var gid: gid_t
    package var home: String
    package var shell: String

}

/// Lookups in the user and group databases for the sandbox (NSS: /etc/passwd, /etc/group and
/// whatever nsswitch.conf adds) with the reentrant calls. Done by swatchd
/// before a spawn — never in the child, where NSS is not async-signal-safe.
package enum UserAccounts {
    /// User= as systemd takes it: a name, or a number. A number without an
    /// entry is accepted as it is (gid the same number, home `/`): containers
    /// often run services as bare uids.
    package static func user(_ nameOrNumber: String) -> UserIdentity? {
        if let uid = uid_t(nameOrNumber) {
            return user(byID: uid)
                ?? UserIdentity(name: nameOrNumber, uid: uid, gid: gid_t(uid), home: "/", shell: "/bin/sh")
        }
        return passwdEntry { entry, buffer, size, result in
            getpwnam_r(nameOrNumber, entry, buffer, size, result)
        }
    }

    /// The passwd entry of `uid`, or nil.
    package static func user(byID uid: uid_t) -> UserIdentity? {
        passwdEntry { entry, buffer, size, result in getpwuid_r(uid, entry, buffer, size, result) }
    }

    /// Group=/SupplementaryGroups= as systemd takes them: a name, or a number
    /// (accepted without an entry).
    package static func group(_ nameOrNumber: String) -> gid_t? {
        if let gid = gid_t(nameOrNumber) { return gid }
        return groupEntry { entry, buffer, size, result in getgrnam_r(nameOrNumber, entry, buffer, size, result) }
    }

    /// Whether /etc/group (or NSS) has a group of this number.
    package static func groupExists(_ gid: gid_t) -> Bool {
        groupEntry { entry, buffer, size, result in getgrgid_r(gid, entry, buffer, size, result) } != nil
    }

    /// The groups `user` belongs to, its primary group first (getgrouplist(3),
    /// what initgroups would set).
    package static func memberships(of user: String, primary: gid_t) -> [gid_t] {
        var count: CInt = 32
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let capacity = count
            if getgrouplist(user, primary, &groups, &count) >= 0 {
                return Array(groups.prefix(Int(count)))
            }
            // -1: too small; `count` now holds the size needed.
            if count <= capacity { count = capacity * 2 }
        }
    }

    // MARK: - The reentrant calls and their buffers

    private static func passwdEntry(
        _ call: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int,
                 UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> CInt
    ) -> UserIdentity? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: size)
            // The entry's strings point into the buffer: read them while it is pinned.
            let (code, identity) = buffer.withUnsafeMutableBufferPointer { raw -> (CInt, UserIdentity?) in
                let code = call(&entry, raw.baseAddress!, size, &result)
                guard code == 0, result != nil else { return (code, nil) }
                return (0, UserIdentity(
                    name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid,
                    home: entry.pw_dir.map { String(cString: $0) } ?? "/",
                    shell: entry.pw_shell.map { String(cString: $0) } ?? "/bin/sh"
                ))
            }
            if code == ERANGE {
                size *= 4
                continue
            }
            return identity
        }
        return nil
    }

    private static func groupEntry(
        _ call: (UnsafeMutablePointer<Glibc.group>, UnsafeMutablePointer<CChar>, Int,
                 UnsafeMutablePointer<UnsafeMutablePointer<Glibc.group>?>) -> CInt
    ) -> gid_t? {
        var size = 1024
        while size <= 1 << 20 {
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: size)
            let code = buffer.withUnsafeMutableBufferPointer { call(&entry, $0.baseAddress!, size, &result) }
            if code == ERANGE {
                size *= 4
                continue
            }
            guard code == 0, result != nil else { return nil }
            return entry.gr_gid  // a number: nothing of it points into the buffer
        }
        return nil
    }
}
