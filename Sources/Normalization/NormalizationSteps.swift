/// The normalization steps Menshen applies, identically, to lexicon terms and to scanned text.
///
/// Every table step works one Unicode scalar at a time (a scalar becomes zero or more scalars), so
/// a match in the normalized text always maps back to whole scalars of the original text.
/// ``markup`` and ``noise`` are properties of the scan rather than of a character: the scanner
/// implements them, ``UnicodeFolding/fold(_:steps:)`` ignores them. Lexicons choose their steps
/// (`@normalize:`); the default is ``all``.
public struct NormalizationSteps: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Zero-width characters, BOM, soft hyphen, bidi controls, variation selectors, tag
    /// characters and combining marks are removed.
    public static let invisible = NormalizationSteps(rawValue: 1 << 0)
    /// Compatibility folding: full-width ASCII, ideographic space, circled / parenthesized /
    /// super- and subscript digits and letters, mathematical alphanumerics, Kangxi radicals.
    public static let width = NormalizationSteps(rawValue: 1 << 1)
    /// Unicode case folding (Latin, Greek, Cyrillic and every other cased script).
    public static let caseFold = NormalizationSteps(rawValue: 1 << 2)
    /// Latin look-alikes (hand-picked Cyrillic and Greek, and every letter Unicode TR39 finds
    /// confusable with one ASCII letter or digit: `retuгns` → `returns`), and diacritics, folded
    /// to plain Latin letters.
    public static let confusables = NormalizationSteps(rawValue: 1 << 3)
    /// Traditional Chinese characters folded to Simplified (OpenCC's character table).
    public static let traditionalToSimplified = NormalizationSteps(rawValue: 1 << 4)
    /// Separators between the characters of a term (spaces, punctuation, symbols, emoji) are
    /// skipped, so `稳 赚-不*赔` matches `稳赚不赔`.
    public static let noise = NormalizationSteps(rawValue: 1 << 5)
    /// Decimal digits of every script (general category Nd) folded to ASCII: Arabic-Indic `٣`,
    /// Devanagari `३`, Thai `๓`, full-width `３`, mathematical `𝟑` all become `3`. Runs with
    /// ``width``.
    public static let digits = NormalizationSteps(rawValue: 1 << 6)
    /// CJK variant forms folded to the Simplified character ``traditionalToSimplified`` produces:
    /// Japanese shinjitai (`穏` → `稳`, `売` → `卖`) and rare variants from Unihan (`髙` → `高`).
    /// Never changes a common Chinese character. Runs after ``traditionalToSimplified``.
    public static let variants = NormalizationSteps(rawValue: 1 << 7)
    /// Markup in the scanned text is read as the text it stands for: HTML character references
    /// (`&#x433;`, `&amp;`) and tags, terminal escape sequences. Implemented by the scanner before
    /// any per-scalar step; it needs no table and ``UnicodeFolding/fold(_:steps:)`` ignores it.
    public static let markup = NormalizationSteps(rawValue: 1 << 8)

    public static let all: NormalizationSteps = [
        .markup, .invisible, .width, .digits, .caseFold, .confusables, .traditionalToSimplified, .variants, .noise,
    ]

    /// The names used in lexicon headers, in application order.
    public static let named: [(name: String, step: NormalizationSteps)] = [
        ("markup", .markup), ("invisible", .invisible), ("width", .width), ("digits", .digits),
        ("case", .caseFold), ("confusables", .confusables), ("t2s", .traditionalToSimplified),
        ("variants", .variants), ("noise", .noise),
    ]

    public var description: String {
        if self == .all { return "all" }
        if isEmpty { return "none" }
        return Self.named.filter { contains($0.step) }.map(\.name).joined(separator: ",")
    }

    /// Parses a header value: `all`, `none`, a comma list of step names, or `all,-noise`.
    /// Returns nil with the offending word when a name is unknown.
    public static func parse(_ text: String) -> Result<NormalizationSteps, UnknownStep> {
        var steps: NormalizationSteps = []
        for rawWord in text.split(separator: ",") {
            let word = rawWord.trimmingCharacters(in: " \t")
            let removing = word.hasPrefix("-")
            let name = removing ? String(word.dropFirst()) : word
            let step: NormalizationSteps
            switch name {
            case "all": step = .all
            case "none": step = []
            default:
                guard let found = named.first(where: { $0.name == name }) else { return .failure(UnknownStep(word: name)) }
                step = found.step
            }
            if removing { steps.subtract(step) } else { steps.formUnion(step) }
        }
        return .success(steps)
    }

    /// A step name that does not exist.
    public struct UnknownStep: Error, Sendable {
        public let word: String
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var slice = Substring(self)
        while let f = slice.first, chars.contains(f) { slice.removeFirst() }
        while let l = slice.last, chars.contains(l) { slice.removeLast() }
        return String(slice)
    }
}
