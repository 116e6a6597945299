import Foundation
@testable import Proxy
import Testing

/// The upstream pool's slots: a saturated upstream queues requests first come, first served,
/// hands a released slot straight to the longest waiter, and overflows after its queue wait.
@Suite struct UpstreamPoolTests {
    static func pool(maxInFlight: Int, queueWait: Duration, upstreams: Int = 1) -> UpstreamPool {
        UpstreamPool(upstreams: (0..<upstreams).map { i in
            var u = UpstreamConfiguration(name: "u\(i)", url: "http://127.0.0.1:\(9000 + i)")
            u.maxInFlight = maxInFlight
            u.queueWait = queueWait
            return u
        })
    }

    /// Waits (bounded) until `count` requests are queued on upstream 0.
    static func waitUntilQueued(_ pool: UpstreamPool, _ count: Int) async throws {
        for _ in 0..<10_000 where pool.snapshot()[0].waiting < count { await Task.yield() }
        try #require(pool.snapshot()[0].waiting == count)
    }

    @Test func aReleasedSlotGoesToTheLongestWaiter() async throws {
        let pool = Self.pool(maxInFlight: 1, queueWait: .seconds(30))
        let first = try #require(await pool.acquire())
        let second = Task { await pool.acquire() }
        try await Self.waitUntilQueued(pool, 1)
        let third = Task { await pool.acquire() }
        try await Self.waitUntilQueued(pool, 2)
        pool.release(first, .success)
        let secondLease = try #require(await second.value)
        #expect(secondLease.index == 0)
        #expect(pool.snapshot()[0].inFlight == 1, "the slot was handed over, not freed and taken again")
        #expect(pool.snapshot()[0].waiting == 1, "the third request still waits")
        pool.release(secondLease, .success)
        let thirdLease = try #require(await third.value)
        pool.release(thirdLease, .success)
        #expect(pool.snapshot()[0].inFlight == 0)
        #expect(pool.snapshot()[0].waiting == 0)
    }

    @Test func aSaturatedUpstreamOverflowsAfterItsQueueWait() async throws {
        let pool = Self.pool(maxInFlight: 1, queueWait: .milliseconds(20), upstreams: 2)
        let held = try #require(await pool.acquire())
        let overflow = try #require(await pool.acquire())
        #expect(overflow.index == 1, "the second request went to the next upstream")
        #expect(pool.snapshot()[0].waiting == 0, "the waiter left the queue when its wait ran out")
        pool.release(held, .success)
        pool.release(overflow, .success)
        #expect(pool.snapshot().map(\.inFlight) == [0, 0])
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let pool = Self.pool(maxInFlight: 1, queueWait: .seconds(30))
        let held = try #require(await pool.acquire())
        let waiting = Task { await pool.acquire() }
        try await Self.waitUntilQueued(pool, 1)
        waiting.cancel()
        #expect(await waiting.value == nil)
        #expect(pool.snapshot()[0].waiting == 0)
        pool.release(held, .success)
        #expect(pool.snapshot()[0].inFlight == 0, "no slot was handed to the cancelled waiter")
    }
}
