import Testing
@testable import SwatchCore

/// Loading, drop-ins, templates, pairing and the problem table of swatchd.service(5), on units given as text.
@Suite struct UnitSetTests {
    static let context = SpecifierContext(runtimeDirectory: "/run", home: "/root", userName: "root", uid: 0, hostName: "box")

    private func load(_ sources: [UnitSource]) -> UnitSet {
        UnitSet.parse(sources, context: Self.context, checkExecutables: false)
    }

    private func messages(_ set: UnitSet) -> [String] { set.diagnostics.map(\.description) }

    @Test func loadsASocketAndItsService() throws {
        let set = load([
            UnitSource(path: "u/hello.socket", text: "[Socket]\nListenStream=8080\nBindIPv6Only=both\nReusePort=true\nNoDelay=true\n"),
            UnitSource(path: "u/hello.service", text: """
                [Unit]
                Description=Hello on %H
                Requires=network.target
                [Service]
                Type=notify
                ExecStart=swatchd-hello
                WatchdogSec=1min
                Environment="GREETING=Hello World" PORT=80
                [Install]
                WantedBy=multi-user.target
                """),
        ])
        #expect(messages(set) == [])
        let socket = try #require(set.sockets[UnitName(prefix: "hello", type: .socket)])
        #expect(socket.listens.map(\.address) == [.port(8080)])
        #expect(socket.options.bindIPv6Only == .both && socket.options.reusePort && socket.options.noDelay)
        let service = try #require(set.services[set.serviceName(for: socket)])
        #expect(service.type == .notify)
        #expect(service.watchdog == .seconds(60))
        #expect(service.unit.description == "Hello on box")
        #expect(service.environment.map { "\($0.0)=\($0.1)" } == ["GREETING=Hello World", "PORT=80"])
        #expect(service.effectiveNotifyAccess == .main)
        #expect(set.sockets(triggering: service.name).map(\.name.description) == ["hello.socket"])
    }

    /// unit_name_is_valid() for any type systemd has: a dependency may name a unit swatchd
    /// never loads; a name no systemd type has, or no valid prefix, refuses the unit. Escapes
    /// stay as written (`\x2d` is part of the name, as in the unit's file name).
    @Test(arguments: ["network.target", "db@primary.service", "a:b_c-d.automount", "run-user-0.mount", "x.scope",
                      "dev-disk-by\\x2dlabel-data.device", "fsck@dev-sda\\x2d1.service"])
    func takesADependencyOfAnyType(name: String) throws {
        let set = load([UnitSource(path: "u/a.service", text: "[Unit]\nAfter=\(name)\n[Service]\nExecStart=/bin/true\n")])
        #expect(messages(set) == [])
        #expect(try #require(set.services[UnitName(prefix: "a", type: .service)]).unit.after == [name])
    }

    @Test(arguments: ["network.targett", ".target", "@x.service", "a@b@c.target", "network", "caf\u{E9}.target", "a b.target"])
    func refusesADependencyNoSystemdUnitCouldHave(name: String) {
        let set = load([UnitSource(path: "u/a.service", text: "[Unit]\nAfter=\(name)\n[Service]\nExecStart=/bin/true\n")])
        #expect(set.services.isEmpty)
        #expect(messages(set).contains { $0.hasPrefix("u/a.service:2: Invalid unit name") })
    }

    @Test(arguments: ["1A=x", "A-B=x", "=x", "noequals", "\u{C9}T\u{C9}=x"])
    func refusesAnEnvironmentAssignmentSystemdRefuses(word: String) {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nEnvironment=\(word)\n")])
        #expect(set.services.isEmpty)
        #expect(messages(set).contains { $0.hasPrefix("u/a.service:3: Failed to parse environment assignment") })
    }

