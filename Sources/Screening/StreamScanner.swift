import AhoCorasick
import Normalization

/// Scans text that arrives in pieces, carrying automaton, normalization and regex state across
/// chunk boundaries, and says after each piece how much of the text is *settled* — can no
/// longer be part of any match.
///
/// For any split of a text (1-byte chunks, splits inside UTF-8 sequences, inside a term,
/// inside noise) the matches are the same as for the whole text: whole-text scanning is this
/// scanner fed once and finished.
///
/// ```swift
/// var scanner = StreamScanner(lexicons: lexicons, direction: .output)
/// let a = scanner.feed(Array("稳 赚".utf8))    // a.settled == 0: "稳 赚" may be the start of a term
/// let b = scanner.feed(Array("不赔。".utf8))    // b.matches has finance.guaranteed-returns
/// let end = scanner.finish()
/// ```
public struct StreamScanner: Sendable {
    public let lexicons: LexiconSet
    public let direction: Direction
    var profiles: [ProfileScan]
    var regex: [RegexChannel]
    /// Bytes of an incomplete UTF-8 sequence at the end of the last chunk.
    var carry: [UInt8] = []
    /// Scratch for joining `carry` with the next piece (kept for its capacity).
    var joined: [UInt8] = []
    /// Stream offset of the first byte not yet decoded (the start of `carry`).
    var decodedUpTo = 0
    var isFinished = false
    /// Whether `feed` has been called: a scanner finished without it scans one whole text,
    /// and only then may anchored regex rules be skipped (see `CompiledRegex.anchored`).
    var hasFed = false
    /// The text context clauses read, and the matches waiting for text after them; nil when no
    /// rule of this direction has clauses (then a stream keeps no text at all).
    var context: ContextHold?
    /// Indices of the profiles with the markup step.
    let markupProfiles: [Int]
    /// The markup reading, while the text has markup in it (see ``MarkupReading``).
    var markup: MarkupReading?
    /// Matches reported while both readings ran, until the stream settles past them: the later
    /// reading's copy of a match is not reported twice.
    var reported: [Match] = []

    /// What a stream keeps for context clauses.
    struct ContextHold: Sendable {
        /// The stream's bytes from offset `base` on (trimmed as the stream settles).
        var history: [UInt8] = []
        var base = 0
        /// Matches whose clauses read text after them that has not arrived yet.
        var held: [Match] = []
        /// Bytes kept before the earliest offset a future match may start at.
        let keepBytes: Int
    }

    public init(lexicons: LexiconSet, direction: Direction) {
        self.lexicons = lexicons
        self.direction = direction
        let plan = lexicons.plan(for: direction)
        profiles = plan.profiles
        regex = plan.regex
        for i in regex.indices { regex[i].useOwnScratch() }
        markupProfiles = plan.markupProfiles
        let d = direction == .input ? 0 : 1
        if lexicons.hasContexts[d] { context = ContextHold(keepBytes: lexicons.contextReach[d].before * 4 + 4) }
    }

    /// The stream offset up to which bytes have been fed.
    public var offset: Int { decodedUpTo + carry.count }

