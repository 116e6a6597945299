/// An Aho–Corasick automaton over small integer symbols, stored as a double-array trie.
///
/// Design note — why a double array. Menshen's lexicons are mostly Chinese: the alphabet is the
/// few thousand distinct characters that occur in the terms, and 100k-term lexicons give
/// hundreds of thousands of states. A dense table (states × alphabet) does not fit in memory,
/// and sorted edge lists cost a binary search per character on the busy shallow states. The
/// double array gives every goto transition in two loads (`base[s] + c`, then `check[t] == s`)
/// at about 16 bytes per state. Failure transitions follow `fail` links; every state's
/// failure chain is short in practice, and the root has a complete transition table, so the
/// loop always ends.
///
/// Symbols are `1...alphabetSize`; symbol `0` is never a transition (callers use it to mean
/// "a character no pattern contains", which sends the automaton back to the root).
///
/// ```swift
/// let automaton = try AutomatonBuilder(patterns: [[1, 2], [2, 3]], alphabetSize: 3).build()
/// var state = Automaton.root
/// for symbol: UInt32 in [1, 2, 3] {
///     state = automaton.next(state, symbol)
///     automaton.forEachMatch(endingAt: state) { pattern in print(pattern) }   // 0, then 1
/// }
/// ```
public struct Automaton: Sendable {
    /// One double-array cell. Kept together so a transition touches one or two cache lines.
    @usableFromInline
    struct Cell: Sendable {
        /// Offset added to a symbol to find the child cell.
        @usableFromInline var base: Int32
        /// The parent state of this cell, or -1 when the cell is free.
        @usableFromInline var check: Int32
        /// Failure link: the state for the longest proper suffix that is also a trie prefix.
        @usableFromInline var fail: Int32
        /// The first state to report from when this state is reached, or -1 when no pattern ends
        /// here or in any suffix. Following `dictionaryLink` from it lists every pattern.
        @usableFromInline var report: Int32
    }

    /// The state the automaton starts in.
    public static let root: Int32 = 0

    @usableFromInline let cells: [Cell]
    /// Per state: the pattern that ends exactly here, or -1.
    @usableFromInline let patternAt: [Int32]
    /// Per state: the next state down the failure chain where a pattern ends, or -1.
    @usableFromInline let dictionaryLink: [Int32]
    /// Per state: the number of symbols from the root (the length of the prefix it stands for).
    @usableFromInline let depthOf: [Int32]
    /// Per state: the depth of the longest suffix of this state's prefix that can still grow into
    /// a longer pattern (that state has children). Text before that suffix can never be part of a
    /// future match, which is what stream scanners need to release it.
    @usableFromInline let liveDepthOf: [Int32]

    /// Length in symbols of each pattern, indexed by pattern id.
    public let patternLengths: [Int32]
    /// The largest symbol value.
    public let alphabetSize: Int
    /// The number of trie states.
    public let stateCount: Int

    init(cells: [Cell], patternAt: [Int32], dictionaryLink: [Int32], depthOf: [Int32],
         liveDepthOf: [Int32], patternLengths: [Int32], alphabetSize: Int, stateCount: Int) {
        self.cells = cells
        self.patternAt = patternAt
        self.dictionaryLink = dictionaryLink
        self.depthOf = depthOf
        self.liveDepthOf = liveDepthOf
        self.patternLengths = patternLengths
        self.alphabetSize = alphabetSize
        self.stateCount = stateCount
    }

    /// The longest pattern, in symbols.
    public var maximumPatternLength: Int { Int(patternLengths.max() ?? 0) }

    /// Approximate heap bytes held by the automaton's tables.
    public var memoryFootprint: Int {
        cells.capacity * MemoryLayout<Cell>.stride
            + (patternAt.capacity + dictionaryLink.capacity + depthOf.capacity + liveDepthOf.capacity
               + patternLengths.capacity) * MemoryLayout<Int32>.stride
    }

    /// The state reached from `state` on `symbol` (goto, following failure links as needed).
    @inlinable
    public func next(_ state: Int32, _ symbol: UInt32) -> Int32 {
        cells.withUnsafeBufferPointer { Tables.next($0, state, symbol) }
    }

