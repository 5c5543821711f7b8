import Glibc
import Testing
@testable import SwatchCore

/// The man pages are the table of supported directives: every key of the
/// catalog is in them, and the catalog's classes do not overlap.
@Suite struct UnitKeyCatalogTests {
    static let man: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        return parts.joined(separator: "/") + "/man"
    }()

    private func page(_ name: String) throws -> String {
        String(decoding: try UnitDirectory.read(Self.man + "/" + name).get(), as: UTF8.self)
    }

    @Test func theServicePageNamesEveryKey() throws {
        let text = try page("swatchd.service.5")
        let keys = serviceCatalog.supportedKeys("Unit").union(serviceCatalog.supportedKeys("Service"))
            .union(serviceCatalog.unsupported("Unit")).union(serviceCatalog.unsupported("Service"))
            .union(RestrictingKeys.all.map(\.name)).union(installKeys)
        #expect(keys.filter { !text.contains($0 + "=") }.sorted() == [])
    }

    /// A key swatchd acts on is not listed among the ones it ignores.
    @Test func theUnsupportedListsNameNoSupportedKey() throws {
        let pages: [(String, Set<String>)] = [
            ("swatchd.service.5", serviceCatalog.supportedKeys("Unit").union(serviceCatalog.supportedKeys("Service"))),
            ("swatchd.socket.5", socketCatalog.supportedKeys("Unit").union(socketCatalog.supportedKeys("Socket"))),
        ]
        for (name, supported) in pages {
            let text = try page(name)
            let start = try #require(text.range(of: ".SH UNSUPPORTED KEYS"))
            let end = text.range(of: "\n.SH ", range: start.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
            let listed = text[start.upperBound..<end].split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix(".BR "), let equals = line.firstIndex(of: "=") else { return nil }
                return String(line[line.index(line.startIndex, offsetBy: 4)..<equals])
            }
            #expect(listed.filter(supported.contains) == [], "\(name)")
            #expect(!listed.isEmpty, "\(name)")
        }
    }

    /// The RESTRICTING KEYS list of the service page names exactly the keys this
    /// build refuses: none it enforces, and every one it does not.
    @Test func theRestrictingKeysListIsWhatThisBuildRefuses() throws {
        let text = try page("swatchd.service.5")
        let start = try #require(text.range(of: ".SH RESTRICTING KEYS"))
        let end = text.range(of: "\n.SH ", range: start.upperBound..<text.endIndex)?.lowerBound ?? text.endIndex
        let listed = text[start.upperBound..<end].split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix(".BR ") || line.hasPrefix(".B "), line.hasSuffix("= ,") || line.hasSuffix("="),
                  let equals = line.firstIndex(of: "=") else { return nil }
            return String(line[line.index(after: line.firstIndex(of: " ")!)..<equals])
        }
        let refused = Set(RestrictingKeys.all.filter { !$0.enforced }.map(\.name))
        #expect(Set(listed) == refused, "listed but enforced: \(Set(listed).subtracting(refused).sorted()); refused but not listed: \(refused.subtracting(listed).sorted())")
    }

    @Test func theSocketPageNamesEveryKey() throws {
        let text = try page("swatchd.socket.5")
        let keys = socketCatalog.supportedKeys("Socket").union(socketCatalog.unsupported("Socket"))
            .union(socketCatalog.refused("Socket").keys)
        #expect(keys.filter { !text.contains($0 + "=") }.sorted() == [])
    }

    @Test func aKeyIsInOneClassOnly() {
        // A parsed key is not also "unsupported" (the directories and RemoveIPC= were, until
        // this build acted on them).
        let parsedAndWarned = serviceCatalog.supportedKeys("Service").intersection(serviceCatalog.unsupported("Service"))
        #expect(parsedAndWarned == [])
        #expect(serviceCatalog.supportedKeys("Unit").isDisjoint(with: serviceCatalog.unsupported("Unit")))
        #expect(socketCatalog.supportedKeys("Socket").isDisjoint(with: socketCatalog.unsupported("Socket")))
        let restricting = Set(RestrictingKeys.all.map(\.name))
        #expect(restricting.count == RestrictingKeys.all.count)
        #expect(restricting.isDisjoint(with: serviceCatalog.unsupported("Service")))
        #expect(restricting.isDisjoint(with: socketCatalog.unsupported("Socket")))
    }

    /// What this build enforces (Supervisor+Sandbox.swift, man/swatchd.service.5 "SANDBOXING");
    /// every other restricting key still refuses its unit.
    @Test func enforcesExactlyTheSandboxOfThisBuild() {
        #expect(Set(RestrictingKeys.all.filter(\.enforced).map(\.name)) == Set([
            "User", "Group", "DynamicUser", "SupplementaryGroups", "NoNewPrivileges", "CapabilityBoundingSet",
            "AmbientCapabilities", "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths",
            "InaccessiblePaths", "PrivateTmp", "PrivateDevices",
            // The old names of the *Paths= keys.
            "ReadWriteDirectories", "ReadOnlyDirectories", "InaccessibleDirectories",
            // Seccomp (Sandbox/SeccompFilters.swift) and the namespaces.
            "SystemCallFilter", "SystemCallArchitectures", "RestrictAddressFamilies", "RestrictNamespaces",
            "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
            "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
            "ProtectClock", "ProtectHostname", "PrivateNetwork", "PrivateIPC", "PrivateMounts", "PrivateUsers",
            "NetworkNamespacePath", "IPCNamespacePath", "SecureBits", "SocketBindAllow", "SocketBindDeny",
            "RestrictNetworkInterfaces",
            // More of the mount namespace.
            "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths", "NoExecPaths", "ExecPaths", "ProtectProc", "ProcSubset",
            "PrivatePIDs", "MountAPIVFS", "IPIngressFilterPath", "IPEgressFilterPath",
            "DevicePolicy", "DeviceAllow", "IPAddressAllow", "IPAddressDeny",
        ] + ResourceLimit.allCases.map(\.rawValue)))
    }

    @Test(.enabled(if: system("command -v mandoc >/dev/null 2>&1") == 0))
    func manPagesAreLintClean() {
        #expect(system("mandoc -Tlint -Wwarning '\(Self.man)/swatchd.service.5' '\(Self.man)/swatchd.socket.5'") == 0)
    }
}
