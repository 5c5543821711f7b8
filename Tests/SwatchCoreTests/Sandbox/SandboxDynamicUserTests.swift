import Glibc
import Testing
@testable import SwatchCore

/// DynamicUser= numbers (DynamicUser.swift): a stable first candidate per
/// name, linear probing past what is taken, and a registry that keeps a uid
/// while any unit holds it.
@Suite struct SandboxDynamicUserTests {
    private let hello = UnitName(prefix: "hello", type: .service)
    private let echoA = UnitName(prefix: "echo", instance: "a", type: .service)
    private let echoB = UnitName(prefix: "echo", instance: "b", type: .service)

    @Test func firstCandidateIsAStableHashOfTheNameInsideSystemdsRange() {
        let range = DynamicUserAllocator.range
        #expect(range == 61184...65519)
        // FNV-1a of "hello" is 0x4f9f2cab; 1335831723 % 4336 == 1179.
        #expect(DynamicUserAllocator.firstCandidate(for: "hello") == 61184 + 1179)
        for name in ["hello", "echo", "a", "", "some-long-service-name"] {
            #expect(range.contains(DynamicUserAllocator.firstCandidate(for: name)))
            #expect(DynamicUserAllocator.firstCandidate(for: name) == DynamicUserAllocator.firstCandidate(for: name))
        }
        #expect(DynamicUserAllocator.firstCandidate(for: "hello") != DynamicUserAllocator.firstCandidate(for: "echo"))
    }

    @Test func probesLinearlyPastTakenNumbersAndWrapsAround() {
        let first = DynamicUserAllocator.firstCandidate(for: "hello")
        #expect(DynamicUserAllocator.allocate("hello") { _ in false } == first)
        #expect(DynamicUserAllocator.allocate("hello") { $0 == first || $0 == first + 1 } == first + 2)
        // Everything from the first candidate to the top is taken: the bottom of the range is next.
        #expect(DynamicUserAllocator.allocate("hello") { $0 >= first } == 61184)
        #expect(DynamicUserAllocator.allocate("hello") { _ in true } == nil)
    }

    @Test func theRegistryKeepsAUidUntilItsLastUnitLetsGo() {
        var registry = DynamicUserRegistry()
        let uid = registry.acquire("echo", for: echoA) { _ in false }
        #expect(uid == DynamicUserAllocator.firstCandidate(for: "echo"))
        // Another instance of the template shares the user; a restart asks again and gets the same.
        #expect(registry.acquire("echo", for: echoB) { _ in true } == uid)
        #expect(registry.acquire("echo", for: echoA) { _ in true } == uid)
        #expect(registry.release(echoA) == nil)
        #expect(registry.uid(of: "echo") == uid)
        let released = registry.release(echoB)
        #expect(released?.name == "echo" && released?.uid == uid)
        #expect(registry.uid(of: "echo") == nil)
        #expect(registry.release(echoB) == nil)
    }

    /// A number given back with nothing left running is the name's again at the next start,
    /// after the account check alone: the running processes (all of /proc) are not asked.
    /// One given back while a process of its still ran is picked anew, all checks made.
    @Test func aNumberGivenBackCleanIsTakenAgainWithoutAskingTheProcesses() {
        var registry = DynamicUserRegistry()
        let uid = registry.acquire("echo", for: echoA) { _ in false }!
        #expect(registry.release(echoA)?.uid == uid)
        var processesAsked = 0
        let again = registry.acquire("echo", for: echoB, isAccount: { _ in false }) { _ in
            processesAsked += 1
            return true
        }
        #expect(again == uid)
        #expect(processesAsked == 0)

        // Now a user of that number exists: picked anew, past it.
        #expect(registry.release(echoB)?.uid == uid)
        #expect(registry.acquire("echo", for: echoA, isAccount: { $0 == uid }) { $0 == uid } == uid + 1)

        // Let go while a process still ran: the next start asks the running processes.
        #expect(registry.release(echoA, processesLeft: true)?.uid == uid + 1)
        processesAsked = 0
        let fresh = registry.acquire("echo", for: echoA, isAccount: { _ in false }) { candidate in
            processesAsked += 1
            return candidate == uid + 1
        }
        #expect(processesAsked > 0)
        #expect(fresh == uid)
    }

