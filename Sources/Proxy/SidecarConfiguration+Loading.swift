import Foundation
import Audit
import Hooks
import Labeling
import Screening
import Yams

/// A configuration that cannot be used. Every message names the key (`timeouts.connect: …`).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

extension SidecarConfiguration {
    /// Every key of the policy file, with what it means. `docs/configuration.md` is checked
    /// against this list by a test, so the reference cannot drift from the code.
    public static let keyReference: [(key: String, environment: String?, meaning: String)] = [
        ("listen", "MENSHEN_LISTEN", "host:port the proxy listens on (HTTP/1.1 and h2c). Default 127.0.0.1:8080."),
        ("upstream", "MENSHEN_UPSTREAM", "URL of the model server, e.g. http://127.0.0.1:8000. Required unless --demo."),
        ("lexicons", "MENSHEN_LEXICONS", "Lexicon directory. Default ./Lexicons."),
        ("limits.max_request_bytes", "MENSHEN_MAX_REQUEST_BYTES", "Largest request body on a screened route; larger gets 413. Default 4194304."),
        ("limits.max_response_bytes", nil, "Largest non-streamed answer Menshen buffers to screen; larger gets 502. Default 33554432."),
        ("limits.max_event_bytes", nil, "Largest single SSE line, and largest SSE event (its lines together), from the upstream. Default 4194304."),
        ("limits.max_choices", nil, "Most choices per answer: a request with a larger n gets 400; a stream naming a choice beyond it is ended with an error event. Default 16."),
        ("limits.max_upstream_connections", nil, "Most upstream connections at once. Default 512."),
        ("timeouts.connect", nil, "Connecting to the upstream (502 after). Default 5s."),
        ("timeouts.response_head", "MENSHEN_RESPONSE_TIMEOUT", "Until the upstream's response head arrives (504 after). Default 300s."),
        ("timeouts.read_idle", nil, "Longest silence while reading an answer. Default 120s."),
        ("timeouts.stream_total", nil, "Longest total duration of a streamed answer. Default 1800s."),
        ("timeouts.drain", "MENSHEN_DRAIN_TIMEOUT", "After SIGTERM, how long in-flight requests may finish. Default 30s."),
        ("screening.input_roles", nil, "Message roles screened on input. Default system, user, assistant, tool, developer, function. A message with any other role, or none, is always screened."),
        ("screening.allow_logprobs", nil, "Allow requests for log probabilities (logprobs, top_logprobs): they carry the answer's tokens, and alternatives the model did not choose, unscreened. Default false (400 logprobs_not_screenable)."),
        ("screening.refused_request_fields", nil, "Top-level request fields refused with 400 because text Menshen cannot screen would reach the model through them. Default chat_template, prompt_embeds. [] allows them."),
        ("screening.output_fields", nil, "Answer fields screened: content, reasoning_content (also selects reasoning, the name vLLM and Ollama use), tool_arguments (tool calls' and the legacy function_call's arguments; also selects tool_name, their function names), refusal. Default all."),
        ("screening.actions", nil, "List of {category | rule, direction?, action} overriding lexicon actions."),
        ("screening.output_refusal", nil, "Text that replaces a blocked answer."),
        ("screening.input_refusal", nil, "Message of the 400 error for a blocked prompt."),
        ("screening.passthrough_paths", nil, "The only path prefixes passed through unscreened; every other path that is not a screened route gets 403 (deny by default). Default: \(SidecarConfiguration.defaultPassthroughPaths.joined(separator: ", ")). [\"/\"] passes every path not refused."),
        ("screening.refused_paths", nil, "Path prefixes of generation endpoints Menshen cannot screen, refused with 403 (default: \(SidecarConfiguration.defaultRefusedPaths.joined(separator: ", "))). [] passes them through."),
        ("upstreams", nil, "List of {name, url, trust: internal|external, max_in_flight, queue_wait, model_map, api_key_env} in routing order; overrides upstream. An upstream with api_key_env gets `Authorization: Bearer` with that variable's value instead of the client's credentials; an external one without it gets no client credentials at all."),
        ("upstream_health.failure_threshold", nil, "Consecutive connect failures or 5xx after which an upstream is skipped. Default 3."),
        ("upstream_health.cooldown", nil, "How long an unhealthy upstream is skipped before it is tried again. Default 10s."),
        ("desensitization.internal", nil, "lexicon (apply lexicon actions; default) or pseudonymize (reversible placeholders) for internal upstreams."),
        ("desensitization.c3_external", nil, "block (default) or remove: C3 data (passwords, CVV, one-time codes) bound for an external upstream."),
        ("labels.enabled", nil, "Explicit text label and implicit AIGC metadata (GB 45438-2025) on every generated answer. Default true."),
        ("labels.explicit_text", nil, "The explicit label; must contain 人工智能 or AI, and 生成 or 合成. Default 本回答由人工智能生成."),
        ("labels.explicit_position", nil, "start or end (default end)."),
        ("labels.content_producer", nil, "ContentProducer: 00 + 20-character subject code + 5-character service code."),
        ("labels.content_propagator", nil, "ContentPropagator (default: the producer)."),
        ("labels.propagate_id", nil, "PropagateID (default: each answer's ProduceID)."),
        ("labels.key_id", nil, "Key identifier written into ReservedCode2. Default k1."),
        ("labels.key_file", "MENSHEN_LABEL_KEY_FILE", "File with the HMAC key (at least 32 bytes) for ReservedCode1/2."),
        ("labels.key_env", nil, "Name of an environment variable holding the HMAC key instead."),
        ("audit.directory", "MENSHEN_AUDIT_DIRECTORY", "Directory of the audit log files (hash-chained, rotated). Default ./audit."),
        ("audit.stdout", nil, "Also write audit events to standard output (for the cluster's log collector). Default false."),
        ("audit.max_file_bytes", nil, "Rotate a file at this size. Default 67108864."),
        ("audit.rotate_interval", nil, "Rotate a file at this age. Default 24h."),
        ("audit.retention_days", nil, "Delete rotated files older than this. Default 180."),
        ("audit.max_files", nil, "Keep at most this many files (default: no limit)."),
        ("audit.fsync_interval", nil, "Batch fsync interval. Default 50ms."),
        ("audit.queue_capacity", nil, "Events queued for the writer before requests wait. Default 4096."),
        ("audit.on_write_failure", nil, "fail_closed (default: answer 503 when events cannot be written) or continue."),
        ("audit.client_headers", nil, "Request headers recorded as the client's identity."),
        ("audit.raw_excerpts", nil, "Policy switch: put raw matched text in excerpts. Default false (every match masked)."),
        ("hooks", nil, "Classifier hooks (openai-moderation, chat-guard, webhook) with required on_failure; every key in docs/hooks.md."),
        ("hooks_stream", nil, "How streamed answers are windowed for hooks: mode hold|async, window_chars, context_chars (docs/hooks.md)."),
        ("admin.listen", "MENSHEN_ADMIN_LISTEN", "host:port of the admin listener (/admin/*, /metrics). Default 127.0.0.1:9090."),
        ("admin.token_file", "MENSHEN_ADMIN_TOKEN_FILE", "File with the bearer token for the admin listener; required beyond loopback."),
        ("reload.watch", nil, "Watch lexicons and the policy file for changes (inotify + polling). Default true."),
        ("reload.debounce", nil, "Quiet time after the last file event before reloading. Default 250ms."),
        ("reload.poll_interval", nil, "Safety-net polling interval. Default 10s."),
    ]

