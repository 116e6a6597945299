import Testing
@testable import AhoCorasick
import TestSupport

// Builder paths the small random cases in AutomatonTests rarely reach: wide alphabets, long
// chains, wide nodes, the "no hole found, append at the end" fallback, error precedence, and
// the depth / live-depth values that are recomputed from the cells.

/// Text mostly made of pattern pieces (so matches and failure walks are frequent), with resets.
func mixedText(_ patterns: [[UInt32]], alphabet: Int, length: Int, using rng: inout SplitMix64) -> [UInt32] {
    var text: [UInt32] = []
    while text.count < length {
        if Int.random(in: 0..<3, using: &rng) > 0 {
            let p = patterns.randomElement(using: &rng)!
            let from = Int.random(in: 0..<p.count, using: &rng)
            text += p[from..<min(p.count, from + Int.random(in: 1...p.count, using: &rng))]
        } else {
            text.append(UInt32.random(in: 0...UInt32(alphabet), using: &rng))
        }
    }
    return text
}

/// Every (pattern, end) pair, by looking up each short span of the text (resets split it).
func expectedMatches(_ patterns: [[UInt32]], _ text: [UInt32]) -> Set<[Int]> {
    var index: [[UInt32]: Int] = [:]
    for (i, p) in patterns.enumerated() { index[p] = i }
    let longest = patterns.map(\.count).max() ?? 0
    var expected = Set<[Int]>()
    var segmentStart = 0
    for end in 1...text.count {
        if text[end - 1] == 0 { segmentStart = end; continue }
        for length in 1...min(longest, end - segmentStart) {
            if let p = index[Array(text[(end - length)..<end])] { expected.insert([p, end]) }
        }
    }
    return expected
}

/// The proper prefixes of the patterns: the strings that can still grow into a match.
func properPrefixes(_ patterns: [[UInt32]]) -> Set<[UInt32]> {
    var out = Set<[UInt32]>()
    for p in patterns where p.count > 1 { for k in 1..<p.count { out.insert(Array(p.prefix(k))) } }
    return out
}

/// Live depth by definition: the longest suffix of the symbols since the last reset that is a
/// proper prefix of some pattern (and, given every trie node, the depth).
func naiveLiveDepth(_ prefixes: Set<[UInt32]>, longest: Int, _ segment: ArraySlice<UInt32>) -> Int {
    for k in stride(from: min(segment.count, longest), through: 1, by: -1) where prefixes.contains(Array(segment.suffix(k))) {
        return k
    }
    return 0
}

func checkAgainstNaive(_ patterns: [[UInt32]], alphabet: Int, searchWindows: Int? = nil, texts: Int, seed: UInt64) throws {
    var builder = AutomatonBuilder(patterns: patterns, alphabetSize: alphabet)
    if let searchWindows { builder.searchWindows = searchWindows }
    let automaton = try builder.build()
    #expect(automaton.stateCount <= automaton.cellCount)
    let prefixes = properPrefixes(patterns)
    let nodes = prefixes.union(patterns)
    let longest = patterns.map(\.count).max() ?? 0
    var rng = SplitMix64(state: seed)
    for _ in 0..<texts {
        let text = mixedText(patterns, alphabet: alphabet, length: 300, using: &rng)
        #expect(automatonMatches(automaton, text) == expectedMatches(patterns, text))
        // Depth and live depth along the way.
        var state = Automaton.root
        var segmentStart = 0
        for (i, symbol) in text.enumerated() {
            if symbol == 0 { state = Automaton.root; segmentStart = i + 1; continue }
            state = automaton.next(state, symbol)
            let segment = text[segmentStart...i]
            #expect(automaton.liveDepth(of: state) == naiveLiveDepth(prefixes, longest: longest, segment))
            // The state stands for the longest suffix that is a trie node (a prefix or a pattern).
            #expect(automaton.depth(of: state) == naiveLiveDepth(nodes, longest: longest, segment))
        }
    }
}

@Test("large alphabets: symbols up to 60,000, wide root and second level")
func largeAlphabet() throws {
    var rng = SplitMix64(state: 7)
    var patterns = Set<[UInt32]>()
    while patterns.count < 400 {
        let length = Int.random(in: 1...5, using: &rng)
        // A mix of tiny and huge symbols, so children of one node are far apart.
        patterns.insert((0..<length).map { _ in
            Bool.random(using: &rng) ? UInt32.random(in: 1...8, using: &rng) : UInt32.random(in: 1...60_000, using: &rng)
        })
    }
    try checkAgainstNaive(Array(patterns), alphabet: 60_000, texts: 20, seed: 1)
}

