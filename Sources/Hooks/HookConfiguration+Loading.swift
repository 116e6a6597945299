import Foundation
import Screening
import Yams

/// Hook configuration that cannot be used. Every message names the key
/// (`policy.yaml:12: hooks[1].on_failure: required (allow or block)`).
public struct HookConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

extension HookSettings {
    /// Every key, with what it means. `docs/hooks.md` documents the same list.
    public static let keyReference: [(key: String, meaning: String)] = [
        ("hooks[].name", "Unique name; used in metrics, audit and next:. Required."),
        ("hooks[].kind", "openai-moderation | chat-guard | webhook. Required."),
        ("hooks[].url", "Full URL Menshen POSTs to. Required."),
        ("hooks[].on_failure", "allow | block: what a failure, timeout, saturation or open circuit means. Required, no default."),
        ("hooks[].model", "model field of the request (openai-moderation, chat-guard)."),
        ("hooks[].format", "chat-guard answer format: llama-guard-3 | qwen3-guard. Required for chat-guard."),
        ("hooks[].prompt", "chat-guard request: chat (messages; the model's chat template) | raw (Menshen renders the prompt; llama-guard-3 on a completions endpoint). Default chat."),
        ("hooks[].logprobs", "chat-guard: score from the first token's log-probabilities instead of 0/1. Default false."),
        ("hooks[].controversial_score", "qwen3-guard: score of 'Controversial'. Default 0.5."),
        ("hooks[].headers", "Mapping name → text | {env: VAR, prefix?} | {file: path, prefix?}."),
        ("hooks[].directions", "List of input, output. Default both."),
        ("hooks[].roles", "Input message roles screened. Default all."),
        ("hooks[].timeout", "Bound on the hook's latency (waiting for a slot + the call). Default 2s."),
        ("hooks[].max_concurrent", "Calls in flight at once. Default 16."),
        ("hooks[].cache.size", "Verdicts cached by content hash; 0 = off. Default 10000."),
        ("hooks[].cache.ttl", "How long a cached verdict is used. Default 10m."),
        ("hooks[].circuit_breaker.failures", "Consecutive failures that open the circuit; 0 = off. Default 5."),
        ("hooks[].circuit_breaker.cool_down", "How long an open circuit skips the hook before one probe. Default 30s."),
        ("hooks[].when", "always | lexicon_clean | lexicon_flagged. Default always."),
        ("hooks[].threshold", "Score (0..1) at or above which the overall verdict fires. Default 0.5."),
        ("hooks[].action", "block | flag | shadow for the overall verdict. Default block."),
        ("hooks[].category", "Menshen category of the overall verdict. Default hook.<name>."),
        ("hooks[].categories", "Mapping hook category (or *) → {category?, threshold?, action?}."),
        ("hooks[].next", "Cascade: the hook that decides when this one is unsure."),
        ("hooks[].decide_below", "Cascade: a score below this decides alone (safe side). Required with next."),
        ("hooks[].decide_above", "Cascade: a score at or above this decides alone (unsafe side). Required with next."),
        ("hooks_stream.mode", "hold | async. Default hold."),
        ("hooks_stream.window_chars", "Characters per window of a streamed answer. Default 400."),
        ("hooks_stream.context_chars", "Characters of preceding text sent with each window. Default 100."),
    ]

    static let hookKeys = ["name", "kind", "url", "model", "format", "prompt", "logprobs", "controversial_score", "headers",
                           "directions", "roles", "timeout", "on_failure", "max_concurrent", "cache", "circuit_breaker", "when",
                           "threshold", "action", "category", "categories", "next", "decide_below", "decide_above"]

