import Foundation
import Screening

/// Screens one streamed answer (SSE chunks of an OpenAI-compatible API).
///
/// Each choice's text fields (content, reasoning_content or reasoning, each tool call's arguments, refusal)
/// get their own stream scanner. Every upstream event is re-emitted with only the *settled*
/// part of its text — text no lexicon term or regex can still extend into — with masks applied;
/// the rest waits for the next event. A block stops the stream: what was clean before the
/// blocked text is delivered, then a `finish_reason: "content_filter"` event and `[DONE]`.
///
/// A chunk Menshen cannot read (see ``AnswerShape``) stops the stream too: held text is dropped
/// and the caller ends the stream with an error event, because the chunk's text would otherwise
/// reach the client unscreened.
///
/// State: `.streaming` → (`.blocked` | `.refused` | `.finished`). Events after a terminal state
/// are ignored.
struct StreamScreener {
    enum State: Equatable { case streaming, blocked, refused, finished }

    /// What the proxy does after an event.
    struct Output {
        /// Events to send to the client, in order.
        var events: [SSEParser.Event] = []
        /// Stop reading the upstream (blocked or refused): the caller cancels the upstream request.
        var stop = false
        /// Why the stream was refused (an unscreenable chunk): the caller ends it with an error event.
        var refusal: String?
    }

    struct FieldKey: Hashable {
        let choice: Int
        let field: SidecarConfiguration.OutputField
        let tool: Int
    }

    /// The scanner and the not-yet-released bytes of one text field.
    struct FieldStream {
        var scanner: StreamScanner
        /// Bytes fed but not released, starting at stream offset `base`.
        var held: [UInt8] = []
        var base = 0
        var masks: [Match] = []
        var blockAt: Int?
        /// Restores placeholders in what is released, holding back a possible split one.
        var restorer: PlaceholderRestorer?
        /// Everything fed, for the audit event's hash and excerpt (bounded).
        var text: [UInt8] = []
        /// Tool-call arguments are JSON: screened and released with `\uXXXX` escapes decoded.
        var unescaper: JSONUnicodeUnescaper?
    }

    /// Per text field with matches: the screened text and its matches (for audit events).
    var auditTexts: [(location: String, text: String, matches: [Match])] {
        fields.compactMap { key, stream in
            let found = matches.filter { $0.location == Self.location(key) }.map(\.match)
            return found.isEmpty ? nil : (Self.location(key), String(decoding: stream.text, as: UTF8.self), found)
        } + structureFindings.map { (Self.structureLocation, $0.text, $0.matches) }
    }

    /// The structure text of the last chunk screened (see ``AnswerStructure``).
    private var lastStructure = AnswerStructure.Texts()
    /// Structure texts with findings, for audit events.
    private var structureFindings: [(text: String, matches: [Match])] = []
    private static let structureLocation = "answer structure"

    let snapshot: Snapshot
    let route: ScreenedRoute
    /// Placeholders to restore in released text (the prompt went out pseudonymized).
    let pseudonyms: PseudonymMap?
    private(set) var state: State = .streaming
    private var fields: [FieldKey: FieldStream] = [:]
    private var finishedChoices: Set<Int> = []
    private var seenChoices: Set<Int> = []
    /// Every match found, with its field, for audit and headers.
    private(set) var matches: [(location: String, match: Match)] = []
    /// Template fields (`id`, `model`, `created`, `object`) of the last chunk, for the final event.
    private var template = ChunkTemplate()
    /// Whether any content has been released to the client yet (time to first delivered token).
    private(set) var deliveredText = false
    /// Bytes held back right now, summed over fields (for metrics).
    var heldBytes: Int { fields.values.reduce(0) { $0 + $1.held.count } }

    /// Choice indices from 0 up to this; a chunk naming another ends the stream (memory bound).
    let maxChoices: Int

    init(snapshot: Snapshot, route: ScreenedRoute, pseudonyms: PseudonymMap? = nil, maxChoices: Int = 16) {
        self.snapshot = snapshot
        self.route = route
        self.pseudonyms = pseudonyms
        self.maxChoices = maxChoices
    }

    /// The strongest decision so far.
    var decision: Decision {
        snapshot.actions.decision(for: matches.map(\.match), lexicons: snapshot.lexicons, direction: .output)
    }

    // MARK: Events

    /// Ends the stream on a chunk that cannot be screened; nothing held is released.
    private mutating func refuse(_ problem: String) -> Output {
        state = .refused
        return Output(stop: true, refusal: problem)
    }