    /// Scans the next piece of the stream.
    ///
    /// Per-piece overhead matters (a proxy feeds tokens of a few bytes, the benchmark 64-byte
    /// pieces of text that is mostly 3-byte CJK, so two pieces in three end inside a UTF-8
    /// sequence): the carry and the joined buffer keep their capacity across pieces, so a
    /// piece costs no allocation unless it produces matches.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> ScanProgress {
        precondition(!isFinished, "StreamScanner.feed after finish")
        hasFed = true
        var matches: [Match] = []
        let bytes = chunk.bindMemory(to: UInt8.self)
        if context != nil { context!.history.append(contentsOf: bytes) }
        if carry.isEmpty {
            let stop = scan(bytes, base: decodedUpTo, final: false, into: &matches)
            if stop < bytes.count { carry.append(contentsOf: bytes[stop...]) }
            decodedUpTo += stop
        } else {
            // The previous piece ended inside a UTF-8 sequence: join it with this piece.
            joined.removeAll(keepingCapacity: true)
            joined.append(contentsOf: carry)
            joined.append(contentsOf: bytes)
            carry.removeAll(keepingCapacity: true)
            var stop = 0
            let joined = self.joined
            self.joined = []
            joined.withUnsafeBufferPointer { stop = scan($0, base: decodedUpTo, final: false, into: &matches) }
            if stop < joined.count { carry.append(contentsOf: joined[stop...]) }
            self.joined = joined
            decodedUpTo += stop
        }
        var settled = settle(final: false, into: &matches)
        if !markupProfiles.isEmpty {
            removeDuplicateMatches(&matches, settled: settled)
            stopMarkupReadingIfQuiet()
        }
        var allowed: [Match] = []
        if context != nil { applyContexts(&matches, allowed: &allowed, settled: &settled, final: false, whole: nil) }
        return ScanProgress(matches: matches, settled: settled, allowed: allowed)
    }

    /// Scans the next piece of the stream.
    public mutating func feed(_ chunk: [UInt8]) -> ScanProgress {
        chunk.withUnsafeBytes { feed($0) }
    }

    /// Ends the stream: decides everything still pending. `settled` is then the stream's length.
    public mutating func finish() -> ScanProgress {
        finish(appending: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Feeds the last piece and ends the stream in one step. For a whole text this is the
    /// cheaper call: the regex rules run once, in complete-match mode (partial matching turns
    /// off PCRE2's start-of-match and required-character optimizations).
    public mutating func finish(appending chunk: UnsafeRawBufferPointer) -> ScanProgress {
        precondition(!isFinished, "StreamScanner.finish twice")
        var matches: [Match] = []
        let bytes = chunk.bindMemory(to: UInt8.self)
        if !carry.isEmpty || !bytes.isEmpty {
            var tail = carry
            carry = []
            let stop: Int
            if tail.isEmpty {
                stop = scan(bytes, base: decodedUpTo, final: true, into: &matches)
            } else {
                tail.append(contentsOf: bytes)
                stop = tail.withUnsafeBufferPointer { scan($0, base: decodedUpTo, final: true, into: &matches) }
            }
            decodedUpTo += stop
        }
        isFinished = true
        if markup != nil {
            // Whatever the markup decoder still holds is text now.
            markup!.run(UnsafeBufferPointer(start: nil, count: 0), base: decodedUpTo, final: true, lexicons: lexicons, into: &matches)
            markup!.finish(direction: direction, lexicons: lexicons, into: &matches)
        }
        for i in profiles.indices { profiles[i].finish(direction: direction, lexicons: lexicons, into: &matches) }
        var settled = settle(final: true, wholeText: !hasFed, into: &matches)
        if !markupProfiles.isEmpty { removeDuplicateMatches(&matches, settled: settled) }
        var allowed: [Match] = []
        if context != nil {
            if hasFed {
                context!.history.append(contentsOf: bytes)
                applyContexts(&matches, allowed: &allowed, settled: &settled, final: true, whole: nil)
            } else {
                applyContexts(&matches, allowed: &allowed, settled: &settled, final: true, whole: bytes)
            }
        }
        return ScanProgress(matches: matches, settled: settled, allowed: allowed)
    }

    /// Decides the context of every new match of a rule with clauses (and of matches held for
    /// text after them): a clause's action is recorded in the match, an allowing clause moves it
    /// to `allowed`, and a match whose clauses need text that has not arrived is held, with
    /// `settled` kept before it. `whole` is the text when it was scanned in one piece.
    private mutating func applyContexts(_ matches: inout [Match], allowed: inout [Match], settled: inout Int, final: Bool,
                                        whole: UnsafeBufferPointer<UInt8>?) {
        guard var hold = context else { return }
        context = nil
        defer { context = hold }
        let ruleContexts = lexicons.ruleContexts
        var candidates = hold.held
        hold.held.removeAll()
        var decided: [Match] = []
        decided.reserveCapacity(matches.count)
        for m in matches {
            if ruleContexts[m.rule].isEmpty { decided.append(m) } else { candidates.append(m) }
        }
        for m in candidates {
            let outcome: ContextEvaluator.Outcome
            if let whole {
                outcome = ContextEvaluator.evaluate(ruleContexts[m.rule], clauses: lexicons.contexts, match: m.range, text: whole, base: 0, final: final)
            } else {
                outcome = hold.history.withUnsafeBufferPointer {
                    ContextEvaluator.evaluate(ruleContexts[m.rule], clauses: lexicons.contexts, match: m.range, text: $0, base: hold.base, final: final)
                }
            }
            switch outcome {
            case .needMore:
                hold.held.append(m)
            case .decided(nil):
                decided.append(m)
            case .decided(let clause?):
                var changed = m
                changed.context = clause
                if lexicons.contexts[Int(clause)].action == nil { allowed.append(changed) } else { decided.append(changed) }
            }
        }
        matches = decided
        if let earliest = hold.held.lazy.map(\.range.lowerBound).min() { settled = min(settled, earliest) }
        guard whole == nil else { return }
        // Keep what a later match's clauses may read before it: every future match starts at or
        // after `settled`. Trimmed in large steps (removing a prefix moves the rest).
        let keepFrom = max(hold.base, settled - hold.keepBytes)
        if keepFrom - hold.base >= max(4096, hold.history.count / 2) {
            hold.history.removeFirst(keepFrom - hold.base)
            hold.base = keepFrom
        }
    }

    /// Runs every profile and regex channel over `bytes`; returns where decoding stopped (the
    /// start of an incomplete trailing sequence, or the end).
    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, into matches: inout [Match]) -> Int {
        var stop = bytes.count
        if !markupProfiles.isEmpty { startMarkupReading(ifNeededFor: bytes, base: base) }
        for i in profiles.indices {
            stop = profiles[i].run(bytes, base: base, final: final, lexicons: lexicons, into: &matches)
        }
        if markup != nil {
            // The plain reading decoded up to `stop`; the markup reading reads exactly that much.
            markup!.run(UnsafeBufferPointer(rebasing: bytes[..<min(stop, bytes.count)]), base: base, final: final, lexicons: lexicons, into: &matches)
        }
        for i in regex.indices {
            stop = regex[i].append(bytes, base: base, final: final)
        }
        if profiles.isEmpty && regex.isEmpty {
            stop = RegexChannel.completePrefix(bytes, final: final)
        }
        return stop
    }

    private mutating func settle(final: Bool, wholeText: Bool = false, into matches: inout [Match]) -> Int {
        var settled = decodedUpTo
        for i in profiles.indices {
            settled = min(settled, profiles[i].settle(final: final, end: decodedUpTo, into: &matches))
        }
        // In a stream, a match may begin before its anchor has arrived, so every rule runs; over
        // a whole text the automaton has seen every anchor there is before any rule runs.
        var armed: [Int32]? = nil
        if wholeText {
            armed = profiles.count == 1 ? profiles[0].armed : profiles.flatMap(\.armed)
            if let reading = markup { armed! += reading.profiles.flatMap(\.armed) }
        }
        if markup != nil { settled = min(settled, markup!.settle(final: final, armed: armed, lexicons: lexicons, into: &matches)) }
        for i in regex.indices {
            settled = min(settled, regex[i].scan(final: final, armed: armed, lexicons: lexicons, into: &matches))
        }
        return final ? decodedUpTo : settled
    }
}

