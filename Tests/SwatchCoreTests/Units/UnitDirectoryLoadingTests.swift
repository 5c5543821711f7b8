import Glibc
import Testing
@testable import SwatchCore

/// What the symlinks of a unit directory mean (systemd.unit(5)): a link to
/// /dev/null masks, a link to a unit of another name is an alias of it, a
/// link to a file of the same name is the unit itself, and an instance
/// linked to its template instantiates it.
@Suite struct UnitDirectoryLoadingTests {
    private let service = "[Service]\nExecStart=/bin/true\n"

    private func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    private func load(_ directories: String...) -> UnitSet {
        UnitSet.load(directories: directories, context: UnitSetTests.context)
    }

    @Test func aLinkToDevNullMasksTheNameInEveryLaterDirectory() {
        let top = ShortTemporaryDirectory()
        #expect(mkdir(top.path + "/etc", 0o755) == 0 && mkdir(top.path + "/lib", 0o755) == 0)
        #expect(symlink("/dev/null", top.path + "/etc/hello.service") == 0)
        write(top.path + "/lib/hello.service", service)
        write(top.path + "/lib/other.service", service)
        let set = load(top.path + "/etc", top.path + "/lib")
        #expect(set.services.keys.map(\.description).sorted() == ["other.service"])
        #expect(set.diagnostics.isEmpty)
    }

