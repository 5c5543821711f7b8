// Keys that restrict what a service may do (systemd.exec(5) "USER/GROUP
// IDENTITY", "CAPABILITIES", "SECURITY", "PROCESS PROPERTIES" (Limit*=),
// "SANDBOXING", "SYSTEM CALL FILTERING", and the access controls of
// systemd.resource-control(5)). A unit that asks for a restriction this build
// does not enforce is refused rather than run with less isolation than it asks
// for (swatchd.service(5), "RESTRICTING KEYS"). Enforcing a key flips its
// `enforced` to true; that is the whole change here.

/// One restricting key: whether this build enforces it, and how to tell that the
/// final unit actually asks for a restriction (`PrivateTmp=no` asks for none).
struct RestrictingKey: Sendable {
    var name: String
    var enforced: Bool
    /// For keys with a field in `Sandbox`: does the parsed value restrict? nil: the
    /// last value restricts unless it is empty or a false boolean (`no`, `false`, …).
    var asks: (@Sendable (Sandbox) -> Bool)?

    init(_ name: String, enforced: Bool, asks: (@Sendable (Sandbox) -> Bool)? = nil) {
        self.name = name
        self.enforced = enforced
        self.asks = asks
    }

    /// The error of an unenforced restriction.
    var refusal: String {
        "\(name)= is not enforced by this build; refusing to run the unit with less isolation than it asks for."
    }
}

