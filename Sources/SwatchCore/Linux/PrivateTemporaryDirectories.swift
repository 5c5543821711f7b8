import Glibc
import SystemPackage

/// PrivateTmp=: the /tmp and /var/tmp of one unit, shared by all its
/// processes and removed when it stops (systemd.exec(5): "all temporary files
/// created by a service in these directories will be removed after the
/// service is stopped").
///
/// As systemd does (src/core/namespace.c, setup_tmp_dirs), each is a directory
/// `BASE/swatchd-private-UNIT-XXXXXX` of mode 0700 holding a `tmp` of mode
/// 1777: the outer one keeps other users out of the host's side, the inner one
/// is what the service sees at /tmp once bound there in its namespace.
public struct PrivateTemporaryDirectories: Hashable, Sendable {
    /// Bound onto /tmp.
    public var tmp: String
    /// Bound onto /var/tmp.
    public var varTmp: String

    public init(tmp: String, varTmp: String) {
        self.tmp = tmp
        self.varTmp = varTmp
    }

    /// Makes both for `unit` below `/tmp` and `/var/tmp` (or the given bases).
    /// On failure nothing is left behind; the error names the base.
    public static func create(for unit: String, bases: (tmp: String, varTmp: String) = ("/tmp", "/var/tmp"))
        throws(CreationError) -> PrivateTemporaryDirectories
    {
        let tmp = try inner(below: bases.tmp, unit: unit)
        do {
            return PrivateTemporaryDirectories(tmp: tmp, varTmp: try inner(below: bases.varTmp, unit: unit))
        } catch {
            ServiceDirectories.remove(FileSystem.parent(of: tmp) ?? tmp)
            throw error
        }
    }

    /// Removes both, with everything the service left in them.
    public func remove() {
        for path in [tmp, varTmp] { ServiceDirectories.remove(FileSystem.parent(of: path) ?? path) }
    }

    public struct CreationError: Error, Equatable, CustomStringConvertible {
        public var base: String
        public var errno: Errno
        public var description: String { "\(base): \(errno)" }
    }

    private static func inner(below base: String, unit: String) throws(CreationError) -> String {
        var template = Array("\(base)/swatchd-private-\(unit)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CreationError(base: base, errno: Errno(rawValue: Glibc.errno))
        }
        let outer = String(cString: made)
        let inner = outer + "/tmp"
        // mkdir's mode passes through the umask: set 1777 explicitly, as /tmp has it.
        guard mkdir(inner, 0o1777) == 0, chmod(inner, 0o1777) == 0 else {
            let error = Errno(rawValue: Glibc.errno)
            ServiceDirectories.remove(outer)
            throw CreationError(base: base, errno: error)
        }
        return inner
    }
}
