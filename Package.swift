// swift-tools-version:6.2
//
// swatchd — a socket activator and service supervisor for Linux.
//
// Dependencies: swift-system for everything, swift-log for the daemon. Both programs
// parse their own command lines (Sources/SwatchCore/DaemonCommandLine.swift,
// Sources/swatchctl/ArgumentParsing.swift): swift-argument-parser imports
// FoundationEssentials, +5 MB of RSS and 4.5 MB on disk (docs/HACKING.md "Footprint and
// start-up", "Where the bytes are").
import PackageDescription
import class Foundation.ProcessInfo

let fuzzing = ProcessInfo.processInfo.environment["SWATCH_FUZZ"] != nil

var targets: [Target] = [
    // The C shim: the fork→exec window and what Glibc does not import
    // (docs/HACKING.md "What Glibc imports and what it does not").
    .target(
        name: "CSwatch",
        cSettings: [.define("_GNU_SOURCE")]
    ),
    // libsystemd for the example service: sd_listen_fds_with_names, sd_notify.
    .systemLibrary(
        name: "CSystemd",
        pkgConfig: "libsystemd",
        providers: [.apt(["libsystemd-dev"])]
    ),
    // libseccomp: the seccomp filters of SystemCallFilter= and friends are built with it
    // (seccomp_init, seccomp_rule_add, seccomp_export_bpf), never as BPF by hand. Its header
    // only, no pkg-config (whose --libs would link it): it is loaded with dlopen when a unit
    // first needs a filter (Sources/SwatchCore/Sandbox/Libseccomp.swift).
    .systemLibrary(
        name: "CSeccomp",
        providers: [.apt(["libseccomp-dev"])]
    ),
    // What swatchctl needs and nothing of the daemon: the control protocol, the client, the
    // records and their rendering helpers (docs/HACKING.md "Where the bytes are": swatchctl
    // carried all of SwatchCore before, and libseccomp and libsystemd with it). CSwatch for
    // swatch_arguments alone, argv without /proc (ProcessArguments.swift); the link drops the rest.
    .target(
        name: "SwatchControl",
        dependencies: [
            "CSwatch",
            .product(name: "SystemPackage", package: "swift-system"),
        ]
    ),
    .target(
        name: "SwatchCore",
        dependencies: [
            // No CSystemd: libsystemd is loaded when the journal is first written to
            // (Sources/SwatchCore/Logging/Libsystemd.swift).
            "SwatchControl", "CSwatch", "CSeccomp",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .executableTarget(
        name: "swatchd",
        dependencies: ["SwatchCore"]
    ),
    .executableTarget(
        name: "swatchctl",
        dependencies: ["SwatchControl"]
    ),
    // The example service: HTTP "Hello World!" on the sockets it is handed.
    .executableTarget(
        name: "swatchd-hello",
        dependencies: ["CSystemd"]
    ),
    .testTarget(
        name: "SwatchCoreTests",
        dependencies: ["SwatchCore", "SwatchControl"]
    ),
    .testTarget(
        name: "IntegrationTests",
        dependencies: ["SwatchCore"],
        // The python3-systemd test services are run and the unit fixtures read by path: neither is compiled.
        exclude: ["Services", "Fixtures"]
    ),
]

// libFuzzer breaks plain `swift build`/`swift test` (docs/HACKING.md "Tests, sanitizers,
// fuzzing"): only on request, `make fuzz`:
//   SWATCH_FUZZ=1 swift build -c release --product SwatchFuzz --scratch-path .build-fuzz \
//       --sanitize fuzzer --sanitize address
// The command line's sanitizers make SwiftPM link libFuzzer and its `main` (instead of the
// target's renamed entry point) and ASan everywhere; they do not reach the frontend as
// coverage instrumentation (checked with -v), so SwatchCore and SwatchControl (the control
// protocol, time spans) ask for it themselves below.
if fuzzing {
    for index in targets.indices where ["SwatchCore", "SwatchControl"].contains(targets[index].name) {
        targets[index].swiftSettings = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    }
    targets.append(.executableTarget(
        name: "SwatchFuzz",
        dependencies: ["SwatchCore"],
        path: "Fuzz/SwatchFuzz",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    ))
}

let package = Package(
    name: "swatchd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swatchd", targets: ["swatchd"]),
        .executable(name: "swatchctl", targets: ["swatchctl"]),
        .executable(name: "swatchd-hello", targets: ["swatchd-hello"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
