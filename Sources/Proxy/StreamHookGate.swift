import Foundation
import Hooks
import NIOConcurrencyHelpers
import Screening

/// Classifier hooks on a streamed answer. Every text the lexicon screener released — each
/// choice's content, and its reasoning, refusal and tool-call arguments when policy screens
/// them — is cut into windows of its own (`hooks_stream.window_chars`), each classified by the
/// hooks; `HookStreamWindow` says what may be delivered when. `hold` delivers a window only
/// after its verdict; `async` lets text flow and cuts the stream after an unsafe verdict (the
/// leak is bounded by one window per text). An unsafe verdict on any text cuts the whole
/// stream: every choice ends with `finish_reason: "content_filter"`.
struct StreamHookGate {
    /// One gated text: a field of a choice (each tool call's arguments are a text of their own).
    struct Text: Hashable, Comparable {
        let choice: Int
        let field: SidecarConfiguration.OutputField
        let tool: Int

        static func < (a: Text, b: Text) -> Bool {
            (a.choice, a.field.rawValue, a.tool) < (b.choice, b.field.rawValue, b.tool)
        }
    }

    /// A classified window of one text.
    private struct WindowID: Hashable {
        let text: Text
        let index: Int
    }

    let runner: HookRunner
    let route: ScreenedRoute
    let requestID: String
    /// The fields policy screens (the same as the lexicons'), for chat completions.
    let fields: Set<SidecarConfiguration.OutputField>
    private var windows: [Text: HookStreamWindow] = [:]
    /// Verdicts of windows classified in the background, by window.
    private let verdicts = NIOLockedValueBox<[WindowID: HookOutcome]>([:])
    private var tasks: [WindowID: Task<Void, Never>] = [:]
    /// Text the windows released that has not been put into an event yet.
    private var released: [Text: String] = [:]
    private var seenChoices: Set<Int> = []
    private var finishedChoices: Set<Int> = []
    /// Choices whose finish event went out (a cut does not finish them a second time).
    private var finishDelivered: Set<Int> = []
    private(set) var outcomes: [HookOutcome] = []
    private(set) var cut = false
    private var template: [String: Any] = [:]

    init(runner: HookRunner, route: ScreenedRoute, requestID: String, fields: Set<SidecarConfiguration.OutputField>) {
        self.runner = runner
        self.route = route
        self.requestID = requestID
        self.fields = route == .chatCompletions ? fields : [.content]
    }

    private static let messageFields = SidecarConfiguration.OutputField.messageFields

    /// Rewrites screened events: each gated text carries what its window releases.
    mutating func process(_ events: [SSEParser.Event]) async -> (events: [SSEParser.Event], stop: Bool) {
        var out: [SSEParser.Event] = []
        for event in events {
            guard !cut else { break }
            guard let data = event.data else { out.append(event); continue }
            if SSEParser.isDone(data) {
                await finish(windows.keys.sorted())
                if cut { return (out + pendingEvents() + cutEvents(), true) }
                out += pendingEvents()
                out.append(event)
                continue
            }
            guard var json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
                  var choices = json["choices"] as? [[String: Any]] else {
                out.append(event); continue
            }
            for key in ["id", "object", "created", "model"] { if let v = json[key] { template[key] = v } }
            for choice in choices {
                let index = choice["index"] as? Int ?? 0
                seenChoices.insert(index)
                // Text after a choice's finish cannot be classified any more: it is dropped
                // (`place` empties it), never delivered unclassified.
                guard !finishedChoices.contains(index) else { continue }
                for (text, value) in texts(of: choice, index: index) where !value.isEmpty {
                    await handle(text, windows[text, default: HookStreamWindow(settings: runner.settings.stream)].append(value))
                    if cut { break }
                }
                // The finish waits for every verdict on the choice's texts.
                if !cut, choice["finish_reason"] is String {
                    finishedChoices.insert(index)
                    await finish(windows.keys.filter { $0.choice == index }.sorted())
                }
                if cut { break }
            }
            if cut { return (out + pendingEvents() + cutEvents(), true) }
            collect()
            if cut { return (out + pendingEvents() + cutEvents(), true) }
            choices = choices.map { place(into: $0) }
            for choice in choices where choice["finish_reason"] is String { finishDelivered.insert(choice["index"] as? Int ?? 0) }
            json["choices"] = choices
            out.append(.data(String(decoding: (try? JSONSerialization.data(withJSONObject: json, options: [.withoutEscapingSlashes])) ?? Data(), as: UTF8.self)))
            out += pendingEvents()      // verdicts that released text of choices not in this event
        }
        return (out, cut)
    }

    /// The gated texts of one chunk's choice, with their pieces in this chunk.
    private func texts(of choice: [String: Any], index: Int) -> [(Text, String)] {
        switch route {
        case .completions, .embeddings:
            return (choice["text"] as? String).map { [(Text(choice: index, field: .content, tool: 0), $0)] } ?? []
        case .chatCompletions:
            let delta = choice["delta"] as? [String: Any] ?? [:]
            var out: [(Text, String)] = []
            for field in Self.messageFields where fields.contains(field) {
                if let value = delta[field.rawValue] as? String { out.append((Text(choice: index, field: field, tool: 0), value)) }
            }
            if fields.contains(.toolArguments), let arguments = (delta["function_call"] as? [String: Any])?["arguments"] as? String {
                out.append((Text(choice: index, field: .toolArguments, tool: StreamScreener.legacyFunctionCall), arguments))
            }
            if fields.contains(.toolArguments), let calls = delta["tool_calls"] as? [[String: Any]] {
                for call in calls {
                    if let arguments = (call["function"] as? [String: Any])?["arguments"] as? String {
                        out.append((Text(choice: index, field: .toolArguments, tool: call["index"] as? Int ?? 0), arguments))
                    }
                }
            }
            return out
        }
    }

