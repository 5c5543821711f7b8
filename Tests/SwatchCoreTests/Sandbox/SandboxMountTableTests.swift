import Testing
@testable import SwatchCore

/// /proc/self/mountinfo as the sandbox reads it (MountTable.swift).
@Suite struct SandboxMountTableTests {
    @Test func takesTheMountPointOfEachLineAndDecodesItsEscapes() {
        let text = """
            22 27 0:21 / /proc rw,relatime - proc proc rw
            27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
            28 27 0:25 / /mnt/with\\040space ro,nosuid - tmpfs tmpfs ro
            29 27 0:26 / /mnt/tab\\011and\\134backslash rw - tmpfs tmpfs rw
            30 27 0:27 / /mnt/not\\08octal rw - tmpfs tmpfs rw
            short line
            """
        #expect(MountTable.mountPoints(mountinfo: text) == [
            "/proc", "/", "/mnt/with space", "/mnt/tab\tand\\backslash", "/mnt/not\\08octal",
        ])
    }

    @Test func readsThisProcesssMounts() {
        let points = MountTable.current()
        #expect(points.contains("/"))
        #expect(points.contains("/proc"))
    }
}
