import Foundation
import Hooks
import Screening

/// Which OpenAI-compatible endpoint a request is for.
enum ScreenedRoute: String, Sendable {
    case chatCompletions = "chat.completions"
    case completions = "completions"

    /// DashScope's compatible mode and other gateways put the OpenAI paths under a prefix
    /// (`/compatible-mode/v1/chat/completions`), so the suffix decides.
    init?(path: String) {
        if path.hasSuffix("/chat/completions") { self = .chatCompletions }
        else if path.hasSuffix("/v1/completions") || path == "/completions" { self = .completions }
        else { return nil }
    }
}

/// A screened text's place in a payload, for audit and for answers.
struct ScreenedText: Sendable {
    let location: String
    /// The text as screened (kept for the audit event's hash and masked excerpt).
    let text: String
    let result: ScreeningResult
}

/// What input screening decided about a request body.
struct InputOutcome: Sendable {
    let decision: Decision
    let texts: [ScreenedText]
    /// The body to forward: the original bytes, or re-serialized with masked texts.
    let forwardBody: Data
    /// The body for an external upstream: C2 values pseudonymized, C3 removed (nil when no
    /// external upstream can be chosen).
    let externalBody: Data?
    /// C3 data was found (and the policy may refuse to send it out at all).
    let externalC3: Bool
    let isStream: Bool
    let model: String?
    var matches: [Match] { texts.flatMap(\.result.matches) }
}

enum PayloadError: Error {
    case notJSON(String)
    case invalidUTF8
}

