// swift-tools-version:6.0
import PackageDescription

// Dependencies are deliberate; the README says why each one is here.

// The engine links the Swift runtime statically (see its target), except in the ThreadSanitizer
// build (scripts/tsan.sh sets CHASSIS_DYNAMIC_STDLIB=1): linked statically, the executable does not
// export TSan's interceptors, so allocations made inside libc.so are freed by TSan's free (a CHECK
// failure in ProcessInfo.environment at start) and libc's locks go unseen.
let engineLinkerSettings: [LinkerSetting] = Context.environment["CHASSIS_DYNAMIC_STDLIB"] == "1" ? [] : [
    .unsafeFlags(["-static-stdlib"]),
    .linkedLibrary("_FoundationCollections"), .linkedLibrary("_FoundationCShims"), .linkedLibrary("swiftSynchronization"),
]

let package = Package(
    name: "ChassisManager",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chassis-engine", targets: ["Engine"]),
        .executable(name: "chassis-web", targets: ["App"]),
        .executable(name: "chassisctl", targets: ["CLI"]),
        .executable(name: "chassis-sim", targets: ["Sim"]),
        .executable(name: "chassis-snmp", targets: ["SNMPAgent"]),
        .library(name: "Consensus", targets: ["Consensus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // System libraries (Debian packages, installed by the Makefile).
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI"),
        .systemLibrary(name: "CSensors", path: "Sources/CSensors"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // glibc's malloc.h (mallopt), which Swift's Glibc module leaves out.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // The pure election and replication core: no I/O, no clocks, no global randomness.
        .target(name: "Consensus", dependencies: ["Plumbing"]),
        // A whole chassis of cores on simulated time, shared by chassis-sim and the tests.
        // The engine's decisions as values, beside the core: what the simulator runs with it
        // (today the lease's publish path).
        .target(name: "EngineCore", dependencies: ["Consensus"]),
        .target(name: "Simulation", dependencies: ["Consensus", "EngineCore", "Plumbing"]),
        .executableTarget(name: "Sim", dependencies: ["Simulation", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Domain value types and pure rules (thresholds, statuses).
        .target(name: "Model", dependencies: ["Plumbing"]),
        // The configuration file: parser with file/line errors and typed settings.
        .target(name: "Config", dependencies: ["Model"]),
        // Plumbing shared by the executables, each piece written once: process running, an HTTP GET with
        // deadlines, systemd's notifications, a lock, the host's clocks, SplitMix64, varints.
        .target(name: "Plumbing"),
        // Collectors, one per file, with pure parsers and injectable roots.
        .target(name: "Metrics", dependencies: ["Model", "CSensors", "Plumbing"]),
        // SQLite schema, migrations, the single writer and read-only readers.
        .target(name: "Store", dependencies: ["Model", "CSQLite", "Plumbing", .product(name: "Atomics", package: "swift-atomics")]),
        // Keys derived from the cluster key, and the credential an engine shows another blade.
        .target(name: "ChassisKeys", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Authenticated, framed messages between blades (HMAC-SHA256 with the cluster key).
        .target(name: "Transport", dependencies: [
            "ChassisKeys",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Who may see and change what: password hashes (scrypt), sessions, transfer tickets and
        // API tokens, route rules, the customer's projection of the chassis. Pure computation.
        .target(name: "Access", dependencies: [
            "Model", "ChassisKeys",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        // The chassis' own certificate authority and server certificates: pure computation.
        .target(name: "Certificates", dependencies: [
            "ChassisKeys",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "X509", package: "swift-certificates"),
        ]),
        // Notices of the chassis' events for Alertmanager, syslog, mail and hooks: pure formatting.
        .target(name: "Notifications", dependencies: ["Model"]),
        // Log lines on standard error, with journald priorities under systemd (every program).
        .target(name: "Logs", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // The engine's control protocol over a unix socket, and a blocking client.
        .target(name: "Control", dependencies: ["Model"]),
        // The AgentX protocol (RFC 2741): PDUs as values, their wire format, and answering Get,
        // GetNext and GetBulk from a sorted table. Pure: no sockets, no clocks.
        .target(name: "AgentX"),
        // The chassis as ENTITY-MIB, ENTITY-SENSOR-MIB and CHASSIS-MANAGER-MIB objects, the
        // notifications to send, and snmpd's configuration. Pure.
        .target(name: "ChassisMIB", dependencies: ["AgentX", "Model", "Access"]),
        // Routes, view models, templates and the redirect rule, callable without FastCGI.
        .target(name: "Web", dependencies: [
            "Model", "Store", "Control", "Access", "Config",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),

        .executableTarget(name: "App", dependencies: ["Web", "Access", "Config", "CFastCGI", "CMalloc", "Logs", "Model", "Plumbing",
                                                      .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                      .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "Engine", dependencies: [
            "Consensus", "Config", "Metrics", "Store", "Model", "Control", "Transport", "CMalloc", "ChassisKeys", "Notifications", "Logs",
            "Plumbing", "EngineCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ],
        // The Swift runtime and FoundationEssentials linked in: only the pages the engine touches
        // are resident (idle RSS 21.9 MB dynamic, 18.7 MB static; PSS 14.4 -> 15.8 MB, as the
        // runtime is no longer shared with chassis-web). The three libraries are what
        // FoundationEssentials needs and the driver does not add for a static link.
        linkerSettings: engineLinkerSettings),
        // chassis-snmp: the AgentX subagent (a process of its own, reading the store read-only).
        .executableTarget(name: "SNMPAgent", dependencies: [
            "AgentX", "ChassisMIB", "Config", "Store", "Model", "Access", "Logs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "CLI", dependencies: [
            "Config", "Store", "Model", "Control", "Metrics", "Access", "Certificates", "ChassisKeys", "Plumbing", "ChassisMIB",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),

        .testTarget(name: "ConsensusTests", dependencies: ["Consensus", "Plumbing"]),
        .testTarget(name: "AccessTests", dependencies: ["Access", "Model", "ChassisKeys", "Plumbing",
                                                        .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CertificatesTests", dependencies: ["Certificates", "Plumbing", .product(name: "Crypto", package: "swift-crypto")]),
        // The golden scenario files are read from the source tree (#filePath), not bundled.
        .testTarget(name: "EngineCoreTests", dependencies: ["EngineCore", "Consensus"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Consensus", "EngineCore", "Plumbing"], exclude: ["testdata"]),
        .testTarget(name: "ModelTests", dependencies: ["Model"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Model"]),
        .testTarget(name: "PlumbingTests", dependencies: ["Plumbing"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "Model"]),
        .testTarget(name: "AppTests", dependencies: ["App", "Access", "Config", "Model", "Plumbing"]),
        .testTarget(name: "NotificationsTests", dependencies: ["Notifications", "Model"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "AgentXTests", dependencies: ["AgentX"]),
        .testTarget(name: "ChassisMIBTests", dependencies: ["ChassisMIB", "AgentX", "Model", "Access"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Model"]),
        .testTarget(name: "WebTests", dependencies: ["Web", "Store", "Model", "Access", "Control", "ChassisKeys",
                                                     .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "TransportTests", dependencies: [
            "Transport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
