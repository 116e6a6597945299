import Foundation
@testable import Proxy
import Testing

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
