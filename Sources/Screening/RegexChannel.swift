import Normalization

/// Regex rules over a stream: a window of not-yet-settled text (folded for width and invisible
/// characters, or raw), rescanned from each rule's cursor on every piece with
/// `PCRE2_PARTIAL_HARD`, which says where a match could still be completing.
struct RegexChannel: Sendable {
    let rules: [CompiledRegex]
    let folding: FoldTable?
    /// PCRE2's scratch for match results; one scanner's alone (see ``useOwnScratch()``).
    private(set) var matchData: PCRE2Pattern.MatchData
    /// Result pairs the scratch needs (the most capture groups of a rule, plus the whole match).
    let matchPairs: Int
    /// The folding maps every ASCII byte to itself (so ASCII runs are copied as they are).
    let asciiUnchanged: Bool
    /// Window bytes (the folded text the rules run on).
    var window: [UInt8] = []
    /// While nothing appended so far was changed by folding, window byte `k` *is* stream byte
    /// `windowBase + k` and `segments` stays empty. After the first changed scalar, `segments`
    /// says where each window byte came from.
    var exact = true
    /// Where window bytes come from once folding changed something, in window space, ordered:
    /// a run copied unchanged, or the bytes one folded scalar became. One segment per change,
    /// not an offset per byte: Chinese text has full-width punctuation in nearly every sentence,
    /// so per-byte offsets (16 bytes for every byte of text) were kept for almost every text.
    var segments: [OriginSegment] = []
    /// Window-space offset of `window[0]` (window-space grows monotonically).
    var windowBase = 0
    /// Per rule: where the next search starts, and where a partial match holds text back.
    var cursors: [Int]
    var holds: [Int]
    let lookbehindBytes: Int
    /// The largest `digit_run:` among the rules (0: none declares one).
    let largestDigitRun: Int
    /// Stream offset just after the last scalar appended.
    var end = 0

    /// A partial match longer than this is given up on (and the text released), so a stream
    /// cannot make Menshen hold unbounded text. Generous next to any real identifier or key.
    static let maximumHold = 64 * 1024

    /// No partial match holds text back.
    var isQuiet: Bool {
        let end = windowBase + window.count
        return holds.allSatisfy { $0 >= end }
    }

    init(rules: [CompiledRegex], folding: FoldTable?) {
        self.rules = rules
        self.folding = folding
        // One scratch block serves every rule: each match call's result is read before the next.
        matchPairs = (rules.map(\.pattern.captureCount).max() ?? 0) + 1
        self.matchData = PCRE2Pattern.MatchData(pairs: matchPairs)
        self.asciiUnchanged = folding?.asciiIsIdentity ?? true
        cursors = Array(repeating: 0, count: rules.count)
        holds = Array(repeating: 0, count: rules.count)
        lookbehindBytes = (rules.map(\.pattern.maxLookbehind).max() ?? 0) * 4
        largestDigitRun = rules.map(\.digitRun).max() ?? 0
    }

    /// Gives this copy its own PCRE2 scratch. A channel copied from a lexicon set's prototype
    /// shares the prototype's, and scanners run on many threads at once.
    mutating func useOwnScratch() {
        matchData = PCRE2Pattern.MatchData(pairs: matchPairs)
    }

