import Foundation
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
    let result: ScreeningResult
}

/// What input screening decided about a request body.
struct InputOutcome: Sendable {
    let decision: Decision
    let texts: [ScreenedText]
    /// The body to forward: the original bytes, or re-serialized with masked texts.
    let forwardBody: Data
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

    static func screenInput(_ body: Data, route: ScreenedRoute, snapshot: Snapshot) throws -> InputOutcome {
        var object = try parseObject(body)
        var texts: [ScreenedText] = []
        var changed = false
        let lexicons = snapshot.lexicons
        let policy = snapshot.policy

        func screen(_ text: String, at location: String) -> String {
            let result = lexicons.screen(text, direction: .input, policy: policy.actions)
            if !result.matches.isEmpty { texts.append(ScreenedText(location: location, result: result)) }
            if result.decision == .mask && result.maskedText != text { changed = true; return result.maskedText }
            return text
        }

        switch route {
        case .chatCompletions:
            guard let messages = object["messages"] as? [Any] else { throw PayloadError.notJSON("'messages' must be an array") }
            var newMessages: [Any] = []
            for (i, item) in messages.enumerated() {
                guard var message = item as? [String: Any] else { throw PayloadError.notJSON("messages[\(i)] must be an object") }
                let role = message["role"] as? String ?? ""
                if policy.inputRoles.contains(role) {
                    if let content = message["content"] as? String {
                        message["content"] = screen(content, at: "messages[\(i)].content")
                    } else if let parts = message["content"] as? [Any] {
                        message["content"] = parts.enumerated().map { (j, part) -> Any in
                            guard var p = part as? [String: Any], let text = p["text"] as? String else { return part }
                            p["text"] = screen(text, at: "messages[\(i)].content[\(j)].text")
                            return p
                        }
                    }
                    if let calls = message["tool_calls"] as? [Any] {
                        message["tool_calls"] = calls.enumerated().map { (j, call) -> Any in
                            guard var c = call as? [String: Any], var f = c["function"] as? [String: Any],
                                  let arguments = f["arguments"] as? String else { return call }
                            f["arguments"] = screen(arguments, at: "messages[\(i)].tool_calls[\(j)].function.arguments")
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
                object["prompt"] = screen(prompt, at: "prompt")
            } else if let prompts = object["prompt"] as? [Any] {
                object["prompt"] = prompts.enumerated().map { (i, p) -> Any in
                    guard let s = p as? String else { return p }
                    return screen(s, at: "prompt[\(i)]")
                }
            } else if object["prompt"] == nil {
                throw PayloadError.notJSON("'prompt' is required")
            }
        }
        let decision = texts.reduce(Decision.allow) { max($0, $1.result.decision) }
        let forward = changed && decision != .block
            ? try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
            : body
        return InputOutcome(decision: decision, texts: texts, forwardBody: forward,
                            isStream: (object["stream"] as? Bool) ?? false, model: object["model"] as? String)
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
                if !r.matches.isEmpty { found.append(ScreenedText(location: location, result: r)) }
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
