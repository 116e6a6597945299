import Screening

/// One text to classify.
public struct HookInput: Sendable, Equatable {
    public var text: String
    public var direction: Direction
    /// The message role on input (`user`, `tool`, `system`…); `assistant` for answers.
    public var role: String
    /// The request id, passed to webhook hooks and logged.
    public var requestID: String
    /// For answers: the prompt they answer. A chat guard classifies the answer in that
    /// conversation (`nil`: the answer alone).
    public var prompt: String?

    public init(text: String, direction: Direction, role: String? = nil, requestID: String, prompt: String? = nil) {
        self.text = text
        self.direction = direction
        self.role = role ?? (direction == .output ? "assistant" : "user")
        self.requestID = requestID
        self.prompt = prompt
    }
}

/// What the lexicon scan found, as far as hooks care: for `when:` and for webhook requests.
public struct LexiconSummary: Sendable, Equatable {
    public var decision: Decision
    /// Categories of the rules that fired (shadow ones excluded), without duplicates.
    public var categories: [String]

    public init(decision: Decision, categories: [String]) {
        self.decision = decision
        self.categories = categories
    }

    public static let clean = LexiconSummary(decision: .allow, categories: [])
}

/// A classifier's answer, normalized across kinds. Scores run from 0 (safe) to 1 (unsafe).
public struct HookVerdict: Sendable, Equatable {
    /// The overall score: the classifier's own (webhook), the highest category score
    /// (openai-moderation), or 0 / 1 (a guard's safe / unsafe; log-probabilities if asked).
    public var score: Double
    /// The classifier's categories and their scores (`S1`, `violence`, `Jailbreak`…).
    public var categories: [String: Double]
    /// The classifier's own yes/no, when it gives one (recorded for audit).
    public var flagged: Bool?
    /// An action the classifier asks for (webhook only); replaces the `threshold` test.
    public var action: Action?
    /// Allow, spelled out by the classifier (webhook `"action": "allow"`).
    public var explicitAllow = false
    /// The classifier's explanation, if any (webhook `reason`, a guard's raw answer).
    public var reason: String?

    public init(score: Double, categories: [String: Double] = [:], flagged: Bool? = nil, action: Action? = nil,
                explicitAllow: Bool = false, reason: String? = nil) {
        self.score = score
        self.categories = categories
        self.flagged = flagged
        self.action = action
        self.explicitAllow = explicitAllow
        self.reason = reason
    }
}

/// Why a hook gave no verdict. A value, reported in the outcome; the hook's `on_failure`
/// decides what it means for the text.
public struct HookFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Payload-free, usable as a metric label (`menshen_hook_failures_total{kind}`).
    public enum Kind: String, Sendable, CaseIterable {
        /// No answer within the hook's `timeout`.
        case timeout
        /// Connection refused, reset or closed before an answer.
        case connection
        /// A non-2xx status (see ``HookFailure/status``).
        case httpStatus = "http_status"
        /// The body is not JSON, or too large.
        case malformed
        /// JSON (or a guard answer) that does not have the expected shape.
        case unexpectedAnswer = "unexpected_answer"
        /// Every slot (`max_concurrent`) was busy when the call arrived, and the `timeout`
        /// passed (waiting plus calling) before an answer.
        case saturated
        /// Skipped: the circuit breaker is open after repeated failures.
        case circuitOpen = "circuit_open"
        /// The request was cancelled (the client went away); not counted by the breaker.
        case cancelled
    }

    public let kind: Kind
    public let message: String
    /// The HTTP status, for `.httpStatus`.
    public let status: Int?

    public init(_ kind: Kind, _ message: String, status: Int? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Whether the failure is the hook's doing (counts towards opening its circuit).
    var countsAgainstHook: Bool {
        switch kind {
        case .timeout, .connection, .httpStatus, .malformed, .unexpectedAnswer: return true
        case .saturated, .circuitOpen, .cancelled: return false
        }
    }
}

/// One hook consulted for one text, for audit.
public struct HookCall: Sendable, Equatable {
    public enum Result: Sendable, Equatable {
        case verdict(HookVerdict)
        case failure(HookFailure)
    }

    public let hook: String
    /// Wall time of this call (0 for a cache hit or an open circuit, near enough).
    public let latency: Duration
    public let result: Result
    /// Answered from the verdict cache: no request was sent.
    public let cached: Bool
    /// Cascade: this hook was unsure and handed the text to ``escalatedTo``.
    public let escalatedTo: String?
    /// For a failure: the `on_failure` that was applied.
    public let appliedFailureMode: HookConfiguration.FailureMode?

    public init(hook: String, latency: Duration, result: Result, cached: Bool = false, escalatedTo: String? = nil,
                appliedFailureMode: HookConfiguration.FailureMode? = nil) {
        self.hook = hook
        self.latency = latency
        self.result = result
        self.cached = cached
        self.escalatedTo = escalatedTo
        self.appliedFailureMode = appliedFailureMode
    }

    public var verdict: HookVerdict? { if case .verdict(let v) = result { return v } else { return nil } }
    public var failure: HookFailure? { if case .failure(let f) = result { return f } else { return nil } }
}

/// A Menshen category that a hook's verdict (or failure) fired.
public struct HookMatch: Sendable, Equatable {
    public let hook: String
    /// The Menshen category (`violence`, `hook.guard`, `hook-failure:guard`).
    public let category: String
    /// The hook's own category it came from (`S1`), `nil` for the overall verdict or a failure.
    public let hookCategory: String?
    /// The score that crossed the threshold; `nil` for a failure or an action named by the hook.
    public let score: Double?
    public let action: Action

    public init(hook: String, category: String, hookCategory: String?, score: Double?, action: Action) {
        self.hook = hook
        self.category = category
        self.hookCategory = hookCategory
        self.score = score
        self.action = action
    }
}

/// Everything the hooks said about one text (or one prompt's messages).
public struct HookOutcome: Sendable, Equatable {
    /// The strongest decision of the matches (`allow` when none).
    public var decision: Decision
    /// Categories fired, shadow ones included (they do not change the decision).
    public var matches: [HookMatch]
    /// Every hook consulted, in configuration order, cascade steps in order.
    public var calls: [HookCall]

    public init(matches: [HookMatch] = [], calls: [HookCall] = []) {
        self.matches = matches
        self.calls = calls
        self.decision = matches.reduce(Decision.allow) { max($0, Decision($1.action)) }
    }

    public static let empty = HookOutcome()

    /// The failures among the calls (reported whatever their `on_failure`).
    public var failures: [(hook: String, failure: HookFailure)] {
        calls.compactMap { c in c.failure.map { (c.hook, $0) } }
    }

    /// Categories of the matches that change the decision, without duplicates, in order.
    public var categories: [String] {
        var seen = Set<String>()
        return matches.filter { $0.action != .shadow && seen.insert($0.category).inserted }.map(\.category)
    }

    /// Both outcomes together (e.g. several messages of one prompt).
    public func merged(with other: HookOutcome) -> HookOutcome {
        HookOutcome(matches: matches + other.matches, calls: calls + other.calls)
    }
}
