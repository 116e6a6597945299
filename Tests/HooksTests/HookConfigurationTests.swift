import Foundation
@testable import Hooks
import Screening
import Testing

struct HookConfigurationTests {
    static let full = """
        listen: 127.0.0.1:8080          # the sidecar's own keys are left to its loader
        hooks:
          - name: injection-small
            kind: webhook
            url: http://127.0.0.1:9100/classify
            on_failure: allow
            timeout: 300ms
            directions: [input]
            roles: [user, tool]
            max_concurrent: 32
            cache: {size: 5000, ttl: 5m}
            circuit_breaker: {failures: 3, cool_down: 20s}
            threshold: 0.6
            action: flag
            category: prompt-injection
            categories:
              instruction_override: {category: prompt-injection.override, threshold: 0.7, action: block}
            next: guard-large
            decide_below: 0.2
            decide_above: 0.85
          - name: guard-large
            kind: chat-guard
            format: llama-guard-3
            model: meta-llama/Llama-Guard-3-8B
            url: https://guard.internal/v1/chat/completions
            headers:
              Authorization: {env: GUARD_TOKEN, prefix: "Bearer "}
            on_failure: block
            timeout: 2s
            categories:
              Violent Crimes: {category: violence}
        hooks_stream:
          mode: async
          window_chars: 200
          context_chars: 50
        """

    @Test func parsesEveryKey() throws {
        let s = try HookSettings.parse(yaml: Self.full, source: "policy.yaml")
        #expect(s.hooks.count == 2)
        let small = s.hooks[0]
        #expect(small.name == "injection-small")
        #expect(small.kind == .webhook)
        #expect(small.onFailure == .allow)
        #expect(small.timeout == .milliseconds(300))
        #expect(small.directions == [.input])
        #expect(small.roles == ["user", "tool"])
        #expect(small.maxConcurrent == 32)
        #expect(small.cache == .init(size: 5000, ttl: .seconds(300)))
        #expect(small.circuitBreaker == .init(failures: 3, coolDown: .seconds(20)))
        #expect(small.threshold == 0.6)
        #expect(small.action == .flag)
        #expect(small.overallCategory == "prompt-injection")
        #expect(small.categories["instruction_override"] == .init(category: "prompt-injection.override", threshold: 0.7, action: .block))
        #expect(small.next == "guard-large" && small.decideBelow == 0.2 && small.decideAbove == 0.85)
        let large = s.hooks[1]
        #expect(large.kind == .chatGuard && large.format == .llamaGuard3 && large.prompt == .chat)
        #expect(large.headers == [.init(name: "Authorization", source: .environment("GUARD_TOKEN"), prefix: "Bearer ")])
        #expect(large.categories["s1"]?.category == "violence", "Llama Guard names map to their codes")
        #expect(large.directions == [.input, .output])
        #expect(large.cache.size == 10_000 && large.circuitBreaker.failures == 5, "defaults")
        #expect(s.stream == .init(mode: .async, windowCharacters: 200, contextCharacters: 50))
    }

    @Test func noHooksIsEmpty() throws {
        #expect(try HookSettings.parse(yaml: "listen: 127.0.0.1:8080").hooks.isEmpty)
        #expect(try HookSettings.parse(yaml: "").hooks.isEmpty)
    }

