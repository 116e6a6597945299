@testable import Audit
import Foundation
import Testing

struct AuditRecordTests {
    @Test func everyFieldIsWritten() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        var full = event("e-full")
        full.produceID = "0198f3a2c4e67a1b9c3d5e7f90a1b2c3"
        full.detail = "lexicon decision"
        var failure = AuditEvent(eventID: "e-classifier", requestID: "r2", kind: .classifierFailure, action: nil,
                                 route: "/v1/chat/completions", direction: .input)
        failure.detail = "classifier timeout after 2s"
        try await log.recordDurably(full)
        try await log.recordDurably(failure)
        await log.close()

        let file = try #require(dir.logFiles.first)
        let text = try lines(file).filter { !$0.isEmpty }
        #expect(text.count == 2)
        for line in text {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == Set(LineBody.keys), "keys: \(object.keys.sorted())")
            #expect(line.hasSuffix("\"}"))
            #expect(line.range(of: #",\"hash\":\"[0-9a-f]{64}\"\}$"#, options: .regularExpression) != nil)
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(text[0].utf8)) as? [String: Any])
        #expect(first["time"] as? String == "2025-09-01T00:00:00.123456Z")
        #expect(first["event_id"] as? String == "e-full")
        #expect(first["request_id"] as? String == "req-e-full")
        #expect(first["kind"] as? String == "screening")
        #expect(first["action"] as? String == "block")
        #expect(first["route"] as? String == "/v1/chat/completions")
        #expect(first["model"] as? String == "qwen2.5-72b")
        #expect(first["upstream"] as? String == "http://127.0.0.1:8000")
        #expect(first["direction"] as? String == "output")
        #expect(first["rule_ids"] as? [String] == ["finance.guaranteed-returns"])
        #expect(first["categories"] as? [String] == ["finance"])
        #expect(first["severities"] as? [String] == ["high"])
        #expect(first["lexicon_version"] as? String == "2025.09.01-1")
        #expect(first["match_offsets"] as? [[Int]] == [[12, 24]])
        #expect(first["text_sha256"] as? String == AuditEvent.sha256("这款产品稳赚不赔 e-full"))
        #expect(first["excerpt"] as? String == "这款产品****")
        #expect(first["client"] as? [String: String] == ["x-user-id": "u-42", "x-app-id": "wealth-bot"])
        #expect(first["latency_ms"] as? Double == 12.5)
        #expect(first["produce_id"] as? String == "0198f3a2c4e67a1b9c3d5e7f90a1b2c3")
        #expect(first["seq"] as? Int == 1)
        #expect(first["prev"] as? String == AuditRecord.genesis)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(text[1].utf8)) as? [String: Any])
        #expect(second["kind"] as? String == "classifier_failure")
        #expect(second["action"] is NSNull)                          // absent values are written as null
        #expect(second["model"] is NSNull)
        #expect(second["prev"] as? String == first["hash"] as? String)
        // The record reads back as it was written.
        let parsed = try records([file])
        #expect(parsed.map(\.event.eventID) == ["e-full", "e-classifier"])
        #expect(parsed[0].event.client == full.client && parsed[0].event.matchOffsets == full.matchOffsets)
        #expect(RFC3339.format(parsed[0].event.time) == "2025-09-01T00:00:00.123456Z")
    }

    @Test func excerptsAreCut() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.maxExcerptCharacters = 5 }, logger: quietLogger)
        var long = event("e1")
        long.excerpt = "一二三四五六七八"
        try await log.recordDurably(long)
        await log.close()
        #expect(try records(dir.logFiles).first?.event.excerpt == "一二三四五")
    }

    @Test func timestamps() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_756_684_800.999_999_7)) == "2025-09-01T00:00:01.000000Z")
        #expect(RFC3339.parse("2025-09-01T08:00:00.5+08:00") == Date(timeIntervalSince1970: 1_756_684_800.5))
        #expect(RFC3339.parse("2025-09-01 08:00:00Z") == nil)
    }

    @Test func configurationProblemsNameTheKey() {
        var c = AuditConfiguration()
        c.maxFileBytes = 10
        c.retentionDays = 0
        c.queueCapacity = 0
        c.maxFiles = 1
        let problems = c.validate()
        for key in ["audit.max_file_bytes", "audit.retention_days", "audit.queue_capacity", "audit.max_files"] {
            #expect(problems.contains { $0.hasPrefix(key) }, "\(key) not named in \(problems)")
        }
        #expect(AuditConfiguration().validate().isEmpty)
        #expect(AuditConfiguration().retentionDays == 180)
        #expect(throws: AuditError.self) { try AuditLog(configuration: c, logger: quietLogger) }
    }
}

