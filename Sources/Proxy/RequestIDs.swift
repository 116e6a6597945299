import Synchronization

/// Request IDs for requests that bring none: a random per-process prefix and a counter.
///
/// Why not `UUID()`: Foundation's opens `/dev/urandom` for every ID on Linux (a system call
/// pair per request, visible in profiles under load). IDs only need to be unique
/// across a fleet's logs, which 64 random bits per process plus a counter give.
enum RequestIDs {
    private static let prefix: String = {
        let bits = UInt64.random(in: .min ... .max)
        let hex = String(bits, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }()
    private static let counter = Atomic<UInt64>(0)

    /// The next ID: 32 lowercase hex digits, like a UUID's without the dashes.
    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        let hex = String(n, radix: 16)
        return prefix + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
