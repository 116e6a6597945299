import Foundation
@testable import Proxy
import Testing
import TestSupport

/// The byte-range JSON reader the proxy screens with: it must accept and decode what the
/// model server's parser does, refuse what is ambiguous, and splice without touching the rest.
struct JSONDocumentTests {
    private func document(_ text: String) throws -> JSONDocument { try JSONDocument(bytes: Array(text.utf8)) }

    @Test func decodesStringsLikeJSONSerialization() throws {
        let samples = [
            #"{"a":"plain ASCII"}"#,
            #"{"a":"中文 with spaces / and slash"}"#,
            #"{"a":"escapes \" \\ \/ \b \f \n \r \t"}"#,
            #"{"a":"\u7a33\u8d5a\u4e0d\u8d54"}"#,                      // 稳赚不赔 spelt in escapes
            #"{"a":"astral \ud83d\ude00 pair"}"#,
            #"{"a":"mixed 保\u672c and \u00e9"}"#,
            #"{"a":""}"#,
        ]
        for sample in samples {
            let expected = try #require((try JSONSerialization.jsonObject(with: Data(sample.utf8)) as? [String: Any])?["a"] as? String)
            let doc = try document(sample)
            #expect(doc.string(doc.root["a"]) == expected, "\(sample)")
        }
    }

    @Test func acceptsWhatRFC8259AcceptsAndFindsValues() throws {
        let text = " {\n\t\"n\": -1.5e+3, \"z\": 0, \"t\": true, \"f\": false, \"x\": null,\r\n \"arr\": [1, [], {}, \"s\"], \"o\": {\"k\": \"v\"} } "
        let doc = try document(text)
        #expect(doc.root["t"]?.boolValue == true && doc.root["f"]?.boolValue == false)
        #expect(doc.root["arr"]?.elements?.count == 4)
        #expect(doc.string(doc.root["o"]?["k"]) == "v")
        #expect(doc.root["missing"] == nil)
        let n = try #require(doc.root["n"]).range
        #expect(String(decoding: doc.bytes[n], as: UTF8.self) == "-1.5e+3")
    }

