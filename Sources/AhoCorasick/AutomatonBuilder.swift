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

    public init(patterns: [[UInt32]], alphabetSize: Int) {
        self.patterns = patterns
        self.alphabetSize = alphabetSize
    }

    public func build() throws(BuildError) -> Automaton {
        // 1. A plain trie with hashed edges (build-time only).
        var edges: [UInt64: Int32] = [:]
        edges.reserveCapacity(patterns.reduce(0) { $0 + $1.count })
        var children: [[UInt32]] = [[]]          // per trie node: child symbols
        var terminal: [Int32] = [-1]             // per trie node: pattern id
        var trieDepth: [Int32] = [0]
        for (index, pattern) in patterns.enumerated() {
            guard !pattern.isEmpty else { throw BuildError(kind: .emptyPattern(index: index)) }
            var node: Int32 = 0
            for symbol in pattern {
                guard symbol >= 1, Int(symbol) <= alphabetSize else {
                    throw BuildError(kind: .symbolOutOfRange(index: index, symbol: symbol))
                }
                let key = UInt64(UInt32(node)) << 32 | UInt64(symbol)
                if let child = edges[key] {
                    node = child
                } else {
                    let child = Int32(children.count)
                    children.append([])
                    terminal.append(-1)
                    trieDepth.append(trieDepth[Int(node)] + 1)
                    children[Int(node)].append(symbol)
                    edges[key] = child
                    node = child
                }
            }
            if terminal[Int(node)] >= 0 {
                throw BuildError(kind: .duplicatePattern(index: index, firstIndex: Int(terminal[Int(node)])))
            }
            terminal[Int(node)] = Int32(index)
        }

        // 2. Lay the trie out as a double array, breadth first so shallow (hot) states sit together.
        var layout = DoubleArrayLayout(alphabetSize: alphabetSize, expectedStates: children.count)
        var cellOfNode = [Int32](repeating: -1, count: children.count)
        cellOfNode[0] = 0
        var order: [Int32] = [0]                 // trie nodes in BFS order
        order.reserveCapacity(children.count)
        var head = 0
        while head < order.count {
            let node = order[head]; head += 1
            var symbols = children[Int(node)]
            guard !symbols.isEmpty else { continue }
            symbols.sort()
            let parentCell = cellOfNode[Int(node)]
            let base = node == 0 ? 0 : layout.findBase(for: symbols)
            guard base < Int32.max - Int32(alphabetSize) - 1 else { throw BuildError(kind: .tooLarge) }
            layout.place(parent: parentCell, base: base, symbols: symbols)
            for symbol in symbols {
                let child = edges[UInt64(UInt32(node)) << 32 | UInt64(symbol)]!
                cellOfNode[Int(child)] = base + Int32(symbol)
                order.append(child)
            }
        }
        var cells = layout.finish()
        let cellCount = cells.count

        // 3. Failure links, dictionary links and reporting states, in BFS order (parents first).
        var patternAt = [Int32](repeating: -1, count: cellCount)
        var dictionaryLink = [Int32](repeating: -1, count: cellCount)
        var depthOf = [Int32](repeating: 0, count: cellCount)
        var liveDepthOf = [Int32](repeating: 0, count: cellCount)
        for node in order {
            let cell = Int(cellOfNode[Int(node)])
            patternAt[cell] = terminal[Int(node)]
            depthOf[cell] = trieDepth[Int(node)]
        }
        cells.withUnsafeMutableBufferPointer { cells in
            for node in order {
                let s = cellOfNode[Int(node)]
                for symbol in children[Int(node)] {
                    let t = Int(cells[Int(s)].base) + Int(symbol)
                    var fail: Int32 = 0
                    if s != 0 {
                        var f = cells[Int(s)].fail
                        while true {
                            let u = Int(cells[Int(f)].base) + Int(symbol)
                            if cells[u].check == f { fail = Int32(u); break }
                            if f == 0 { break }
                            f = cells[Int(f)].fail
                        }
                    }
                    cells[t].fail = fail
                    dictionaryLink[t] = patternAt[Int(fail)] >= 0 ? fail : dictionaryLink[Int(fail)]
                    cells[t].report = patternAt[t] >= 0 ? Int32(t) : dictionaryLink[t]
                    let hasChildren = !children[Int(edges[UInt64(UInt32(node)) << 32 | UInt64(symbol)]!)].isEmpty
                    liveDepthOf[t] = hasChildren ? depthOf[t] : liveDepthOf[Int(fail)]
                }
            }
        }
        return Automaton(
            cells: cells, patternAt: patternAt, dictionaryLink: dictionaryLink, depthOf: depthOf,
            liveDepthOf: liveDepthOf, patternLengths: patterns.map { Int32($0.count) },
            alphabetSize: alphabetSize, stateCount: children.count)
    }
}

