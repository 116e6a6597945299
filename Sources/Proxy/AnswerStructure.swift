import Screening

/// The text of an answer outside the slots Menshen screens as text: keys and strings of every
/// other member (`id`, `model`, `system_fingerprint`, an error object in a stream, a choice's
/// `finish_reason`, a message's `role` and `name`, citation titles and URLs in `annotations`,
/// tool-call ids), joined by newlines.
///
/// Why: a client shows more of an answer than its content — SDKs expose every member, a chat
/// UI shows citations and the model's name — and a hostile or compromised model server can put
/// text anywhere. Each such string arrives whole in one event (clients replace these members,
/// they do not join them across chunks), so it is screened whole with the event; a finding
/// there cannot be masked in place and blocks the answer.
///
/// The text slots (``SidecarConfiguration/OutputField``: content, reasoning, refusal, tool-call
/// names and arguments, a completion's text) have stream scanners of their own; `logprobs`
/// are governed by `screening.allow_logprobs`.
enum AnswerStructure {
    /// The structure text of an answer or a chunk already checked by ``AnswerShape``.
    static func text(of document: JSONDocument, route: ScreenedRoute) -> String {
        var parts: [String] = []
        guard let members = document.root.members else { return "" }
        for member in members {
            parts.append(member.key)
            guard member.key == "choices", let choices = member.value.elements else {
                collect(member.value, document, into: &parts)
                continue
            }
            for choice in choices {
                for field in choice.members ?? [] {
                    parts.append(field.key)
                    switch field.key {
                    case "logprobs": continue
                    case "text" where route != .chatCompletions: continue
                    case "message", "delta": message(field.value, document, into: &parts)
                    default: collect(field.value, document, into: &parts)
                    }
                }
            }
        }
        return parts.joined(separator: "\n")
    }

    /// A message's (or delta's) members, less its text slots.
    private static func message(_ node: JSONNode, _ document: JSONDocument, into parts: inout [String]) {
        for member in node.members ?? [] {
            parts.append(member.key)
            if textSlots.contains(member.key) { continue }
            switch member.key {
            case "tool_calls":
                for call in member.value.elements ?? [] {
                    for field in call.members ?? [] {
                        parts.append(field.key)
                        if field.key == "function" { function(field.value, document, into: &parts) } else { collect(field.value, document, into: &parts) }
                    }
                }
            case "function_call":
                function(member.value, document, into: &parts)
            default:
                collect(member.value, document, into: &parts)
            }
        }
    }

    /// A function call's members, less its name and arguments (text slots).
    private static func function(_ node: JSONNode, _ document: JSONDocument, into parts: inout [String]) {
        for member in node.members ?? [] {
            parts.append(member.key)
            if member.key != "name" && member.key != "arguments" { collect(member.value, document, into: &parts) }
        }
    }

    /// Every key, string (decoded) and number of a document, joined by newlines, leaving out the
    /// values of members named in `skipping`: a body as a client reads it.
    static func allText(of document: JSONDocument, skipping: Set<String> = []) -> String {
        var parts: [String] = []
        func walk(_ node: JSONNode) {
            switch node {
            case .string: if let s = document.string(node), !s.isEmpty { parts.append(s) }
            case .array(let elements, _): elements.forEach(walk)
            case .object(let members, _):
                for member in members {
                    parts.append(member.key)
                    if !skipping.contains(member.key) { walk(member.value) }
                }
            case .number(let range): parts.append(String(decoding: document.bytes[range], as: UTF8.self))
            case .bool, .null: break
            }
        }
        walk(document.root)
        return parts.joined(separator: "\n")
    }

    /// Every key and string under `node`.
    private static func collect(_ node: JSONNode, _ document: JSONDocument, into parts: inout [String]) {
        switch node {
        case .string:
            if let s = document.string(node), !s.isEmpty { parts.append(s) }
        case .array(let elements, _):
            for element in elements { collect(element, document, into: &parts) }
        case .object(let members, _):
            for member in members {
                parts.append(member.key)
                collect(member.value, document, into: &parts)
            }
        case .number, .bool, .null:
            break
        }
    }

    /// Message members that are text slots.
    private static let textSlots: Set<String> = Set(SidecarConfiguration.OutputField.messageFields.map(\.rawValue))

    /// Whether the structure text holds anything to mask or block. A mask cannot be placed in a
    /// key, an id or a model name: it blocks. Returns the matches (for audit) and the decision.
    static func screen(_ text: String, snapshot: Snapshot) -> (decision: Decision, matches: [Match]) {
        guard !text.isEmpty else { return (.allow, []) }
        let result = snapshot.lexicons.screen(text, direction: .output, policy: snapshot.actions)
        var decision = result.decision
        if decision == .mask { decision = .block }
        return (decision, result.matches)
    }
}
