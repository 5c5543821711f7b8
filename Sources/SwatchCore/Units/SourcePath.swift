// The path of a unit file, as the units and the locations in them keep it.

/// A file's path as its directory and its name.
///
/// The units of one directory share the directory's string, and a name of up to 15
/// bytes is held inline (a Swift small string), so a unit's path costs no heap block of
/// its own. A path kept whole was one per unit file (~100 bytes for a unit under a
/// temporary directory), held by the unit, its stamps and every location in it
/// (docs/HACKING.md "Where the bytes are").
///
/// The split is always at the last `/`, so two values are equal exactly when their
/// paths are the same string.
package struct SourcePath: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Up to and including the last `/`; empty for a bare file name.
    package let directory: String
    /// After the last `/`.
    package let name: String

    /// `name` in `directory`, which ends with `/` (`directoryPrefix`: a listed directory's
    /// string, made once for all its files); `name` holds no `/`.
    package init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    /// `path` split at its last `/` (by byte: `/` never combines with what follows).
    package init(_ path: String) {
        var path = path
        let split: (String, String)? = path.withUTF8 { bytes in
            guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return nil }
            return (String(decoding: UnsafeBufferPointer(rebasing: bytes[...slash]), as: UTF8.self),
                    String(decoding: UnsafeBufferPointer(rebasing: bytes[(slash + 1)...]), as: UTF8.self))
        }
        (directory, name) = split ?? ("", path)
    }

    package init(stringLiteral path: String) { self.init(path) }

    /// The path as one string, as it was given.
    package var description: String { directory + name }

    /// As the paths compare as strings (diagnostics are sorted by file and line).
    package static func < (a: SourcePath, b: SourcePath) -> Bool { a.description < b.description }

    /// A directory as `SourcePath(directory:name:)` takes it: with its trailing `/`, not
    /// doubled if the user wrote one (`UnitDirectory.join` joins by the same rule).
    package static func directoryPrefix(_ directory: String) -> String {
        directory.hasSuffix("/") ? directory : directory + "/"
    }
}
