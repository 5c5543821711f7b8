import Glibc
import Logging

/// A swift-log backend that writes plain lines `swatchd[4242]: message` to stderr — for a
/// box with no journal (a container), or `--log-target stderr`. No timestamp and no level
/// prefix: whatever collects stderr (docker logs, a journal behind a pipe) stamps lines
/// itself. Messages with `unit` metadata are also kept in the `UnitLogBuffer`.
package struct StderrLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    package let identifier: String
    private let unitLog: UnitLogBuffer?
    private let pid: Int32
    private let output: Int32

    /// `output` is stderr unless a test passes its own pipe; the handler does not own it.
    package init(
        identifier: String = "swatchd", unitLog: UnitLogBuffer? = nil, output: Int32 = 2,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.identifier = identifier
        self.unitLog = unitLog
        self.output = output
        self.metadataProvider = metadataProvider
        self.pid = getpid()
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let message = event.message.description
        let merged = JournalLogHandler.mergedMetadata(base: metadata, provider: metadataProvider, event: event.metadata)
        JournalLogHandler.keep(event, metadata: merged, in: unitLog, identifier: identifier, pid: pid)
        Self.write(identifier: identifier, pid: pid, message: message, to: output)
    }

    /// Writes `identifier[pid]: message` and a newline in one write(2), so that lines of
    /// several writers never interleave mid-line. Errors are ignored: there is nowhere left
    /// to report them.
    static func write(identifier: String, pid: Int32, message: String, to fd: Int32) {
        // The bytes put together once, in an array of the final size: an interpolated String
        // grew twice on the way and was then copied into the array.
        let prefix = TerminalColors.prefix(identifier: identifier, pid: pid)
        var line: [UInt8] = []
        line.reserveCapacity(prefix.utf8.count + message.utf8.count + 2)
        line += prefix.utf8
        line.append(UInt8(ascii: " "))
        line += message.utf8
        line.append(UInt8(ascii: "\n"))
        // Not through retryingOnInterrupt: its EBADF trap is for swatchd's own descriptors, and
        // whoever started swatchd may have closed stderr — the logging path never traps.
        var offset = 0
        while offset < line.count {
            let (written, error) = line.withUnsafeBytes { raw in
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                return (n, n < 0 ? errno : 0)
            }
            if written < 0 && error == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}

/// `swatchd run` on a terminal: the `identifier[pid]:` prefix of each stderr line in
/// colour, one colour per service (swatchd's own lines dim), unless NO_COLOR is set
/// (https://no-color.org is what the variable means) or the terminal is dumb.
package enum TerminalColors {
    /// Set once by main before the loop runs; read by every stderr line after.
    nonisolated(unsafe) package static var enabled = false

    /// Whether `fd` is a terminal that wants colour.
    package static func wanted(fd: Int32, environment: [String: String]) -> Bool {
        isatty(fd) == 1 && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    /// SGR codes: cyan, green, yellow, magenta, blue, and their bright variants.
    private static let palette = ["36", "32", "33", "35", "34", "96", "92", "93", "95", "94"]

    /// `identifier[pid]:` with the escape sequences around it when enabled.
    static func prefix(identifier: String, pid: Int32) -> String {
        // As an Int, whose formatting start-up has paged in anyway; Int32's lies elsewhere in the
        // stdlib's text, 64 KiB more resident for this one number (docs/HACKING.md "Link order").
        let plain = "\(identifier)[\(Int(pid))]:"
        guard enabled else { return plain }
        let code: String
        if identifier == "swatchd" {
            code = "2"
        } else {
            // FNV-1a: the same unit gets the same colour in every run.
            var hash: UInt32 = 2_166_136_261
            for byte in identifier.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            code = palette[Int(hash % UInt32(palette.count))]
        }
        return "\u{1B}[\(code)m\(plain)\u{1B}[0m"
    }
}
