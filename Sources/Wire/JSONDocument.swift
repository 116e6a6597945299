import Foundation
import Normalization

/// A parsed JSON text that remembers where every value sits in the original bytes.
///
/// Why not `JSONSerialization`: on the request path Menshen only *reads* a few strings of a
/// body (the prompts, the answer) and, rarely, changes some of them. Bridging a whole body into
/// `[String: Any]` and serializing it back was the largest cost of a screened request, and
/// the round trip reordered keys and reformatted numbers the model server never asked to have
/// changed. Here a body is validated and indexed once (strings decoded only when asked for), and
/// a change is a splice of the original bytes: everything Menshen does not touch goes on
/// byte for byte.
///
/// Strict RFC 8259: one value, no trailing commas or comments, no raw control characters in
/// strings, valid UTF-8, surrogate escapes in pairs. Duplicate object keys are refused — different parsers keep different
/// ones, and what Menshen screens must be what the model server reads.
public struct JSONDocument: Sendable {
    public let bytes: [UInt8]
    public let root: JSONNode

    public enum ParseError: Error, Equatable {
        case invalidUTF8
        case syntax(String)
    }

    /// Nesting deeper than this is refused (a recursive parser must not run out of stack).
    public static let maximumDepth = 256

    public init(_ data: Data) throws(ParseError) {
        try self.init(bytes: Array(data))
    }