/// Finds free slots for each state's children in the double array.
///
/// Free cells form a doubly linked list so the search for a base skips occupied regions; a node
/// whose search runs too long is placed at the end instead, which bounds build time on big
/// lexicons at the cost of a little space.
struct DoubleArrayLayout {
    private(set) var cells: [Automaton.Cell]
    private var nextFree: [Int32]
    private var prevFree: [Int32]
    private var firstFree: Int32
    private let alphabetSize: Int

    init(alphabetSize: Int, expectedStates: Int) {
        self.alphabetSize = alphabetSize
        cells = []
        nextFree = []
        prevFree = []
        firstFree = -1
        grow(to: max(expectedStates + alphabetSize + 2, 1024))
        // Cell 0 is the root; it is never free.
        take(0)
        cells[0].check = -2
    }

    private mutating func grow(to newCount: Int) {
        let old = cells.count
        guard newCount > old else { return }
        cells.append(contentsOf: repeatElement(Automaton.Cell(base: 0, check: -1, fail: 0, report: -1), count: newCount - old))
        nextFree.append(contentsOf: repeatElement(-1, count: newCount - old))
        prevFree.append(contentsOf: repeatElement(-1, count: newCount - old))
        // Append the new cells to the free list, keeping it sorted by index.
        var last = lastFree
        for i in old..<newCount {
            prevFree[i] = last
            if last >= 0 { nextFree[Int(last)] = Int32(i) } else { firstFree = Int32(i) }
            last = Int32(i)
        }
        lastFree = last
    }

    private var lastFree: Int32 = -1

    private mutating func take(_ i: Int) {
        let p = prevFree[i], n = nextFree[i]
        if p >= 0 { nextFree[Int(p)] = n } else { firstFree = n }
        if n >= 0 { prevFree[Int(n)] = p } else { lastFree = p }
        nextFree[i] = -1; prevFree[i] = -1
    }

    mutating func findBase(for symbols: [UInt32]) -> Int32 {
        let first = Int(symbols[0])
        var probes = 0
        var candidate = firstFree
        while candidate >= 0 && probes < 4096 {
            let base = Int(candidate) - first
            if base >= 1, fits(base: base, symbols: symbols) { return Int32(base) }
            candidate = nextFree[Int(candidate)]
            probes += 1
        }
        // Fall back to fresh space just after the highest cell in use.
        let base = max(1, highestUsed + 1 - first)
        ensure(base + Int(symbols[symbols.count - 1]) + 1)
        return Int32(base)
    }

    private func fits(base: Int, symbols: [UInt32]) -> Bool {
        for symbol in symbols {
            let t = base + Int(symbol)
            if t >= cells.count { continue }      // grown on placement
            if cells[t].check != -1 { return false }
        }
        return true
    }

    /// Grows geometrically, so placing many nodes at the end costs amortized O(1) each.
    private mutating func ensure(_ count: Int) {
        if count > cells.count { grow(to: max(count, cells.count + cells.count / 2)) }
    }

    /// The highest cell index taken so far.
    private var highestUsed = 0

    mutating func place(parent: Int32, base: Int32, symbols: [UInt32]) {
        ensure(Int(base) + Int(symbols[symbols.count - 1]) + 1)
        highestUsed = max(highestUsed, Int(base) + Int(symbols[symbols.count - 1]))
        cells[Int(parent)].base = base
        for symbol in symbols {
            let t = Int(base) + Int(symbol)
            take(t)
            cells[t].check = parent
        }
    }

    /// Pads the array so `base + symbol` never leaves it, and returns the cells.
    mutating func finish() -> [Automaton.Cell] {
        var maxBase = 0
        for cell in cells where cell.check != -1 { maxBase = max(maxBase, Int(cell.base)) }
        let needed = max(maxBase, highestUsed) + alphabetSize + 1
        if needed > cells.count { grow(to: needed) }
        // Trim the unused tail beyond what transitions can reach.
        if cells.count > needed { cells.removeLast(cells.count - needed) }
        return cells
    }
}
