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

    /// A client's `X-Request-Id` when it is a plain identifier (letters, digits, `-`, `_`,
    /// `.`, `:`; 1 to 128 bytes), else a new ID. The ID is written to logs, audit events and
    /// headers: a free-form one would let a client write anything there (text, raw personal
    /// data, forged log lines).
    static func accepting(_ presented: String?) -> String {
        guard let presented, isPlain(presented) else { return next() }
        return presented
    }

    static func isPlain(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
                || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
        }
    }
}