    public init(bytes: [UInt8]) throws(ParseError) {
        self.bytes = bytes
        let parsed: Result<JSONNode, ParseError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParserCore(buffer)
            do throws(ParseError) {
                parser.skipWhitespace()
                let value = try parser.parseValue(depth: 0)
                parser.skipWhitespace()
                guard parser.index == buffer.count else { throw parser.failure("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        root = try parsed.get()
    }

    /// The decoded text of a string node (nil for any other node).
    public func string(_ node: JSONNode?) -> String? {
        guard case .string(let range, let escaped)? = node else { return nil }
        return bytes.withUnsafeBufferPointer { buffer in
            let raw = UnsafeBufferPointer(rebasing: buffer[(range.lowerBound + 1)..<(range.upperBound - 1)])
            return escaped ? JSONParserCore.unescape(raw) : String(decoding: raw, as: UTF8.self)
        }
    }

    /// The value of an integer number node (nil for anything else, or out of range).
    public func int(_ node: JSONNode?) -> Int? {
        guard case .number(let range)? = node else { return nil }
        // Digits only (no sign, fraction or exponent): what a choice or tool index looks like.
        var value = 0
        for b in bytes[range] {
            guard b >= 0x30 && b <= 0x39, value < Int.max / 10 - 9 else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        return value
    }

    /// The bytes to cut to remove member `k` of an object with these members, separating comma
    /// included, so that the object stays valid JSON.
    public static func removalRange(of k: Int, in members: [JSONMember]) -> Range<Int> {
        if k + 1 < members.count { return members[k].range.lowerBound..<members[k + 1].range.lowerBound }
        if k > 0 { return members[k - 1].range.upperBound..<members[k].range.upperBound }
        return members[k].range
    }

    /// A copy of the bytes with each range replaced (ranges must not overlap).
    public func splicing(_ edits: [(range: Range<Int>, with: [UInt8])]) -> Data {
        var out = Data()
        out.reserveCapacity(bytes.count + edits.reduce(0) { $0 + $1.with.count })
        var at = 0
        for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            precondition(edit.range.lowerBound >= at, "overlapping JSON edits")
            out.append(contentsOf: bytes[at..<edit.range.lowerBound])
            out.append(contentsOf: edit.with)
            at = edit.range.upperBound
        }
        out.append(contentsOf: bytes[at...])
        return out
    }

    /// `text` as a JSON string literal (quotes included): `"`, `\` and control characters
    /// escaped, everything else (`/`, non-ASCII) as UTF-8.
    public static func literal(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 2)
        for b in text.utf8 {
            let short: UInt8
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): short = b
            case 0x0A: short = UInt8(ascii: "n")
            case 0x0D: short = UInt8(ascii: "r")
            case 0x09: short = UInt8(ascii: "t")
            case 0x08: short = UInt8(ascii: "b")
            case 0x0C: short = UInt8(ascii: "f")
            case 0..<0x20: short = 0          // \u00XX below
            default:
                out.append(b)
                continue
            }
            out.append(0x5C)
            if short != 0 {
                out.append(short)
            } else {
                out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
                out.append(Self.hexDigits[Int(b >> 4)]); out.append(Self.hexDigits[Int(b & 0xF)])
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// One value of a ``JSONDocument`` and where it is (`range` covers the whole value, quotes
/// and brackets included).
public indirect enum JSONNode: Sendable {
    case object([JSONMember], range: Range<Int>)
    case array([JSONNode], range: Range<Int>)
    /// `escaped`: the literal contains a backslash escape (decoding is not a plain copy).
    case string(range: Range<Int>, escaped: Bool)
    case number(range: Range<Int>)
    case bool(Bool, range: Range<Int>)
    case null(range: Range<Int>)

    public var range: Range<Int> {
        switch self {
        case .object(_, let r), .array(_, let r), .string(let r, _), .number(let r), .bool(_, let r), .null(let r): return r
        }
    }

    /// The member named `key` of an object (nil for a missing key or another kind of node).
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members, _) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The elements of an array (nil for another kind of node).
    public var elements: [JSONNode]? {
        guard case .array(let elements, _) = self else { return nil }
        return elements
    }

    public var members: [JSONMember]? {
        guard case .object(let members, _) = self else { return nil }
        return members
    }

    public var boolValue: Bool? {
        guard case .bool(let b, _) = self else { return nil }
        return b
    }

    public var isObject: Bool { members != nil }
    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var isString: Bool { if case .string = self { return true } else { return false } }
    public var isNumber: Bool { if case .number = self { return true } else { return false } }
}

public struct JSONMember: Sendable {
    public let key: String
    public let value: JSONNode
    /// From the key's opening quote to the end of the value.
    public let range: Range<Int>
}

/// The recursive-descent parser behind ``JSONDocument`` (bytes borrowed for the parse only).
public struct JSONParserCore {
    public let p: UnsafeBufferPointer<UInt8>
    public var index = 0

    public init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    public func failure(_ message: String) -> JSONDocument.ParseError { .syntax("\(message) at byte \(index)") }

    @inline(__always)
    public mutating func skipWhitespace() {
        while index < p.count {
            switch p[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    public mutating func parseValue(depth: Int) throws(JSONDocument.ParseError) -> JSONNode {
        guard index < p.count else { throw failure("unexpected end of JSON") }
        let start = index
        switch p[index] {
        case UInt8(ascii: "{"):
            guard depth < JSONDocument.maximumDepth else { throw failure("JSON nested too deeply") }
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < JSONDocument.maximumDepth else { throw failure("JSON nested too deeply") }
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            let escaped = try scanString()
            return .string(range: start..<index, escaped: escaped)
        case UInt8(ascii: "t"): try literal("true"); return .bool(true, range: start..<index)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false, range: start..<index)
        case UInt8(ascii: "n"): try literal("null"); return .null(range: start..<index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
            return .number(range: start..<index)
        default:
            if p[index] >= 0x80 && !Self.isValidUTF8(p) { throw .invalidUTF8 }
            throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONDocument.ParseError) {
        let n = word.utf8CodeUnitCount
        guard index + n <= p.count else { throw failure("unexpected end of JSON") }
        let w = word.utf8Start
        for k in 0..<n where p[index + k] != w[k] { throw failure("invalid literal") }
        index += n
    }

    private mutating func scanNumber() throws(JSONDocument.ParseError) {
        if p[index] == UInt8(ascii: "-") { index += 1 }
        guard index < p.count, isDigit(p[index]) else { throw failure("invalid number") }
        if p[index] == UInt8(ascii: "0") { index += 1 } else { while index < p.count && isDigit(p[index]) { index += 1 } }
        if index < p.count && p[index] == UInt8(ascii: ".") {
            index += 1
            guard index < p.count, isDigit(p[index]) else { throw failure("invalid number") }
            while index < p.count && isDigit(p[index]) { index += 1 }
        }
        if index < p.count && (p[index] == UInt8(ascii: "e") || p[index] == UInt8(ascii: "E")) {
            index += 1
            if index < p.count && (p[index] == UInt8(ascii: "+") || p[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < p.count, isDigit(p[index]) else { throw failure("invalid number") }
            while index < p.count && isDigit(p[index]) { index += 1 }
        }
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Moves past a string literal (at its opening quote); returns whether it has escapes.
    /// Checks escapes and UTF-8 on the way.
    private mutating func scanString() throws(JSONDocument.ParseError) -> Bool {
        index += 1
        var escaped = false
        while index < p.count {
            let b = p[index]
            if b == UInt8(ascii: "\"") { index += 1; return escaped }
            if b == UInt8(ascii: "\\") {
                escaped = true
                guard index + 1 < p.count else { break }
                switch p[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard let unit = escapedUnit(at: index) else { throw failure("invalid \\u escape") }
                    index += 6
                    // Surrogates must pair: parsers disagree on a lone one (refused, replaced,
                    // or kept), so it is refused here like any other ambiguity.
                    if (0xD800...0xDBFF).contains(unit) {
                        guard let low = escapedUnit(at: index), (0xDC00...0xDFFF).contains(low) else {
                            throw failure("unpaired surrogate escape")
                        }
                        index += 6
                    } else if (0xDC00...0xDFFF).contains(unit) {
                        throw failure("unpaired surrogate escape")
                    }
                default:
                    throw failure("invalid escape")
                }
                continue
            }
            if b < 0x20 { throw failure("control character in string") }
            if b < 0x80 { index += 1; continue }
            guard let length = Self.wellFormedLength(p, index) else { throw .invalidUTF8 }
            index += length
        }
        throw failure("unterminated string")
    }

    /// The code unit of a `\uXXXX` escape starting at `i`, or nil.
    private func escapedUnit(at i: Int) -> UInt32? {
        guard i + 6 <= p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else { return nil }
        var value: UInt32 = 0
        for k in 2..<6 {
            guard let h = Self.hexValue(p[i + k]) else { return nil }
            value = value << 4 | h
        }
        return value
    }

    private mutating func parseObject(depth: Int) throws(JSONDocument.ParseError) -> JSONNode {
        let start = index
        index += 1
        var members: [JSONMember] = []
        var seen: Set<String> = []
        skipWhitespace()
        if index < p.count && p[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members, range: start..<index)
        }
        while true {
            skipWhitespace()
            guard index < p.count, p[index] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let keyStart = index
            let escaped = try scanString()
            let raw = UnsafeBufferPointer(rebasing: p[(keyStart + 1)..<(index - 1)])
            let key = escaped ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
            skipWhitespace()
            guard index < p.count, p[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // Linear for the small objects of chat payloads; a set once an object is large, so a
            // body of many keys cannot make this quadratic.
            let duplicate: Bool
            if members.count < 16 {
                duplicate = members.contains { $0.key == key }
            } else {
                if seen.isEmpty { seen = Set(members.map(\.key)) }
                duplicate = !seen.insert(key).inserted
            }
            if duplicate { throw .syntax("duplicate key \"\(key.prefix(64))\" at byte \(keyStart)") }
            members.append(JSONMember(key: key, value: value, range: keyStart..<index))
            skipWhitespace()
            guard index < p.count else { throw failure("unexpected end of JSON") }
            if p[index] == UInt8(ascii: ",") { index += 1; continue }
            if p[index] == UInt8(ascii: "}") { index += 1; return .object(members, range: start..<index) }
            throw failure("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONDocument.ParseError) -> JSONNode {
        let start = index
        index += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if index < p.count && p[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements, range: start..<index)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < p.count else { throw failure("unexpected end of JSON") }
            if p[index] == UInt8(ascii: ",") { index += 1; continue }
            if p[index] == UInt8(ascii: "]") { index += 1; return .array(elements, range: start..<index) }
            throw failure("expected ',' or ']'")
        }
    }

    // MARK: UTF-8 and escapes

    public static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    /// The length of the well-formed UTF-8 sequence at `i`, or nil (the scanners' decoder,
    /// which reads an ill-formed byte as a 1-byte U+FFFD).
    public static func wellFormedLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard case .scalar(let scalar, let length) = UTF8Scalar.decode(p.baseAddress!, i, p.count, final: true),
              !(scalar == 0xFFFD && length == 1) else { return nil }
        return length
    }

    public static func isValidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < p.count {
            guard let n = wellFormedLength(p, i) else { return false }
            i += n
        }
        return true
    }

    /// Decodes a validated string literal's contents (surrogate escapes are known to pair).
    public static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func code(at k: Int) -> UInt32 {
            (hexValue(raw[k])! << 12) | (hexValue(raw[k + 1])! << 8) | (hexValue(raw[k + 2])! << 4) | hexValue(raw[k + 3])!
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = code(at: i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") {
                    let low = code(at: i + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}", into: { out.append($0) })
            default: out.append(e)          // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
