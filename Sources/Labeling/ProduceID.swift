import Foundation

/// Ids for answers: UUIDv7 (RFC 9562) as 32 lowercase hex digits — time-ordered, so ids sort
/// by when the answer was labelled, with 74 random bits against collisions.
public enum ProduceID {
    /// A new id for an answer labelled at `now`.
    public static func make(now: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - i))) }
        let random = [rng.next(), rng.next()] as [UInt64]
        for i in 6..<16 { bytes[i] = UInt8(truncatingIfNeeded: random[i / 8] >> (8 * (i % 8))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)       // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)       // variant 10
        return hex(bytes)
    }
}

/// Lowercase hex of bytes.
func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
    return String(decoding: out, as: UTF8.self)
}
