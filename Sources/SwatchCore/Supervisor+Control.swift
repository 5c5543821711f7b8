import Glibc
import Logging
import SystemPackage

extension Supervisor {
    /// New lines reached the unit log: `swatchctl logs -f` followers get them.
    func publishLogs() {
    }
}
