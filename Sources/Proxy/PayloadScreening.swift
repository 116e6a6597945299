import Foundation
import Hooks
import Screening

/// Which OpenAI-compatible endpoint a request is for.
enum ScreenedRoute: String, Sendable {
    case chatCompletions = "chat.completions"
    case completions = "completions"
    /// Embedding inputs are text a model reads: screened (masked, blocked) like prompts. The
    /// answer is vectors, passed on as they come.
    case embeddings = "embeddings"

    /// DashScope's compatible mode and other gateways put the OpenAI paths under a prefix
    /// (`/compatible-mode/v1/chat/completions`), so the suffix decides. Azure OpenAI's
    /// deployment paths (`/openai/deployments/{deployment}/completions`) carry OpenAI's bodies.
    /// `path` is canonical (``RoutingPath``).
    init?(path: String) {
        if path.hasSuffix("/chat/completions") { self = .chatCompletions }
        else if path.hasSuffix("/v1/completions") || path == "/completions"
                    || (path.hasPrefix("/openai/deployments/") && path.hasSuffix("/completions")) { self = .completions }
        else if path.hasSuffix("/embeddings") || path == "/api/embed" { self = .embeddings }
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
    /// Choices asked for (`n`; absent or null is 1); nil when `n` is anything but a plain
    /// whole number (model servers coerce `"1000"` and `1e3`, so those must not slip past the limit).
    let choices: Int?
    var matches: [Match] { texts.flatMap(\.result.matches) }
}

enum PayloadError: Error {
    case notJSON(String)
    case invalidUTF8
    /// The request is well-formed but would carry text to the model that Menshen cannot screen.
    case unscreenable(String, code: String)
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

    /// Screens a request's texts (`sites`, from ``promptSites(_:route:roles:refusedFields:)`` on
    /// `document`, which is `body` parsed).
    static func screenInput(_ body: Data, document: JSONDocument, sites: [TextSite], structure: [String] = [], snapshot: Snapshot,
                            external: ExternalPolicy? = nil) -> InputOutcome {
        let lexicons = snapshot.lexicons
        let policy = snapshot.policy
        var texts: [ScreenedText] = []
        var results: [ScreeningResult] = []
        results.reserveCapacity(sites.count)
        var internalEdits: [(range: Range<Int>, with: [UInt8])] = []

        // Pass 1: screen every text; the internal body gets the lexicon's masks, spliced into
        // the original bytes (nothing else of the body changes).
        for site in sites {
            let text = site.text
            let result = lexicons.screen(text, direction: .input, policy: policy.actions)
            results.append(result)
            if !result.matches.isEmpty { texts.append(ScreenedText(location: site.location, text: text, result: result)) }
            var replacement: String?
            if let external, external.pseudonymizeInternal {
                let pseudonymized = Desensitizer.external(text, matches: result.matches, lexicons: lexicons, policy: policy.actions,
                                                          map: external.map, c3: .remove).text
                if pseudonymized != text { replacement = pseudonymized }
            } else if result.decision == .mask && result.maskedText != text {
                replacement = result.maskedText
            }
            if let replacement { internalEdits.append((site.node.range, JSONDocument.literal(replacement))) }
        }
        texts += joinedFindings(sites, snapshot: snapshot)
        if let found = structureFindings(structure, snapshot: snapshot) { texts.append(found) }
        let decision = texts.reduce(Decision.allow) { max($0, $1.result.decision) }
        let forward = !internalEdits.isEmpty && decision != .block ? document.splicing(internalEdits) : body
        // Pass 2: the body an external upstream may see — C2 values as placeholders, C3 removed or flagged.
        var externalBody: Data?
        var foundC3 = false
        if let external, decision != .block {
            var edits: [(range: Range<Int>, with: [UInt8])] = []
            for (site, result) in zip(sites, results) {
                let d = Desensitizer.external(site.text, matches: result.matches, lexicons: lexicons, policy: policy.actions,
                                              map: external.map, c3: external.c3)
                if d.foundC3 { foundC3 = true }
                if d.text != site.text { edits.append((site.node.range, JSONDocument.literal(d.text))) }
            }
            externalBody = edits.isEmpty ? body : document.splicing(edits)
        }
        return InputOutcome(decision: decision, texts: texts, forwardBody: forward, externalBody: externalBody,
                            externalC3: foundC3, isStream: document.root["stream"]?.boolValue ?? false,
                            model: document.string(document.root["model"]),
                            choices: document.root["n"].map { $0.isNull ? 1 : document.int($0) } ?? 1)
    }

