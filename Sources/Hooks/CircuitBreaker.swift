/// Stops calling a hook that keeps failing, and tries it again later with one probe.
///
/// ```
///            failures < N                         cool-down over: one probe
///   closed ───────────────► closed      open ─────────────────────────────► halfOpen(probing)
///     │ N-th consecutive failure ▲        ▲ probe fails                       │
///     └──────────────────────────┼────────┴───────────────────────────────────┤
///                                └──────────── probe succeeds ────────────────┘
/// ```
///
/// A pure state machine: every event takes the current time, so tests drive time without
/// sleeping and the caller owns the clock. Not thread-safe by itself; ``HookRunner`` keeps it
/// behind a lock.
public struct CircuitBreaker<Instant: InstantProtocol>: Sendable where Instant: Sendable, Instant.Duration == Swift.Duration {
    public enum State: Sendable, Equatable {
        /// Calls go through; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Calls are skipped until `until`.
        case open(until: Instant)
        /// The cool-down is over; `probing` while the one probe call is in flight.
        case halfOpen(probing: Bool)
    }

    /// What the caller does with a call.
    public enum Admission: Sendable, Equatable {
        /// Make the call.
        case call
        /// Make the call; it is the probe that decides whether the circuit closes.
        case probe
        /// Do not call: the circuit is open (or a probe is already in flight).
        case reject
    }

    public let failureThreshold: Int
    public let coolDown: Duration
    public private(set) var state: State = .closed(failures: 0)

    /// `failureThreshold` 0 never opens.
    public init(failureThreshold: Int, coolDown: Duration) {
        self.failureThreshold = failureThreshold
        self.coolDown = coolDown
    }

    /// Before a call.
    public mutating func admit(now: Instant) -> Admission {
        switch state {
        case .closed:
            return .call
        case .open(let until):
            guard now >= until else { return .reject }
            state = .halfOpen(probing: true)
            return .probe
        case .halfOpen(let probing):
            guard !probing else { return .reject }
            state = .halfOpen(probing: true)
            return .probe
        }
    }

    /// A call (or the probe) got an answer.
    public mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    /// A call (or the probe) failed in a way that is the hook's doing.
    public mutating func recordFailure(now: Instant) {
        switch state {
        case .closed(let failures):
            let count = failures + 1
            if failureThreshold > 0 && count >= failureThreshold {
                state = .open(until: now.advanced(by: coolDown))
            } else {
                state = .closed(failures: count)
            }
        case .halfOpen:
            state = .open(until: now.advanced(by: coolDown))
        case .open:
            // A call admitted before the circuit opened finished late: the circuit stays open
            // as it is (its cool-down is not extended by stragglers).
            break
        }
    }

    /// An admitted probe ended without telling anything about the hook (no slot free, or the
    /// request was cancelled): let the next call probe instead.
    public mutating func abandonProbe() {
        if case .halfOpen(probing: true) = state { state = .halfOpen(probing: false) }
    }

    public var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }
}
