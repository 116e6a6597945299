import NIOConcurrencyHelpers

/// The lexicon's verdict, delivered once, awaited by hooks that depend on it.
///
/// On input the proxy starts the hooks *before* scanning (so the calls overlap the scan),
/// then fulfils the signal: hooks with `when: always` never wait for it, hooks with
/// `when: lexicon_clean | lexicon_flagged` wait, and webhook requests carry the summary if it
/// is known when they are sent (`"lexicon": null` otherwise).
///
/// ```swift
/// let lexicon = LexiconSignal()
/// async let hooks = runner.evaluate(inputs, lexicon: lexicon)
/// let scanned = PayloadScreening.screenInput(body, …)      // the lexicon scan, meanwhile
/// lexicon.fulfill(LexiconSummary(decision: scanned.decision, categories: …))
/// let outcome = await hooks
/// ```
/// Fulfil it on every path (a `defer` with `.clean` is a fine fallback): a hook waiting for
/// an unfulfilled signal waits until its task is cancelled.
public final class LexiconSignal: Sendable {
    private enum State {
        case pending([(id: Int, continuation: CheckedContinuation<LexiconSummary?, Never>)], nextID: Int)
        case fulfilled(LexiconSummary)
    }

    private let state: NIOLockedValueBox<State>

    public init() { state = NIOLockedValueBox(.pending([], nextID: 0)) }

    /// Already known (answers, stream windows).
    public init(_ summary: LexiconSummary) { state = NIOLockedValueBox(.fulfilled(summary)) }

    /// Delivers the verdict; later calls are ignored.
    public func fulfill(_ summary: LexiconSummary) {
        let waiters: [CheckedContinuation<LexiconSummary?, Never>] = state.withLockedValue { s in
            guard case .pending(let list, _) = s else { return [] }
            s = .fulfilled(summary)
            return list.map(\.continuation)
        }
        for w in waiters { w.resume(returning: summary) }
    }

    /// The verdict if it is known now.
    public var current: LexiconSummary? {
        state.withLockedValue { s in
            if case .fulfilled(let v) = s { return v }
            return nil
        }
    }

    /// Waits for the verdict; `nil` if the waiting task is cancelled first.
    public var value: LexiconSummary? {
        get async {
            if let v = current { return v }
            let id: Int? = state.withLockedValue { s in
                guard case .pending(let list, let next) = s else { return nil }
                s = .pending(list, nextID: next + 1)
                return next
            }
            guard let id else { return current }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<LexiconSummary?, Never>) in
                    let now: LexiconSummary?? = state.withLockedValue { s in
                        switch s {
                        case .fulfilled(let v): return .some(v)
                        case .pending(var list, let next):
                            if Task.isCancelled { return .some(nil) }
                            list.append((id, c))
                            s = .pending(list, nextID: next)
                            return .none
                        }
                    }
                    if let now { c.resume(returning: now) }
                }
            } onCancel: {
                let waiter: CheckedContinuation<LexiconSummary?, Never>? = state.withLockedValue { s in
                    guard case .pending(var list, let next) = s, let i = list.firstIndex(where: { $0.id == id }) else { return nil }
                    let w = list.remove(at: i)
                    s = .pending(list, nextID: next)
                    return w.continuation
                }
                waiter?.resume(returning: nil)
            }
        }
    }
}