    /// A screened text of a payload: its string node and its place, for audit and answers.
    struct TextSite {
        let node: JSONNode
        let location: String
        /// The string as the model reads it. Tool results and arguments are JSON, often with
        /// every non-ASCII character escaped, and models read escapes fluently: the text is
        /// decoded (see ``JSONUnicodeUnescaper``), and a masked text is forwarded decoded —
        /// equivalent JSON.
        let text: String
        /// The role classifier hooks filter on: the message's role when it is one servers
        /// define, `user` for any other or none (the most scrutinized), `tool` for text from
        /// outside the conversation (tool definitions, documents), `user` for the rest.
        let role: String
        /// Texts the server joins into one before the model reads it (a message's text parts,
        /// joined with newlines by vLLM) share a group: they are also screened joined, so a
        /// term cannot be split across them.
        var joinGroup: Int? = nil
    }

    /// Message roles OpenAI-compatible servers define; only these can be left out by policy.
    static let knownRoles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]
    /// Keys whose string values are protocol values, not text a model reads.
    static let controlKeys: Set<String> = ["model", "role", "type", "tool_choice", "tool_call_id", "id", "object",
                                           "service_tier", "reasoning_effort", "modalities", "detail", "format", "voice",
                                           "encoding_format"]
    /// Keys whose whole value holds nothing Menshen reads as text (media, token ids, options).
    static let opaqueKeys: Set<String> = ["image_url", "input_audio", "audio", "file", "video_url", "logit_bias", "stream_options"]
    /// Whether the value under `key` can hold text the model reads.
    static func holdsText(_ key: String) -> Bool { !controlKeys.contains(key) && !opaqueKeys.contains(key) }
    /// Top-level fields whose text comes from outside the conversation.
    static let outsideKeys: Set<String> = ["tools", "functions", "documents"]

    /// Parses a request body (a JSON object), mapping problems to what the client is told.
    static func parseDocument(_ body: Data) throws -> JSONDocument {
        let document: JSONDocument
        do {
            document = try JSONDocument(body)
        } catch .invalidUTF8 {
            throw PayloadError.invalidUTF8
        } catch .syntax(let message) {
            throw PayloadError.notJSON("request body is not valid JSON (\(message))")
        }
        guard document.root.isObject else { throw PayloadError.notJSON("request body must be a JSON object") }
        return document
    }

    /// What a request carries to the model: its texts, and the text outside string values.
    struct PromptTexts {
        /// Every string value a model could read, in order (see ``promptSites(_:route:roles:refusedFields:)``).
        var sites: [TextSite] = []
        /// Object keys, numbers, and role values that are not the protocol's, joined by
        /// newlines: chat templates render tool schemas as JSON (keys and numbers included) and
        /// a message's role as text. They cannot be masked in place, so a mask there blocks.
        var structure: [String] = []
        /// Structure parts already collected (most keys repeat: `role`, `content`, `type`).
        var seenStructure: Set<String> = []

        mutating func noteStructure(_ part: String) {
            guard !part.isEmpty, seenStructure.insert(part).inserted else { return }
            structure.append(part)
        }
    }

