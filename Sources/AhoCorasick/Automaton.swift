/// An Aho–Corasick automaton over small integer symbols, stored as a double-array trie.
///
/// Design note — why a double array, and why this one. Menshen's lexicons are mostly Chinese:
/// the alphabet is the few thousand distinct characters that occur in the terms, and 100k-term
/// lexicons give hundreds of thousands of states (the benchmark's 100k lexicon: 5,293 symbols,
/// 506,956 states, 92 % of the states with children have exactly one child, one has 4,045).
/// A dense table (states × alphabet) does not fit in memory, and sorted edge lists cost a
/// binary search per character on the busy shallow states. The double array gives every goto
/// transition in two loads (`base[s] + c`, then `check[t] == s`).
///
/// Scanning a big lexicon is bound by the cache miss on `cells[t]` (perf: ~3/4 of the scan
/// loop's cycles sit on that one load at 100k terms), so the layout is about density:
/// - one 16-byte cell holds everything the scan loop reads per character (base, check, fail,
///   report), so a transition touches the parent's cell (already hot) and one new line;
/// - nothing else is stored per cell. Matches are rare, so the patterns live in a compact
///   side list indexed by `report` (one entry per pattern, not per cell); depth and "live
///   depth" are recomputed from the cells on the rare occasions they are asked for (once per
///   stream piece) instead of costing two Int32 arrays per cell;
/// - the builder packs children with a bitmap search over 64 candidate bases at a time, so it
///   can afford to look much further for a hole than a free-list walk could. At 100k terms the
///   old layout (free list, 4,096 probes, then append) used 1.9M cells for 507k states with
///   four Int32 side arrays per cell (68 MB); this one uses ~0.52M cells and ~9 MB.
///
/// Failure transitions follow `fail` links; the root has a complete transition table (a root
/// cell whose check is not 0 means "stay at the root"), so the loop always ends.
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
        /// Offset added to a symbol to find the child cell; 0 for a state without children
        /// (the builder never gives a state with children base 0, which only the root has).
        @usableFromInline var base: Int32
        /// The parent state of this cell, or -1 when the cell is free (-2 for the root).
        @usableFromInline var check: Int32
        /// Failure link: the state for the longest proper suffix that is also a trie prefix.
        @usableFromInline var fail: Int32
        /// Index into `reports` of the first pattern that ends at this state (its own, or that of
        /// a suffix), or -1 when none does.
        @usableFromInline var report: Int32

        @usableFromInline
        init(base: Int32, check: Int32, fail: Int32, report: Int32) {
            self.base = base
            self.check = check
            self.fail = fail
            self.report = report
        }
    }

    /// One pattern that ends at a reporting state, and the next report down the failure chain.
    @usableFromInline
    struct Report: Sendable {
        @usableFromInline var pattern: Int32
        /// Index of the next (shorter) pattern ending at the same place, or -1.
        @usableFromInline var next: Int32
    }

    /// The state the automaton starts in.
    public static let root: Int32 = 0

    @usableFromInline let cells: [Cell]
    /// Pattern lists, one entry per pattern, linked from `Cell.report` through `Report.next`.
    @usableFromInline let reports: [Report]

    /// Length in symbols of each pattern, indexed by pattern id.
    public let patternLengths: [Int32]
    /// The largest symbol value.
    public let alphabetSize: Int
    /// The number of trie states.
    public let stateCount: Int

    init(cells: [Cell], reports: [Report], patternLengths: [Int32], alphabetSize: Int, stateCount: Int) {
        self.cells = cells
        self.reports = reports
        self.patternLengths = patternLengths
        self.alphabetSize = alphabetSize
        self.stateCount = stateCount
        maximumPatternLength = Int(patternLengths.max() ?? 0)
    }

    /// The longest pattern, in symbols. Stored: every stream scanner reads it when it starts.
    public let maximumPatternLength: Int

    /// The number of double-array cells (states plus the holes between them).
    public var cellCount: Int { cells.count }

    /// Approximate heap bytes held by the automaton's tables.
    public var memoryFootprint: Int {
        cells.capacity * MemoryLayout<Cell>.stride + reports.capacity * MemoryLayout<Report>.stride
            + patternLengths.capacity * MemoryLayout<Int32>.stride
    }

    /// The state reached from `state` on `symbol` (goto, following failure links as needed).
    @inlinable
    public func next(_ state: Int32, _ symbol: UInt32) -> Int32 {
        cells.withUnsafeBufferPointer { Tables.next($0.baseAddress.unsafelyUnwrapped, state, symbol) }
    }

    /// Calls `body` with every pattern that ends at `state`, longest first.
    @inlinable
    public func forEachMatch(endingAt state: Int32, _ body: (Int32) throws -> Void) rethrows {
        var r = cells[Int(state)].report
        while r >= 0 {
            try body(reports[Int(r)].pattern)
            r = reports[Int(r)].next
        }
    }

    /// The depth (prefix length in symbols) of `state`.
    @inlinable
    public func depth(of state: Int32) -> Int {
        cells.withUnsafeBufferPointer { Tables.depth($0.baseAddress.unsafelyUnwrapped, state) }
    }

    /// How many of the most recent symbols may still become part of a future match: the depth
    /// of the longest suffix of this state's prefix that still has children.
    @inlinable
    public func liveDepth(of state: Int32) -> Int {
        cells.withUnsafeBufferPointer { Tables.liveDepth($0.baseAddress.unsafelyUnwrapped, state) }
    }

    /// The states that are proper prefixes of at least one of `patterns` (each given by its
    /// symbols, and each one of the automaton's own patterns): the states from which one of
    /// them can still be completed. Built once per lexicon set, off the request path.
    public func prefixStates(of patterns: some Sequence<[UInt32]>) -> StateSet {
        var set = StateSet(capacity: cells.count)
        cells.withUnsafeBufferPointer { buffer in
            let cells = buffer.baseAddress.unsafelyUnwrapped
            for pattern in patterns {
                var state = Automaton.root
                for symbol in pattern.dropLast() {
                    state = Tables.next(cells, state, symbol)
                    set.insert(state)
                }
            }
        }
        return set
    }

    /// The failure link of `state`: the state of its longest proper suffix that is a trie
    /// prefix (the root for the root). Walking it from a state visits every suffix of the text
    /// read so far that is a prefix of some pattern, longest first.
    public func failure(of state: Int32) -> Int32 {
        state == Automaton.root ? Automaton.root : cells[Int(state)].fail
    }

    /// Runs `body` with raw views of the tables, for scan loops that must not pay for array
    /// bounds checks and reference counting on every character.
    @inlinable
    public func withTables<R>(_ body: (Tables) throws -> R) rethrows -> R {
        try cells.withUnsafeBufferPointer { cells in
            try reports.withUnsafeBufferPointer { reports in
                try body(Tables(cells: cells.baseAddress.unsafelyUnwrapped, reports: reports.baseAddress.unsafelyUnwrapped))
            }
        }
    }

    /// Unsafe views of the automaton, valid only inside `withTables`.
    public struct Tables {
        @usableFromInline let cells: UnsafePointer<Cell>
        @usableFromInline let reports: UnsafePointer<Report>

        @usableFromInline
        init(cells: UnsafePointer<Cell>, reports: UnsafePointer<Report>) {
            self.cells = cells
            self.reports = reports
        }

        /// The state reached from `state` on `symbol`.
        @inlinable @inline(__always)
        public func next(_ state: Int32, _ symbol: UInt32) -> Int32 {
            Tables.next(cells, state, symbol)
        }

        @inlinable @inline(__always)
        static func next(_ cells: UnsafePointer<Cell>, _ state: Int32, _ symbol: UInt32) -> Int32 {
            // The builder pads the array so that `base + symbol` is always in bounds and gives
            // the root a complete table (a root cell whose check is not 0 means "stay at root").
            var s = state
            while true {
                let t = Int(cells[Int(s)].base) &+ Int(symbol)
                if cells[t].check == s { return Int32(truncatingIfNeeded: t) }
                if s == 0 { return 0 }
                s = cells[Int(s)].fail
            }
        }

        /// Parent links up to the root. Called once per stream piece at most, never per character.
        @inlinable
        static func depth(_ cells: UnsafePointer<Cell>, _ state: Int32) -> Int {
            var s = state, d = 0
            while s > 0 { s = cells[Int(s)].check; d += 1 }
            return d
        }

        /// The first state down the failure chain (itself included) that has children, and its
        /// depth. Leaves have base 0; every other state but the root has base ≥ 1.
        @inlinable
        static func liveDepth(_ cells: UnsafePointer<Cell>, _ state: Int32) -> Int {
            var s = state
            while s > 0 && cells[Int(s)].base == 0 { s = cells[Int(s)].fail }
            return depth(cells, s)
        }

        /// The first report for `state`, or -1 when no pattern ends there.
        @inlinable @inline(__always)
        public func report(_ state: Int32) -> Int32 {
            cells[Int(state)].report
        }

        /// The pattern of a report.
        @inlinable @inline(__always)
        public func pattern(at report: Int32) -> Int32 {
            reports[Int(report)].pattern
        }

        /// The next report (a shorter pattern ending at the same place), or -1.
        @inlinable @inline(__always)
        public func nextReport(after report: Int32) -> Int32 {
            reports[Int(report)].next
        }

        /// See ``Automaton/liveDepth(of:)``.
        @inlinable @inline(__always)
        public func liveDepth(_ state: Int32) -> Int {
            Tables.liveDepth(cells, state)
        }
    }
}

/// A set of automaton states, one bit per cell (a 100k-term automaton's ~0.5M cells take 64 KB).
public struct StateSet: Sendable {
    private var words: [UInt64]

    /// An empty set for an automaton of `capacity` cells.
    public init(capacity: Int) {
        words = [UInt64](repeating: 0, count: (capacity + 63) / 64)
    }

    public func contains(_ state: Int32) -> Bool {
        let i = Int(state)
        return words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    public mutating func insert(_ state: Int32) {
        let i = Int(state)
        words[i >> 6] |= 1 << UInt64(i & 63)
    }
}