    /// Reads the `hooks:` and `hooks_stream:` keys of a policy file; other keys are left to
    /// the sidecar's own loader.
    ///
    /// ```swift
    /// let settings = try HookSettings.parse(yaml: """
    ///     hooks:
    ///       - name: guard
    ///         kind: chat-guard
    ///         format: llama-guard-3
    ///         url: http://127.0.0.1:8001/v1/chat/completions
    ///         on_failure: block
    ///     """)
    /// ```
    public static func parse(yaml text: String, source: String = "config") throws(HookConfigurationError) -> HookSettings {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw HookConfigurationError(problems: ["\(source): YAML syntax error: \(error)"])
        }
        guard let root else { return HookSettings() }
        guard root.mapping != nil else { throw HookConfigurationError(problems: ["\(source): expected a mapping at the top level"]) }
        return try parse(hooks: root["hooks"], stream: root["hooks_stream"], source: source)
    }

    /// Parses the two nodes (either may be absent) — for a loader that has already composed
    /// the YAML document.
    public static func parse(hooks hooksNode: Node?, stream streamNode: Node?, source: String = "config") throws(HookConfigurationError) -> HookSettings {
        var parser = Parser(source: source)
        let settings = parser.settings(hooks: hooksNode, stream: streamNode)
        if !parser.problems.isEmpty { throw HookConfigurationError(problems: parser.problems) }
        return settings
    }
}

/// The YAML walk. Collects every problem rather than stopping at the first.
private struct Parser {
    let source: String
    var problems: [String] = []

    init(source: String) { self.source = source }

    mutating func problem(_ key: String, _ node: Node?, _ message: String) {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        problems.append("\(source)\(line): \(key): \(message)")
    }

    mutating func settings(hooks hooksNode: Node?, stream streamNode: Node?) -> HookSettings {
        var settings = HookSettings()
        if let streamNode { settings.stream = stream(streamNode) }
        guard let hooksNode else { return settings }
        guard let list = hooksNode.sequence else {
            problem("hooks", hooksNode, "expected a list of hooks")
            return settings
        }
        var explicitlyScoped: [Bool] = []
        for (i, item) in list.enumerated() {
            if let parsed = hook(item, at: "hooks[\(i)]") {
                settings.hooks.append(parsed.0)
                explicitlyScoped.append(parsed.1)
            } else {
                // Keep indices aligned for the cross-hook checks; a placeholder never reaches the caller.
                settings.hooks.append(HookConfiguration(name: "", kind: .webhook, url: "", onFailure: .block))
                explicitlyScoped.append(false)
            }
        }
        crossCheck(settings.hooks, list: Array(list), scoped: explicitlyScoped)
        return settings
    }

    // MARK: hooks_stream

    mutating func stream(_ node: Node) -> HookSettings.StreamSettings {
        var s = HookSettings.StreamSettings()
        guard let m = node.mapping else { problem("hooks_stream", node, "expected a mapping"); return s }
        for (k, v) in m {
            let name = k.string ?? "?"
            let key = "hooks_stream.\(name)"
            switch name {
            case "mode":
                if let mode = v.string.flatMap(HookStreamWindow.Mode.init(rawValue:)) { s.mode = mode } else { problem(key, v, "must be hold or async") }
            case "window_chars":
                if let n = int(v, key, minimum: 16) { s.windowCharacters = n }
            case "context_chars":
                if let n = int(v, key, minimum: 0) { s.contextCharacters = n }
            default:
                problem(key, k, "unknown key (known: mode, window_chars, context_chars)")
            }
        }
        return s
    }

    // MARK: One hook

