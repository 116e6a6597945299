/// Builds an ``Automaton`` from patterns given as symbol sequences.
///
/// Pattern ids are the indices into `patterns`. Duplicate patterns are rejected
/// (callers deduplicate and keep their own list of who wants which pattern), so that every
/// state carries at most one pattern.
public struct AutomatonBuilder: Sendable {
    /// Why a set of patterns cannot be built.
    public struct BuildError: Error, Sendable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            case emptyPattern(index: Int)
            case symbolOutOfRange(index: Int, symbol: UInt32)
            case duplicatePattern(index: Int, firstIndex: Int)
            case tooLarge
        }
        public let kind: Kind
        public var description: String {
            switch kind {
            case .emptyPattern(let i): return "pattern \(i) is empty"
            case .symbolOutOfRange(let i, let s): return "pattern \(i) has symbol \(s) outside 1...alphabetSize"
            case .duplicatePattern(let i, let first): return "pattern \(i) duplicates pattern \(first)"
            case .tooLarge: return "automaton exceeds 2^31 cells"
            }
        }
    }

    public let patterns: [[UInt32]]
    public let alphabetSize: Int

    /// How many 64-base windows the layout searches for a node's children before it places
    /// them after the last cell in use (internal so tests can force the fallback path).
    var searchWindows = DoubleArrayLayout.defaultSearchWindows

    public init(patterns: [[UInt32]], alphabetSize: Int) {
        self.patterns = patterns
        self.alphabetSize = alphabetSize
    }

    /// Build-time memory is kept to flat Int32/UInt32 arrays (no per-node arrays, no hashed edge
    /// map): the patterns are sorted, which yields the trie with every node's children in symbol
    /// order; a breadth-first renumbering then makes each node's children one contiguous range.
    public func build() throws(BuildError) -> Automaton {
        // 0. Validate (errors are reported for the lowest offending index, as if the patterns
        //    were inserted one by one) and flatten the symbols into one buffer.
        var flat: [UInt32] = []
        flat.reserveCapacity(patterns.reduce(0) { $0 + $1.count })
        var offset: [Int32] = [0]
        offset.reserveCapacity(patterns.count + 1)
        var firstInvalid: (index: Int, error: BuildError)?
        for (index, pattern) in patterns.enumerated() {
            if pattern.isEmpty { firstInvalid = (index, BuildError(kind: .emptyPattern(index: index))); break }
            if let bad = pattern.first(where: { $0 < 1 || Int($0) > alphabetSize }) {
                firstInvalid = (index, BuildError(kind: .symbolOutOfRange(index: index, symbol: bad))); break
            }
            flat.append(contentsOf: pattern)
            guard flat.count < Int(Int32.max) else { throw BuildError(kind: .tooLarge) }
            offset.append(Int32(flat.count))
        }
        let count = offset.count - 1          // the valid patterns before the first invalid one

        // 1. Sort pattern ids by their symbols (ties by id, so duplicates come first-index first).
        var sorted = [Int32](0..<Int32(count))
        flat.withUnsafeBufferPointer { f in
            offset.withUnsafeBufferPointer { o in
                sorted.sort { a, b in
                    var i = Int(o[Int(a)]), j = Int(o[Int(b)])
                    let ei = Int(o[Int(a) + 1]), ej = Int(o[Int(b) + 1])
                    while i < ei && j < ej {
                        if f[i] != f[j] { return f[i] < f[j] }
                        i += 1; j += 1
                    }
                    if i < ei || j < ej { return j < ej }     // the shorter one (a prefix) first
                    return a < b
                }
            }
        }

        // 2. The trie, in the order the sorted patterns create nodes (depth first). A node's
        //    children appear in increasing symbol order; `path` holds the previous pattern's nodes.
        var parentSymbol: [UInt32] = [0]            // per node: the symbol on the edge into it
        var firstChild: [Int32] = [-1]
        var nextSibling: [Int32] = [-1]
        var terminal: [Int32] = [-1]
        let estimate = flat.count / 2 + 1
        parentSymbol.reserveCapacity(estimate); firstChild.reserveCapacity(estimate)
        nextSibling.reserveCapacity(estimate); terminal.reserveCapacity(estimate)
        var path: [Int32] = [0]
        var previous = -1
        var duplicate: (index: Int, firstIndex: Int)?
        flat.withUnsafeBufferPointer { f in
            for id in sorted {
                let start = Int(offset[Int(id)]), length = Int(offset[Int(id) + 1]) - start
                var lcp = 0, previousLength = 0
                if previous >= 0 {
                    let ps = Int(offset[previous])
                    previousLength = Int(offset[previous + 1]) - ps
                    while lcp < length && lcp < previousLength && f[start + lcp] == f[ps + lcp] { lcp += 1 }
                    if lcp == length && lcp == previousLength {
                        // Same symbols as the previous pattern (which has the lower id, or is
                        // itself a duplicate of an even lower one: keep the group's first id).
                        let first = Int(terminal[Int(path[length])])
                        if duplicate == nil || Int(id) < duplicate!.index { duplicate = (Int(id), first) }
                        continue
                    }
                }
                if path.count < length + 1 { path.append(contentsOf: repeatElement(0, count: length + 1 - path.count)) }
                for d in lcp..<length {
                    let node = Int32(parentSymbol.count)
                    parentSymbol.append(f[start + d])
                    firstChild.append(-1)
                    nextSibling.append(-1)
                    terminal.append(-1)
                    if d == lcp && lcp < previousLength {
                        nextSibling[Int(path[d + 1])] = node       // a later sibling of the previous path
                    } else {
                        firstChild[Int(path[d])] = node
                    }
                    path[d + 1] = node
                }
                terminal[Int(path[length])] = id
                previous = Int(id)
            }
        }
        if let duplicate, duplicate.index < firstInvalid?.index ?? Int.max {
            throw BuildError(kind: .duplicatePattern(index: duplicate.index, firstIndex: duplicate.firstIndex))
        }
        if let firstInvalid { throw firstInvalid.error }
        sorted = []
        let stateCount = parentSymbol.count

        // 3. Breadth-first renumbering: node b's children are nodes childStart[b]..<childStart[b + 1].
        var order: [Int32] = [0]                    // depth-first ids in breadth-first order
        order.reserveCapacity(stateCount)
        var childStart = [Int32](repeating: 0, count: stateCount + 1)
        var head = 0
        while head < order.count {
            childStart[head] = Int32(order.count)
            var c = firstChild[Int(order[head])]
            while c >= 0 { order.append(c); c = nextSibling[Int(c)] }
            head += 1
        }
        childStart[stateCount] = Int32(stateCount)
        firstChild = []; nextSibling = []
        var symbol = [UInt32](repeating: 0, count: stateCount)
        var patternOf = [Int32](repeating: -1, count: stateCount)
        for (b, node) in order.enumerated() {
            symbol[b] = parentSymbol[Int(node)]
            patternOf[b] = terminal[Int(node)]
        }
        order = []; parentSymbol = []; terminal = []

        // 4. Lay the trie out as a double array, breadth first so shallow (hot) states sit together.
        var layout = DoubleArrayLayout(alphabetSize: alphabetSize, expectedCells: stateCount + alphabetSize + 64,
                                       searchWindows: searchWindows)
        var cellOf = [Int32](repeating: 0, count: stateCount)
        let fits = symbol.withUnsafeBufferPointer { symbol in
            for b in 0..<stateCount {
                let lo = Int(childStart[b]), hi = Int(childStart[b + 1])
                guard lo < hi else { continue }
                let children = UnsafeBufferPointer(rebasing: symbol[lo..<hi])
                let base = b == 0 ? 0 : layout.findBase(for: children)
                guard base < Int(Int32.max) - alphabetSize - 1 else { return false }
                layout.place(parent: cellOf[b], base: base, symbols: children)
                for c in lo..<hi { cellOf[c] = Int32(base + Int(symbol[c])) }
            }
            return true
        }
        guard fits else { throw BuildError(kind: .tooLarge) }
        var cells = layout.finish()

        // 5. Failure links and report lists, breadth first (a state's failure target is shallower,
        //    so it is complete before the state needs it).
        var reports: [Automaton.Report] = []
        reports.reserveCapacity(count)
        cells.withUnsafeMutableBufferPointer { cells in
            for b in 0..<stateCount {
                let s = cellOf[b]
                for c in Int(childStart[b])..<Int(childStart[b + 1]) {
                    let sym = Int(symbol[c])
                    let t = Int(cellOf[c])
                    var fail: Int32 = 0
                    if s != 0 {
                        var f = cells[Int(s)].fail
                        while true {
                            let u = Int(cells[Int(f)].base) + sym
                            if cells[u].check == f { fail = Int32(u); break }
                            if f == 0 { break }
                            f = cells[Int(f)].fail
                        }
                    }
                    cells[t].fail = fail
                    let inherited = cells[Int(fail)].report
                    if patternOf[c] >= 0 {
                        cells[t].report = Int32(reports.count)
                        reports.append(Automaton.Report(pattern: patternOf[c], next: inherited))
                    } else {
                        cells[t].report = inherited
                    }
                }
            }
        }
        var lengths = [Int32](repeating: 0, count: count)
        for p in 0..<count { lengths[p] = offset[p + 1] - offset[p] }
        return Automaton(cells: cells, reports: reports, patternLengths: lengths,
                         alphabetSize: alphabetSize, stateCount: stateCount)
    }
}

