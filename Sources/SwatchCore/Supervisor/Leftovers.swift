import Logging

/// What a swatchd that was killed (SIGKILL, a crash) left running, found
/// through the cgroups it left behind (swatchd(8), PROCESS TRACKING). The rule:
/// the services of the swatchd that last used this runtime directory are
/// stopped — SIGTERM, SIGKILL after 5 s — before their sockets are bound
/// again, so that no service runs untracked next to a new instance of itself;
/// the processes of any other swatchd that is gone are left running and
/// warned about, as systemd leaves a unit's left-over processes. Without
/// cgroup tracking nothing can be found.
enum Leftovers {
    /// Settles the left-overs; returns the names of the service groups left running
    /// (their private /tmp is kept). Records our own group for the next swatchd.
    static func settle(tracker: ProcessTracker, runtimeDirectory: String, logger: Logger) -> Set<String> {
        let record = runtimeDirectory + "/cgroup"
        let previous = (try? FileSystem.readText(record))?.split(separator: "\n").first.map(String.init)
        var kept: Set<String> = []
        for (group, pids) in tracker.leftovers {
            let list = pids.map(String.init).joined(separator: " ")
            guard let previous, group.hasPrefix(previous + "/") else {
                logger.warning("Found left-over processes \(list) in \(group) of a swatchd that is gone; leaving them running.")
                kept.insert(ProcessTracker.serviceName(ofGroup: group))
                continue
            }
            let unit = ProcessTracker.serviceName(ofGroup: group)
            logger.warning("\(unit): Stopping left-over processes \(list) of the swatchd that ran here before and is gone.",
                           metadata: ["unit": "\(unit)"])
            let left = ProcessTracker.stopLeftovers(in: group, grace: 5)
            if !left.isEmpty {
                logger.error("\(unit): Left-over processes \(left.map(String.init).joined(separator: " ")) survived SIGKILL.",
                             metadata: ["unit": "\(unit)"])
                kept.insert(unit)
            }
        }
        if let own = tracker.parentDirectory {
            do { try FileSystem.write(own + "\n", to: record, create: true) } catch {
                logger.warning("Failed to record this swatchd's cgroup in \(record): \(error)")
            }
        }
        return kept
    }
}