    @Test func refusesMalformedAndAmbiguousInput() throws {
        let bad = [
            "", "{", #"{"a":}"#, #"{"a":1,}"#, "[1,]", #"{"a" 1}"#, "{'a':1}", "01", "1.", "-", "1e", "tru", "nul",
            #"{"a":"unterminated}"#, "{\"a\":\"raw\ncontrol\"}", #"{"a":"\x"}"#, #"{"a":"\u12G4"}"#, "{} {}", "// c\n{}",
            #"{"a":1,"a":2}"#,                                   // duplicate keys: parsers disagree on which wins
            #"{"a":"\ud83d"}"#, #"{"a":"\ude00x"}"#, #"{"a":"\ud83d\u0041"}"#,   // unpaired surrogates: the same
        ]
        for text in bad {
            #expect(throws: JSONDocument.ParseError.self, "\(text.debugDescription)") { try document(text) }
        }
        do {
            _ = try JSONDocument(bytes: Array(#"{"a":""#.utf8) + [0xE7, 0xA8] + Array(#""}"#.utf8))
            Issue.record("invalid UTF-8 accepted")
        } catch {
            #expect(error == .invalidUTF8)
        }
    }

    @Test func manyKeysAndDeepNestingAreBounded() throws {
        // 20,000 distinct keys parse (the duplicate check is not quadratic); one repeat is caught.
        let keys = (0..<20_000).map { #""k\#($0)":\#($0)"# }
        let doc = try document("{" + keys.joined(separator: ",") + "}")
        #expect(doc.root.members?.count == 20_000)
        #expect(throws: JSONDocument.ParseError.self) { try document("{" + keys.joined(separator: ",") + #","k19999":0}"#) }
        // Deep nesting is an error, not a stack overflow.
        #expect(throws: JSONDocument.ParseError.self) { try document(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)) }
        _ = try document(String(repeating: "[", count: 200) + String(repeating: "]", count: 200))
    }

    @Test func splicingChangesOnlyTheEditedValues() throws {
        let text = #"{"model":"m","messages":[{"role":"user","content":"call 13812345678"}],"temperature":0.70,"z":1e2}"#
        let doc = try document(text)
        let content = try #require(doc.root["messages"]?.elements?.first?["content"])
        let out = doc.splicing([(content.range, JSONDocument.literal("call 138****5678 \"quoted\"\n/ 中文"))])
        let expected = #"{"model":"m","messages":[{"role":"user","content":"call 138****5678 \"quoted\"\n/ 中文"}],"temperature":0.70,"z":1e2}"#
        #expect(String(decoding: out, as: UTF8.self) == expected, "numbers and key order as they came")
        let reparsed = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        let message = (reparsed["messages"] as? [[String: Any]])?.first
        #expect(message?["content"] as? String == "call 138****5678 \"quoted\"\n/ 中文")
    }

    @Test func literalsRoundTripEveryControlCharacter() throws {
        let text = String((0..<0x20).map { Character(Unicode.Scalar($0)!) }) + "\"\\/é😀"
        let literal = JSONDocument.literal(text)
        let doc = try JSONDocument(bytes: Array("{\"a\":".utf8) + literal + Array("}".utf8))
        #expect(doc.string(doc.root["a"]) == text)
    }
}

/// Differential checks against Foundation's parser: whatever `JSONDocument` accepts, a standard
/// parser must read the same way (the strings Menshen screens are the strings the model gets).
struct JSONDocumentDifferentialTests {
    static let pieces = ["稳赚", "不赔", "保本", "a", "Z", " ", "\n", "\t", "\"", "\\", "/", "é", "😀", "\u{200B}", "１３８", "\u{7}", "{", "]", ","]

    /// A random JSON text (spelt with random escapes and whitespace) and the strings it holds.
    static func value(_ g: inout SplitMix64, depth: Int, strings: inout [String]) -> String {
        func ws() -> String { ["", " ", "\n", "\t ", "\r\n"][g.below(5)] }
        func literal() -> String {
            var text = ""
            for _ in 0..<g.below(6) { text += pieces[g.below(pieces.count)] }
            strings.append(text)
            var out = "\""
            for scalar in text.unicodeScalars {
                switch (scalar, g.below(4)) {
                case ("\"", _): out += "\\\""
                case ("\\", _): out += "\\\\"
                case (_, 0) where scalar.value < 0x10000: out += String(format: "\\u%04x", scalar.value)
                case (_, 1) where scalar.value >= 0x10000:
                    let v = scalar.value - 0x10000
                    out += String(format: "\\u%04X\\u%04X", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                case ("/", 2): out += "\\/"
                case ("\n", _): out += "\\n"
                case ("\t", _): out += "\\t"
                case (_, _) where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        switch depth > 3 ? g.below(4) : g.below(6) {
        case 0: return literal()
        case 1: return ["0", "-1", "3.25", "1e3", "-0.5E-2", "12345678901234567"][g.below(6)]
        case 2: return ["true", "false", "null"][g.below(3)]
        case 3: return literal()
        case 4:
            let n = g.below(4)
            return "[" + ws() + (0..<n).map { _ in value(&g, depth: depth + 1, strings: &strings) }.joined(separator: ws() + "," + ws()) + ws() + "]"
        default:
            let n = g.below(4)
            let members = (0..<n).map { k in "\"k\(k)\"" + ws() + ":" + ws() + value(&g, depth: depth + 1, strings: &strings) }
            return "{" + ws() + members.joined(separator: "," + ws()) + ws() + "}"
        }
    }

    /// Every key and string value of a parsed document; object members in key order (Foundation
    /// does not keep document order), so the two parsers' readings compare directly.
    static func strings(_ document: JSONDocument, _ node: JSONNode) -> [String] {
        switch node {
        case .string: return [document.string(node)!]
        case .array(let elements, _): return elements.flatMap { strings(document, $0) }
        case .object(let members, _):
            return members.sorted { $0.key < $1.key }.flatMap { ["key:" + $0.key] + strings(document, $0.value) }
        default: return []
        }
    }

    static func foundationStrings(_ value: Any) -> [String] {
        if let s = value as? String { return [s] }
        if let a = value as? [Any] { return a.flatMap { foundationStrings($0) } }
        if let o = value as? [String: Any] {
            return o.keys.sorted().flatMap { ["key:" + $0] + foundationStrings(o[$0]!) }
        }
        return []
    }

    @Test func acceptedDocumentsReadTheSameAsFoundation() throws {
        var g = SplitMix64(state: 20261129)
        for round in 0..<2000 {
            var expected: [String] = []
            let text = Self.value(&g, depth: 0, strings: &expected)
            let document = try JSONDocument(bytes: Array(text.utf8))
            let ours = Self.strings(document, document.root)
            #expect(ours.filter { !$0.hasPrefix("key:") } == expected, "round \(round): \(text)")
            let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(Self.foundationStrings(foundation) == ours, "round \(round): \(text)")
        }
    }

    @Test func mutatedInputIsNeverReadDifferently() throws {
        // Byte flips, cuts and insertions: JSONDocument may refuse what Foundation accepts
        // (duplicates), but whatever it accepts Foundation accepts too, with the same keys and
        // strings.
        var g = SplitMix64(state: 45438)
        var accepted = 0
        for _ in 0..<3000 {
            var ignored: [String] = []
            var bytes = Array(Self.value(&g, depth: 0, strings: &ignored).utf8)
            guard !bytes.isEmpty else { continue }
            switch g.below(3) {
            case 0: bytes[g.below(bytes.count)] = UInt8(truncatingIfNeeded: g.next())
            case 1: bytes.removeSubrange(g.below(bytes.count)...)
            default: bytes.insert(Array("\",:{}[]\\ \u{0}".utf8)[g.below(10)], at: g.below(bytes.count))
            }
            guard let document = try? JSONDocument(bytes: bytes) else { continue }
            accepted += 1
            let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            #expect(foundation != nil, "accepted what Foundation refuses: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if let foundation {
                #expect(Self.foundationStrings(foundation) == Self.strings(document, document.root),
                        "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            }
        }
        #expect(accepted > 100, "the mutations left enough valid documents to compare")
    }
}
