/// UTF-8 decoding for scan loops: one scalar at a time from raw bytes, no `Character`s.
public enum UTF8Scalar {
    /// The result of decoding at one position.
    public enum Step {
        /// A scalar and its length in bytes. Ill-formed input decodes as U+FFFD, one byte at a time.
        case scalar(UInt32, length: Int)
        /// The buffer ends inside a sequence that is well-formed so far: more bytes are needed.
        case needMore
    }

    /// Decodes the scalar at `i` of `p[0..<n]`. When `final` is set, a truncated sequence at the
    /// end decodes as U+FFFD instead of asking for more bytes, so the same input decodes the
    /// same way whether it arrived whole or in pieces.
    @inlinable @inline(__always)
    public static func decode(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int, final: Bool) -> Step {
        let b0 = p[i]
        if b0 < 0x80 { return .scalar(UInt32(b0), length: 1) }
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        var value: UInt32
        switch b0 {
        case 0xC2...0xDF: need = 1; value = UInt32(b0 & 0x1F)
        case 0xE0: need = 2; lo = 0xA0; value = UInt32(b0 & 0x0F)
        case 0xE1...0xEC, 0xEE...0xEF: need = 2; value = UInt32(b0 & 0x0F)
        case 0xED: need = 2; hi = 0x9F; value = UInt32(b0 & 0x0F)
        case 0xF0: need = 3; lo = 0x90; value = UInt32(b0 & 0x07)
        case 0xF1...0xF3: need = 3; value = UInt32(b0 & 0x07)
        case 0xF4: need = 3; hi = 0x8F; value = UInt32(b0 & 0x07)
        default: return .scalar(0xFFFD, length: 1)
        }
        for k in 1...need {
            if i + k >= n { return final ? .scalar(0xFFFD, length: 1) : .needMore }
            let b = p[i + k]
            let (l, h) = k == 1 ? (lo, hi) : (UInt8(0x80), UInt8(0xBF))
            guard b >= l && b <= h else { return .scalar(0xFFFD, length: 1) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return .scalar(value, length: need + 1)
    }
}
