// swift-tools-version: 6.1
import PackageDescription

// Dependencies point inward: menshen → Proxy → (Hooks →) Screening → (Normalization, AhoCorasick, CPCRE2);
// Proxy → Wire (JSON and SSE formats) → Normalization.
// Evaluation (corpus metrics, baseline diffs, Appendix A coverage) sits beside Proxy: it only
// needs Screening.
// Nothing in Screening knows about networking; AhoCorasick and Normalization know about nothing.
// Labeling (GB 45438 labels) and Audit (the tamper-evident log) are leaves beside Screening:
// they know nothing of screening or networking.
let package = Package(
    name: "menshen",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "menshen", targets: ["menshen"]),
        .executable(name: "menshen-bench", targets: ["MenshenBench"]),
        .executable(name: "menshen-feature-bench", targets: ["FeatureBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .target(name: "AhoCorasick"),
        .target(name: "Normalization"),
        // The wire formats Menshen reads (JSON documents with byte ranges, SSE events, JSON
        // escapes): no networking, so parsers can be tested and fuzzed on their own.
        .target(name: "Wire", dependencies: ["Normalization"]),
        .target(name: "Screening", dependencies: [
            "AhoCorasick", "Normalization", "CPCRE2",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Classifier hooks: external moderation models called over HTTP. Kept out of Screening,
        // which knows nothing about networking.
        .target(name: "Hooks", dependencies: [
            "Screening",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Proxy", dependencies: [
            "Screening", "Normalization", "Wire", "Audit", "Labeling", "Hooks",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdHTTP2", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Labeling", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Audit", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Evaluation", dependencies: ["Screening"]),
        .executableTarget(name: "menshen", dependencies: [
            "Screening", "Proxy", "Labeling", "Audit", "Evaluation",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(
            name: "MenshenBench",
            dependencies: ["Screening", "AhoCorasick", "Normalization"],
            path: "Benchmarks/MenshenBench"
        ),
        .executableTarget(
            name: "FeatureBench",
            dependencies: ["Screening"],
            path: "Benchmarks/FeatureBench"
        ),
        // What several test targets share: a seeded generator, the repository root, and a
        // loopback server for in-process fakes.
        .target(name: "TestSupport", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "AhoCorasickTests", dependencies: ["AhoCorasick", "TestSupport"]),
        .testTarget(name: "ScreeningTests", dependencies: ["Screening", "Normalization", "AhoCorasick", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "HooksTests", dependencies: [
            "Hooks", "Screening", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Screening", "TestSupport"]),
        .testTarget(name: "ProxyTests", dependencies: [
            "Proxy", "Screening", "TestSupport",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "LabelingTests", dependencies: ["Labeling", .product(name: "Crypto", package: "swift-crypto")]),
        // The crash test runs AuditCrashHelper as a child process and kills it; depending on it
        // makes SwiftPM build it before the tests run.
        .executableTarget(name: "AuditCrashHelper", dependencies: [
            "Audit", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/AuditCrashHelper"),
        .testTarget(name: "AuditTests", dependencies: ["Audit", "AuditCrashHelper"]),
    ]
)

// libFuzzer targets (docs/fuzzing.md): only in the graph with MENSHEN_FUZZ=1, so a normal
// `swift build` never builds them. Build with scripts/fuzz.sh (`--sanitize=fuzzer --sanitize=address`).
if Context.environment["MENSHEN_FUZZ"] == "1" {
    let fuzzFlags: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
    let fuzzTargets: [(product: String, target: String, dependencies: [Target.Dependency])] = [
        ("fuzz-json", "FuzzJSON", ["Wire"]),
        ("fuzz-sse", "FuzzSSE", ["Wire"]),
        ("fuzz-lexicon", "FuzzLexicon", ["Screening"]),
        ("fuzz-stream-scan", "FuzzStreamScan", ["Screening", "Normalization"]),
    ]
    for fuzz in fuzzTargets {
        package.products.append(.executable(name: fuzz.product, targets: [fuzz.target]))
        package.targets.append(.executableTarget(name: fuzz.target, dependencies: fuzz.dependencies,
                                                 path: "Fuzz/\(fuzz.target)", swiftSettings: fuzzFlags))
    }
}
