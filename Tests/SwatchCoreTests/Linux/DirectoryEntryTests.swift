import Glibc
import SwatchControl
import Testing

@Suite struct DirectoryEntryTests {
    /// A short entry can end right before an unmapped page, as the last entry of readdir's
    /// buffer may: its name is read there, in place, and nothing beyond it is touched.
    @Test func aNameIsReadWithoutTouchingWhatFollowsTheEntry() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let memory = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        defer { munmap(memory, 2 * page) }
        #expect(mprotect(memory + page, page, PROT_NONE) == 0)
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = Array("swatchd-private-x".utf8) + [0]
        // The entry's 8-byte aligned start, with its name's NUL in the last bytes of the page.
        let start = (page - nameOffset - name.count) & ~7
        let entry = (memory + start).bindMemory(to: dirent.self, capacity: 1)
        (memory + start + nameOffset).copyMemory(from: name, byteCount: name.count)
        #expect(withName(of: entry) { String(decoding: $0, as: UTF8.self) } == "swatchd-private-x")
    }
}
