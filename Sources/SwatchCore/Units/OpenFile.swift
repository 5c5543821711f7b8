/// One `OpenFile=` of a service (systemd.service(5)): a file, or a unix socket, that swatchd
/// opens (connects to) with its own privileges in its own file system and passes to the main
/// process after its other fds, named as `sd_listen_fds_with_names(3)` reads them.
package struct OpenFile: Hashable, Sendable {
    package var path: String
    /// The name in LISTEN_FDNAMES=: given, or the file's name.
    package var name: String
    package var readOnly = false
    package var append = false
    package var truncate = false
    /// A file that cannot be opened is left out (the others are still passed), not a failed start.
    package var graceful = false

    /// `PATH[:FD-NAME[:OPTIONS]]`, OPTIONS a comma-separated list of `read-only`, `append`,
    /// `truncate` and `graceful`, each at most once, `read-only` with neither of the next two
    /// and those two not together (open_file_parse(), open_file_validate(), src/shared/open-file.c).
    /// nil, with the problem, when it is not of that form.
    package static func parse(_ value: String) -> Result<OpenFile, OpenFileProblem> {
        let parts = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        let path = String(parts[0])
        guard ValueParser.isAbsolutePath(path) else { return .failure(.path) }
        let given = parts.count > 1 ? String(parts[1]) : ""
        var file = OpenFile(path: path, name: given.isEmpty ? UnitDirectory.baseName(path) : given)
        // `/` has no file name to take (path_extract_filename()).
        let derivedIsNoName = given.isEmpty && file.name.utf8.contains(UInt8(ascii: "/"))
        guard !file.name.isEmpty, !derivedIsNoName, ValueParser.isFileDescriptorName(file.name) else {
            return .failure(.name)
        }
        if parts.count > 2, !parts[2].isEmpty {
            var seen: Set<Substring> = []
            for option in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard seen.insert(option).inserted else { return .failure(.option(String(option))) }
                switch option {
                case "read-only": file.readOnly = true
                case "append": file.append = true
                case "truncate": file.truncate = true
                case "graceful": file.graceful = true
                default: return .failure(.option(String(option)))
                }
            }
            guard !(file.readOnly && (file.append || file.truncate)), !(file.append && file.truncate) else {
                return .failure(.conflict)
            }
        }
        return .success(file)
    }
}

/// Why an `OpenFile=` value is not one.
package enum OpenFileProblem: Error, Equatable {
    case path, name, option(String), conflict

    package var description: String {
        switch self {
        case .path: return "Path is not absolute"
        case .name: return "Invalid file descriptor name"
        case .option(let option): return "Invalid or repeated option '\(option)'"
        case .conflict: return "Conflicting options (read-only with append or truncate, or append with truncate)"
        }
    }
}