    mutating func process(_ event: SSEParser.Event) -> Output {
        guard state == .streaming else { return Output() }
        if let problem = event.unreadableField { return refuse(problem) }
        let event = event.withoutCommentText
        guard let data = event.data else { return Output(events: [event]) }          // comments, retry: …
        if SSEParser.isDone(data) {
            var out = flushAll()
            if state == .streaming { state = .finished; out.events.append(event) }
            return out
        }
        let document: JSONDocument
        switch AnswerShape.read(Array(data.utf8), route: route, streamed: true, allowLogprobs: snapshot.policy.allowLogprobs) {
        case .success(let d): document = d
        case .failure(let unscreenable): return refuse(unscreenable.problem)
        }
        for choice in document.root["choices"]?.elements ?? [] {
            guard let node = choice["index"] else { continue }          // no index: choice 0
            guard let index = document.int(node), index < maxChoices else {
                return refuse("a chunk names a choice beyond limits.max_choices (\(maxChoices))")
            }
        }
        // Strings outside the text slots (ids, model, an error object, citations) are screened
        // whole, once per distinct value (most chunks repeat the previous chunk's).
        let structure = AnswerStructure.texts(of: document, route: route)
        if structure != lastStructure {
            let found = AnswerStructure.screen(structure, snapshot: snapshot)
            for finding in found.findings {
                structureFindings.append(finding)
                matches += finding.matches.map { (Self.structureLocation, $0) }
            }
            if found.decision == .block {
                // The chunk is dropped whole; the final events carry the last clean chunk's fields.
                var out = Output(events: blockEvents())
                out.stop = true
                return out
            }
            lastStructure = structure
        }
        if let output = processPlain(event, document) { return output }
        guard let json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
              let choices = json["choices"] as? [Any] else {
            return Output(events: [event])        // no choices (an error object, say): no answer text to screen
        }
        template.note(json)

        var newChoices: [Any] = []
        var blockedChoice: Int?
        // Whether any text differs from what the upstream sent; if not, the original event is
        // forwarded as it came (no re-serialization on the hot path of clean streams).
        var rewrote = false
        var anythingToSend = json.keys.contains { !ChunkTemplate.keys.contains($0) && $0 != "choices" && !(json[$0] is NSNull) }
        for item in choices {
            guard var choice = item as? [String: Any] else { newChoices.append(item); continue }
            let index = choice["index"] as? Int ?? 0
            seenChoices.insert(index)
            let finishReason = choice["finish_reason"] as? String
            var releasedAny = false
            switch route {
            case .chatCompletions:
                var delta = choice["delta"] as? [String: Any] ?? [:]
                for field in SidecarConfiguration.OutputField.messageFields {
                    let name = field.rawValue
                    guard let text = delta[name] as? String else { continue }
                    let released = feed(FieldKey(choice: index, field: field, tool: 0), text, final: false)
                    if released.blocked { blockedChoice = index }
                    if released.text != text { rewrote = true }
                    if released.text.isEmpty && !text.isEmpty { delta.removeValue(forKey: name) } else { delta[name] = released.text; releasedAny = true }
                }
                // A function's name and arguments each have a scanner (clients join the pieces).
                func screenFunction(_ f: inout [String: Any], tool: Int) {
                    for (member, field) in [("name", SidecarConfiguration.OutputField.toolName), ("arguments", .toolArguments)] {
                        guard let text = f[member] as? String else { continue }
                        let released = feed(FieldKey(choice: index, field: field, tool: tool), text, final: false)
                        if released.blocked { blockedChoice = index }
                        if released.text != text { rewrote = true }
                        f[member] = released.text
                    }
                }
                if let calls = delta["tool_calls"] as? [Any] {
                    delta["tool_calls"] = calls.map { call -> Any in
                        guard var c = call as? [String: Any], var f = c["function"] as? [String: Any] else { return call }
                        screenFunction(&f, tool: c["index"] as? Int ?? 0)
                        c["function"] = f
                        return c
                    }
                    releasedAny = true
                }
                if var call = delta["function_call"] as? [String: Any] {
                    screenFunction(&call, tool: Self.legacyFunctionCall)
                    delta["function_call"] = call
                }
                if delta.keys.contains(where: { Self.textFields[$0] == nil }) { releasedAny = true }
                if finishReason != nil && blockedChoice == nil {
                    // The choice ends: everything it still holds is decided now, before the finish.
                    let tail = flush(choice: index)
                    if tail.blocked { blockedChoice = index }
                    if tail.texts.contains(where: { !$0.1.isEmpty }) { rewrote = true }
                    Self.append(tail.texts, to: &delta)
                    finishedChoices.insert(index)
                }
                choice["delta"] = delta
            case .completions, .embeddings:
                if let text = choice["text"] as? String {
                    let released = feed(FieldKey(choice: index, field: .content, tool: 0), text, final: false)
                    if released.blocked { blockedChoice = index }
                    if released.text != text { rewrote = true }
                    choice["text"] = released.text
                    releasedAny = releasedAny || !released.text.isEmpty
                }
                if finishReason != nil && blockedChoice == nil {
                    let tail = flush(choice: index)
                    if tail.blocked { blockedChoice = index }
                    if tail.texts.contains(where: { !$0.1.isEmpty }) { rewrote = true }
                    choice["text"] = (choice["text"] as? String ?? "") + tail.texts.map(\.1).joined()
                    finishedChoices.insert(index)
                }
            }
            if blockedChoice == index {
                choice["finish_reason"] = NSNull()
                finishedChoices.remove(index)
            }
            if finishReason != nil || releasedAny { anythingToSend = true }
            newChoices.append(choice)
        }

        var out = Output()
        if blockedChoice == nil && !rewrote && anythingToSend {
            out.events.append(event)
        } else if anythingToSend || blockedChoice != nil {
            var rewritten = json
            rewritten["choices"] = newChoices
            out.events.append(Self.event(rewritten, like: event))
        }
        if blockedChoice != nil {
            out.events.append(contentsOf: blockEvents())
            out.stop = true
        }
        return out
    }

