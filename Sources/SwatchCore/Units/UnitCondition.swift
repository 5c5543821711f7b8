/// One `Condition…=` or `Assert…=` of the [Unit] section (systemd.unit(5),
/// "Conditions and Asserts"): tested before each start. An unmet condition
/// skips the start quietly; a failed assertion fails the start request.
package struct UnitCondition: Hashable, Sendable, CustomStringConvertible {
    /// The checks swatchd evaluates; the others stay `Unsupported key` warnings.
    package enum Check: String, CaseIterable, Hashable, Sendable {
        case pathExists = "PathExists"
        case pathExistsGlob = "PathExistsGlob"
        case pathIsDirectory = "PathIsDirectory"
        case pathIsSymbolicLink = "PathIsSymbolicLink"
        case pathIsMountPoint = "PathIsMountPoint"
        case pathIsReadWrite = "PathIsReadWrite"
        case directoryNotEmpty = "DirectoryNotEmpty"
        case fileNotEmpty = "FileNotEmpty"
        case fileIsExecutable = "FileIsExecutable"
        case user = "User"
        case group = "Group"
        case host = "Host"
        case kernelCommandLine = "KernelCommandLine"
        case environment = "Environment"
        case virtualization = "Virtualization"
        case capability = "Capability"
        case security = "Security"
        case acPower = "ACPower"
        case firstBoot = "FirstBoot"
        case architecture = "Architecture"
        case kernelVersion = "KernelVersion"
        case osRelease = "OSRelease"
        case memory = "Memory"
        case cpus = "CPUs"
        case credential = "Credential"
        case needsUpdate = "NeedsUpdate"
        case controlGroupController = "ControlGroupController"
        case kernelModuleLoaded = "KernelModuleLoaded"
        case firmware = "Firmware"
        case cpuFeature = "CPUFeature"
        case pathIsEncrypted = "PathIsEncrypted"
        case memoryPressure = "MemoryPressure"
        case cpuPressure = "CPUPressure"
        case ioPressure = "IOPressure"

        /// The parameter is an absolute path (a glob for PathExistsGlob=).
        package var takesPath: Bool {
            switch self {
            case .pathExists, .pathExistsGlob, .pathIsDirectory, .pathIsSymbolicLink, .pathIsMountPoint,
                 .pathIsReadWrite, .directoryNotEmpty, .fileNotEmpty, .fileIsExecutable, .needsUpdate, .pathIsEncrypted:
                return true
            case .user, .group, .host, .kernelCommandLine, .environment, .virtualization, .capability, .security,
                 .acPower, .firstBoot, .architecture, .kernelVersion, .osRelease, .memory, .cpus, .credential,
                 .controlGroupController, .kernelModuleLoaded, .firmware, .cpuFeature, .memoryPressure, .cpuPressure,
                 .ioPressure:
                return false
            }
        }
    }

    package var check: Check
    /// `Assert…=` rather than `Condition…=`.
    package var isAssertion: Bool
    /// `|`: a triggering condition — at least one of them must hold.
    package var triggering: Bool
    /// `!`: the check's result is inverted.
    package var negated: Bool
    package var parameter: String

    package init(_ check: Check, _ parameter: String, isAssertion: Bool = false, triggering: Bool = false,
                negated: Bool = false) {
        self.check = check
        self.parameter = parameter
        self.isAssertion = isAssertion
        self.triggering = triggering
        self.negated = negated
    }

    package var directive: String { (isAssertion ? "Assert" : "Condition") + check.rawValue }

    /// As written: `ConditionPathExists=|!/etc/foo`.
    package var description: String {
        "\(directive)=\(triggering ? "|" : "")\(negated ? "!" : "")\(parameter)"
    }

    /// What is logged when this check kept `unit` from starting, in systemd's words (src/core/unit.c).
    package func skipMessage(for unit: String) -> String {
        "\(unit) was skipped because of \(isAssertion ? "a failed assertion check" : "an unmet condition check") (\(self))."
    }

    /// The one that keeps a list from holding, or nil when it holds
    /// (systemd's condition_test_list(), src/shared/condition.c): every
    /// plain condition must hold, and, if there are triggering ones, at
    /// least one of those. `holds` is the check itself, before `!`.
    package static func firstFailure(of list: [UnitCondition], holds: (UnitCondition) -> Bool) -> UnitCondition? {
        var failedTrigger: UnitCondition?
        var anyTriggerHeld = false
        for condition in list {
            let result = holds(condition) != condition.negated
            if condition.triggering {
                if result { anyTriggerHeld = true } else if failedTrigger == nil { failedTrigger = condition }
            } else if !result {
                return condition
            }
        }
        return anyTriggerHeld ? nil : failedTrigger
    }
}
