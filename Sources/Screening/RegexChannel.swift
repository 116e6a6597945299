import Normalization

/// Regex rules over a stream: a window of not-yet-settled text (folded for width and invisible
/// characters, or raw), rescanned from each rule's cursor on every piece with
/// `PCRE2_PARTIAL_HARD`, which says where a match could still be completing.
struct RegexChannel: Sendable {
    let rules: [CompiledRegex]
    let folding: FoldTable?
    let matchData: PCRE2Pattern.MatchData
    /// The folding maps every ASCII byte to itself (so ASCII runs are copied as they are).
    let asciiUnchanged: Bool
    /// Window bytes and, per byte, the original stream range of the scalar it came from.
    var window: [UInt8] = []
    /// While nothing appended so far was changed by folding, window byte `k` *is* stream byte
    /// `windowBase + k` and the origin arrays stay empty: most texts (no full-width forms, no
    /// invisible characters) never pay for them. The first changed scalar fills them in.
    var exact = true
    var originStart: [Int] = []
    var originEnd: [Int] = []
    /// Window-space offset of `window[0]` (window-space grows monotonically).
    var windowBase = 0
    /// Per rule: where the next search starts, and where a partial match holds text back.
    var cursors: [Int]
    var holds: [Int]
    let lookbehindBytes: Int
    /// Stream offset just after the last scalar appended.
    var end = 0

    /// A partial match longer than this is given up on (and the text released), so a stream
    /// cannot make Menshen hold unbounded text. Generous next to any real identifier or key.
    static let maximumHold = 64 * 1024

    init(rules: [CompiledRegex], folding: FoldTable?) {
        self.rules = rules
        self.folding = folding
        // One scratch block serves every rule: each match call's result is read before the next.
        self.matchData = PCRE2Pattern.MatchData(pairs: (rules.map(\.pattern.captureCount).max() ?? 0) + 1)
        self.asciiUnchanged = folding?.asciiIsIdentity ?? true
        cursors = Array(repeating: 0, count: rules.count)
        holds = Array(repeating: 0, count: rules.count)
        lookbehindBytes = (rules.map(\.pattern.maxLookbehind).max() ?? 0) * 4
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

    /// Stream offset where window byte `k`'s scalar starts / ends.
    @inline(__always) func originStart(_ k: Int) -> Int { exact ? windowBase + k : originStart[k] }
    @inline(__always) func originEnd(_ k: Int) -> Int { exact ? windowBase + k + 1 : originEnd[k] }

    /// Appends bytes that are their own folding (whole scalars), starting at stream offset `start`.
    @inline(__always)
    private mutating func appendUnchanged(_ run: UnsafeBufferPointer<UInt8>, start: Int) {
        guard !run.isEmpty else { return }
        window.append(contentsOf: run)
        guard !exact else { return }
        originStart.append(contentsOf: start..<(start + run.count))
        originEnd.append(contentsOf: (start + 1)...(start + run.count))
    }

    /// Leaves exact mode: writes out the identity mapping of the window so far. (For a byte
    /// inside a multi-byte scalar the end is approximate, but ends are only read at a scalar's
    /// last byte, where it is exact.)
    private mutating func materializeOrigins() {
        exact = false
        originStart = Array(windowBase..<(windowBase + window.count))
        originEnd = Array((windowBase + 1)..<(windowBase + window.count + 1))
        originStart.reserveCapacity(window.capacity)
        originEnd.reserveCapacity(window.capacity)
    }

    @inline(__always)
    private mutating func appendScalar(_ scalar: UInt32, start: Int, end: Int) {
        let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        UTF8.encode(u, into: { window.append($0) })
        for _ in 0..<UTF8.width(u) {
            originStart.append(start)
            originEnd.append(end)
        }
    }


    /// Runs every rule over the window; reports complete (and validated) matches and returns
    /// the stream offset before which nothing can still match. `armed`, given only for a whole
    /// text, lists the anchored rules whose anchors occur in it; the other anchored rules cannot
    /// match and are not run.
    mutating func scan(final: Bool, armed: [Int32]? = nil, lexicons: LexiconSet, into matches: inout [Match]) -> Int {
        let windowEnd = windowBase + window.count
        window.withUnsafeBufferPointer { subject in
            for r in rules.indices {
                let rule = rules[r]
                if rule.anchored, let armed, !armed.contains(rule.rule) {
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
            if !exact {
                originStart.removeFirst(drop)
                originEnd.removeFirst(drop)
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
