@testable import Proxy
import Testing

/// One reading of the target, without a server: what is refused, how the route is read, and
/// that the forwarded URL reads back to the same path and query.
struct RequestTargetTests {
    @Test("refused targets", arguments: [
        "", "v1/chat/completions", "*", "/v1/chat/completions#", "/v1/chat/completions#x", "/a?b#c",
        "/v1\\chat", "/v1/chat completions", "/v1/%zz", "/v1/%4", "/v1/稳", "/v1/{x}", "/v1/|", "/v1/\"",
        "/v1/<x>", "/v1/`", "/v1/^", "/v1/[x]", "/v1/\u{7F}", "/v1/\t",
    ])
    func refused(_ raw: String) {
        #expect(throws: RequestTarget.Refusal.self) { try RequestTarget.parse(raw) }
    }

    @Test func anOverlongTargetIsRefused() {
        #expect(throws: RequestTarget.Refusal.self) { try RequestTarget.parse("/" + String(repeating: "a", count: RequestTarget.maximumBytes)) }
    }

    @Test("accepted targets keep their path and query and route canonically", arguments: [
        ("/v1/chat/completions", "/v1/chat/completions", nil as String?, "/v1/chat/completions"),
        ("/v1/chat/completions?api-version=2024-10-21", "/v1/chat/completions", "api-version=2024-10-21", "/v1/chat/completions"),
        ("/V1/Chat/%63ompletions/", "/V1/Chat/%63ompletions/", nil, "/v1/chat/completions"),
        ("/v1/models?x=a?b", "/v1/models", "x=a?b", "/v1/models"),
        ("/v1/a/../chat/./completions;p=1", "/v1/a/../chat/./completions;p=1", nil, "/v1/chat/completions"),
        ("/", "/", nil, "/"),
    ])
    func accepted(_ raw: String, _ path: String, _ query: String?, _ routing: String) throws {
        let target = try RequestTarget.parse(raw)
        #expect(target.raw == raw)
        #expect(String(target.path) == path)
        #expect(target.query.map(String.init) == query)
        #expect(target.routing == routing)
    }

    @Test func theForwardedURLReadsBackToTheRoutedTarget() throws {
        let target = try RequestTarget.parse("/v1/chat/completions?api-version=1")
        #expect(try target.upstreamURL(base: "http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1/chat/completions?api-version=1")
        #expect(try target.upstreamURL(base: "http://127.0.0.1:8000/") == "http://127.0.0.1:8000/v1/chat/completions?api-version=1")
        #expect(try target.upstreamURL(base: "http://gw.internal/prefix") == "http://gw.internal/prefix/v1/chat/completions?api-version=1")
        let encoded = try RequestTarget.parse("/v1/chat/%63ompletions")
        #expect(try encoded.upstreamURL(base: "http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1/chat/%63ompletions")
    }

    @Test func clientRequestIDs() {
        #expect(RequestIDs.accepting("abc-123_x.y:z") == "abc-123_x.y:z")
        for hostile in ["", "a b", "手机", "a\"b", "a\nb", String(repeating: "x", count: 129)] {
            #expect(RequestIDs.accepting(hostile) != hostile)
        }
        #expect(RequestIDs.isPlain(RequestIDs.accepting(nil)))
    }
}

/// SSE framing as EventSource parsers read it (docs/security.md, rule 5).
struct SSEFramingTests {
    @Test func oneLeadingByteOrderMarkIsStrippedWhereverTheReadsSplitIt() throws {
        let stream = Array("\u{FEFF}data: a\n\ndata: b\n\n".utf8)
        for cut in 0...stream.count {
            var parser = SSEParser()
            let events = try parser.feed(stream[..<cut]) + parser.feed(stream[cut...]) + parser.finish()
            #expect(events.map(\.data) == ["a", "b"], "cut at \(cut)")
            #expect(events.allSatisfy { $0.unreadableField == nil })
        }
        // A second BOM is not stripped: it makes an unknown field, which is refused.
        var parser = SSEParser()
        let twice = try parser.feed(Array("\u{FEFF}\u{FEFF}data: a\n\n".utf8))
        #expect(twice.first?.unreadableField != nil)
        // Bytes that only begin like a BOM are ordinary bytes.
        var partial = SSEParser()
        let notBOM = try partial.feed([0xEF, 0xBB] + Array("x: y\n\n".utf8))
        #expect(notBOM.first?.fields.first?.name == String(decoding: [0xEF, 0xBB] + Array("x".utf8), as: UTF8.self))
    }

    @Test func fieldNamesEndAtTheFirstColonByte() throws {
        // U+0600 (a prepended concatenation mark) joins the colon after it into one grapheme;
        // EventSource parsers split on the byte, and so must Menshen (found by fuzz-sse).
        var parser = SSEParser()
        let events = try parser.feed(Array("\u{0600}: x\ndata\u{0600}: y\n\n".utf8))
        #expect(events.first?.fields.map(\.name) == ["\u{0600}", "data\u{0600}"])
        #expect(events.first?.fields.map(\.value) == ["x", "y"])
        #expect(events.first?.unreadableField != nil)
    }

    @Test func anEventIsBoundedNotOnlyItsLines() throws {
        // Endless short `data:` lines without a blank line would grow one event without limit.
        var parser = SSEParser(maximumLineBytes: 1024)
        let lines = Array(String(repeating: "data: x\n", count: 200).utf8)
        #expect(throws: SSEParser.EventTooLarge.self) { _ = try parser.feed(lines) }
        var small = SSEParser(maximumLineBytes: 1024)
        #expect(try small.feed(Array("data: a\ndata: b\n\n".utf8)).map(\.data) == ["a\nb"])
    }

    @Test func fieldsAClientCouldReadDifferentlyAreNamed() throws {
        var parser = SSEParser()
        let events = try parser.feed(Array("Data: x\n\n{\"choices\":[]}\n\nevent: a b\ndata: x\n\nid: 稳\ndata: x\n\nretry: 10\n\nretry: x\n\n: note\ndata: ok\n\n".utf8))
        #expect(events.map { $0.unreadableField != nil } == [true, true, true, true, false, true, false])
        #expect(events.last?.withoutCommentText.fields.first?.value == "")
        #expect(events.last?.withoutCommentText.data == "ok")
    }
}
