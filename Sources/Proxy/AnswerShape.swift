/// Whether an answer on a screened route has the shape Menshen screens.
///
/// Menshen screens the text fields of OpenAI-compatible answers. An answer it cannot read —
/// not JSON, a duplicate key, a text field that is not a string (content parts, say), text in a
/// member it does not know, audio — would otherwise reach the client unscreened, so it is refused instead
/// (fail closed): the whole answer when buffered, the rest of the stream when streamed.
enum AnswerShape {
    /// Why an answer cannot be screened (what is wrong with its shape, never its text).
    struct Unscreenable: Error {
        let problem: String
    }

    /// Parses an answer (or a streamed chunk's data) and checks its shape.
    /// `allowLogprobs`: `screening.allow_logprobs`. Without it no request may ask for log
    /// probabilities, so an answer that carries them anyway (a hostile server spelling the
    /// answer as tokens) is refused.
    static func read(_ bytes: [UInt8], route: ScreenedRoute, streamed: Bool, allowLogprobs: Bool = false) -> Result<JSONDocument, Unscreenable> {
        let what = streamed ? "a chunk" : "the answer"
        let document: JSONDocument
        do { document = try JSONDocument(bytes: bytes) } catch {
            // Not the parser's message: a repeated key's name may come from model output.
            return .failure(Unscreenable(problem: error == .invalidUTF8 ? "\(what) is not valid UTF-8" : "\(what) is not valid JSON or repeats a key"))
        }
        if let problem = problem(document, route: route, streamed: streamed) { return .failure(Unscreenable(problem: problem)) }
        if !allowLogprobs {
            for (i, choice) in (document.root["choices"]?.elements ?? []).enumerated() {
                if let logprobs = choice["logprobs"], carriesContent(logprobs) {
                    return .failure(Unscreenable(problem: "choices[\(i)].logprobs were not asked for (screening.allow_logprobs is off)"))
                }
            }
            if let prompt = document.root["prompt_logprobs"], carriesContent(prompt) {
                return .failure(Unscreenable(problem: "prompt_logprobs were not asked for (screening.allow_logprobs is off)"))
            }
        }
        return .success(document)
    }

