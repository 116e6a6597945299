import Normalization

/// The second reading of a stream for profiles with the ``NormalizationSteps/markup`` step: the
/// text as its markup renders (`稳&#36186;不赔`, `稳<b></b>赚`, terminal escapes removed), scanned
/// by copies of those profiles beside the plain reading. A match in either reading counts, so
/// markup can reveal a term but never hide one.
///
/// It costs nothing until a piece holds `&`, `<` or ESC: then the markup profiles are copied as
/// they stand (the text so far reads the same both ways) and both readings run. It is dropped
/// again once it is quiet — nothing held, no automaton state, no candidate — in both readings.
struct MarkupReading: Sendable {
    var decoder = MarkupDecoder()
    var map: MarkupOffsetMap
    /// Copies of the plain reading's markup profiles (`StreamScanner.markupProfiles`, same order).
    var profiles: [ProfileScan]
    /// Copies of the regex channels whose rules read folded text (`normalize: true`).
    var regex: [RegexChannel]
    /// The decoded bytes of the current piece (kept for its capacity).
    var out: [UInt8] = []
    /// Output offset of `out[0]`.
    var outBase: Int
    /// Output bytes of a sequence the profiles could not decode yet.
    var carry: [UInt8] = []

    /// Starts a reading at input (and output) offset `base`, copying `profiles`.
    init(profiles: [ProfileScan], regex: [RegexChannel], base: Int) {
        self.profiles = profiles
        self.regex = regex
        // Everything before `base` read the same both ways: candidates the copies carry map back unchanged.
        map = MarkupOffsetMap(identityUpTo: base)
        outBase = base
    }

    /// Reads the piece `bytes` (at input offset `base`) and runs the profiles over the reading;
    /// their matches are mapped back to input offsets.
    mutating func run(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, lexicons: LexiconSet, into matches: inout [Match]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: carry)
        carry.removeAll()
        decoder.decode(bytes, base: base, final: final, into: &out, outputBase: outBase, map: &map)
        var found: [Match] = []
        var stop = out.count
        out.withUnsafeBufferPointer { reading in
            for k in profiles.indices { stop = profiles[k].run(reading, base: outBase, final: final, lexicons: lexicons, into: &found) }
            for k in regex.indices { stop = regex[k].append(UnsafeBufferPointer(rebasing: reading[..<stop]), base: outBase, final: final) }
        }
        if stop < out.count { carry.append(contentsOf: out[stop...]) }
        outBase += stop
        matches += found.map(translate)
    }

    /// Settles the profiles and regex channels; returns the earliest input offset still in flight.
    /// `armed`: for a whole text, the anchored rules whose anchors either reading saw.
    mutating func settle(final: Bool, armed: [Int32]?, lexicons: LexiconSet, into matches: inout [Match]) -> Int {
        var found: [Match] = []
        var settledOut = outBase
        for k in profiles.indices { settledOut = min(settledOut, profiles[k].settle(final: final, end: outBase, into: &found)) }
        for k in regex.indices { settledOut = min(settledOut, regex[k].scan(final: final, armed: armed, lexicons: lexicons, into: &found)) }
        matches += found.map(translate)
        var settled = map.inputStart(of: settledOut)
        if settledOut == outBase { settled = map.lastInputEnd }
        if let held = decoder.heldOffset { settled = min(settled, held) }
        map.forget(before: settledOut)
        return settled
    }

    mutating func finish(direction: Direction, lexicons: LexiconSet, into matches: inout [Match]) {
        var found: [Match] = []
        for k in profiles.indices { profiles[k].finish(direction: direction, lexicons: lexicons, into: &found) }
        matches += found.map(translate)
    }

    var isQuiet: Bool { decoder.isIdle && carry.isEmpty && profiles.allSatisfy(\.isQuiet) && regex.allSatisfy(\.isQuiet) }

    func translate(_ m: Match) -> Match {
        Match(rule: m.rule, range: map.inputStart(of: m.range.lowerBound)..<map.inputEnd(of: m.range.upperBound), line: m.line)
    }
}

extension StreamScanner {
    /// Before the plain reading scans a piece: starts the markup reading if the piece may hold markup.
    mutating func startMarkupReading(ifNeededFor bytes: UnsafeBufferPointer<UInt8>, base: Int) {
        guard markup == nil, !markupProfiles.isEmpty, MarkupDecoder.mayContainMarkup(bytes) else { return }
        markup = MarkupReading(profiles: markupProfiles.map { profiles[$0] }, regex: regex.filter { $0.folding != nil }, base: base)
    }

    /// After the plain reading settled: drops the markup reading when both readings are quiet.
    mutating func stopMarkupReadingIfQuiet() {
        guard let reading = markup, reading.isQuiet, markupProfiles.allSatisfy({ profiles[$0].isQuiet }),
              regex.allSatisfy({ $0.folding == nil || $0.isQuiet }) else { return }
        markup = nil
    }

    /// Removes matches both readings found (the same rule on the same range), in this call and
    /// against those reported since the stream last settled.
    mutating func removeDuplicateMatches(_ matches: inout [Match], settled: Int) {
        guard !markupProfiles.isEmpty else { return }
        if matches.count > 1 {
            matches.sort()
            var unique: [Match] = []
            unique.reserveCapacity(matches.count)
            for m in matches where unique.last != m { unique.append(m) }
            matches = unique
        }
        if !reported.isEmpty { matches.removeAll { reported.contains($0) } }
        if markup != nil { reported += matches }
        // A later match starts at or after `settled`, so it cannot repeat one that starts before.
        reported.removeAll { $0.range.lowerBound < settled }
    }
}
