import Testing
@testable import SwatchCore

@Suite struct TimeSpanRenderingTests {
    @Test func rendersLikeSystemd() {
        #expect(TimeSpan(microseconds: 90_000_000).description == "1min 30s")
        #expect(TimeSpan.infinity.description == "infinity")
        #expect(TimeSpan.milliseconds(500).description == "500ms")
    }
}
