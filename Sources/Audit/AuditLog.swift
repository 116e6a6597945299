import Foundation
import Logging

/// The audit log: tamper-evident JSON lines, written in order by one writer thread.
///
/// ```swift
/// let log = try AuditLog(configuration: config, logger: logger)
/// try await log.record(event)             // returns once queued
/// try await log.recordDurably(blockEvent) // returns once written and fsynced
/// await log.close()                       // drains the queue; call at shutdown
/// ```
///
/// ## Flow
///
/// `record` puts the event on a bounded queue and returns; when the queue is full it waits
/// for room, in arrival order — it never drops. The writer thread takes everything queued,
/// assigns each record its `seq` and `prev`, writes the lines to every sink (file, stdout),
/// and fsyncs: at once if the batch holds a `recordDurably` event (whose caller waits for
/// exactly that — group commit: events arriving meanwhile share the next fsync), otherwise
/// at most `fsyncInterval` later. The writer is a thread of its own because `write` and
/// `fsync` block; the request tasks never touch the disk.
///
/// ## Failures
///
/// A failed write, fsync or file creation is counted (`statistics.writeFailures`), logged
/// once when the log starts failing and once when it recovers, and handled by
/// `on_write_failure`: `continue` keeps accepting records (those the file misses are counted
/// in `statistics.lost`); `fail_closed` makes `record*` throw `AuditError.unavailable` until
/// the writer, retrying every `retryInterval`, has reopened the sink. A durable record whose
/// write failed throws `unavailable` under `fail_closed`. Opening at start-up throws
/// `AuditError.cannotOpen` under either policy: a log that cannot start is a configuration
/// error.
///
/// What the chain does and does not prove is described at `AuditRecord` and `AuditVerifier`.
public final class AuditLog: Sendable {
    public let configuration: AuditConfiguration
    private let writer: AuditWriter

    /// Opens the sinks the configuration names, recovering a torn tail from a crash, and
    /// starts the writer. `now` stamps file names and drives rotation by time and retention
    /// (injectable for tests).
    public convenience init(configuration: AuditConfiguration, logger: Logger = Logger(label: "menshen.audit"),
                            now: @escaping @Sendable () -> Date = { Date() }) throws(AuditError) {
        var sinks: [any AuditSink] = []
        if let directory = configuration.directory {
            sinks.append(FileSink(directory: directory, configuration: configuration, logger: logger))
        }
        if configuration.stdout { sinks.append(StdoutSink()) }
        try self.init(configuration: configuration, sinks: sinks, logger: logger, now: now)
    }

    /// With given sinks (tests use sinks that stall or fail on demand).
    init(configuration: AuditConfiguration, sinks: [any AuditSink], logger: Logger, now: @escaping @Sendable () -> Date) throws(AuditError) {
        let problems = configuration.validate().filter { !$0.hasPrefix("audit: no sink") }
        if !problems.isEmpty { throw .invalidConfiguration(problems) }
        if sinks.isEmpty { throw .invalidConfiguration(["audit: no sink (set audit.directory or audit.stdout)"]) }
        self.configuration = configuration
        self.writer = try AuditWriter(configuration: configuration, sinks: sinks, logger: logger, now: now)
        writer.start()
    }

    /// Queues `event`; returns once it is queued (waiting for room if the queue is full).
    /// Throws `unavailable` while the log is failing under `fail_closed`, `closed` after `close()`.
    /// Waiting ignores task cancellation: a decision that was made is recorded.
    public func record(_ event: AuditEvent) async throws(AuditError) {
        try await writer.submit(event, durable: false)
    }

    /// Queues `event` and returns once it is written and fsynced. For decisions that must be
    /// on disk before the client sees their effect (blocks).
    public func recordDurably(_ event: AuditEvent) async throws(AuditError) {
        try await writer.submit(event, durable: true)
    }

    /// Writes what is queued, fsyncs, closes the files and stops the writer. Later `record`
    /// calls throw `closed`. Safe to call more than once.
    public func close() async { await writer.close() }

    /// Counters since start (for metrics).
    public var statistics: AuditStatistics { writer.statistics }

    /// `nil` while writing works; otherwise why it does not.
    public var failure: String? { writer.currentFailure }

    /// Records waiting for room in the queue (for tests and metrics).
    var waitingCount: Int { writer.waitingCount }
}

