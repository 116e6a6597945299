import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// A pass-through request's body as handed to the HTTP client for upload, which the handler
/// can take back once the answer has been delivered.
///
/// Why: a model server may answer before it has read the whole request (nginx's `return`, an
/// early 4xx). The client then still uploads from the request body while Hummingbird, having
/// written the response, drains the same body to reach the next keep-alive request. Two tasks
/// calling `next()` on one inbound stream is a precondition failure that takes the process
/// down. With this wrapper only one party reads at a time: `stopUpload()` waits for a read in
/// flight and ends the upload (later reads get `nil`), and only then does Hummingbird drain.
final class ReclaimableRequestBody: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    typealias BodyIterator = RequestBody.AsyncIterator

    private enum State {
        /// Nobody is reading; the iterator rests here.
        case available(BodyIterator)
        /// The upload is inside `next()`; a reclaim may be waiting for it to come back.
        case reading(reclaimer: CheckedContinuation<Void, Never>?)
        /// The body ended (or failed): nothing left to read for anyone.
        case finished
        /// The handler has taken the iterator back.
        case reclaimed
    }

    // Guarded by `lock`; the iterator itself is only ever used by the one party holding it.
    private var state: State
    private let lock = NIOLock()
    /// Most bytes the upload may read (`limits.max_request_bytes`): a pass-through body is
    /// bounded like a screened one. Past it the upload fails with ``TooLarge``.
    let limit: Int
    /// Bytes handed to the upload so far (only touched by the party holding the iterator).
    private var uploaded = 0

    /// The body went past ``limit``: the upload stops and the client is told 413.
    struct TooLarge: Error {}

    init(_ body: RequestBody, limit: Int = .max) {
        state = .available(body.makeAsyncIterator())
        self.limit = limit
    }

    /// Whether the upload stopped because the body went past the limit.
    var exceededLimit: Bool { lock.withLock { uploaded > limit } }

    struct AsyncIterator: AsyncIteratorProtocol {
        let owner: ReclaimableRequestBody
        mutating func next() async throws -> ByteBuffer? { try await owner.uploadNext() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: self) }

    private func uploadNext() async throws -> ByteBuffer? {
        let taken: BodyIterator? = lock.withLock {
            guard case .available(let iterator) = state else { return nil }
            state = .reading(reclaimer: nil)
            return iterator
        }
        guard var iterator = taken else { return nil }
        let part: ByteBuffer?
        do {
            part = try await iterator.next()
        } catch {
            handBack(nil)
            throw error
        }
        let total = lock.withLock { uploaded += part?.readableBytes ?? 0; return uploaded }
        if total > limit {
            handBack(nil)
            throw TooLarge()
        }
        handBack(part == nil ? nil : iterator)
        return part
    }

    /// After an upload read: the iterator goes back to rest, unless the body ended (`nil`) or
    /// a reclaim is waiting (which this read then releases).
    private func handBack(_ iterator: BodyIterator?) {
        let reclaimer: CheckedContinuation<Void, Never>? = lock.withLock {
            guard case .reading(let waiting) = state else { return nil }
            if let iterator, waiting == nil {
                state = .available(iterator)
            } else {
                state = iterator == nil ? .finished : .reclaimed
            }
            return waiting
        }
        reclaimer?.resume()
    }

    /// Takes the body back from the upload, waiting for a read in flight to return. Afterwards
    /// the upload reads nothing more, and Hummingbird alone drains what is left of the body
    /// before it reads the connection's next request.
    func stopUpload() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let mustWait: Bool = lock.withLock {
                switch state {
                case .available:
                    state = .reclaimed
                    return false
                case .reading(reclaimer: nil):
                    state = .reading(reclaimer: continuation)
                    return true
                case .reading(reclaimer: .some), .finished, .reclaimed:
                    return false
                }
            }
            if !mustWait { continuation.resume() }
        }
    }
}