    /// A timer, a path or a target in a unit directory would do nothing under swatchd: each is
    /// named once with a warning (not an error: the daemon loads what it can), unless masked.
    /// Files of no unit type (`README`, `x.conf`) are no units at all and pass in silence.
    @Test func unitsOfOtherTypesAreNamedOnceAndIgnored() {
        let top = ShortTemporaryDirectory()
        #expect(mkdir(top.path + "/etc", 0o755) == 0 && mkdir(top.path + "/lib", 0o755) == 0)
        write(top.path + "/etc/tick.timer", "[Timer]\nOnBootSec=1h\n")
        write(top.path + "/lib/tick.timer", "[Timer]\nOnBootSec=2h\n")
        write(top.path + "/lib/web.target", "[Unit]\nDescription=Web\n")
        #expect(symlink("/dev/null", top.path + "/etc/watch.path") == 0)
        write(top.path + "/lib/watch.path", "[Path]\nPathChanged=/etc\n")
        write(top.path + "/lib/README", "not a unit\n")
        write(top.path + "/lib/hello.service", service)
        let set = load(top.path + "/etc", top.path + "/lib")
        #expect(set.services.keys.map(\.description) == ["hello.service"])
        #expect(set.refused.isEmpty)
        #expect(set.diagnostics.map(\.description) == [
            top.path + "/etc/tick.timer:1: Unit type .timer is not supported by this build, ignoring the unit.",
            top.path + "/lib/web.target:1: Unit type .target is not supported by this build, ignoring the unit.",
        ])
        #expect(set.diagnostics.allSatisfy { $0.severity == .warning })
    }

    /// A unit's path is split at its last slash and kept as given: `Loaded:`, diagnostics
    /// and the file stamps print the same path as before, whatever the directory was written as.
    @Test func aUnitKeepsItsPathAsGiven() {
        let dir = ShortTemporaryDirectory()
        write(dir.path + "/a.service", service)
        write(dir.path + "/b.socket", "[Socket]\nListenStream=/run/b.sock\nBogus=1\n")
        let set = load(dir.path + "/")
        let a = set.services[UnitName(prefix: "a", type: .service)]
        #expect(a?.path.description == dir.path + "/a.service")
        #expect(a?.path == SourcePath(dir.path + "/a.service"))
        #expect(a?.fileTimes.stamps[SourcePath(dir.path + "/a.service")] != nil)
        #expect(set.diagnostics.map(\.description).contains { $0.hasPrefix(dir.path + "/b.socket:3: ") })
        #expect(SourcePath("hello.service").description == "hello.service")
        #expect(SourcePath("/hello.service").description == "/hello.service")
        #expect(SourcePath("/hello.service") != SourcePath("hello.service"))
        #expect(SourcePath("/etc/x/") == SourcePath(directory: "/etc/x/", name: ""))
    }

    @Test func aLinkToAnotherNameIsAnAliasLoadedOnce() {
        let dir = ShortTemporaryDirectory()
        write(dir.path + "/real.service", service)
        #expect(symlink("real.service", dir.path + "/alias.service") == 0)
        // hello.socket's service, hello.service, is an alias too: the socket activates real.service.
        write(dir.path + "/hello.socket", "[Socket]\nListenStream=/run/hello.sock\n")
        #expect(symlink(dir.path + "/real.service", dir.path + "/hello.service") == 0)
        let set = load(dir.path)
        #expect(set.services.keys.map(\.description) == ["real.service"])
        #expect(set.services[UnitName(prefix: "real", type: .service)]?.path.description == dir.path + "/real.service")
        #expect(set.aliases == ["alias.service": "real.service", "hello.service": "real.service"])
        let socket = set.sockets[UnitName(prefix: "hello", type: .socket)]
        #expect(socket.map { set.serviceName(for: $0).description } == "real.service")
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
    }

    @Test func aLinkedFileOfTheSameNameAndALinkedInstanceAreUnitsOfTheirOwn() {
        let top = ShortTemporaryDirectory()
        #expect(mkdir(top.path + "/units", 0o755) == 0 && mkdir(top.path + "/opt", 0o755) == 0)
        write(top.path + "/opt/linked.service", service)
        #expect(symlink(top.path + "/opt/linked.service", top.path + "/units/linked.service") == 0)
        write(top.path + "/units/getty@.service", "[Service]\nExecStart=/bin/echo %i\n")
        #expect(symlink("getty@.service", top.path + "/units/getty@tty1.service") == 0)
        let set = load(top.path + "/units")
        #expect(set.aliases.isEmpty)
        #expect(set.services[UnitName(prefix: "linked", type: .service)]?.path.description == top.path + "/units/linked.service")
        let instance = set.services[UnitName(prefix: "getty", instance: "tty1", type: .service)]
        #expect(instance?.execStart.first?.arguments == ["/bin/echo", "tty1"])
    }
    /// What cannot be read is named with its path: a dangling unit link is left out with a
    /// warning; a drop-in that cannot be read refuses its unit, since it may restrict the service.
    @Test func aDanglingLinkOrAnUnreadableDropInIsNamedWithItsPath() {
        let dir = ShortTemporaryDirectory()
        #expect(symlink("/nonexistent/gone.service", dir.path + "/gone.service") == 0)
        write(dir.path + "/plain.service", service)
        write(dir.path + "/a.service", service)
        #expect(mkdir(dir.path + "/a.service.d", 0o755) == 0)
        #expect(symlink("/nonexistent/x.conf", dir.path + "/a.service.d/x.conf") == 0)
        write(dir.path + "/b.service", service)
        #expect(mkdir(dir.path + "/b.service.d", 0o755) == 0)
        // Opens as a regular file, but its read fails (EINVAL), even for root.
        #expect(symlink("/proc/self/clear_refs", dir.path + "/b.service.d/y.conf") == 0)
        let set = load(dir.path)
        #expect(set.services.keys.map(\.description) == ["plain.service"])
        #expect(set.diagnostics.map(\.description) == [
            "\(dir.path)/a.service.d/x.conf:1: Drop-in is a dangling symlink to /nonexistent/x.conf; refusing the unit.",
            "\(dir.path)/b.service.d/y.conf:1: Failed to read drop-in: Invalid argument; refusing the unit.",
            "\(dir.path)/gone.service:1: Unit file is a dangling symlink to /nonexistent/gone.service, ignoring the unit.",
        ])
        #expect(set.refused.keys.sorted() == ["a.service", "b.service"])
    }

    /// A drop-in linked to /dev/null masks the drop-in of that name in later directories.
    @Test func aDropInLinkedToDevNullMasksItsName() {
        let top = ShortTemporaryDirectory()
        #expect(mkdir(top.path + "/etc", 0o755) == 0 && mkdir(top.path + "/lib", 0o755) == 0)
        #expect(mkdir(top.path + "/etc/a.service.d", 0o755) == 0 && mkdir(top.path + "/lib/a.service.d", 0o755) == 0)
        write(top.path + "/lib/a.service", service)
        write(top.path + "/lib/a.service.d/env.conf", "[Service]\nEnvironment=FROM=lib\n")
        #expect(symlink("/dev/null", top.path + "/etc/a.service.d/env.conf") == 0)
        let set = load(top.path + "/etc", top.path + "/lib")
        let a = set.services[UnitName(prefix: "a", type: .service)]
        #expect(a != nil && a!.environment.isEmpty, "\(String(describing: a?.environment))")
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
    }
}