    /// Each broken document and the message that names its key.
    @Test(arguments: [
        ("- {name: a, kind: webhook, url: 'http://h/x'}", "hooks[0].on_failure: required (allow or block)"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: maybe}", "hooks[0].on_failure: required (allow or block)"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow}\n- {name: b, kind: webhook, url: 'http://h/y'}",
         "hooks[1].on_failure: required (allow or block)"),
        ("- {kind: webhook, url: 'http://h/x', on_failure: allow}", "hooks[0].name: required"),
        ("- {name: a, kind: grpc, url: 'http://h/x', on_failure: allow}", "hooks[0].kind: must be one of openai-moderation, chat-guard, webhook"),
        ("- {name: a, kind: webhook, url: 'ftp://h/x', on_failure: allow}", "hooks[0].url: 'ftp://h/x' must be an http:// or https:// URL"),
        ("- {name: a, kind: chat-guard, url: 'http://h/x', on_failure: allow}", "hooks[0].format: required for kind chat-guard"),
        ("- {name: a, kind: webhook, format: qwen3-guard, url: 'http://h/x', on_failure: allow}", "hooks[0].format: only for kind chat-guard"),
        ("- {name: a, kind: chat-guard, format: qwen3-guard, prompt: raw, url: 'http://h/x', on_failure: allow}",
         "hooks[0].prompt: raw is only available for format llama-guard-3"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, timeout: soon}", "hooks[0].timeout: expected a duration"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, threshold: 1.5}", "hooks[0].threshold: expected a number from 0 to 1"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, action: mask}", "hooks[0].action: mask is not available to hooks"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, max_concurrent: 0}", "hooks[0].max_concurrent: must be at least 1"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, directions: [sideways]}", "hooks[0].directions: unknown direction 'sideways'"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, when: sometimes}", "hooks[0].when: must be always, lexicon_clean or lexicon_flagged"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, retries: 3}", "hooks[0].retries: unknown key"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, cache: {size: 10, age: 1m}}", "hooks[0].cache.age: unknown key (known: size, ttl)"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, headers: {Authorization: {env: A, file: /b}}}",
         "hooks[0].headers.Authorization: give env or file, not both"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, categories: {S1: {action: bloc}}}", "hooks[0].categories.S1.action: must be block, flag or shadow"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: b, decide_below: 0.2, decide_above: 0.8}",
         "hooks[0].next: no hook is named 'b'"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: a, decide_below: 0.2, decide_above: 0.8}",
         "hooks[0].next: a hook cannot be its own next"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: b}\n- {name: b, kind: webhook, url: 'http://h/y', on_failure: block}",
         "hooks[0].decide_below: required with next"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: b, decide_below: 0.9, decide_above: 0.1}\n- {name: b, kind: webhook, url: 'http://h/y', on_failure: block}",
         "hooks[0].decide_below: 0.9 is above decide_above 0.1"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, decide_below: 0.2}", "hooks[0].decide_below: only with next"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: b, decide_below: 0.2, decide_above: 0.8}\n- {name: b, kind: webhook, url: 'http://h/y', on_failure: block, next: a, decide_below: 0.2, decide_above: 0.8}",
         "hooks[0].next: the cascade from 'a' loops back to 'a'"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow, next: b, decide_below: 0.2, decide_above: 0.8}\n- {name: b, kind: webhook, url: 'http://h/y', on_failure: block, when: lexicon_clean}",
         "hooks[1]: 'b' is the next of 'a' and runs only through that cascade"),
        ("- {name: a, kind: webhook, url: 'http://h/x', on_failure: allow}\n- {name: a, kind: webhook, url: 'http://h/y', on_failure: allow}",
         "hooks[1].name: 'a' is already the name of hooks[0]"),
    ])
    func errorsNameTheKey(hooks: String, message: String) {
        let yaml = "hooks:\n" + hooks.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let error = #expect(throws: HookConfigurationError.self) { try HookSettings.parse(yaml: yaml, source: "policy.yaml") }
        #expect(error?.problems.contains { $0.hasPrefix("policy.yaml:") && $0.contains(message) } == true,
                "\(error?.problems ?? []) should contain \(message)")
    }

    @Test func streamSettingsErrorsNameTheKey() {
        let error = #expect(throws: HookConfigurationError.self) {
            try HookSettings.parse(yaml: "hooks_stream: {mode: later, window_chars: 4, extra: 1}")
        }
        let problems = error?.problems ?? []
        #expect(problems.contains { $0.contains("hooks_stream.mode: must be hold or async") })
        #expect(problems.contains { $0.contains("hooks_stream.window_chars: must be at least 16") })
        #expect(problems.contains { $0.contains("hooks_stream.extra: unknown key") })
    }

    @Test func everyKeyIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/hooks.md"), encoding: .utf8)
        for (key, _) in HookSettings.keyReference {
            let leaf = key.replacingOccurrences(of: "hooks[].", with: "").replacingOccurrences(of: "hooks_stream.", with: "")
            #expect(doc.contains("`\(leaf)`"), "docs/hooks.md does not mention `\(leaf)`")
        }
    }
}
