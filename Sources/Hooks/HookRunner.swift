import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Screening

/// Runs the configured classifier hooks on a text and says what they decided.
///
/// The main flow, for one text: every hook that screens its direction and role (and is not
/// the `next` of another) runs concurrently; each may first wait for the lexicon's verdict
/// (`when:`); then, per hook, the verdict cache → the circuit breaker → a concurrency slot →
/// the HTTP call, all within the hook's `timeout`; an unsure score in a cascade goes on to
/// the `next` hook. Failures never throw: they become the hook's `on_failure` and are listed
/// in ``HookOutcome/calls``.
///
/// ```swift
/// let client = HookRunner.makeHTTPClient(for: settings)
/// let runner = try HookRunner(settings: settings, httpClient: client, logger: logger)
/// let outcome = await runner.evaluate(
///     HookInput(text: answer, direction: .output, requestID: id),
///     lexicon: LexiconSummary(decision: screened.decision, categories: …))
/// if outcome.decision == .block { … }      // outcome.calls → audit
/// ```
/// Build one runner per policy snapshot; it keeps per-hook state (breaker, cache, slots).
/// The HTTP client is the caller's: it outlives reloads and is shut down by the caller.
public final class HookRunner: Sendable {
    public let settings: HookSettings
    let hooks: [CompiledHook]
    /// Hooks that start a cascade (every hook that is not some hook's `next`).
    let roots: [Int]
    let client: HTTPClient
    let now: @Sendable () -> ContinuousClock.Instant
    let logger: Logger

