/// The condition or assertion that kept the last start from happening (systemctl
/// status' `Condition:`/`Assert:` lines).
package struct ConditionFailure: Hashable, Sendable {
    package var condition: UnitCondition
    package var at: Instant
}
