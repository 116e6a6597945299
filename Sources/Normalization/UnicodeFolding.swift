/// Per-scalar folding built from the generated tables (`Generated/NormalizationTables.swift`).
///
/// This is the slow, allocating path: it runs when lexicons are compiled (to normalize terms and
/// to fill each profile's ``ScalarClassTable``), and for the rare scalars outside the Basic
/// Multilingual Plane. The scan loop never calls it for BMP text.
public final class UnicodeFolding: Sendable {
    /// The tables, parsed once per process.
    public static let shared = UnicodeFolding()

    let traditionalToSimplified: [UInt32: UInt32]
    let variants: [UInt32: UInt32]
    let compatibility: [UInt32: [UInt32]]
    let digits: [UInt32: UInt32]
    let caseFold: [UInt32: [UInt32]]
    let confusables: [UInt32: [UInt32]]
    let invisibleRanges: [ClosedRange<UInt32>]

    /// Every scalar above U+FFFF that some mapping table changes. Tables precomputed for the BMP
    /// must fold these individually (astral invisible scalars are in ``invisibleRanges``).
    var astralSources: Set<UInt32> {
        var keys = Set(compatibility.keys).union(caseFold.keys).union(confusables.keys)
        keys.formUnion(digits.keys)
        keys.formUnion(traditionalToSimplified.keys)
        keys.formUnion(variants.keys)
        return keys.filter { $0 > 0xFFFF }
    }

    private init() {
        traditionalToSimplified = Self.parseSingleMapping(NormalizationTables.traditionalToSimplified)
        variants = Self.parseSingleMapping(NormalizationTables.variants)
        compatibility = Self.parseMapping(NormalizationTables.compatibility)
        digits = Self.parseSingleMapping(NormalizationTables.digits)
        caseFold = Self.parseMapping(NormalizationTables.caseFold)
        confusables = Self.parseMapping(NormalizationTables.confusables)
        invisibleRanges = NormalizationTables.invisibleRanges.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "-")
            guard parts.count == 2, let lo = UInt32(parts[0].trimmingCharacters(in: " "), radix: 16),
                  let hi = UInt32(parts[1].trimmingCharacters(in: " "), radix: 16) else { return nil }
            return lo...hi
        }
    }

    private static func parseMapping(_ text: String) -> [UInt32: [UInt32]] {
        var map: [UInt32: [UInt32]] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":")
            guard parts.count == 2, let source = UInt32(parts[0].trimmingCharacters(in: " "), radix: 16) else { continue }
            let targets = parts[1].split(separator: " ").compactMap { UInt32($0, radix: 16) }
            if !targets.isEmpty { map[source] = targets }
        }
        return map
    }

    /// A table whose every target is one scalar (the generator guarantees it).
    private static func parseSingleMapping(_ text: String) -> [UInt32: UInt32] {
        parseMapping(text).compactMapValues { $0.count == 1 ? $0[0] : nil }
    }

    /// Whether `scalar` is removed by the ``NormalizationSteps/invisible`` step.
    public func isInvisible(_ scalar: UInt32) -> Bool {
        var lo = 0, hi = invisibleRanges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let range = invisibleRanges[mid]
            if scalar < range.lowerBound { hi = mid } else if scalar > range.upperBound { lo = mid + 1 } else { return true }
        }
        return false
    }

    /// Folds one scalar through `steps` (noise and markup excluded: they are properties of the
    /// scan, not of a character). Returns the scalars it becomes, possibly none.
    ///
    /// Order: invisible → width → digits → case → confusables → t2s → variants.
    public func fold(_ scalar: UInt32, steps: NormalizationSteps) -> [UInt32] {
        if steps.contains(.invisible) && isInvisible(scalar) { return [] }
        var current = [scalar]
        func apply(_ table: [UInt32: [UInt32]]) {
            var out: [UInt32] = []
            out.reserveCapacity(current.count)
            for s in current { if let mapped = table[s] { out.append(contentsOf: mapped) } else { out.append(s) } }
            current = out
        }
        if steps.contains(.width) { apply(compatibility) }
        if steps.contains(.digits) { current = current.map { digits[$0] ?? $0 } }
        if steps.contains(.caseFold) { apply(caseFold) }
        if steps.contains(.confusables) { apply(confusables) }
        if steps.contains(.traditionalToSimplified) {
            current = current.map { traditionalToSimplified[$0] ?? $0 }
        }
        if steps.contains(.variants) { current = current.map { variants[$0] ?? $0 } }
        if steps.contains(.invisible) { current.removeAll { isInvisible($0) } }
        return current
    }

    /// Whether a (folded) scalar is a separator that noise skipping ignores: white space,
    /// punctuation, symbols (emoji included), controls, private-use and unassigned code points.
    public static func isNoise(_ scalar: UInt32) -> Bool {
        guard let s = Unicode.Scalar(scalar) else { return true }
        switch s.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol,
             .privateUse, .unassigned, .format, .nonspacingMark, .enclosingMark, .spacingMark:
            return true
        default:
            return false
        }
    }

    /// Whether a (folded) scalar is a "word" character for word-boundary checks: letters of
    /// alphabetic scripts and digits. Han, kana and Hangul are not: Chinese and Japanese text has
    /// no spaces, so a boundary there means nothing.
    public static func isWordCharacter(_ scalar: UInt32) -> Bool {
        guard let s = Unicode.Scalar(scalar) else { return false }
        let p = s.properties
        if p.generalCategory == .decimalNumber { return true }
        guard p.isAlphabetic, !p.isIdeographic else { return false }
        switch scalar {
        case 0x1100...0x11FF, 0x3040...0x30FF, 0x3130...0x318F, 0x31F0...0x31FF, 0xAC00...0xD7AF, 0xFF66...0xFFDC:
            return false
        default:
            return true
        }
    }

    /// Normalizes a whole string (used for lexicon terms): folds every scalar and, with the
    /// noise step, drops separators.
    public func normalize(_ text: String, steps: NormalizationSteps) -> [UInt32] {
        var out: [UInt32] = []
        for scalar in text.unicodeScalars {
            for folded in fold(scalar.value, steps: steps) {
                if steps.contains(.noise) && Self.isNoise(folded) { continue }
                out.append(folded)
            }
        }
        return out
    }
}
