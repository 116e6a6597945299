import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Screening

extension HookRunner {
    /// Largest answer body read from a hook; a larger one is a `malformed` failure.
    static let maximumAnswerBytes = 1 << 20

    /// One hook for one text: cache → circuit breaker → the call; records metrics and feeds
    /// the breaker. Returns the result, its latency and whether the cache answered.
    func consult(_ hook: CompiledHook, _ input: HookInput, lexicon: LexiconSummary?) async -> (HookCall.Result, Duration, Bool) {
        let clock = ContinuousClock()
        let started = clock.now
        let sentLexicon = hook.adapter.sendsLexicon ? lexicon : nil
        let key = hook.cache.isEnabled ? VerdictCache.key(hook: hook.configuration.name, input: input, lexicon: sentLexicon) : nil
        if let key, let verdict = hook.cache.get(key, now: now()) {
            hook.metrics.calls[.cached]?.increment()
            return (.verdict(verdict), clock.now - started, true)
        }
        let admission = hook.breaker.withLockedValue { $0.admit(now: now()) }
        if admission == .reject {
            let failure = HookFailure(.circuitOpen, "skipped: \(hook.configuration.circuitBreaker.failures) consecutive failures opened the circuit")
            record(failure, hook)
            return (.failure(failure), clock.now - started, false)
        }
        let result = await call(hook, input, lexicon: sentLexicon)
        let latency = clock.now - started
        hook.metrics.duration.recordNanoseconds(Self.nanoseconds(latency))
        switch result {
        case .success(let verdict):
            let reopened = hook.breaker.withLockedValue { b -> Bool in
                let was = b.isOpen
                b.recordSuccess()
                return was
            }
            if reopened { logger.notice("hook circuit closed: the probe call succeeded", metadata: ["hook": "\(hook.configuration.name)"]) }
            if let key { hook.cache.put(key, verdict, now: now()) }
            hook.metrics.calls[.ok]?.increment()
            return (.verdict(verdict), latency, false)
        case .failure(let failure):
            if failure.countsAgainstHook {
                let opened = hook.breaker.withLockedValue { b -> Bool in
                    let was = b.isOpen
                    b.recordFailure(now: now())
                    return !was && b.isOpen
                }
                if opened {
                    logger.warning("hook circuit opened: skipping the hook, applying on_failure",
                                   metadata: ["hook": "\(hook.configuration.name)", "on_failure": "\(hook.configuration.onFailure.rawValue)",
                                              "cool_down": "\(hook.configuration.circuitBreaker.coolDown)", "last_failure": "\(failure)"])
                }
            } else if admission == .probe {
                hook.breaker.withLockedValue { $0.abandonProbe() }
            }
            record(failure, hook)
            return (.failure(failure), latency, false)
        }
    }

    private func record(_ failure: HookFailure, _ hook: CompiledHook) {
        hook.metrics.calls[.failure]?.increment()
        hook.metrics.failures[failure.kind]?.increment()
    }

    /// A slot, then the HTTP exchange — both within the hook's timeout.
    func call(_ hook: CompiledHook, _ input: HookInput, lexicon: LexiconSummary?) async -> Result<HookVerdict, HookFailure> {
        let timeout = hook.configuration.timeout
        let deadline = ContinuousClock.now + timeout
        // Whether the call found every slot busy: a timeout after such a wait is reported as
        // saturation (the hook is at its concurrency limit), not as a slow answer.
        let waited = NIOLockedValueBox<Bool?>(nil)
        let saturated = HookFailure(.saturated, "all \(hook.configuration.maxConcurrent) slots were busy and no answer came within \(timeout)")
        do {
            let verdict = try await Self.withDeadline(deadline) { [client] in
                let acquisition = await hook.limiter.acquire()
                guard acquisition != .cancelled else { throw CancellationError() }
                defer { hook.limiter.release() }
                waited.withLockedValue { $0 = acquisition == .afterWaiting }
                return try await Self.exchange(hook, input, lexicon: lexicon, client: client, deadline: deadline)
            }
            return .success(verdict)
        } catch let failure as HookFailure {
            if failure.kind == .timeout && waited.withLockedValue({ $0 }) == true { return .failure(saturated) }
            return .failure(failure)
        } catch is DeadlineExceeded {
            if waited.withLockedValue({ $0 }) == false { return .failure(HookFailure(.timeout, "no answer within \(timeout)")) }
            return .failure(saturated)
        } catch {
            return .failure(HookFailure(.cancelled, "the request was cancelled"))
        }
    }

    /// The HTTP request and its answer.
    static func exchange(_ hook: CompiledHook, _ input: HookInput, lexicon: LexiconSummary?, client: HTTPClient,
                         deadline: ContinuousClock.Instant) async throws -> HookVerdict {
        var request = HTTPClientRequest(url: hook.configuration.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: "menshen-hooks")
        if !input.requestID.isEmpty { request.headers.add(name: "x-request-id", value: input.requestID) }
        for (name, value) in hook.headers { request.headers.replaceOrAdd(name: name, value: value) }
        let body = hook.adapter.requestBody(for: input, lexicon: lexicon)
        request.body = .bytes(ByteBuffer(bytes: body))

        let remaining = max(ContinuousClock.now.duration(to: deadline), .milliseconds(1))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + TimeAmount.nanoseconds(nanoseconds(remaining)))
        } catch {
            throw classify(error)
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            _ = try? await response.body.collect(upTo: 64 << 10)       // drain, so the connection can be reused
            throw HookFailure(.httpStatus, "HTTP \(status)", status: status)
        }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: maximumAnswerBytes)
        } catch is NIOTooManyBytesError {
            throw HookFailure(.malformed, "answer larger than \(maximumAnswerBytes) bytes")
        } catch {
            throw classify(error)
        }
        return try hook.adapter.verdict(from: Data(bytes.readableBytesView))
    }

    /// Transport errors: timeouts, cancellation, and everything else as a connection failure.
    static func classify(_ error: any Error) -> any Error {
        if error is HookFailure || error is CancellationError { return error }
        if let e = error as? HTTPClientError {
            if e == .cancelled { return CancellationError() }
            if e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout {
                return HookFailure(.timeout, "\(e)")
            }
        }
        return HookFailure(.connection, "\(error)")
    }

    struct DeadlineExceeded: Error {}

    /// Runs `operation`, cancelling it at `deadline` (`DeadlineExceeded` is thrown then).
    /// Structured: both the operation and the timer are children, and both are done when
    /// this returns.
    static func withDeadline<T: Sendable>(_ deadline: ContinuousClock.Instant,
                                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw DeadlineExceeded()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
            return value
        }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
