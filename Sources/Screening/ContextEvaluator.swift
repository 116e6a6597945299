import Normalization

/// How context clauses read text: folded for width, case, Traditional → Simplified and CJK
/// variants, invisible characters dropped, and every run of white space one space. Cue phrases
/// and the text around a match are read alike.
enum ContextText {
    static let steps: NormalizationSteps = [.invisible, .width, .caseFold, .traditionalToSimplified]

    /// A cue phrase as it is compared.
    static func normalize(_ phrase: String) -> [UInt32] {
        var out: [UInt32] = []
        for scalar in phrase.unicodeScalars { append(scalar.value, to: &out) }
        while out.last == 0x20 { out.removeLast() }
        return out
    }

    /// Folds one scalar of text onto `out`, collapsing white space.
    static func append(_ scalar: UInt32, to out: inout [UInt32]) {
        for folded in UnicodeFolding.shared.fold(scalar, steps: steps) {
            if isSpace(folded) {
                if let last = out.last, last != 0x20 { out.append(0x20) }
            } else {
                out.append(folded)
            }
        }
    }

    static func isSpace(_ s: UInt32) -> Bool {
        s == 0x20 || s == 0x09 || s == 0xA0 || s == 0x3000 || (0x2000...0x200A).contains(s) || s == 0x0B || s == 0x0C
    }

    /// Ends a sentence: windows never reach across one. A full stop counts only before white
    /// space or the end, so "8.5%" and "e.g." inside a sentence do not end it.
    static func endsSentence(_ s: UInt32, next: UInt32?) -> Bool {
        switch s {
        case 0x3002, 0xFF01, 0xFF1F, 0x21, 0x3F, 0xFF1B, 0x3B, 0x0A, 0x0D, 0x2029, 0x2028, 0xFF61: return true
        case 0x2E: return next == nil || next.map(isSpace) == true || next == 0x0A
        default: return false
        }
    }

    static func isQuestionMark(_ s: UInt32) -> Bool { s == 0x3F || s == 0xFF1F }

    /// Opening quotation marks (the ASCII `"` both opens and closes; the apostrophe is not a
    /// quotation mark here: "can't" would open a quotation).
    static func opensQuote(_ s: UInt32) -> Bool {
        switch s {
        case 0x201C, 0x300C, 0x300E, 0x300A, 0x2018, 0x00AB, 0x3008, 0x22, 0xFF02, 0x301D, 0x2039: return true
        default: return false
        }
    }
    static func closesQuote(_ s: UInt32) -> Bool {
        switch s {
        case 0x201D, 0x300D, 0x300F, 0x300B, 0x2019, 0x00BB, 0x3009, 0x22, 0xFF02, 0x301E, 0x301F, 0x203A: return true
        default: return false
        }
    }
}

/// Decides which context clause, if any, applies to a match, from the text around it.
struct ContextEvaluator {
    /// What a match's surroundings decided.
    enum Outcome: Equatable {
        /// Clause `index` (into ``LexiconSet/contexts``) applies, or none (`nil`): the rule's own action.
        case decided(Int32?)
        /// The text after the match that a clause reads has not arrived yet.
        case needMore
    }

    /// The scalars of one side of a match, nearest last (before) or nearest first (after).
    struct Side {
        /// Raw scalars, in text order.
        var raw: [UInt32] = []
        /// Folded text, in text order (cues are looked for in it).
        var folded: [UInt32] = []
        /// The scalar that ended the sentence (after side only).
        var terminator: UInt32?
        /// Whether the side holds all it may need (enough scalars, a sentence end, or the end of the text).
        var complete = false
    }

    /// Evaluates the clauses `clauseIndices` (into `clauses`, in order) for a match at `range` of a text whose bytes
    /// `text[0..<count]` start at stream offset `base`. `final`: nothing follows `text`.
    static func evaluate(_ clauseIndices: [Int32], clauses: [ContextClause], match: Range<Int>,
                         text: UnsafeBufferPointer<UInt8>, base: Int, final: Bool) -> Outcome {
        var lookbehind = 0, lookahead = 0
        for i in clauseIndices {
            lookbehind = max(lookbehind, clauses[Int(i)].lookbehind)
            lookahead = max(lookahead, clauses[Int(i)].lookahead)
        }
        let after = lookahead > 0 ? afterSide(text, from: match.upperBound - base, limit: lookahead, final: final) : Side(complete: true)
        if !after.complete { return .needMore }
        let before = lookbehind > 0 ? beforeSide(text, to: match.lowerBound - base, limit: lookbehind) : Side()
        for i in clauseIndices where holds(clauses[Int(i)], before: before, after: after) {
            return .decided(i)
        }
        return .decided(nil)
    }

    static func holds(_ c: ContextClause, before: Side, after: Side) -> Bool {
        if let w = c.before, !cueBefore(w, before) { return false }
        if let w = c.notBefore, cueBefore(w, before) { return false }
        if let w = c.after, !cueAfter(w, after) { return false }
        if let w = c.notAfter, cueAfter(w, after) { return false }
        if let n = c.quoted, !isQuoted(before: before, after: after, within: n) { return false }
        if let n = c.question {
            guard let t = after.terminator, ContextText.isQuestionMark(t), after.raw.count <= n else { return false }
        }
        return true
    }

