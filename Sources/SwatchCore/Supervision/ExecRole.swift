/// Which command of a unit a process runs: the main process (an ExecStart=
/// line) or a control process (any other Exec*= line, a socket unit's included).
package enum ExecPhase: String, Hashable, Sendable {
    case condition = "ExecCondition"
    case startPre = "ExecStartPre"
    case start = "ExecStart"
    case startPost = "ExecStartPost"
    case reload = "ExecReload"
    case stop = "ExecStop"
    /// A socket unit's, before its listeners are closed (systemd.socket(5)).
    case stopPre = "ExecStopPre"
    case stopPost = "ExecStopPost"
}

/// One line of one Exec*= list: `ExecStartPre[1]` is the second ExecStartPre=.
package struct ExecRole: Hashable, Sendable, CustomStringConvertible {
    package var phase: ExecPhase
    package var index: Int
    package init(_ phase: ExecPhase, _ index: Int) {
        self.phase = phase
        self.index = index
    }
    package var description: String { "\(phase.rawValue)[\(index)]" }
}
