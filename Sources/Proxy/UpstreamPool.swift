import Foundation
import NIOConcurrencyHelpers

/// Whether an upstream runs inside the data centre. A request routed to an `external`
/// upstream always goes through desensitization, whatever the policy says for internal ones.
public enum Trust: String, Sendable, Equatable {
    case `internal`, external
}

/// One named model server.
public struct UpstreamConfiguration: Sendable, Equatable {
    public var name: String
    public var url: String
    public var trust: Trust = .internal
    /// Requests in flight at most; the next one waits up to `queueWait`, then overflows.
    public var maxInFlight = 256
    public var queueWait: Duration = .milliseconds(50)
    /// Model names rewritten on the way to this upstream (`qwen-idc` → `qwen2.5-72b-instruct`).
    public var modelMap: [String: String] = [:]
    /// Name of the environment variable holding this upstream's API key (`api_key_env`). When
    /// set, Menshen sends `Authorization: Bearer <key>` to it instead of the client's credentials.
    public var apiKeyEnv: String?
    /// The key read from `apiKeyEnv` at start-up (never logged).
    public var apiKey: String?

    public init(name: String, url: String, trust: Trust = .internal) {
        self.name = name
        self.url = url
        self.trust = trust
    }
}

/// Routes requests over ordered upstreams: the first (primary) serves while it has capacity and
/// is healthy; when it is saturated (in-flight limit reached and the queue wait exceeded) or
/// unhealthy (consecutive connect failures or 5xx answers), requests overflow to the next.
final class UpstreamPool: Sendable {
    struct Health: Sendable, Equatable {
        /// Consecutive failures after which an upstream is skipped for `cooldown`.
        var failureThreshold = 3
        var cooldown: Duration = .seconds(10)
    }

    private struct State {
        var inFlight = 0
        var consecutiveFailures = 0
        var unhealthyUntil: ContinuousClock.Instant?
    }

    let upstreams: [UpstreamConfiguration]
    let health: Health
    private let states: [NIOLockedValueBox<State>]

    init(upstreams: [UpstreamConfiguration], health: Health = Health()) {
        self.upstreams = upstreams.map { u in
            var u = u
            while u.url.hasSuffix("/") { u.url.removeLast() }
            return u
        }
        self.health = health
        states = upstreams.map { _ in NIOLockedValueBox(State()) }
    }

    /// A reserved slot on one upstream; give it back with ``release(_:)``.
    struct Lease: Sendable {
        let index: Int
        let upstream: UpstreamConfiguration
    }

    enum Outcome { case success, failure }

    /// A slot on the first upstream (in order, skipping `excluded`) that is healthy and has
    /// capacity, waiting up to each one's queue wait; nil when none has.
    func acquire(excluding excluded: Set<Int> = []) async -> Lease? {
        for (i, upstream) in upstreams.enumerated() where !excluded.contains(i) {
            guard isHealthy(i) else { continue }
            if tryTake(i) { return Lease(index: i, upstream: upstream) }
            // Saturated: wait a short while for a slot before overflowing to the next upstream.
            let deadline = ContinuousClock.now + upstream.queueWait
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(1))
                if tryTake(i) { return Lease(index: i, upstream: upstream) }
            }
        }
        return nil
    }

    func release(_ lease: Lease, _ outcome: Outcome) {
        states[lease.index].withLockedValue { s in
            s.inFlight -= 1
            switch outcome {
            case .success:
                s.consecutiveFailures = 0
                s.unhealthyUntil = nil
            case .failure:
                s.consecutiveFailures += 1
                if s.consecutiveFailures >= health.failureThreshold {
                    s.unhealthyUntil = ContinuousClock.now + health.cooldown
                }
            }
        }
    }

    /// In-flight counts and health, for `/admin/upstreams` and tests.
    func snapshot() -> [(name: String, inFlight: Int, healthy: Bool)] {
        upstreams.indices.map { i in (upstreams[i].name, states[i].withLockedValue { $0.inFlight }, isHealthy(i)) }
    }

    private func isHealthy(_ i: Int) -> Bool {
        states[i].withLockedValue { s in
            guard let until = s.unhealthyUntil else { return true }
            if ContinuousClock.now >= until {
                // Cool-down over: let traffic probe it again (one more failure re-opens it).
                s.unhealthyUntil = nil
                s.consecutiveFailures = health.failureThreshold - 1
                return true
            }
            return false
        }
    }

    private func tryTake(_ i: Int) -> Bool {
        states[i].withLockedValue { s in
            guard s.inFlight < upstreams[i].maxInFlight else { return false }
            s.inFlight += 1
            return true
        }
    }
}
