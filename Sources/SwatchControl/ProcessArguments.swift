import CSwatch

/// The program's command line, argv[0] first: the vector glibc handed to the program's
/// constructors (Sources/CSwatch/arguments.c). Not `CommandLine.arguments`, which Swift's
/// runtime finds through /proc/self/maps, and which is empty where /proc is not mounted.
package enum ProcessArguments {
    package static func current() -> [String] {
        var count: Int32 = 0
        let vector = swatch_arguments(&count)
        return (0..<Int(count)).map { String(cString: vector[$0]!) }
    }
}
