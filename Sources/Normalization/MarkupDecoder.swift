/// Reads markup as the text it renders to, incrementally, for the ``NormalizationSteps/markup``
/// step: HTML character references are decoded (`稳&#36186;不赔` → `稳赚不赔`, `&lt;` → `<`), HTML
/// tags and comments are removed (`稳<b></b>赚` → `稳赚`), and terminal escape sequences are removed
/// (`稳\u{1B}[31m赚`). The output is one more *reading* of the text, scanned beside the plain one:
/// what the plain text says is never hidden by it.
///
/// The decoder works on bytes and only ever acts on ASCII (`&`, `<`, ESC), so it never cuts a
/// UTF-8 sequence. Something that may still become markup is held until it is decided, at most
/// ``maximumHeld`` bytes; then, or when it turns out not to be markup, it is passed on as it came.
/// Every output byte is mapped back to the input by ``MarkupOffsetMap``.
public struct MarkupDecoder: Sendable {
    /// The longest markup element held back: a longer "tag" is text.
    public static let maximumHeld = 256

    /// What the bytes held since `heldStart` may still become.
    enum Pending: Sendable {
        case none
        /// `&` and what follows it so far.
        case reference
        /// `<` and what follows it so far.
        case tag
        /// ESC and what follows it so far.
        case escape
    }

    var pending: Pending = .none
    /// The bytes of the undecided element (its first byte is `&`, `<` or ESC).
    var held: [UInt8] = []
    /// Input offset of `held[0]`.
    var heldStart = 0
    /// Output offset of `out[0]` in the current ``decode`` call.
    var outputBase = 0

    public init() {}

    /// Whether nothing is held.
    public var isIdle: Bool { held.isEmpty }
    /// Input offset of the first byte not yet passed on (held), if any.
    public var heldOffset: Int? { held.isEmpty ? nil : heldStart }

    /// Whether `bytes` contains a byte that can start markup: a text without one reads the same.
    public static func mayContainMarkup(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in bytes where b == 0x26 || b == 0x3C || b == 0x1B { return true }
        return false
    }