    /// The common event — text deltas, no finish, no tool calls — screened on its bytes: the
    /// released text is spliced into the event as it came (held text removed, masks applied), so
    /// a stream is never bridged through `JSONSerialization` event by event. Returns nil, having
    /// changed nothing, for any other event (which the general path then handles).
    private mutating func processPlain(_ event: SSEParser.Event, _ document: JSONDocument) -> Output? {
        guard case .object(let members, _) = document.root, let choices = document.root["choices"]?.elements else { return nil }
        // Qualify first: the general path must see the event untouched if this one declines.
        var plain: [(index: Int, choice: JSONNode)] = []
        for choice in choices {
            guard choice.isObject else { return nil }
            if let finish = choice["finish_reason"], !finish.isNull { return nil }
            let index = document.int(choice["index"]) ?? 0
            guard !finishedChoices.contains(index) else { return nil }
            switch route {
            case .chatCompletions:
                guard let delta = choice["delta"] else { break }
                guard delta.isObject, delta["tool_calls"] == nil, delta["function_call"] == nil else { return nil }
                for name in Self.textFields.keys {
                    if let value = delta[name], !value.isString && !value.isNull { return nil }
                }
            case .completions, .embeddings:
                if let text = choice["text"], !text.isString { return nil }
            }
            plain.append((index, choice))
        }
        template.note(document)
        var edits: [(range: Range<Int>, with: [UInt8])] = []
        var blockedChoice: Int?
        var anythingToSend = members.contains { !ChunkTemplate.keys.contains($0.key) && $0.key != "choices" && !$0.value.isNull }
        for (index, choice) in plain {
            seenChoices.insert(index)
            var releasedAny = false
            switch route {
            case .chatCompletions:
                guard let delta = choice["delta"], case .object(let fieldsOfDelta, _) = delta else { continue }
                for (k, member) in fieldsOfDelta.enumerated() {
                    guard let field = Self.textFields[member.key] else { releasedAny = true; continue }   // role and the like
                    guard let text = document.string(member.value) else { continue }
                    let released = feed(FieldKey(choice: index, field: field, tool: 0), text, final: false)
                    if released.blocked { blockedChoice = index }
                    if released.text.isEmpty && !text.isEmpty {
                        edits.append((JSONDocument.removalRange(of: k, in: fieldsOfDelta), []))
                    } else {
                        if released.text != text { edits.append((member.value.range, JSONDocument.literal(released.text))) }
                        releasedAny = true
                    }
                }
            case .completions, .embeddings:
                guard let node = choice["text"], let text = document.string(node) else { continue }
                let released = feed(FieldKey(choice: index, field: .content, tool: 0), text, final: false)
                if released.blocked { blockedChoice = index }
                if released.text != text { edits.append((node.range, JSONDocument.literal(released.text))) }
                releasedAny = !released.text.isEmpty
            }
            if releasedAny { anythingToSend = true }
        }
        var out = Output()
        if edits.isEmpty && anythingToSend {
            out.events.append(event)
        } else if anythingToSend || blockedChoice != nil {
            let data = String(decoding: document.splicing(edits), as: UTF8.self)
            out.events.append(Self.event(data: data, like: event))
        }
        if blockedChoice != nil {
            out.events.append(contentsOf: blockEvents())
            out.stop = true
        }
        return out
    }

