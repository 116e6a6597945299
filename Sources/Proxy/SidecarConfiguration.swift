import Audit
import Hooks
import Labeling
import Screening

/// Everything `menshen serve` needs, validated once at start-up.
///
/// Sources, weakest first: built-in defaults, the YAML policy file (`--config`), `MENSHEN_*`
/// environment variables (for containers), command-line flags. See `docs/configuration.md`.
public struct SidecarConfiguration: Sendable, Equatable {
    /// Where the proxy listens (HTTP/1.1 and h2c on one port).
    public var listen = HostPort(host: "127.0.0.1", port: 8080)
    /// The model server, e.g. `http://127.0.0.1:8000`. Required unless `demo` is on.
    public var upstream: String?
    /// The lexicon directory.
    public var lexicons = "Lexicons"
    /// Start the built-in scripted demo upstream and proxy to it.
    public var demo = false
    public var limits = Limits()
    public var timeouts = Timeouts()
    public var screening = ScreeningPolicy()
    /// Named upstreams in routing order (primary first). Empty: the single `upstream`, internal.
    public var upstreams: [UpstreamConfiguration] = []
    public var desensitization = Desensitization()
    /// When an upstream counts as unhealthy.
    public var upstreamHealth = UpstreamHealth()
    public var admin = Admin()
    public var reload = Reload()
    /// GB 45438-2025 labels on every generated answer.
    public var labels = Labels()
    /// The audit log of block, mask, flag and shadow decisions.
    public var audit = AuditSettings()
    /// Classifier hooks (`hooks:` and `hooks_stream:`; see docs/hooks.md).
    public var hooks = HookSettings()
    /// The YAML policy file this configuration was read from (watched for reloads).
    public var policyFile: String?

    public init() {}

    /// Generated-content labels (GB 45438-2025, 《人工智能生成合成内容标识办法》).
    public struct Labels: Sendable, Equatable {
        /// Add the explicit text label and the implicit AIGC metadata to every generated answer.
        public var enabled = true
        public var explicitText = "本回答由人工智能生成"
        public var explicitPosition: ExplicitLabel.Position = .end
        /// The provider code: `00` + 20-character subject code + 5-character service code.
        /// The default is a placeholder that start-up warns about.
        public var contentProducer = "00" + String(repeating: "0", count: 25)
        public var contentPropagator: String?
        public var propagateID: String?
        public var keyID = "k1"
        /// HMAC key for ReservedCode1/2, from a file or an environment variable (≥ 32 bytes).
        /// Without one, an ephemeral key is generated at start (labels cannot be verified later).
        public var keyFile: String?
        public var keyEnvironment: String?
    }

    /// Audit log settings: the log itself, plus what the proxy puts in it.
    public struct AuditSettings: Sendable, Equatable {
        public var log = AuditConfiguration()
        /// Request headers copied into each event as the client's identity (`x-user-id`, …).
        public var clientHeaders: [String] = []
        /// Policy switch: excerpts with the raw matched text. Off: every match is masked.
        public var rawExcerpts = false
    }

    /// Desensitization for hybrid IDC + cloud deployments.
    public struct Desensitization: Sendable, Equatable {
        /// For internal upstreams: `lexicon` applies the lexicons' own actions (mask is
        /// irreversible); `pseudonymize` uses reversible placeholders there too.
        public var pseudonymizeInternal = false
        /// C3 data (passwords, CVV, one-time codes) on its way to an external upstream: refused or cut out.
        public var c3External: C3Handling = .block
    }

    /// Consecutive failures (connect errors, 5xx) after which an upstream is skipped for a cool-down.
    public struct UpstreamHealth: Sendable, Equatable {
        public var failureThreshold = 3
        public var cooldown: Duration = .seconds(10)
    }

    /// The upstreams to route over: the configured list, or the single `upstream`.
    public var routedUpstreams: [UpstreamConfiguration] {
        if !upstreams.isEmpty { return upstreams }
        return upstream.map { [UpstreamConfiguration(name: "primary", url: $0, trust: .internal)] } ?? []
    }

    /// The admin listener: `/admin/*` and `/metrics`, apart from model traffic.
    public struct Admin: Sendable, Equatable {
        /// Where it listens. Default loopback only.
        public var listen = HostPort(host: "127.0.0.1", port: 9090)
        /// File holding the bearer token; required when `listen` is not a loopback address.
        public var tokenFile: String?
    }