    /// Decodes `bytes` into the window; returns where decoding stopped (see `StreamScanner`).
    ///
    /// Hot: every screened byte passes here. Scalars the folding leaves alone (all of ASCII
    /// for width and invisible folding, nearly all CJK text) are not copied one by one: a run
    /// of them is copied in one piece when it ends. Other scalars are folded and encoded one at
    /// a time.
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool) -> Int {
        guard let p = bytes.baseAddress else { return 0 }
        var i = 0
        let n = bytes.count
        window.reserveCapacity(window.count + n)
        let folding = self.folding          // one copy, not one per scalar
        let asciiUnchanged = self.asciiUnchanged
        var runStart = 0                    // bytes[runStart..<i] are unchanged and not yet copied
        defer { end = base + i }
        while i < n {
            if asciiUnchanged && p[i] < 0x80 {
                i += 1
                while i < n && p[i] < 0x80 { i += 1 }
                continue
            }
            let scalar: UInt32, length: Int
            switch UTF8Scalar.decode(p, i, n, final: final) {
            case .scalar(let s, let l): scalar = s; length = l
            case .needMore:
                appendUnchanged(UnsafeBufferPointer(rebasing: bytes[runStart..<i]), start: base + runStart)
                return i
            }
            // Unchanged: the folding leaves it alone and it decoded from a well-formed sequence
            // (an ill-formed byte decodes as U+FFFD, which is 3 bytes, not 1).
            if length == Unicode.Scalar(scalar).map(UTF8.width) && (folding?.leavesUnchanged(scalar) ?? true) {
                i += length
                continue
            }
            appendUnchanged(UnsafeBufferPointer(rebasing: bytes[runStart..<i]), start: base + runStart)
            if exact { materializeOrigins() }
            let start = base + i, stop = base + i + length
            if let folding {
                folding.fold(scalar) { appendScalar($0, start: start, end: stop) }
            } else {
                appendScalar(scalar, start: start, end: stop)
            }
            i += length
            runStart = i
        }
        appendUnchanged(UnsafeBufferPointer(rebasing: bytes[runStart..<i]), start: base + runStart)
        return i
    }

    /// Stream offset where window byte `k`'s scalar starts / ends. (For a byte inside an
    /// unchanged multi-byte scalar the end is approximate, but ends are only read at a scalar's
    /// last byte, where it is exact.) Read on matches and holds only, never per byte.
    func originStart(_ k: Int) -> Int { exact ? windowBase + k : origin(windowBase + k).start }
    func originEnd(_ k: Int) -> Int { exact ? windowBase + k + 1 : origin(windowBase + k).end }

    private func origin(_ position: Int) -> (start: Int, end: Int) {
        // The last segment starting at or before `position` (there is one: segments cover the window).
        var lo = 0, hi = segments.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if segments[mid].windowStart <= position { lo = mid } else { hi = mid - 1 }
        }
        let s = segments[lo]
        if let end = s.foldedEnd { return (s.streamStart, end) }
        let start = s.streamStart + (position - s.windowStart)
        return (start, start + 1)
    }

    /// Appends bytes that are their own folding (whole scalars), starting at stream offset `start`.
    @inline(__always)
    private mutating func appendUnchanged(_ run: UnsafeBufferPointer<UInt8>, start: Int) {
        guard !run.isEmpty else { return }
        if !exact {
            let position = windowBase + window.count
            let continues = segments.last.map { $0.foldedEnd == nil && $0.streamStart + (position - $0.windowStart) == start } ?? false
            if !continues { segments.append(OriginSegment(windowStart: position, streamStart: start, foldedEnd: nil)) }
        }
        window.append(contentsOf: run)
    }

    /// Leaves exact mode: so far window space and stream space coincide.
    private mutating func materializeOrigins() {
        exact = false
        segments = [OriginSegment(windowStart: windowBase, streamStart: windowBase, foldedEnd: nil)]
    }

    @inline(__always)
    private mutating func appendScalar(_ scalar: UInt32, start: Int, end: Int) {
        let position = windowBase + window.count
        // A scalar folded into several appends them one by one, all from the same stream range.
        if let last = segments.last, last.foldedEnd == end && last.streamStart == start {} else {
            segments.append(OriginSegment(windowStart: position, streamStart: start, foldedEnd: end))
        }
        let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        UTF8.encode(u, into: { window.append($0) })
    }


    /// Runs every rule over the window; reports complete (and validated) matches and returns
    /// the stream offset before which nothing can still match. `armed`, given only for a whole
    /// text, lists the anchored rules whose anchors occur in it; the other anchored rules cannot
    /// match and are not run, nor are rules whose `digit_run:` is longer than the text's longest
    /// run of digits. (A stream runs every rule: a match may begin before its anchor or its
    /// digits have arrived.)
    mutating func scan(final: Bool, armed: [Int32]? = nil, lexicons: LexiconSet, into matches: inout [Match]) -> Int {
        let windowEnd = windowBase + window.count
        window.withUnsafeBufferPointer { subject in
            // Counted once per whole text, and only when a number rule asks.
            var digitRun: Int?
            for r in rules.indices {
                let rule = rules[r]
                var skip = false
                if let armed {
                    if rule.anchored && !armed.contains(rule.rule) { skip = true }
                    else if rule.digitRun > 0 {
                        if digitRun == nil { digitRun = DigitRun.longest(in: subject, enough: largestDigitRun) }
                        skip = digitRun! < rule.digitRun
                    }
                }
                if skip {
                    cursors[r] = windowEnd
                    holds[r] = windowEnd
                    continue
                }
                var cursor = max(cursors[r], windowBase)
                holds[r] = windowEnd
                while cursor <= windowEnd {
                    let result = rule.pattern.match(subject, from: cursor - windowBase, group: rule.group, partial: !final, data: matchData)
                    switch result {
                    case .match(let whole, let group):
                        if let group, !group.isEmpty, rule.validator?.validate(subject[group]) ?? true {
                            matches.append(Match(rule: Int(rule.rule),
                                                 range: originStart(group.lowerBound)..<originEnd(group.upperBound - 1),
                                                 line: lexicons.rules[Int(rule.rule)].source.line))
                        }
                        cursor = windowBase + (whole.isEmpty ? whole.upperBound + 1 : whole.upperBound)
                        continue
                    case .partial(let start):
                        if windowEnd - (windowBase + start) > Self.maximumHold {
                            cursor = windowEnd - Self.maximumHold
                            continue
                        }
                        cursor = windowBase + start
                        holds[r] = cursor
                    case .noMatch:
                        cursor = windowEnd
                    case .error:
                        // A matching error (resource limit) fails closed: the rule counts as
                        // having matched the text it could not finish examining.
                        if cursor < windowEnd {
                            matches.append(Match(rule: Int(rule.rule),
                                                 range: originStart(cursor - windowBase)..<originEnd(window.count - 1),
                                                 line: lexicons.rules[Int(rule.rule)].source.line))
                        }
                        cursor = windowEnd
                    }
                    break
                }
                cursors[r] = min(cursor, windowEnd)
            }
        }
        let hold = holds.min() ?? windowEnd
        let settled = hold >= windowEnd ? end : originStart(hold - windowBase)
        // Drop the window up to the earliest cursor, keeping enough for lookbehinds.
        let keepFrom = max(windowBase, (cursors.min() ?? windowEnd) - lookbehindBytes)
        let drop = keepFrom - windowBase
        if drop > 4096 || (drop > 0 && drop * 2 > window.count) {
            window.removeFirst(drop)
            if !exact, let first = segments.lastIndex(where: { $0.windowStart <= keepFrom }), first > 0 {
                segments.removeFirst(first)      // the segment holding `keepFrom` stays
            }
            windowBase = keepFrom
        }
        return settled
    }

    /// For a scanner with no rules at all: where an incomplete trailing sequence starts.
    static func completePrefix(_ bytes: UnsafeBufferPointer<UInt8>, final: Bool) -> Int {
        guard let p = bytes.baseAddress else { return 0 }
        var i = 0
        while i < bytes.count {
            switch UTF8Scalar.decode(p, i, bytes.count, final: final) {
            case .scalar(_, let l): i += l
            case .needMore: return i
            }
        }
        return i
    }
}

/// Where a run of window bytes came from (see `RegexChannel.segments`).
struct OriginSegment: Sendable {
    /// Window-space offset of the run's first byte.
    let windowStart: Int
    /// Stream offset of the first byte's scalar.
    let streamStart: Int
    /// For the bytes of one folded scalar: the end of its stream range (every byte maps to
    /// `streamStart..<foldedEnd`). Nil for a run copied unchanged, byte for byte.
    let foldedEnd: Int?
}
