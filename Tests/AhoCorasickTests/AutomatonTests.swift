import Testing
@testable import AhoCorasick
import TestSupport

/// Every (pattern, end) pair found by brute force.
func naiveMatches(_ patterns: [[UInt32]], _ text: [UInt32]) -> Set<[Int]> {
    var out = Set<[Int]>()
    for (p, pattern) in patterns.enumerated() where pattern.count <= text.count {
        for start in 0...(text.count - pattern.count) where Array(text[start..<start + pattern.count]) == pattern {
            out.insert([p, start + pattern.count])
        }
    }
    return out
}

func automatonMatches(_ automaton: Automaton, _ text: [UInt32]) -> Set<[Int]> {
    var out = Set<[Int]>()
    var state = Automaton.root
    for (i, symbol) in text.enumerated() {
        state = symbol == 0 ? Automaton.root : automaton.next(state, symbol)
        automaton.forEachMatch(endingAt: state) { out.insert([Int($0), i + 1]) }
    }
    return out
}

@Test("matches agree with a naive search on 1,000 generated inputs", arguments: [2, 5, 40, 3000])
func agreesWithNaiveSearch(alphabet: Int) throws {
    var rng = SplitMix64(state: UInt64(alphabet))
    for _ in 0..<250 {
        var patterns = Set<[UInt32]>()
        let count = Int.random(in: 1...30, using: &rng)
        while patterns.count < count {
            let length = Int.random(in: 1...6, using: &rng)
            patterns.insert((0..<length).map { _ in UInt32.random(in: 1...UInt32(alphabet), using: &rng) })
        }
        let list = Array(patterns)
        let automaton = try AutomatonBuilder(patterns: list, alphabetSize: alphabet).build()
        // Text mostly built from pattern pieces so matches are frequent, with resets (0).
        var text: [UInt32] = []
        while text.count < 200 {
            if Bool.random(using: &rng) { text += list.randomElement(using: &rng)!.prefix(Int.random(in: 1...6, using: &rng)) }
            else { text.append(UInt32.random(in: 0...UInt32(alphabet), using: &rng)) }
        }
        var expected = Set<[Int]>()
        // Resets split the text: no pattern contains symbol 0.
        var segmentStart = 0
        for (i, s) in (text + [0]).enumerated() where s == 0 {
            for m in naiveMatches(list, Array(text[segmentStart..<i])) { expected.insert([m[0], m[1] + segmentStart]) }
            segmentStart = i + 1
        }
        #expect(automatonMatches(automaton, text) == expected)
    }
}

@Test func liveDepthTracksExtendablePrefixes() throws {
    // patterns: "ab", "abcd", "x"
    let automaton = try AutomatonBuilder(patterns: [[1, 2], [1, 2, 3, 4], [5]], alphabetSize: 5).build()
    var s = automaton.next(Automaton.root, 1)
    #expect(automaton.liveDepth(of: s) == 1)
    s = automaton.next(s, 2)
    #expect(automaton.liveDepth(of: s) == 2)     // "ab" can still become "abcd"
    s = automaton.next(s, 5)
    #expect(automaton.liveDepth(of: s) == 0)     // "x" is a leaf: nothing in flight
    #expect(automaton.depth(of: s) == 1)
}

@Test func rejectsBadPatterns() {
    #expect(throws: AutomatonBuilder.BuildError.self) { try AutomatonBuilder(patterns: [[]], alphabetSize: 3).build() }
    #expect(throws: AutomatonBuilder.BuildError.self) { try AutomatonBuilder(patterns: [[4]], alphabetSize: 3).build() }
    #expect(throws: AutomatonBuilder.BuildError.self) { try AutomatonBuilder(patterns: [[1], [1]], alphabetSize: 3).build() }
}
