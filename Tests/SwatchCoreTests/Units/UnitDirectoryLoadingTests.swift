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
        // A file of its own: enabled, not one loaded only because something names it.
        #expect(set.namedInstances.isEmpty)
    }

    /// An instance linked into `NAME.wants/` (what `systemctl enable` makes for a template's
    /// WantedBy=) is wanted by NAME, and loaded from its template as a named instance.
    @Test func anInstanceInAWantsDirectoryIsLoadedFromItsTemplate() {
        let top = ShortTemporaryDirectory()
        #expect(mkdir(top.path + "/units", 0o755) == 0 && mkdir(top.path + "/units/app.service.wants", 0o755) == 0)
        write(top.path + "/units/app.service", service)
        write(top.path + "/units/worker@.service", "[Service]\nExecStart=/bin/echo %i\n")
        #expect(symlink("../worker@.service", top.path + "/units/app.service.wants/worker@w1.service") == 0)
        let set = load(top.path + "/units")
        let name = UnitName(prefix: "worker", instance: "w1", type: .service)
        #expect(set.services[UnitName(prefix: "app", type: .service)]?.unit.wants == ["worker@w1.service"])
        #expect(set.services[name]?.execStart.first?.arguments == ["/bin/echo", "w1"])
        #expect(set.namedInstances == [name])
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
    }
    /// An instance made from its template (named by a dependency, or by a socket's Service=) gets
    /// the drop-ins of its own name as a linked instance would: never less isolation than they ask.
    @Test func anInstanceMadeFromItsTemplateGetsTheDropInsOfItsName() throws {
        let top = ShortTemporaryDirectory()
        let units = top.path + "/units"
        for directory in [units, units + "/worker@.service.d", units + "/worker@eu.service.d", units + "/web@main.service.d"] {
            #expect(mkdir(directory, 0o755) == 0)
        }
        write(units + "/worker@.service", "[Service]\nExecStart=/bin/echo %i\n")
        write(units + "/worker@.service.d/10-all.conf", "[Service]\nEnvironment=A=template\n")
        write(units + "/worker@eu.service.d/20-eu.conf", "[Service]\nEnvironment=B=eu\nPrivateTmp=yes\n")
        write(units + "/app.service", "[Unit]\nWants=worker@eu.service worker@us.service\n[Service]\nExecStart=/bin/true\n")
        write(units + "/web@.service", "[Service]\nExecStart=/bin/echo %i\n")
        write(units + "/web@main.service.d/sandbox.conf", "[Service]\nPrivateTmp=yes\n")
        write(units + "/web.socket", "[Socket]\nListenStream=/run/web.sock\nService=web@main.service\n")
        let set = load(units)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let eu = try #require(set.services[UnitName(prefix: "worker", instance: "eu", type: .service)])
        #expect(eu.environment.map { "\($0.0)=\($0.1)" } == ["A=template", "B=eu"])
        #expect(eu.sandbox.privateTmp)
        let us = try #require(set.services[UnitName(prefix: "worker", instance: "us", type: .service)])
        #expect(us.environment.map { "\($0.0)=\($0.1)" } == ["A=template"])
        #expect(!us.sandbox.privateTmp)
        #expect(set.services[UnitName(prefix: "web", instance: "main", type: .service)]?.sandbox.privateTmp == true)
    }

    /// A masked instance (`systemctl mask worker@eu.service`: a link to /dev/null) is not made
    /// from its template, by a dependency or a start; the other instances are.
    @Test func aMaskedInstanceIsNeverMadeFromItsTemplate() {
        let top = ShortTemporaryDirectory()
        let units = top.path + "/units"
        #expect(mkdir(units, 0o755) == 0)
        write(units + "/worker@.service", "[Service]\nExecStart=/bin/echo %i\n")
        write(units + "/x@.socket", "[Socket]\nListenStream=/run/x-%i.sock\n")
        write(units + "/x@.service", "[Service]\nExecStart=/bin/echo %i\n")
        #expect(symlink("/dev/null", units + "/worker@eu.service") == 0)
        #expect(symlink("/dev/null", units + "/x@a.socket") == 0)
        write(units + "/app.service", "[Unit]\nWants=worker@eu.service worker@us.service\n[Service]\nExecStart=/bin/true\n")
        var set = load(units)
        #expect(set.services.keys.map(\.description).sorted() == ["app.service", "worker@.service", "worker@us.service", "x@.service"])
        #expect(set.loadInstances(named: [UnitName(prefix: "worker", instance: "eu", type: .service)]).isEmpty)
        #expect(set.instantiateSocket(UnitName(prefix: "x", instance: "a", type: .socket)) == nil)
        #expect(set.instantiateSocket(UnitName(prefix: "x", instance: "b", type: .socket)) != nil)
    }

    /// A socket instance that a start makes (`x@a.socket` of `x@.socket`) gets the drop-ins of
    /// its name too.
    @Test func aSocketInstanceGetsTheDropInsOfItsName() throws {
        let top = ShortTemporaryDirectory()
        let units = top.path + "/units"
        #expect(mkdir(units, 0o755) == 0 && mkdir(units + "/x@a.socket.d", 0o755) == 0)
        write(units + "/x@.socket", "[Socket]\nListenStream=/run/x-%i.sock\n")
        write(units + "/x@.service", "[Service]\nExecStart=/bin/echo %i\n")
        write(units + "/x@a.socket.d/more.conf", "[Socket]\nListenStream=/run/x-more.sock\n")
        let set = load(units)
        let a = try #require(set.instantiateSocket(UnitName(prefix: "x", instance: "a", type: .socket)))
        #expect(a.socket.listens.map(\.address.description) == ["/run/x-a.sock", "/run/x-more.sock"])
        let b = try #require(set.instantiateSocket(UnitName(prefix: "x", instance: "b", type: .socket)))
        #expect(b.socket.listens.map(\.address.description) == ["/run/x-b.sock"])
    }

    /// A drop-in of an instance's name that cannot be read refuses that instance (and a socket
    /// whose Service= it is), as it refuses a unit of its own: it may restrict the service.
    @Test func anUnreadableDropInOfAnInstanceRefusesIt() throws {
        let top = ShortTemporaryDirectory()
        let units = top.path + "/units"
        #expect(mkdir(units, 0o755) == 0 && mkdir(units + "/web@main.service.d", 0o755) == 0)
        write(units + "/web@.service", "[Service]\nExecStart=/bin/echo %i\n")
        #expect(symlink("/nowhere/sandbox.conf", units + "/web@main.service.d/sandbox.conf") == 0)
        write(units + "/web.socket", "[Socket]\nListenStream=/run/web.sock\nService=web@main.service\n")
        let set = load(units)
        #expect(set.services[UnitName(prefix: "web", instance: "main", type: .service)] == nil)
        #expect(set.refused["web@main.service"]?.map { "\($0)" }
                == ["\(units)/web@main.service.d/sandbox.conf:1: Drop-in is a dangling symlink to /nowhere/sandbox.conf; refusing the unit."])
        #expect(set.refused["web.socket"]?.map(\.message) == ["The service web@main.service was refused; refusing the socket too."])
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