/// The table: one line per key.
enum RestrictingKeys {
    static let all: [RestrictingKey] = [
        // Identity and privileges.
        RestrictingKey("User", enforced: true, asks: { $0.user != nil }),
        RestrictingKey("Group", enforced: true, asks: { $0.group != nil }),
        RestrictingKey("DynamicUser", enforced: true, asks: { $0.dynamicUser }),
        RestrictingKey("SupplementaryGroups", enforced: true, asks: { !$0.supplementaryGroups.isEmpty }),
        RestrictingKey("PAMName", enforced: false),
        RestrictingKey("NoNewPrivileges", enforced: true, asks: { $0.noNewPrivileges }),
        RestrictingKey("CapabilityBoundingSet", enforced: true, asks: { ($0.capabilityBoundingSet ?? .all) != .all }),
        RestrictingKey("AmbientCapabilities", enforced: true, asks: { ($0.ambientCapabilities?.bits ?? 0) != 0 }),
        RestrictingKey("SecureBits", enforced: true, asks: { $0.secureBits != 0 }),
        RestrictingKey("SELinuxContext", enforced: false),
        RestrictingKey("AppArmorProfile", enforced: false),
        RestrictingKey("SmackProcessLabel", enforced: false),
        // Resource limits (setrlimit).
        RestrictingKey("LimitCPU", enforced: true, asks: { $0.limits[.cpu] != nil }),
        RestrictingKey("LimitFSIZE", enforced: true, asks: { $0.limits[.fsize] != nil }),
        RestrictingKey("LimitDATA", enforced: true, asks: { $0.limits[.data] != nil }),
        RestrictingKey("LimitSTACK", enforced: true, asks: { $0.limits[.stack] != nil }),
        RestrictingKey("LimitCORE", enforced: true, asks: { $0.limits[.core] != nil }),
        RestrictingKey("LimitRSS", enforced: true, asks: { $0.limits[.rss] != nil }),
        RestrictingKey("LimitNOFILE", enforced: true, asks: { $0.limits[.nofile] != nil }),
        RestrictingKey("LimitAS", enforced: true, asks: { $0.limits[.as] != nil }),
        RestrictingKey("LimitNPROC", enforced: true, asks: { $0.limits[.nproc] != nil }),
        RestrictingKey("LimitMEMLOCK", enforced: true, asks: { $0.limits[.memlock] != nil }),
        RestrictingKey("LimitLOCKS", enforced: true, asks: { $0.limits[.locks] != nil }),
        RestrictingKey("LimitSIGPENDING", enforced: true, asks: { $0.limits[.sigpending] != nil }),
        RestrictingKey("LimitMSGQUEUE", enforced: true, asks: { $0.limits[.msgqueue] != nil }),
        RestrictingKey("LimitNICE", enforced: true, asks: { $0.limits[.nice] != nil }),
        RestrictingKey("LimitRTPRIO", enforced: true, asks: { $0.limits[.rtprio] != nil }),
        RestrictingKey("LimitRTTIME", enforced: true, asks: { $0.limits[.rttime] != nil }),
        // File system sandboxing.
        RestrictingKey("ProtectSystem", enforced: true, asks: { $0.protectSystem != .no }),
        RestrictingKey("ProtectHome", enforced: true, asks: { $0.protectHome != .no }),
        RestrictingKey("ReadWritePaths", enforced: true, asks: { !$0.readWritePaths.isEmpty }),
        RestrictingKey("ReadOnlyPaths", enforced: true, asks: { !$0.readOnlyPaths.isEmpty }),
        RestrictingKey("InaccessiblePaths", enforced: true, asks: { !$0.inaccessiblePaths.isEmpty }),
        RestrictingKey("ReadWriteDirectories", enforced: true, asks: { !$0.readWritePaths.isEmpty }),
        RestrictingKey("ReadOnlyDirectories", enforced: true, asks: { !$0.readOnlyPaths.isEmpty }),
        RestrictingKey("InaccessibleDirectories", enforced: true, asks: { !$0.inaccessiblePaths.isEmpty }),
        RestrictingKey("ExecPaths", enforced: true, asks: { !$0.execPaths.isEmpty }),
        RestrictingKey("NoExecPaths", enforced: true, asks: { !$0.noExecPaths.isEmpty }),
        RestrictingKey("TemporaryFileSystem", enforced: true, asks: { !$0.temporaryFileSystem.isEmpty }),
        RestrictingKey("BindPaths", enforced: true, asks: { !$0.bindPaths.isEmpty }),
        RestrictingKey("BindReadOnlyPaths", enforced: true, asks: { !$0.bindReadOnlyPaths.isEmpty }),
        RestrictingKey("RootDirectory", enforced: false),
        RestrictingKey("RootImage", enforced: false),
        RestrictingKey("MountImages", enforced: false),
        RestrictingKey("ExtensionImages", enforced: false),
        RestrictingKey("ExtensionDirectories", enforced: false),
        RestrictingKey("MountAPIVFS", enforced: true, asks: { $0.mountAPIVFS }),
        RestrictingKey("PrivateTmp", enforced: true, asks: { $0.privateTmp }),
        RestrictingKey("PrivateDevices", enforced: true, asks: { $0.privateDevices }),
        RestrictingKey("PrivateNetwork", enforced: true, asks: { $0.privateNetwork }),
        RestrictingKey("NetworkNamespacePath", enforced: true, asks: { $0.networkNamespacePath != nil }),
        RestrictingKey("PrivateIPC", enforced: true, asks: { $0.privateIPC }),
        RestrictingKey("IPCNamespacePath", enforced: true, asks: { $0.ipcNamespacePath != nil }),
        RestrictingKey("PrivateUsers", enforced: true, asks: { $0.privateUsers }),
        RestrictingKey("PrivateMounts", enforced: true, asks: { $0.privateMounts }),
        RestrictingKey("PrivatePIDs", enforced: true, asks: { $0.privatePIDs }),
        RestrictingKey("ProtectHostname", enforced: true, asks: { $0.protectHostname }),
        RestrictingKey("ProtectClock", enforced: true, asks: { $0.protectClock }),
        RestrictingKey("ProtectKernelTunables", enforced: true, asks: { $0.protectKernelTunables }),
        RestrictingKey("ProtectKernelModules", enforced: true, asks: { $0.protectKernelModules }),
        RestrictingKey("ProtectKernelLogs", enforced: true, asks: { $0.protectKernelLogs }),
        RestrictingKey("ProtectControlGroups", enforced: true, asks: { $0.protectControlGroups }),
        RestrictingKey("ProtectProc", enforced: true, asks: { $0.protectProc != nil }),
        RestrictingKey("ProcSubset", enforced: true, asks: { $0.procSubsetPID }),
        // Kernel interfaces.
        RestrictingKey("RestrictAddressFamilies", enforced: true, asks: { $0.restrictAddressFamilies != nil }),
        RestrictingKey("RestrictFileSystems", enforced: false),
        RestrictingKey("RestrictNamespaces", enforced: true, asks: { ($0.restrictNamespaces ?? 0) != 0 }),
        RestrictingKey("RestrictRealtime", enforced: true, asks: { $0.restrictRealtime }),
        RestrictingKey("RestrictSUIDSGID", enforced: true, asks: { $0.restrictSUIDSGID }),
        RestrictingKey("LockPersonality", enforced: true, asks: { $0.lockPersonality }),
        RestrictingKey("MemoryDenyWriteExecute", enforced: true, asks: { $0.memoryDenyWriteExecute }),
        RestrictingKey("SystemCallFilter", enforced: true, asks: { $0.systemCallFilter != nil }),
        RestrictingKey("SystemCallArchitectures", enforced: true, asks: { !$0.systemCallArchitectures.isEmpty }),
        // Access control of systemd.resource-control(5).
        RestrictingKey("DevicePolicy", enforced: true, asks: { $0.devicePolicy != .auto }),
        RestrictingKey("DeviceAllow", enforced: true, asks: { !$0.deviceAllow.isEmpty }),
        // (IPAddressAllow= alone takes nothing away: it only makes exceptions to IPAddressDeny=.)
        RestrictingKey("IPAddressAllow", enforced: true, asks: { _ in false }),
        RestrictingKey("IPAddressDeny", enforced: true, asks: { !$0.ipAddressDeny.isEmpty }),
        RestrictingKey("IPIngressFilterPath", enforced: true, asks: { !$0.ipIngressFilterPaths.isEmpty }),
        RestrictingKey("IPEgressFilterPath", enforced: true, asks: { !$0.ipEgressFilterPaths.isEmpty }),
        // (SocketBindAllow= alone takes nothing away either.)
        RestrictingKey("SocketBindAllow", enforced: true, asks: { _ in false }),
        RestrictingKey("SocketBindDeny", enforced: true, asks: { !$0.socketBindDeny.isEmpty }),
        RestrictingKey("RestrictNetworkInterfaces", enforced: true, asks: { !$0.restrictNetworkInterfaces.isEmpty }),
    ]

    /// Asked for every key of a service's `[Service]` section. Filled in place: building it
    /// from an array of pairs cost a third more at start-up (the names are distinct:
    /// UnitKeyCatalogTests.aKeyIsInOneClassOnly).
    static let byName: [String: RestrictingKey] = {
        var byName: [String: RestrictingKey] = [:]
        byName.reserveCapacity(all.count)
        for key in all { byName[key.name] = key }
        return byName
    }()

    /// The textual rule for keys without a field: empty, a false boolean, or a value
    /// that is systemd's default (`DevicePolicy=auto`, `ProtectProc=default`) restricts nothing.
    static func valueAsks(_ value: String) -> Bool {
        !value.isEmpty && ValueParser.boolean(value) != false && !["auto", "default", "all"].contains(value)
    }
}