/// Counters of an `AuditLog` since it started.
public struct AuditStatistics: Sendable, Equatable {
    /// Records accepted by `record`/`recordDurably`.
    public var accepted = 0
    /// Records written to every sink.
    public var written = 0
    /// Records that missed at least one sink because writing failed.
    public var lost = 0
    /// Failed writes, fsyncs and reopen attempts.
    public var writeFailures = 0
    /// fsync rounds.
    public var syncs = 0
    /// Times a record had to wait for room in the queue.
    public var queueWaits = 0
    /// Torn tails moved aside when opening (crash debris).
    public var tornTails = 0
}

/// The queue, the writer thread and the chain. Fields marked *locked* are guarded by
/// `condition`; the others belong to the writer thread (and to `init`, before it starts).
final class AuditWriter: @unchecked Sendable {
    private struct Pending {
        var event: AuditEvent
        var durable: Bool
        /// Resumed when queued (plain records) or when written and fsynced (durable ones).
        var continuation: CheckedContinuation<Result<Void, AuditError>, Never>?
    }

    private enum Lifecycle { case running, closing, closed }

    private let configuration: AuditConfiguration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let condition = NSCondition()

    // Locked.
    private var queue: [Pending] = []
    /// Records waiting for room, in arrival order.
    private var waiting: [Pending] = []
    private var lifecycle = Lifecycle.running
    private var failure: String?
    private var stats = AuditStatistics()
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []

    // Writer thread.
    private let sinks: [any AuditSink]
    private var head = ChainHead.genesis
    private var lastSync = ContinuousClock.now
    private var unsynced = false
    private var nextRetry: ContinuousClock.Instant?

    init(configuration: AuditConfiguration, sinks: [any AuditSink], logger: Logger, now: @escaping @Sendable () -> Date) throws(AuditError) {
        self.configuration = configuration
        self.sinks = sinks
        self.logger = logger
        self.now = now
        for sink in sinks {
            do {
                if let found = try sink.open(now: now()), sink.holdsChain { head = found }
            } catch {
                for opened in sinks where opened.isOpen { opened.close() }
                throw .cannotOpen(sink.name, "\(error)")
            }
        }
        stats.tornTails = sinks.reduce(0) { $0 + (($1 as? FileSink)?.tornTails ?? 0) }
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "menshen-audit-writer"
        thread.start()
    }

    // MARK: Producers

