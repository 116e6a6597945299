import Foundation
import Hooks
@testable import Proxy
import Testing

/// Classifier hooks through the proxy: a fake webhook classifier on 127.0.0.1.
@Suite(.serialized) struct HookProxyTests {
    static func settings(url: String, onFailure: String, directions: String) throws -> HookSettings {
        try HookSettings.parse(yaml: """
        hooks:
          - name: scorer
            kind: webhook
            url: \(url)/classify
            on_failure: \(onFailure)
            timeout: 2s
            directions: [\(directions)]
            threshold: 0.5
            action: block
            category: classifier-risk
            cache: off
        """)
    }

    @Test func aHookBlocksAPromptTheLexiconsMiss() async throws {
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.json(#"{"score": 0.93, "categories": {"jailbreak": 0.93}}"#))
        let h = try await SidecarHarness.start { c in c.hooks = try! Self.settings(url: classifier.url, onFailure: "allow", directions: "input") }
        defer { Task { await h.stop() } }
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("一段词库里没有的越狱话术"))
        #expect(reply.status == 400)
        let details = (reply.json?["error"] as? [String: Any])?["content_filter_result"] as? [String: Any] ?? [:]
        #expect(details.keys.contains("hook.scorer.jailbreak"), "\(details)")
        #expect(h.upstream.received.isEmpty)
        let sent = String(decoding: classifier.received.first?.body ?? Data(), as: UTF8.self)
        #expect(sent.contains(#""text":"一段词库里没有的越狱话术""#))
        // `when: always` hooks do not wait for the lexicon scan (they run concurrently with it), so
        // the webhook's `lexicon` member may be null here; `when: lexicon_*` hooks wait for it.
        #expect(sent.contains(#""direction":"input""#))
    }

