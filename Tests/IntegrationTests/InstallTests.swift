// What a newcomer does after cloning (README.md): the man pages
// are clean roff, and `make install DESTDIR=…` gives a tree whose swatchd
// verifies the installed examples and whose swatchctl has its completions,
// with swatchd.service pointing at the installed swatchd and /etc/swatchd made.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct InstallTests {
        @Test(.timeLimit(.minutes(1)))
        func manPagesAreCleanUnderMandocLint() throws {
            let pages = try FileManager.default.contentsOfDirectory(atPath: Harness.repositoryRoot + "/man")
                .filter { $0.range(of: #"\.[158]$"#, options: .regularExpression) != nil }
                .map { Harness.repositoryRoot + "/man/" + $0 }
            #expect(Set(pages.map { ($0 as NSString).lastPathComponent })
                    == ["swatchd.8", "swatchctl.1", "swatchd.socket.5", "swatchd.service.5"])
            let lint = try Command.run(["/usr/bin/mandoc", "-Tlint", "-Wwarning"] + pages)
            #expect(lint.status == .exited(0), "\(lint.standardOutput)\(lint.standardError)")
        }

        @Test(.timeLimit(.minutes(2)))
        func makeInstallIntoDestdirGivesAWorkingVerify() throws {
            let destination = try TemporaryDirectory()
            defer { destination.remove() }
            let bin = try #require(Harness.binaryDirectory)
            let install = try Command.run(
                ["/usr/bin/make", "-C", Harness.repositoryRoot, "install", "DESTDIR=\(destination.path)", "PREFIX=/usr",
                 "BIN_DIR=\(bin)"],
                environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                timeout: .seconds(90))
            #expect(install.status == .exited(0), "\(install.standardOutput)\(install.standardError)")
            let root = destination.path + "/usr"
            for file in ["bin/swatchd", "bin/swatchctl", "bin/swatchd-hello", "share/man/man8/swatchd.8",
                         "share/man/man1/swatchctl.1", "share/man/man5/swatchd.socket.5",
                         "share/man/man5/swatchd.service.5", "share/swatchd/examples/hello/hello.socket",
                         "share/bash-completion/completions/swatchctl", "share/zsh/site-functions/_swatchctl",
                         "share/fish/vendor_completions.d/swatchctl.fish", "lib/systemd/system/swatchd.service"] {
                #expect(FileManager.default.fileExists(atPath: root + "/" + file), "\(file) not installed")
            }
            // The default unit dir exists (below DESTDIR, not below PREFIX).
            var info = stat()
            #expect(stat(destination.path + "/etc/swatchd", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR,
                    "/etc/swatchd not created under DESTDIR")
            // The unit runs the installed binary: PREFIX in ExecStart=, never DESTDIR; the rest as in conf/.
            let unit = try #require(readText(root + "/lib/systemd/system/swatchd.service"))
            let execStart = unit.split(separator: "\n").filter { $0.hasPrefix("ExecStart=") }
            #expect(execStart == ["ExecStart=/usr/bin/swatchd --unit-dir /etc/swatchd --log-target journal"], "\(unit)")
            #expect(!unit.contains(destination.path))
            let original = try #require(readText(Harness.repositoryRoot + "/conf/swatchd.service"))
            #expect(unit.split(separator: "\n").filter { !$0.hasPrefix("ExecStart=") }
                    == original.split(separator: "\n").filter { !$0.hasPrefix("ExecStart=") })
            #expect(stat(root + "/lib/systemd/system/swatchd.service", &info) == 0 && info.st_mode & 0o777 == 0o644)
            // The installed daemon verifies the installed example, finding swatchd-hello on PATH.
            let verify = try Command.run(
                [root + "/bin/swatchd", "verify", "--unit-dir", root + "/share/swatchd/examples/hello"],
                environment: ["PATH": root + "/bin:/usr/bin:/bin"])
            #expect(verify.status == .exited(0), "\(verify.standardError)")
            #expect(verify.standardError.isEmpty, "\(verify.standardError)")
        }
    }
}
