import CSwatch
import Glibc
import SystemPackage

/// fd 0 of a service as StandardInput= asks for it (systemd.exec(5)), opened before the
/// spawn: the terminal of TTYPath=, a file, or the bytes of StandardInputText=/Data= in a
/// memfd. `null` and `socket` open nothing here (the spawner's /dev/null; the connection),
/// nor does `fd:NAME` (a passed socket's fd, which the shell owns). Owns what it opened until
/// `closeAfterSpawn()`.
struct ServiceInput {
    /// nil: /dev/null, or the connection of an Accept=yes instance.
    private(set) var descriptor: FileDescriptor?
    /// `tty*`: whether and how the child makes fd 0 its controlling terminal.
    private(set) var terminal: TerminalAcquisition?
    /// Whether `descriptor` was opened here (and is closed after the spawn).
    private var owned = true

    /// Opens what `unit` asks for; `Failed to set up standard input: …` (208/STDIN) if it cannot.
    /// `named` is the passed fd `fd:NAME` names, if one does.
    static func open(for unit: ServiceUnit, named: FileDescriptor?) throws(ServiceOutputFDs.SetupError) -> ServiceInput {
        switch unit.effectiveStandardInput {
        case .null, .socket:
            return ServiceInput()
        case .fd(let name):
            guard let named else { throw ServiceOutputFDs.SetupError(stream: "input", path: "fd:" + name, errno: .noSuchFileOrDirectory) }
            return ServiceInput(descriptor: named, terminal: nil, owned: false)
        case .tty(let acquisition):
            // O_NOCTTY: the terminal becomes the child's, by TIOCSCTTY in its own session, never swatchd's.
            let fd = try openFile(unit.ttyPath, O_RDWR | O_NOCTTY | O_CLOEXEC)
            return ServiceInput(descriptor: fd, terminal: acquisition)
        case .file(let path):
            // Read and written when StandardOutput= names the same file (src/core/exec-invoke.c,
            // setup_input()): the output then shares this descriptor.
            let readWrite = unit.standardOutput == .file(path)
            return ServiceInput(descriptor: try openFile(path, (readWrite ? O_RDWR | O_CREAT : O_RDONLY) | O_NOCTTY | O_CLOEXEC))
        case .data:
            return ServiceInput(descriptor: try dataDescriptor(unit.standardInputData))
        }
    }

    /// The parent's copy, closed once the child has its own.
    mutating func closeAfterSpawn() {
        if owned { try? descriptor?.close() }
        descriptor = nil
    }

    private static func openFile(_ path: String, _ flags: CInt) throws(ServiceOutputFDs.SetupError) -> FileDescriptor {
        do {
            return FileDescriptor(rawValue: try retryingOnInterrupt { Glibc.open(path, flags, 0o666) })
        } catch {
            throw ServiceOutputFDs.SetupError(stream: "input", path: path, errno: error)
        }
    }

    /// The data in a memfd, read from its start: any size, nothing left on disk
    /// (acquire_data_fd(), src/basic/data-fd.c, uses a pipe or a memfd the same way).
    private static func dataDescriptor(_ data: [UInt8]) throws(ServiceOutputFDs.SetupError) -> FileDescriptor {
        let raw = swatch_memfd_create("swatchd-stdin", 1 /* MFD_CLOEXEC */)
        guard raw >= 0 else { throw ServiceOutputFDs.SetupError(stream: "input", path: nil, errno: Errno(rawValue: errno)) }
        let fd = FileDescriptor(rawValue: raw)
        do {
            _ = try fd.writeAll(data)
            _ = try fd.seek(offset: 0, from: .start)
        } catch {
            try? fd.close()
            throw ServiceOutputFDs.SetupError(stream: "input", path: nil, errno: error as? Errno ?? .ioError)
        }
        return fd
    }
}