@Test("deep chains: a 3,000-symbol pattern, its prefixes and overlapping suffixes")
func deepChains() throws {
    let chain = (0..<3000).map { UInt32($0 % 7 + 1) }
    var patterns: [[UInt32]] = [chain, Array(chain.prefix(10)), Array(chain.suffix(2990)), Array(chain[5..<40]), [3, 4, 5, 6, 7, 1]]
    patterns.append([1, 2, 3, 4, 5, 6, 7, 1, 2, 9])
    let automaton = try AutomatonBuilder(patterns: patterns, alphabetSize: 9).build()
    var state = Automaton.root
    var found: [Int: [Int32]] = [:]
    for (i, s) in chain.enumerated() {
        state = automaton.next(state, s)
        #expect(automaton.depth(of: state) == i + 1)
        // Every chain state has children but the last; the chain has period 7, so the last
        // state's longest extendable suffix is chain[7...], a prefix of the chain (2,993 symbols).
        #expect(automaton.liveDepth(of: state) == (i + 1 < chain.count ? i + 1 : 2993))
        automaton.forEachMatch(endingAt: state) { found[i + 1, default: []].append($0) }
    }
    #expect(found[10] == [1])
    #expect(found[40] == [3])
    #expect(found[3000] == [0, 2])                    // longest first
    #expect(automaton.maximumPatternLength == 3000)
    // Root, the chain, the branches for chain[10...] (starts with 4), chain[5..<40] (starts
    // with 6) and [3, 4, …], and one node for the pattern that leaves the chain after 9 symbols.
    #expect(automaton.stateCount == 1 + 3000 + 2990 + 35 + 6 + 1)
}

@Test("many siblings: nodes whose children are the whole alphabet, plus a crowd of small nodes")
func manySiblings() throws {
    let alphabet = 3000
    var patterns: [[UInt32]] = []
    for s in 1...UInt32(alphabet) { patterns.append([1, s]) }                 // node "1" has 3,000 children
    for s in stride(from: UInt32(2), through: UInt32(alphabet), by: 3) { patterns.append([2, s, 5]) }
    var rng = SplitMix64(state: 3)
    var seen = Set(patterns)
    while patterns.count < 6000 {
        let p = (0..<Int.random(in: 2...4, using: &rng)).map { _ in UInt32.random(in: 1...UInt32(alphabet), using: &rng) }
        if seen.insert(p).inserted { patterns.append(p) }
    }
    try checkAgainstNaive(patterns, alphabet: alphabet, texts: 3, seed: 2)
}

@Test("the end-of-array fallback gives the same automaton behaviour", arguments: [0, 1, 3])
func fallbackPlacement(searchWindows: Int) throws {
    var rng = SplitMix64(state: UInt64(100 + searchWindows))
    var patterns = Set<[UInt32]>()
    while patterns.count < 300 {
        patterns.insert((0..<Int.random(in: 1...6, using: &rng)).map { _ in UInt32.random(in: 1...50, using: &rng) })
    }
    try checkAgainstNaive(Array(patterns), alphabet: 50, searchWindows: searchWindows, texts: 10, seed: 4)
}

@Test func layoutIsDense() throws {
    // Random words over a skewed 2,000-symbol alphabet, like a CJK lexicon: the holes the
    // layout leaves should stay a small fraction of the cells.
    var rng = SplitMix64(state: 9)
    var patterns = Set<[UInt32]>()
    while patterns.count < 20_000 {
        patterns.insert((0..<Int.random(in: 2...6, using: &rng)).map { _ in
            let r = Double(UInt32.random(in: 1...1_000_000, using: &rng)) / 1_000_000
            return UInt32(max(1, min(2000, Int(r * r * r * 2000))))
        })
    }
    let automaton = try AutomatonBuilder(patterns: Array(patterns), alphabetSize: 2000).build()
    #expect(Double(automaton.cellCount) < Double(automaton.stateCount) * 1.15 + 2001)
}

@Test func errorsNameTheFirstOffendingPattern() {
    func kind(_ patterns: [[UInt32]], _ alphabet: Int = 3) -> AutomatonBuilder.BuildError.Kind? {
        do { _ = try AutomatonBuilder(patterns: patterns, alphabetSize: alphabet).build(); return nil }
        catch { return error.kind }
    }
    #expect(kind([[1], [2], [1], [2], [2]]) == .duplicatePattern(index: 2, firstIndex: 0))
    #expect(kind([[2, 1], [1], [2, 1], [1]]) == .duplicatePattern(index: 2, firstIndex: 0))
    #expect(kind([[3], [1, 2], [3], [3], [1, 2]]) == .duplicatePattern(index: 2, firstIndex: 0))
    #expect(kind([[1, 2], [3], [3], [1, 2]]) == .duplicatePattern(index: 2, firstIndex: 1))
    #expect(kind([[1], [], [1]]) == .emptyPattern(index: 1))
    #expect(kind([[1], [1], []]) == .duplicatePattern(index: 1, firstIndex: 0))
    #expect(kind([[1], [2, 4], [1]]) == .symbolOutOfRange(index: 1, symbol: 4))
    #expect(kind([[1], [0]]) == .symbolOutOfRange(index: 1, symbol: 0))
    #expect(kind([[1, 2], [1], [2, 1]]) == nil)
}
