import Foundation
@testable import Hooks
import Screening
import Testing

/// Answer parsing per kind, without sockets.
struct AdapterTests {
    @Test(arguments: [
        ("safe", 0.0, [String]()),
        ("  safe\n", 0.0, []),
        ("unsafe\nS1", 1.0, ["S1"]),
        ("\n\nunsafe\nS1,S10", 1.0, ["S1", "S10"]),
        ("unsafe\ns2, S14", 1.0, ["S2", "S14"]),
        ("unsafe", 1.0, []),
    ])
    func llamaGuardAnswers(answer: String, score: Double, categories: [String]) throws {
        let v = try LlamaGuard3.parse(answer)
        #expect(v.score == score)
        #expect(v.categories.keys.sorted() == categories.sorted())
    }

    @Test(arguments: ["", "I cannot help with that.", "unsafe\nviolence", "Safety: Safe"])
    func llamaGuardUnexpectedAnswers(answer: String) {
        do {
            _ = try LlamaGuard3.parse(answer)
            Issue.record("expected a failure for \(answer.debugDescription)")
        } catch {
            #expect(error.kind == .unexpectedAnswer)
        }
    }

    @Test func llamaGuardCategoryNames() {
        #expect(LlamaGuard3.code(for: "Violent Crimes") == "S1")
        #expect(LlamaGuard3.code(for: "s14") == "S14")
        #expect(LlamaGuard3.name(of: "S11") == "Suicide & Self-Harm")
        #expect(LlamaGuard3.categories.count == 14)
    }

    @Test(arguments: [
        ("Safety: Safe\nCategories: None", 0.0, [String]()),
        ("Safety: Unsafe\nCategories: Violent, Jailbreak", 1.0, ["Violent", "Jailbreak"]),
        ("Safety: Controversial\nCategories: Politically Sensitive Topics", 0.4, ["Politically Sensitive Topics"]),
        ("Safety: Unsafe\nCategories: PII\nRefusal: No", 1.0, ["PII"]),
    ])
    func qwen3GuardAnswers(answer: String, score: Double, categories: [String]) throws {
        let v = try Qwen3Guard.parse(answer, controversialScore: 0.4)
        #expect(v.score == score)
        #expect(v.categories.keys.sorted() == categories.sorted())
    }

    @Test func qwen3GuardWithoutSafetyLineIsUnexpected() {
        do {
            _ = try Qwen3Guard.parse("Categories: Violent", controversialScore: 0.5)
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .unexpectedAnswer)
        }
    }

    static func kind(_ body: String, adapter: any HookAdapter) -> HookFailure.Kind? {
        do {
            _ = try adapter.verdict(from: Data(body.utf8))
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func webhookShapes() {
        let a = WebhookAdapter()
        #expect(Self.kind(#"{"score": 0.2}"#, adapter: a) == nil)
        #expect(Self.kind(#"{"score": 0.2, "categories": null, "reason": "ok"}"#, adapter: a) == nil)
        #expect(Self.kind(#"not json"#, adapter: a) == .malformed)
        #expect(Self.kind(#"[0.2]"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"score": true}"#, adapter: a) == .unexpectedAnswer, "a boolean is not a score")
        #expect(Self.kind(#"{"score": 1.5}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"score": 0.5, "categories": {"x": "high"}}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"score": 0.5, "action": "mask"}"#, adapter: a) == .unexpectedAnswer)
    }

    @Test func openAIModerationShapes() throws {
        let a = OpenAIModerationAdapter(model: nil)
        #expect(Self.kind(#"{"results": []}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"results": [{}]}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"error": {"message": "quota"}}"#, adapter: a) == .unexpectedAnswer)
        let onlyBooleans = try a.verdict(from: Data(#"{"results": [{"flagged": true, "categories": {"hate": true, "violence": false}}]}"#.utf8))
        #expect(onlyBooleans.score == 1 && onlyBooleans.categories == ["hate": 1, "violence": 0])
    }

    @Test func chatGuardShapes() {
        let a = ChatGuardAdapter(format: .llamaGuard3, prompt: .chat, model: nil, logprobs: false, controversialScore: 0.5)
        #expect(Self.kind(chatAnswer("safe"), adapter: a) == nil)
        #expect(Self.kind(#"{"choices": []}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(#"{"choices": [{"message": {"content": null}}]}"#, adapter: a) == .unexpectedAnswer)
        #expect(Self.kind(chatAnswer("Sure! Here is how to…"), adapter: a) == .unexpectedAnswer)
    }

    @Test func webhookRequestBody() throws {
        let body = WebhookAdapter().requestBody(for: HookInput(text: "文字", direction: .output, requestID: "r-9"),
                                                lexicon: LexiconSummary(decision: .mask, categories: ["pii.cn-mobile"]))
        let o = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(o["text"] as? String == "文字")
        #expect(o["direction"] as? String == "output")
        #expect(o["role"] as? String == "assistant")
        #expect(o["request_id"] as? String == "r-9")
        #expect((o["lexicon"] as? [String: Any])?["categories"] as? [String] == ["pii.cn-mobile"])
    }
}
