import Foundation
@testable import Proxy
@testable import Screening
import Testing
import TestSupport

/// The stream state machine driven directly, without sockets.
struct StreamScreenerTests {
    static let snapshot = Snapshot(lexicons: try! LexiconSet.load(directory: repositoryRoot + "/Lexicons"),
                                   policy: SidecarConfiguration.ScreeningPolicy())

    static func event(_ object: [String: Any]) -> SSEParser.Event {
        .data(String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    static func chunk(_ choices: [[String: Any]]) -> SSEParser.Event {
        event(["id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices])
    }

    /// Runs events through a screener; returns the delivered text per (choice, field) and finish reasons.
    static func run(_ events: [SSEParser.Event]) -> (text: [String: String], finish: [Int: String], done: Bool) {
        var s = StreamScreener(snapshot: snapshot, route: .chatCompletions)
        var out: [SSEParser.Event] = []
        for e in events { out += s.process(e).events }
        out += s.finish().events
        var text: [String: String] = [:]
        var finish: [Int: String] = [:]
        var done = false
        for e in out {
            guard let data = e.data else { continue }
            if data == "[DONE]" { done = true; continue }
            let o = try! JSONSerialization.jsonObject(with: Data(data.utf8)) as! [String: Any]
            for c in o["choices"] as! [[String: Any]] {
                let i = c["index"] as! Int
                if let f = c["finish_reason"] as? String { finish[i] = f }
                let d = c["delta"] as? [String: Any] ?? [:]
                for key in ["content", "reasoning_content", "reasoning"] { if let t = d[key] as? String { text["\(i).\(key)", default: ""] += t } }
                if let a = (d["function_call"] as? [String: Any])?["arguments"] as? String { text["\(i).function_call", default: ""] += a }
                for call in d["tool_calls"] as? [[String: Any]] ?? [] {
                    if let a = (call["function"] as? [String: Any])?["arguments"] as? String { text["\(i).tool\(call["index"] as? Int ?? 0)", default: ""] += a }
                }
            }
        }
        return (text, finish, done)
    }

    @Test func heldTextIsCutFromTheEventAndEverythingElseGoesOnAsItCame() {
        // Events are edited on their bytes: a held field is removed (wherever it sits among the
        // delta's members), released text replaces it, other members and keys stay byte for byte.
        // One term, no regex rules: what is held is exactly a live prefix of 稳赚不赔.
        let lexicons = try! LexiconSet.compile(files: [("t.txt", "@id: t.money\n@category: money\n@action: block\n@direction: output\n稳赚不赔\n")])
        var s = StreamScreener(snapshot: Snapshot(lexicons: lexicons, policy: SidecarConfiguration.ScreeningPolicy()), route: .chatCompletions)
        let cases: [(String, String)] = [
            (#"{"id":"c1","choices":[{"index":0,"delta":{"content":"稳","role":"assistant"},"logprobs":null}],"usage":null,"bench":{"t":1.50}}"#,
             #"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null}],"usage":null,"bench":{"t":1.50}}"#),
            (#"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant", "content":"定"}}],"bench":{"t":2}}"#,
             #"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant", "content":"稳定"}}],"bench":{"t":2}}"#),
            (#"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"好稳","refusal":null}}]}"#,
             #"{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"好","refusal":null}}]}"#),
            (#"{"id":"c1","choices":[{"index":0,"delta":{"content":"固\n/号。"}}]}"#,
             #"{"id":"c1","choices":[{"index":0,"delta":{"content":"稳固\n/号。"}}]}"#),
        ]
        for (input, expected) in cases {
            let out = s.process(.data(input))
            #expect(out.events.map(\.data) == [expected], "\(input)")
        }
        // Nothing to send (all held, no other member): no event at all.
        #expect(s.process(.data(#"{"id":"c1","choices":[{"index":0,"delta":{"content":"稳"}}]}"#)).events.isEmpty)
    }

    @Test func choicesAreScreenedSeparately() {
        // Two choices interleaved; the term split across choice 1's events, while choice 0 is clean.
        let r = Self.run([
            Self.chunk([["index": 0, "delta": ["content": "你好"]], ["index": 1, "delta": ["content": "这个稳"]]]),
            Self.chunk([["index": 0, "delta": ["content": "，世界"]], ["index": 1, "delta": ["content": "赚"]]]),
            Self.chunk([["index": 0, "delta": [String: Any](), "finish_reason": "stop"]]),
            Self.chunk([["index": 1, "delta": ["content": "不赔"]]]),
            .data("[DONE]"),
        ])
        #expect(r.text["0.content"] == "你好，世界")
        #expect(r.text["1.content"] == "这个")
        #expect(r.finish[0] == "stop")
        #expect(r.finish[1] == "content_filter")
        #expect(r.done)
    }

    @Test func reasoningAndToolArgumentsAreScreened() {
        let r = Self.run([
            Self.chunk([["index": 0, "delta": ["reasoning_content": "用户的手机是 1381234"]]]),
            Self.chunk([["index": 0, "delta": ["reasoning_content": "5678，需要回复"]]]),
            Self.chunk([["index": 0, "delta": ["tool_calls": [["index": 0, "id": "t", "type": "function", "function": ["name": "sms", "arguments": "{\"to\":\"139"]]]]]]),
            Self.chunk([["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": "87654321\"}"]]]]]]),
            Self.chunk([["index": 0, "delta": [String: Any](), "finish_reason": "tool_calls"]]),
            .data("[DONE]"),
        ])
        #expect(r.text["0.reasoning_content"] == "用户的手机是 138****5678，需要回复")
        #expect(r.text["0.tool0"] == "{\"to\":\"139****4321\"}")
        #expect(r.finish[0] == "tool_calls")
    }

    @Test func legacyFunctionCallArgumentsAreScreenedAcrossChunks() {
        let r = Self.run([
            Self.chunk([["index": 0, "delta": ["role": "assistant", "function_call": ["name": "sms", "arguments": "{\"to\":\"139"]]]]),
            Self.chunk([["index": 0, "delta": ["function_call": ["arguments": "8765"]]]]),
            Self.chunk([["index": 0, "delta": ["function_call": ["arguments": "4321\"}"]]]]),
            Self.chunk([["index": 0, "delta": [String: Any](), "finish_reason": "function_call"]]),
            .data("[DONE]"),
        ])
        #expect(r.text["0.function_call"] == "{\"to\":\"139****4321\"}")
        #expect(r.finish[0] == "function_call")
    }

    @Test func textAChoiceSendsAfterItsFinishIsScreenedToo() {
        let r = Self.run([
            Self.chunk([["index": 0, "delta": ["content": "好的"], "finish_reason": "stop"]]),
            Self.chunk([["index": 0, "delta": ["content": "这款产品稳赚不赔"]]]),
            .data("[DONE]"),
        ])
        #expect(!(r.text["0.content"] ?? "").contains("稳赚不赔"), "\(r.text)")
    }

    @Test func escapedToolArgumentsAreScreenedDecoded() {
        // Python's json.dumps escapes every non-ASCII character: 稳赚不赔 as \u escapes, split
        // across chunks in the middle of an escape.
        let args = #"{"text": "\u7a33\u8d5a\u4e0d\u8d54"}"#
        let pieces = [String(args.prefix(15)), String(args.dropFirst(15).prefix(9)), String(args.dropFirst(24))]
        var events = pieces.map { Self.chunk([["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": $0]]]]]]) }
        events.append(.data("[DONE]"))
        let r = Self.run(events)
        #expect(r.finish[0] == "content_filter")
        #expect(!(r.text["0.tool0"] ?? "").contains("u7a33"), "\(r.text)")
        // A clean escaped text is delivered decoded: equivalent JSON.
        let clean = Self.run([Self.chunk([["index": 0, "delta": ["tool_calls": [["index": 0, "function": ["arguments": #"{"t": "\u4f60\u597d"}"#]]]]]]), .data("[DONE]")])
        #expect(clean.text["0.tool0"] == #"{"t": "你好"}"#)
    }

    @Test func unescaperDecodesOnlyWhatJSONDoesNotRequire() {
        let cases: [(String, String)] = [
            (#"\u7a33\u8d5a"#, "稳赚"),
            (#"\\u7a33"#, #"\\u7a33"#),                    // an escaped backslash, then letters
            (#"\u0022\u005c\u000a"#, #"\u0022\u005c\u000a"#),  // must stay escaped in JSON
            (#"\ud83d\ude00"#, "😀"),
            (#"\ud83d x"#, #"\ud83d x"#),                    // a lone high surrogate stays
            (#"\udc00"#, #"\udc00"#),
            (#"\u12"#, #"\u12"#),
            (#"a\"b\nc"#, #"a\"b\nc"#),
        ]
        for (input, expected) in cases {
            #expect(JSONUnicodeUnescaper.decode(input) == expected, "\(input)")
            // Fed in pieces split anywhere, the result is the same.
            let bytes = Array(input)
            for cut in 0...bytes.count {
                var d = JSONUnicodeUnescaper()
                let out = d.feed(String(bytes[..<cut])) + d.feed(String(bytes[cut...])) + d.finish()
                #expect(out == expected, "\(input) cut at \(cut)")
            }
        }
    }

    @Test func reasoningUnderVLLMsNewerNameIsScreenedToo() {
        // vLLM (from 0.17) and Ollama stream the chain of thought as `reasoning`; a term split
        // across its deltas must not reach the client, and a phone number in it is masked.
        let r = Self.run([
            Self.chunk([["index": 0, "delta": ["reasoning": "用户的手机是 1381234"]]]),
            Self.chunk([["index": 0, "delta": ["reasoning": "5678，告诉他这款产品稳"]]]),
            Self.chunk([["index": 0, "delta": ["reasoning": "赚不赔。"]]]),
            .data("[DONE]"),
        ])
        #expect(r.text["0.reasoning"] == "用户的手机是 138****5678，告诉他这款产品")
        #expect(r.finish[0] == "content_filter")
        #expect(r.done)
    }

    @Test func outputFieldsSelectBothNamesOfReasoning() throws {
        let c = try SidecarConfiguration.parse(yaml: "screening:\n  output_fields: [content, reasoning_content]\n")
        #expect(c.screening.outputFields == [.content, .reasoningContent, .reasoning])
        let d = try SidecarConfiguration.parse(yaml: "screening:\n  output_fields: [reasoning]\n")
        #expect(d.screening.outputFields == [.reasoningContent, .reasoning])
        let t = try SidecarConfiguration.parse(yaml: "screening:\n  output_fields: [content, tool_arguments]\n")
        #expect(t.screening.outputFields == [.content, .toolArguments, .toolName], "a tool call's name goes with its arguments")
    }

    @Test func heldTextIsReleasedAtTheEndEvenWithoutDone() {
        let r = Self.run([Self.chunk([["index": 0, "delta": ["content": "我们保"]]])])
        #expect(r.text["0.content"] == "我们保")      // "保" could have started 保本; the end decides
        #expect(!r.done)
    }

    @Test func nonChunkEventsPassThrough() {
        var s = StreamScreener(snapshot: Self.snapshot, route: .chatCompletions)
        // A comment keeps the connection alive; its text reaches no one (raw readers would show it).
        let comment = SSEParser.Event(fields: [("", " keep-alive")])
        #expect(s.process(comment).events == [SSEParser.Event(fields: [("", "")])])
        let error = SSEParser.Event.data(#"{"error":{"message":"overloaded"}}"#)
        #expect(s.process(error).events == [error])
    }

    @Test func sseParserFollowsWhatwgRules() throws {
        let wire = Array("data: a\r\ndata: b\r\n\r\n: comment\nid: 7\ndata: c\rdata:d\r\r".utf8)
        for size in [1, 2, 3, wire.count] {
            var p = SSEParser()
            var events: [SSEParser.Event] = []
            for i in stride(from: 0, to: wire.count, by: size) { events += try p.feed(wire[i..<min(i + size, wire.count)]) }
            events += p.finish()
            #expect(events.map(\.data) == ["a\nb", "c\nd"], "piece size \(size)")
            #expect(events[1].fields.map(\.name) == ["", "id", "data", "data"])
        }
        var small = SSEParser(maximumLineBytes: 8)
        #expect(throws: SSEParser.LineTooLong.self) { try small.feed(Array("data: 0123456789".utf8)) }
    }
}

struct ConfigurationTests {
    @Test func policyFileIsReadAndChecked() throws {
        let yaml = """
        listen: 0.0.0.0:9000
        upstream: http://127.0.0.1:8000
        limits:
          max_request_bytes: 2048
        timeouts:
          connect: 500ms
          response_head: 2m
        screening:
          input_roles: [user, tool]
          output_fields: [content]
          actions:
            - category: prompt-injection
              direction: input
              action: block
          output_refusal: 已拦截
        """
        let c = try SidecarConfiguration.parse(yaml: yaml)
        #expect(c.listen == .init(host: "0.0.0.0", port: 9000))
        #expect(c.limits.maxRequestBytes == 2048)
        #expect(c.timeouts.connect == .milliseconds(500))
        #expect(c.timeouts.responseHead == .seconds(120))
        #expect(c.screening.inputRoles == ["user", "tool"])
        #expect(c.screening.outputFields == [.content])
        #expect(c.screening.actions.overrides == [.init(category: "prompt-injection", direction: .input, action: .block)])
        #expect(c.screening.outputRefusal == "已拦截")
        #expect(c.validate().isEmpty)
    }

    @Test func badKeysAreNamed() {
        let yaml = """
        listen: nowhere
        timeouts:
          conect: 5s
          drain: soon
        screening:
          actions:
            - category: x
              action: explode
        colour: blue
        """
        let error = #expect(throws: ConfigurationError.self) { try SidecarConfiguration.parse(yaml: yaml, source: "policy.yaml") }
        let problems = error?.problems ?? []
        #expect(problems.contains("policy.yaml:1: listen: expected host:port"))
        #expect(problems.contains { $0.hasPrefix("policy.yaml:3: timeouts.conect: unknown key") })
        #expect(problems.contains("policy.yaml:4: timeouts.drain: expected a duration such as 500ms, 5s or 2m"))
        #expect(problems.contains { $0.contains("screening.actions[0].action: required") })
        #expect(problems.contains { $0.hasPrefix("policy.yaml:9: colour: unknown key") })
    }

    @Test func environmentOverridesAndValidation() throws {
        var c = SidecarConfiguration()
        try c.apply(environment: ["MENSHEN_LISTEN": "[::1]:8081", "MENSHEN_UPSTREAM": "http://model:8000", "MENSHEN_DRAIN_TIMEOUT": "10s"])
        #expect(c.listen == .init(host: "::1", port: 8081))
        #expect(c.upstream == "http://model:8000")
        #expect(c.timeouts.drain == .seconds(10))
        #expect(throws: ConfigurationError.self) { try c.apply(environment: ["MENSHEN_MAX_REQUEST_BYTES": "lots"]) }
        var missing = SidecarConfiguration()
        #expect(missing.validate() == ["upstream: required (or run with --demo)"])
        missing.upstream = "ftp://x"
        #expect(missing.validate() == ["upstream: 'ftp://x' must start with http:// or https://"])
    }
}

struct DocumentationTests {
    @Test func configurationReferenceMatchesTheCode() throws {
        let doc = try String(contentsOfFile: repositoryRoot + "/docs/configuration.md", encoding: .utf8)
        #expect(doc == SidecarConfiguration.referenceMarkdown(), "regenerate: menshen config reference > docs/configuration.md")
        // Every key the parser accepts is documented, and vice versa.
        for entry in SidecarConfiguration.keyReference { #expect(doc.contains("`\(entry.key)`")) }
    }
}
