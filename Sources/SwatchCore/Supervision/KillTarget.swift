/// Whom a signal goes to. `group` is every process of the service (its
/// cgroup, or its session and reaped orphans where there is no cgroup).
package enum KillTarget: Hashable, Sendable {
    case main, control, group
}
