import Foundation
import Labeling

/// GB 45438-2025 labels on answers, after screening (the label is never screened as model text):
/// the explicit text label in the content, and the implicit AIGC metadata as a top-level
/// `"AIGC"` field (and, for non-streamed answers, the `X-AIGC-Label` header). Any label the
/// upstream sent is replaced: one implicit label per answer.
struct AnswerLabeling: Sendable {
    let labeler: Labeler

    /// Adds `"AIGC":{…}` as the last member of a serialized JSON object, keeping Appendix E's
    /// key order (a dictionary round trip would not).
    static func appending(_ label: AIGCLabel, to object: Data) -> Data {
        var bytes = Array(object)
        guard let close = bytes.lastIndex(of: UInt8(ascii: "}")) else { return object }
        let inner = label.jsonString.dropFirst().dropLast()          // "AIGC":{…}
        let isEmpty = bytes[..<close].last { $0 != 0x20 && $0 != 0x0A } == UInt8(ascii: "{")
        bytes.insert(contentsOf: Array(((isEmpty ? "" : ",") + inner).utf8), at: close)
        return Data(bytes)
    }

    /// Labels a non-streamed JSON answer; returns the body and the header value.
    /// `document`: `body` already parsed, when the caller has it.
    func label(body: Data, route: ScreenedRoute, document parsed: JSONDocument? = nil) -> (body: Data, header: String?) {
        // Splice the labelled texts and the metadata into the answer's own bytes; only an answer
        // that already carries an "AIGC" member (which must be replaced) is re-serialized.
        guard let document = parsed ?? (try? JSONDocument(body)), document.root[AIGCLabel.key] == nil,
              case .object(let members, let range) = document.root else { return labelRewriting(body: body, route: route) }
        guard let choices = document.root["choices"]?.elements else { return (body, nil) }
        let key = route == .chatCompletions ? "content" : "text"
        var delivered: [String] = []
        var edits: [(range: Range<Int>, with: [UInt8])] = []
        for choice in choices where choice.isObject {
            let node = (route == .chatCompletions ? choice["message"] : choice)?[key]
            var text = document.string(node)
            if let original = text, let node, !original.isEmpty, document.string(choice["finish_reason"]) != "content_filter" {
                let labelled = labeler.explicit.apply(to: original)
                edits.append((node.range, JSONDocument.literal(labelled)))
                text = labelled
            }
            delivered.append(text ?? "")
        }
        let label = labeler.implicitLabel(for: LabeledAnswer.coveredText(ofChoices: delivered))
        let json = label.jsonString                                   // {"AIGC":{…}}
        let member = Array(json.utf8.dropFirst().dropLast())          // "AIGC":{…}
        let close = range.upperBound - 1
        edits.append((close..<close, (members.isEmpty ? [] : [UInt8(ascii: ",")]) + member))
        return (document.splicing(edits), json)
    }

    /// Labels through `JSONSerialization` (for answers the strict parser refuses, or that
    /// bring their own "AIGC" member).
    private func labelRewriting(body: Data, route: ScreenedRoute) -> (body: Data, header: String?) {
        guard var object = try? PayloadScreening.parseObject(body), let choices = object["choices"] as? [Any] else { return (body, nil) }
        var delivered: [String] = []
        object["choices"] = choices.map { item -> Any in
            guard var choice = item as? [String: Any] else { return item }
            let key = route == .chatCompletions ? "content" : "text"
            var container = route == .chatCompletions ? (choice["message"] as? [String: Any] ?? [:]) : choice
            if let text = container[key] as? String, !text.isEmpty, choice["finish_reason"] as? String != "content_filter" {
                container[key] = labeler.explicit.apply(to: text)
            }
            delivered.append(container[key] as? String ?? "")
            if route == .chatCompletions { choice["message"] = container } else { choice = container }
            return choice
        }
        let label = labeler.implicitLabel(for: LabeledAnswer.coveredText(ofChoices: delivered))
        object.removeValue(forKey: AIGCLabel.key)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? body
        return (Self.appending(label, to: data), label.jsonString)
    }
}

/// Labels a streamed answer by rewriting the screener's output events: the explicit label as
/// its own delta (first, or just before the finish), and the implicit label in a final event
/// before `[DONE]`, computed over the text as delivered (explicit label included).
struct StreamLabeler {
    let labeler: Labeler
    let route: ScreenedRoute
    private var delivered: [Int: String] = [:]
    private var started: Set<Int> = []
    private var labelled: Set<Int> = []
    /// Template fields (`id`, `model`, …) for the events the labeler writes itself.
    private var template = ChunkTemplate()
    private var done = false

    init(labeler: Labeler, route: ScreenedRoute) {
        self.labeler = labeler
        self.route = route
    }

