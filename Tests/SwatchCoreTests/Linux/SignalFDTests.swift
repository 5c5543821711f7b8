import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

/// A blocked, process-directed signal reaches the signalfd only when no
/// thread of the process has it unblocked — in the parallel test runner some
/// always have, so each test runs in a forked, single-threaded copy of the
/// test process, as swatchd runs (one thread, signals blocked in main).
@Suite struct SignalFDTests {
    /// Waits until `fd` is readable (poll), at most `seconds`.
    private static func readable(_ fd: FileDescriptor, within seconds: Double = 10) -> Bool {
        var entry = pollfd(fd: fd.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, CInt(seconds * 1000)) == 1
    }

    @Test func deliversSIGCHLDOfASpawnedChildAndTheReaperCollectsIt() {
        let status = LinuxTestSupport.inForkedChild {
            guard let signals = try? SignalFD() else { return 2 }
            guard let pid = try? Spawner.spawn(SpawnRequest(executable: "/bin/true")) else { return 3 }
            guard Self.readable(signals.fd) else { return 4 }
            guard let infos = try? signals.read(),
                  let chld = infos.first(where: { $0.signal == SIGCHLD }) else { return 5 }
            guard chld.senderPID == pid, chld.status == 0 else { return 6 }
            // Read, the fd is no longer readable.
            guard (try? signals.read())?.isEmpty == true else { return 7 }
            let reaped = Reaper.reapAny()
            guard reaped.count == 1, reaped[0].pid == pid, reaped[0].status == .exited(0) else { return 8 }
            guard Reaper.reapAny().isEmpty else { return 9 }
            return 0
        }
        #expect(status == .exited(0))
    }

    @Test func collectsTermAndHupInsteadOfDying() {
        let status = LinuxTestSupport.inForkedChild {
            guard let signals = try? SignalFD() else { return 2 }
            // Without the block, SIGTERM's default action would end this process with a signal.
            kill(getpid(), SIGTERM)
            kill(getpid(), SIGHUP)
            guard Self.readable(signals.fd) else { return 3 }
            guard let infos = try? signals.read() else { return 4 }
            guard infos.count == 2 else { return 5 }
            var seenTerm = false
            var seenHup = false
            for info in infos {
                guard info.senderPID == getpid() else { return 6 }
                if info.signal == SIGTERM { seenTerm = true }
                if info.signal == SIGHUP { seenHup = true }
            }
            return seenTerm && seenHup ? 0 : 7
        }
        #expect(status == .exited(0))
    }

    @Test func signalFdIsCloseOnExecAndNonBlocking() {
        let status = LinuxTestSupport.inForkedChild {
            guard let signals = try? SignalFD() else { return 2 }
            guard LinuxTestSupport.isCloseOnExec(signals.fd), LinuxTestSupport.isNonBlocking(signals.fd) else { return 3 }
            // Nothing pending: an empty read, not a block.
            guard (try? signals.read())?.isEmpty == true else { return 4 }
            return 0
        }
        #expect(status == .exited(0))
    }
}
