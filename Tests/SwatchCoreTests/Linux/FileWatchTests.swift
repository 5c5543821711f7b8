import Glibc
import Testing
@testable import SwatchCore

/// `swatchd run --watch` (FileWatch.swift): inotify(7) queues an event when the system call
/// that caused it returns, so each drain sees what was done just before it.
@Suite struct FileWatchTests {
    private func temporaryDirectory() -> String {
        var template = Array("/tmp/sw-fw-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    private func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    @Test func aFileKeepsFiringAfterEachAtomicReplace() throws {
        let dir = temporaryDirectory()
        defer { _ = system("rm -rf \(dir)") }
        let file = dir + "/app.conf"
        write(file, "0")
        let watch = try FileWatch(paths: [file])
        for i in 1...3 {
            write(dir + "/new", "\(i)")
            #expect(watch.drain().isEmpty, "another file of the directory is no change")
            #expect(rename(dir + "/new", file) == 0)
            #expect(watch.drain() == [file])
        }
        write(dir + "/.app.conf.swp", "x")
        write(dir + "/app.conf~", "x")
        write(dir + "/4913", "x")
        #expect(watch.drain().isEmpty)
    }

    @Test func aDirectoryIsWatchedWithItsNewSubdirectories() throws {
        let dir = temporaryDirectory()
        defer { _ = system("rm -rf \(dir)") }
        let watch = try FileWatch(paths: [dir])
        #expect(mkdir(dir + "/sub", 0o755) == 0)
        #expect(watch.drain() == [dir + "/sub"])
        write(dir + "/sub/main.py", "print()")
        #expect(watch.drain() == [dir + "/sub/main.py"])
        write(dir + "/sub/.#main.py", "lock")
        #expect(watch.drain().isEmpty)
    }

    @Test func editorsTemporaryFiles() {
        for name in ["4913", "main.py~", ".#main.py", ".main.py.swp", ".main.py.swo", "#main.py#"] {
            #expect(FileWatch.isEditorTemporary(name), "\(name)")
        }
        for name in ["main.py", "swp", "#", "4914"] {
            #expect(!FileWatch.isEditorTemporary(name), "\(name)")
        }
    }
}