    /// Delta members screened as text, by name.
    private static let textFields: [String: SidecarConfiguration.OutputField] =
        Dictionary(uniqueKeysWithValues: SidecarConfiguration.OutputField.messageFields.map { ($0.rawValue, $0) })

    /// The upstream ended (or failed) without `[DONE]`: decide and release what is held.
    mutating func finish() -> Output {
        guard state == .streaming else { return Output() }
        let out = flushAll()
        if state == .streaming { state = .finished }
        return out
    }

    // MARK: Fields

    private mutating func feed(_ key: FieldKey, _ text: String, final: Bool) -> (text: String, blocked: Bool) {
        guard snapshot.policy.outputFields.contains(key.field) else { return (text, false) }
        var final = final
        if finishedChoices.contains(key.choice) {
            // Text after the choice's finish (unusual): screened on its own, whole.
            fields[key] = nil
            final = true
        }
        var stream = fields[key] ?? FieldStream(scanner: StreamScanner(lexicons: snapshot.lexicons, direction: .output),
                                                restorer: pseudonyms.map(PlaceholderRestorer.init(map:)),
                                                unescaper: key.field == .toolArguments ? JSONUnicodeUnescaper() : nil)
        var text = text
        if stream.unescaper != nil {
            text = stream.unescaper!.feed(text)
            if final { text += stream.unescaper!.finish() }
        }
        let bytes = Array(text.utf8)
        stream.held += bytes
        if stream.text.count < 1 << 20 { stream.text += bytes }
        // The last piece is scanned too (text a choice sends after its finish comes as one).
        let progress = final ? bytes.withUnsafeBytes { stream.scanner.finish(appending: $0) } : stream.scanner.feed(bytes)
        let released = release(&stream, progress: progress, key: key, final: final)
        fields[key] = stream
        return released
    }

    private mutating func release(_ stream: inout FieldStream, progress: ScanProgress, key: FieldKey, final: Bool) -> (text: String, blocked: Bool) {
        let lexicons = snapshot.lexicons
        for m in progress.matches {
            matches.append((Self.location(key), m))
            switch snapshot.actions.action(for: m, lexicons: lexicons, direction: .output) {
            case .block: stream.blockAt = min(stream.blockAt ?? .max, m.range.lowerBound)
            case .mask: stream.masks.append(m)
            case .flag, .shadow: break
            }
        }
        var releaseTo = final ? stream.base + stream.held.count : progress.settled
        if let b = stream.blockAt { releaseTo = min(releaseTo, b) }
        // A masked value is released whole or not at all.
        for m in stream.masks where m.range.lowerBound < releaseTo && m.range.upperBound > releaseTo {
            releaseTo = m.range.lowerBound
        }
        releaseTo = max(releaseTo, stream.base)
        let count = releaseTo - stream.base
        let chunk = Array(stream.held[0..<count])
        let inside = stream.masks.filter { $0.range.upperBound <= releaseTo }
        let out = Masker.apply(to: chunk, matches: inside, rules: lexicons.rules, offset: stream.base)
        stream.masks.removeAll { $0.range.upperBound <= releaseTo }
        stream.held.removeFirst(count)
        stream.base = releaseTo
        if count > 0 { deliveredText = true }
        var text = String(decoding: out, as: UTF8.self)
        if stream.restorer != nil {
            text = stream.restorer!.feed(text)
            if final && stream.blockAt == nil { text += stream.restorer!.finish() }
        }
        return (text, stream.blockAt != nil)
    }

    private mutating func flush(choice: Int) -> (texts: [(FieldKey, String)], blocked: Bool) {
        var texts: [(FieldKey, String)] = []
        var blocked = false
        for key in fields.keys.sorted(by: { ($0.field.rawValue, $0.tool) < ($1.field.rawValue, $1.tool) }) where key.choice == choice {
            let r = feed(key, "", final: true)
            if r.blocked { blocked = true }
            texts.append((key, r.text))
        }
        return (texts, blocked)
    }

