import CSwatch
import Glibc
import SystemPackage

extension OpenFile {
    /// Opens the file (O_CLOEXEC, as every fd of swatchd; the spawner hands it on), or connects
    /// to the unix socket at its path, stream first, then datagram (open_file_to_fd(),
    /// src/shared/open-file.c). A file is never created.
    func open() throws(Errno) -> FileDescriptor {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Errno(rawValue: errno) }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            var flags = (readOnly ? O_RDONLY : O_RDWR) | O_NOCTTY | O_CLOEXEC
            if append { flags |= O_APPEND } else if truncate { flags |= O_TRUNC }
            return FileDescriptor(rawValue: try retryingOnInterrupt { Glibc.open(path, flags) })
        }
        guard let address = try? SocketAddress.unix(path, abstract: false) else { throw .fileNameTooLong }
        var failure = Errno.protocolWrongTypeForSocket
        for type in [Int32(SOCK_STREAM.rawValue), Int32(SOCK_DGRAM.rawValue)] {
            let fd = FileDescriptor(rawValue: try retryingOnInterrupt { socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0) })
            do throws(Errno) {
                _ = try retryingOnInterrupt { address.withSockaddr { Glibc.connect(fd.rawValue, $0, $1) } }
                return fd
            } catch {
                try? fd.close()
                failure = error
                guard error == .protocolWrongTypeForSocket else { break }
            }
        }
        throw failure
    }
}

extension SpawnOrder {
    /// Leaves the fd passed at `index` (from fd 3 on) out of LISTEN_FDS and LISTEN_FDNAMES, and
    /// out of the `fd:NAME` standard fds: a `graceful` OpenFile= that could not be opened.
    mutating func dropPassedFD(at index: Int) {
        guard let count = protocolVariables.firstIndex(where: { $0.0 == "LISTEN_FDS" }),
              let names = protocolVariables.firstIndex(where: { $0.0 == "LISTEN_FDNAMES" }) else { return }
        var list = protocolVariables[names].1.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard list.indices.contains(index) else { return }
        list.remove(at: index)
        if list.isEmpty {
            protocolVariables.removeAll { $0.0 == "LISTEN_FDS" || $0.0 == "LISTEN_FDNAMES" }
            listenPID = false
        } else {
            protocolVariables[count].1 = String(list.count)
            protocolVariables[names].1 = list.joined(separator: ":")
        }
        namedStandardFDs = namedStandardFDs.map { position in
            guard let position, position != index else { return nil }
            return position > index ? position - 1 : position
        }
    }
}
