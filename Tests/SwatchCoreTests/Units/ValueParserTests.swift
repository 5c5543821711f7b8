import Testing
@testable import SwatchCore

@Suite struct ValueParserTests {
    @Test(arguments: ["1", "yes", "YES", "true", "On", "y", "t"])
    func readsTrue(word: String) { #expect(ValueParser.boolean(word) == true) }

    @Test(arguments: ["0", "no", "False", "OFF", "n", "f"])
    func readsFalse(word: String) { #expect(ValueParser.boolean(word) == false) }

    @Test(arguments: ["yess", "", "2", "enabled"])
    func rejectsOtherBooleans(word: String) { #expect(ValueParser.boolean(word) == nil) }

    /// env_name_is_valid() (src/basic/env-util.c): ASCII letters, digits and `_`, no digit first.
    @Test(arguments: ["PORT", "_", "a1", "ERL_CRASH_DUMP_SECONDS", "Zz_9"])
    func takesEnvironmentNames(name: String) { #expect(ValueParser.isEnvironmentName(name)) }

    @Test(arguments: ["", "1A", "A-B", "A B", "A=B", "\u{E9}T\u{E9}", "\u{391}", "A\u{0}", "[", "`", "@", "{"])
    func refusesOtherEnvironmentNames(name: String) { #expect(!ValueParser.isEnvironmentName(name)) }

    @Test func readsSizesInBase1024() {
        #expect(ValueParser.size("512") == 512)
        #expect(ValueParser.size("64K") == 65_536)
        #expect(ValueParser.size("1M") == 1_048_576)
        #expect(ValueParser.size("2G") == 2_147_483_648)
        #expect(ValueParser.size("1T") == 1 << 40)
        #expect(ValueParser.size("1.5K") == 1_536)
        #expect(ValueParser.size("1G 512M") == 1_610_612_736)
        #expect(ValueParser.size("12Q") == nil)
        #expect(ValueParser.size("") == nil)
        #expect(ValueParser.size("-1K") == nil)
        #expect(ValueParser.size(".5K") == 512)
        #expect(ValueParser.size("1.5 K") == 1_536)
        #expect(ValueParser.size(" 2G\n") == 2_147_483_648)
        #expect(ValueParser.size("1K\u{301}") == nil)
        #expect(ValueParser.size("18446744073709551616") == nil)
    }

    @Test func readsSignalsByNameOrNumber() {
        #expect(ValueParser.signal("SIGTERM") == 15)
        #expect(ValueParser.signal("TERM") == 15)
        #expect(ValueParser.signal("9") == 9)
        #expect(ValueParser.signal("SIGRTMIN+2") == 36)
        #expect(ValueParser.signal("RTMAX-1") == 63)
        #expect(ValueParser.signal("SIGFOO") == nil)
        #expect(ValueParser.signal("0") == nil)
        #expect(ValueParser.signal("65") == nil)
    }

    /// SyslogFacility=: the names of systemd.exec(5), or the number; 12…15 have no name.
    @Test func readsSyslogFacilitiesByNameOrNumber() {
        #expect(ValueParser.syslogFacility("kern") == 0)
        #expect(ValueParser.syslogFacility("daemon") == 3)
        #expect(ValueParser.syslogFacility("ftp") == 11)
        #expect(ValueParser.syslogFacility("local0") == 16)
        #expect(ValueParser.syslogFacility("local7") == 23)
        #expect(ValueParser.syslogFacility("19") == 19)
        for bad in ["local8", "local", "local+1", "24", "-1", "Daemon", "security", ""] {
            #expect(ValueParser.syslogFacility(bad) == nil, "\(bad)")
        }
    }

    @Test func readsExitStatusesAndSignals() {
        #expect(ValueParser.exitStatus("0")! == (0, nil))
        #expect(ValueParser.exitStatus("255")! == (255, nil))
        #expect(ValueParser.exitStatus("SIGKILL")! == (nil, 9))
        #expect(ValueParser.exitStatus("256") == nil)
        // The names of exit_status_from_string() (src/basic/exit-status.c), case as written.
        #expect(ValueParser.exitStatus("TEMPFAIL")! == (75, nil))
        #expect(ValueParser.exitStatus("DATAERR")! == (65, nil))
        #expect(ValueParser.exitStatus("FAILURE")! == (1, nil))
        #expect(ValueParser.exitStatus("tempfail") == nil)
        #expect(ValueParser.exitStatus("NOSUCHNAME") == nil)
    }

    @Test func readsOctalModes() {
        #expect(ValueParser.mode("0022") == 0o022)
        #expect(ValueParser.mode("755") == 0o755)
        #expect(ValueParser.mode("0888") == nil)
        #expect(ValueParser.mode("17777") == nil)
    }

    @Test func readsCapabilityNamesAndTheInverse() throws {
        let plain = try ValueParser.capabilities("CAP_NET_BIND_SERVICE cap_chown").get()
        #expect(plain.bits == (1 << 10 | 1 << 0))
        #expect(!plain.inverted)
        let inverse = try ValueParser.capabilities("~CAP_SYS_ADMIN").get()
        #expect(inverse.bits == 1 << 21 && inverse.inverted)
        #expect((try? ValueParser.capabilities("CAP_FLY").get()) == nil)
    }

    @Test func readsLimitsPerResource() {
        #expect(ValueParser.limit("4096", for: .nofile) == LimitValue(soft: 4096, hard: 4096))
        #expect(ValueParser.limit("1024:4096", for: .nofile) == LimitValue(soft: 1024, hard: 4096))
        #expect(ValueParser.limit("infinity", for: .core) == LimitValue(soft: .max, hard: .max))
        #expect(ValueParser.limit("8M", for: .stack) == LimitValue(soft: 8 << 20, hard: 8 << 20))
        #expect(ValueParser.limit("1min", for: .cpu) == LimitValue(soft: 60, hard: 60))
        #expect(ValueParser.limit("5", for: .cpu) == LimitValue(soft: 5, hard: 5))
        #expect(ValueParser.limit("500", for: .rttime) == LimitValue(soft: 500, hard: 500))
        #expect(ValueParser.limit("1s", for: .rttime) == LimitValue(soft: 1_000_000, hard: 1_000_000))
        #expect(ValueParser.limit("-5", for: .nice) == LimitValue(soft: 25, hard: 25))
        #expect(ValueParser.limit("4096:1024", for: .nofile) == nil)
        #expect(ValueParser.limit("lots", for: .nofile) == nil)
    }
}
