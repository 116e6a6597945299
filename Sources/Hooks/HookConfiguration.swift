import Screening

/// Every classifier hook of a deployment and how streamed answers are windowed for them.
///
/// Parsed from the `hooks:` list and the `hooks_stream:` mapping of the policy YAML
/// (``HookSettings/parse(yaml:source:)``), validated once, then compiled by ``HookRunner``.
/// `docs/hooks.md` describes every key.
public struct HookSettings: Sendable, Equatable {
    /// The hooks, in the order of the policy file.
    public var hooks: [HookConfiguration] = []
    /// How streamed answers are cut into windows for the hooks.
    public var stream = StreamSettings()

    public init(hooks: [HookConfiguration] = [], stream: StreamSettings = StreamSettings()) {
        self.hooks = hooks
        self.stream = stream
    }

    /// Windowing of streamed answers (see ``HookStreamWindow``).
    public struct StreamSettings: Sendable, Equatable {
        /// `hold`: an answer's text is held until its window's verdict (safe, adds latency per
        /// window). `async`: text flows while its window is classified; an unsafe verdict cuts
        /// the stream, so up to one window may reach the client first.
        public var mode: HookStreamWindow.Mode = .hold
        /// Characters (Unicode scalars) per window; the last window is whatever remains.
        public var windowCharacters = 400
        /// Characters of the previous windows sent along with each window, so a phrase cut by
        /// a window boundary is still seen whole.
        public var contextCharacters = 100

        public init(mode: HookStreamWindow.Mode = .hold, windowCharacters: Int = 400, contextCharacters: Int = 100) {
            self.mode = mode
            self.windowCharacters = windowCharacters
            self.contextCharacters = contextCharacters
        }
    }
}

/// One classifier hook: where it is, what it screens, how its answer maps to Menshen's
/// categories and actions, and — always explicitly — what happens when it fails.
public struct HookConfiguration: Sendable, Equatable {
    /// Unique name, used in metrics labels, audit records and `next:` references.
    public var name: String
    public var kind: Kind
    /// The endpoint Menshen POSTs to (the full URL, e.g. `http://127.0.0.1:8001/v1/chat/completions`).
    public var url: String
    /// `model` field of the request (openai-moderation, chat-guard).
    public var model: String?
    /// Answer format of a `chat-guard` hook.
    public var format: GuardFormat?
    /// How a `chat-guard` request is built: chat messages (the model's chat template builds
    /// the guard prompt) or a raw prompt rendered by Menshen for a completions endpoint.
    public var prompt: GuardPrompt = .chat
    /// chat-guard: ask for log-probabilities and turn them into a score instead of 0 or 1.
    public var logprobs = false
    /// qwen3-guard: the score `Safety: Controversial` stands for.
    public var controversialScore = 0.5
    /// Extra request headers; values may come from the environment or a file (secrets).
    public var headers: [Header] = []
    /// The directions the hook screens.
    public var directions: Set<Direction> = [.input, .output]
    /// Input message roles the hook screens (`nil`: every role). Answers are always `assistant`.
    public var roles: Set<String>?
    /// Bounds the hook's whole contribution to latency: waiting for a free slot plus the call.
    public var timeout: Duration = .seconds(2)
    /// What a failed, timed-out, saturated or circuit-broken call means. Required: no default.
    public var onFailure: FailureMode
    /// Most calls in flight at once; when all are busy a call waits (within `timeout`).
    public var maxConcurrent = 16
    public var cache = Cache()
    public var circuitBreaker = CircuitBreakerSettings()
    /// When the hook runs, relative to the lexicon's verdict.
    public var when: When = .always
    /// Score at or above which the hook's overall verdict fires.
    public var threshold = 0.5
    /// The action of the overall verdict.
    public var action: Action = .block
    /// The Menshen category of the overall verdict (default `hook.<name>`).
    public var category: String?
    /// Per hook-category mapping; the key `*` applies to every category not named.
    public var categories: [String: CategoryMapping] = [:]
    /// Cascade: the larger hook that decides when this one is unsure.
    public var next: String?
    /// Cascade: below this score this hook decides alone (clearly safe).
    public var decideBelow: Double?
    /// Cascade: at or above this score this hook decides alone (clearly unsafe).
    public var decideAbove: Double?

