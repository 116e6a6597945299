import Foundation
import Screening

/// What differs between hook kinds: the request body, and how the answer becomes a verdict.
/// Pure functions — the HTTP exchange, timeouts and failures are ``HookRunner``'s.
protocol HookAdapter: Sendable {
    /// The JSON body for one text. `lexicon` is what the lexicon found, if known yet.
    func requestBody(for input: HookInput, lexicon: LexiconSummary?) -> Data
    /// Whether the body depends on the lexicon summary (then it is part of the cache key).
    var sendsLexicon: Bool { get }
    /// The verdict in a 2xx answer body; `malformed` or `unexpectedAnswer` failures otherwise.
    func verdict(from body: Data) throws(HookFailure) -> HookVerdict
}

extension HookConfiguration {
    /// The adapter for this hook's kind.
    func makeAdapter() -> any HookAdapter {
        switch kind {
        case .openAIModeration:
            return OpenAIModerationAdapter(model: model)
        case .webhook:
            return WebhookAdapter()
        case .chatGuard:
            return ChatGuardAdapter(format: format ?? .llamaGuard3, prompt: prompt, model: model, logprobs: logprobs,
                                    controversialScore: controversialScore)
        }
    }
}

// MARK: - openai-moderation

/// OpenAI `POST /v1/moderations` (and compatible servers):
/// `{"input": "…", "model": "omni-moderation-latest"}` →
/// `{"results": [{"flagged": true, "categories": {"violence": true}, "category_scores": {"violence": 0.93}}]}`.
/// The score is the highest category score.
struct OpenAIModerationAdapter: HookAdapter {
    let model: String?
    var sendsLexicon: Bool { false }

    func requestBody(for input: HookInput, lexicon: LexiconSummary?) -> Data {
        var body: [String: JSONValue] = ["input": .string(input.text)]
        if let model { body["model"] = .string(model) }
        return JSONValue.object(body).encoded()
    }

    func verdict(from body: Data) throws(HookFailure) -> HookVerdict {
        let json = try JSONValue.parse(body)
        guard let result = json["results"]?[0], result.object != nil else {
            throw HookFailure(.unexpectedAnswer, "expected results[0] in a moderation answer")
        }
        let flagged = result["flagged"]?.bool
        var scores: [String: Double] = [:]
        if let object = result["category_scores"]?.object {
            for (name, value) in object {
                guard let s = value.number, (0...1).contains(s) else {
                    throw HookFailure(.unexpectedAnswer, "results[0].category_scores.\(name) is not a number from 0 to 1")
                }
                scores[name] = s
            }
        } else if let object = result["categories"]?.object {
            // No scores: the booleans stand for 0 or 1.
            for (name, value) in object {
                guard let b = value.bool else { throw HookFailure(.unexpectedAnswer, "results[0].categories.\(name) is not a boolean") }
                scores[name] = b ? 1 : 0
            }
        }
        guard flagged != nil || !scores.isEmpty else {
            throw HookFailure(.unexpectedAnswer, "results[0] has neither flagged nor category_scores")
        }
        let score = scores.values.max() ?? (flagged == true ? 1 : 0)
        return HookVerdict(score: score, categories: scores, flagged: flagged)
    }
}

// MARK: - webhook

/// Menshen's own contract (docs/hooks.md):
/// request `{"text", "direction", "role", "request_id", "lexicon": {"decision", "categories"} | null}`,
/// answer `{"score": 0..1, "categories": {"name": score}, "action"?: "allow|flag|block|shadow", "reason"?}`.
struct WebhookAdapter: HookAdapter {
    var sendsLexicon: Bool { true }

    func requestBody(for input: HookInput, lexicon: LexiconSummary?) -> Data {
        var lexiconJSON: JSONValue = .null
        if let lexicon {
            lexiconJSON = ["decision": .string(lexicon.decision.rawValue), "categories": .array(lexicon.categories.map { .string($0) })]
        }
        return JSONValue.object([
            "text": .string(input.text),
            "direction": .string(input.direction.rawValue),
            "role": .string(input.role),
            "request_id": .string(input.requestID),
            "lexicon": lexiconJSON,
        ]).encoded()
    }

