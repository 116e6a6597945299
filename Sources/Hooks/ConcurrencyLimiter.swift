import NIOConcurrencyHelpers

/// A counting semaphore for async callers: at most `limit` holders; the others wait in FIFO
/// order. Waiting ends when a slot frees up or when the waiting task is cancelled — the
/// caller bounds the wait by racing it against its deadline (see ``HookRunner``).
final class ConcurrencyLimiter: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: NIOLockedValueBox<State>
    let limit: Int

    init(limit: Int) {
        precondition(limit >= 1, "a limiter needs at least one slot")
        self.limit = limit
        state = NIOLockedValueBox(State(available: limit))
    }

    enum Acquisition: Equatable {
        /// A slot was free.
        case immediate
        /// A slot was taken after waiting for one to free up.
        case afterWaiting
        /// The task was cancelled while waiting: no slot is held.
        case cancelled
    }

    /// Takes a slot. Unless `.cancelled`, the caller holds it and must ``release()`` it.
    func acquire() async -> Acquisition {
        let id: UInt64? = state.withLockedValue { s in
            if s.available > 0 { s.available -= 1; return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return .immediate }
        return await waitForSlot(id: id) ? .afterWaiting : .cancelled
    }

    private func waitForSlot(id: UInt64) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate: Bool? = state.withLockedValue { s in
                    // Cancellation sets the flag before running the handler, so a handler that
                    // ran before this append (and found nothing to remove) is seen here.
                    if Task.isCancelled { return false }
                    if s.available > 0 { s.available -= 1; return true }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLockedValue { s in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i)
            }
            waiter?.continuation.resume(returning: false)
        }
    }

    /// Frees a slot, handing it straight to the longest waiter if there is one.
    func release() {
        let next: Waiter? = state.withLockedValue { s in
            if s.waiters.isEmpty {
                precondition(s.available < limit, "ConcurrencyLimiter released more often than acquired")
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.continuation.resume(returning: true)
    }

    /// Slots held right now (for tests and gauges).
    var inUse: Int { state.withLockedValue { limit - $0.available } }
    /// Callers waiting for a slot right now.
    var waiting: Int { state.withLockedValue { $0.waiters.count } }
}