    /// Across a daemon-reexec (SandboxPreparation+Reexec.swift) the registry goes as lines and
    /// comes back whole: the users held, by whom, whether a process was left, and the numbers
    /// given back — a name that needs quoting too.
    @Test func theRegistryCrossesAReexecAsLines() {
        var registry = DynamicUserRegistry()
        let echo = registry.acquire("echo", for: echoA) { _ in false }!
        _ = registry.acquire("echo", for: echoB) { _ in false }
        let spaced = registry.acquire("two words", for: hello) { _ in false }!
        _ = registry.release(hello, processesLeft: false)
        let other = UnitName(prefix: "other", type: .service)
        let left = registry.acquire("left", for: other) { _ in false }!
        _ = registry.acquire("left", for: hello) { _ in false }
        _ = registry.release(other, processesLeft: true)

        var restored = DynamicUserRegistry()
        for line in registry.reexecLines { restored.restore(line.split(separator: " ").map(String.init)) }
        #expect(restored.reexecLines == registry.reexecLines)
        #expect(restored.uid(of: "echo") == echo && restored.uid(of: "left") == left && restored.heldUIDs == [echo, left])
        // Both instances still hold it: the first to stop does not give it back.
        #expect(restored.release(echoA) == nil)
        #expect(restored.release(echoB)?.uid == echo)
        // A number given back clean is the name's again without asking the processes.
        #expect(restored.acquire("two words", for: echoA, isAccount: { _ in false }) { _ in true } == spaced)
        // One unit let go of `left` while a process ran: its last release remembers nothing.
        #expect(restored.release(hello)?.uid == left)
        #expect(!restored.reexecLines.contains { $0.hasPrefix("dynamic-user-given-back left ") })
    }

    /// A number given back for one name that another name took meanwhile is not shared.
    @Test func aNumberGivenBackAndTakenByAnotherNameIsNotShared() {
        var registry = DynamicUserRegistry()
        let uid = registry.acquire("hello", for: hello) { _ in false }!
        _ = registry.release(hello)
        let clash = (0..<100_000).lazy.map { "svc\($0)" }
            .first { DynamicUserAllocator.firstCandidate(for: $0) == uid }!
        let clashing = UnitName(prefix: clash, type: .service)
        #expect(registry.acquire(clash, for: clashing) { _ in false } == uid)
        #expect(registry.acquire("hello", for: hello) { _ in false } == uid + 1)
    }

    @Test func twoNamesNeverShareANumber() {
        var registry = DynamicUserRegistry()
        let hello = registry.acquire("hello", for: hello) { _ in false }!
        // A name whose first candidate is hello's number probes on to the next.
        let clash = (0..<100_000).lazy.map { "svc\($0)" }
            .first { DynamicUserAllocator.firstCandidate(for: $0) == hello }!
        let other = registry.acquire(clash, for: UnitName(prefix: clash, type: .service)) { _ in false }
        #expect(other == hello + 1)
        #expect(registry.heldUIDs == [hello, hello + 1])
    }

    /// The live check: numbers of /etc/passwd users, of /etc/group groups and
    /// of running processes are in use.
    @Test func numbersOfUsersGroupsAndProcessesAreInUse() {
        let owners = DynamicUserAllocator.runningProcessOwners()
        #expect(owners.contains(getuid()))
        #expect(DynamicUserAllocator.inUse(0, processOwners: []))          // root: a user
        #expect(DynamicUserAllocator.inUse(65534, processOwners: []))      // nobody (and nogroup)
        #expect(DynamicUserAllocator.inUse(61_999, processOwners: [61_999]))
        let free = DynamicUserAllocator.range.first { !DynamicUserAllocator.inUse($0, processOwners: owners) }
        #expect(free != nil)
    }
}
