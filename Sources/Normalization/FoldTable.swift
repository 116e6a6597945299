/// Scalar-to-scalars folding for a fixed set of steps, precomputed for the BMP.
///
/// Regex rules use it (width folding and invisible removal, no case folding or noise
/// skipping): `１３８` must reach a phone-number pattern as `138`, but a pattern's own
/// character classes decide about case and separators.
public struct FoldTable: Sendable {
    /// Per BMP scalar: ``identity``, ``removed``, a single replacement scalar (with
    /// ``singleFlag``), or an index into ``expansions`` (count followed by scalars).
    @usableFromInline let bmp: [UInt32]
    @usableFromInline let astral: [UInt32: [UInt32]]
    public let expansions: [UInt32]
    public let steps: NormalizationSteps
    /// Every ASCII scalar folds to itself, so callers may copy ASCII runs without folding.
    public let asciiIsIdentity: Bool

    public static let identity: UInt32 = 0xFFFF_FFFF
    public static let removed: UInt32 = 0xFFFF_FFFE
    public static let singleFlag: UInt32 = 0x8000_0000

    public init(steps: NormalizationSteps) {
        self.steps = steps
        let folding = UnicodeFolding.shared
        var expansions: [UInt32] = []
        var bmp = [UInt32](repeating: Self.identity, count: 0x10000)
        for cp in 0..<UInt32(0x10000) where !(0xD800...0xDFFF).contains(cp) {
            let folded = folding.fold(cp, steps: steps)
            if folded == [cp] { continue }
            switch folded.count {
            case 0: bmp[Int(cp)] = Self.removed
            case 1: bmp[Int(cp)] = Self.singleFlag | folded[0]
            default:
                bmp[Int(cp)] = UInt32(expansions.count)
                expansions.append(UInt32(folded.count))
                expansions.append(contentsOf: folded)
            }
        }
        var astral: [UInt32: [UInt32]] = [:]
        var keys = Set<UInt32>()
        keys.formUnion(folding.astralSources)
        for range in folding.invisibleRanges where range.upperBound > 0xFFFF {
            keys.formUnion(max(range.lowerBound, 0x10000)...range.upperBound)
        }
        for cp in keys {
            let folded = folding.fold(cp, steps: steps)
            if folded != [cp] { astral[cp] = folded }
        }
        self.asciiIsIdentity = bmp[0..<0x80].allSatisfy { $0 == Self.identity }
        self.bmp = bmp
        self.astral = astral
        self.expansions = expansions
    }

    /// Whether `scalar` folds to itself.
    @inlinable @inline(__always)
    public func leavesUnchanged(_ scalar: UInt32) -> Bool {
        if scalar < 0x10000 { return bmp.withUnsafeBufferPointer { $0[Int(scalar)] } == Self.identity }
        return astral[scalar] == nil
    }

    /// Calls `body` with each scalar `scalar` folds to (none when it is removed).
    @inlinable @inline(__always)
    public func fold(_ scalar: UInt32, _ body: (UInt32) -> Void) {
        if scalar < 0x10000 {
            let e = bmp.withUnsafeBufferPointer { $0[Int(scalar)] }
            if e == Self.identity { body(scalar); return }
            if e == Self.removed { return }
            if e & Self.singleFlag != 0 { body(e & ~Self.singleFlag); return }
            let count = Int(expansions[Int(e)])
            for k in 0..<count { body(expansions[Int(e) + 1 + k]) }
            return
        }
        if let mapped = astral[scalar] { mapped.forEach(body) } else { body(scalar) }
    }
}
