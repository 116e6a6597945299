import Crypto
import Foundation
import NIOConcurrencyHelpers
import Screening

/// Verdicts by content hash, bounded in size and age.
///
/// Multi-turn chats resend every earlier message with each request; the cache makes those
/// free. Keys are SHA-256 digests of everything that can change the answer (hook, direction,
/// role, text, and for webhooks the lexicon summary sent along), so no text is kept in memory.
/// Failures are never cached. Eviction is oldest-first (insertion order), which for a TTL
/// cache is close to LRU and needs no bookkeeping on a hit.
final class VerdictCache: Sendable {
    /// A SHA-256 digest as four words: compact, `Sendable`, cheap to hash.
    struct Key: Hashable, Sendable {
        let w0, w1, w2, w3: UInt64
        init(_ digest: SHA256Digest) {
            var words: [UInt64] = [0, 0, 0, 0]
            digest.withUnsafeBytes { raw in
                for i in 0..<4 { words[i] = raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
            }
            (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
        }
    }

    struct Entry {
        let verdict: HookVerdict
        let expires: ContinuousClock.Instant
        let sequence: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Insertion order from `head` on; a pair whose sequence no longer matches its entry
        /// (removed or re-inserted since) is stale and skipped.
        var order: [(key: Key, sequence: UInt64)] = []
        var head = 0
        var sequence: UInt64 = 0
    }

    let capacity: Int
    let ttl: Duration
    private let state = NIOLockedValueBox(State())

    init(capacity: Int, ttl: Duration) {
        self.capacity = capacity
        self.ttl = ttl
    }

    var isEnabled: Bool { capacity > 0 && ttl > .zero }

    static func key(hook: String, input: HookInput, lexicon: LexiconSummary?) -> Key {
        var hasher = SHA256()
        // Length-prefixed fields, so no two different inputs hash the same bytes.
        func add(_ s: String) {
            let bytes = Array(s.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        add(hook)
        add(input.direction.rawValue)
        add(input.role)
        add(input.text)
        add(input.prompt ?? "\u{0}none")
        if let lexicon {
            add(lexicon.decision.rawValue)
            add(lexicon.categories.joined(separator: "\u{1}"))
        } else {
            add("\u{0}none")
        }
        return Key(hasher.finalize())
    }

    func get(_ key: Key, now: ContinuousClock.Instant) -> HookVerdict? {
        guard isEnabled else { return nil }
        return state.withLockedValue { s in
            guard let e = s.entries[key] else { return nil }
            guard now < e.expires else { s.entries[key] = nil; return nil }
            return e.verdict
        }
    }

    func put(_ key: Key, _ verdict: HookVerdict, now: ContinuousClock.Instant) {
        guard isEnabled else { return }
        state.withLockedValue { s in
            s.sequence += 1
            s.entries[key] = Entry(verdict: verdict, expires: now + ttl, sequence: s.sequence)
            s.order.append((key, s.sequence))
            // Bounded: each pass consumes one element of the order list.
            while s.entries.count > capacity && s.head < s.order.count {
                let (old, sequence) = s.order[s.head]
                s.head += 1
                if s.entries[old]?.sequence == sequence { s.entries[old] = nil }
            }
            // Keep the order list within a constant factor of the live entries.
            if s.order.count - s.head > 2 * capacity + 64 {
                s.order = s.entries.map { ($0.key, $0.value.sequence) }.sorted { $0.sequence < $1.sequence }
                s.head = 0
            } else if s.head > 1024 && s.head * 2 > s.order.count {
                s.order.removeFirst(s.head)
                s.head = 0
            }
        }
    }

    var count: Int { state.withLockedValue { $0.entries.count } }
}
