import Glibc
import SwatchControl

/// DynamicUser= (systemd.exec(5)): a uid/gid pair of the same number, picked
/// from systemd's range for dynamic users when the unit starts and given back
/// when it stops. The number is stable per user name — the first candidate is
/// a hash of the name, so a service gets the same uid every time unless
/// another owner took it meanwhile — and collisions are probed linearly, as
/// systemd's dynamic-user.c does (it hashes with siphash and locks files under
/// /run/systemd/dynamic-uid; swatchd keeps its allocations in memory).
package enum DynamicUserAllocator {
    /// systemd's DYNAMIC_UID_MIN...DYNAMIC_UID_MAX (0xef00...0xffef).
    package static let range: ClosedRange<uid_t> = 61184...65519

    /// The first candidate for `name`: 32-bit FNV-1a of its UTF-8 bytes,
    /// folded into the range. A fixed hash, unlike Swift's seeded `Hasher`:
    /// the same name gets the same uid across restarts of swatchd.
    package static func firstCandidate(for name: String) -> uid_t {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return range.lowerBound + hash % UInt32(range.count)
    }

    /// The uid for `name`: the first candidate that is not `taken`, probing
    /// upwards and wrapping around once; nil when the whole range is taken.
    package static func allocate(_ name: String, isTaken: (uid_t) -> Bool) -> uid_t? {
        let first = firstCandidate(for: name)
        let size = UInt32(range.count)
        for step in 0..<size {
            let candidate = range.lowerBound + (first - range.lowerBound + step) % size
            if !isTaken(candidate) { return candidate }
        }
        return nil
    }

    /// Whether `uid` is in use outside swatchd's own allocations: a user or a
    /// group of that number in the databases (the pair shares one number), or
    /// a running process of that uid (a leftover of an earlier owner, or of
    /// another service manager). `processOwners` is `runningProcessOwners()`,
    /// read once per allocation.
    package static func inUse(_ uid: uid_t, processOwners: Set<uid_t>) -> Bool {
        isAccount(uid) || processOwners.contains(uid)
    }

    /// Whether a user or a group of that number is in the databases (getpwuid(3), getgrgid(3)).
    package static func isAccount(_ uid: uid_t) -> Bool {
        UserAccounts.user(byID: uid) != nil || UserAccounts.groupExists(gid_t(uid))
    }

    /// The uids that own a process now: the owners of the /proc/<pid> directories.
    package static func runningProcessOwners() -> Set<uid_t> {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var owners: Set<uid_t> = []
        while let entry = readdir(directory) {
            let isPID = withName(of: entry) { raw in
                raw.first.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false
            }
            guard isPID else { continue }
            var info = stat()
            let found = withName(of: entry) { raw in
                fstatat(dirfd(directory), raw.bindMemory(to: CChar.self).baseAddress!, &info, 0) == 0
            }
            if found { owners.insert(info.st_uid) }
        }
        return owners
    }
}

/// The dynamic users one swatchd holds: user name → uid, and the units that
/// use it (the instances of a template share their prefix's user, as in
/// systemd). A uid is held from the first start until the last of its units
/// is inactive again — kept across an automatic restart, so a restarted
/// service finds its files owned by itself.
///
/// A uid given back with no process of its units left running is remembered
/// for its name: the next start takes it again after a check of the user and
/// group databases alone. Nothing can run as it but what another manager
/// started as that number meanwhile, which systemd does not check either
/// (pick_uid() in src/core/dynamic-user.c asks getpwuid, getgrgid and the IPC
/// objects). So an Accept=yes template with DynamicUser= does not read all of
/// /proc per connection; a number picked anew still is checked against the
/// owners of running processes.
package struct DynamicUserRegistry: Sendable {
    struct Holding: Sendable {
        var uid: uid_t
        var units: Set<UnitName>
        /// A unit of it let go while a process of its still ran (KillMode=process, none).
        var processesLeft = false
    }

    private var holdings: [String: Holding] = [:]
    /// Uids given back with nothing left running, by user name.
    private var givenBack: [String: uid_t] = [:]

    package init() {}

    /// The uids swatchd holds now.
    package var heldUIDs: Set<uid_t> { Set(holdings.values.map(\.uid)) }

    /// The uid held for `name`, if any.
    package func uid(of name: String) -> uid_t? { holdings[name]?.uid }

    /// The uid of the dynamic user `name` for `unit`: the one already held
    /// (another start of the unit, or another instance), else the one given back
    /// for `name` unless swatchd holds it or `isAccount` claims it, else a new one
    /// that neither `isTaken` nor swatchd's own holdings claim. nil: the range is full.
    package mutating func acquire(_ name: String, for unit: UnitName, isAccount: (uid_t) -> Bool = { _ in false },
                                  isTaken: (uid_t) -> Bool) -> uid_t? {
        if var holding = holdings[name] {
            holding.units.insert(unit)
            holdings[name] = holding
            return holding.uid
        }
        let held = heldUIDs
        if let uid = givenBack.removeValue(forKey: name), !held.contains(uid), !isAccount(uid) {
            holdings[name] = Holding(uid: uid, units: [unit])
            return uid
        }
        guard let uid = DynamicUserAllocator.allocate(name, isTaken: { held.contains($0) || isTaken($0) }) else {
            return nil
        }
        holdings[name] = Holding(uid: uid, units: [unit])
        return uid
    }

    /// `unit` is inactive: it no longer holds its dynamic user. Returns the
    /// user when `unit` was its last holder (its IPC objects go now: RemoveIPC=,
    /// which DynamicUser= implies). `processesLeft`: a process of the unit still runs.
    package mutating func release(_ unit: UnitName, processesLeft: Bool = false) -> (name: String, uid: uid_t)? {
        guard let (name, holding) = holdings.first(where: { $0.value.units.contains(unit) }) else { return nil }
        var rest = holding
        rest.units.remove(unit)
        rest.processesLeft = rest.processesLeft || processesLeft
        if rest.units.isEmpty {
            holdings[name] = nil
            if !rest.processesLeft { givenBack[name] = holding.uid }
            return (name, holding.uid)
        }
        holdings[name] = rest
        return nil
    }

    // MARK: - Across a daemon-reexec

    /// The lines of the re-exec state (Supervisor+Reexec.swift) that carry the registry:
    /// `dynamic-user NAME UID LEFT UNIT…` per user held, `dynamic-user-given-back NAME UID`
    /// per number remembered; names escaped as words.
    package var reexecLines: [String] {
        let held = holdings.sorted { $0.key < $1.key }.map { name, holding in
            (["dynamic-user", ControlEscaping.escapeWord(name), String(holding.uid), holding.processesLeft ? "1" : "0"]
                + holding.units.map(\.description).sorted()).joined(separator: " ")
        }
        let back = givenBack.sorted { $0.key < $1.key }.map { name, uid in
            "dynamic-user-given-back \(ControlEscaping.escapeWord(name)) \(uid)"
        }
        return held + back
    }

    /// Takes back one line of `reexecLines` (its words); a line it cannot read is left out.
    package mutating func restore(_ words: [String]) {
        guard words.count >= 3, let name = try? ControlEscaping.unescapeWord(words[1]), let uid = uid_t(words[2]) else { return }
        if words[0] == "dynamic-user-given-back" {
            givenBack[name] = uid
        } else if words.count >= 4 {
            let units = Set(words.dropFirst(4).compactMap { UnitName(parsing: $0) })
            holdings[name] = Holding(uid: uid, units: units, processesLeft: words[3] == "1")
        }
    }
}