    /// Why `document` cannot be screened, or nil when it can. `streamed` checks a chunk
    /// (`choices[].delta`, and a chunk without `choices` (or with `null`), such as an error object or a usage
    /// chunk, carries no answer text); otherwise a whole answer (`choices[].message`, required).
    private static func problem(_ document: JSONDocument, route: ScreenedRoute, streamed: Bool) -> String? {
        guard document.root.isObject else { return "the answer is not a JSON object" }
        // Foundation's JSONSerialization drops a U+FEFF at the start of a string, so a client
        // parsing with it reads `\u{FEFF}choices` as `choices`, where Menshen reads a member it
        // does not know: one document, two readings. Refused.
        if let problem = byteOrderMarkKey(document.root) { return problem }
        for choice in document.root["choices"]?.elements ?? [] {
            if let problem = byteOrderMarkKey(choice) { return problem }
        }
        guard let choicesNode = document.root["choices"], !(streamed && choicesNode.isNull) else {
            return streamed ? nil : "the answer has no 'choices'"
        }
        guard let choices = choicesNode.elements else { return "'choices' is not an array" }
        for (i, choice) in choices.enumerated() {
            guard choice.isObject else { return "choices[\(i)] is not an object" }
            // A member Menshen does not know may spell the answer another way (vLLM's
            // `token_ids`): refused unless it is empty or a plain value.
            for member in choice.members ?? [] where !knownChoiceMembers.contains(member.key) && carriesContent(member.value) && !member.value.isString {
                return "choices[\(i)].\(PayloadScreening.identifier(member.key)) is not screened"
            }
            switch route {
            case .chatCompletions:
                // Text where the other endpoint puts it would reach clients that read it unscreened.
                if let text = choice["text"], !text.isNull { return "choices[\(i)].text is not screened on chat completions" }
                let name = streamed ? "delta" : "message"
                // The other member (a whole `message` in a chunk, a `delta` in an answer) is
                // text some clients read and Menshen would not screen in that place.
                let other = streamed ? "message" : "delta"
                if let misplaced = choice[other], !misplaced.isNull { return "choices[\(i)].\(other) is not screened in \(streamed ? "a chunk" : "the answer")" }
                guard let message = choice[name], !message.isNull else { continue }
                guard message.isObject else { return "choices[\(i)].\(name) is not an object" }
                for field in SidecarConfiguration.OutputField.messageFields {
                    if let value = message[field.rawValue], !value.isString && !value.isNull {
                        return "choices[\(i)].\(name).\(field.rawValue) is not a string"
                    }
                }
                // A text member Menshen does not know (the next rename of the chain of thought,
                // say) would reach the client unread.
                // Not only strings: LiteLLM's `thinking_blocks`, a provider's `reasoning_details`
                // carry text in arrays and objects, streamed in pieces a client joins.
                for member in message.members ?? [] where carriesContent(member.value) {
                    let known = SidecarConfiguration.OutputField.messageFields.contains { $0.rawValue == member.key }
                        || SidecarConfiguration.OutputField.structuralMessageMembers.contains(member.key)
                    if !known { return "choices[\(i)].\(name).\(PayloadScreening.identifier(member.key)) is text Menshen does not screen" }
                }
                if let annotations = message["annotations"], !annotations.isNull, annotations.elements == nil {
                    return "choices[\(i)].\(name).annotations is not an array"
                }
                if let call = message["function_call"], !call.isNull {
                    // The legacy function-calling format: its arguments are screened like a tool call's.
                    guard call.isObject else { return "choices[\(i)].\(name).function_call is not an object" }
                    if let problem = functionProblem(call, at: "choices[\(i)].\(name).function_call") { return problem }
                }
                // A spoken answer says what its transcript says: screening the transcript would
                // not stop the audio.
                if let audio = message["audio"], !audio.isNull {
                    return "choices[\(i)].\(name).audio (a spoken answer) cannot be screened"
                }
                if let calls = message["tool_calls"], !calls.isNull {
                    guard let list = calls.elements else { return "choices[\(i)].\(name).tool_calls is not an array" }
                    for (j, call) in list.enumerated() {
                        guard call.isObject else { return "choices[\(i)].\(name).tool_calls[\(j)] is not an object" }
                        // Free-form tool calls (OpenAI's `custom` tools) carry text outside
                        // `function.arguments`, where Menshen does not read it.
                        for member in call.members ?? [] where !member.value.isNull && !["index", "id", "type", "function"].contains(member.key) {
                            return "choices[\(i)].\(name).tool_calls[\(j)].\(PayloadScreening.identifier(member.key)) is not screened (only function tool calls are)"
                        }
                        guard let function = call["function"], !function.isNull else { continue }
                        guard function.isObject else { return "choices[\(i)].\(name).tool_calls[\(j)].function is not an object" }
                        if let problem = functionProblem(function, at: "choices[\(i)].\(name).tool_calls[\(j)].function") { return problem }
                    }
                }
            case .completions, .embeddings:
                if let text = choice["text"], !text.isString && !text.isNull { return "choices[\(i)].text is not a string" }
                for name in ["message", "delta"] where !(choice[name]?.isNull ?? true) {
                    return "choices[\(i)].\(name) is not screened on completions"
                }
            }
        }
        return nil
    }

    /// Why an object cannot be read one way only, or nil: a key that starts with U+FEFF.
    private static func byteOrderMarkKey(_ node: JSONNode) -> String? {
        (node.members ?? []).contains { $0.key.unicodeScalars.first == "\u{FEFF}" } ? "a member's name starts with U+FEFF (parsers disagree on it)" : nil
    }

    /// Members of a choice Menshen reads: text slots, and plain values whose strings are
    /// screened with the answer's structure (``AnswerStructure``).
    static let knownChoiceMembers: Set<String> = ["index", "message", "delta", "text", "finish_reason", "stop_reason", "logprobs",
                                                 "content_filter_results", "content_filter_result", "matched_stop", "native_finish_reason"]

    /// Why a function call's object (`name`, `arguments`) cannot be screened, or nil.
    private static func functionProblem(_ function: JSONNode, at path: String) -> String? {
        for member in function.members ?? [] where !member.value.isNull {
            switch member.key {
            case "name", "arguments":
                if !member.value.isString { return "\(path).\(member.key) is not a string" }
            default:
                if carriesContent(member.value) { return "\(path).\(PayloadScreening.identifier(member.key)) is not screened" }
            }
        }
        return nil
    }

    /// Whether a value can carry text: anything but null, a boolean, a number, or an empty
    /// array or object.
    static func carriesContent(_ node: JSONNode) -> Bool {
        switch node {
        case .null, .bool, .number: return false
        case .array(let elements, _): return !elements.isEmpty
        case .object(let members, _): return !members.isEmpty
        case .string: return true
        }
    }

}