    func verdict(from body: Data) throws(HookFailure) -> HookVerdict {
        let json = try JSONValue.parse(body)
        guard json.object != nil else { throw HookFailure(.unexpectedAnswer, "expected a JSON object") }
        guard let score = json["score"]?.number, (0...1).contains(score) else {
            throw HookFailure(.unexpectedAnswer, "'score' must be a number from 0 to 1")
        }
        var categories: [String: Double] = [:]
        if let c = json["categories"], !c.isNull {
            guard let object = c.object else { throw HookFailure(.unexpectedAnswer, "'categories' must be an object of scores") }
            for (name, value) in object {
                guard let s = value.number, (0...1).contains(s) else {
                    throw HookFailure(.unexpectedAnswer, "categories.\(name) must be a number from 0 to 1")
                }
                categories[name] = s
            }
        }
        var verdict = HookVerdict(score: score, categories: categories)
        if let a = json["action"], !a.isNull {
            switch a.string {
            case "allow": verdict.explicitAllow = true
            case "flag": verdict.action = .flag
            case "block": verdict.action = .block
            case "shadow": verdict.action = .shadow
            default: throw HookFailure(.unexpectedAnswer, "'action' must be allow, flag, block or shadow")
            }
        }
        if let r = json["reason"]?.string { verdict.reason = String(r.prefix(500)) }
        return verdict
    }
}

// MARK: - chat-guard

/// A guard model behind an OpenAI-compatible endpoint. With `prompt: chat` the text goes as
/// chat messages (the served model's chat template turns them into the guard prompt, as vLLM
/// and Ollama do for Llama Guard 3 and Qwen3Guard); with `prompt: raw` Menshen renders Llama
/// Guard 3's prompt itself and sends it to a completions endpoint. Greedy decoding, a few
/// tokens: the answer is a label, not prose.
struct ChatGuardAdapter: HookAdapter {
    let format: HookConfiguration.GuardFormat
    let prompt: HookConfiguration.GuardPrompt
    let model: String?
    let logprobs: Bool
    let controversialScore: Double
    var sendsLexicon: Bool { false }

    func requestBody(for input: HookInput, lexicon: LexiconSummary?) -> Data {
        var body: [String: JSONValue] = ["temperature": 0, "max_tokens": 32, "stream": false]
        if let model { body["model"] = .string(model) }
        switch prompt {
        case .chat:
            var messages: [JSONValue] = []
            if input.direction == .output {
                messages.append(["role": "user", "content": .string(input.prompt ?? "")])
                messages.append(["role": "assistant", "content": .string(input.text)])
            } else {
                messages.append(["role": "user", "content": .string(input.text)])
            }
            body["messages"] = .array(messages)
            if logprobs { body["logprobs"] = true; body["top_logprobs"] = 5 }
        case .raw:
            body["prompt"] = .string(LlamaGuard3.render(input))
            if logprobs { body["logprobs"] = 5 }
        }
        return JSONValue.object(body).encoded()
    }

    func verdict(from body: Data) throws(HookFailure) -> HookVerdict {
        let json = try JSONValue.parse(body)
        guard let choice = json["choices"]?[0] else { throw HookFailure(.unexpectedAnswer, "expected choices[0] in a completion") }
        let text: String
        switch prompt {
        case .chat:
            guard let content = choice["message"]?["content"]?.string else {
                throw HookFailure(.unexpectedAnswer, "expected choices[0].message.content")
            }
            text = content
        case .raw:
            guard let t = choice["text"]?.string else { throw HookFailure(.unexpectedAnswer, "expected choices[0].text") }
            text = t
        }
        var verdict: HookVerdict
        switch format {
        case .llamaGuard3: verdict = try LlamaGuard3.parse(text)
        case .qwen3Guard: verdict = try Qwen3Guard.parse(text, controversialScore: controversialScore)
        }
        if logprobs, format == .llamaGuard3, let p = LlamaGuard3.unsafeProbability(choice: choice) {
            verdict.score = p
            for key in verdict.categories.keys { verdict.categories[key] = p }
        }
        return verdict
    }
}

/// Llama Guard 3: its taxonomy, its prompt, its answer (`safe` | `unsafe\nS1,S10`).
public enum LlamaGuard3 {
    /// MLCommons hazard taxonomy as Llama Guard 3 names it.
    public static let categories: [(code: String, name: String)] = [
        ("S1", "Violent Crimes"), ("S2", "Non-Violent Crimes"), ("S3", "Sex-Related Crimes"),
        ("S4", "Child Sexual Exploitation"), ("S5", "Defamation"), ("S6", "Specialized Advice"),
        ("S7", "Privacy"), ("S8", "Intellectual Property"), ("S9", "Indiscriminate Weapons"),
        ("S10", "Hate"), ("S11", "Suicide & Self-Harm"), ("S12", "Sexual Content"),
        ("S13", "Elections"), ("S14", "Code Interpreter Abuse"),
    ]

    /// `S1` for `S1`, `s1` or `Violent Crimes`.
    public static func code(for nameOrCode: String) -> String? {
        let t = nameOrCode.trimmingCharacters(in: .whitespaces).lowercased()
        return categories.first { $0.code.lowercased() == t || $0.name.lowercased() == t }?.code
    }

    public static func name(of code: String) -> String? {
        categories.first { $0.code == code.uppercased() }?.name
    }