    /// A cue ends at most `within` folded characters before the match.
    static func cueBefore(_ w: CueWindow, _ side: Side) -> Bool {
        let text = side.folded
        let lowest = w.stops.isEmpty ? 0 : (text.lastIndex { w.stops.contains($0) }.map { $0 + 1 } ?? 0)
        for cue in w.cues where cue.count <= text.count {
            var end = text.count
            while end - cue.count >= lowest && text.count - end <= w.within {
                if occurs(cue, in: text, at: end - cue.count) && !insideException(w, text, end - cue.count..<end) { return true }
                end -= 1
            }
        }
        return false
    }

    /// A cue starts at most `within` folded characters after the match.
    static func cueAfter(_ w: CueWindow, _ side: Side) -> Bool {
        let text = side.folded
        let highest = w.stops.isEmpty ? text.count : (text.firstIndex { w.stops.contains($0) } ?? text.count)
        for cue in w.cues where cue.count <= text.count {
            var start = 0
            while start + cue.count <= highest && start <= w.within {
                if occurs(cue, in: text, at: start) && !insideException(w, text, start..<(start + cue.count)) { return true }
                start += 1
            }
        }
        return false
    }

    /// Whether `cue` occurs at `start` of `text`. A cue edge that is a letter or digit must not
    /// touch a letter or digit of the text ("no" is not a cue inside "know", "our" not inside
    /// "neighbour"), as term edges work under `@word-boundary: auto`; Chinese edges need nothing.
    static func occurs(_ cue: [UInt32], in text: [UInt32], at start: Int) -> Bool {
        let end = start + cue.count
        guard text[start..<end].elementsEqual(cue) else { return false }
        if UnicodeFolding.isWordCharacter(cue[0]) && start > 0 && UnicodeFolding.isWordCharacter(text[start - 1]) { return false }
        if UnicodeFolding.isWordCharacter(cue[cue.count - 1]) && end < text.count && UnicodeFolding.isWordCharacter(text[end]) { return false }
        return true
    }

    static func insideException(_ w: CueWindow, _ text: [UInt32], _ occurrence: Range<Int>) -> Bool {
        for e in w.exceptions where e.count >= occurrence.count {
            let lo = max(0, occurrence.upperBound - e.count), hi = min(occurrence.lowerBound, text.count - e.count)
            guard lo <= hi else { continue }
            for s in lo...hi where occurs(e, in: text, at: s) { return true }
        }
        return false
    }

    /// An opening quotation mark at most `within` characters before the match with no closing
    /// mark between, and a closing mark at most `within` characters after it with no opening one.
    static func isQuoted(before: Side, after: Side, within: Int) -> Bool {
        var opened = false
        for s in before.raw.reversed().prefix(within) {
            if ContextText.opensQuote(s) { opened = true; break }
            if ContextText.closesQuote(s) { return false }
        }
        guard opened else { return false }
        for s in after.raw.prefix(within) {
            if ContextText.closesQuote(s) { return true }
            if ContextText.opensQuote(s) { return false }
        }
        return false
    }

    /// The sentence before `end`: at most `limit` scalars, none before a sentence end.
    static func beforeSide(_ text: UnsafeBufferPointer<UInt8>, to end: Int, limit: Int) -> Side {
        var side = Side()
        guard end > 0, let p = text.baseAddress else { return side }
        var i = max(0, end - limit * 4)
        // Start on a scalar boundary: skip continuation bytes of a sequence cut by the window.
        var skipped = 0
        while i < end && skipped < 3 && p[i] & 0xC0 == 0x80 { i += 1; skipped += 1 }
        var raw: [UInt32] = []
        raw.reserveCapacity(limit)
        while i < end {
            guard case .scalar(let s, let length) = UTF8Scalar.decode(p, i, end, final: true) else { break }
            i += length
            var next: UInt32?
            if i < end, case .scalar(let n, _) = UTF8Scalar.decode(p, i, end, final: true) { next = n }
            if ContextText.endsSentence(s, next: next) { raw.removeAll(keepingCapacity: true); continue }
            raw.append(s)
        }
        if raw.count > limit { raw.removeFirst(raw.count - limit) }
        side.raw = raw
        fold(&side)
        return side
    }

    /// The sentence after `start`: at most `limit` scalars, up to the first sentence end.
    static func afterSide(_ text: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int, final: Bool) -> Side {
        var side = Side()
        let n = text.count
        guard let p = text.baseAddress, start < n else { side.complete = final; return side }
        var i = start
        while i < n && side.raw.count < limit {
            guard case .scalar(let s, let length) = UTF8Scalar.decode(p, i, n, final: final) else { break }
            i += length
            var next: UInt32?
            if i < n {
                if case .scalar(let following, _) = UTF8Scalar.decode(p, i, n, final: final) { next = following }
            } else if !final && s == 0x2E {
                side.raw.removeAll()
                return side          // a full stop at the end of what arrived: sentence end or "8." of "8.5"?
            }
            if ContextText.endsSentence(s, next: next) { side.terminator = s; side.complete = true; break }
            side.raw.append(s)
        }
        if side.raw.count >= limit || i >= n && final { side.complete = true }
        fold(&side)
        return side
    }

    static func fold(_ side: inout Side) {
        side.folded.reserveCapacity(side.raw.count)
        for s in side.raw { ContextText.append(s, to: &side.folded) }
    }
}
