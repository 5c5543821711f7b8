import Testing
@testable import SwatchCore

@Suite struct NotifyMessageTests {
    @Test func parsesEveryKey() {
        let m = NotifyMessage(text: "READY=1\nSTATUS=Serving 2 sockets\nMAINPID=4242\nWATCHDOG=1\nWATCHDOG_USEC=500000\nEXTEND_TIMEOUT_USEC=9\nFDSTORE=1\nFDNAME=conn\nERRNO=2\n")
        #expect(m.ready && m.watchdogPing && m.fdStore)
        #expect(m.status == "Serving 2 sockets")
        #expect(m.mainPID == 4242)
        #expect(m.watchdogUsec == 500_000)
        #expect(m.extendTimeoutUsec == 9)
        #expect(m.fdName == "conn")
        #expect(m.errno == 2)
    }

    @Test func ignoresMalformedAndUnknownLines() {
        let m = NotifyMessage(text: "READY=0\nMAINPID=zero\nWATCHDOG=trigger\nnonsense\nFOO=BAR")
        #expect(!m.ready)
        #expect(m.mainPID == nil)
        #expect(m.watchdogTrigger)
    }
}