    mutating func process(_ events: [SSEParser.Event]) -> [SSEParser.Event] {
        var out: [SSEParser.Event] = []
        for event in events {
            guard !done, let data = event.data else { out.append(event); continue }
            if SSEParser.isDone(data) {
                out += finish()
                out.append(event)
                continue
            }
            if let document = try? JSONDocument(bytes: Array(data.utf8)), forwardsUnchanged(document) {
                out.append(event)
                continue
            }
            guard var json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
                  let choices = json["choices"] as? [[String: Any]] else { out.append(event); continue }
            // Most events need nothing from the labeler but the delivered text: forward them as
            // they are (no re-serialization).
            let needsLabelNow = labeler.explicit.position == .start && choices.contains { c in
                !started.contains(c["index"] as? Int ?? 0) && !(Self.text(of: c, route: route) ?? "").isEmpty
            }
            if json[AIGCLabel.key] == nil && !needsLabelNow && !choices.contains(where: { $0["finish_reason"] is String }) {
                for c in choices { if let t = Self.text(of: c, route: route) { delivered[c["index"] as? Int ?? 0, default: ""] += t } }
                template.note(json)
                out.append(event)
                continue
            }
            json.removeValue(forKey: AIGCLabel.key)       // one implicit label per answer: ours
            template.note(json)
            var finishing: [[String: Any]] = []
            var body: [[String: Any]] = []
            for var choice in choices {
                let index = choice["index"] as? Int ?? 0
                let text = route == .chatCompletions ? ((choice["delta"] as? [String: Any])?["content"] as? String) : (choice["text"] as? String)
                if let text, !text.isEmpty {
                    if labeler.explicit.position == .start && !started.contains(index) {
                        started.insert(index)
                        out.append(labelEvent(index, labeler.explicit.leading))
                    }
                    delivered[index, default: ""] += text
                }
                if let finish = choice["finish_reason"] as? String {
                    // Content of this event first, then the label, then the finish on its own.
                    var finishOnly: [String: Any] = ["index": index, "finish_reason": finish]
                    for (k, v) in choice where !["index", "delta", "text", "finish_reason", "logprobs"].contains(k) { finishOnly[k] = v }
                    finishOnly[route == .chatCompletions ? "delta" : "text"] = route == .chatCompletions ? [String: Any]() : ""
                    finishing.append(finishOnly)
                    choice["finish_reason"] = NSNull()
                    choice.removeValue(forKey: "content_filter_results")
                }
                body.append(choice)
            }
            if !finishing.isEmpty {
                var content = json
                content["choices"] = body
                if body.contains(where: hasPayload) || json.keys.contains(where: { !ChunkTemplate.keys.contains($0) && $0 != "choices" }) {
                    out.append(Self.event(content))
                }
                for f in finishing {
                    let index = f["index"] as? Int ?? 0
                    if labeler.explicit.position == .end && !labelled.contains(index) {
                        labelled.insert(index)
                        out.append(labelEvent(index, labeler.explicit.trailing))
                    }
                    var chunk = template.fields
                    chunk["choices"] = [f]
                    out.append(Self.event(chunk))
                }
            } else {
                json["choices"] = body
                out.append(Self.event(json))
            }
        }
        return out
    }

    /// The common event (text deltas, no finish, no label due, no upstream label) read off its
    /// bytes: the delivered text is recorded and the event goes on as it came. False, having
    /// changed nothing, for any other event.
    private mutating func forwardsUnchanged(_ document: JSONDocument) -> Bool {
        guard document.root.isObject, document.root[AIGCLabel.key] == nil,
              let choices = document.root["choices"]?.elements, choices.allSatisfy(\.isObject) else { return false }
        var texts: [(index: Int, text: String)] = []
        for choice in choices {
            if choice["finish_reason"]?.isString == true { return false }
            let index = document.int(choice["index"]) ?? 0
            let text = document.string(route == .chatCompletions ? choice["delta"]?["content"] : choice["text"])
            if let text, !text.isEmpty, labeler.explicit.position == .start, !started.contains(index) { return false }
            if let text { texts.append((index, text)) }
        }
        for (index, text) in texts { delivered[index, default: ""] += text }
        template.note(document)
        return true
    }

    /// The implicit label event (once).
    mutating func finish() -> [SSEParser.Event] {
        guard !done else { return [] }
        done = true
        let contents = (delivered.keys.max().map { 0...$0 } ?? 0...0).map { delivered[$0] ?? "" }
        let label = labeler.implicitLabel(for: LabeledAnswer.coveredText(ofChoices: contents))
        var chunk = template.fields
        chunk["choices"] = [Any]()
        let data = (try? JSONSerialization.data(withJSONObject: chunk, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return [.data(String(decoding: AnswerLabeling.appending(label, to: data), as: UTF8.self))]
    }

    private static func text(of choice: [String: Any], route: ScreenedRoute) -> String? {
        route == .chatCompletions ? ((choice["delta"] as? [String: Any])?["content"] as? String) : (choice["text"] as? String)
    }

    private func hasPayload(_ choice: [String: Any]) -> Bool {
        if route == .completions { return !((choice["text"] as? String) ?? "").isEmpty }
        return !((choice["delta"] as? [String: Any]) ?? [:]).isEmpty
    }

    private mutating func labelEvent(_ index: Int, _ text: String) -> SSEParser.Event {
        delivered[index, default: ""] += text
        var chunk = template.fields
        chunk["choices"] = [route == .chatCompletions
            ? ["index": index, "delta": ["content": text], "finish_reason": NSNull()] as [String: Any]
            : ["index": index, "text": text, "finish_reason": NSNull()]]
        return Self.event(chunk)
    }

    private static func event(_ object: [String: Any]) -> SSEParser.Event {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return .data(String(decoding: data, as: UTF8.self))
    }
}
