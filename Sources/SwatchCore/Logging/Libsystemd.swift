import Glibc

/// The function of libsystemd that swatchd calls, sd_journal_sendv(3), from a libsystemd
/// loaded (SharedLibrary) the first time the
/// journal is written to, not at every exec: swatchd logging to stderr (a container
/// without a journal, `--log-target stderr`) maps neither libsystemd nor what it pulls in
/// (libgcrypt, libgpg-error, liblzma, libzstd, liblz4, libcap: 0.7 MiB resident), and the
/// loader resolves none of their symbols (docs/HACKING.md "libsystemd and the journal").
/// The library is the same `libsystemd.so.0` a link with -lsystemd would load.
enum Libsystemd {
    /// `int sd_journal_sendv(const struct iovec *iov, int n)`.
    typealias SendV = @convention(c) (UnsafePointer<iovec>?, Int32) -> Int32

    struct Functions: @unchecked Sendable {
        let sendv: SendV
    }

    /// Loaded once, on first use (a global's initializer runs once, swift_once); the
    /// failure is dlerror(3)'s text: without libsystemd the journal is no log target for
    /// swatchd's own messages (LogTarget.makeHandler says so). A service's output does not
    /// need it (JournalSocket).
    static let loaded: Result<Functions, SharedLibrary.LoadError> = SharedLibrary.load("libsystemd.so.0") { symbol in
        symbol("sd_journal_sendv").map { Functions(sendv: unsafeBitCast($0, to: SendV.self)) }
    }

    static var functions: Functions? { try? loaded.get() }

    /// sd_journal_sendv(3); -ENOSYS without libsystemd.
    static func journalSendv(_ vectors: UnsafePointer<iovec>, _ count: Int32) -> Int32 {
        functions?.sendv(vectors, count) ?? -ENOSYS
    }
}