    /// Calls `body` with every pattern that ends at `state`, longest first.
    @inlinable
    public func forEachMatch(endingAt state: Int32, _ body: (Int32) throws -> Void) rethrows {
        var r = cells[Int(state)].report
        while r >= 0 {
            try body(patternAt[Int(r)])
            r = dictionaryLink[Int(r)]
        }
    }

    /// The depth (prefix length in symbols) of `state`.
    @inlinable
    public func depth(of state: Int32) -> Int { Int(depthOf[Int(state)]) }

    /// How many of the most recent symbols may still become part of a future match.
    @inlinable
    public func liveDepth(of state: Int32) -> Int { Int(liveDepthOf[Int(state)]) }

    /// Runs `body` with raw views of the tables, for scan loops that must not pay for array
    /// bounds checks and reference counting on every character.
    @inlinable
    public func withTables<R>(_ body: (Tables) throws -> R) rethrows -> R {
        try cells.withUnsafeBufferPointer { cells in
            try patternAt.withUnsafeBufferPointer { patternAt in
                try dictionaryLink.withUnsafeBufferPointer { links in
                    try liveDepthOf.withUnsafeBufferPointer { live in
                        try body(Tables(cells: cells, patternAt: patternAt, dictionaryLink: links, liveDepthOf: live))
                    }
                }
            }
        }
    }

    /// Unsafe views of the automaton, valid only inside `withTables`.
    public struct Tables {
        @usableFromInline let cells: UnsafeBufferPointer<Cell>
        @usableFromInline let patternAt: UnsafeBufferPointer<Int32>
        @usableFromInline let dictionaryLink: UnsafeBufferPointer<Int32>
        @usableFromInline let liveDepthOf: UnsafeBufferPointer<Int32>

        @usableFromInline
        init(cells: UnsafeBufferPointer<Cell>, patternAt: UnsafeBufferPointer<Int32>,
             dictionaryLink: UnsafeBufferPointer<Int32>, liveDepthOf: UnsafeBufferPointer<Int32>) {
            self.cells = cells
            self.patternAt = patternAt
            self.dictionaryLink = dictionaryLink
            self.liveDepthOf = liveDepthOf
        }

        /// The state reached from `state` on `symbol`.
        @inlinable @inline(__always)
        public func next(_ state: Int32, _ symbol: UInt32) -> Int32 {
            Tables.next(cells, state, symbol)
        }

        @inlinable @inline(__always)
        static func next(_ cells: UnsafeBufferPointer<Cell>, _ state: Int32, _ symbol: UInt32) -> Int32 {
            // The builder pads the array so that `base + symbol` is always in bounds and gives
            // the root a complete table (a root cell whose check is not 0 means "stay at root").
            let base = cells.baseAddress.unsafelyUnwrapped
            var s = state
            while true {
                let t = Int(base[Int(s)].base) &+ Int(symbol)
                if base[t].check == s { return Int32(truncatingIfNeeded: t) }
                if s == 0 { return 0 }
                s = base[Int(s)].fail
            }
        }

        /// The first reporting state for `state`, or -1 when no pattern ends there.
        @inlinable @inline(__always)
        public func report(_ state: Int32) -> Int32 {
            cells.baseAddress.unsafelyUnwrapped[Int(state)].report
        }

        /// The pattern ending at a reporting state.
        @inlinable @inline(__always)
        public func pattern(at reportingState: Int32) -> Int32 {
            patternAt.baseAddress.unsafelyUnwrapped[Int(reportingState)]
        }

        /// The next reporting state down the failure chain, or -1.
        @inlinable @inline(__always)
        public func nextReport(after reportingState: Int32) -> Int32 {
            dictionaryLink.baseAddress.unsafelyUnwrapped[Int(reportingState)]
        }

        /// See ``Automaton/liveDepth(of:)``.
        @inlinable @inline(__always)
        public func liveDepth(_ state: Int32) -> Int {
            Int(liveDepthOf.baseAddress.unsafelyUnwrapped[Int(state)])
        }
    }
}
