import CSwatch
import Glibc

/// RemoveIPC= (systemd.exec(5)): when a service's user is given back, the
/// System V IPC objects (/proc/sysvipc) and the POSIX shared memory and
/// message queues (/dev/shm, /dev/mqueue) owned by its uid or gid go with it,
/// as systemd's clean-ipc.c does — a later owner of a recycled dynamic uid
/// must not inherit them. Never for root.
package enum IPCObjects {
    /// One table of /proc/sysvipc: its file, and which columns hold the id, uid and gid.
    struct Table {
        var path: String
        var kind: Int32
        var idColumn: Int
        var uidColumn: Int
        var gidColumn: Int
    }

    static let tables = [
        // key shmid perms size cpid lpid nattch uid gid cuid cgid ...
        Table(path: "/proc/sysvipc/shm", kind: Int32(SWATCH_IPC_SHARED_MEMORY.rawValue), idColumn: 1, uidColumn: 7, gidColumn: 8),
        // key semid perms nsems uid gid cuid cgid ...
        Table(path: "/proc/sysvipc/sem", kind: Int32(SWATCH_IPC_SEMAPHORE_SET.rawValue), idColumn: 1, uidColumn: 4, gidColumn: 5),
        // key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid ...
        Table(path: "/proc/sysvipc/msg", kind: Int32(SWATCH_IPC_MESSAGE_QUEUE.rawValue), idColumn: 1, uidColumn: 7, gidColumn: 8),
    ]

    /// The ids in a /proc/sysvipc table whose owner is `uid` or whose group is `gid`.
    static func ids(in text: String, table: Table, uid: uid_t, gid: gid_t) -> [Int32] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count > max(table.idColumn, table.uidColumn, table.gidColumn),
                  let id = Int32(columns[table.idColumn]),
                  let owner = uid_t(columns[table.uidColumn]), let group = gid_t(columns[table.gidColumn])
            else { return nil }
            return owner == uid || group == gid ? id : nil
        }
    }

    /// Removes every IPC object of `uid`/`gid`; returns how many went.
    @discardableResult
    package static func remove(uid: uid_t, gid: gid_t) -> Int {
        guard uid != 0 else { return 0 }
        var removed = 0
        for table in tables {
            guard let text = try? FileSystem.readText(table.path) else { continue }
            for id in ids(in: text, table: table, uid: uid, gid: gid) where swatch_ipc_remove(table.kind, id) == 0 {
                removed += 1
            }
        }
        for directory in ["/dev/shm", "/dev/mqueue"] {
            for name in ServiceDirectories.entries(of: directory) {
                let path = directory + "/" + name
                guard let info = try? FileSystem.linkStatus(path), info.st_uid == uid || info.st_gid == gid else { continue }
                ServiceDirectories.remove(path)
                removed += 1
            }
        }
        return removed
    }
}
