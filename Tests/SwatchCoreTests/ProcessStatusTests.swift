import Glibc
import Testing
@testable import SwatchCore

@Suite struct ProcessStatusTests {
    @Test func readsTheOwnProcess() throws {
        let pid = getpid()
        #expect(ProcessStatus.command(of: pid)?.isEmpty == false)
        #expect(try #require(ProcessStatus.taskCount(of: [pid])) >= 1)
        #expect(try #require(ProcessStatus.residentBytes(of: [pid])) > 1_000_000)
    }

    @Test func aProcessThatIsGoneHasNothing() {
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        #expect(ProcessStatus.command(of: 5_000_000) == nil)
        #expect(ProcessStatus.taskCount(of: [5_000_000]) == nil)
        #expect(ProcessStatus.residentBytes(of: []) == nil)
    }
}
