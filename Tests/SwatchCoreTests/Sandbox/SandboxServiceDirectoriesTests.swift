import Glibc
import Testing
@testable import SwatchCore

/// StateDirectory= and friends (ServiceDirectories.swift): where, the
/// environment, and creating/handing over/removing on disk.
@Suite struct SandboxServiceDirectoriesTests {
    @Test func rootUsesTheSystemBasesAndOthersTheXDGOnes() {
        #expect(ServiceDirectories.forManager(uid: 0, environment: [:], home: "/root") == .system)
        let user = ServiceDirectories.forManager(uid: 1000, environment: ["XDG_RUNTIME_DIR": "/run/user/1000"],
                                                 home: "/home/alice")
        #expect(user == ServiceDirectories(state: "/home/alice/.local/state", runtime: "/run/user/1000",
                                           cache: "/home/alice/.cache", logs: "/home/alice/.local/state/log",
                                           configuration: "/home/alice/.config"))
    }

    @Test func namesEachKindInItsVariable() {
        var sandbox = Sandbox()
        sandbox.stateDirectory = ["foo", "foo/bar"]
        sandbox.runtimeDirectory = ["foo"]
        sandbox.configurationDirectory = ["foo"]
        let variables = ServiceDirectories.system.environment(of: sandbox)
        #expect(variables.map(\.0) == ["RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CONFIGURATION_DIRECTORY"])
        #expect(variables.map(\.1) == ["/run/foo", "/var/lib/foo:/var/lib/foo/bar", "/etc/foo"])
        #expect(ServiceDirectories.system.kinds(of: sandbox).map(\.ownedByService) == [true, true, false])
    }

    @Test(.enabled(if: getuid() == 0))
    func createsHandsOverAndRemoves() throws {
        var template = Array("/tmp/swt-dirs-XXXXXX".utf8CString)
        let base = String(cString: try #require(mkdtemp(&template)))
        defer { ServiceDirectories.remove(base) }
        let path = base + "/lib/svc"
        try ServiceDirectories.prepare(path, mode: 0o755, owner: (61_996, 61_996))
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_uid == 61_996 && info.st_gid == 61_996 && info.st_mode & 0o7777 == 0o755)
        #expect(lstat(base + "/lib", &info) == 0 && info.st_uid == 0)

        // A file left by the previous owner is handed over with the directory.
        let file = path + "/data"
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
        try ServiceDirectories.prepare(path, mode: 0o755, owner: (61_995, 61_994))
        #expect(lstat(file, &info) == 0 && info.st_uid == 61_995 && info.st_gid == 61_994)

        // A symlink inside is removed, not followed.
        let outside = base + "/outside"
        close(open(outside, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
        symlink(outside, path + "/link")
        ServiceDirectories.remove(path)
        #expect(access(path, F_OK) != 0)
        #expect(access(outside, F_OK) == 0)
    }

    /// StateDirectoryMode= and friends: a new directory gets the mode whatever the umask, an
    /// existing one gets it again; an existing ConfigurationDirectory= is left as it is, and its
    /// mode is returned when it differs (setup_exec_directory(), src/core/exec-invoke.c).
    @Test func theModeIsTheUnitsAndAnExistingConfigurationIsLeftAlone() throws {
        var template = Array("/tmp/swt-dirs-XXXXXX".utf8CString)
        let base = String(cString: try #require(mkdtemp(&template)))
        defer { ServiceDirectories.remove(base) }
        func mode(_ path: String) -> UInt32? {
            var info = stat()
            return lstat(path, &info) == 0 ? UInt32(info.st_mode) & 0o7777 : nil
        }
        let state = base + "/lib/secret"
        // Group-writable, which the usual umask (022) would take away from a mkdir.
        #expect(try ServiceDirectories.prepare(state, mode: 0o770, owner: nil) == nil)
        #expect(mode(state) == 0o770)
        chmod(state, 0o777)
        #expect(try ServiceDirectories.prepare(state, mode: 0o700, owner: nil) == nil)
        #expect(mode(state) == 0o700)

        let configuration = base + "/etc/app"
        #expect(try ServiceDirectories.prepare(configuration, mode: 0o555, owner: nil, keepingExisting: true) == nil)
        #expect(mode(configuration) == 0o555)
        chmod(configuration, 0o755)
        #expect(try ServiceDirectories.prepare(configuration, mode: 0o555, owner: nil, keepingExisting: true) == 0o755)
        #expect(mode(configuration) == 0o755)
    }
}
