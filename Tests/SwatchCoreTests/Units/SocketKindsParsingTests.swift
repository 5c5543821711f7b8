import Testing
@testable import SwatchCore

/// ListenSpecial=, ListenMessageQueue=, ListenNetlink=, vsock addresses and the options that go
/// with them (Writable=, MessageQueue*=, Symlinks=, Timestamping=, PassPacketInfo=), read from
/// unit text as systemd.socket(5) and config_parse_socket_listen() read them.
@Suite struct SocketKindsParsingTests {
    private func load(_ socket: String, name: String = "a", service: String? = nil) -> UnitSet {
        UnitSet.parse([
            UnitSource(path: "u/\(name).socket", text: socket),
            UnitSource(path: service ?? "u/\(name).service", text: "[Service]\nExecStart=/bin/true\n"),
        ], context: UnitSetTests.context, checkExecutables: false)
    }

    private func messages(_ set: UnitSet) -> [String] { set.diagnostics.map(\.description) }

    @Test func readsEveryNewKindAndPrintsItAsSystemctlDoes() throws {
        let set = load("""
            [Socket]
            ListenSpecial=/dev/kmsg
            ListenMessageQueue=/swatch-q
            ListenNetlink=kobject-uevent 1
            ListenNetlink=route
            ListenNetlink=15 2
            ListenStream=vsock:2:1234
            ListenSequentialPacket=vsock::5
            ListenDatagram=vsock:host:80
            ListenStream=vsock:hypervisor:7
            ListenStream=vsock:local:8
            Writable=yes
            MessageQueueMaxMessages=10
            MessageQueueMessageSize=128
            PassPacketInfo=yes
            """)
        #expect(messages(set) == [])
        let socket = try #require(set.sockets.first?.value)
        #expect(socket.listens.map(\.address) == [
            .special(path: "/dev/kmsg"), .messageQueue(name: "/swatch-q"), .netlink(protocol: 15, group: 1),
            .netlink(protocol: 0, group: 0), .netlink(protocol: 15, group: 2), .vsock(cid: 2, port: 1234),
            .vsock(cid: nil, port: 5), .vsock(cid: 2, port: 80), .vsock(cid: 0, port: 7), .vsock(cid: 1, port: 8),
        ])
        #expect(socket.listens.map(\.kind) == [
            .special, .messageQueue, .netlink, .netlink, .netlink, .stream, .sequentialPacket, .datagram, .stream, .stream,
        ])
        #expect(socket.listens.map { ListenEntry($0).description } == [
            "/dev/kmsg (Special)", "/swatch-q (MessageQueue)", "kobject-uevent 1 (Netlink)", "route 0 (Netlink)",
            "kobject-uevent 2 (Netlink)", "vsock:2:1234 (Stream)", "vsock::5 (SequentialPacket)",
            "vsock:2:80 (Datagram)", "vsock:0:7 (Stream)", "vsock:1:8 (Stream)",
        ])
        #expect(socket.options.writable)
        #expect(socket.options.messageQueueMaxMessages == 10)
        #expect(socket.options.messageQueueMessageSize == 128)
        #expect(socket.options.passPacketInfo)
        #expect(socket.options.timestamping == .off)
    }

    /// PassPIDFD=, AcceptFileDescriptors= and TCPCongestion= (systemd.socket(5)): booleans and
    /// a name taken as written; the empty TCPCongestion= leaves the kernel's algorithm.
    @Test func readsTheOptionsOfWhatPeersPass() throws {
        let set = load("[Socket]\nListenStream=/run/a.sock\nPassPIDFD=yes\nAcceptFileDescriptors=no\nTCPCongestion=bbr\n")
        #expect(messages(set) == [])
        let socket = try #require(set.sockets.first?.value)
        #expect(socket.options.passPIDFD)
        #expect(!socket.options.acceptFileDescriptors)
        #expect(socket.options.tcpCongestion == "bbr")
        let defaults = try #require(load("[Socket]\nListenStream=/run/a.sock\nTCPCongestion=bbr\nTCPCongestion=\n").sockets.first?.value)
        #expect(!defaults.options.passPIDFD)
        #expect(defaults.options.acceptFileDescriptors)
        #expect(defaults.options.tcpCongestion == nil)
        for key in ["PassPIDFD", "AcceptFileDescriptors", "TCPCongestion"] {
            #expect(socketCatalog.setter("Socket", key) != nil, "\(key)")
            #expect(!socketCatalog.unsupported("Socket").contains(key), "\(key)")
        }
    }

    @Test func aNetlinkFamilyWithoutANameIsPrintedAsItsNumber() {
        #expect(ListenAddress.netlink(protocol: 17, group: 0).description == "17 0")
        #expect(ListenAddress.netlink(protocol: 9, group: 0).description == "audit 0")
    }

    /// socket_timestamping_from_string_harder(): the names, the parse_time() aliases, booleans (yes is ns).
    @Test(arguments: [
        ("off", SocketTimestamping.off), ("us", .us), ("usec", .us), ("µs", .us), ("ns", .ns), ("nsec", .ns),
        ("yes", .ns), ("true", .ns), ("no", .off), ("0", .off),
    ])
    func readsTimestamping(_ value: String, _ expected: SocketTimestamping) throws {
        let set = load("[Socket]\nListenDatagram=/run/a.sock\nTimestamping=\(value)\n")
        #expect(messages(set) == [])
        #expect(set.sockets.first?.value.options.timestamping == expected)
    }

    @Test func symlinksAreAbsolutePathsAndAnEmptyAssignmentResetsThem() throws {
        let set = load("[Socket]\nListenStream=/run/a.sock\nSymlinks=/run/x /run/y\nSymlinks=\nSymlinks=/run/%N.link\n")
        #expect(messages(set) == [])
        #expect(set.sockets.first?.value.options.symlinks == ["/run/a.link"])
    }

    /// Each bad value refuses the unit, with the file and line of the value.
    @Test(arguments: [
        ("ListenSpecial=dev/kmsg", "u/a.socket:2: Path is not absolute in ListenSpecial=, refusing the unit: dev/kmsg"),
        ("ListenMessageQueue=q", "u/a.socket:2: Path is not absolute in ListenMessageQueue=, refusing the unit: q"),
        ("ListenMessageQueue=/a/b",
         "u/a.socket:2: A message queue name is /NAME: one slash, then 1-255 bytes in ListenMessageQueue=, refusing the unit: /a/b"),
        ("ListenMessageQueue=/",
         "u/a.socket:2: A message queue name is /NAME: one slash, then 1-255 bytes in ListenMessageQueue=, refusing the unit: /"),
        ("ListenNetlink=nosuch 1", "u/a.socket:2: Unknown netlink family in ListenNetlink=, refusing the unit: nosuch 1"),
        ("ListenNetlink=route x", "u/a.socket:2: Invalid netlink group in ListenNetlink=, refusing the unit: route x"),
        ("ListenNetlink=route 1 2", "u/a.socket:2: Expected FAMILY GROUP in ListenNetlink=, refusing the unit: route 1 2"),
        ("ListenStream=vsock:1", "u/a.socket:2: Missing ':' before the vsock port in ListenStream=, refusing the unit: vsock:1"),
        ("ListenStream=vsock:x:1", "u/a.socket:2: Invalid vsock CID in ListenStream=, refusing the unit: vsock:x:1"),
        ("ListenStream=vsock:1:4294967295",
         "u/a.socket:2: Invalid vsock port (0-4294967294) in ListenStream=, refusing the unit: vsock:1:4294967295"),
        ("ListenStream=vsock:1:", "u/a.socket:2: Invalid vsock port (0-4294967294) in ListenStream=, refusing the unit: vsock:1:"),
        ("ListenSequentialPacket=127.0.0.1:80",
         "u/a.socket:2: Sequential packet sockets need a unix or vsock address in ListenSequentialPacket=, refusing the unit: 127.0.0.1:80"),
        ("Timestamping=sometimes", "u/a.socket:2: Failed to parse timestamping mode for Timestamping=, refusing the unit: sometimes"),
        ("Writable=maybe", "u/a.socket:2: Failed to parse boolean value for Writable=, refusing the unit: maybe"),
        ("PassPacketInfo=maybe", "u/a.socket:2: Failed to parse boolean value for PassPacketInfo=, refusing the unit: maybe"),
        ("PassPIDFD=maybe", "u/a.socket:2: Failed to parse boolean value for PassPIDFD=, refusing the unit: maybe"),
        ("AcceptFileDescriptors=maybe",
         "u/a.socket:2: Failed to parse boolean value for AcceptFileDescriptors=, refusing the unit: maybe"),
        ("MessageQueueMaxMessages=-1",
         "u/a.socket:2: Failed to parse integer 0…\(Int.max) for MessageQueueMaxMessages=, refusing the unit: -1"),
        ("MessageQueueMessageSize=big",
         "u/a.socket:2: Failed to parse integer 0…\(Int.max) for MessageQueueMessageSize=, refusing the unit: big"),
        ("Symlinks=/run/ok relative", "u/a.socket:2: Path is not absolute in Symlinks=, refusing the unit: relative"),
    ])
    func refusesABadValueAtItsLine(_ line: String, _ expected: String) {
        let set = load("[Socket]\n\(line)\nListenStream=/run/a.sock\n")
        #expect(messages(set) == [expected])
        #expect(set.sockets.isEmpty)
    }

    /// have_non_accept_socket(): only stream and sequential-packet sockets take Accept=yes.
    @Test(arguments: ["ListenSpecial=/dev/kmsg", "ListenMessageQueue=/q", "ListenNetlink=route 1"])
    func acceptIsRefusedWithAKindThatTakesNoConnections(_ line: String) {
        let set = load("[Socket]\n\(line)\nAccept=yes\n", service: "u/a@.service")
        #expect(messages(set) == [
            "u/a.socket:3: Accept=yes needs sockets that accept connections; datagram and netlink sockets, FIFOs, special files and message queues do not (one service handles all their traffic); refusing the unit.",
        ])
    }

    @Test func acceptTakesAVsockStreamSocket() {
        let set = load("[Socket]\nListenStream=vsock::1234\nAccept=yes\n", service: "u/a@.service")
        #expect(messages(set) == [])
        #expect(set.sockets.first?.value.accept == true)
    }

    /// socket_verify(): symlinks need exactly one node in the file system to point to.
    @Test(arguments: [
        ("ListenStream=8080", 0),
        ("ListenStream=/run/a.sock\nListenFIFO=/run/a.fifo", 2),
        ("ListenSpecial=/dev/kmsg", 0),
        ("ListenStream=@abstract", 0),
    ])
    func symlinksAreRefusedWithoutExactlyOnePath(_ listens: String, _ count: Int) {
        let set = load("[Socket]\nSymlinks=/run/link\n\(listens)\n")
        #expect(messages(set) == [
            "u/a.socket:2: Symlinks= needs exactly one unix socket path or FIFO to point to; this unit has \(count); refusing the unit.",
        ])
    }

    @Test(arguments: ["ListenFIFO=/run/a.fifo", "ListenStream=/run/a.sock\nListenStream=8080\nListenNetlink=route 0"])
    func symlinksPointToTheOnePath(_ listens: String) {
        let set = load("[Socket]\nSymlinks=/run/link\n\(listens)\n")
        #expect(messages(set) == [])
    }

    @Test func theNewKindsAreKnownToTheCatalogAsSupported() {
        for key in ["ListenSpecial", "ListenMessageQueue", "ListenNetlink", "Writable", "MessageQueueMaxMessages",
                    "MessageQueueMessageSize", "Symlinks", "Timestamping", "PassPacketInfo"] {
            #expect(socketCatalog.setter("Socket", key) != nil, "\(key)")
            #expect(socketCatalog.refused("Socket")[key] == nil, "\(key)")
            #expect(!socketCatalog.unsupported("Socket").contains(key), "\(key)")
        }
        #expect(socketCatalog.refused("Socket")["ListenUSBFunction"] != nil)
    }
}
