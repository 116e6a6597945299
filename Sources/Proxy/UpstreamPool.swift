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

    /// A request waiting for a slot on a saturated upstream.
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
        /// Gives up after the upstream's queue wait; cancelled when a slot is handed over.
        var timer: Task<Void, Never>?
    }

    private struct State {
        var inFlight = 0
        var consecutiveFailures = 0
        var unhealthyUntil: ContinuousClock.Instant?
        /// First come, first served: a released slot goes to the longest waiter.
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
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
            // Saturated: wait up to the queue wait for a released slot, then overflow to the next.
            if await waitForSlot(i, within: upstream.queueWait) { return Lease(index: i, upstream: upstream) }
        }
        return nil
    }

    /// Queues for a slot on upstream `i`; true when a released slot was handed over (the
    /// in-flight count already includes it), false after `wait` or on cancellation.
    private func waitForSlot(_ i: Int, within wait: Duration) async -> Bool {
        let id = states[i].withLockedValue { s -> UInt64 in s.nextWaiterID += 1; return s.nextWaiterID }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let takenAtOnce = states[i].withLockedValue { s -> Bool in
                    if s.inFlight < upstreams[i].maxInFlight { s.inFlight += 1; return true }   // freed meanwhile
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if takenAtOnce { continuation.resume(returning: true); return }
                let timer = Task { [self] in
                    try? await Task.sleep(for: wait)
                    abandon(i, id)
                }
                let handedOver = states[i].withLockedValue { s -> Bool in
                    guard let k = s.waiters.firstIndex(where: { $0.id == id }) else { return true }
                    s.waiters[k].timer = timer
                    return false
                }
                if handedOver { timer.cancel() }
            }
        } onCancel: {
            abandon(i, id)
        }
    }

    /// Takes waiter `id` out of the queue (its wait is over) and tells it no slot came.
    private func abandon(_ i: Int, _ id: UInt64) {
        let waiter = states[i].withLockedValue { s -> Waiter? in
            guard let k = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return s.waiters.remove(at: k)
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: false)
    }

    func release(_ lease: Lease, _ outcome: Outcome) {
        let next = states[lease.index].withLockedValue { s -> Waiter? in
            // The slot goes straight to the longest waiter, if any (the count stays as it is).
            let next: Waiter? = s.waiters.isEmpty ? nil : s.waiters.removeFirst()
            if next == nil { s.inFlight -= 1 }
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
            return next
        }
        next?.timer?.cancel()
        next?.continuation.resume(returning: true)
    }

    /// In-flight and queued counts and health, for tests.
    func snapshot() -> [(name: String, inFlight: Int, waiting: Int, healthy: Bool)] {
        upstreams.indices.map { i in
            let (inFlight, waiting) = states[i].withLockedValue { ($0.inFlight, $0.waiters.count) }
            return (upstreams[i].name, inFlight, waiting, isHealthy(i))
        }
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
