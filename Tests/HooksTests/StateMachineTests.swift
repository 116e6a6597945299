@testable import Hooks
import Screening
import Testing

/// The circuit breaker and the concurrency limiter, driven directly.
struct CircuitBreakerTests {
    typealias Breaker = CircuitBreaker<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    @Test func opensAfterConsecutiveFailures() {
        var b = Breaker(failureThreshold: 3, coolDown: .seconds(30))
        for _ in 0..<2 {
            #expect(b.admit(now: t0) == .call)
            b.recordFailure(now: t0)
        }
        #expect(b.state == .closed(failures: 2))
        b.recordSuccess()                                    // a success resets the count
        #expect(b.state == .closed(failures: 0))
        for _ in 0..<3 { _ = b.admit(now: t0); b.recordFailure(now: t0) }
        #expect(b.state == .open(until: t0 + .seconds(30)))
        #expect(b.admit(now: t0 + .seconds(29)) == .reject)
    }

    @Test func halfOpenAllowsOneProbe() {
        var b = Breaker(failureThreshold: 1, coolDown: .seconds(10))
        b.recordFailure(now: t0)
        let later = t0 + .seconds(10)
        #expect(b.admit(now: later) == .probe)
        #expect(b.admit(now: later) == .reject, "one probe at a time")
        b.recordSuccess()
        #expect(b.state == .closed(failures: 0))
        #expect(b.admit(now: later) == .call)
    }

    @Test func failedProbeReopens() {
        var b = Breaker(failureThreshold: 1, coolDown: .seconds(10))
        b.recordFailure(now: t0)
        let later = t0 + .seconds(11)
        #expect(b.admit(now: later) == .probe)
        b.recordFailure(now: later)
        #expect(b.state == .open(until: later + .seconds(10)))
    }

    @Test func abandonedProbeLetsTheNextCallProbe() {
        var b = Breaker(failureThreshold: 1, coolDown: .seconds(10))
        b.recordFailure(now: t0)
        #expect(b.admit(now: t0 + .seconds(10)) == .probe)
        b.abandonProbe()
        #expect(b.state == .halfOpen(probing: false))
        #expect(b.admit(now: t0 + .seconds(10)) == .probe)
    }

    @Test func zeroThresholdNeverOpens() {
        var b = Breaker(failureThreshold: 0, coolDown: .seconds(10))
        for _ in 0..<100 { b.recordFailure(now: t0) }
        #expect(b.admit(now: t0) == .call)
    }
}

struct ConcurrencyLimiterTests {
    @Test func waitersGetSlotsInOrderAndCancellationFreesTheirPlace() async {
        let limiter = ConcurrencyLimiter(limit: 1)
        #expect(await limiter.acquire() == .immediate)
        let cancelled = Task { await limiter.acquire() }
        cancelled.cancel()
        #expect(await cancelled.value == .cancelled)
        let waiter = Task { await limiter.acquire() }
        // Bounded: the waiter queues within a few scheduling rounds.
        for _ in 0..<100_000 {
            if limiter.waiting > 0 { break }
            await Task.yield()
        }
        #expect(limiter.waiting == 1)
        limiter.release()                                   // handed straight to the waiter
        #expect(await waiter.value == .afterWaiting)
        #expect(limiter.inUse == 1)
        limiter.release()
        #expect(limiter.inUse == 0)
    }
}
