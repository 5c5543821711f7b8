import Glibc
import Synchronization

/// The zone of local times is the process's `TZ`, one for every test, and tests run in
/// parallel: a test that sets it and reads local times does both inside `with`, which
/// holds one lock for all of them (a test that moved the zone two hours east once made
/// another read "16:20:01" in it). A test that runs swatchctl gives it `TZ=UTC` in its
/// environment, and makes the local times it expects inside `with("UTC")`.
enum ProcessTimeZone {
    private static let lock = Mutex(())

    static func with<T>(_ zone: String, _ body: () throws -> T) rethrows -> T {
        try lock.withLock { _ in
            setenv("TZ", zone, 1)
            tzset()
            return try body()
        }
    }
}
