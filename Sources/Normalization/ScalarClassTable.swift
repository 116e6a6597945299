/// One lookup per input scalar that does all of normalization and alphabet mapping at once.
///
/// Built when a lexicon profile is compiled: for every BMP code point it folds the scalar through
/// the profile's steps and records what the scan loop must do with it — feed a symbol to the
/// automaton, reset the automaton (a letter no term contains), skip it (noise, invisible), or
/// feed a short sequence (an expansion such as `⑩` → `10`). Astral scalars that any table maps
/// are precomputed in a dictionary; every other astral scalar is classified from its Unicode
/// properties without allocating.
public struct ScalarClassTable: Sendable {
    /// What the scan loop does with one scalar.
    public enum Kind: UInt32, Sendable {
        /// Feed `payload` as a symbol; payload 0 means "not in any term": reset to the root.
        case solid = 0
        /// A separator skipped by noise skipping; it breaks word boundaries.
        case noise = 1
        /// An invisible character, removed entirely.
        case drop = 2
        /// Several entries; `payload` indexes ``expansions``.
        case expansion = 3
    }

    /// Packed entry: bits 0–23 payload, bit 24 word character, bits 28–29 kind.
    public typealias Entry = UInt32
    public static let payloadMask: UInt32 = 0x00FF_FFFF
    public static let wordBit: UInt32 = 1 << 24
    public static let kindShift: UInt32 = 28

    @inlinable public static func kind(_ e: Entry) -> UInt32 { e >> kindShift }
    @inlinable public static func payload(_ e: Entry) -> UInt32 { e & payloadMask }
    @inlinable public static func isWord(_ e: Entry) -> Bool { e & wordBit != 0 }

    static func make(_ kind: Kind, payload: UInt32 = 0, word: Bool = false) -> Entry {
        kind.rawValue << kindShift | (word ? wordBit : 0) | (payload & payloadMask)
    }

    /// Entries for U+0000…U+FFFF.
    public let bmp: [Entry]
    /// Entries for astral scalars that some table maps or the alphabet contains.
    @usableFromInline let astral: [UInt32: Entry]
    /// Expansion lists: `expansions[i]` is a count n, followed by n entries (never expansions).
    public let expansions: [Entry]
    public let steps: NormalizationSteps

    /// Builds the table for `steps`, mapping each folded scalar to its automaton symbol with
    /// `symbol` (which returns 0 for scalars no term contains).
    /// `astralAlphabet` lists the astral scalars that occur in terms after folding, so text that
    /// contains them unmapped finds them too.
    public init(steps: NormalizationSteps, astralAlphabet: [UInt32] = [], symbol: (UInt32) -> UInt32) {
        self.steps = steps
        let folding = UnicodeFolding.shared
        var expansions: [Entry] = []

        func entries(for scalar: UInt32) -> [Entry] {
            folding.fold(scalar, steps: steps).map { folded in
                let word = UnicodeFolding.isWordCharacter(folded)
                if steps.contains(.noise) && UnicodeFolding.isNoise(folded) { return Self.make(.noise) }
                return Self.make(.solid, payload: symbol(folded), word: word)
            }
        }
        func entry(for scalar: UInt32) -> Entry {
            let list = entries(for: scalar)
            switch list.count {
            case 0: return Self.make(.drop)
            case 1: return list[0]
            default:
                let index = UInt32(expansions.count)
                expansions.append(UInt32(list.count))
                expansions.append(contentsOf: list)
                return Self.make(.expansion, payload: index)
            }
        }

        var bmp = [Entry](repeating: 0, count: 0x10000)
        for cp in 0..<UInt32(0x10000) where !(0xD800...0xDFFF).contains(cp) {
            bmp[Int(cp)] = entry(for: cp)
        }
        var astral: [UInt32: Entry] = [:]
        var interesting = Set<UInt32>()
        interesting.formUnion(folding.astralSources)
        for range in folding.invisibleRanges where range.upperBound > 0xFFFF {
            interesting.formUnion(max(range.lowerBound, 0x10000)...range.upperBound)
        }
        interesting.formUnion(astralAlphabet)
        for cp in interesting {
            astral[cp] = entry(for: cp)
        }
        self.bmp = bmp
        self.astral = astral
        self.expansions = expansions
    }

    /// The entry for any scalar value.
    @inlinable @inline(__always)
    public func entry(_ scalar: UInt32) -> Entry {
        if scalar < 0x10000 { return bmp.withUnsafeBufferPointer { $0[Int(scalar)] } }
        return astralEntry(scalar)
    }

    /// The entry for a scalar above U+FFFF.
    public func astralEntry(_ scalar: UInt32) -> Entry {
        if let e = astral[scalar] { return e }
        // Unmapped and in no term: emoji and other symbols are noise, letters reset the automaton.
        if steps.contains(.noise) && UnicodeFolding.isNoise(scalar) { return Self.make(.noise) }
        return Self.make(.solid, payload: 0, word: UnicodeFolding.isWordCharacter(scalar))
    }
}