/// Screens the texts of OpenAI-compatible JSON payloads: prompts in requests, answers in
/// non-streamed responses. Works on `JSONSerialization` objects so every field Menshen does not
/// know passes through untouched.
enum PayloadScreening {
    static func parseObject(_ body: Data) throws -> [String: Any] {
        guard String(data: body, encoding: .utf8) != nil else { throw PayloadError.invalidUTF8 }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) } catch {
            throw PayloadError.notJSON("request body is not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw PayloadError.notJSON("request body must be a JSON object") }
        return dict
    }

    // MARK: Input

    /// How prompts are desensitized for an upstream outside the data centre.
    struct ExternalPolicy {
        let map: PseudonymMap
        let c3: C3Handling
        /// Pseudonymize for internal upstreams too (instead of the lexicon's own mask actions).
        let pseudonymizeInternal: Bool
    }

    static func screenInput(_ body: Data, route: ScreenedRoute, snapshot: Snapshot, external: ExternalPolicy? = nil) throws -> InputOutcome {
        let object = try parseObject(body)
        var texts: [ScreenedText] = []
        var results: [String: ScreeningResult] = [:]
        var changed = false
        let lexicons = snapshot.lexicons
        let policy = snapshot.policy

        // Pass 1: screen every text; the internal body gets the lexicon's masks.
        let internalObject = try transformTexts(object, route: route, roles: policy.inputRoles) { text, location in
            let result = lexicons.screen(text, direction: .input, policy: policy.actions)
            results[location] = result
            if !result.matches.isEmpty { texts.append(ScreenedText(location: location, text: text, result: result)) }
            if let external, external.pseudonymizeInternal {
                let pseudonymized = Desensitizer.external(text, matches: result.matches, lexicons: lexicons, policy: policy.actions,
                                                          map: external.map, c3: .remove).text
                if pseudonymized != text { changed = true }
                return pseudonymized
            }
            if result.decision == .mask && result.maskedText != text { changed = true; return result.maskedText }
            return text
        }
        let decision = texts.reduce(Decision.allow) { max($0, $1.result.decision) }
        let forward = changed && decision != .block
            ? try JSONSerialization.data(withJSONObject: internalObject, options: [.withoutEscapingSlashes])
            : body
        // Pass 2: the body an external upstream may see — C2 values as placeholders, C3 removed or flagged.
        var externalBody: Data?
        var foundC3 = false
        if let external, decision != .block {
            let externalObject = try transformTexts(object, route: route, roles: policy.inputRoles) { text, location in
                guard let result = results[location] else { return text }
                let d = Desensitizer.external(text, matches: result.matches, lexicons: lexicons, policy: policy.actions,
                                              map: external.map, c3: external.c3)
                if d.foundC3 { foundC3 = true }
                return d.text
            }
            externalBody = try JSONSerialization.data(withJSONObject: externalObject, options: [.withoutEscapingSlashes])
        }
        return InputOutcome(decision: decision, texts: texts, forwardBody: forward, externalBody: externalBody,
                            externalC3: foundC3, isStream: (object["stream"] as? Bool) ?? false, model: object["model"] as? String)
    }

    /// Applies `transform` to every screened text of a request (by its location), returning the new object.
    static func transformTexts(_ input: [String: Any], route: ScreenedRoute, roles: Set<String>,
                               _ transform: (String, String) -> String) throws -> [String: Any] {
        var object = input
        switch route {
        case .chatCompletions:
            guard let messages = object["messages"] as? [Any] else { throw PayloadError.notJSON("'messages' must be an array") }
            var newMessages: [Any] = []
            for (i, item) in messages.enumerated() {
                guard var message = item as? [String: Any] else { throw PayloadError.notJSON("messages[\(i)] must be an object") }
                let role = message["role"] as? String ?? ""
                if roles.contains(role) {
                    if let content = message["content"] as? String {
                        message["content"] = transform(content, "messages[\(i)].content")
                    } else if let parts = message["content"] as? [Any] {
                        message["content"] = parts.enumerated().map { (j, part) -> Any in
                            guard var p = part as? [String: Any], let text = p["text"] as? String else { return part }
                            p["text"] = transform(text, "messages[\(i)].content[\(j)].text")
                            return p
                        }
                    }
                    if let calls = message["tool_calls"] as? [Any] {
                        message["tool_calls"] = calls.enumerated().map { (j, call) -> Any in
                            guard var c = call as? [String: Any], var f = c["function"] as? [String: Any],
                                  let arguments = f["arguments"] as? String else { return call }
                            f["arguments"] = transform(arguments, "messages[\(i)].tool_calls[\(j)].function.arguments")
                            c["function"] = f
                            return c
                        }
                    }
                }
                newMessages.append(message)
            }
            object["messages"] = newMessages
        case .completions:
            if let prompt = object["prompt"] as? String {
                object["prompt"] = transform(prompt, "prompt")
            } else if let prompts = object["prompt"] as? [Any] {
                object["prompt"] = prompts.enumerated().map { (i, p) -> Any in
                    guard let s = p as? String else { return p }
                    return transform(s, "prompt[\(i)]")
                }
            } else if object["prompt"] == nil {
                throw PayloadError.notJSON("'prompt' is required")
            }
        }
        return object
    }

    // MARK: Output (non-streamed)

    /// Screens every choice of a JSON answer. Returns the body to deliver (the original bytes
    /// when nothing changed) and what was found.
    static func screenOutput(_ body: Data, route: ScreenedRoute, snapshot: Snapshot) -> (body: Data, texts: [ScreenedText], decision: Decision) {
        guard var object = try? parseObject(body), let choices = object["choices"] as? [Any] else {
            return (body, [], .allow)     // not an answer (an error object, say): nothing to screen
        }
        let lexicons = snapshot.lexicons
        let policy = snapshot.policy
        var texts: [ScreenedText] = []
        var changed = false
        var overall = Decision.allow

        var newChoices: [Any] = []
        for (i, item) in choices.enumerated() {
            guard var choice = item as? [String: Any] else { newChoices.append(item); continue }
            var found: [ScreenedText] = []
            func screen(_ text: String, at location: String) -> ScreeningResult {
                let r = lexicons.screen(text, direction: .output, policy: policy.actions)
                if !r.matches.isEmpty { found.append(ScreenedText(location: location, text: text, result: r)) }
                return r
            }
            var replacements: [(path: [String], text: String)] = []
            var decision = Decision.allow
            func visit(_ text: String?, path: [String], field: SidecarConfiguration.OutputField) {
                guard let text, policy.outputFields.contains(field) else { return }
                let r = screen(text, at: "choices[\(i)]." + path.joined(separator: "."))
                decision = max(decision, r.decision)
                if r.decision == .mask { replacements.append((path, r.maskedText)) }
            }
            switch route {
            case .chatCompletions:
                let message = choice["message"] as? [String: Any] ?? [:]
                visit(message["content"] as? String, path: ["message", "content"], field: .content)
                visit(message["reasoning_content"] as? String, path: ["message", "reasoning_content"], field: .reasoningContent)
                visit(message["refusal"] as? String, path: ["message", "refusal"], field: .refusal)
                if let calls = message["tool_calls"] as? [Any] {
                    for (j, call) in calls.enumerated() {
                        let arguments = ((call as? [String: Any])?["function"] as? [String: Any])?["arguments"] as? String
                        visit(arguments, path: ["message", "tool_calls", "\(j)", "function", "arguments"], field: .toolArguments)
                    }
                }
            case .completions:
                visit(choice["text"] as? String, path: ["text"], field: .content)
            }
            overall = max(overall, decision)
            texts += found
            if decision == .block {
                changed = true
                switch route {
                case .chatCompletions:
                    var message = choice["message"] as? [String: Any] ?? [:]
                    message["content"] = policy.outputRefusal
                    message.removeValue(forKey: "reasoning_content")
                    message.removeValue(forKey: "tool_calls")
                    message.removeValue(forKey: "function_call")
                    choice["message"] = message
                case .completions:
                    choice["text"] = policy.outputRefusal
                }
                choice["finish_reason"] = "content_filter"
            } else if !replacements.isEmpty {
                changed = true
                for r in replacements { choice = setValue(r.text, at: r.path[...], in: choice) as! [String: Any] }
            }
            if !found.isEmpty {
                changed = true
                choice["content_filter_results"] = ContentFilterDetails.object(for: found.flatMap(\.result.matches), lexicons: lexicons,
                                                                               policy: policy.actions, direction: .output)
            }
            newChoices.append(choice)
        }
        guard changed else { return (body, texts, overall) }
        object["choices"] = newChoices
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? body
        return (data, texts, overall)
    }

    /// Puts original values back in a JSON answer's text fields (after screening).
    static func restorePlaceholders(in body: Data, route: ScreenedRoute, map: PseudonymMap) -> Data {
        guard var object = try? parseObject(body), let choices = object["choices"] as? [Any] else { return body }
        let restorer = PlaceholderRestorer(map: map)
        object["choices"] = choices.map { item -> Any in
            guard var choice = item as? [String: Any] else { return item }
            switch route {
            case .chatCompletions:
                guard var message = choice["message"] as? [String: Any] else { return choice }
                for key in ["content", "reasoning_content", "refusal"] {
                    if let text = message[key] as? String { message[key] = restorer.restore(text) }
                }
                if let calls = message["tool_calls"] as? [Any] {
                    message["tool_calls"] = calls.map { call -> Any in
                        guard var c = call as? [String: Any], var f = c["function"] as? [String: Any], let a = f["arguments"] as? String else { return call }
                        f["arguments"] = restorer.restore(a)
                        c["function"] = f
                        return c
                    }
                }
                choice["message"] = message
            case .completions:
                if let text = choice["text"] as? String { choice["text"] = restorer.restore(text) }
            }
            return choice
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? body
    }

    /// Sets a value at a path of object keys and array indices.
    static func setValue(_ value: Any, at path: ArraySlice<String>, in container: Any) -> Any {
        guard let key = path.first else { return value }
        if var dict = container as? [String: Any] {
            dict[key] = setValue(value, at: path.dropFirst(), in: dict[key] ?? [String: Any]())
            return dict
        }
        if var array = container as? [Any], let index = Int(key), array.indices.contains(index) {
            array[index] = setValue(value, at: path.dropFirst(), in: array[index])
            return array
        }
        return container
    }
}

/// Rewrites the request's `model` for an upstream that names the model differently.
enum ModelMap {
    static func apply(_ map: [String: String], to body: Data) -> Data {
        guard !map.isEmpty, var object = try? PayloadScreening.parseObject(body), let model = object["model"] as? String,
              let mapped = map[model] else { return body }
        object["model"] = mapped
        return (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? body
    }
}

// MARK: - Hooks

extension PayloadScreening {
    /// The texts of a request, with their roles, for classifier hooks.
    static func hookInputs(_ body: Data, route: ScreenedRoute, requestID: String, roles: Set<String>) -> [HookInput] {
        guard let object = try? parseObject(body) else { return [] }
        var inputs: [HookInput] = []
        switch route {
        case .chatCompletions:
            for message in object["messages"] as? [[String: Any]] ?? [] {
                let role = message["role"] as? String ?? "user"
                guard roles.contains(role) else { continue }
                if let s = message["content"] as? String { inputs.append(HookInput(text: s, direction: .input, role: role, requestID: requestID)) }
                for part in message["content"] as? [[String: Any]] ?? [] {
                    if let s = part["text"] as? String { inputs.append(HookInput(text: s, direction: .input, role: role, requestID: requestID)) }
                }
            }
        case .completions:
            let prompts = (object["prompt"] as? String).map { [$0] } ?? (object["prompt"] as? [Any])?.compactMap { $0 as? String } ?? []
            inputs = prompts.map { HookInput(text: $0, direction: .input, role: "user", requestID: requestID) }
        }
        return inputs.filter { !$0.text.isEmpty }
    }

    /// The answer texts of a JSON answer (content / text of each choice).
    static func answerTexts(_ body: Data, route: ScreenedRoute) -> [String] {
        guard let object = try? parseObject(body), let choices = object["choices"] as? [[String: Any]] else { return [] }
        return choices.compactMap { c in
            route == .chatCompletions ? (c["message"] as? [String: Any])?["content"] as? String : c["text"] as? String
        }
    }

    /// Replaces every choice by the refusal, `finish_reason: "content_filter"` (a hook blocked the answer).
    static func refuseAll(_ body: Data, route: ScreenedRoute, refusal: String, details: [String: Any]) -> Data {
        guard var object = try? parseObject(body), let choices = object["choices"] as? [[String: Any]] else { return body }
        object["choices"] = choices.map { c -> [String: Any] in
            var c = c
            if route == .chatCompletions { c["message"] = ["role": "assistant", "content": refusal] } else { c["text"] = refusal }
            c["finish_reason"] = "content_filter"
            c["content_filter_results"] = details
            return c
        }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? body
    }
}

/// Azure-shaped details for hook verdicts: category, hook, score, action — no text.
enum HookDetails {
    static func object(_ outcome: HookOutcome) -> [String: Any] {
        var out: [String: Any] = [:]
        for m in outcome.matches {
            var entry: [String: Any] = ["filtered": m.action == .block, "detected": true, "action": m.action.rawValue, "hook": m.hook]
            if let score = m.score { entry["score"] = score }
            out[m.category] = entry
        }
        return out
    }
}
