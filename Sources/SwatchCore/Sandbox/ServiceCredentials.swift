import Glibc
import SystemPackage

/// The credentials of a unit (systemd.exec(5), "CREDENTIALS"): read by swatchd
/// before the first command of a start, written to a directory of the unit's
/// own on a fresh ramfs (tmpfs where there is no ramfs) that no other user may
/// read — the directory mode 0500 and the files 0400, owned by the service's
/// user — then made read-only. `$CREDENTIALS_DIRECTORY` names it; it goes when
/// the unit is inactive. As systemd's src/core/credential.c, without encryption.
package enum ServiceCredentials {
    /// The credentials as (name, contents), in the order a service sees them;
    /// LoadCredential= and ImportCredential= win over SetCredential= for one name.
    static func collect(_ sources: [CredentialSource], managerDirectory: String?) throws(SandboxError) -> [(String, [UInt8])] {
        var loaded: [String: [UInt8]] = [:]
        var order: [String] = []
        func add(_ id: String, _ bytes: [UInt8], replacing: Bool) {
            if loaded[id] == nil { order.append(id) } else if !replacing { return }
            loaded[id] = bytes
        }
        func read(_ path: String, directive: String, id: String) throws(SandboxError) -> [UInt8] {
            switch UnitDirectory.read(path) {
            case .success(let bytes): return bytes
            case .failure(let errno): throw .credential(directive: directive, id: id, reason: "\(path): \(errno)")
            }
        }
        for source in sources {
            switch source {
            case .load(let id, let written):
                var path = written ?? id
                if !path.hasPrefix("/") {
                    guard let managerDirectory else {
                        throw .credential(directive: "LoadCredential=", id: id,
                                          reason: "no absolute path, and swatchd has no $CREDENTIALS_DIRECTORY of its own")
                    }
                    path = managerDirectory + "/" + path
                }
                if let info = try? FileSystem.linkStatus(path), FileSystem.type(info.st_mode) == S_IFDIR {
                    for name in UnitDirectory.list(path) ?? [] {
                        guard let entry = try? FileSystem.linkStatus(path + "/" + name),
                              FileSystem.type(entry.st_mode) == S_IFREG else { continue }
                        add(id + "_" + name, try read(path + "/" + name, directive: "LoadCredential=", id: id), replacing: true)
                    }
                } else {
                    add(id, try read(path, directive: "LoadCredential=", id: id), replacing: true)
                }
            case .importing(let glob):
                guard let managerDirectory else { continue }  // Nothing to import: not an error (systemd).
                for name in UnitDirectory.list(managerDirectory) ?? [] where fnmatch(glob, name, 0) == 0 {
                    add(name, try read(managerDirectory + "/" + name, directive: "ImportCredential=", id: name), replacing: true)
                }
            case .set(let id, let value):
                add(id, Array(value.utf8), replacing: false)
            }
        }
        return order.map { ($0, loaded[$0]!) }
    }

    /// Creates `directory` (its parent must exist) as a mount of its own holding
    /// the credentials, owned by `owner` (nil: swatchd's user), read-only.
    static func install(_ credentials: [(String, [UInt8])], at directory: String,
                        owner: (uid: uid_t, gid: gid_t)?) throws(SandboxError) {
        func fail(_ what: String) -> SandboxError {
            .credential(directive: "LoadCredential=", id: "*", reason: "\(what) \(directory): \(Errno(rawValue: errno))")
        }
        remove(directory)
        guard mkdir(directory, 0o700) == 0 else { throw fail("mkdir") }
        let flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        var mounted = mount("ramfs", directory, "ramfs", flags, "mode=0700") == 0
            || mount("tmpfs", directory, "tmpfs", flags, "mode=0700,size=1m") == 0
        if !mounted {
            // Without CAP_SYS_ADMIN (a user manager) a directory of swatchd's runtime
            // directory, itself private to the user, stands in, as systemd's does.
            guard errno == EPERM, getuid() != 0 else { throw fail("mount") }
            mounted = false
        }
        let uid = owner?.uid ?? getuid(), gid = owner?.gid ?? getgid()
        for (id, bytes) in credentials {
            let path = directory + "/" + id
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o400)
            guard fd >= 0 else { throw fail("open \(id) in") }
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            let ok = written == bytes.count && fchown(fd, uid, gid) == 0 && fchmod(fd, 0o400) == 0
            close(fd)
            guard ok else { throw fail("write \(id) in") }
        }
        guard chown(directory, uid, gid) == 0, chmod(directory, 0o500) == 0 else { throw fail("chown") }
        if mounted, mount(nil, directory, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY) | flags, nil) != 0 {
            throw fail("remount read-only")
        }
    }

    /// Unmounts and removes a directory `install` made; nothing there is fine.
    static func remove(_ directory: String) {
        _ = umount2(directory, Int32(MNT_DETACH))
        if let names = UnitDirectory.list(directory) {
            for name in names { _ = unlink(directory + "/" + name) }
        }
        _ = rmdir(directory)
    }
}