/// Finds free slots for each state's children in the double array.
///
/// Occupancy is a bitmap, so one candidate test covers 64 consecutive bases: for children
/// c₁ < … < c_k, the bases in [b, b + 64) that fit are the zero bits of the OR of the 64-bit
/// occupancy windows starting at b + cᵢ (usually decided after one or two windows). Cells are
/// only ever taken, never freed, so the search starts at the first free cell. It gives up after
/// `searchWindows` windows and places the node after the highest cell in use, which bounds
/// build time on adversarial inputs (many wide nodes) at the cost of some space.
struct DoubleArrayLayout {
    private(set) var cells: [Automaton.Cell]
    private var used: [UInt64]
    /// Every cell below this one is taken.
    private var firstFree = 1
    /// The highest cell index taken so far.
    private var highestUsed = 0
    private let alphabetSize: Int
    private let searchWindows: Int
    static let defaultSearchWindows = 1 << 14

    init(alphabetSize: Int, expectedCells: Int, searchWindows: Int) {
        self.alphabetSize = alphabetSize
        self.searchWindows = searchWindows
        cells = []
        cells.reserveCapacity(expectedCells)
        used = []
        grow(to: max(expectedCells, 1024))
        // Cell 0 is the root; it is never free.
        used[0] |= 1
        cells[0].check = -2
    }