    /// Decodes `bytes`, which start at input offset `base`, appending the reading to `out` (whose
    /// first byte is at output offset `outputBase`) and its offsets to `map`. With `final`,
    /// whatever is still held is passed on as text.
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, into out: inout [UInt8],
                                outputBase: Int, map: inout MarkupOffsetMap) {
        self.outputBase = outputBase
        decode(bytes, base: base, final: final, into: &out, map: &map)
    }

    private mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, base: Int, final: Bool, into out: inout [UInt8], map: inout MarkupOffsetMap) {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if held.isEmpty {
                // Copy the run of ordinary bytes in one go.
                var j = i
                while j < n && bytes[j] != 0x26 && bytes[j] != 0x3C && bytes[j] != 0x1B { j += 1 }
                if j > i {
                    map.appendIdentity(input: base + i, output: outputBase + out.count, length: j - i)
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<j]))
                    i = j
                    continue
                }
                heldStart = base + i
                held.append(b)
                pending = b == 0x26 ? .reference : b == 0x3C ? .tag : .escape
                i += 1
                continue
            }
            held.append(b)
            i += 1
            step(into: &out, map: &map)
        }
        if final && !held.isEmpty {
            // A reference may end the text without its `;` (`稳赚不&#36180`): browsers read it.
            if case .reference = pending, case .complete(let scalar, let length) = referenceState(atEnd: true), length == held.count {
                emit(scalar: scalar, inputLength: length, into: &out, map: &map)
                clear()
            } else {
                passOnHeld(into: &out, map: &map)
            }
        }
    }

    /// Decides the held element after one more byte, if it can be decided.
    private mutating func step(into out: inout [UInt8], map: inout MarkupOffsetMap) {
        let last = held[held.count - 1]
        switch pending {
        case .none:
            break
        case .reference:
            switch referenceState() {
            case .incomplete: if held.count > 40 { restart(into: &out, map: &map) }
            case .invalid: restart(into: &out, map: &map)
            case .complete(let scalar, let length):
                // `length` bytes make the reference; a byte after it (a reference ended without
                // `;`) is text again.
                emit(scalar: scalar, inputLength: length, into: &out, map: &map)
                let rest = Array(held[length...])
                clear()
                if !rest.isEmpty { reprocess(rest, at: map.lastInputEnd, into: &out, map: &map) }
            }
        case .tag:
            if held.count == 2 {
                // `<` starts a tag only before a letter, `/`, `!` or `?`: "a < b" and "<3" are text.
                let isStart = (last | 0x20) >= 0x61 && (last | 0x20) <= 0x7A || last == 0x2F || last == 0x21 || last == 0x3F
                if !isStart { restart(into: &out, map: &map) }
            } else if last == 0x3E {
                drop(into: &out, map: &map)
            } else if last == 0x3C || held.count > Self.maximumHeld {
                restart(into: &out, map: &map)
            }
        case .escape:
            if held.count == 2 {
                switch last {
                case 0x5B, 0x5D, 0x50, 0x5F, 0x5E: break         // CSI, OSC, DCS, APC, PM: a body follows
                case 0x20...0x2F: break                           // an intermediate byte: one more follows
                case 0x30...0x7E: drop(into: &out, map: &map)      // a two-byte escape (ESC 7, ESC c …)
                default: restart(into: &out, map: &map)
                }
            } else if held[1] == 0x5B {
                // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, one final byte 0x40–0x7E.
                if (0x40...0x7E).contains(last) { drop(into: &out, map: &map) }
                else if !(0x20...0x3F).contains(last) || held.count > 64 { restart(into: &out, map: &map) }
            } else if held[1] >= 0x20 && held[1] <= 0x2F {
                if (0x30...0x7E).contains(last) { drop(into: &out, map: &map) } else if !(0x20...0x2F).contains(last) { restart(into: &out, map: &map) }
            } else {
                // A string (OSC, DCS …): ends with BEL or ESC \.
                if last == 0x07 || (last == 0x5C && held[held.count - 2] == 0x1B) { drop(into: &out, map: &map) }
                else if held.count > Self.maximumHeld { restart(into: &out, map: &map) }
            }
        }
    }

    enum ReferenceState {
        case incomplete
        case invalid
        /// The scalar and how many held bytes make the reference.
        case complete(UInt32, Int)
    }

    /// Reads `held` (starting with `&`) as a character reference; `atEnd`: nothing follows it.
    private func referenceState(atEnd: Bool = false) -> ReferenceState {
        if atEnd {
            // Read as if a terminator followed: every held byte is part of the reference.
            var probe = self
            probe.held.append(0x20)
            guard case .complete(let scalar, let length) = probe.referenceState() else { return .invalid }
            return .complete(scalar, min(length, held.count))
        }
        let last = held[held.count - 1]
        if held.count >= 2 && held[1] == 0x23 {                 // &#
            let hex = held.count >= 3 && (held[2] | 0x20) == 0x78
            let digitsStart = hex ? 3 : 2
            if held.count <= digitsStart { return .incomplete }
            let isDigit = hex ? isHexDigit(last) : (0x30...0x39).contains(last)
            if isDigit { return held.count - digitsStart > 8 ? .invalid : .incomplete }
            let digits = held[digitsStart..<(held.count - 1)]
            guard !digits.isEmpty, let value = UInt32(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 10) else { return .invalid }
            // As browsers do: NUL, surrogates and values past U+10FFFF become U+FFFD.
            let scalar = (value == 0 || value > 0x10FFFF || (0xD800...0xDFFF).contains(value)) ? 0xFFFD : value
            return .complete(scalar, last == 0x3B ? held.count : held.count - 1)
        }
        // A named reference: letters and digits, then `;` (or, for legacy names, anything else).
        if held.count == 1 { return .incomplete }
        let isNameByte = (0x30...0x39).contains(last) || ((last | 0x20) >= 0x61 && (last | 0x20) <= 0x7A)
        if isNameByte { return .incomplete }
        let name = String(decoding: held[1..<(held.count - 1)], as: UTF8.self)
        if last == 0x3B, let scalar = HTMLEntityTable.shared.scalar(named: name + ";") { return .complete(scalar, held.count) }
        if let scalar = HTMLEntityTable.shared.scalar(named: name) { return .complete(scalar, held.count - 1) }
        return .invalid
    }

    private func isHexDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) }

    /// The held element is markup that renders as nothing.
    private mutating func drop(into out: inout [UInt8], map: inout MarkupOffsetMap) {
        map.appendDropped(inputEnd: heldStart + held.count)
        clear()
    }

    private mutating func emit(scalar: UInt32, inputLength: Int, into out: inout [UInt8], map: inout MarkupOffsetMap) {
        let before = out.count
        let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(s).utf8))
        map.appendReplacement(input: heldStart, inputLength: inputLength, output: outputBase + before, outputLength: out.count - before)
    }

    /// The held bytes are not markup: pass the first on as text and read the rest again (it may
    /// start markup itself: `&&#36186;`, `<<b>`).
    private mutating func restart(into out: inout [UInt8], map: inout MarkupOffsetMap) {
        let first = held[0]
        let rest = Array(held.dropFirst())
        let start = heldStart
        clear()
        map.appendIdentity(input: start, output: outputBase + out.count, length: 1)
        out.append(first)
        reprocess(rest, at: start + 1, into: &out, map: &map)
    }

    private mutating func passOnHeld(into out: inout [UInt8], map: inout MarkupOffsetMap) {
        let bytes = held
        let start = heldStart
        clear()
        map.appendIdentity(input: start, output: outputBase + out.count, length: bytes.count)
        out.append(contentsOf: bytes)
    }

    private mutating func reprocess(_ bytes: [UInt8], at offset: Int, into out: inout [UInt8], map: inout MarkupOffsetMap) {
        bytes.withUnsafeBufferPointer { decode($0, base: offset, final: false, into: &out, map: &map) }
    }

    private mutating func clear() {
        held.removeAll(keepingCapacity: true)
        pending = .none
    }
}