    @Test func appliesDropInsInOrderAndResetsListsOnEmptyAssignments() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            Environment=A=1
            RestartSec=5
            ExecStartPre=/bin/echo one
            """, dropIns: [
                (path: "u/a.service.d/10-first.conf", text: "[Service]\nRestartSec=10\nExecStartPre=\nExecStartPre=/bin/echo two\n"),
                (path: "u/a.service.d/20-second.conf", text: "[Service]\nRestartSec=500ms\nEnvironment=B=2\nExecStart=\nExecStart=/bin/false\n"),
            ])])
        let service = try #require(set.services[UnitName(prefix: "a", type: .service)])
        #expect(service.restartSec == .milliseconds(500))
        #expect(service.execStartPre.map(\.arguments) == [["/bin/echo", "two"]])
        #expect(service.execStart.map(\.path) == ["/bin/false"])
        #expect(service.environment.map(\.0) == ["A", "B"])
        #expect(service.dropIns == ["u/a.service.d/10-first.conf", "u/a.service.d/20-second.conf"])
    }

    @Test func aDropInNamesItsOwnFileInDiagnostics() {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\n",
                                   dropIns: [(path: "u/a.service.d/x.conf", text: "[Service]\n\nRestart=sometimes\n")])])
        #expect(messages(set) == ["u/a.service.d/x.conf:3: Failed to parse restart policy for Restart=, refusing the unit: sometimes"])
        #expect(set.refused["a.service"]?.count == 1)
        #expect(set.services.isEmpty)
    }

    /// PollLimitIntervalSec=/PollLimitBurst= as systemd.socket(5) gives them: 2s, and 15 events
    /// or 150 with Accept=yes unless set; a bad value refuses the unit at its line.
    @Test func pollLimitDefaultsFollowAcceptAndAreParsed() throws {
        let set = load([
            UnitSource(path: "u/a.socket", text: "[Socket]\nListenStream=2000\n"),
            UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/a\n"),
            UnitSource(path: "u/e.socket", text: "[Socket]\nListenStream=2001\nAccept=yes\n"),
            UnitSource(path: "u/e@.service", text: "[Service]\nExecStart=/bin/e\n"),
            UnitSource(path: "u/f.socket", text: "[Socket]\nListenStream=2002\nAccept=yes\nPollLimitIntervalSec=10s\nPollLimitBurst=3\n"),
            UnitSource(path: "u/f@.service", text: "[Service]\nExecStart=/bin/f\n"),
            UnitSource(path: "u/b.socket", text: "[Socket]\nListenStream=2003\nPollLimitBurst=many\n"),
            UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/b\n"),
        ])
        func limits(_ prefix: String) -> String? {
            set.sockets[UnitName(prefix: prefix, type: .socket)].map { "\($0.pollLimitBurst) in \($0.pollLimitInterval)" }
        }
        #expect(limits("a") == "15 in 2s")
        #expect(limits("e") == "150 in 2s")
        #expect(limits("f") == "3 in 10s")
        #expect(limits("b") == nil)
        #expect(messages(set).contains { $0.hasPrefix("u/b.socket:3: ") && $0.contains("PollLimitBurst=") }, "\(messages(set))")
    }

    @Test func instantiatesTemplatesPerInstance() throws {
        let set = load([
            UnitSource(path: "u/echo.socket", text: "[Socket]\nListenStream=2000\nAccept=yes\n"),
            UnitSource(path: "u/echo@.service", text: "[Service]\nExecStart=/bin/echo %i %I\nStandardInput=socket\nPIDFile=echo-%i.pid\n"),
        ])
        #expect(messages(set) == [])
        let socket = try #require(set.sockets[UnitName(prefix: "echo", type: .socket)])
        #expect(socket.triggerLimitBurst == 200)
        let template = set.serviceName(for: socket)
        #expect(template.description == "echo@.service")
        #expect(set.services[template] != nil)
        let instance = try #require(set.instantiate(template, instance: UnitName.escape("1-10.0.0.1:80")))
        #expect(instance.name.description == #"echo@1\x2d10.0.0.1:80.service"#)
        #expect(instance.execStart[0].arguments == ["/bin/echo", #"1\x2d10.0.0.1:80"#, "1-10.0.0.1:80"])
        #expect(instance.pidFile == #"/run/echo-1\x2d10.0.0.1:80.pid"#)
        #expect(set.instantiate(template, instance: "not valid") == nil)
        #expect(set.instantiate(UnitName(prefix: "nope", instance: "", type: .service), instance: "1") == nil)
    }

    @Test func makesTheInstanceThatAServiceLineNames() throws {
        let set = load([
            UnitSource(path: "u/web.socket", text: "[Socket]\nListenStream=/run/web.sock\nService=app@main.service\n"),
            UnitSource(path: "u/app@.service", text: "[Service]\nExecStart=/bin/app --name %i\n"),
        ])
        #expect(messages(set) == [])
        let instance = try #require(set.services[UnitName(parsing: "app@main.service")!])
        #expect(instance.execStart[0].arguments == ["/bin/app", "--name", "main"])
    }

    @Test func ordersTheFdsOfSeveralSocketsByUnitName() {
        let set = load([
            UnitSource(path: "u/b.socket", text: "[Socket]\nListenStream=443\nService=hello.service\n"),
            UnitSource(path: "u/a.socket", text: "[Socket]\nListenStream=80\nService=hello.service\n"),
            UnitSource(path: "u/hello.service", text: "[Service]\nExecStart=/bin/true\n"),
        ])
        #expect(set.sockets(triggering: UnitName(prefix: "hello", type: .service)).map(\.name.description) == ["a.socket", "b.socket"])
    }

    @Test func takesTheFirstSourceOfAName() {
        let set = load([
            UnitSource(path: "first/a.service", text: "[Service]\nExecStart=/bin/true\n"),
            UnitSource(path: "second/a.service", text: "[Service]\nExecStart=/bin/false\n"),
        ])
        #expect(set.services.values.map(\.path) == ["first/a.service"])
    }

    @Test func ignoresXKeysAndSectionsSilently() {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nX-Mine=1\n[X-Vendor]\nAnything=goes\n")])
        #expect(messages(set) == [])
        // In every section swatchd reads, [Install] among them; an unknown key there is still named.
        let more = load([UnitSource(path: "u/b.service",
                                    text: "[Unit]\nX-Note=1\n[Service]\nExecStart=/bin/true\n[Install]\nX-Also=2\nWantedBy=x.target\nFrob=1\n")])
        #expect(messages(more) == ["u/b.service:8: Unknown key 'Frob' in section [Install], ignoring."])
    }

    @Test func judgesARestrictionOnItsFinalValue() {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nPrivateTmp=yes\nUser=\nDynamicUser=no\n",
                                   dropIns: [(path: "u/a.service.d/off.conf", text: "[Service]\nPrivateTmp=no\n")])])
        #expect(messages(set) == [])
        let refused = load([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nRootImage=/srv/b.raw\nRootDirectory=/srv\nUser=nobody\n")])
        #expect(messages(refused) == [
            "u/b.service:3: RootImage= is not enforced by this build; refusing to run the unit with less isolation than it asks for.",
            "u/b.service:4: RootDirectory= is not enforced by this build; refusing to run the unit with less isolation than it asks for.",
        ])
        #expect(refused.refused["b.service"]?.count == 2)
    }

    /// A load of many units looks each key up once (Units/KeyLookups.swift): the units after
    /// the first that write the same keys — parsed, restricting, refused, unknown, of a part of
    /// the model, in a section the type lacks — get the same answers as the first.
    @Test func everyUnitOfALoadGetsTheSameAnswersForTheSameKeys() throws {
        let text = "[Unit]\nDescription=d\nAfter=x.target\n[Service]\nExecStart=/bin/true\nPrivateTmp=yes\nUser=nobody\n"
            + "Frob=1\nStartLimitBurst=3\n[Socket]\nListenStream=1\n"
        let socketText = "[Socket]\nListenStream=80\nPrivateTmp=yes\nRootImage=/r\n[Service]\nUser=x\n"
        let names = (1...20).map { "u\($0)" }   // 40 units: more than a load asks the catalog for directly
        let set = load(names.map { UnitSource(path: "u/\($0).service", text: text) }
            + names.map { UnitSource(path: "u/\($0).socket", text: socketText) })
        for name in names {
            #expect(messages(set).filter { $0.hasPrefix("u/\(name).service:") } == [
                "u/\(name).service:8: Unknown key 'Frob' in section [Service], ignoring.",
                "u/\(name).service:10: Unknown section [Socket], ignoring.",
            ])
            let service = try #require(set.services[UnitName(prefix: name, type: .service)])
            #expect(service.unit.description == "d" && service.unit.after == ["x.target"] && service.unit.startLimitBurst == 3)
            #expect(service.sandbox.privateTmp && service.sandbox.user == "nobody")
            #expect(set.refused["\(name).socket"]?.map(\.message) == [
                "RootImage= is not enforced by this build; refusing to run the unit with less isolation than it asks for.",
            ])
        }
        // The same as each unit interpreted alone, which asks the catalog for every line.
        let alone = SocketUnit.interpret(name: UnitName(prefix: "u20", type: .socket),
                                         files: [UnitFile(path: "u/u20.socket", text: socketText, unit: "u20.socket")], context: Self.context).1
        #expect(set.diagnostics.filter { $0.unit == "u20.socket" }.map(\.description).sorted() == alone.map(\.description).sorted())
        #expect(alone.count == 2)
    }

    /// PrivateUsers= is a boolean, as in systemd 252: enforced, so it loads; a value systemd 252
    /// does not know (`self`, `identity` and `full` of later versions) refuses the unit, at its line.
    @Test func privateUsersIsABooleanAndOtherValuesRefuseTheUnit() {
        let set = load([
            UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nPrivateUsers=yes\n"),
            UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nPrivateUsers=self\n"),
            UnitSource(path: "u/c.service", text: "[Service]\nExecStart=/bin/true\nPrivateUsers=yes\nPrivateUsers=no\n"),
        ])
        #expect(messages(set) == ["u/b.service:3: Failed to parse boolean value for PrivateUsers=, refusing the unit: self"])
        #expect(set.refused["a.service"] == nil && set.refused["c.service"] == nil && set.refused["b.service"] != nil)
        #expect(set.services.first { $0.key.description == "a.service" }?.value.sandbox.privateUsers == true)
        #expect(set.services.first { $0.key.description == "c.service" }?.value.sandbox.privateUsers == false)
    }

    @Test func parsesSandboxSettingsIntoTheModel() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN
            CapabilityBoundingSet=~CAP_CHOWN
            LimitNOFILE=1024:4096
            UMask=0077
            Nice=5
            OOMScoreAdjust=-100
            """)])
        // Enforced by this build (swatchd.service(5), "SANDBOXING"): the unit loads.
        #expect(set.refused["a.service"] == nil)
        #expect(messages(set) == [])
        let service = ServiceUnit.interpret(name: UnitName(prefix: "a", type: .service),
                                            files: [UnitFile(path: "a.service", text: """
                                                [Service]
                                                ExecStart=/bin/true
                                                CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN
                                                CapabilityBoundingSet=~CAP_CHOWN
                                                LimitNOFILE=1024:4096
                                                UMask=0077
                                                Nice=5
                                                OOMScoreAdjust=-100
                                                """, unit: "a.service")],
                                            context: Self.context, checkExecutables: false).0
        #expect(service.sandbox.capabilityBoundingSet == CapabilitySet(bits: 1 << 10))
        #expect(service.sandbox.limits[.nofile] == LimitValue(soft: 1024, hard: 4096))
        #expect(service.umask == 0o077 && service.sandbox.nice == 5 && service.sandbox.oomScoreAdjust == -100)
    }

    /// CPUAffinity= adds up and resets on empty; TimerSlackNSec= counts nanoseconds; a
    /// Personality= of another machine is warned about and ignored, as systemd does, and a
    /// word that names no architecture refuses the unit. KeyringMode= takes systemd's three words; SecureBits= adds up.
    @Test func parsesTheProcessProperties() throws {
        func service(_ lines: String) -> (ServiceUnit, [String]) {
            let (unit, diagnostics) = ServiceUnit.interpret(
                name: UnitName(prefix: "a", type: .service),
                files: [UnitFile(path: "a.service", text: "[Service]\nExecStart=/bin/true\n" + lines, unit: "a.service")],
                context: Self.context, checkExecutables: false)
            return (unit, diagnostics.map(\.description))
        }
        #expect(service("CPUAffinity=3 0-1\nCPUAffinity=1,5\n").0.sandbox.cpuAffinity == [0, 1, 3, 5])
        #expect(service("CPUAffinity=3\nCPUAffinity=\nCPUAffinity=2\n").0.sandbox.cpuAffinity == [2])
        #expect(service("CPUAffinity=2-1\n").1 == ["a.service:3: Failed to parse CPU affinity for CPUAffinity=, refusing the unit: 2-1"])
        #expect(service("TimerSlackNSec=50000\n").0.sandbox.timerSlack == 50_000)
        // CoredumpFilter=: mapping types, default, all, hexadecimal; each assignment adds, the empty one resets.
        #expect(service("CoredumpFilter=private-anonymous elf-headers\nCoredumpFilter=0x100\n").0.sandbox.coredumpFilter == 0x111)
        #expect(service("CoredumpFilter=default shared-dax\n").0.sandbox.coredumpFilter == 0x133)
        #expect(service("CoredumpFilter=all\n").0.sandbox.coredumpFilter == 0xFFFF_FFFF)
        #expect(service("CoredumpFilter=all\nCoredumpFilter=\n").0.sandbox.coredumpFilter == nil)
        #expect(service("CoredumpFilter=default everything\n").1
            == ["a.service:3: Failed to parse core dump filter for CoredumpFilter=, refusing the unit: default everything"])
        #expect(service("NUMAPolicy=bind\nNUMAMask=0\n").0.sandbox.numaPolicy == .bind)
        #expect(service("NUMAMask=1-2\nNUMAMask=0\n").0.sandbox.numaMask == [0, 1, 2])
        #expect(service("NUMAPolicy=sideways\n").1 == ["a.service:3: Failed to parse NUMA policy for NUMAPolicy=, refusing the unit: sideways"])
        #expect(service("TimerSlackNSec=1ms\n").0.sandbox.timerSlack == 1_000_000)
        #expect(service("Personality=\(ConditionCheck.nativeArchitecture ?? "")\n").0.sandbox.personality == 0)
        let other = service("Personality=sparc64\n")
        #expect(other.0.sandbox.personality == nil)
        #expect(other.1 == ["a.service:3: Failed to parse personality, ignoring: sparc64"])
        #expect(service("Personality=sideways\n").1 == ["a.service:3: Failed to parse personality for Personality=, refusing the unit: sideways"])
        #if arch(x86_64)
        #expect(service("Personality=x86\n").0.sandbox.personality == 8)
        #endif
        #expect(service("").0.sandbox.keyringMode == nil)
        #expect(service("KeyringMode=shared\n").0.sandbox.keyringMode == .shared)
        #expect(service("KeyringMode=private\nKeyringMode=inherit\n").0.sandbox.keyringMode == .inherit)
        #expect(service("KeyringMode=public\n").1 == ["a.service:3: Failed to parse keyring mode for KeyringMode=, refusing the unit: public"])
        #expect(service("SecureBits=noroot noroot-locked\nSecureBits=keep-caps\n").0.sandbox.secureBits == 0b10011)
        #expect(service("SecureBits=noroot\nSecureBits=\nSecureBits=no-setuid-fixup\n").0.sandbox.secureBits == 0b100)
        #expect(service("SecureBits=noroot sideways\n").1
            == ["a.service:3: Failed to parse secure bits for SecureBits=, refusing the unit: noroot sideways"])
    }

    /// OpenFile=: PATH[:NAME[:OPTIONS]] as systemd's open_file_parse() takes it.
    @Test func parsesOpenFile() {
        #expect((try? OpenFile.parse("/etc/a.conf").get()) == OpenFile(path: "/etc/a.conf", name: "a.conf"))
        let full = try? OpenFile.parse("/run/x:ex:read-only,graceful").get()
        #expect(full?.name == "ex" && full?.readOnly == true && full?.graceful == true && full?.append == false)
        #expect((try? OpenFile.parse("/run/x::append").get())?.name == "x")
        for (value, problem) in [("run/x", OpenFileProblem.path), ("/run/x:a\u{7}b", .name), ("/", .name),
                                 ("/run/x:n:append,append", .option("append")), ("/run/x:n:sideways", .option("sideways")),
                                 ("/run/x:n:read-only,truncate", .conflict), ("/run/x:n:append,truncate", .conflict)] {
            #expect(OpenFile.parse(value) == .failure(problem), "\(value)")
        }
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nOpenFile=/run/x:n:sideways\n")])
        #expect(messages(set) == ["u/a.service:3: Invalid or repeated option 'sideways' in OpenFile=, refusing the unit: /run/x:n:sideways"])
    }

    @Test func parsesTheDirectoriesAndRefusesAnAbsoluteOne() throws {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nExecStart=/bin/true\nStateDirectory=a a/b\nRuntimeDirectory=/abs\n")])
        #expect(messages(set) == [
            "u/a.service:4: Path is not relative in RuntimeDirectory=, refusing the unit: /abs",
        ])
        let fine = load([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nStateDirectory=a a/b\n")])
        #expect(fine.services.first?.value.sandbox.stateDirectory == ["a", "a/b"])
    }

    /// StateDirectoryMode= and friends are octal modes, RuntimeDirectoryPreserve= a boolean or `restart`.
    @Test func parsesTheDirectoriesModesAndPreserve() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            StateDirectoryMode=0700
            ConfigurationDirectoryMode=555
            RuntimeDirectoryPreserve=restart
            """),
                        UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\nRuntimeDirectoryPreserve=on\n"),
                        UnitSource(path: "u/c.service", text: "[Service]\nExecStart=/bin/true\nLogsDirectoryMode=0800\n"),
                        UnitSource(path: "u/d.service", text: "[Service]\nExecStart=/bin/true\nRuntimeDirectoryPreserve=later\n")])
        let a = try #require(set.services[UnitName(parsing: "a.service")!]).sandbox
        #expect(a.stateDirectoryMode == 0o700 && a.configurationDirectoryMode == 0o555 && a.runtimeDirectoryMode == 0o755)
        #expect(a.runtimeDirectoryPreserve == .restart)
        #expect(set.services[UnitName(parsing: "b.service")!]?.sandbox.runtimeDirectoryPreserve == .yes)
        #expect(messages(set) == [
            "u/c.service:3: Failed to parse access mode for LogsDirectoryMode=, refusing the unit: 0800",
            "u/d.service:3: Failed to parse runtime directory preserve mode for RuntimeDirectoryPreserve=, refusing the unit: later",
        ])
    }

    /// CPUScheduling*= and IOScheduling*= by name or number; an empty IOScheduling*= resets both.
    @Test func parsesTheSchedulingKeys() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            CPUSchedulingPolicy=batch
            CPUSchedulingPriority=0
            CPUSchedulingResetOnFork=yes
            IOSchedulingClass=best-effort
            IOSchedulingPriority=6
            """),
                        UnitSource(path: "u/b.service", text: """
            [Service]
            ExecStart=/bin/true
            CPUSchedulingPolicy=2
            IOSchedulingClass=idle
            IOSchedulingPriority=
            """),
                        UnitSource(path: "u/c.service", text: "[Service]\nExecStart=/bin/true\nCPUSchedulingPolicy=deadline\n"),
                        UnitSource(path: "u/d.service", text: "[Service]\nExecStart=/bin/true\nIOSchedulingPriority=8\n")])
        let a = try #require(set.services[UnitName(parsing: "a.service")!]).sandbox
        #expect(a.cpuSchedulingPolicy == .batch && a.cpuSchedulingPriority == 0 && a.cpuSchedulingResetOnFork == true)
        #expect(a.ioSchedulingClass == .bestEffort && a.ioSchedulingPriority == 6)
        let b = try #require(set.services[UnitName(parsing: "b.service")!]).sandbox
        #expect(b.cpuSchedulingPolicy == .rr && b.ioSchedulingClass == nil && b.ioSchedulingPriority == nil)
        #expect(messages(set) == [
            "u/c.service:3: Failed to parse CPU scheduling policy for CPUSchedulingPolicy=, refusing the unit: deadline",
            "u/d.service:3: Failed to parse integer 0…7 for IOSchedulingPriority=, refusing the unit: 8",
        ])
    }

    /// SuccessAction=/FailureAction=: `exit` and `exit-force` are taken; systemd's actions on the
    /// machine are warned about and ignored (the unit loads); anything else refuses it.
    @Test func parsesUnitActions() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Unit]
            SuccessAction=exit
            FailureAction=exit-force
            FailureActionExitStatus=9
            [Service]
            ExecStart=/bin/true
            """),
                        UnitSource(path: "u/b.service", text: "[Unit]\nFailureAction=reboot\n[Service]\nExecStart=/bin/true\n"),
                        UnitSource(path: "u/c.service", text: "[Unit]\nSuccessAction=explode\n[Service]\nExecStart=/bin/true\n")])
        let a = try #require(set.services[UnitName(parsing: "a.service")!]).unit
        #expect(a.successAction == .exit && a.failureAction == .exitForce && a.failureActionExitStatus == 9)
        #expect(a.successActionExitStatus == nil)
        #expect(set.services[UnitName(parsing: "b.service")!]?.unit.failureAction == UnitAction.none)
        #expect(messages(set) == [
            "u/b.service:2: FailureAction=reboot is not taken by swatchd, which is not the machine's init, ignoring.",
            "u/c.service:2: Failed to parse unit action for SuccessAction=, refusing the unit: explode",
        ])
    }

    /// Type=notify-reload and ReloadSignal=; Type=dbus is refused as what it is.
    @Test func parsesNotifyReloadAndRefusesDBus() throws {
        let set = load([UnitSource(path: "u/a.service", text: "[Service]\nType=notify-reload\nReloadSignal=SIGUSR1\nExecStart=/bin/true\n"),
                        UnitSource(path: "u/b.service", text: "[Service]\nType=dbus\nBusName=org.example\nExecStart=/bin/true\n")])
        let a = try #require(set.services[UnitName(parsing: "a.service")!])
        #expect(a.type == .notifyReload && a.reloadSignal == 10 && a.canReload && a.effectiveNotifyAccess == .main)
        #expect(messages(set).contains(
            "u/b.service:2: Unsupported service type (swatchd has no D-Bus to watch BusName= on) in Type=, refusing the unit: dbus"))
    }

    /// A problem with a command points at the line that wrote it, through drop-ins, resets and
    /// lines of several commands; a command whose line only moved is the same command.
    @Test func aCommandsProblemPointsAtItsLineAndAMovedLineChangesNothing() throws {
        let set = UnitSet.parse([UnitSource(path: "u/a.service", text: """
            [Service]
            Type=oneshot
            ExecStart=/swatchd-no-such/one
            ExecStartPre=/bin/true ; /swatchd-no-such/pre
            """, dropIns: [(path: "u/a.service.d/10.conf", text: "[Service]\nExecStart=\n\nExecStart=/bin/true ; /swatchd-no-such/two\n")])],
            context: Self.context, checkExecutables: true)
        #expect(messages(set) == [
            "u/a.service:4: Program of ExecStartPre= is not executable (No such file or directory), the unit will fail to start until it is: /swatchd-no-such/pre",
            "u/a.service.d/10.conf:4: Program of ExecStart= is not executable (No such file or directory), the unit will fail to start until it is: /swatchd-no-such/two",
        ])
        let second = load([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/a\n",
                                      dropIns: [(path: "u/b.service.d/x.conf", text: "[Service]\n\nExecStart=/bin/b\n")])])
        #expect(messages(second) == ["u/b.service.d/x.conf:3: Service has more than one ExecStart= command, which is only allowed for Type=oneshot services; refusing the unit."])
        let before = load([UnitSource(path: "u/c.service", text: "[Service]\nExecStart=/bin/echo a\n")])
        let moved = load([UnitSource(path: "u/c.service", text: "# Moved down.\n[Service]\n\nExecStart=/bin/echo a\n")])
        #expect(before.services.first?.value == moved.services.first?.value, "daemon-reload takes it as unchanged")
    }

    /// daemon-reload restarts a service whose unit changed, as `==` of the services says: every
    /// setting counts, also those kept out of line.
    @Test func aChangeOfAnyServiceSettingIsAChange() {
        let base = "[Service]\nExecStart=/bin/a\nExecStartPre=/bin/pre\n"
        let plain = load([UnitSource(path: "u/a.service", text: base)]).services.first?.value
        for extra in ["ExitType=cgroup", "FileDescriptorStorePreserve=yes", "X-IdleStopSec=30s", "PermissionsStartOnly=yes",
                      "TimeoutStartFailureMode=abort", "TimeoutStopFailureMode=kill"] {
            let changed = load([UnitSource(path: "u/a.service", text: base + extra + "\n")]).services.first?.value
            #expect(changed != nil && changed != plain, "\(extra)")
        }
    }

    @Test func allowsSeveralCommandsForOneshotOnly() throws {
        let oneshot = load([UnitSource(path: "u/a.service", text: "[Service]\nType=oneshot\nExecStart=/bin/echo a ; /bin/echo b\nExecStart=/bin/echo c\n")])
        #expect(messages(oneshot) == [])
        #expect(oneshot.services.first?.value.execStart.count == 3)
        let simple = load([UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/echo a ; /bin/echo b\n")])
        #expect(messages(simple) == ["u/b.service:2: Service has more than one ExecStart= command, which is only allowed for Type=oneshot services; refusing the unit."])
        let remain = load([UnitSource(path: "u/c.service", text: "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=/bin/true\n")])
        #expect(messages(remain) == [])
        let empty = load([UnitSource(path: "u/d.service", text: "[Service]\nType=oneshot\nExecStop=/bin/true\n")])
        #expect(messages(empty) == ["u/d.service:1: Service has no ExecStart= and no SuccessAction= settings and does not have RemainAfterExit=yes set; refusing the unit."])
    }

    @Test func takesAServiceWithoutTypeOrExecStartAsOneshot() throws {
        // systemd's own systemd-exit.service: no Type=, no ExecStart=, the action is the work.
        let exit = load([UnitSource(path: "u/exit.service", text: "[Unit]\nSuccessAction=exit\n[Service]\n")])
        #expect(messages(exit) == [])
        #expect(exit.services.first?.value.type == .oneshot)
        let stopOnly = load([UnitSource(path: "u/a.service", text: "[Service]\nRemainAfterExit=yes\nExecStop=/bin/true\n")])
        #expect(messages(stopOnly) == [])
        #expect(stopOnly.services.first?.value.type == .oneshot)
        let nothing = load([UnitSource(path: "u/b.service", text: "[Unit]\nDescription=x\n\n[Service]\nRemainAfterExit=yes\n")])
        #expect(messages(nothing) == ["u/b.service:4: Service has no ExecStart=, ExecStop=, or SuccessAction=; refusing the unit."])
        let simple = load([UnitSource(path: "u/c.service", text: "[Service]\nType=simple\nExecStop=/bin/true\n")])
        #expect(messages(simple) == ["u/c.service:1: Service has no ExecStart= setting, which is only allowed for Type=oneshot services; refusing the unit."])
        let withCommand = load([UnitSource(path: "u/d.service", text: "[Service]\nExecStart=/bin/true\n")])
        #expect(withCommand.services.first?.value.type == .simple)
    }

    @Test func readsTheTimeoutsAndSignalsOfAService() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/true
            TimeoutSec=0
            TimeoutStopSec=1min 30s
            KillSignal=SIGINT
            RestartKillSignal=HUP
            SuccessExitStatus=3 SIGUSR1
            SuccessExitStatus=4
            RestartPreventExitStatus=1
            RestartPreventExitStatus=
            Restart=on-failure
            StandardOutput=append:/var/log/a.log
            """)])
        let service = try #require(set.services.first?.value)
        #expect(service.timeoutStart == .infinity && service.timeoutStop == .seconds(90))
        #expect(service.killSignal == 2 && service.restartKillSignal == 1)
        #expect(service.successExitStatus == ExitStatusSet(statuses: [3, 4], signals: [10]))
        #expect(service.restartPreventExitStatus == ExitStatusSet())
        #expect(service.restart == .onFailure)
        #expect(service.standardOutput == .append("/var/log/a.log"))
    }

    /// A template is checked with a sample instance, as `systemd-analyze verify` checks it: `%i`
    /// alone as the program is no empty path, and the template keeps its own name.
    @Test func checksATemplateWithASampleInstance() throws {
        let set = load([UnitSource(path: "u/run@.service", text: "[Service]\nExecStart=%i --once\n")])
        #expect(messages(set) == [])
        let template = try #require(set.services[UnitName(parsing: "run@.service")!])
        #expect(template.name.description == "run@.service")
        let instance = try #require(set.instantiate(template.name, instance: "date"))
        #expect(instance.execStart.first?.path == "date" && instance.execStart.first?.arguments == ["date", "--once"])
    }

    /// StandardInput= and its data (systemd.exec(5)): `data` is implied by the data keys, an empty
    /// assignment resets them, TTYPath= goes with the terminal forms, `fd:` names a passed fd.
    @Test func readsTheStandardInputOfAService() throws {
        let set = load([UnitSource(path: "u/a.service", text: """
            [Service]
            ExecStart=/bin/cat
            StandardInputText=dropped
            StandardInputText=
            StandardInputText=a\\x41%%
            StandardInputData=QkM=
            """),
            UnitSource(path: "u/t.service", text: "[Service]\nExecStart=/bin/cat\nStandardInput=tty-force\nTTYPath=/dev/tty3\n"),
            UnitSource(path: "u/f.service", text: "[Service]\nExecStart=/bin/cat\nStandardInput=fd:x\nStandardError=fd\n"),
            UnitSource(path: "u/g.service", text: "[Service]\nExecStart=/bin/cat\nStandardOutput=fd:a:b\n"),
            UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/cat\nStandardInputData=Q===\n")])
        let a = try #require(set.services[UnitName(parsing: "a.service")!])
        #expect(a.standardInputData == Array("aA%\nBC".utf8))
        #expect(a.effectiveStandardInput == .data && a.effectiveStandardOutput == nil)
        let t = try #require(set.services[UnitName(parsing: "t.service")!])
        #expect(t.effectiveStandardInput == .tty(.force) && t.ttyPath == "/dev/tty3")
        #expect(t.effectiveStandardOutput == .inherit, "after a terminal, output defaults to inherit")
        let f = try #require(set.services[UnitName(parsing: "f.service")!])
        #expect(f.effectiveStandardInput == .fd("x") && f.effectiveStandardOutput == .inherit && f.standardError == .fd("stderr"))
        #expect(messages(set).contains("u/g.service:3: Failed to parse file descriptor name for StandardOutput=, "
            + "refusing the unit: a:b"), "\(messages(set))")
        #expect(messages(set).contains("u/b.service:3: Failed to parse base64 data for StandardInputData=, refusing "
            + "the unit: Q==="), "\(messages(set))")
    }

    @Test(arguments: [("", ""), ("QQ==", "A"), ("QUI=", "AB"), ("QUJD", "ABC"), ("QU JD\n", "ABC"), ("QUI", "AB")])
    func decodesBase64(_ text: String, _ decoded: String) {
        #expect(ValueParser.base64(text) == Array(decoded.utf8))
    }

    @Test(arguments: ["Q", "QQ=A", "Q!==", "QR=="])
    func refusesBadBase64(_ text: String) {
        #expect(ValueParser.base64(text) == nil)
    }

    /// `swatchd --default-timeout-stop`: what a unit without TimeoutStopSec= (or TimeoutSec=) gets;
    /// a unit's own value still wins, and TimeoutAbortSec= follows the stop timeout.
    @Test func defaultTimeoutStopAppliesWhereTheUnitSetsNone() throws {
        var context = Self.context
        context.defaultTimeoutStop = .seconds(10)
        let set = UnitSet.parse([
            UnitSource(path: "u/plain.service", text: "[Service]\nExecStart=/bin/true\n"),
            UnitSource(path: "u/own.service", text: "[Service]\nExecStart=/bin/true\nTimeoutStopSec=5s\n"),
            UnitSource(path: "u/both.service", text: "[Service]\nExecStart=/bin/true\nTimeoutSec=2min\n"),
        ], context: context, checkExecutables: false)
        #expect(messages(set) == [])
        func service(_ prefix: String) -> ServiceUnit? { set.services[UnitName(prefix: prefix, type: .service)] }
        #expect(service("plain")?.timeoutStop == .seconds(10))
        #expect(service("plain")?.timeoutAbort == nil)
        #expect(service("plain")?.timeoutStart == .seconds(90))
        #expect(service("own")?.timeoutStop == .seconds(5))
        #expect(service("both")?.timeoutStop == .seconds(120))
        #expect(load([UnitSource(path: "u/plain.service", text: "[Service]\nExecStart=/bin/true\n")])
                .services.first?.value.timeoutStop == .seconds(90))
    }

    @Test func readsEveryListenForm() throws {
        let set = load([
            UnitSource(path: "u/a.socket", text: """
                [Socket]
                ListenStream=127.0.0.1:8080
                ListenStream=[::1]:8081
                ListenStream=[fe80::1%%eth0]:8082
                ListenDatagram=5353
                ListenStream=/run/a.sock
                ListenSequentialPacket=@a
                ListenFIFO=/run/a.fifo
                Service=b.service
                FileDescriptorName=web
                """),
            UnitSource(path: "u/b.service", text: "[Service]\nExecStart=/bin/true\n"),
        ])
        #expect(messages(set) == [])
        let socket = try #require(set.sockets.first?.value)
        #expect(socket.listens.map(\.address) == [
            .ipv4(address: "127.0.0.1", port: 8080), .ipv6(address: "::1", port: 8081, scope: nil),
            .ipv6(address: "fe80::1", port: 8082, scope: "eth0"), .port(5353), .unix(path: "/run/a.sock"),
            .abstract(name: "a"), .fifo(path: "/run/a.fifo"),
        ])
        #expect(socket.listens.map(\.kind) == [.stream, .stream, .stream, .datagram, .stream, .sequentialPacket, .fifo])
        #expect(socket.fileDescriptorName == "web")
    }
}