    /// Compiles the hooks: resolves header secrets (environment, files) and links cascades.
    /// Throws with every problem named (`hooks[0].headers.Authorization: …`).
    ///
    /// - Parameters:
    ///   - now: the clock of the circuit breakers and the cache TTL (tests drive it by hand).
    ///     Timeouts always use the real continuous clock.
    ///   - metrics: where `menshen_hook_*` metrics go (default: the bootstrapped system).
    public init(settings: HookSettings, httpClient: HTTPClient,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                readFile: @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) },
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
                metrics: (any MetricsFactory)? = nil,
                logger: Logger = Logger(label: "menshen.hooks")) throws(HookConfigurationError) {
        var problems: [String] = []
        var compiled: [CompiledHook] = []
        let names = Dictionary(settings.hooks.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, hook) in settings.hooks.enumerated() {
            var headers: [(String, String)] = []
            for h in hook.headers {
                let key = "hooks[\(i)].headers.\(h.name)"
                switch h.source {
                case .literal(let v): headers.append((h.name, h.prefix + v))
                case .environment(let variable):
                    if let v = environment[variable], !v.isEmpty { headers.append((h.name, h.prefix + v)) } else {
                        problems.append("\(key): environment variable \(variable) is not set")
                    }
                case .file(let path):
                    if let v = readFile(path)?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty {
                        headers.append((h.name, h.prefix + v))
                    } else {
                        problems.append("\(key): cannot read a value from \(path)")
                    }
                }
            }
            var next: Int?
            if let n = hook.next {
                if let j = names[n] { next = j } else { problems.append("hooks[\(i)].next: no hook is named '\(n)'") }
            }
            compiled.append(CompiledHook(configuration: hook, index: i, next: next, headers: headers,
                                         metrics: HookMetrics(hook: hook.name, factory: metrics ?? MetricsSystem.factory)))
        }
        if !problems.isEmpty { throw HookConfigurationError(problems: problems) }
        let targets = Set(compiled.compactMap(\.next))
        self.settings = settings
        self.hooks = compiled
        self.roots = compiled.indices.filter { !targets.contains($0) }
        self.client = httpClient
        self.now = now
        self.logger = logger
    }

    /// An HTTP client suited to hooks: a pool as large as the hooks' slots, no connection
    /// retries (a refused connection fails at once instead of using up the timeout), no
    /// redirects. The caller shuts it down.
    /// `minimumSlots` leaves room for hooks a later reload adds.
    public static func makeHTTPClient(for settings: HookSettings, minimumSlots: Int = 1,
                                      eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        let slots = max(minimumSlots, settings.hooks.reduce(0) { $0 + $1.maxConcurrent })
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: slots)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Whether any hook would screen a text of this direction (and role, if given): lets the
    /// proxy skip collecting texts — or windowing a stream — when none would.
    public func screens(direction: Direction, role: String? = nil) -> Bool {
        roots.contains { r in
            let c = hooks[r].configuration
            guard let role else { return c.directions.contains(direction) }
            return c.screens(HookInput(text: "", direction: direction, role: role, requestID: ""))
        }
    }

    /// No hooks are configured.
    public var isEmpty: Bool { hooks.isEmpty }

    // MARK: Evaluation

    /// Classifies one text whose lexicon verdict is known (answers, stream windows).
    public func evaluate(_ input: HookInput, lexicon: LexiconSummary) async -> HookOutcome {
        await evaluate(input, lexicon: LexiconSignal(lexicon))
    }

    /// Classifies one text while the lexicon scan may still be running.
    public func evaluate(_ input: HookInput, lexicon: LexiconSignal) async -> HookOutcome {
        await evaluate([input], lexicon: lexicon)
    }

    /// Classifies several texts (a prompt's messages) concurrently, one outcome for all.
    /// Earlier turns of a conversation are usually answered by the cache.
    public func evaluate(_ inputs: [HookInput], lexicon: LexiconSignal) async -> HookOutcome {
        var jobs: [(order: Int, root: Int, input: HookInput)] = []
        for (n, input) in inputs.enumerated() {
            for r in roots where hooks[r].configuration.screens(input) { jobs.append((n * hooks.count + r, r, input)) }
        }
        switch jobs.count {
        case 0: return .empty
        case 1: return await runCascade(from: jobs[0].root, jobs[0].input, lexicon: lexicon)
        default:
            return await withTaskGroup(of: (Int, HookOutcome).self) { group in
                for job in jobs {
                    group.addTask { (job.order, await self.runCascade(from: job.root, job.input, lexicon: lexicon)) }
                }
                var results: [(Int, HookOutcome)] = []
                for await r in group { results.append(r) }
                return results.sorted { $0.0 < $1.0 }.reduce(HookOutcome.empty) { $0.merged(with: $1.1) }
            }
        }
    }

    /// One root hook and, while it is unsure, the hooks after it.
    func runCascade(from root: Int, _ input: HookInput, lexicon: LexiconSignal) async -> HookOutcome {
        let first = hooks[root].configuration
        if first.when != .always {
            guard let summary = await lexicon.value else { return .empty }       // cancelled while waiting
            let flagged = summary.decision != .allow
            if (first.when == .lexiconClean && flagged) || (first.when == .lexiconFlagged && !flagged) { return .empty }
        }
        var calls: [HookCall] = []
        var current = root
        // Bounded: the loader rejects cycles, so a cascade visits each hook at most once.
        for _ in 0..<hooks.count {
            let hook = hooks[current]
            let config = hook.configuration
            let (result, latency, cached) = await consult(hook, input, lexicon: lexicon.current)
            switch result {
            case .failure(let failure):
                calls.append(HookCall(hook: config.name, latency: latency, result: result, appliedFailureMode: config.onFailure))
                logger.debug("hook failed", metadata: ["request_id": "\(input.requestID)", "hook": "\(config.name)",
                                                       "failure": "\(failure)", "on_failure": "\(config.onFailure.rawValue)"])
                guard config.onFailure == .block else { return HookOutcome(calls: calls) }
                return HookOutcome(matches: [HookMatch(hook: config.name, category: config.failureCategory, hookCategory: nil,
                                                       score: nil, action: .block)], calls: calls)
            case .verdict(let verdict):
                if config.escalates(verdict.score), let next = hook.next {
                    calls.append(HookCall(hook: config.name, latency: latency, result: result, cached: cached,
                                          escalatedTo: hooks[next].configuration.name))
                    current = next
                    continue
                }
                calls.append(HookCall(hook: config.name, latency: latency, result: result, cached: cached))
                return HookOutcome(matches: config.matches(for: verdict), calls: calls)
            }
        }
        preconditionFailure("cascade from hook '\(first.name)' did not end within \(hooks.count) steps: a cycle passed validation")
    }
}

/// One hook, compiled: resolved headers, its adapter, and its runtime state.
final class CompiledHook: Sendable {
    let configuration: HookConfiguration
    let index: Int
    let next: Int?
    let headers: [(String, String)]
    let adapter: any HookAdapter
    let breaker: NIOLockedValueBox<CircuitBreaker<ContinuousClock.Instant>>
    let cache: VerdictCache
    let limiter: ConcurrencyLimiter
    let metrics: HookMetrics

    init(configuration: HookConfiguration, index: Int, next: Int?, headers: [(String, String)], metrics: HookMetrics) {
        self.configuration = configuration
        self.index = index
        self.next = next
        self.headers = headers
        self.adapter = configuration.makeAdapter()
        self.breaker = NIOLockedValueBox(CircuitBreaker(failureThreshold: configuration.circuitBreaker.failures,
                                                        coolDown: configuration.circuitBreaker.coolDown))
        self.cache = VerdictCache(capacity: configuration.cache.size, ttl: configuration.cache.ttl)
        self.limiter = ConcurrencyLimiter(limit: configuration.maxConcurrent)
        self.metrics = metrics
    }
}
