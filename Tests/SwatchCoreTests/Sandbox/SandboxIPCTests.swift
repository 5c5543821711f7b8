import Glibc
import Testing
@testable import SwatchCore

/// RemoveIPC= (IPCObjects.swift): which System V objects and POSIX files belong to a user.
@Suite struct SandboxIPCTests {
    @Test func findsTheObjectsOfAUserOrGroupInASysvipcTable() {
        let shm = """
                   key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
                     0          5  1600                  4096   100   100      0 61200 61200 61200 61200          0          0 1700000000                     0                     0
                     0          6  1600                  4096   100   100      0     0 61200     0     0          0          0 1700000000                     0                     0
                     0          7  1600                  4096   100   100      0  1000  1000  1000  1000          0          0 1700000000                     0                     0
            """
        #expect(IPCObjects.ids(in: shm, table: IPCObjects.tables[0], uid: 61200, gid: 61200) == [5, 6])
        let sem = """
                   key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
                     0          3   600          1 61200 61200     0     0          0 1700000000
            """
        #expect(IPCObjects.ids(in: sem, table: IPCObjects.tables[1], uid: 61200, gid: 61200) == [3])
        #expect(IPCObjects.ids(in: sem, table: IPCObjects.tables[1], uid: 1, gid: 1) == [])
    }

    @Test(.enabled(if: getuid() == 0 && access("/dev/shm", W_OK) == 0))
    func removesPOSIXSharedMemoryOfTheUserAndNothingElse() throws {
        let uid: uid_t = 61_997
        let mine = "/dev/shm/swatch-test-ipc-\(getpid())-mine"
        let other = "/dev/shm/swatch-test-ipc-\(getpid())-other"
        for path in [mine, other] {
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(fd >= 0)
            close(fd)
        }
        defer { unlink(mine); unlink(other) }
        try #require(chown(mine, uid, uid) == 0)
        #expect(IPCObjects.remove(uid: uid, gid: uid) >= 1)
        #expect(access(mine, F_OK) != 0)
        #expect(access(other, F_OK) == 0)
        // Never root's.
        #expect(IPCObjects.remove(uid: 0, gid: 0) == 0)
        #expect(access(other, F_OK) == 0)
    }
}