    func submit(_ event: AuditEvent, durable: Bool) async throws(AuditError) {
        let result: Result<Void, AuditError> = await withCheckedContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard lifecycle == .running else { continuation.resume(returning: .failure(.closed)); return }
            if configuration.onWriteFailure == .failClosed, let failure {
                continuation.resume(returning: .failure(.unavailable(failure)))
                return
            }
            stats.accepted += 1
            if waiting.isEmpty && queue.count < configuration.queueCapacity {
                queue.append(Pending(event: event, durable: durable, continuation: durable ? continuation : nil))
                condition.signal()
                if !durable { continuation.resume(returning: .success(())) }
            } else {
                stats.queueWaits += 1
                waiting.append(Pending(event: event, durable: durable, continuation: continuation))
            }
        }
        if case .failure(let error) = result { throw error }
    }

    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            defer { condition.unlock() }
            if lifecycle == .closed { continuation.resume(); return }
            lifecycle = .closing
            closeWaiters.append(continuation)
            condition.signal()
        }
    }

    var statistics: AuditStatistics { locked { stats } }
    var currentFailure: String? { locked { failure } }
    var waitingCount: Int { locked { waiting.count } }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    // MARK: The writer thread

    private func run() {
        condition.lock()
        while true {
            if queue.isEmpty {
                // (Waiting records imply a full, hence non-empty, queue.)
                if lifecycle == .closing { break }
                let deadline = timerDeadline()
                if let deadline, deadline <= .now {
                    condition.unlock()
                    runTimers()
                    condition.lock()
                } else if let deadline {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: seconds(deadline - .now)))
                } else {
                    condition.wait()
                }
                continue
            }
            let batch = takeBatch()
            condition.unlock()
            write(batch)
            condition.lock()
        }
        condition.unlock()
        for sink in sinks { sink.close() }
        let waiters = locked { () -> [CheckedContinuation<Void, Never>] in
            lifecycle = .closed
            defer { closeWaiters = [] }
            return closeWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The queue's contents; the records waiting for room move in (and the plain ones return).
    private func takeBatch() -> [Pending] {
        let batch = queue
        queue = []
        while !waiting.isEmpty && queue.count < configuration.queueCapacity {
            var next = waiting.removeFirst()
            if !next.durable { next.continuation?.resume(returning: .success(())); next.continuation = nil }
            queue.append(next)
        }
        return batch
    }

    private func timerDeadline() -> ContinuousClock.Instant? {
        var deadline: ContinuousClock.Instant?
        if unsynced { deadline = lastSync + configuration.fsyncInterval }
        if let retry = nextRetry { deadline = min(deadline ?? retry, retry) }
        return deadline
    }

    private func runTimers() {
        reopenIfDue()
        if unsynced && ContinuousClock.now - lastSync >= configuration.fsyncInterval {
            let problems = syncAll()
            if !problems.isEmpty { locked { noteFailure(problems) } }
        }
    }

    private func write(_ batch: [Pending]) {
        reopenIfDue()
        let wallClock = now()
        var lines: [(seq: UInt64, bytes: [UInt8])] = []
        var problems: [String] = []
        for pending in batch {
            var event = pending.event
            if let excerpt = event.excerpt, excerpt.count > configuration.maxExcerptCharacters {
                event.excerpt = String(excerpt.prefix(configuration.maxExcerptCharacters))
            }
            do {
                let line = try AuditRecord.line(for: event, seq: head.seq + 1, prev: head.hash)
                head = ChainHead(seq: head.seq + 1, hash: line.hash)
                lines.append((head.seq, line.bytes))
            } catch {
                problems.append("event \(event.eventID) cannot be encoded: \(error)")
            }
        }
        var missed = batch.count - lines.count
        for sink in sinks {
            guard sink.isOpen else { missed = batch.count; continue }
            do { try sink.write(lines, now: wallClock) } catch {
                problems.append("\(sink.name): \(error)")
                missed = max(missed, batch.count - ((error as? SinkFailure)?.written ?? 0))
            }
        }
        if batch.contains(where: \.durable) || ContinuousClock.now - lastSync >= configuration.fsyncInterval {
            problems += syncAll()
        } else {
            unsynced = true
        }
        let reason: String? = locked {
            stats.written += batch.count - missed
            stats.lost += missed
            if !problems.isEmpty { noteFailure(problems) } else if missed == 0 { noteRecovered() }
            return missed > 0 || !problems.isEmpty ? (failure ?? "a sink is closed") : nil
        }
        let failClosed = configuration.onWriteFailure == .failClosed
        for pending in batch where pending.durable {
            pending.continuation?.resume(returning: failClosed && reason != nil ? .failure(.unavailable(reason!)) : .success(()))
        }
    }

    /// fsyncs every open sink; returns the problems.
    private func syncAll() -> [String] {
        var problems: [String] = []
        for sink in sinks where sink.isOpen {
            do { try sink.sync() } catch { problems.append("\(sink.name): \(error)") }
        }
        lastSync = .now
        unsynced = false
        locked { stats.syncs += 1 }
        return problems
    }

    /// While failing: every `retryInterval`, reopen the sinks that closed themselves.
    private func reopenIfDue() {
        guard let retry = nextRetry, retry <= .now else { return }
        var problems: [String] = []
        for sink in sinks where !sink.isOpen {
            do {
                let found = try sink.open(now: now())
                if sink.holdsChain {
                    // The file's last record is what the next line must link to; `seq` never
                    // goes back, so lines that reached only stdout keep their numbers.
                    head = ChainHead(seq: max(head.seq, found?.seq ?? 0), hash: found?.hash ?? AuditRecord.genesis)
                }
            } catch {
                problems.append("\(sink.name): \(error)")
            }
        }
        let torn = sinks.reduce(0) { $0 + (($1 as? FileSink)?.tornTails ?? 0) }
        locked {
            stats.tornTails = torn
            if problems.isEmpty { noteRecovered() } else { noteFailure(problems) }
        }
    }

    /// Locked. Counts a failure, logs the first of a run, schedules a retry.
    private func noteFailure(_ problems: [String]) {
        stats.writeFailures += 1
        let reason = problems.joined(separator: "; ")
        if failure == nil {
            logger.error("audit log cannot write", metadata: [
                "error": "\(reason)", "on_write_failure": "\(configuration.onWriteFailure.rawValue)"])
        }
        failure = reason
        nextRetry = .now + configuration.retryInterval
    }

    /// Locked. Ends a run of failures, if one was going on.
    private func noteRecovered() {
        guard failure != nil else { return }
        failure = nil
        nextRetry = nil
        logger.warning("audit log writable again", metadata: ["write_failures": "\(stats.writeFailures)", "lost": "\(stats.lost)"])
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