    /// The texts of a request that reach the model, in order: every string value except
    /// protocol values (`model`, `role`, `type`, ids …) and media, wherever it is — messages and
    /// their content parts, tool-call arguments, `suffix`, tool and function definitions (their
    /// descriptions are rendered into the prompt), vLLM's `documents`, `user`, and fields no
    /// one has thought of yet. Screening by default is what keeps a server's next extension
    /// from becoming a way around Menshen. Messages of a known role that policy leaves out are
    /// skipped whole. Outside the messages (tools, response formats, documents, unknown
    /// fields) nothing is a protocol value: every string, key and number is read, since
    /// templates render those subtrees whole.
    ///
    /// Refuses (``PayloadError/unscreenable(_:code:)``) what would reach the model unread: a
    /// field in `refusedFields`, a prompt given as token ids, a role that is not a string.
    static func promptSites(_ document: JSONDocument, route: ScreenedRoute, roles: Set<String>,
                            refusedFields: [String] = []) throws -> PromptTexts {
        guard let members = document.root.members else { throw PayloadError.notJSON("request body must be a JSON object") }
        var texts = PromptTexts()
        for member in members {
            if refusedFields.contains(member.key) {
                throw PayloadError.unscreenable("'\(identifier(member.key))' is refused by Menshen: text in it would reach the model unscreened",
                                                code: "request_field_not_allowed")
            }
            texts.noteStructure(member.key)
            guard holdsText(member.key) else {
                noteProtocolValue(member, document, into: &texts)
                continue
            }
            switch (route, member.key) {
            case (.chatCompletions, "messages"):
                guard let messages = member.value.elements else { throw PayloadError.notJSON("'messages' must be an array") }
                for (i, message) in messages.enumerated() {
                    guard message.isObject else { throw PayloadError.notJSON("messages[\(i)] must be an object") }
                    if let roleNode = message["role"], !roleNode.isString && !roleNode.isNull {
                        throw PayloadError.unscreenable("messages[\(i)].role must be a string", code: "invalid_role")
                    }
                    let role = message["role"].flatMap { document.string($0) }
                    let known = role.map { knownRoles.contains($0) } ?? false
                    if known && !roles.contains(role!) { continue }
                    // A role of the template's own (`observation`) or an invented one is text
                    // the template writes into the prompt.
                    if let role, !known { texts.noteStructure(JSONUnicodeUnescaper.decode(role)) }
                    for field in message.members ?? [] {
                        texts.noteStructure(field.key)
                        guard holdsText(field.key) else {
                            if field.key != "role" { noteProtocolValue(field, document, into: &texts) }
                            continue
                        }
                        // Content parts are joined into one text before the model reads them.
                        let group = field.key == "content" && field.value.elements != nil ? i : nil
                        collectStrings(field.value, path: "messages[\(i)].\(field.key)", role: known ? role! : "user",
                                       group: group, everything: false, document: document, into: &texts)
                    }
                }
            case (.completions, "prompt"), (.embeddings, "input"), (.embeddings, "prompt"):
                guard member.value.isString || member.value.elements?.allSatisfy(\.isString) == true else {
                    throw PayloadError.unscreenable("'\(member.key)' must be a string or an array of strings: token ids cannot be screened",
                                                    code: "prompt_not_screenable")
                }
                collectStrings(member.value, path: member.key, role: "user", everything: true, document: document, into: &texts)
            default:
                // Top-level numbers are sampling options (`temperature`, `seed`), not text.
                if member.value.isNumber { continue }
                collectStrings(member.value, path: member.key, role: outsideKeys.contains(member.key) ? "tool" : "user",
                               everything: true, document: document, into: &texts)
            }
        }
        switch route {
        case .chatCompletions where document.root["messages"] == nil: throw PayloadError.notJSON("'messages' must be an array")
        case .completions where document.root["prompt"] == nil: throw PayloadError.notJSON("'prompt' is required")
        case .embeddings where document.root["input"] == nil && document.root["prompt"] == nil:
            throw PayloadError.notJSON("'input' is required")
        default: break
        }
        return texts
    }