/// Maps offsets of a markup reading back to the text it was read from.
public struct MarkupOffsetMap: Sendable {
    /// A run of output bytes and the input bytes they came from.
    struct Segment: Sendable {
        let output: Int
        let outputLength: Int
        let input: Int
        let inputLength: Int
    }
    var segments: [Segment] = []
    /// Input offset just after the last mapped input byte (dropped markup included).
    public private(set) var lastInputEnd = 0

    /// A map whose first `offset` bytes read the same in the input and the output.
    public init(identityUpTo offset: Int = 0) {
        if offset > 0 { appendIdentity(input: 0, output: 0, length: offset) }
    }

    mutating func appendIdentity(input: Int, output: Int, length: Int) {
        if let last = segments.last, last.outputLength == last.inputLength,
           last.output + last.outputLength == output, last.input + last.inputLength == input {
            segments[segments.count - 1] = Segment(output: last.output, outputLength: last.outputLength + length, input: last.input, inputLength: last.inputLength + length)
        } else {
            segments.append(Segment(output: output, outputLength: length, input: input, inputLength: length))
        }
        lastInputEnd = input + length
    }

    mutating func appendReplacement(input: Int, inputLength: Int, output: Int, outputLength: Int) {
        segments.append(Segment(output: output, outputLength: outputLength, input: input, inputLength: inputLength))
        lastInputEnd = input + inputLength
    }

    mutating func appendDropped(inputEnd: Int) { lastInputEnd = inputEnd }

    /// The input offset of output byte `offset` (the start of a match).
    public func inputStart(of offset: Int) -> Int {
        guard let s = segment(containing: offset) else { return lastInputEnd }
        return s.outputLength == s.inputLength ? s.input + (offset - s.output) : s.input
    }

    /// The input offset just after output byte `offset - 1` (the end of a match).
    public func inputEnd(of offset: Int) -> Int {
        guard offset > 0, let s = segment(containing: offset - 1) else { return inputStart(of: offset) }
        return s.outputLength == s.inputLength ? s.input + (offset - s.output) : s.input + s.inputLength
    }

    private func segment(containing offset: Int) -> Segment? {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let s = segments[mid]
            if offset < s.output { hi = mid } else if offset >= s.output + s.outputLength { lo = mid + 1 } else { return s }
        }
        return nil
    }

    /// Forgets segments that end before output offset `offset` (no later lookup reaches them).
    public mutating func forget(before offset: Int) {
        var k = 0
        while k < segments.count && segments[k].output + segments[k].outputLength < offset { k += 1 }
        if k > 64 || (k > 0 && k == segments.count) { segments.removeFirst(k) }
    }
}

/// The named references of ``HTMLEntities``, parsed once.
final class HTMLEntityTable: Sendable {
    static let shared = HTMLEntityTable()
    let scalars: [String: UInt32]

    private init() {
        var map: [String: UInt32] = [:]
        for line in HTMLEntities.table.split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: " ")
            if let value = UInt32(line[line.index(after: colon)...], radix: 16) { map[name] = value }
        }
        scalars = map
    }

    func scalar(named name: String) -> UInt32? { scalars[name] }
}