    /// The configuration reference in Markdown (`docs/configuration.md` is this text; a test
    /// keeps the two equal).
    public static func referenceMarkdown() -> String {
        var out = """
        # Configuration reference

        Generated by `menshen config reference` from the code; a test fails when this file and the
        code disagree. Sources, weakest first: defaults, the YAML policy file (`--config FILE`),
        `MENSHEN_*` environment variables (for containers), command-line flags.

        ## Command-line flags of `menshen serve`

        | flag | meaning |
        |---|---|
        | `--listen HOST:PORT` | where the proxy listens (HTTP/1.1 and h2c on one port) |
        | `--upstream URL` | the model server |
        | `--lexicons DIR` | the lexicon directory |
        | `--config FILE` | the YAML policy file (watched for hot reload) |
        | `--demo` | start the built-in scripted demo upstream and proxy to it |
        | `--log-level LEVEL` | trace, debug, info, notice, warning, error |
        | `--log-format FORMAT` | json (default: one object per line on standard error) or text |

        ## Policy file keys and environment variables

        | key | environment | meaning |
        |---|---|---|

        """
        for entry in keyReference {
            out += "| `\(entry.key)` | \(entry.environment.map { "`\($0)`" } ?? "") | \(entry.meaning) |\n"
        }
        return out
    }