    /// A protocol value (`model`, `tool_call_id`, a `type`) is no text the model reads, but it
    /// reaches the model server — an external one included — and some templates render it: its
    /// string is screened with the structure (a mask there blocks). Media stay out.
    private static func noteProtocolValue(_ member: JSONMember, _ document: JSONDocument, into texts: inout PromptTexts) {
        guard controlKeys.contains(member.key), member.value.isString, let value = document.string(member.value) else { return }
        texts.noteStructure(value)
    }

    /// A member's name for an error message or a log line: only when it is a short identifier,
    /// so nothing a client or a model server wrote is echoed through it.
    static func identifier(_ key: String) -> String {
        let plain = key.utf8.count <= 40 && key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return plain && !key.isEmpty ? key : "<a member>"
    }

    /// The texts of one join group (see ``TextSite/joinGroup``), joined with newlines as the
    /// server joins them, with the byte range of each member's text in the joined one.
    struct JoinedText {
        let group: Int
        /// Indices into the sites.
        let members: [Int]
        let text: String
        let bounds: [Range<Int>]
    }

    /// `separator`: what the server puts between a group's texts. vLLM joins text parts with
    /// newlines; other templates concatenate them, so both readings are screened.
    static func joinedTexts(_ sites: [TextSite], separator: String = "\n") -> [JoinedText] {
        var members: [Int: [Int]] = [:]
        for (k, site) in sites.enumerated() { if let g = site.joinGroup { members[g, default: []].append(k) } }
        return members.sorted { $0.key < $1.key }.map { group, indices in
            var text = ""
            var bounds: [Range<Int>] = []
            for k in indices {
                if !bounds.isEmpty { text += separator }
                let start = text.utf8.count
                text += sites[k].text
                bounds.append(start..<text.utf8.count)
            }
            return JoinedText(group: group, members: indices, text: text, bounds: bounds)
        }
    }

    /// Matches that only the joined text of a group shows (they span two of its texts), joined
    /// with a newline and with nothing. Such a match cannot be masked in place — its bytes are
    /// in two strings — so a mask becomes a block; block, flag and shadow keep their action.
    private static func joinedFindings(_ sites: [TextSite], snapshot: Snapshot) -> [ScreenedText] {
        guard sites.contains(where: { $0.joinGroup != nil }) else { return [] }
        return ["\n", ""].flatMap { separator in
            joinedTexts(sites, separator: separator).compactMap { joined -> ScreenedText? in
                guard joined.members.count > 1 else { return nil }
                let result = snapshot.lexicons.screen(joined.text, direction: .input, policy: snapshot.policy.actions)
                let spanning = result.matches.filter { m in !joined.bounds.contains { $0.contains(m.range.lowerBound) && m.range.upperBound <= $0.upperBound } }
                guard !spanning.isEmpty else { return nil }
                return blocking(spanning, text: joined.text, location: "messages[\(joined.group)].content", snapshot: snapshot)
            }
        }
    }

    /// What the structure of a request (keys, numbers, invented roles; see
    /// ``PromptTexts/structure``) shows, screened as one text. A mask there blocks.
    private static func structureFindings(_ structure: [String], snapshot: Snapshot) -> ScreenedText? {
        guard !structure.isEmpty else { return nil }
        let text = structure.joined(separator: "\n")
        let result = snapshot.lexicons.screen(text, direction: .input, policy: snapshot.policy.actions)
        guard !result.matches.isEmpty else { return nil }
        // A personal-data pattern glued inside an identifier (`chatcmpl-tool-…2345678901abc`)
        // is part of the identifier, not a number someone wrote: structure is made of ids.
        let bytes = Array(text.utf8)
        func isIdentifierByte(_ i: Int) -> Bool {
            guard bytes.indices.contains(i) else { return false }
            let b = bytes[i] | 0x20
            return (0x30...0x39).contains(bytes[i]) || (0x61...0x7A).contains(b)
        }
        let matches = result.matches.filter { m in
            snapshot.policy.actions.action(for: m, lexicons: snapshot.lexicons, direction: .input) != .mask
                || !(isIdentifierByte(m.range.lowerBound - 1) || isIdentifierByte(m.range.upperBound))
        }
        guard !matches.isEmpty else { return nil }
        return blocking(matches, text: text, location: "request keys and numbers", snapshot: snapshot)
    }

