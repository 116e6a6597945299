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
    /// An answer's structure, in two texts screened differently.
    struct Texts: Equatable {
        /// Keys and free text (citations, a participant's name, error messages, members no one
        /// has listed): screened with every rule.
        var text: [String] = []
        /// Values of protocol members (ids, model, fingerprint, role, finish reason): screened
        /// for what must be blocked only. Servers generate them from digits and hex, where a
        /// phone number's pattern turns up by chance (a `demo-2345678901` id is a NANP number);
        /// a block term there is no accident.
        var identifiers: [String] = []
    }

    /// Members whose string values are protocol values (see ``Texts/identifiers``).
    static let identifierKeys: Set<String> = ["id", "object", "model", "system_fingerprint", "service_tier", "type", "role",
                                              "finish_reason", "stop_reason", "native_finish_reason", "matched_stop", "index"]

    /// The structure of an answer or a chunk already checked by ``AnswerShape``.
    static func texts(of document: JSONDocument, route: ScreenedRoute) -> Texts {
        var parts = Texts()
        guard let members = document.root.members else { return parts }
        for member in members {
            parts.text.append(member.key)
            guard member.key == "choices", let choices = member.value.elements else {
                value(member, document, into: &parts)
                continue
            }
            for choice in choices {
                for field in choice.members ?? [] {
                    parts.text.append(field.key)
                    switch field.key {
                    case "logprobs": continue
                    case "text" where route != .chatCompletions: continue
                    case "message", "delta": message(field.value, document, into: &parts)
                    default: value(field, document, into: &parts)
                    }
                }
            }
        }
        return parts
    }

    /// A message's (or delta's) members, less its text slots.
    private static func message(_ node: JSONNode, _ document: JSONDocument, into parts: inout Texts) {
        for member in node.members ?? [] {
            parts.text.append(member.key)
            if textSlots.contains(member.key) { continue }
            switch member.key {
            case "tool_calls":
                for call in member.value.elements ?? [] {
                    for field in call.members ?? [] {
                        parts.text.append(field.key)
                        if field.key == "function" { function(field.value, document, into: &parts) } else { value(field, document, into: &parts) }
                    }
                }
            case "function_call":
                function(member.value, document, into: &parts)
            default:
                value(member, document, into: &parts)
            }
        }
    }

    /// A function call's members, less its name and arguments (text slots).
    private static func function(_ node: JSONNode, _ document: JSONDocument, into parts: inout Texts) {
        for member in node.members ?? [] {
            parts.text.append(member.key)
            if member.key != "name" && member.key != "arguments" { value(member, document, into: &parts) }
        }
    }

    /// A member's value: a protocol value, or free text.
    private static func value(_ member: JSONMember, _ document: JSONDocument, into parts: inout Texts) {
        if identifierKeys.contains(member.key), member.value.isString {
            if let s = document.string(member.value), !s.isEmpty { parts.identifiers.append(s) }
        } else {
            collect(member.value, document, into: &parts.text)
        }
    }

    /// Every key and string (decoded) of a document, leaving out the values of members named in
    /// `skipping`: a body Menshen does not parse as an answer (an error, a pass-through answer,
    /// embeddings), as a client reads it.
    static func allTexts(of document: JSONDocument, skipping: Set<String> = []) -> Texts {
        var parts = Texts()
        func walk(_ node: JSONNode) {
            switch node {
            case .string: if let s = document.string(node), !s.isEmpty { parts.text.append(s) }
            case .array(let elements, _): elements.forEach(walk)
            case .object(let members, _):
                for member in members {
                    parts.text.append(member.key)
                    if skipping.contains(member.key) { continue }
                    if identifierKeys.contains(member.key), member.value.isString {
                        value(member, document, into: &parts)
                    } else {
                        walk(member.value)
                    }
                }
            case .number, .bool, .null: break
            }
        }
        walk(document.root)
        return parts
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

    /// What the structure holds: a finding in free text that would mask or block blocks (a
    /// mask cannot be placed in a key or an id); in protocol values only block rules count.
    /// Returns the decision and the matches that count (for audit and metrics), with the
    /// screened texts.
    static func screen(_ texts: Texts, snapshot: Snapshot) -> (decision: Decision, findings: [(text: String, matches: [Match])]) {
        var decision = Decision.allow
        var findings: [(text: String, matches: [Match])] = []
        if !texts.text.isEmpty {
            let text = texts.text.joined(separator: "\n")
            let result = snapshot.lexicons.screen(text, direction: .output, policy: snapshot.actions)
            if !result.matches.isEmpty { findings.append((text, result.matches)) }
            decision = max(decision, result.decision == .mask ? .block : result.decision)
        }
        if !texts.identifiers.isEmpty {
            let text = texts.identifiers.joined(separator: "\n")
            let blocking = snapshot.lexicons.screen(text, direction: .output, policy: snapshot.actions).matches
                .filter { snapshot.actions.action(for: $0, lexicons: snapshot.lexicons, direction: .output) == .block }
            if !blocking.isEmpty {
                findings.append((text, blocking))
                decision = .block
            }
        }
        return (decision, findings)
    }
}