// MARK: - Lexicon automata

/// One profile's automaton state within a stream.
struct ProfileScan: Sendable {
    /// A pattern seen ending at `end`, waiting for the next character to check its right edge.
    struct Candidate: Sendable {
        let pattern: Int32
        let start: Int
        let end: Int
        let previousIsWord: Bool
    }
    /// A rule's match that passed its boundary checks.
    struct Resolved: Sendable {
        let rule: Int32
        let start: Int
        let end: Int
        let line: Int32
    }

    let profile: CompiledProfile
    let active: [Bool]
    /// States that can still complete a pattern of an active rule (see `CompiledProfile.liveStates`).
    let live: StateSet
    /// The subset of `live` that can complete a pattern needing no left word boundary.
    let open: StateSet
    let hasExceptions: [Bool]
    var state: Int32 = Automaton.root
    /// Ring of the last symbols' (original start << 1 | previous-character-is-word).
    var ring: [Int]
    let ringMask: Int
    var position = 0
    var lastWasWord = false
    /// Stream offset just after the last decoded scalar.
    var end = 0
    var pending: [Candidate] = []
    /// Anchored regex rules one of whose anchors has been seen (usually none, or a few).
    var armed: [Int32] = []
    var awaiting: [Resolved] = []
    var exceptions: [Resolved] = []