    /// A finding in text that cannot be rewritten in place: a mask becomes a block.
    private static func blocking(_ matches: [Match], text: String, location: String, snapshot: Snapshot) -> ScreenedText {
        var decision = snapshot.policy.actions.decision(for: matches, lexicons: snapshot.lexicons, direction: .input)
        if decision == .mask { decision = .block }
        return ScreenedText(location: location, text: text,
                            result: ScreeningResult(decision: decision, matches: matches, maskedText: text,
                                                    lexiconVersion: snapshot.lexicons.version))
    }

    /// Whether a request asks for log probabilities. Anything but absent, `null`, `false` (and,
    /// for `top_logprobs`, `0`) counts: model servers coerce `"true"` and `1.0`.
    static func asksForLogprobs(_ document: JSONDocument) -> Bool {
        func asks(_ key: String, zeroIsNo: Bool) -> Bool {
            guard let node = document.root[key], !node.isNull, node.boolValue != false else { return false }
            return !(zeroIsNo && document.int(node) == 0)
        }
        // Legacy completions return the chosen tokens' log probabilities even for `logprobs: 0`;
        // vLLM's `prompt_logprobs: 0` still returns the prompt's tokens.
        return asks("logprobs", zeroIsNo: false) || asks("top_logprobs", zeroIsNo: true) || asks("prompt_logprobs", zeroIsNo: false)
    }

    /// Whether a request asks for the answer as token ids beside (or instead of) its text
    /// (vLLM's `return_token_ids`, `return_tokens_as_token_ids`): a client that decodes them
    /// reads the answer unscreened, held and blocked text included.
    static func asksForTokenIDs(_ document: JSONDocument) -> Bool {
        ["return_token_ids", "return_tokens_as_token_ids"].contains { key in
            guard let node = document.root[key], !node.isNull else { return false }
            return node.boolValue != false
        }
    }

    /// Every string value under `node`, with its path, skipping protocol values and media —
    /// unless `everything` is set (subtrees a template renders whole: tools, schemas,
    /// documents), where every string is text and keys and numbers are structure.
    private static func collectStrings(_ node: JSONNode, path: String, role: String, group: Int? = nil, everything: Bool,
                                       document: JSONDocument, into texts: inout PromptTexts) {
        switch node {
        case .string:
            texts.sites.append(TextSite(node: node, location: path, text: JSONUnicodeUnescaper.decode(document.string(node) ?? ""),
                                        role: role, joinGroup: group))
        case .array(let elements, _):
            for (i, element) in elements.enumerated() {
                collectStrings(element, path: "\(path)[\(i)]", role: role, group: group, everything: everything, document: document, into: &texts)
            }
        case .object(let members, _):
            for member in members {
                texts.noteStructure(member.key)
                guard everything || holdsText(member.key) else {
                    noteProtocolValue(member, document, into: &texts)
                    continue
                }
                collectStrings(member.value, path: "\(path).\(member.key)", role: role, group: group, everything: everything,
                               document: document, into: &texts)
            }
        case .number(let range):
            // Templates render numbers too (tool-call arguments given as objects, schemas), and
            // a phone, ID or card number can be written as one. A number of fewer than 11
            // digits is a quantity (`"maximum": 2147483647` is no phone number), the shortest
            // identifier Menshen masks as a number being a Chinese mobile.
            let digits = document.bytes[range].reduce(0) { $0 + (($1 >= 0x30 && $1 <= 0x39) ? 1 : 0) }
            if digits >= 11 { texts.noteStructure(String(decoding: document.bytes[range], as: UTF8.self)) }
        case .bool, .null:
            break
        }
    }

    // MARK: Output (non-streamed)