    /// Puts the released text of a choice's gated texts into the chunk's choice: a gated text
    /// carries exactly what was released (held text is taken out), and text released for a
    /// field the chunk does not carry is added to it.
    private mutating func place(into choice: [String: Any]) -> [String: Any] {
        var choice = choice
        let index = choice["index"] as? Int ?? 0
        switch route {
        case .completions, .embeddings:
            let text = Text(choice: index, field: .content, tool: 0)
            if choice["text"] is String || released[text] != nil { choice["text"] = released.removeValue(forKey: text) ?? "" }
        case .chatCompletions:
            var delta = choice["delta"] as? [String: Any] ?? [:]
            for field in Self.messageFields where fields.contains(field) {
                let text = Text(choice: index, field: field, tool: 0)
                if delta[field.rawValue] is String || released[text] != nil { delta[field.rawValue] = released.removeValue(forKey: text) ?? "" }
            }
            if fields.contains(.toolArguments) {
                let legacy = Text(choice: index, field: .toolArguments, tool: StreamScreener.legacyFunctionCall)
                if var call = delta["function_call"] as? [String: Any], call["arguments"] is String {
                    call["arguments"] = released.removeValue(forKey: legacy) ?? ""
                    delta["function_call"] = call
                } else if let text = released.removeValue(forKey: legacy) {
                    delta["function_call"] = ["arguments": text]
                }
                var calls = delta["tool_calls"] as? [[String: Any]] ?? []
                for (k, call) in calls.enumerated() {
                    guard var function = call["function"] as? [String: Any], function["arguments"] is String else { continue }
                    function["arguments"] = released.removeValue(forKey: Text(choice: index, field: .toolArguments, tool: call["index"] as? Int ?? 0)) ?? ""
                    calls[k]["function"] = function
                }
                for text in released.keys.filter({ $0.choice == index && $0.field == .toolArguments }).sorted() {
                    calls.append(["index": text.tool, "function": ["arguments": released.removeValue(forKey: text)!]])
                }
                if !calls.isEmpty { delta["tool_calls"] = calls }
            }
            choice["delta"] = delta
        }
        return choice
    }

    /// Released text not yet placed in any event, as chunks of its own (one per choice).
    private mutating func pendingEvents() -> [SSEParser.Event] {
        let byChoice = Set(released.filter { !$0.value.isEmpty }.keys.map(\.choice)).sorted()
        defer { released.removeAll() }
        return byChoice.map { index in
            var chunk = template
            chunk["choices"] = [place(into: ["index": index, "finish_reason": NSNull()])]
            return .data(String(decoding: (try? JSONSerialization.data(withJSONObject: chunk, options: [.withoutEscapingSlashes])) ?? Data(), as: UTF8.self))
        }
    }

    /// Starts classifying the windows `actions` hands out and keeps the text it releases.
    private mutating func handle(_ text: Text, _ actions: HookStreamWindow.Actions) async {
        released[text, default: ""] += actions.release
        if actions.cut { cut = true; return }
        for w in actions.classify {
            let runner = self.runner, verdicts = self.verdicts
            let id = WindowID(text: text, index: w.index)
            let input = HookInput(text: w.classifiedText, direction: .output, role: "assistant", requestID: requestID)
            tasks[id] = Task {
                let outcome = await runner.evaluate(input, lexicon: LexiconSummary(decision: .allow, categories: []))
                verdicts.withLockedValue { $0[id] = outcome }
            }
        }
        if runner.settings.stream.mode == .hold {
            // hold: each window waits for its own verdict before its text is delivered.
            for w in actions.classify { await tasks[WindowID(text: text, index: w.index)]?.value }
        }
        collect()
    }

    /// Feeds the verdicts that arrived to their windows.
    private mutating func collect() {
        let arrived = verdicts.withLockedValue { v -> [(WindowID, HookOutcome)] in
            let all = v.sorted { ($0.key.text, $0.key.index) < ($1.key.text, $1.key.index) }
            v.removeAll()
            return all
        }
        for (id, outcome) in arrived {
            tasks[id] = nil
            outcomes.append(outcome)
            guard let a = windows[id.text]?.receive(outcome.decision, for: id.index) else { continue }
            if a.cut { cut = true; return }
            released[id.text, default: ""] += a.release
        }
    }

    /// These texts ended: classify their last windows and wait for every verdict on them.
    private mutating func finish(_ texts: [Text]) async {
        for text in texts {
            guard var window = windows[text] else { continue }
            let actions = window.finish()
            windows[text] = window
            await handle(text, actions)
            if cut { return }
        }
        let waiting = tasks.filter { texts.contains($0.key.text) }.map(\.value)
        for task in waiting { await task.value }
        collect()
    }

    private func cutEvents() -> [SSEParser.Event] {
        var chunk = template
        let details = HookDetails.object(HookOutcome(matches: outcomes.flatMap(\.matches)))
        let open = seenChoices.subtracting(finishDelivered)
        chunk["choices"] = (seenChoices.isEmpty ? [0] : open.sorted()).map { index -> [String: Any] in
            var c: [String: Any] = ["index": index, "finish_reason": "content_filter", "content_filter_results": details]
            c[route == .chatCompletions ? "delta" : "text"] = route == .chatCompletions ? [String: Any]() : ""
            return c
        }
        return [.data(String(decoding: (try? JSONSerialization.data(withJSONObject: chunk)) ?? Data(), as: UTF8.self)), .data("[DONE]")]
    }
}
