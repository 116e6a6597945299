/// A rule that fired on a span of the original text.
public struct Match: Sendable, Hashable, Comparable {
    /// Index into ``LexiconSet/rules``.
    public let rule: Int
    /// Byte offsets in the original UTF-8 text (for streams: from the start of the stream).
    public let range: Range<Int>
    /// The line of the term in its lexicon file (term lists), or of the rule (regex rules).
    public let line: Int
    /// The context clause that changed what this match does (an index into
    /// ``LexiconSet/contexts``), or -1: the rule's own action.
    public var context: Int32 = -1

    public init(rule: Int, range: Range<Int>, line: Int, context: Int32 = -1) {
        self.rule = rule
        self.range = range
        self.line = line
        self.context = context
    }

    /// Ordered by start, then longest first: the order leftmost-longest selection walks.
    public static func < (a: Match, b: Match) -> Bool {
        if a.range.lowerBound != b.range.lowerBound { return a.range.lowerBound < b.range.lowerBound }
        if a.range.upperBound != b.range.upperBound { return a.range.upperBound > b.range.upperBound }
        return a.rule < b.rule
    }

    /// Leftmost-longest, non-overlapping selection: at each point the match that starts first,
    /// and among those the longest; then continue after its end.
    public static func leftmostLongest(_ matches: [Match]) -> [Match] {
        var selected: [Match] = []
        var end = Int.min
        for m in matches.sorted() where m.range.lowerBound >= end {
            selected.append(m)
            end = m.range.upperBound
        }
        return selected
    }
}

/// What one `feed` of a stream scanner found.
public struct ScanProgress: Sendable {
    /// Matches confirmed by this feed (they may start before this chunk).
    public var matches: [Match]
    /// Every byte before this offset can no longer be part of any match: the proxy may release it.
    public var settled: Int
    /// Matches a context clause allowed (``Match/context`` names it): reported, never acted on.
    public var allowed: [Match] = []

    public init(matches: [Match], settled: Int, allowed: [Match] = []) {
        self.matches = matches
        self.settled = settled
        self.allowed = allowed
    }
}