struct RotationAndRetentionTests {
    @Test func rotationBySizeKeepsTheChain() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.maxFileBytes = 4096 }, logger: quietLogger)
        for i in 0..<30 { try await log.recordDurably(event("e\(i)")) }
        await log.close()

        let files = dir.logFiles
        #expect(files.count >= 4, "\(files)")
        for file in files {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            #expect(size <= 4096, "\(file) has \(size) bytes")
        }
        // The first record of each file links to the last of the one before.
        for (older, newer) in zip(files, files.dropFirst()) {
            #expect(try records([newer]).first?.prev == records([older]).last?.hash)
            let seq = try records([newer]).first!.seq
            #expect(newer.contains(String(format: "audit-%016llu-", seq)), "\(newer) should be named after seq \(seq)")
        }
        let all = try records(files)
        #expect(all.map(\.event.eventID) == (0..<30).map { "e\($0)" })
        #expect(all.map(\.seq) == Array(1...30))
        let result = AuditVerifier.verify(files: files)
        #expect(result.isIntact, "\(result.problems)")
        #expect(result.startsAtGenesis)
        #expect(result.records == 30)
    }

    @Test func rotationByTime() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let log = try AuditLog(configuration: configuration(dir.path) { $0.rotateInterval = .seconds(3600) }, logger: quietLogger, now: clock.now)
        try await log.recordDurably(event("a1"))
        clock.advance(seconds: 3599)
        try await log.recordDurably(event("a2"))          // not yet an hour
        clock.advance(seconds: 1)
        try await log.recordDurably(event("b1"))          // an hour: a new file
        try await log.recordDurably(event("b2"))
        await log.close()
        let files = dir.logFiles
        #expect(files.count == 2)
        #expect(files.first?.hasSuffix("20250901T000000Z.jsonl") == true)
        #expect(files.last?.hasSuffix("20250901T010000Z.jsonl") == true)
        #expect(try records([files[0]]).map(\.event.eventID) == ["a1", "a2"])
        #expect(try records([files[1]]).map(\.event.eventID) == ["b1", "b2"])
        #expect(AuditVerifier.verify(files: files).isIntact)
    }

    @Test func retentionByAge() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let config = configuration(dir.path) { $0.rotateInterval = .seconds(3600); $0.retentionDays = 1 }
        let log = try AuditLog(configuration: config, logger: quietLogger, now: clock.now)
        try await log.recordDurably(event("day0"))
        let firstFile = try #require(dir.logFiles.first)
        try Data("debris".utf8).write(to: URL(fileURLWithPath: firstFile + ".torn-20250901T000000Z"))
        clock.advance(seconds: 3600)
        try await log.recordDurably(event("day0-later"))        // rotates; the first file ended an hour ago: kept
        #expect(dir.logFiles.count == 2)
        clock.advance(seconds: 2 * 86_400)
        try await log.recordDurably(event("day2"))              // rotates; the first file ended two days ago: deleted
        await log.close()
        let files = dir.logFiles
        #expect(files.count == 2)
        #expect(!files.contains(firstFile))
        #expect(dir.contents(".torn-").isEmpty)                 // its torn-tail file went with it
        #expect(try records(files).map(\.event.eventID) == ["day0-later", "day2"])
        let result = AuditVerifier.verify(files: files)
        #expect(result.isIntact)
        #expect(!result.startsAtGenesis)                        // its predecessor is gone
    }

    @Test func retentionByCount() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.maxFileBytes = 4096; $0.maxFiles = 3 }, logger: quietLogger)
        for i in 0..<40 { try await log.recordDurably(event("e\(i)")) }
        await log.close()
        let files = dir.logFiles
        #expect(files.count == 3)
        let kept = try records(files)
        #expect(kept.last?.event.eventID == "e39")
        #expect(kept.first!.seq > 1)
        #expect(kept.map(\.seq) == Array(kept.first!.seq...40))
        #expect(AuditVerifier.verify(files: files).isIntact)
    }
}