    /// Finishes every open choice; emits what they held as one event per choice.
    private mutating func flushAll() -> Output {
        var out = Output()
        for choice in seenChoices.sorted() where !finishedChoices.contains(choice) {
            let tail = flush(choice: choice)
            if tail.blocked {
                out.events.append(contentsOf: blockEvents())
                out.stop = true
                return out
            }
            finishedChoices.insert(choice)
            let texts = tail.texts.filter { !$0.1.isEmpty }
            guard !texts.isEmpty else { continue }
            var chunk = template.fields
            switch route {
            case .chatCompletions:
                var delta: [String: Any] = [:]
                Self.append(texts, to: &delta)
                chunk["choices"] = [["index": choice, "delta": delta, "finish_reason": NSNull()]]
            case .completions, .embeddings:
                chunk["choices"] = [["index": choice, "text": texts.map(\.1).joined(), "finish_reason": NSNull()]]
            }
            out.events.append(Self.event(chunk, like: nil))
        }
        return out
    }

    /// The final events of a blocked stream: one `content_filter` finish per open choice, then `[DONE]`.
    private mutating func blockEvents() -> [SSEParser.Event] {
        state = .blocked
        let lexicons = snapshot.lexicons
        let details = ContentFilterDetails.object(for: matches.map(\.match), lexicons: lexicons, policy: snapshot.actions, direction: .output)
        var events: [SSEParser.Event] = []
        // Blocked before any choice was seen (its first chunk): choice 0 still gets its finish.
        for choice in (seenChoices.isEmpty ? [0] : seenChoices.sorted()) where !finishedChoices.contains(choice) {
            var chunk = template.fields
            var c: [String: Any] = ["index": choice, "finish_reason": "content_filter", "content_filter_results": details]
            if route == .chatCompletions { c["delta"] = [String: Any]() } else { c["text"] = "" }
            chunk["choices"] = [c]
            events.append(Self.event(chunk, like: nil))
        }
        events.append(.data("[DONE]"))
        return events
    }

    /// The `tool` of a legacy `function_call`'s arguments (tool calls count from 0).
    static let legacyFunctionCall = -1

    /// Adds released tails to a chat delta: text fields appended, tool arguments as tool-call deltas.
    private static func append(_ texts: [(FieldKey, String)], to delta: inout [String: Any]) {
        for (key, text) in texts where !text.isEmpty {
            let member = key.field == .toolName ? "name" : "arguments"
            if (key.field == .toolArguments || key.field == .toolName) && key.tool == legacyFunctionCall {
                var call = delta["function_call"] as? [String: Any] ?? [:]
                call[member] = (call[member] as? String ?? "") + text
                delta["function_call"] = call
            } else if key.field == .toolArguments || key.field == .toolName {
                // One tool-call delta per tool, its name and arguments together.
                var calls = delta["tool_calls"] as? [[String: Any]] ?? []
                let at = calls.firstIndex { $0["index"] as? Int == key.tool } ?? { calls.append(["index": key.tool, "function": [String: Any]()]); return calls.count - 1 }()
                var function = calls[at]["function"] as? [String: Any] ?? [:]
                function[member] = (function[member] as? String ?? "") + text
                calls[at]["function"] = function
                delta["tool_calls"] = calls
            } else {
                delta[key.field.rawValue] = (delta[key.field.rawValue] as? String ?? "") + text
            }
        }
    }

    private static func location(_ key: FieldKey) -> String {
        if key.field == .toolName {
            return key.tool == legacyFunctionCall ? "choices[\(key.choice)].function_call.name" : "choices[\(key.choice)].tool_calls[\(key.tool)].name"
        }
        if key.field == .toolArguments && key.tool == legacyFunctionCall { return "choices[\(key.choice)].function_call.arguments" }
        return key.field == .toolArguments ? "choices[\(key.choice)].tool_calls[\(key.tool)].arguments" : "choices[\(key.choice)].\(key.field.rawValue)"
    }

    /// Re-serializes a chunk, keeping the original event's non-data fields (`id:`, `event:`).
    private static func event(_ object: [String: Any], like original: SSEParser.Event?) -> SSEParser.Event {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return event(data: String(decoding: data, as: UTF8.self), like: original)
    }

    /// An event with this data, keeping the original event's non-data fields (`id:`, `event:`).
    private static func event(data json: String, like original: SSEParser.Event?) -> SSEParser.Event {
        guard let original else { return .data(json) }
        var fields: [(name: String, value: String)] = []
        var placed = false
        for f in original.fields {
            if f.name == "data" { if !placed { fields.append(("data", json)); placed = true } } else { fields.append(f) }
        }
        return SSEParser.Event(fields: fields)
    }
}