    /// Hot reload of lexicons and policy.
    public struct Reload: Sendable, Equatable {
        /// Watch the lexicon directory and the policy file (inotify + polling).
        public var watch = true
        /// Quiet time after the last file event before reloading (a half-written file is not a lexicon).
        public var debounce: Duration = .milliseconds(250)
        /// Safety-net polling interval (content hash; compiles only on change).
        public var pollInterval: Duration = .seconds(10)
    }

    /// A `host:port` pair.
    public struct HostPort: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) { self.host = host; self.port = port }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        /// 127.0.0.0/8, ::1 or localhost.
        /// Parsed, not a string prefix: `127.evil.example` is a name that resolves anywhere.
        public var isLoopback: Bool { host.lowercased() == "localhost" || AdminAccess.isLoopbackLiteral(host) }

        /// Parses `host:port`, `[v6]:port` or `:port`.
        public static func parse(_ text: String) -> HostPort? {
            var host: Substring, portText: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            }
            guard let port = Int(portText), (0...65535).contains(port) else { return nil }
            if host.isEmpty { host = "0.0.0.0" }
            return HostPort(host: String(host), port: port)
        }
    }

    /// Size limits, so no request or answer makes Menshen buffer without bound.
    public struct Limits: Sendable, Equatable {
        /// Largest request body on a screened route (bytes); larger gets 413.
        public var maxRequestBytes = 4 << 20
        /// Largest non-streamed answer body (bytes) Menshen buffers to screen; larger gets 502.
        public var maxResponseBytes = 32 << 20
        /// Largest single SSE line from the upstream.
        public var maxEventBytes = 4 << 20
        /// Most connections to the upstream at once (each streamed answer holds one).
        public var maxUpstreamConnections = 512
        /// Most choices per answer: a request asking for more (`n`) gets 400, and a stream that
        /// names a choice beyond it is ended. Each streamed choice keeps scanners and held text
        /// of its own, so this bounds a stream's memory.
        public var maxChoices = 16
    }

    /// Timeouts towards the upstream and for shutdown.
    public struct Timeouts: Sendable, Equatable {
        /// Connecting to the upstream.
        public var connect: Duration = .seconds(5)
        /// Until the upstream's response head arrives (a model may queue the request).
        public var responseHead: Duration = .seconds(300)
        /// Longest silence between two reads of an answer body.
        public var readIdle: Duration = .seconds(120)
        /// Longest total duration of one streamed answer.
        public var streamTotal: Duration = .seconds(1800)
        /// After SIGTERM: how long in-flight requests may take to finish.
        public var drain: Duration = .seconds(30)
    }

    /// What is screened and what happens.
    public struct ScreeningPolicy: Sendable, Equatable {
        /// Message roles whose content is screened on input. Tool results are where indirect
        /// prompt injection arrives, so `tool` is on by default. Only the roles OpenAI-compatible
        /// servers define can be left out: a message with any other role (`User`, a template's
        /// own `observation`, none at all) is always screened, since chat templates render it.
        public var inputRoles: Set<String> = ["system", "user", "assistant", "tool", "developer", "function"]
        /// Top-level request fields refused with 400: text Menshen cannot screen would reach the
        /// model through them (vLLM's caller-supplied `chat_template` writes the prompt itself;
        /// `prompt_embeds` is a prompt as tensors). Empty to allow.
        public var refusedRequestFields: [String] = ["chat_template", "prompt_embeds"]
        /// Whether a request may ask for log probabilities (`logprobs`, `top_logprobs`). They
        /// carry the answer's tokens — and alternatives the model did not choose — beside the
        /// screened text, so they would deliver held, masked and blocked text unscreened. Off:
        /// such a request gets 400.
        public var allowLogprobs = false
        /// Answer fields screened on output.
        public var outputFields: Set<OutputField> = Set(OutputField.allCases)
        /// Overrides of rule actions per category / rule and direction.
        public var actions = ActionPolicy()
        /// The text that replaces a blocked answer.
        public var outputRefusal = "抱歉，该回答包含不符合内容安全要求的信息，已被拦截。Sorry, this answer was withheld by the content filter."
        /// The message of the 400 error for a blocked prompt.
        public var inputRefusal = "The prompt was blocked by the content filter (Menshen)."
        /// Generation endpoints Menshen does not screen, refused with 403 rather than passed
        /// through unscreened: OpenAI's Responses, Assistants, Realtime, legacy edits and engines,
        /// and media generation; the Anthropic Messages API (vLLM, SGLang and llama.cpp serve it
        /// too); the native APIs of Ollama, SGLang and TGI (`/generate`), vLLM's token-in/out
        /// `/inference`, llama.cpp (`/completion`, `/infill`) and DashScope. Empty to allow.
        /// Kept in canonical form (`RoutingPath`), since request paths are compared in that form.
        public var refusedPaths: [String] = SidecarConfiguration.defaultRefusedPaths {
            didSet { refusedPaths = refusedPaths.map(RoutingPath.canonical) }
        }
        /// The only path prefixes passed through unscreened; every other path that is not a
        /// screened route gets 403. Deny by default: a model server's next generation endpoint
        /// (SageMaker's `/invocations`, TGI's `POST /`, a batch API) must not pass until someone
        /// has decided it carries no text. The default opens the model list and the health and
        /// metadata paths of vLLM, Ollama, TGI and llama.cpp. `["/"]` passes every path that is
        /// not refused (the old behaviour). Kept in canonical form, like `refusedPaths`.
        public var passthroughPaths: [String] = SidecarConfiguration.defaultPassthroughPaths {
            didSet { passthroughPaths = passthroughPaths.map(RoutingPath.canonical) }
        }
    }

    /// See ``ScreeningPolicy/passthroughPaths``: model lists, health, version and model metadata.
    public static let defaultPassthroughPaths = [
        "/v1/models", "/health", "/ping", "/version", "/info",
        "/api/tags", "/api/version", "/api/ps", "/api/show",
    ]

    /// See ``ScreeningPolicy/refusedPaths``.
    public static let defaultRefusedPaths = [
        "/v1/responses", "/v1/edits", "/v1/engines", "/v1/assistants", "/v1/threads", "/v1/realtime",
        "/v1/images", "/v1/audio/speech", "/v1/videos", "/v1/messages",
        "/api/generate", "/api/chat", "/generate", "/generate_stream", "/inference",
        "/completion", "/infill", "/api/v1/services/aigc",
    ]

    /// Answer fields Menshen can screen; the raw value is the member's name on the wire
    /// (except `tool_arguments`: `tool_calls[].function.arguments`, and the legacy
    /// `function_call.arguments`).
    public enum OutputField: String, Sendable, CaseIterable, Hashable {
        case content
        /// Reasoning models' chain of thought, DeepSeek's name (also Qwen, Kimi, SGLang).
        case reasoningContent = "reasoning_content"
        /// The same under the name vLLM (from 0.17 only) and Ollama use. Policy selects the two
        /// together: a deployment that screens reasoning must not stop at a model server upgrade.
        case reasoning
        case toolArguments = "tool_arguments"
        /// `tool_calls[].function.name` and the legacy `function_call.name`: a client shows the
        /// name of the function it is asked to run, and a hostile model can write anything there.
        case toolName = "tool_name"
        case refusal

        /// The string members of a chat answer's `message` (or a stream's `delta`) that are
        /// screened as text, in the order they are read.
        public static let messageFields: [OutputField] = [.content, .reasoningContent, .reasoning, .refusal]
        /// Other members a `message` or `delta` may carry: structure, not free text.
        /// Their strings (`role`, a participant's `name`, citation titles and URLs in
        /// `annotations`) are screened whole with the rest of the answer's structure
        /// (``AnswerStructure``); tool calls have their own slots; audio is refused.
        static let structuralMessageMembers: Set<String> = ["role", "name", "tool_calls", "function_call", "audio", "annotations"]
    }

    /// Checks cross-field rules; returns problems naming the key.
    public func validate() -> [String] {
        var problems: [String] = []
        if upstream == nil && upstreams.isEmpty && !demo { problems.append("upstream: required (or run with --demo)") }
        for (i, u) in upstreams.enumerated() where !(u.url.hasPrefix("http://") || u.url.hasPrefix("https://") || (demo && u.url == "demo")) {
            problems.append("upstreams[\(i)].url: '\(u.url)' must start with http:// or https://")
        }
        if Set(upstreams.map(\.name)).count != upstreams.count { problems.append("upstreams: names must be unique") }
        if let upstream, !(upstream.hasPrefix("http://") || upstream.hasPrefix("https://")) {
            problems.append("upstream: '\(upstream)' must start with http:// or https://")
        }
        if limits.maxRequestBytes < 1024 { problems.append("limits.max_request_bytes: must be at least 1024") }
        if limits.maxResponseBytes < 1024 { problems.append("limits.max_response_bytes: must be at least 1024") }
        if limits.maxUpstreamConnections < 1 { problems.append("limits.max_upstream_connections: must be at least 1") }
        if !admin.listen.isLoopback && admin.tokenFile == nil {
            problems.append("admin.token_file: required when admin.listen (\(admin.listen)) is not a loopback address")
        }
        return problems
    }
}
