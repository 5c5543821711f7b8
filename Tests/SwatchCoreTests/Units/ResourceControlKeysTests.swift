import Testing
@testable import SwatchCore

/// MemoryMax= and friends as the text their cgroup2 file takes; whether a machine
/// applies them or warns: Integration.SeccompTests.resourceLimitsAreAppliedOrWarnedNamingTheKey.
@Suite struct ResourceControlKeysTests {
    private func control(_ lines: String) -> (ResourceControl?, [String]) {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + lines)],
                                context: UnitSetTests.context, checkExecutables: false)
        return (set.services.values.first?.sandbox.resourceControl, set.diagnostics.map(\.description))
    }

    @Test func valuesBecomeTheCgroupFilesText() throws {
        let (parsed, problems) = control("""
            MemoryMax=64M
            MemoryHigh=infinity
            MemoryLow=1G
            TasksMax=16
            CPUWeight=idle
            CPUQuota=150%
            IOWeight=200
            AllowedCPUs=0-1 3
            """)
        #expect(problems == [])
        let settings = try #require(parsed).settings.mapValues { "\($0.file) \($0.value)" }
        #expect(settings == [
            "MemoryMax": "memory.max 67108864", "MemoryHigh": "memory.high max", "MemoryLow": "memory.low 1073741824",
            "TasksMax": "pids.max 16", "CPUWeight": "cpu.weight 1", "CPUQuota": "cpu.max 150000 100000",
            "IOWeight": "io.weight default 200", "AllowedCPUs": "cpuset.cpus 0-1,3",
        ])
    }

    @Test func badValuesRefuseAndEmptyResets() {
        for line in ["MemoryMax=lots", "TasksMax=-1", "CPUWeight=0", "CPUQuota=50", "AllowedCPUs=a-b", "MemoryLow=infinity"] {
            #expect(control(line + "\n").1.count == 1, "\(line)")
        }
        #expect(control("MemoryMax=1G\nMemoryMax=\n").0?.settings.isEmpty == true)
    }

    /// Delegate=: a boolean, or controller names, which ask for it too; empty is yes.
    @Test func delegateIsABooleanOrControllers() {
        func delegates(_ line: String) -> Bool? {
            UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n" + line + "\n")],
                          context: UnitSetTests.context, checkExecutables: false).services.values.first?.sandbox.delegate
        }
        #expect(delegates("") == false)
        #expect(delegates("Delegate=yes") == true && delegates("Delegate=no") == false)
        #expect(delegates("Delegate=cpu memory") == true && delegates("Delegate=") == true)
        #expect(delegates("Delegate=yes\nDelegate=false") == false)
        // A word that names no controller: warned at its line, delegation on, as under systemd.
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nDelegate=cpu ye\n")],
                                context: UnitSetTests.context, checkExecutables: false)
        #expect(set.services.values.first?.sandbox.delegate == true)
        #expect(set.diagnostics.map(\.description) == ["u/a.service:3: Invalid controller name 'ye', ignoring"])
    }

    /// DelegateSubgroup=: a name cgroupfs takes as it is (cg_needs_escape()); empty unsets it.
    @Test func delegateSubgroupIsAPlainGroupName() {
        func parsed(_ line: String) -> (String?, [String]) {
            let set = UnitSet.parse([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nDelegate=yes\n" + line + "\n")],
                                    context: UnitSetTests.context, checkExecutables: false)
            return (set.services.values.first?.sandbox.delegateSubgroup, set.diagnostics.map(\.description))
        }
        #expect(parsed("DelegateSubgroup=init.scope") == ("init.scope", []))
        #expect(parsed("DelegateSubgroup=cpux.y") == ("cpux.y", []))
        #expect(parsed("DelegateSubgroup=supervisor\nDelegateSubgroup=").0 == nil)
        // The names of interface files, present or to come when a controller is enabled.
        for bad in [".control", "_x", "a/b", "cgroup.procs", "tasks", "memory.x", "pids.max", "cpu.", "io.payload",
                    String(repeating: "x", count: 256)] {
            let (value, diagnostics) = parsed("DelegateSubgroup=" + bad)
            #expect(value == nil)
            #expect(diagnostics == ["u/a.service:4: Failed to parse control group name for DelegateSubgroup=, refusing the unit: \(bad)"])
        }
    }
}