    /// Screens every choice of a JSON answer. Returns the body to deliver (the original bytes
    /// when nothing changed) and what was found.
    /// Screens a whole answer, `document` being `body` parsed, already checked by ``AnswerShape``.
    static func screenOutput(_ body: Data, document: JSONDocument, route: ScreenedRoute, snapshot: Snapshot)
        -> (body: Data, texts: [ScreenedText], decision: Decision, document: JSONDocument?) {
        // Most answers are clean: read their texts off the bytes and deliver them untouched (with
        // the parsed document, so labelling does not parse them again). An answer with a finding
        // takes the rewriting path.
        guard let choices = document.root["choices"]?.elements else { return (body, [], .allow, document) }
        let fields = snapshot.policy.outputFields
        let clean = choices.allSatisfy { choice in
            answerNodes(of: choice, route: route, fields: fields).allSatisfy { node in
                snapshot.lexicons.screen(screenedView(document.string(node.node) ?? "", field: node.field), direction: .output,
                                         policy: snapshot.policy.actions).matches.isEmpty
            }
        }
        if clean { return (body, [], .allow, document) }
        let rewritten = screenOutputRewriting(body, route: route, snapshot: snapshot)
        return (rewritten.body, rewritten.texts, rewritten.decision, nil)
    }

    /// The text screened for an answer field: tool-call arguments are JSON, screened (and, when
    /// rewritten, delivered) with their `\uXXXX` escapes decoded (see ``JSONUnicodeUnescaper``).
    static func screenedView(_ text: String, field: SidecarConfiguration.OutputField) -> String {
        field == .toolArguments ? JSONUnicodeUnescaper.decode(text) : text
    }

    /// The screened answer strings of one choice, as policy's output fields select them.
    static func answerNodes(of choice: JSONNode, route: ScreenedRoute, fields: Set<SidecarConfiguration.OutputField>)
        -> [(node: JSONNode, field: SidecarConfiguration.OutputField)] {
        var nodes: [(node: JSONNode, field: SidecarConfiguration.OutputField)] = []
        func visit(_ node: JSONNode?, _ field: SidecarConfiguration.OutputField) {
            if let node, node.isString, fields.contains(field) { nodes.append((node, field)) }
        }
        switch route {
        case .chatCompletions:
            let message = choice["message"]
            for field in SidecarConfiguration.OutputField.messageFields { visit(message?[field.rawValue], field) }
            for call in message?["tool_calls"]?.elements ?? [] {
                visit(call["function"]?["name"], .toolName)
                visit(call["function"]?["arguments"], .toolArguments)
            }
            visit(message?["function_call"]?["name"], .toolName)                    // the legacy format
            visit(message?["function_call"]?["arguments"], .toolArguments)
        case .completions, .embeddings:
            visit(choice["text"], .content)
        }
        return nodes
    }