    @Test func hooksSeeTextOutsideKnownRolesAndTheirRoleFilter() async throws {
        // The hook classifies user text only; a message with a role servers do not define is
        // classified as user text, and tool definitions as tool text.
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.classifier(unsafe: "越狱"))
        let settings = try HookSettings.parse(yaml: """
        hooks:
          - {name: scorer, kind: webhook, url: \(classifier.url)/classify, on_failure: allow, timeout: 2s,
             directions: [input], roles: [user], threshold: 0.5, action: block, category: classifier-risk, cache: off}
        """)
        let h = try await SidecarHarness.start { c in c.hooks = settings }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer("好的")))
        let unknownRole = try await h.post("/v1/chat/completions", json: ["model": "m", "messages": [["role": "observation", "content": "一段越狱话术"]]])
        #expect(unknownRole.status == 400, "classified as user text")
        let before = classifier.received.count
        let toolDefinition = try await h.post("/v1/chat/completions", json: ["model": "m", "messages": [["role": "user", "content": "你好"]],
            "tools": [["type": "function", "function": ["name": "f", "description": "一段越狱话术"]]]])
        #expect(toolDefinition.status == 200, "tool text, which this hook's roles leave out")
        let sent = classifier.received.dropFirst(before).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(sent.contains { $0.contains("你好") }, "the user's text was classified")
        #expect(!sent.contains { $0.contains("越狱") }, "the tool definition was not sent to a user-only hook")
    }

    @Test("a failing hook applies its on_failure", arguments: ["allow", "block"])
    func failureModes(onFailure: String) async throws {
        let h = try await SidecarHarness.start { c in c.hooks = try! Self.settings(url: "http://127.0.0.1:9", onFailure: onFailure, directions: "input") }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer("好的")))
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("你好"))
        #expect(reply.status == (onFailure == "block" ? 400 : 200))
        let metrics = try await h.admin("/metrics").text
        _ = metrics   // hook metrics go to the global metrics system (bootstrapped by `menshen serve`)
    }

    @Test("streamed answers: hold never delivers the unsafe window, async cuts within one", arguments: ["hold", "async"])
    func streamWindows(mode: String) async throws {
        // Windows of 16 characters: a clean one, one with 危险, then more text.
        let clean = "一二三四五六七八九十一二三四五六"
        let answer = sseAnswer(["一二三四五", "六七八九十", "一二三四五六", "七八危险的话", "九十一二三四五六七八九十", "尾巴尾巴"])
        let (reply, _) = try await Self.throughStreamGate(pieces(answer, size: 7), mode: mode)
        #expect(reply.finishReasons == ["content_filter"])
        #expect(reply.events.last == "[DONE]")
        #expect(!reply.streamedContent.contains("尾巴"), "nothing after the unsafe window")
        if mode == "hold" {
            #expect(reply.streamedContent == clean, "hold: the unsafe window never reaches the client")
        } else {
            #expect(reply.streamedContent.hasPrefix(clean))
            #expect(reply.streamedContent.count <= 32, "async: the leak is bounded by one window")
        }
    }

    /// Streams `pieces` from the upstream through Menshen with a stream gate (`mode`, windows of
    /// 16 characters) in front of a classifier that calls any text with 危险 unsafe. Returns
    /// what the client got and the bodies the classifier was sent.
    static func throughStreamGate(_ pieces: [[UInt8]], mode: String = "hold") async throws -> (reply: SidecarHarness.Reply, classified: [String]) {
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.classifier(unsafe: "危险"))
        let h = try await SidecarHarness.start { c in
            c.hooks = try! HookSettings.parse(yaml: """
            hooks:
              - name: scorer
                kind: webhook
                url: \(classifier.url)/classify
                on_failure: block
                timeout: 2s
                directions: [output]
                threshold: 0.5
                action: block
                cache: off
            hooks_stream:
              mode: \(mode)
              window_chars: 16
            """)
        }
        defer { Task { await h.stop() } }
        h.upstream.script(.stream(pieces))
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("hi", stream: true))
        return (reply, classifier.received.map { String(decoding: $0.body, as: UTF8.self) })
    }

    /// A chunk with the given delta for choice `index` (raw JSON members of `delta`).
    static func deltaChunk(_ delta: String, index: Int = 0, finish: String? = nil) -> [UInt8] {
        Array(#"data: {"id":"chatcmpl-test","object":"chat.completion.chunk","model":"test-model","choices":[{"index":\#(index),"delta":{\#(delta)},"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#.utf8) + Array("\n\n".utf8)
    }

    @Test func streamedReasoningIsClassifiedToo() async throws {
        let chunks = Self.deltaChunk(#""reasoning_content":"先想一想这个""#) + Self.deltaChunk(#""reasoning_content":"危险的办法吧""#)
            + Self.deltaChunk(#""content":"好的""#) + Self.deltaChunk("", finish: "stop") + Array("data: [DONE]\n\n".utf8)
        let (reply, classified) = try await Self.throughStreamGate([chunks])
        #expect(reply.finishReasons == ["content_filter"])
        #expect(!reply.text.contains("危险"), "the unsafe reasoning never reaches the client")
        #expect(reply.events.last == "[DONE]")
        #expect(classified.contains { $0.contains("危险") }, "the reasoning went to the classifier")
    }

    @Test func streamedReasoningUnderItsNewerNameAndLegacyFunctionCallsAreClassified() async throws {
        for delta in [#""reasoning":"危险的办法吧""#, #""function_call":{"name":"f","arguments":"{\"x\":\"危险的办法\"}"}"#] {
            let chunks = Self.deltaChunk(#""content":"好的""#) + Self.deltaChunk(delta)
                + Self.deltaChunk("", finish: "stop") + Array("data: [DONE]\n\n".utf8)
            let (reply, classified) = try await Self.throughStreamGate([chunks])
            #expect(reply.finishReasons == ["content_filter"], "\(delta)")
            #expect(!reply.text.contains("危险"), "\(delta): the unsafe text never reaches the client")
            #expect(classified.contains { $0.contains("危险") }, "\(delta): it went to the classifier")
        }
    }

    @Test func everyChoiceOfAStreamIsClassified() async throws {
        let chunks = Self.deltaChunk(#""content":"一二三四五六七八""#, index: 0) + Self.deltaChunk(#""content":"这是危险的回答啊""#, index: 1)
            + Self.deltaChunk(#""content":"九十""#, index: 0, finish: "stop") + Self.deltaChunk(#""content":"尾巴""#, index: 1, finish: "stop")
            + Array("data: [DONE]\n\n".utf8)
        let (reply, _) = try await Self.throughStreamGate([chunks])
        #expect(!reply.text.contains("危险"), "choice 1's unsafe window never reaches the client")
        #expect(reply.finishReasons == ["stop", "content_filter"], "choice 0 had finished; choice 1 is cut")
        #expect(reply.streamedContent == "一二三四五六七八九十", "choice 0 was classified safe on its own")
        #expect(reply.events.last == "[DONE]")
    }

    @Test func cleanMultiChoiceStreamPassesWhole() async throws {
        let chunks = Self.deltaChunk(#""reasoning_content":"想一想""#, index: 0) + Self.deltaChunk(#""content":"第一个回答，很长很长的""#, index: 0)
            + Self.deltaChunk(#""content":"第二个回答""#, index: 1) + Self.deltaChunk("", index: 0, finish: "stop")
            + Self.deltaChunk("", index: 1, finish: "stop") + Array("data: [DONE]\n\n".utf8)
        let (reply, _) = try await Self.throughStreamGate([chunks])
        var byChoice: [Int: String] = [:]
        var reasoning = ""
        for e in reply.events {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(e.utf8))) as? [String: Any], let choices = o["choices"] as? [[String: Any]] else { continue }
            for c in choices {
                let delta = c["delta"] as? [String: Any] ?? [:]
                byChoice[c["index"] as? Int ?? 0, default: ""] += delta["content"] as? String ?? ""
                reasoning += delta["reasoning_content"] as? String ?? ""
            }
        }
        #expect(byChoice == [0: "第一个回答，很长很长的", 1: "第二个回答"])
        #expect(reasoning == "想一想")
        #expect(reply.finishReasons == ["stop", "stop"])
        #expect(reply.events.last == "[DONE]")
    }

    @Test func aHookSeesTheReasoningOfAnAnswer() async throws {
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.classifier(unsafe: "危险"))
        let h = try await SidecarHarness.start { c in c.hooks = try! Self.settings(url: classifier.url, onFailure: "allow", directions: "output") }
        defer { Task { await h.stop() } }
        let answer = #"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"一个危险的想法","content":"好的"},"finish_reason":"stop"}]}"#
        h.upstream.script(.json(answer))
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("你好"))
        let choice = (reply.json?["choices"] as? [[String: Any]])?.first
        #expect(choice?["finish_reason"] as? String == "content_filter")
        #expect(!reply.text.contains("危险"))
    }

    @Test func aHookBlocksAnAnswer() async throws {
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.json(#"{"score": 0.8}"#))
        let h = try await SidecarHarness.start { c in c.hooks = try! Self.settings(url: classifier.url, onFailure: "allow", directions: "output") }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer("一个词库抓不到的危险回答")))
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("你好"))
        let choice = (reply.json?["choices"] as? [[String: Any]])?.first
        #expect(choice?["finish_reason"] as? String == "content_filter")
        #expect(!reply.text.contains("危险回答"))
    }
}
