import Screening

/// Excerpts of corpus texts for reports. Every matched range — of any rule, shadow ones and
/// those of a baseline included — is masked, so a report never shows what a rule matched,
/// only the words around it.
enum MaskedContext {
    /// `bytes` around `focus`, at most `radius` characters either side, with every range of
    /// `masked` (and `focus`) replaced by `«**»` (letters and digits become `*`). Line breaks
    /// and tabs become spaces; a cut is marked with `…`.
    ///
    /// "这款理财产品保本保息，放心" focused on 保本保息 → "这款理财产品«****»，放心"
    static func excerpt(_ bytes: [UInt8], masking masked: [Range<Int>], focus: Range<Int>, radius: Int) -> String {
        var ranges = (masked + [focus]).filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        ranges = merge(ranges)
        var out: [Unicode.Scalar] = []
        var focusStart = 0, focusEnd = 0
        var cursor = 0
        func appendPlain(_ r: Range<Int>) {
            guard !r.isEmpty else { return }
            for s in String(decoding: bytes[r], as: UTF8.self).unicodeScalars { out.append(s) }
        }
        for r in ranges {
            let lo = max(r.lowerBound, cursor), hi = min(r.upperBound, bytes.count)
            guard lo < hi else { continue }
            appendPlain(cursor..<lo)
            let containsFocus = r.overlaps(focus) || r == focus
            if containsFocus { focusStart = out.count }
            out.append(contentsOf: "«".unicodeScalars)
            out.append(contentsOf: stars(bytes[lo..<hi]).unicodeScalars)
            out.append(contentsOf: "»".unicodeScalars)
            if containsFocus { focusEnd = out.count }
            cursor = hi
        }
        appendPlain(cursor..<bytes.count)
        let lo = max(0, focusStart - radius), hi = min(out.count, focusEnd + radius)
        var text = String(String.UnicodeScalarView(out[lo..<hi]))
        if lo > 0 { text = "…" + text }
        if hi < out.count { text += "…" }
        return flatten(text)
    }

    /// A whole text with every range in `masked` masked (for short texts in diff listings).
    static func masked(_ bytes: [UInt8], masking masked: [Range<Int>], limit: Int) -> String {
        guard let first = masked.first else {
            return flatten(truncate(String(decoding: bytes, as: UTF8.self), limit: limit))
        }
        // Centre on the first range; `excerpt` masks them all.
        return excerpt(bytes, masking: masked, focus: first, radius: limit / 2)
    }

    /// Letters and digits → `*`, separators kept; long runs shortened.
    static func stars<C: Collection>(_ value: C) -> String where C.Element == UInt8 {
        let rendered = String(decoding: Masker.render(value, style: .full), as: UTF8.self)
        let scalars = Array(rendered.unicodeScalars)
        guard scalars.count > 24 else { return rendered }
        return String(String.UnicodeScalarView(scalars.prefix(12))) + "…(\(scalars.count) chars)"
    }

    static func merge(_ sorted: [Range<Int>]) -> [Range<Int>] {
        var merged: [Range<Int>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    static func flatten(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }))
    }

    static func truncate(_ s: String, limit: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        guard scalars.count > limit else { return s }
        return String(String.UnicodeScalarView(scalars.prefix(limit))) + "…"
    }
}

/// Converts UTF-8 byte offsets of one text to Unicode scalar (code point) offsets.
struct ScalarOffsets {
    /// `scalarIndex[b]`: scalars before byte `b` (for every b in 0...count).
    private let scalarIndex: [Int]

    init(_ bytes: [UInt8]) {
        var index: [Int] = []
        index.reserveCapacity(bytes.count + 1)
        var scalars = 0
        for b in bytes {
            index.append(scalars)
            if b & 0xC0 != 0x80 { scalars += 1 }
        }
        // Match ranges start and end on scalar boundaries, where this count is exact.
        index.append(scalars)
        scalarIndex = index
    }

    func scalars(_ bytes: Range<Int>) -> Range<Int> {
        scalarIndex[bytes.lowerBound]..<scalarIndex[bytes.upperBound]
    }
}