    /// The hook, and whether it names its own directions, roles or `when` (not allowed on a
    /// cascade target, which runs only through its cascade).
    mutating func hook(_ node: Node, at path: String) -> (HookConfiguration, Bool)? {
        guard let m = node.mapping else { problem(path, node, "expected a mapping"); return nil }
        for (k, _) in m where !HookSettings.hookKeys.contains(k.string ?? "") {
            problem("\(path).\(k.string ?? "?")", k, "unknown key (known: \(HookSettings.hookKeys.joined(separator: ", ")))")
        }
        let before = problems.count
        let name = node["name"]?.string ?? ""
        if node["name"] == nil { problem("\(path).name", node, "required") }
        else if name.isEmpty || !name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }) || !name.allSatisfy(\.isASCII) {
            problem("\(path).name", node["name"], "'\(name)' must be letters, digits, '-', '_' or '.'")
        }
        let kind: HookConfiguration.Kind?
        if let v = node["kind"] {
            kind = v.string.flatMap(HookConfiguration.Kind.init(rawValue:))
            if kind == nil { problem("\(path).kind", v, "must be one of \(HookConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", "))") }
        } else {
            kind = nil
            problem("\(path).kind", node, "required (\(HookConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let url = node["url"]?.string ?? ""
        if node["url"] == nil { problem("\(path).url", node, "required") }
        else if !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host == nil {
            problem("\(path).url", node["url"], "'\(url)' must be an http:// or https:// URL")
        }
        let onFailure: HookConfiguration.FailureMode?
        if let v = node["on_failure"], let mode = v.string.flatMap(HookConfiguration.FailureMode.init(rawValue:)) {
            onFailure = mode
        } else {
            onFailure = nil
            problem("\(path).on_failure", node["on_failure"] ?? node, "required (allow or block)")
        }
        var hook = HookConfiguration(name: name, kind: kind ?? .webhook, url: url, onFailure: onFailure ?? .block)

        if let v = node["model"] { if let s = v.string, !s.isEmpty { hook.model = s } else { problem("\(path).model", v, "expected text") } }
        if let v = node["format"] {
            if let f = v.string.flatMap(HookConfiguration.GuardFormat.init(rawValue:)) { hook.format = f } else {
                problem("\(path).format", v, "must be \(HookConfiguration.GuardFormat.allCases.map(\.rawValue).joined(separator: " or "))")
            }
        }
        if kind == .chatGuard && node["format"] == nil {
            problem("\(path).format", node, "required for kind chat-guard (\(HookConfiguration.GuardFormat.allCases.map(\.rawValue).joined(separator: " or ")))")
        }
        if let kind, kind != .chatGuard {
            for key in ["format", "prompt", "logprobs", "controversial_score"] where node[key] != nil {
                problem("\(path).\(key)", node[key], "only for kind chat-guard")
            }
        }
        if let v = node["prompt"] {
            if let p = v.string.flatMap(HookConfiguration.GuardPrompt.init(rawValue:)) { hook.prompt = p } else { problem("\(path).prompt", v, "must be chat or raw") }
            if hook.prompt == .raw && hook.format == .qwen3Guard { problem("\(path).prompt", v, "raw is only available for format llama-guard-3") }
        }
        if let v = node["logprobs"], let b = bool(v, "\(path).logprobs") {
            hook.logprobs = b
            if b && hook.format == .qwen3Guard { problem("\(path).logprobs", v, "only for format llama-guard-3 (its first token is the label)") }
        }
        if let v = node["controversial_score"] { if let d = score(v, "\(path).controversial_score") { hook.controversialScore = d } }
        if let v = node["headers"] { hook.headers = headers(v, "\(path).headers") }
        if let v = node["directions"] {
            if let list = v.sequence?.compactMap(\.string), !list.isEmpty {
                var set = Set<Direction>()
                for d in list {
                    if let dir = Direction(rawValue: d) { set.insert(dir) } else { problem("\(path).directions", v, "unknown direction '\(d)' (input or output)") }
                }
                hook.directions = set
            } else { problem("\(path).directions", v, "expected a non-empty list of input, output") }
        }
        if let v = node["roles"] {
            if let list = v.sequence?.compactMap(\.string), !list.isEmpty { hook.roles = Set(list) } else { problem("\(path).roles", v, "expected a non-empty list of roles") }
        }
        if let v = node["timeout"], let d = duration(v, "\(path).timeout") {
            if d <= .zero { problem("\(path).timeout", v, "must be more than 0") } else { hook.timeout = d }
        }
        if let v = node["max_concurrent"], let n = int(v, "\(path).max_concurrent", minimum: 1) { hook.maxConcurrent = n }
        if let v = node["cache"] {
            if let cm = v.mapping {
                for (k, value) in cm {
                    let key = "\(path).cache.\(k.string ?? "?")"
                    switch k.string {
                    case "size": if let n = int(value, key, minimum: 0) { hook.cache.size = n }
                    case "ttl": if let d = duration(value, key) { hook.cache.ttl = d }
                    default: problem(key, k, "unknown key (known: size, ttl)")
                    }
                }
            } else if v.string == "off" || v.string == "false" {
                hook.cache.size = 0
            } else { problem("\(path).cache", v, "expected {size, ttl} or off") }
        }
        if let v = node["circuit_breaker"] {
            if let cm = v.mapping {
                for (k, value) in cm {
                    let key = "\(path).circuit_breaker.\(k.string ?? "?")"
                    switch k.string {
                    case "failures": if let n = int(value, key, minimum: 0) { hook.circuitBreaker.failures = n }
                    case "cool_down":
                        if let d = duration(value, key) {
                            if d <= .zero { problem(key, value, "must be more than 0") } else { hook.circuitBreaker.coolDown = d }
                        }
                    default: problem(key, k, "unknown key (known: failures, cool_down)")
                    }
                }
            } else if v.string == "off" || v.string == "false" {
                hook.circuitBreaker.failures = 0
            } else { problem("\(path).circuit_breaker", v, "expected {failures, cool_down} or off") }
        }
        if let v = node["when"] {
            if let w = v.string.flatMap(HookConfiguration.When.init(rawValue:)) { hook.when = w } else {
                problem("\(path).when", v, "must be always, lexicon_clean or lexicon_flagged")
            }
        }
        if let v = node["threshold"], let d = score(v, "\(path).threshold") { hook.threshold = d }
        if let v = node["action"], let a = action(v, "\(path).action") { hook.action = a }
        if let v = node["category"] { if let s = v.string, !s.isEmpty { hook.category = s } else { problem("\(path).category", v, "expected text") } }
        if let v = node["categories"] {
            if let cm = v.mapping {
                for (k, value) in cm {
                    let hookCategory = k.string ?? "?"
                    let key = "\(path).categories.\(hookCategory)"
                    guard let entry = value.mapping else { problem(key, value, "expected {category?, threshold?, action?}"); continue }
                    var mapping = HookConfiguration.CategoryMapping()
                    for (ek, ev) in entry {
                        switch ek.string {
                        case "category": if let s = ev.string, !s.isEmpty { mapping.category = s } else { problem("\(key).category", ev, "expected text") }
                        case "threshold": mapping.threshold = score(ev, "\(key).threshold")
                        case "action": mapping.action = action(ev, "\(key).action")
                        default: problem("\(key).\(ek.string ?? "?")", ek, "unknown key (known: category, threshold, action)")
                        }
                    }
                    let canonical = hook.format == .llamaGuard3 ? LlamaGuard3.code(for: hookCategory) ?? hookCategory : hookCategory
                    hook.categories[canonical.lowercased()] = mapping
                }
            } else { problem("\(path).categories", v, "expected a mapping of hook category → {category, threshold, action}") }
        }
        if let v = node["next"] { if let s = v.string, !s.isEmpty { hook.next = s } else { problem("\(path).next", v, "expected a hook name") } }
        if let v = node["decide_below"] { hook.decideBelow = score(v, "\(path).decide_below") }
        if let v = node["decide_above"] { hook.decideAbove = score(v, "\(path).decide_above") }
        if hook.next != nil {
            if node["decide_below"] == nil { problem("\(path).decide_below", node, "required with next (the score below which this hook decides alone)") }
            if node["decide_above"] == nil { problem("\(path).decide_above", node, "required with next (the score from which this hook decides alone)") }
            if let lo = hook.decideBelow, let hi = hook.decideAbove, lo > hi {
                problem("\(path).decide_below", node["decide_below"], "\(lo) is above decide_above \(hi)")
            }
        } else {
            for key in ["decide_below", "decide_above"] where node[key] != nil { problem("\(path).\(key)", node[key], "only with next") }
        }
        guard problems.count == before else { return nil }
        let scoped = node["directions"] != nil || node["roles"] != nil || node["when"] != nil
        return (hook, scoped)
    }

    /// Names are unique; `next` names an existing hook; cascades have no cycles and no hook
    /// is the `next` of two hooks; a cascade target does not scope itself.
    mutating func crossCheck(_ hooks: [HookConfiguration], list: [Node], scoped: [Bool]) {
        var index: [String: Int] = [:]
        for (i, h) in hooks.enumerated() where !h.name.isEmpty {
            if let first = index[h.name] { problem("hooks[\(i)].name", list[i]["name"], "'\(h.name)' is already the name of hooks[\(first)]") } else { index[h.name] = i }
        }
        var targetedBy: [String: Int] = [:]
        for (i, h) in hooks.enumerated() {
            guard let next = h.next else { continue }
            guard let t = index[next] else {
                if !h.name.isEmpty { problem("hooks[\(i)].next", list[i]["next"], "no hook is named '\(next)'") }
                continue
            }
            if next == h.name { problem("hooks[\(i)].next", list[i]["next"], "a hook cannot be its own next"); continue }
            if let other = targetedBy[next] {
                problem("hooks[\(i)].next", list[i]["next"], "'\(next)' is already the next of hooks[\(other)]")
            } else { targetedBy[next] = i }
            if scoped[t] {
                problem("hooks[\(t)]", list[t], "'\(next)' is the next of '\(h.name)' and runs only through that cascade: remove its directions, roles and when")
            }
        }
        // Cycles: follow next from every hook; a chain longer than the hook count loops.
        for (i, h) in hooks.enumerated() where h.next != nil {
            var seen: Set<String> = [h.name]
            var current = h.next
            while let name = current, let j = index[name] {
                if seen.contains(name) { problem("hooks[\(i)].next", list[i]["next"], "the cascade from '\(h.name)' loops back to '\(name)'"); break }
                seen.insert(name)
                current = hooks[j].next
            }
        }
    }

    // MARK: Values

    mutating func headers(_ node: Node, _ key: String) -> [HookConfiguration.Header] {
        guard let m = node.mapping else { problem(key, node, "expected a mapping of header name → value"); return [] }
        var out: [HookConfiguration.Header] = []
        for (k, v) in m {
            let name = k.string ?? "?"
            let at = "\(key).\(name)"
            if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) {
                problem(at, k, "not a valid header name"); continue
            }
            if let s = v.string, v.mapping == nil { out.append(.init(name: name, source: .literal(s))); continue }
            guard let vm = v.mapping else { problem(at, v, "expected text, {env: VAR} or {file: path}"); continue }
            var source: HookConfiguration.Header.Source?
            var prefix = ""
            for (ek, ev) in vm {
                switch ek.string {
                case "env":
                    if let s = ev.string, !s.isEmpty { source = .environment(s) } else { problem("\(at).env", ev, "expected a variable name") }
                case "file":
                    if let s = ev.string, !s.isEmpty { source = .file(s) } else { problem("\(at).file", ev, "expected a path") }
                case "prefix":
                    prefix = ev.string ?? ""
                default:
                    problem("\(at).\(ek.string ?? "?")", ek, "unknown key (known: env, file, prefix)")
                }
            }
            if vm["env"] != nil && vm["file"] != nil { problem(at, v, "give env or file, not both"); continue }
            guard let source else { if vm["env"] == nil && vm["file"] == nil { problem(at, v, "needs env or file") }; continue }
            out.append(.init(name: name, source: source, prefix: prefix))
        }
        return out
    }

    mutating func int(_ node: Node, _ key: String, minimum: Int) -> Int? {
        guard let n = node.string.flatMap({ Int($0) }) else { problem(key, node, "expected an integer"); return nil }
        guard n >= minimum else { problem(key, node, "must be at least \(minimum)"); return nil }
        return n
    }

    mutating func bool(_ node: Node, _ key: String) -> Bool? {
        switch node.string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: problem(key, node, "expected true or false"); return nil
        }
    }

    mutating func score(_ node: Node, _ key: String) -> Double? {
        guard let d = node.string.flatMap({ Double($0) }), d >= 0, d <= 1 else { problem(key, node, "expected a number from 0 to 1"); return nil }
        return d
    }

    mutating func duration(_ node: Node, _ key: String) -> Duration? {
        guard let s = node.string, let d = parseHookDuration(s) else { problem(key, node, "expected a duration such as 500ms, 5s or 2m"); return nil }
        return d
    }

    mutating func action(_ node: Node, _ key: String) -> Action? {
        guard let a = node.string.flatMap(Action.init(rawValue:)) else { problem(key, node, "must be block, flag or shadow"); return nil }
        if a == .mask { problem(key, node, "mask is not available to hooks (a classifier names no span to mask): use block, flag or shadow"); return nil }
        return a
    }
}

/// `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds — the one duration syntax of every
/// policy-file key (hooks here, and the sidecar's `timeouts.*`, `reload.*`, `audit.*`).
public func parseHookDuration(_ text: String) -> Duration? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        guard let n = Double(t.dropLast(suffix.count)), n >= 0 else { return nil }
        return .milliseconds(Int64(n * scale * 1000))
    }
    guard let n = Double(t), n >= 0 else { return nil }
    return .milliseconds(Int64(n * 1000))
}
