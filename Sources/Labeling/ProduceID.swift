import Foundation
import Synchronization

/// Ids for answers: UUIDv7 (RFC 9562) as 32 lowercase hex digits — time-ordered, so ids sort
/// by when the answer was labelled, with 74 bits that tell apart answers of the same millisecond.
///
/// Why not fresh system randomness per id: `SystemRandomNumberGenerator` makes one `getrandom`
/// system call per 64 bits, two per labelled answer — visible under load. An id needs to be
/// unique and hard to collide across a fleet, not secret (the label's HMAC is what cannot be
/// forged), so the 74 bits are a bijective mix of a per-process counter under a random
/// per-process key (RFC 9562 §6.2 allows counters there): ids of one process never repeat,
/// and ids of two processes look unrelated.
public enum ProduceID {
    private static let key: UInt64 = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)
    /// The 10 bits beside `unique`: fixed per process.
    private static let filler = mix(key &+ 0x9E37_79B9_7F4A_7C15)

    /// A new id for an answer labelled at `now`.
    public static func make(now: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let n = counter.add(1, ordering: .relaxed).newValue
        let unique = mix(key ^ n)             // a bijection of n: no repeats within the process
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - i))) }
        // All 64 bits of `unique` land in rand_a (bytes 6–7, 12 bits) and rand_b (bytes 8–15,
        // 62 bits); the 10 bits left over come from the key.
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: unique >> 60)               // version 7
        bytes[7] = UInt8(truncatingIfNeeded: unique >> 52)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: filler & 0x3F)            // variant 10
        bytes[9] = UInt8(truncatingIfNeeded: filler >> 8 & 0x0F) << 4 | UInt8(truncatingIfNeeded: unique >> 48 & 0x0F)
        for i in 10..<16 { bytes[i] = UInt8(truncatingIfNeeded: unique >> (8 * (15 - i))) }
        return hex(bytes)
    }

    /// SplitMix64's finalizer: a bijection on 64 bits that spreads every input bit.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Lowercase hex of bytes.
func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
    return String(decoding: out, as: UTF8.self)
}