    /// The raw prompt, for a completions endpoint serving the model without its chat template.
    static func render(_ input: HookInput) -> String {
        let agent = input.direction == .output ? "Agent" : "User"
        var conversation = ""
        if input.direction == .output {
            conversation = "User: \(input.prompt ?? "")\n\nAgent: \(input.text)"
        } else {
            conversation = "User: \(input.text)"
        }
        let list = categories.map { "\($0.code): \($0.name)." }.joined(separator: "\n")
        return """
            <|begin_of_text|><|start_header_id|>user<|end_header_id|>

            Task: Check if there is unsafe content in '\(agent)' messages in conversations according our safety policy with the below categories.

            <BEGIN UNSAFE CONTENT CATEGORIES>
            \(list)
            <END UNSAFE CONTENT CATEGORIES>

            <BEGIN CONVERSATION>

            \(conversation)

            <END CONVERSATION>

            Provide your safety assessment for ONLY THE LAST \(agent) message in the above conversation:
             - First line must read 'safe' or 'unsafe'.
             - If unsafe, a second line must include a comma-separated list of violated categories.<|eot_id|><|start_header_id|>assistant<|end_header_id|>


            """
    }

    /// `safe` → 0; `unsafe` with its category codes → 1 each. Anything else is unexpected.
    static func parse(_ answer: String) throws(HookFailure) -> HookVerdict {
        let lines = answer.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let first = lines.first?.lowercased() else { throw HookFailure(.unexpectedAnswer, "empty guard answer") }
        switch first {
        case "safe":
            return HookVerdict(score: 0, flagged: false, reason: answer)
        case "unsafe":
            var categories: [String: Double] = [:]
            if lines.count > 1 {
                for item in lines[1].split(separator: ",") {
                    let code = item.trimmingCharacters(in: .whitespaces).uppercased()
                    guard code.hasPrefix("S"), let n = Int(code.dropFirst()), n >= 1, n <= 99 else {
                        throw HookFailure(.unexpectedAnswer, "guard category '\(item)' is not S1…S14")
                    }
                    categories[code] = 1
                }
            }
            return HookVerdict(score: 1, categories: categories, flagged: true, reason: answer)
        default:
            throw HookFailure(.unexpectedAnswer, "guard answer does not start with safe or unsafe: \(String(answer.prefix(60)).debugDescription)")
        }
    }

    /// P(unsafe) from the first generated token's alternatives, normalized over safe+unsafe.
    static func unsafeProbability(choice: JSONValue) -> Double? {
        var alternatives: [(String, Double)] = []
        if let top = choice["logprobs"]?["content"]?[0]?["top_logprobs"]?.array {      // chat
            for t in top { if let token = t["token"]?.string, let lp = t["logprob"]?.number { alternatives.append((token, lp)) } }
        } else if let top = choice["logprobs"]?["top_logprobs"]?[0]?.object {           // completions
            for (token, v) in top { if let lp = v.number { alternatives.append((token, lp)) } }
        }
        var safe = 0.0, unsafe = 0.0
        for (token, lp) in alternatives {
            let t = token.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
            if t == "unsafe" || t == "un" { unsafe += exp(lp) } else if t == "safe" { safe += exp(lp) }
        }
        guard safe + unsafe > 0 else { return nil }
        return unsafe / (safe + unsafe)
    }
}

/// Qwen3Guard-Gen: `Safety: Safe|Unsafe|Controversial`, `Categories: Violent, …` (and, for
/// answers, `Refusal: Yes|No`, ignored).
public enum Qwen3Guard {
    /// The categories the model names (`None` when safe).
    public static let categories = [
        "Violent", "Non-violent Illegal Acts", "Sexual Content or Sexual Acts", "PII", "Suicide & Self-Harm",
        "Unethical Acts", "Politically Sensitive Topics", "Copyright Violation", "Jailbreak",
    ]

    static func parse(_ answer: String, controversialScore: Double) throws(HookFailure) -> HookVerdict {
        var safety: String?
        var names: [String] = []
        for raw in answer.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch key {
            case "safety": safety = value.lowercased()
            case "categories", "category":
                names = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && $0.lowercased() != "none" }
            default: continue
            }
        }
        let score: Double
        switch safety {
        case "safe": score = 0
        case "unsafe": score = 1
        case "controversial": score = controversialScore
        default:
            throw HookFailure(.unexpectedAnswer, "guard answer has no 'Safety: Safe|Unsafe|Controversial' line: \(String(answer.prefix(60)).debugDescription)")
        }
        let categories = score > 0 ? Dictionary(names.map { ($0, score) }, uniquingKeysWith: max) : [:]
        return HookVerdict(score: score, categories: categories, flagged: score >= 1, reason: answer)
    }
}
