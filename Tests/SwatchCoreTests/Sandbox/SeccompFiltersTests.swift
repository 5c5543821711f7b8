import Glibc
import Testing
@testable import SwatchCore

/// The system call filtering keys as systemd parses them (src/core/load-fragment.c),
/// the filters they make (Sandbox/SeccompFilters.swift), and libseccomp's BPF.
/// Whether a process under them is really restricted: Integration.SeccompTests.
@Suite struct SeccompFiltersTests {
    private func service(_ lines: String) -> (ServiceUnit?, [String]) {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + lines)],
                                context: UnitSetTests.context, checkExecutables: false)
        return (set.services.values.first, set.diagnostics.map(\.description))
    }

    @Test func anAllowListAlwaysHasDefaultAndATildeLineTakesCallsOut() throws {
        let (unit, problems) = service("SystemCallFilter=@system-service\nSystemCallFilter=~@privileged socket\n")
        #expect(problems == [])
        let filter = try #require(unit?.sandbox.systemCallFilter)
        #expect(filter.allowList)
        #expect(filter.entries["execve"] != nil && filter.entries["exit_group"] != nil)  // @default
        #expect(filter.entries["openat"] != nil)  // @file-system, in @system-service
        #expect(filter.entries["socket"] == nil && filter.entries["swapon"] == nil && filter.entries["setuid"] == nil)
    }

    @Test func aDenyListCarriesItsErrnos() throws {
        let (unit, problems) = service("SystemCallFilter=~@mount:EXDEV reboot\nSystemCallFilter=~swapon:13\nSystemCallErrorNumber=EACCES\n")
        #expect(problems == [])
        let sandbox = try #require(unit?.sandbox)
        #expect(sandbox.systemCallFilter?.allowList == false)
        #expect(sandbox.systemCallFilter?.entries["mount"] == EXDEV && sandbox.systemCallFilter?.entries["reboot"] == 0)
        #expect(sandbox.systemCallFilter?.entries["swapon"] == EACCES)
        #expect(sandbox.systemCallErrorNumber == .errno(EACCES))
        let filters = SeccompFilters.filters(for: sandbox)
        #expect(filters.count == 1)
        #expect(filters[0].defaultAction == .allow)
        #expect(filters[0].rules.contains(SeccompFilter.Rule("reboot", .errno(EACCES))))
        #expect(filters[0].rules.contains(SeccompFilter.Rule("mount", .errno(EXDEV))))
    }

    @Test func systemCallLogTakesTheFiltersSyntaxWithoutDefault() throws {
        let log = try #require(service("SystemCallLog=@mount\n").0?.sandbox.systemCallLog)
        #expect(log.allowList && log.entries["mount"] != nil && log.entries["execve"] == nil)
        let filter = try #require(SeccompFilters.filters(for: service("SystemCallLog=~chmod\n").0!.sandbox).first)
        #expect(filter.defaultAction == .allow && filter.rules == [SeccompFilter.Rule("chmod", .log)])
    }

    @Test func badValuesRefuseTheUnit() {
        for line in ["SystemCallFilter=@no-such-group", "SystemCallFilter=@system-service:EPERM",
                     "SystemCallFilter=~mount:EWHAT", "SystemCallErrorNumber=ENOTANERRNO",
                     "RestrictAddressFamilies=AF_NOPE", "RestrictNamespaces=net bogus", "SystemCallArchitectures=vax"] {
            let (unit, problems) = service(line + "\n")
            #expect(unit == nil, "\(line)")
            #expect(problems.count == 1, "\(line): \(problems)")
        }
    }

    @Test func namespacesAndFamilies() throws {
        #expect(service("RestrictNamespaces=yes\n").0?.sandbox.restrictNamespaces == SystemCallKeys.allNamespaces)
        #expect(service("RestrictNamespaces=no\n").0?.sandbox.restrictNamespaces == 0)
        let allowed = try #require(service("RestrictNamespaces=net uts\n").0?.sandbox.restrictNamespaces)
        #expect(allowed == SystemCallKeys.allNamespaces & ~(SystemCallKeys.namespaces["net"]! | SystemCallKeys.namespaces["uts"]!))
        #expect(service("RestrictNamespaces=~user\n").0?.sandbox.restrictNamespaces == SystemCallKeys.namespaces["user"])
        let families = try #require(service("RestrictAddressFamilies=AF_UNIX AF_INET\nRestrictAddressFamilies=~AF_INET\n").0?
            .sandbox.restrictAddressFamilies)
        #expect(families == AddressFamilies(allowList: true, families: [1]))
        #expect(service("RestrictAddressFamilies=none\n").0?.sandbox.restrictAddressFamilies?.families == [])
    }

    /// Every group of the generated table expands to known names only (no group
    /// names a missing group), and the ones the tests rely on are there.
    @Test func theGroupsOfSystemd252Expand() throws {
        for group in SystemCallGroups.members.keys {
            let calls = try #require(SystemCallKeys.systemCalls(group), "\(group)")
            #expect(!calls.isEmpty && calls.allSatisfy { !$0.hasPrefix("@") }, "\(group)")
        }
        #expect(SystemCallKeys.systemCalls("@mount")?.isSuperset(of: ["mount", "umount2", "pivot_root"]) == true)
        #expect(SystemCallKeys.systemCalls("@swap") == ["swapon", "swapoff"])
        #expect(SystemCallKeys.systemCalls("@system-service")?.contains("swapon") == false)
    }

    /// libseccomp compiles every kind of filter this build makes.
    @Test func everyFilterCompiles() throws {
        var sandbox = Sandbox()
        sandbox.systemCallFilter = SystemCallFilter(allowList: true, entries: ["read": 0, "no_such_call": 0])
        sandbox.systemCallErrorNumber = .errno(EPERM)
        sandbox.restrictAddressFamilies = AddressFamilies(allowList: true, families: [1])
        sandbox.restrictNamespaces = SystemCallKeys.allNamespaces
        sandbox.restrictRealtime = true
        sandbox.restrictSUIDSGID = true
        sandbox.lockPersonality = true
        sandbox.memoryDenyWriteExecute = true
        sandbox.protectClock = true
        sandbox.protectKernelModules = true
        sandbox.protectKernelLogs = true
        sandbox.protectHostname = true
        sandbox.systemCallArchitectures = ["native"]
        sandbox.systemCallLog = SystemCallFilter(allowList: false, entries: ["chmod": 0])
        let filters = SeccompFilters.filters(for: sandbox)
        #expect(filters.count == 13)
        for filter in filters {
            let program = try SeccompCompiler.compile(filter)
            #expect(program.instructionCount > 3, "\(filter.directive)")
            #expect(program.bytes.count % 8 == 0)
        }
    }
}