    private mutating func grow(to newCount: Int) {
        let old = cells.count
        guard newCount > old else { return }
        cells.append(contentsOf: repeatElement(Automaton.Cell(base: 0, check: -1, fail: 0, report: -1), count: newCount - old))
        let words = (newCount + 63) / 64 + 2
        if words > used.count { used.append(contentsOf: repeatElement(0, count: words - used.count)) }
    }

    /// Occupancy of cells x..<x+64 (bit i for cell x + i); cells past the array are free.
    @inline(__always)
    private func window(_ used: UnsafeBufferPointer<UInt64>, _ x: Int) -> UInt64 {
        let w = x >> 6, shift = UInt64(x & 63)
        guard w < used.count else { return 0 }
        let lo = used[w] >> shift
        guard shift != 0, w + 1 < used.count else { return lo }
        return lo | used[w + 1] << (64 - shift)
    }

    mutating func findBase(for symbols: UnsafeBufferPointer<UInt32>) -> Int {
        let first = Int(symbols[0])
        var b = max(1, firstFree - first)
        let found: Int? = used.withUnsafeBufferPointer { used in
            for _ in 0..<searchWindows {
                var occupied: UInt64 = 0
                for s in symbols {
                    occupied |= window(used, b + Int(s))
                    if occupied == ~0 { break }
                }
                if occupied != ~0 { return b + (~occupied).trailingZeroBitCount }
                b += 64
            }
            return nil
        }
        if let found { return found }
        // Fall back to fresh space just after the highest cell in use.
        return max(1, highestUsed + 1 - first)
    }

    mutating func place(parent: Int32, base: Int, symbols: UnsafeBufferPointer<UInt32>) {
        let last = base + Int(symbols[symbols.count - 1])
        if last >= cells.count { grow(to: max(last + 1, cells.count + cells.count / 4)) }
        highestUsed = max(highestUsed, last)
        cells[Int(parent)].base = Int32(base)
        for symbol in symbols {
            let t = base + Int(symbol)
            used[t >> 6] |= 1 << UInt64(t & 63)
            cells[t].check = parent
        }
        while used[firstFree >> 6] == ~0 { firstFree = (firstFree | 63) + 1 }
        while used[firstFree >> 6] & (1 << UInt64(firstFree & 63)) != 0 { firstFree += 1 }
    }

    /// Pads the array so `base + symbol` never leaves it, and returns the cells (with no spare
    /// capacity: the automaton keeps them for its lifetime).
    mutating func finish() -> [Automaton.Cell] {
        var maxBase = 0
        for cell in cells where cell.check != -1 { maxBase = max(maxBase, Int(cell.base)) }
        let needed = max(maxBase, highestUsed) + alphabetSize + 1
        if needed > cells.count { grow(to: needed) }
        used = []
        return cells.withUnsafeBufferPointer { Array($0[0..<needed]) }
    }
}