    public init(name: String, kind: Kind, url: String, onFailure: FailureMode) {
        self.name = name
        self.kind = kind
        self.url = url
        self.onFailure = onFailure
    }

    public enum Kind: String, Sendable, CaseIterable {
        /// OpenAI `/v1/moderations`: `{"input", "model"}` → `results[0].category_scores`.
        case openAIModeration = "openai-moderation"
        /// A guard model behind an OpenAI-compatible chat endpoint (vLLM, Ollama).
        case chatGuard = "chat-guard"
        /// Menshen's own JSON contract (docs/hooks.md).
        case webhook
    }

    public enum GuardFormat: String, Sendable, CaseIterable {
        /// `safe` | `unsafe\nS1,S10`.
        case llamaGuard3 = "llama-guard-3"
        /// `Safety: Safe|Unsafe|Controversial` and `Categories: …`.
        case qwen3Guard = "qwen3-guard"
    }

    public enum GuardPrompt: String, Sendable, CaseIterable {
        /// `messages` to a chat endpoint; the served model's chat template builds the prompt.
        case chat
        /// A prompt rendered by Menshen, sent as `prompt` to a completions endpoint.
        case raw
    }

    /// Fail-open or fail-closed.
    public enum FailureMode: String, Sendable, CaseIterable {
        /// The text passes as if the hook had said "safe" (the failure is still recorded).
        case allow
        /// The text is blocked with category `hook-failure:<name>`.
        case block
    }

    /// When a hook runs, relative to the lexicon scan.
    public enum When: String, Sendable, CaseIterable {
        /// Always, concurrently with the lexicon scan.
        case always
        /// Only when the lexicon found nothing (its decision is `allow`): a second opinion.
        case lexiconClean = "lexicon_clean"
        /// Only when the lexicon flagged, masked or blocked: a confirmation.
        case lexiconFlagged = "lexicon_flagged"
    }

    /// One request header. `value` is literal, or read from the environment or a file when
    /// the hooks are compiled, so secrets need not be written in the policy file.
    public struct Header: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case literal(String)
            case environment(String)
            case file(String)
        }
        public var name: String
        public var source: Source
        /// Put before the resolved value (`Bearer `).
        public var prefix = ""
        public init(name: String, source: Source, prefix: String = "") {
            self.name = name
            self.source = source
            self.prefix = prefix
        }
    }

    /// The verdict cache, keyed by a SHA-256 of what is sent (text, role, direction…).
    public struct Cache: Sendable, Equatable {
        /// Most verdicts kept; 0 turns the cache off.
        public var size = 10_000
        public var ttl: Duration = .seconds(600)
        public init(size: Int = 10_000, ttl: Duration = .seconds(600)) {
            self.size = size
            self.ttl = ttl
        }
    }

    /// After `failures` consecutive failures the hook is skipped for `coolDown` (its
    /// `on_failure` applies), then one probe call decides whether it is back.
    public struct CircuitBreakerSettings: Sendable, Equatable {
        /// 0 turns the breaker off.
        public var failures = 5
        public var coolDown: Duration = .seconds(30)
        public init(failures: Int = 5, coolDown: Duration = .seconds(30)) {
            self.failures = failures
            self.coolDown = coolDown
        }
    }

    /// How one of the hook's categories becomes a Menshen category and action.
    public struct CategoryMapping: Sendable, Equatable {
        /// Menshen category (default `hook.<name>.<hook category>`).
        public var category: String?
        /// Default: the hook's `threshold`.
        public var threshold: Double?
        /// Default: the hook's `action`. `shadow` records without effect.
        public var action: Action?
        public init(category: String? = nil, threshold: Double? = nil, action: Action? = nil) {
            self.category = category
            self.threshold = threshold
            self.action = action
        }
    }

    /// The Menshen category of the overall verdict.
    public var overallCategory: String { category ?? "hook.\(name)" }
    /// The category of a failure with `on_failure: block`.
    public var failureCategory: String { "hook-failure:\(name)" }
}
