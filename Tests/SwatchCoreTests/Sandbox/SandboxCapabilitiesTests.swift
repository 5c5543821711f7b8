import Testing
@testable import SwatchCore

/// Capability arithmetic (Capabilities.swift): what the bounding set keeps
/// and drops, and which ambient capabilities can be granted.
@Suite struct SandboxCapabilitiesTests {
    @Test func anUnsetBoundingSetKeepsEverythingEvenOnANewerKernel() {
        #expect(Capabilities.bounding(requested: nil, privateDevices: false) == .max)
        #expect(Capabilities.drops(keeping: .max, last: 40) == [])
        #expect(Capabilities.drops(keeping: .max, last: 63) == [])
    }

    @Test func privateDevicesTakesMknodAndRawIO() {
        let kept = Capabilities.bounding(requested: nil, privateDevices: true)
        #expect(Capabilities.drops(keeping: kept, last: 40) == [17, 27])
        // CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_MKNOD with PrivateDevices=: only 10 stays.
        let asked = CapabilitySet(bits: 1 << 10 | 1 << 27)
        #expect(Capabilities.bounding(requested: asked, privateDevices: true) == 1 << 10)
    }

    @Test func dropsWhatIsNotKeptUpToTheKernelsLastCapability() {
        #expect(Capabilities.drops(keeping: 1 << 10, last: 12) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12])
        let withoutSysAdmin = CapabilitySet.all.bits & ~(UInt64(1) << 21)
        #expect(Capabilities.drops(keeping: withoutSysAdmin, last: 40) == [21])
    }

    @Test func ambientIsLimitedToTheBoundingSetAndTheKernel() {
        let asked = CapabilitySet(bits: 1 << 10 | 1 << 12 | 1 << 45)
        #expect(Capabilities.ambient(requested: asked, bounding: .max, last: 40) == 1 << 10 | 1 << 12)
        #expect(Capabilities.ambient(requested: asked, bounding: 1 << 12, last: 40) == 1 << 12)
        #expect(Capabilities.ambient(requested: nil, bounding: .max, last: 40) == 0)
        #expect(Capabilities.numbers(1 << 10 | 1 << 12) == [10, 12])
    }

    @Test func readsTheRunningKernelsLastCapability() throws {
        #expect((36...63).contains((try Capabilities.lastCapability())))
    }

    /// An unreadable or garbled cap_last_cap fails the start (a typed error naming
    /// the directive) instead of assuming a number that may be too low.
    @Test func anUnreadableLastCapabilityIsAnErrorNotAGuess() throws {
        #expect(throws: SandboxError.self) { try Capabilities.lastCapability(path: "/nonexistent/cap_last_cap") }
        do {
            _ = try Capabilities.lastCapability(path: "/proc/self/comm", directive: "PrivateDevices=")
            Issue.record("a non-number was accepted")
        } catch {
            #expect(error.description.hasPrefix("PrivateDevices=: cannot read /proc/self/comm"), "\(error)")
        }
    }
}

/// An unreadable mount table fails the start: the read-only remounts of the mounts
/// below a path would otherwise be left out, and those mounts stay writable.
@Suite struct SandboxMachineUnreadableTests {
    @Test func anUnreadableMountTableIsAnErrorNamingTheDirective() throws {
        do {
            _ = try MountTable.read(path: "/nonexistent/mountinfo", directive: "ProtectSystem=")
            Issue.record("an unreadable mount table was accepted")
        } catch {
            #expect(error.description.hasPrefix("ProtectSystem=: cannot read /nonexistent/mountinfo"), "\(error)")
        }
        #expect(try MountTable.read(directive: "ProtectSystem=").contains("/"))
    }

    /// The plan asks for the mount table exactly when something is made read-only.
    @Test func thePlanNeedsTheMountTableForReadOnlyPaths() {
        var sandbox = Sandbox()
        #expect(SandboxPlan.readOnlyDirective(for: sandbox) == nil)
        sandbox.protectSystem = .strict
        #expect(SandboxPlan.readOnlyDirective(for: sandbox) == "ProtectSystem=")
        sandbox = Sandbox()
        sandbox.noExecPaths = ["/srv"]
        #expect(SandboxPlan.readOnlyDirective(for: sandbox) == "NoExecPaths=")
    }
}