    init(profile: CompiledProfile, active: [Bool], live: StateSet, open: StateSet, hasExceptions: [Bool]) {
        self.profile = profile
        self.active = active
        self.live = live
        self.open = open
        self.hasExceptions = hasExceptions
        var size = 1
        while size <= profile.automaton.maximumPatternLength + 1 { size <<= 1 }
        ring = [Int](repeating: 0, count: size)
        ringMask = size - 1
    }

    /// The hot loop: decode, classify, step the automaton. Rare events (a pattern ends, a
    /// boundary check is due) leave the loop through non-inlined calls.
    mutating func run(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, lexicons: LexiconSet, into matches: inout [Match]) -> Int {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return 0 }
        let n = bytes.count
        var i = 0
        var state = self.state
        var position = self.position
        var lastWasWord = self.lastWasWord
        let ringMask = self.ringMask
        // Copies of just what the loop reads (each copy is a retain and a release per piece, and
        // streams feed many small pieces); the rare paths below read `self.profile` themselves.
        let automaton = profile.automaton
        let classes = profile.classes
        // The ring is moved out of `self` for the loop, so that the rare-path methods below can
        // mutate `self` without overlapping the ring's access.
        var ringStorage: [Int] = []
        swap(&ringStorage, &ring)
        defer { swap(&ringStorage, &ring) }
        automaton.withTables { tables in
            ringStorage.withUnsafeMutableBufferPointer { ringBuffer in
                let ring = ringBuffer.baseAddress!
                classes.bmp.withUnsafeBufferPointer { bmpBuffer in
                    let bmp = bmpBuffer.baseAddress!
                    @inline(__always) func feedSymbol(_ entry: UInt32, start: Int, end: Int) {
                        if !pending.isEmpty { resolvePending(nextIsWord: ScalarClassTable.isWord(entry), lexicons: lexicons, into: &matches) }
                        let symbol = ScalarClassTable.payload(entry)
                        if symbol == 0 {
                            state = Automaton.root
                        } else {
                            ring[position & ringMask] = start << 1 | (lastWasWord ? 1 : 0)
                            position &+= 1
                            state = tables.next(state, symbol)
                            let report = tables.report(state)
                            if report >= 0 { found(report, tables: tables, ring: ring, position: position, end: end) }
                        }
                        lastWasWord = ScalarClassTable.isWord(entry)
                    }
                    while i < n {
                        let scalar: UInt32
                        let length: Int
                        let b0 = p[i]
                        if b0 < 0x80 {
                            scalar = UInt32(b0); length = 1
                        } else {
                            switch UTF8Scalar.decode(p, i, n, final: final) {
                            case .scalar(let s, let l): scalar = s; length = l
                            case .needMore: return
                            }
                        }
                        let entry = scalar < 0x10000 ? bmp[Int(scalar)] : classes.astralEntry(scalar)
                        let start = base + i
                        i += length
                        switch ScalarClassTable.kind(entry) {
                        case 0:
                            feedSymbol(entry, start: start, end: base + i)
                        case 1:
                            if !pending.isEmpty { resolvePending(nextIsWord: false, lexicons: lexicons, into: &matches) }
                            lastWasWord = false
                        case 2:
                            break
                        default:
                            let at = Int(ScalarClassTable.payload(entry))
                            let count = Int(classes.expansions[at])
                            for k in 0..<count {
                                let element = classes.expansions[at + 1 + k]
                                if ScalarClassTable.kind(element) == 0 {
                                    feedSymbol(element, start: start, end: base + i)
                                } else if ScalarClassTable.kind(element) == 1 {
                                    if !pending.isEmpty { resolvePending(nextIsWord: false, lexicons: lexicons, into: &matches) }
                                    lastWasWord = false
                                }
                            }
                        }
                    }
                }
            }
        }
        self.state = state
        self.position = position
        self.lastWasWord = lastWasWord
        self.end = base + i
        return i
    }

    @inline(never)
    mutating func found(_ report: Int32, tables: Automaton.Tables, ring: UnsafeMutablePointer<Int>, position: Int, end: Int) {
        var r = report
        while r >= 0 {
            let pattern = tables.pattern(at: r)
            let length = Int(profile.automaton.patternLengths[Int(pattern)])
            let packed = ring[(position - length) & ringMask]
            let previousIsWord = packed & 1 != 0
            // Only a candidate some active entry can still accept waits for its right edge: the
            // others (another direction's rule, a left boundary already failed) would hold text
            // back that `liveDepth()` has already released.
            let lo = Int(profile.entryStart[Int(pattern)]), hi = Int(profile.entryStart[Int(pattern) + 1])
            var waits = false
            for e in profile.entries[lo..<hi] where active[Int(e.rule)] {
                if e.isAnchor {
                    if !armed.contains(e.rule) { armed.append(e.rule) }
                } else if !(e.needsLeftBoundary && previousIsWord) {
                    waits = true
                }
            }
            if waits { pending.append(Candidate(pattern: pattern, start: packed >> 1, end: end, previousIsWord: previousIsWord)) }
            r = tables.nextReport(after: r)
        }
    }

    /// The character after the pending candidates is known: check right edges and sort the
    /// survivors into matches, exceptions, and matches that wait for exceptions.
    @inline(never)
    mutating func resolvePending(nextIsWord: Bool, lexicons: LexiconSet, into matches: inout [Match]) {
        for c in pending {
            let lo = Int(profile.entryStart[Int(c.pattern)]), hi = Int(profile.entryStart[Int(c.pattern) + 1])
            for e in profile.entries[lo..<hi] where active[Int(e.rule)] && !e.isAnchor {
                if e.needsLeftBoundary && c.previousIsWord { continue }
                if e.needsRightBoundary && nextIsWord { continue }
                let resolved = Resolved(rule: e.rule, start: c.start, end: c.end, line: e.line)
                if e.isException {
                    exceptions.append(resolved)
                } else if hasExceptions[Int(e.rule)] {
                    awaiting.append(resolved)
                } else {
                    matches.append(Match(rule: Int(e.rule), range: c.start..<c.end, line: Int(e.line)))
                }
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// No automaton state and no candidate: what follows is read as if from the start.
    var isQuiet: Bool { state == Automaton.root && pending.isEmpty && awaiting.isEmpty }

    mutating func finish(direction: Direction, lexicons: LexiconSet, into matches: inout [Match]) {
        if !pending.isEmpty { resolvePending(nextIsWord: false, lexicons: lexicons, into: &matches) }
        state = Automaton.root
    }

    /// How many of the most recent symbols may still become the start of a match: the longest
    /// suffix of the text that is a prefix of a pattern of an active rule, skipping suffixes
    /// that begin right after a word character when every such pattern needs a left boundary
    /// (their match would be refused at that start anyway). Once per piece, never per character.
    func liveDepth() -> Int {
        let automaton = profile.automaton
        var s = state
        while s != Automaton.root {
            if live.contains(s) {
                let depth = automaton.depth(of: s)
                let startsAfterWord = ring[(position - depth) & ringMask] & 1 != 0
                if !startsAfterWord || open.contains(s) { return depth }
            }
            s = automaton.failure(of: s)
        }
        return 0
    }

    /// Releases matches no exception can still suppress; returns the earliest offset still in
    /// flight (a live automaton prefix, or a match not yet decided).
    mutating func settle(final: Bool, end streamEnd: Int, into matches: inout [Match]) -> Int {
        let liveDepth = self.liveDepth()
        let liveStart = final || liveDepth == 0 ? streamEnd : ring[(position - liveDepth) & ringMask] >> 1
        if !awaiting.isEmpty {
            let pendingStart = pending.map(\.start).min() ?? Int.max
            var waiting: [Resolved] = []
            for m in awaiting {
                let suppressed = exceptions.contains { $0.rule == m.rule && $0.start <= m.start && $0.end >= m.end }
                if suppressed { continue }
                if !final && (m.start >= liveStart || pendingStart <= m.start) {
                    waiting.append(m)
                } else {
                    matches.append(Match(rule: Int(m.rule), range: m.start..<m.end, line: Int(m.line)))
                }
            }
            awaiting = waiting
        }
        if awaiting.isEmpty && pending.isEmpty { exceptions.removeAll(keepingCapacity: true) }
        var settled = liveStart
        for c in pending { settled = min(settled, c.start) }
        for m in awaiting { settled = min(settled, m.start) }
        return settled
    }
}