struct SinkTests {
    @Test func durableRecordIsOnDiskWhenItReturns() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.fsyncInterval = .seconds(10) }, logger: quietLogger)
        try await log.record(event("plain"))
        try await log.recordDurably(event("durable"))
        // Not closed yet: the line is in the file, and an fsync ran for it.
        #expect(try records(dir.logFiles).map(\.event.eventID) == ["plain", "durable"])
        #expect(log.statistics.syncs >= 1)
        await log.close()
        let error = await #expect(throws: AuditError.self) { try await log.record(event("late")) }
        #expect(error?.kind == .closed)
    }

    @Test func plainRecordsAreFsyncedByTheTimer() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.fsyncInterval = .milliseconds(200) }, logger: quietLogger)
        try await log.recordDurably(event("a"))          // fsyncs now
        let before = log.statistics.syncs
        try await log.record(event("b"))                 // written, its fsync due within 200 ms
        // Nobody asks for durability: the writer's own timer fsyncs within the interval.
        await eventually("the fsync timer fires") { log.statistics.syncs > before }
        #expect(try records(dir.logFiles).map(\.event.eventID) == ["a", "b"])
        await log.close()
    }

    @Test func fileAndStdoutTogether() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let stdoutPath = dir.path + "/stdout.capture"
        let fd = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let config = configuration(dir.path + "/log") { $0.stdout = true }
        let sinks: [any AuditSink] = [FileSink(directory: config.directory!, configuration: config, logger: quietLogger), StdoutSink(fd: fd)]
        let log = try AuditLog(configuration: config, sinks: sinks, logger: quietLogger, now: { Date() })
        for i in 0..<5 { try await log.record(event("e\(i)")) }
        await log.close()
        let fileText = try String(contentsOfFile: try #require(try AuditVerifier.files(inDirectory: dir.path + "/log").first), encoding: .utf8)
        let stdoutText = try String(contentsOfFile: stdoutPath, encoding: .utf8)
        #expect(fileText == stdoutText)
        #expect(stdoutText.split(separator: "\n").count == 5)
    }
}

/// A sink whose writes wait until `release()`: it stalls the writer thread on demand.
final class GatedSink: AuditSink, @unchecked Sendable {
    let name = "gated"
    let isOpen = true
    let holdsChain = false
    let received = Locked<[[UInt8]]>([])
    /// Yields each time the writer enters `write`.
    let entered: AsyncStream<Int>
    private let enteredContinuation: AsyncStream<Int>.Continuation
    private let closed = Locked(true)
    private let gate = DispatchSemaphore(value: 0)

    init() { (entered, enteredContinuation) = AsyncStream.makeStream() }

    func open(now: Date) throws -> ChainHead? { nil }
    func write(_ lines: [(seq: UInt64, bytes: [UInt8])], now: Date) throws {
        enteredContinuation.yield(lines.count)
        if closed.get() { gate.wait() }
        received.update { $0 += lines.map(\.bytes) }
    }
    func release() { closed.set(false); gate.signal() }
    func sync() throws {}
    func close() {}
}

struct BackpressureTests {
    @Test func fullQueueMakesRecordWaitAndDropsNothing() async throws {
        let sink = GatedSink()
        var config = AuditConfiguration()
        config.directory = nil
        config.queueCapacity = 1
        let log = try AuditLog(configuration: config, sinks: [sink], logger: quietLogger, now: { Date() })
        var entered = sink.entered.makeAsyncIterator()
        try await log.record(event("e1"))
        _ = await entered.next()                          // the writer is stuck inside the sink with e1
        try await log.record(event("e2"))                 // the queue has room for one
        let returned = Locked(false)
        let third = Task {
            try await log.record(event("e3"))             // the queue is full: this waits
            returned.set(true)
        }
        await eventually("e3 waits for room") { log.waitingCount == 1 }
        #expect(!returned.get())
        #expect(log.statistics.queueWaits == 1)
        sink.release()
        try await third.value
        #expect(returned.get())
        await log.close()
        let ids = try sink.received.get().map { try AuditRecord(line: $0.dropLast()).event.eventID }
        #expect(ids == ["e1", "e2", "e3"])
        #expect(log.statistics.written == 3)
        #expect(log.statistics.lost == 0)
    }