    /// Reads a YAML policy file over the defaults.
    public static func load(file path: String, over base: SidecarConfiguration = SidecarConfiguration()) throws(ConfigurationError) -> SidecarConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError(problems: ["\(path): cannot read"])
        }
        var config = try parse(yaml: text, source: path, over: base)
        config.policyFile = path
        return config
    }

    /// Parses YAML policy text over `base`.
    public static func parse(yaml text: String, source: String = "config", over base: SidecarConfiguration = SidecarConfiguration()) throws(ConfigurationError) -> SidecarConfiguration {
        var config = base
        var problems: [String] = []
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigurationError(problems: ["\(source): YAML syntax error: \(error)"])
        }
        guard let root else { return config }
        guard let top = root.mapping else { throw ConfigurationError(problems: ["\(source): expected a mapping at the top level"]) }
        func problem(_ key: String, _ node: Node?, _ message: String) {
            let line = node?.mark.map { ":\($0.line)" } ?? ""
            problems.append("\(source)\(line): \(key): \(message)")
        }
        func mapping(_ node: Node, _ key: String, allowed: [String], _ body: (String, Node) -> Void) {
            guard let m = node.mapping else { problem(key, node, "expected a mapping"); return }
            for (k, v) in m {
                let name = k.string ?? "?"
                if allowed.contains(name) { body(name, v) } else { problem("\(key).\(name)", k, "unknown key (known: \(allowed.joined(separator: ", ")))") }
            }
        }
        func int(_ node: Node, _ key: String) -> Int? {
            guard let v = node.string.flatMap({ Int($0) }) else { problem(key, node, "expected an integer"); return nil }
            return v
        }
        func duration(_ node: Node, _ key: String) -> Duration? {
            guard let s = node.string, let d = parseDuration(s) else { problem(key, node, "expected a duration such as 500ms, 5s or 2m"); return nil }
            return d
        }
        do {
            config.hooks = try HookSettings.parse(hooks: root["hooks"], stream: root["hooks_stream"], source: source)
        } catch {
            problems += error.problems
        }
        for (k, v) in top {
            let key = k.string ?? "?"
            switch key {
            case "hooks", "hooks_stream":
                continue          // parsed above by the Hooks module (docs/hooks.md)
            case "listen":
                if let s = v.string, let hp = HostPort.parse(s) { config.listen = hp } else { problem(key, v, "expected host:port") }
            case "upstream": config.upstream = v.string
            case "lexicons": config.lexicons = v.string ?? config.lexicons
            case "limits":
                mapping(v, key, allowed: ["max_request_bytes", "max_response_bytes", "max_event_bytes", "max_upstream_connections", "max_choices"]) { name, node in
                    guard let n = int(node, "limits.\(name)") else { return }
                    switch name {
                    case "max_request_bytes": config.limits.maxRequestBytes = n
                    case "max_response_bytes": config.limits.maxResponseBytes = n
                    case "max_event_bytes": config.limits.maxEventBytes = n
                    case "max_choices": config.limits.maxChoices = n
                    default: config.limits.maxUpstreamConnections = n
                    }
                }
            case "timeouts":
                mapping(v, key, allowed: ["connect", "response_head", "read_idle", "stream_total", "drain"]) { name, node in
                    guard let d = duration(node, "timeouts.\(name)") else { return }
                    switch name {
                    case "connect": config.timeouts.connect = d
                    case "response_head": config.timeouts.responseHead = d
                    case "read_idle": config.timeouts.readIdle = d
                    case "stream_total": config.timeouts.streamTotal = d
                    default: config.timeouts.drain = d
                    }
                }
            case "screening":
                mapping(v, key, allowed: ["input_roles", "output_fields", "actions", "output_refusal", "input_refusal", "refused_paths", "refused_request_fields", "allow_logprobs", "passthrough_paths"]) { name, node in
                    let full = "screening.\(name)"
                    switch name {
                    case "input_roles":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of roles"); return }
                        config.screening.inputRoles = Set(list)
                    case "output_fields":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of fields"); return }
                        var fields = Set<OutputField>()
                        for f in list {
                            if let field = OutputField(rawValue: f) {
                                fields.insert(field)
                                // One setting for both names of the chain of thought.
                                if field == .reasoningContent { fields.insert(.reasoning) }
                                if field == .reasoning { fields.insert(.reasoningContent) }
                                // A policy written before names were screened lists only the
                                // arguments; a tool call's name is screened with them.
                                if field == .toolArguments { fields.insert(.toolName) }
                            } else {
                                problem(full, node, "unknown field '\(f)' (known: \(OutputField.allCases.map(\.rawValue).joined(separator: ", ")))")
                            }
                        }
                        config.screening.outputFields = fields
                    case "actions":
                        guard let list = node.sequence else { problem(full, node, "expected a list of overrides"); return }
                        var overrides: [ActionPolicy.Override] = []
                        for (i, item) in list.enumerated() {
                            let at = "\(full)[\(i)]"
                            guard let action = item["action"]?.string.flatMap(Action.init(rawValue:)) else {
                                problem(at + ".action", item, "required: block, mask, flag or shadow"); continue
                            }
                            var o = ActionPolicy.Override(action: action)
                            o.category = item["category"]?.string
                            o.rule = item["rule"]?.string
                            if o.category == nil && o.rule == nil { problem(at, item, "needs 'category' or 'rule'"); continue }
                            if let d = item["direction"]?.string {
                                if d == "both" { o.direction = nil } else if let dir = Direction(rawValue: d) { o.direction = dir } else {
                                    problem(at + ".direction", item, "must be input, output or both"); continue
                                }
                            }
                            for (key, _) in item.mapping ?? [:] where !["action", "category", "rule", "direction"].contains(key.string ?? "") {
                                problem("\(at).\(key.string ?? "?")", key, "unknown key (known: category, rule, direction, action)")
                            }
                            overrides.append(o)
                        }
                        config.screening.actions = ActionPolicy(overrides: overrides)
                    case "allow_logprobs":
                        guard let b = YAMLBool.parse(node.string) else { problem(full, node, "expected true or false"); return }
                        config.screening.allowLogprobs = b
                    case "refused_request_fields":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of field names"); return }
                        config.screening.refusedRequestFields = list
                    case "passthrough_paths":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of path prefixes"); return }
                        config.screening.passthroughPaths = list
                    case "refused_paths":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of path prefixes"); return }
                        config.screening.refusedPaths = list
                    case "output_refusal":
                        if let s = node.string, !s.isEmpty { config.screening.outputRefusal = s } else { problem(full, node, "expected text") }
                    default:
                        if let s = node.string, !s.isEmpty { config.screening.inputRefusal = s } else { problem(full, node, "expected text") }
                    }
                }
            case "upstreams":
                guard let list = v.sequence else { problem(key, v, "expected a list of upstreams"); continue }
                var upstreams: [UpstreamConfiguration] = []
                for (i, item) in list.enumerated() {
                    let at = "upstreams[\(i)]"
                    guard let name = item["name"]?.string, let url = item["url"]?.string else { problem(at, item, "needs 'name' and 'url'"); continue }
                    var u = UpstreamConfiguration(name: name, url: url)
                    mapping(item, at, allowed: ["name", "url", "trust", "max_in_flight", "queue_wait", "model_map", "api_key_env"]) { field, node in
                        switch field {
                        case "trust":
                            if let t = node.string.flatMap(Trust.init(rawValue:)) { u.trust = t } else { problem("\(at).trust", node, "must be internal or external") }
                        case "max_in_flight": if let n = int(node, "\(at).max_in_flight") { u.maxInFlight = n }
                        case "queue_wait": if let d = duration(node, "\(at).queue_wait") { u.queueWait = d }
                        case "model_map":
                            guard let m = node.mapping else { problem("\(at).model_map", node, "expected a mapping of model names"); return }
                            for (from, to) in m { if let f = from.string, let t = to.string { u.modelMap[f] = t } }
                        case "api_key_env":
                            if let name = node.string, !name.isEmpty { u.apiKeyEnv = name } else { problem("\(at).api_key_env", node, "expected the name of an environment variable") }
                        default: break
                        }
                    }
                    upstreams.append(u)
                }
                config.upstreams = upstreams
            case "upstream_health":
                mapping(v, key, allowed: ["failure_threshold", "cooldown"]) { name, node in
                    if name == "failure_threshold" { if let n = int(node, "upstream_health.failure_threshold") { config.upstreamHealth.failureThreshold = n } }
                    else if let d = duration(node, "upstream_health.cooldown") { config.upstreamHealth.cooldown = d }
                }
            case "desensitization":
                mapping(v, key, allowed: ["internal", "c3_external"]) { name, node in
                    if name == "internal" {
                        switch node.string {
                        case "lexicon": config.desensitization.pseudonymizeInternal = false
                        case "pseudonymize": config.desensitization.pseudonymizeInternal = true
                        default: problem("desensitization.internal", node, "must be lexicon or pseudonymize")
                        }
                    } else if let c = node.string.flatMap(C3Handling.init(rawValue:)) {
                        config.desensitization.c3External = c
                    } else { problem("desensitization.c3_external", node, "must be block or remove") }
                }
            case "labels":
                mapping(v, key, allowed: ["enabled", "explicit_text", "explicit_position", "content_producer", "content_propagator",
                                          "propagate_id", "key_id", "key_file", "key_env"]) { name, node in
                    let full = "labels.\(name)"
                    switch name {
                    case "enabled":
                        if let b = YAMLBool.parse(node.string) { config.labels.enabled = b } else { problem(full, node, "expected true or false") }
                    case "explicit_text":
                        guard let t = node.string else { problem(full, node, "expected text"); return }
                        do { try ExplicitLabel.validate(t); config.labels.explicitText = t } catch { problem(full, node, "\(error)") }
                    case "explicit_position":
                        if let p = node.string.flatMap(ExplicitLabel.Position.init(rawValue:)) { config.labels.explicitPosition = p } else { problem(full, node, "must be start or end") }
                    case "content_producer": config.labels.contentProducer = node.string ?? ""
                    case "content_propagator": config.labels.contentPropagator = node.string
                    case "propagate_id": config.labels.propagateID = node.string
                    case "key_id": config.labels.keyID = node.string ?? config.labels.keyID
                    case "key_file": config.labels.keyFile = node.string
                    default: config.labels.keyEnvironment = node.string
                    }
                }
            case "audit":
                mapping(v, key, allowed: ["directory", "stdout", "max_file_bytes", "rotate_interval", "retention_days", "max_files",
                                          "fsync_interval", "queue_capacity", "on_write_failure", "client_headers", "raw_excerpts"]) { name, node in
                    let full = "audit.\(name)"
                    switch name {
                    case "directory": config.audit.log.directory = node.string
                    case "stdout":
                        if let b = YAMLBool.parse(node.string) { config.audit.log.stdout = b } else { problem(full, node, "expected true or false") }
                    case "max_file_bytes": if let n = int(node, full) { config.audit.log.maxFileBytes = n }
                    case "rotate_interval": if let d = duration(node, full) { config.audit.log.rotateInterval = d }
                    case "retention_days": if let n = int(node, full) { config.audit.log.retentionDays = n }
                    case "max_files": if let n = int(node, full) { config.audit.log.maxFiles = n }
                    case "fsync_interval": if let d = duration(node, full) { config.audit.log.fsyncInterval = d }
                    case "queue_capacity": if let n = int(node, full) { config.audit.log.queueCapacity = n }
                    case "on_write_failure":
                        switch node.string {
                        case "fail_closed": config.audit.log.onWriteFailure = .failClosed
                        case "continue": config.audit.log.onWriteFailure = .continue
                        default: problem(full, node, "must be fail_closed or continue")
                        }
                    case "client_headers":
                        guard let list = node.sequence?.compactMap(\.string) else { problem(full, node, "expected a list of header names"); return }
                        config.audit.clientHeaders = list.map { $0.lowercased() }
                    default:
                        if let b = YAMLBool.parse(node.string) { config.audit.rawExcerpts = b } else { problem(full, node, "expected true or false") }
                    }
                }
            case "admin":
                mapping(v, key, allowed: ["listen", "token_file"]) { name, node in
                    if name == "listen" {
                        if let s = node.string, let hp = HostPort.parse(s) { config.admin.listen = hp } else { problem("admin.listen", node, "expected host:port") }
                    } else {
                        config.admin.tokenFile = node.string
                    }
                }
            case "reload":
                mapping(v, key, allowed: ["watch", "debounce", "poll_interval"]) { name, node in
                    switch name {
                    case "watch":
                        if let b = YAMLBool.parse(node.string) { config.reload.watch = b } else { problem("reload.watch", node, "expected true or false") }
                    case "debounce": if let d = duration(node, "reload.debounce") { config.reload.debounce = d }
                    default: if let d = duration(node, "reload.poll_interval") { config.reload.pollInterval = d }
                    }
                }
            default:
                problem(key, k, "unknown key (known: listen, upstream, upstreams, hooks, hooks_stream, upstream_health, desensitization, lexicons, limits, timeouts, screening, labels, audit, admin, reload)")
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        return config
    }

    /// Applies `MENSHEN_*` environment variables.
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        var problems: [String] = []
        if let v = environment["MENSHEN_LISTEN"] {
            if let hp = HostPort.parse(v) { listen = hp } else { problems.append("MENSHEN_LISTEN: '\(v)' is not host:port") }
        }
        if let v = environment["MENSHEN_UPSTREAM"] { upstream = v }
        if let v = environment["MENSHEN_ADMIN_LISTEN"] {
            if let hp = HostPort.parse(v) { admin.listen = hp } else { problems.append("MENSHEN_ADMIN_LISTEN: '\(v)' is not host:port") }
        }
        if let v = environment["MENSHEN_ADMIN_TOKEN_FILE"] { admin.tokenFile = v }
        if let v = environment["MENSHEN_LABEL_KEY_FILE"] { labels.keyFile = v }
        if let v = environment["MENSHEN_AUDIT_DIRECTORY"] { audit.log.directory = v }
        if let v = environment["MENSHEN_LEXICONS"] { lexicons = v }
        if let v = environment["MENSHEN_MAX_REQUEST_BYTES"] {
            if let n = Int(v) { limits.maxRequestBytes = n } else { problems.append("MENSHEN_MAX_REQUEST_BYTES: '\(v)' is not an integer") }
        }
        if let v = environment["MENSHEN_RESPONSE_TIMEOUT"] {
            if let d = parseDuration(v) { timeouts.responseHead = d } else { problems.append("MENSHEN_RESPONSE_TIMEOUT: '\(v)' is not a duration") }
        }
        if let v = environment["MENSHEN_DRAIN_TIMEOUT"] {
            if let d = parseDuration(v) { timeouts.drain = d } else { problems.append("MENSHEN_DRAIN_TIMEOUT: '\(v)' is not a duration") }
        }
        // Upstream API keys come from the environment (a Kubernetes Secret), never the policy file.
        for i in upstreams.indices {
            guard let name = upstreams[i].apiKeyEnv else { continue }
            let key = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if key.isEmpty {
                problems.append("upstreams[\(i)].api_key_env: environment variable \(name) is not set")
            } else {
                upstreams[i].apiKey = key
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }
}

/// The policy file's duration syntax (`500ms`, `5s`, `2m`, `1h`), shared with the hooks' keys.
func parseDuration(_ text: String) -> Duration? { parseHookDuration(text) }

enum YAMLBool {
    static func parse(_ s: String?) -> Bool? {
        switch s?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }
}