    /// Screens and rewrites an answer through `JSONSerialization` (blocks, masks, details).
    private static func screenOutputRewriting(_ body: Data, route: ScreenedRoute, snapshot: Snapshot) -> (body: Data, texts: [ScreenedText], decision: Decision) {
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
            func visit(_ raw: String?, path: [String], field: SidecarConfiguration.OutputField) {
                guard let raw, policy.outputFields.contains(field) else { return }
                let text = screenedView(raw, field: field)
                let r = screen(text, at: "choices[\(i)]." + path.joined(separator: "."))
                decision = max(decision, r.decision)
                if r.decision == .mask { replacements.append((path, r.maskedText)) }
            }
            switch route {
            case .chatCompletions:
                let message = choice["message"] as? [String: Any] ?? [:]
                for field in SidecarConfiguration.OutputField.messageFields {
                    visit(message[field.rawValue] as? String, path: ["message", field.rawValue], field: field)
                }
                if let calls = message["tool_calls"] as? [Any] {
                    for (j, call) in calls.enumerated() {
                        let function = (call as? [String: Any])?["function"] as? [String: Any]
                        visit(function?["name"] as? String, path: ["message", "tool_calls", "\(j)", "function", "name"], field: .toolName)
                        visit(function?["arguments"] as? String, path: ["message", "tool_calls", "\(j)", "function", "arguments"], field: .toolArguments)
                    }
                }
                let legacy = message["function_call"] as? [String: Any]
                visit(legacy?["name"] as? String, path: ["message", "function_call", "name"], field: .toolName)
                visit(legacy?["arguments"] as? String, path: ["message", "function_call", "arguments"], field: .toolArguments)
            case .completions, .embeddings:
                visit(choice["text"] as? String, path: ["text"], field: .content)
            }
            overall = max(overall, decision)
            texts += found
            if (decision == .block || !replacements.isEmpty), let logprobs = choice["logprobs"], !(logprobs is NSNull) {
                // Log probabilities spell out the withheld or raw text token by token.
                choice["logprobs"] = NSNull()
                changed = true
            }
            if decision == .block {
                changed = true
                switch route {
                case .chatCompletions:
                    // Only the refusal is left: the blocked text may be in any screened field
                    // (the refusal, the reasoning, a tool call), and none of it may remain.
                    let role = (choice["message"] as? [String: Any])?["role"] as? String ?? "assistant"
                    choice["message"] = ["role": role, "content": policy.outputRefusal]
                case .completions, .embeddings:
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
                for key in SidecarConfiguration.OutputField.messageFields.map(\.rawValue) {
                    if let text = message[key] as? String { message[key] = restorer.restore(text) }
                }
                if var call = message["function_call"] as? [String: Any], let a = call["arguments"] as? String {
                    call["arguments"] = restorer.restore(a)
                    message["function_call"] = call
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
            case .completions, .embeddings:
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
    /// What classifier hooks see of a request: the same texts the lexicons screen, each with
    /// the role hooks filter on (see ``TextSite/role``); texts the server joins (a message's
    /// text parts) are classified joined, as the model reads them.
    static func hookInputs(_ sites: [TextSite], requestID: String) -> [HookInput] {
        var joinedAt: [Int: String] = [:]       // first member's index → the group's joined text
        var inGroup: Set<Int> = []
        for joined in joinedTexts(sites) {
            joinedAt[joined.members[0]] = joined.text
            inGroup.formUnion(joined.members)
        }
        return sites.indices.compactMap { k in
            let text = joinedAt[k] ?? (inGroup.contains(k) ? "" : sites[k].text)
            return text.isEmpty ? nil : HookInput(text: text, direction: .input, role: sites[k].role, requestID: requestID)
        }
    }

    /// The answer texts of a JSON answer (content / text of each choice).
    /// The answer texts classifier hooks see: every choice's fields that policy screens
    /// (content, and reasoning, refusal and tool-call arguments when selected), in order.
    static func answerTexts(_ body: Data, route: ScreenedRoute, fields: Set<SidecarConfiguration.OutputField>) -> [String] {
        guard let document = try? JSONDocument(body), let choices = document.root["choices"]?.elements else { return [] }
        return choices.flatMap { choice in
            answerNodes(of: choice, route: route, fields: fields).compactMap { n in document.string(n.node).map { screenedView($0, field: n.field) } }
        }
    }

    /// An answer written by Menshen from nothing but the refusal: when a blocked text sits
    /// outside the choices (an id, the model's name, an error object), no member of the
    /// model server's answer can be kept.
    static func blockedAnswer(route: ScreenedRoute, choices count: Int, refusal: String, details: [String: Any], requestID: String) -> Data {
        let choices: [[String: Any]] = (0..<max(1, count)).map { index in
            var choice: [String: Any] = ["index": index, "finish_reason": "content_filter", "content_filter_results": details]
            if route == .chatCompletions { choice["message"] = ["role": "assistant", "content": refusal] } else { choice["text"] = refusal }
            return choice
        }
        let object: [String: Any] = ["id": "menshen-\(requestID)", "object": route == .chatCompletions ? "chat.completion" : "text_completion",
                                     "created": Int(Date().timeIntervalSince1970), "model": "menshen", "choices": choices]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
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