    @Test func durableRecordWaitsForTheWrite() async throws {
        let sink = GatedSink()
        var config = AuditConfiguration()
        config.directory = nil
        let log = try AuditLog(configuration: config, sinks: [sink], logger: quietLogger, now: { Date() })
        var entered = sink.entered.makeAsyncIterator()
        let returned = Locked(false)
        let durable = Task {
            try await log.recordDurably(event("d1"))
            returned.set(true)
        }
        _ = await entered.next()                          // being written, not finished
        #expect(!returned.get())
        sink.release()
        try await durable.value
        #expect(returned.get())
        #expect(sink.received.get().count == 1)
        await log.close()
    }
}

struct WriteFailureTests {
    @Test func unusableDirectoryAtStart() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // A regular file where a directory should be: fails for root too (unlike chmod).
        try Data().write(to: URL(fileURLWithPath: dir.path + "/plain"))
        let error = #expect(throws: AuditError.self) {
            try AuditLog(configuration: configuration(dir.path + "/plain/audit"), logger: quietLogger)
        }
        #expect(error?.kind == .cannotOpen)
        #expect(error?.description.contains(dir.path + "/plain/audit") == true)
    }

    /// Makes the log directory unwritable (replaced by a plain file) and forces the next write
    /// to create a file in it (rotation by time); `restore` puts the directory back.
    func breakDirectory(_ path: String) throws -> () throws -> Void {
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        try Data().write(to: URL(fileURLWithPath: path))
        return {
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: path + ".moved", toPath: path)
        }
    }

    @Test func continuePolicyKeepsAcceptingAndCounts() async throws {
        let root = try TemporaryDirectory()
        defer { root.cleanup() }
        let path = root.path + "/audit"
        let clock = ManualClock()
        let config = configuration(path) { $0.onWriteFailure = .continue; $0.rotateInterval = .seconds(60) }
        let log = try AuditLog(configuration: config, logger: quietLogger, now: clock.now)
        try await log.recordDurably(event("before"))
        let restore = try breakDirectory(path)
        clock.advance(seconds: 60)
        try await log.recordDurably(event("during-1"))     // fails to reach the file, but does not throw
        try await log.record(event("during-2"))
        #expect(log.failure?.contains(path) == true, "\(log.failure ?? "nil")")          // surfaced, naming the directory
        #expect(log.statistics.writeFailures >= 1)
        try restore()
        await eventually("the writer reopens the log") { log.failure == nil }
        try await log.recordDurably(event("after"))
        await log.close()
        #expect(log.statistics.lost >= 1)
        let files = try AuditVerifier.files(inDirectory: path)
        let ids = try records(files).map(\.event.eventID)
        #expect(ids.first == "before" && ids.last == "after")
        #expect(!ids.contains("during-1"))
        let result = AuditVerifier.verify(files: files)
        #expect(result.isIntact, "\(result.problems)")                // the file's chain skips what it never got
    }

    @Test func failClosedPolicyRefusesUntilWritable() async throws {
        let root = try TemporaryDirectory()
        defer { root.cleanup() }
        let path = root.path + "/audit"
        let clock = ManualClock()
        let config = configuration(path) { $0.onWriteFailure = .failClosed; $0.rotateInterval = .seconds(60) }
        let log = try AuditLog(configuration: config, logger: quietLogger, now: clock.now)
        try await log.recordDurably(event("before"))
        let restore = try breakDirectory(path)
        clock.advance(seconds: 60)
        let durable = await #expect(throws: AuditError.self) { try await log.recordDurably(event("during-1")) }
        #expect(durable?.kind == .unavailable)
        #expect(durable?.description.contains("Not a directory") == true)
        let plain = await #expect(throws: AuditError.self) { try await log.record(event("during-2")) }
        #expect(plain?.kind == .unavailable)
        try restore()
        await eventually("the writer reopens the log") { log.failure == nil }
        try await log.recordDurably(event("after"))
        await log.close()
        let files = try AuditVerifier.files(inDirectory: path)
        #expect(try records(files).map(\.event.eventID) == ["before", "after"])
        #expect(AuditVerifier.verify(files: files).isIntact)
    }
}
