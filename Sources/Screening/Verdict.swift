/// The outcome of screening one text.
public enum Decision: String, Sendable, Codable, Comparable, CaseIterable {
    case allow, flag, mask, block

    var strength: Int {
        switch self {
        case .allow: return 0
        case .flag: return 1
        case .mask: return 2
        case .block: return 3
        }
    }
    public static func < (a: Decision, b: Decision) -> Bool { a.strength < b.strength }

    /// The decision one action leads to. Shadow never changes what is delivered.
    public init(_ action: Action) {
        switch action {
        case .shadow: self = .allow
        case .flag: self = .flag
        case .mask: self = .mask
        case .block: self = .block
        }
    }
}

/// A screened text: what fired, what to do, and the text as it may be delivered.
public struct ScreeningResult: Sendable {
    public let decision: Decision
    /// Every match that fired, shadow ones included, in text order.
    public let matches: [Match]
    /// The text with every mask-action match masked (leftmost-longest).
    public let maskedText: String
    /// The lexicon version that decided.
    public let lexiconVersion: String
    /// Matches a context clause allowed (``Match/context`` names it): shown, never acted on.
    public let allowedByContext: [Match]

    public init(decision: Decision, matches: [Match], maskedText: String, lexiconVersion: String, allowedByContext: [Match] = []) {
        self.decision = decision
        self.matches = matches
        self.maskedText = maskedText
        self.lexiconVersion = lexiconVersion
        self.allowedByContext = allowedByContext
    }
}

extension LexiconSet {
    /// Screens a whole text in one go (the stream scanner, fed once and finished).
    ///
    /// ```swift
    /// let result = lexicons.screen("联系我 13812345678", direction: .input)
    /// result.decision      // .mask
    /// result.maskedText    // "联系我 138****5678"
    /// ```
    public func screen(_ text: String, direction: Direction) -> ScreeningResult {
        screen(text, direction: direction, policy: ActionPolicy())
    }

    /// Every match in `bytes`, sorted by position (matches a context allowed are not among them).
    public func scan(_ bytes: [UInt8], direction: Direction) -> [Match] {
        scanWithContext(bytes, direction: direction).matches
    }

    /// Every match in `bytes` and, apart, the matches a context clause allowed; both sorted.
    public func scanWithContext(_ bytes: [UInt8], direction: Direction) -> (matches: [Match], allowed: [Match]) {
        var scanner = StreamScanner(lexicons: self, direction: direction)
        let progress = bytes.withUnsafeBytes { scanner.finish(appending: $0) }
        return (progress.matches.sorted(), progress.allowed.sorted())
    }

    /// Regex rules that match `bytes` fed as a stream but not as a whole text: a prefilter's
    /// broken promise (none of the rule's `anchors:` occurs in the text, or its longest run of
    /// digits is shorter than the rule's `digit_run:`) that makes whole-text screening miss
    /// them. (Fed as a stream, every rule runs whatever the prefilters say.)
    public func rulesMissedByPrefilters(_ bytes: [UInt8], direction: Direction) -> [String] {
        var scanner = StreamScanner(lexicons: self, direction: direction)
        let streamed = scanner.feed(bytes).matches + scanner.finish().matches
        let whole = Set(scan(bytes, direction: direction).map(\.rule))
        let missed = Set(streamed.map(\.rule)).subtracting(whole)
        return missed.map { rules[$0].id }.sorted()
    }
}

/// Renders masked values.
public enum Masker {
    /// Replaces the leftmost-longest selection of `matches` in `bytes` by their masked forms.
    /// Match ranges are offsets into `bytes` shifted by `offset` (streams mask a window).
    /// `style` overrides every rule's own mask style (audit excerpts mask everything fully).
    public static func apply(to bytes: [UInt8], matches: [Match], rules: [Rule], offset: Int = 0, style: MaskStyle? = nil) -> [UInt8] {
        let selected = Match.leftmostLongest(matches)
        guard !selected.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var cursor = 0
        for m in selected {
            let lo = max(m.range.lowerBound - offset, cursor), hi = min(m.range.upperBound - offset, bytes.count)
            guard lo < hi else { continue }
            out.append(contentsOf: bytes[cursor..<lo])
            out.append(contentsOf: render(bytes[lo..<hi], style: style ?? rules[m.rule].mask))
            cursor = hi
        }
        out.append(contentsOf: bytes[cursor...])
        return out
    }

    /// The masked form of one value: letters and digits become `*` (keeping the first and last
    /// ones the style names), separators stay, so `138 1234 5678` → `138 **** 5678`.
    public static func render<C: Collection>(_ value: C, style: MaskStyle) -> [UInt8] where C.Element == UInt8 {
        if case .replace(let text) = style { return Array(text.utf8) }
        let scalars = Array(String(decoding: Array(value), as: UTF8.self).unicodeScalars)
        let maskable = scalars.map { $0.properties.isAlphabetic || $0.properties.numericType != nil }
        let total = maskable.filter { $0 }.count
        var keepStart = 0, keepEnd = 0
        if case .keep(let s, let e) = style, s + e < total { keepStart = s; keepEnd = e }
        var out = String.UnicodeScalarView()
        var seen = 0
        for (scalar, isMaskable) in zip(scalars, maskable) {
            if isMaskable {
                seen += 1
                if seen > keepStart && seen <= total - keepEnd { out.append("*"); continue }
            }
            out.append(scalar)
        }
        return Array(String(out).utf8)
    }
}
