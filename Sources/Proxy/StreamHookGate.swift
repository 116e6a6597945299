import Foundation
import Hooks
import NIOConcurrencyHelpers
import Screening

/// Classifier hooks on a streamed answer: the text the lexicon screener released (choice 0's
/// content) is cut into windows (`hooks_stream.window_chars`), each classified by the hooks;
/// `HookStreamWindow` says what may be delivered when. `hold` delivers a window only after its
/// verdict; `async` lets text flow and cuts the stream after an unsafe verdict (the leak is
/// bounded by one window). Other choices and fields are screened by the lexicons only.
struct StreamHookGate {
    let runner: HookRunner
    let route: ScreenedRoute
    let requestID: String
    private var window: HookStreamWindow
    /// Verdicts of windows classified in the background (async mode), by window index.
    private let verdicts = NIOLockedValueBox<[Int: HookOutcome]>([:])
    private var tasks: [Int: Task<Void, Never>] = [:]
    private(set) var outcomes: [HookOutcome] = []
    private(set) var cut = false
    private var template: [String: Any] = [:]

    init(runner: HookRunner, route: ScreenedRoute, requestID: String) {
        self.runner = runner
        self.route = route
        self.requestID = requestID
        window = HookStreamWindow(settings: runner.settings.stream)
    }

    /// Rewrites screened events: choice 0's text becomes what the window releases.
    mutating func process(_ events: [SSEParser.Event]) async -> (events: [SSEParser.Event], stop: Bool) {
        var out: [SSEParser.Event] = []
        for event in events {
            guard !cut else { break }
            guard let data = event.data else { out.append(event); continue }
            if SSEParser.isDone(data) {
                let tail = await finish()
                if !tail.isEmpty { out.append(textEvent(tail)) }
                if cut { out += cutEvents(); return (out, true) }
                out.append(event)
                continue
            }
            guard var json = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
                  var choices = json["choices"] as? [[String: Any]], let i = choices.firstIndex(where: { ($0["index"] as? Int ?? 0) == 0 }) else {
                out.append(event); continue
            }
            for key in ["id", "object", "created", "model"] { if let v = json[key] { template[key] = v } }
            var choice = choices[i]
            let key = route == .chatCompletions ? "content" : "text"
            var container = route == .chatCompletions ? (choice["delta"] as? [String: Any] ?? [:]) : choice
            var released = ""
            if let text = container[key] as? String, !text.isEmpty {
                released += await handle(window.append(text))
            }
            if !cut, choice["finish_reason"] is String {
                released += await finish()        // the finish waits for every verdict
            }
            if cut {
                if !released.isEmpty { out.append(textEvent(released)) }
                out += cutEvents()
                return (out, true)
            }
            container[key] = released
            if route == .chatCompletions { choice["delta"] = container } else { choice = container }
            choices[i] = choice
            json["choices"] = choices
            out.append(.data(String(decoding: (try? JSONSerialization.data(withJSONObject: json, options: [.withoutEscapingSlashes])) ?? Data(), as: UTF8.self)))
        }
        return (out, cut)
    }

    /// Classifies the windows `actions` hands out; returns the text released meanwhile.
    private mutating func handle(_ actions: HookStreamWindow.Actions) async -> String {
        var released = actions.release
        if actions.cut { cut = true; return "" }
        for w in actions.classify {
            let runner = self.runner, verdicts = self.verdicts
            let input = HookInput(text: w.classifiedText, direction: .output, role: "assistant", requestID: requestID)
            tasks[w.index] = Task {
                let outcome = await runner.evaluate(input, lexicon: LexiconSummary(decision: .allow, categories: []))
                verdicts.withLockedValue { $0[w.index] = outcome }
            }
        }
        if window.mode == .hold {
            // hold: each window waits for its own verdict before its text is delivered.
            for index in actions.classify.map(\.index) { await tasks[index]?.value }
        }
        released += collect()
        return released
    }

    /// Feeds the verdicts that arrived to the window.
    private mutating func collect() -> String {
        var released = ""
        let arrived = verdicts.withLockedValue { v -> [(Int, HookOutcome)] in
            let all = v.sorted { $0.key < $1.key }
            v.removeAll()
            return all
        }
        for (index, outcome) in arrived {
            tasks[index] = nil
            outcomes.append(outcome)
            let a = window.receive(outcome.decision, for: index)
            if a.cut { cut = true; return released }
            released += a.release
        }
        return released
    }

    /// The stream ended: classify the last window and wait for every verdict.
    private mutating func finish() async -> String {
        var released = await handle(window.finish())
        for task in tasks.values { await task.value }
        released += collect()
        return cut ? "" : released
    }

    private func textEvent(_ text: String) -> SSEParser.Event {
        var chunk = template
        chunk["choices"] = [route == .chatCompletions
            ? ["index": 0, "delta": ["content": text], "finish_reason": NSNull()] as [String: Any]
            : ["index": 0, "text": text, "finish_reason": NSNull()]]
        return .data(String(decoding: (try? JSONSerialization.data(withJSONObject: chunk)) ?? Data(), as: UTF8.self))
    }

    private func cutEvents() -> [SSEParser.Event] {
        var chunk = template
        var c: [String: Any] = ["index": 0, "finish_reason": "content_filter",
                                "content_filter_results": HookDetails.object(HookOutcome(matches: outcomes.flatMap(\.matches)))]
        c[route == .chatCompletions ? "delta" : "text"] = route == .chatCompletions ? [String: Any]() : ""
        chunk["choices"] = [c]
        return [.data(String(decoding: (try? JSONSerialization.data(withJSONObject: chunk)) ?? Data(), as: UTF8.self)), .data("[DONE]")]
    }
}
