import Glibc
import Testing
@testable import SwatchCore

/// What the daemon keeps per unit, by inline size (docs/HACKING.md "Where the bytes are").
/// Every unit is held by the UnitSet of the last load, the Manager's entry and the unit's
/// machine, and each table keyed by unit name keeps up to twice as many buckets as units:
/// a large value inline in one of these types is paid several times per unit. These
/// budgets fail when one grows past them; the fix is usually to put the new group of
/// settings out of line (a `CopyOnWrite` wrapper with a shared default, as `Sandbox`,
/// Units/CopyOnWrite.swift), not to raise the budget.
@Suite struct PerUnitLayoutTests {
    private func expectPointer<T>(_ type: T.Type, _ why: String) {
        #expect(MemoryLayout<T>.size == MemoryLayout<Int>.size,
                "\(T.self) is \(MemoryLayout<T>.size) bytes inline; it should be one pointer to shared storage: \(why)")
    }

    /// Where a string's bytes are: the same address for two strings that share one heap block.
    private func storage(_ string: String) -> UnsafeRawPointer? {
        var string = string
        return string.withUTF8 { UnsafeRawPointer($0.baseAddress) }
    }

    private func expectAtMost<T>(_ type: T.Type, _ budget: Int, _ why: String) {
        #expect(MemoryLayout<T>.size <= budget,
                "\(T.self) is \(MemoryLayout<T>.size) bytes inline, over its budget of \(budget): \(why)")
    }

    @Test func unitsAndEntriesAreOnePointer() {
        expectPointer(ServiceUnit.self, "the UnitSet, the Manager's entry and the machine share one copy")
        expectPointer(SocketUnit.self, "the UnitSet, the Manager's entry and the machine share one copy")
        expectPointer(Manager.ServiceEntry.self, "Manager.services has up to two buckets per service")
        expectPointer(Manager.SocketEntry.self, "Manager.sockets has up to two buckets per socket")
        expectPointer(UnitSection.self, "most units set little of [Unit]: they share the default")
        expectPointer(SocketOptions.self, "most sockets keep the default options, and each Listener holds them too")
        expectPointer(Sandbox.self, "most services set no sandboxing: they share the default")
        expectPointer(ServiceUnitRarelySet.self, "most services set none of these: they share the default")
        expectPointer(SocketUnitRarelySet.self, "most socket units set none of these: they share the default")
    }

    @Test func theFieldsStayWithinTheirBudgets() {
        // The sizes when these budgets were set (Swift 6.3, x86_64): UnitName 16,
        // ServiceUnitFields 248, SocketUnitFields 152, ServiceEntryFields 120,
        // SocketEntryFields 136, ServiceMachine 80, SocketMachine 88, ManagerAction 64,
        // ExecCommand 29; a little room above.
        expectAtMost(UnitName.self, 16, "a name is one String; every table keyed by name holds one per bucket")
        expectAtMost(ServiceUnitFields.self, 288, "a rarely set group of settings belongs out of line (CopyOnWrite)")
        expectAtMost(SocketUnitFields.self, 184, "a rarely set group of settings belongs out of line (CopyOnWrite)")
        expectAtMost(Manager.ServiceEntryFields.self, 160, "what few services use (Accept=yes) sits behind one pointer")
        expectAtMost(Manager.SocketEntryFields.self, 168, "every socket unit has one: what Accept=yes and commands need sits behind one pointer")
        expectAtMost(ServiceMachine.self, 112, "every service has one, started or not: what it gathers once it runs is out of line")
        expectAtMost(SocketMachine.self, 112, "every socket unit has one")
        expectAtMost(ExecCommand.self, 32, "every service holds its ExecStart=; a command's line is replayed for a problem (commandLocation), not kept")
        // The shell's queue holds thousands of actions at start-up.
        expectAtMost(ManagerAction.self, 80, "a case carrying a unit inline makes every action that large")
    }

    /// A unit's path is its directory's string, shared by every unit loaded from it, and its
    /// name (inline up to 15 bytes): a path kept whole was a heap block per unit file.
    @Test func theUnitsOfADirectoryShareItsPath() {
        let top = ShortTemporaryDirectory()
        // Longer than 15 bytes: a heap string, which the units either share or each copy.
        let directory = top.path + "/a-directory-of-units"
        #expect(mkdir(directory, 0o755) == 0)
        for name in ["a.service", "b.service", "a.socket"] {
            let fd = open(directory + "/" + name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            let text = name.hasSuffix(".socket") ? "[Socket]\nListenStream=/run/a.sock\n" : "[Service]\nExecStart=/bin/true\n"
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        let set = UnitSet.load(directories: [directory], context: UnitSetTests.context)
        let paths = [set.services[UnitName(prefix: "a", type: .service)]?.path,
                     set.services[UnitName(prefix: "b", type: .service)]?.path,
                     set.sockets[UnitName(prefix: "a", type: .socket)]?.path].compactMap { $0 }
        #expect(paths.count == 3)
        #expect(Set(paths.map { storage($0.directory) }).count == 1, "one directory string for all its units")
        #expect(paths.map(\.description).sorted() == ["a.service", "a.socket", "b.service"].map { directory + "/" + $0 })
    }

    /// Services of one load that run the same program keep one string for its path.
    @Test func servicesThatRunOneProgramShareItsPath() {
        let program = "/opt/a-program-of-many/services"
        let set = UnitSet.parse([
            UnitSource(path: "/u/a.service", text: "[Service]\nExecStart=\(program) a\n"),
            UnitSource(path: "/u/b.service", text: "[Service]\nExecStart=\(program) b\n"),
        ], context: UnitSetTests.context)
        let commands = ["a", "b"].compactMap { set.services[UnitName(prefix: $0, type: .service)]?.execStart.first }
        #expect(commands.map(\.arguments) == [[program, "a"], [program, "b"]])
        #expect(Set(commands.flatMap { [storage($0.path), storage($0.arguments[0])] }).count == 1)
    }

    @Test func copiesShareTheirStorageUntilOneChanges() {
        var unit = ServiceUnit(name: UnitName(prefix: "hello", type: .service), path: "/etc/swatchd/hello.service")
        let copy = unit
        #expect(unit.storage === copy.storage, "a copy is a pointer to the same fields")
        unit.restartSec = .seconds(3)
        #expect(unit.storage !== copy.storage && copy.restartSec == .milliseconds(100), "a write copies first")
        #expect(Sandbox().storage === Sandbox().storage, "units without sandboxing share the default")
        var sandbox = Sandbox()
        sandbox.privateTmp = true
        #expect(sandbox.storage !== Sandbox().storage && !Sandbox().privateTmp, "the shared default is never written")
    }

    @Test func aNameIsItsTextAndReadsItsParts() throws {
        let instance = try #require(UnitName(parsing: "echo@a.b.service"))
        #expect(instance.prefix == "echo" && instance.instance == "a.b" && instance.type == .service)
        #expect(!instance.isTemplate && instance.template?.description == "echo@.service")
        let template = try #require(UnitName(parsing: "echo@.socket"))
        #expect(template.isTemplate && template.instance == "" && template.type == .socket)
        let plain = try #require(UnitName(parsing: "x.y.socket"))
        #expect(plain.prefix == "x.y" && plain.instance == nil && !plain.isTemplate)
        #expect(plain == UnitName(prefix: "x.y", type: .socket))
        #expect(UnitName(prefix: "echo", instance: "a.b", type: .service) == instance)
        #expect(instance.with(type: .socket).description == "echo@a.b.socket")
        #expect(template.with(type: .service).description == "echo@.service" && template.with(type: .socket) == template)
        let long = try #require(UnitName(parsing: "a-name-longer-than-a-small-string@with.dots.socket"))
        #expect(long.with(type: .service).description == "a-name-longer-than-a-small-string@with.dots.service")
        #expect(long.with(type: .service).with(type: .socket) == long)
    }

    @Test func fileStampsActAsTheDictionaryTheyWere() {
        var times = SourceFileTimes()
        let stamp = SourceFileTimes.Stamp(seconds: 1, nanoseconds: 2)
        times.stamps["/u/a.service"] = .some(stamp)
        times.stamps["/u/a.service.d/x.conf"] = .some(nil)
        times.stamps["/u/a.service.d/y.conf"] = .some(stamp)
        #expect(times.stamps.keys.sorted() == ["/u/a.service", "/u/a.service.d/x.conf", "/u/a.service.d/y.conf"])
        #expect(times.stamps["/u/a.service"] == .some(stamp) && times.stamps["/u/a.service.d/x.conf"] == .some(nil))
        #expect(times.stamps["/u/other"] == nil)
        times.stamps["/u/a.service"] = nil
        #expect(times.stamps.keys.sorted() == ["/u/a.service.d/x.conf", "/u/a.service.d/y.conf"])
        #expect(times.stamps["/u/a.service.d/y.conf"] == .some(stamp))
        times.stamps["/u/a.service.d/x.conf"] = .some(stamp)
        #expect(times.stamps["/u/a.service.d/x.conf"] == .some(stamp))
    }
}
