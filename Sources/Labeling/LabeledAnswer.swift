import Foundation

/// A delivered answer's text and implicit label, read back from what a client received.
///
/// The label rides in the top-level `"AIGC"` field of the response: of a chat completion
/// (`{"id":…,"choices":[…],"AIGC":{…}}`), or of one event of a streamed answer (Menshen puts
/// it in the last chunk before `data: [DONE]`). The covered text is each choice's content in
/// `index` order — `message.content` (chat), `text` (completions), or the concatenated
/// `delta.content` of a stream — joined by `coveredText(ofChoices:)`.
public struct LabeledAnswer: Sendable, Equatable {
    /// The text the label covers.
    public let text: String
    public let label: AIGCLabel

    public init(text: String, label: AIGCLabel) { self.text = text; self.label = label }

    /// Separates choices when an answer has several (`n` > 1): U+001E RECORD SEPARATOR,
    /// which models do not write, so moving text between choices changes the covered text.
    public static let choiceSeparator = "\u{1E}"

    /// The text an implicit label covers for an answer with these choice contents (in
    /// choice order). One choice: its content, unchanged.
    public static func coveredText(ofChoices contents: [String]) -> String {
        contents.joined(separator: choiceSeparator)
    }

    /// Reads a response body: a JSON chat/text completion, or an SSE transcript
    /// (`data: …` lines) of a streamed one.
    public static func parse(body: Data) throws(LabelError) -> LabeledAnswer {
        let text = String(decoding: body, as: UTF8.self)
        let trimmed = text.drop(while: \.isWhitespace)
        if trimmed.hasPrefix("data:") || trimmed.hasPrefix(":") || trimmed.hasPrefix("event:") || trimmed.hasPrefix("id:") {
            return try parse(stream: text)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            throw .notAnAnswer("the body is neither a JSON object nor an SSE stream")
        }
        guard let raw = object[AIGCLabel.key] else { throw .notAnAnswer("no top-level \"AIGC\" field") }
        let label = try AIGCLabel(jsonObject: raw)
        guard let choices = object["choices"] as? [Any] else { throw .notAnAnswer("no \"choices\" array") }
        var contents: [Int: String] = [:]
        for (position, item) in choices.enumerated() {
            guard let choice = item as? [String: Any] else { throw .notAnAnswer("choice \(position) is not an object") }
            let index = choice["index"] as? Int ?? position
            let message = choice["message"] as? [String: Any]
            contents[index] = message?["content"] as? String ?? choice["text"] as? String ?? ""
        }
        return LabeledAnswer(text: coveredText(ofChoices: contents.keys.sorted().map { contents[$0]! }), label: label)
    }

    /// Reads an SSE transcript: `data:` lines of chunks; comments and `[DONE]` skipped.
    static func parse(stream: String) throws(LabelError) -> LabeledAnswer {
        var contents: [Int: String] = [:]
        var label: AIGCLabel?
        // Each event here is one `data:` line (OpenAI-compatible servers send one per event).
        for line in stream.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            guard line.hasPrefix("data:") else { continue }
            var payload = line.dropFirst(5)
            if payload.first == " " { payload = payload.dropFirst() }
            if payload.trimmingCharacters(in: .whitespaces) == "[DONE]" { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] else { continue }
            if let raw = object[AIGCLabel.key] { label = try AIGCLabel(jsonObject: raw) }
            for item in object["choices"] as? [Any] ?? [] {
                guard let choice = item as? [String: Any] else { continue }
                let index = choice["index"] as? Int ?? 0
                let piece = (choice["delta"] as? [String: Any])?["content"] as? String ?? choice["text"] as? String ?? ""
                contents[index, default: ""] += piece
            }
        }
        guard let label else { throw .notAnAnswer("no event carries a top-level \"AIGC\" field") }
        return LabeledAnswer(text: coveredText(ofChoices: contents.keys.sorted().map { contents[$0]! }), label: label)
    }
}
