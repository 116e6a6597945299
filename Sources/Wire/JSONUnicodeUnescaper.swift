/// Decodes `\uXXXX` escapes of printable characters in JSON text, fed in pieces.
///
/// Why: tool-call arguments are JSON text, and Python's `json.dumps` escapes every non-ASCII
/// character by default (`ensure_ascii`), so `{"text": "稳赚不赔"}` often arrives as
/// `{"text": "\u7a33\u8d5a\u4e0d\u8d54"}` — invisible to the lexicons, yet the program that
/// receives the call reads 稳赚不赔. Tool results sent back as prompts are JSON in the same way,
/// and models read escapes fluently. Menshen screens (and delivers) the decoded form: for JSON it
/// is equivalent text, because only escapes that JSON does not require are decoded — never a
/// quote, a backslash, a control character or a lone surrogate. Other escapes (`\\`, `\"`, `\n`)
/// are copied as they are, so `\\u7a33` (a backslash, then the letters) stays literal.
public struct JSONUnicodeUnescaper {
    /// An undecided tail: a backslash, or an escape not yet complete.
    private var pending: [UInt8] = []

    public init() {}

    /// The longest undecided tail: `\uD83D\uDE00`, a surrogate pair.
    private static let longestEscape = 12

    /// Decodes a whole text; the text itself (no copy) when it has no `\u` at all.
    public static func decode(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "\\")) else { return text }
        var decoder = JSONUnicodeUnescaper()
        return decoder.feed(text) + decoder.finish()
    }

    /// The decoded text of the next piece, up to an escape that may continue in the next one.
    public mutating func feed(_ piece: String) -> String {
        if pending.isEmpty && !piece.utf8.contains(UInt8(ascii: "\\")) { return piece }
        let bytes = pending + Array(piece.utf8)
        pending = []
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "\\") else { out.append(bytes[i]); i += 1; continue }
            guard i + 1 < bytes.count else { break }                       // a backslash at the end: wait
            guard bytes[i + 1] == UInt8(ascii: "u") else {                 // another escape: copy it whole
                out.append(bytes[i]); out.append(bytes[i + 1]); i += 2; continue
            }
            guard i + 6 <= bytes.count else { break }                      // `\u` and fewer than 4 digits: wait
            guard let unit = Self.hex4(bytes, at: i + 2) else { out.append(contentsOf: bytes[i..<i + 2]); i += 2; continue }
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate decodes only with its low half.
                guard i + Self.longestEscape <= bytes.count else {
                    if bytes.count - i < Self.longestEscape && Self.mayContinue(bytes[(i + 6)...]) { break }
                    out.append(contentsOf: bytes[i..<i + 6]); i += 6; continue
                }
                if bytes[i + 6] == UInt8(ascii: "\\"), bytes[i + 7] == UInt8(ascii: "u"),
                   let low = Self.hex4(bytes, at: i + 8), (0xDC00...0xDFFF).contains(low),
                   let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) {
                    UTF8.encode(scalar) { out.append($0) }
                    i += Self.longestEscape
                } else {
                    out.append(contentsOf: bytes[i..<i + 6]); i += 6
                }
                continue
            }
            // JSON requires these escaped; a lone low surrogate cannot be written as UTF-8.
            if unit < 0x20 || unit == 0x22 || unit == 0x5C || (0xDC00...0xDFFF).contains(unit) {
                out.append(contentsOf: bytes[i..<i + 6]); i += 6; continue
            }
            UTF8.encode(Unicode.Scalar(unit)!) { out.append($0) }
            i += 6
        }
        pending = Array(bytes[i...])
        return String(decoding: out, as: UTF8.self)
    }

    /// What is still undecided, as it came (the stream ended).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Whether bytes after a high surrogate's escape may still become `\uXXXX`.
    private static func mayContinue(_ tail: ArraySlice<UInt8>) -> Bool {
        let expected: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "u")]
        for (k, b) in tail.enumerated() {
            if k < 2 { if b != expected[k] { return false } } else if JSONParserCore.hexValue(b) == nil { return false }
        }
        return true
    }

    private static func hex4(_ bytes: [UInt8], at i: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in i..<i + 4 {
            guard let d = JSONParserCore.hexValue(bytes[k]) else { return nil }
            v = v << 4 | d
        }
        return v
    }
}
