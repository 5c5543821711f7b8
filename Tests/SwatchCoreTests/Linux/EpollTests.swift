import Glibc
import SystemPackage
import Testing
@testable import SwatchCore

@Suite struct EpollTests {
    /// A pipe whose ends are close-on-exec and non-blocking.
    private func pipe() -> (read: FileDescriptor, write: FileDescriptor) {
        let (read, write) = try! FileDescriptor.closeOnExecPipe()
        for fd in [read, write] {
            _ = fcntl(fd.rawValue, F_SETFL, O_NONBLOCK)
        }
        return (read, write)
    }

    @Test func reportsTheTokenOfAReadableFd() throws {
        let epoll = try Epoll()
        let (read, write) = pipe()
        defer { try? read.close(); try? write.close() }
        let registration = try epoll.add(read, events: .readable, token: 42)
        #expect(try epoll.wait(timeout: 0).isEmpty)

        _ = try write.writeAll("x".utf8)
        let events = try epoll.wait(timeout: 5_000)
        #expect(events.count == 1)
        #expect(events.first?.token == 42)
        #expect(events.first?.registration == registration.id)
        #expect(events.first?.readable == true)
        #expect(epoll.isLive(registration.id))
    }

    /// The supervisor closes an fd while handling one event of a batch, and a
    /// new fd gets the same number and is registered before the batch's next
    /// event: that event belongs to the old registration and must be dropped.
    @Test func staleEventIsNotLiveAfterTheFdNumberIsReused() throws {
        let epoll = try Epoll()
        let first = pipe()
        let second = pipe()
        defer { try? first.read.close(); try? first.write.close(); try? second.write.close() }
        let firstRegistration = try epoll.add(first.read, events: .readable, token: 1)
        let oldRegistration = try epoll.add(second.read, events: .readable, token: 2)
        _ = try first.write.writeAll("a".utf8)
        _ = try second.write.writeAll("b".utf8)
        let batch = try epoll.wait(timeout: 5_000)
        #expect(Set(batch.map(\.token)) == [1, 2])

        // While handling the first event: drop the second fd, and reuse its
        // number. dup2 closes the old file and puts the new one at that number
        // in one step, so no parallel test can get the number in between.
        try epoll.remove(oldRegistration)
        let replacement = pipe()
        defer { try? replacement.write.close() }
        let moved = try replacement.read.duplicate(as: second.read)
        #expect(moved == second.read)
        try replacement.read.close()
        defer { try? moved.close() }
        let newRegistration = try epoll.add(moved, events: .readable, token: 2)

        let stale = try #require(batch.first { $0.registration == oldRegistration.id })
        #expect(stale.token == 2)  // the same token and fd number…
        #expect(!epoll.isLive(stale.registration))  // …but not the live registration
        #expect(epoll.isLive(newRegistration.id))
        #expect(epoll.isLive(firstRegistration.id))
        #expect(newRegistration.id != oldRegistration.id)

        // The new pipe is empty: the next wait reports only the first, still readable fd.
        let next = try epoll.wait(timeout: 0)
        #expect(next.map(\.registration) == [firstRegistration.id])
    }

    @Test func modifyChangesWhatIsWatched() throws {
        let epoll = try Epoll()
        let (read, write) = pipe()
        defer { try? read.close(); try? write.close() }
        let registration = try epoll.add(write, events: [], token: 7)
        #expect(try epoll.wait(timeout: 0).isEmpty)
        try epoll.modify(registration, events: .writable)
        let events = try epoll.wait(timeout: 5_000)
        #expect(events.map(\.token) == [7])
        #expect(events.first?.writable == true)
    }

    @Test func hangupIsReportedWhenTheWriterCloses() throws {
        let epoll = try Epoll()
        let (read, write) = pipe()
        defer { try? read.close() }
        _ = try epoll.add(read, events: .readable, token: 3)
        try write.close()
        let events = try epoll.wait(timeout: 5_000)
        #expect(events.first?.hangup == true)
    }

    @Test func epollFdIsCloseOnExec() throws {
        let epoll = try Epoll()
        #expect(LinuxTestSupport.isCloseOnExec(epoll.fd))
    }
}