/// A line that is not valid UTF-8 is ignored with a warning — unless its key
/// restricts the service: then ignoring it would run the service with less
/// isolation than asked, and the unit is refused.
@Suite struct InvalidUTF8RestrictionTests {
    private func load(_ bytes: [UInt8]) -> UnitSet {
        var text: [UInt8] = Array("[Service]\nExecStart=/bin/true\n".utf8)
        text += bytes + [UInt8(ascii: "\n")]
        return UnitSet.parse([UnitSource(path: "u/a.service", bytes: text)], context: UnitSetTests.context,
                             checkExecutables: false)
    }

    @Test func aRestrictingKeyOnAnInvalidLineRefusesTheUnit() {
        let refused = load(Array("SystemCallFilter=~@mount ".utf8) + [0xFF, 0xFE])
        #expect(refused.services.isEmpty)
        #expect(refused.diagnostics.map(\.description) == [
            "u/a.service:3: Line is not valid UTF-8 and sets SystemCallFilter=, which restricts the service; refusing the unit.",
        ])
        let warned = load(Array("Description=caf".utf8) + [0xE9])
        #expect(warned.services.count == 1)
        #expect(warned.diagnostics.map(\.description) == ["u/a.service:3: Line is not valid UTF-8, ignoring."])
    }
}
