@testable import Audit
import Foundation
import Logging
import Testing

/// A fresh directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("menshen-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    /// The log files, in write order.
    var logFiles: [String] { (try? AuditVerifier.files(inDirectory: path)) ?? [] }

    func contents(_ name: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path))?.filter { $0.contains(name) }.sorted() ?? [] }
}

/// A clock the test moves by hand: rotation by time and retention without sleeping.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_756_684_800)) { value = start }     // 2025-09-01T00:00:00Z

    var now: @Sendable () -> Date { { [self] in lock.withLock { value } } }

    func advance(seconds: Double) { lock.withLock { value = value.addingTimeInterval(seconds) } }
}

/// A value several tasks can read and write.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}

func event(_ id: String, time: Date = Date(timeIntervalSince1970: 1_756_684_800.123456)) -> AuditEvent {
    var e = AuditEvent(time: time, eventID: id, requestID: "req-\(id)", action: .block, route: "/v1/chat/completions",
                       model: "qwen2.5-72b", upstream: "http://127.0.0.1:8000", direction: .output)
    e.ruleIDs = ["finance.guaranteed-returns"]
    e.categories = ["finance"]
    e.severities = ["high"]
    e.lexiconVersion = "2025.09.01-1"
    e.matchOffsets = [12..<24]
    e.textSHA256 = AuditEvent.sha256("这款产品稳赚不赔 \(id)")
    e.excerpt = "这款产品****"
    e.client = ["x-user-id": "u-42", "x-app-id": "wealth-bot"]
    e.latencyMs = 12.5
    return e
}

func configuration(_ directory: String, _ change: (inout AuditConfiguration) -> Void = { _ in }) -> AuditConfiguration {
    var c = AuditConfiguration()
    c.directory = directory
    c.retryInterval = .milliseconds(10)
    change(&c)
    return c
}

/// Every record of the log files, in order.
func records(_ files: [String]) throws -> [AuditRecord] {
    try files.flatMap { file -> [AuditRecord] in
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        return try data.split(separator: UInt8(ascii: "\n")).map { try AuditRecord(line: $0) }
    }
}

func lines(_ file: String) throws -> [String] {
    try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
}

func write(_ lines: [String], to file: String) throws {
    try lines.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
}

/// Waits (yielding, bounded) until `condition` holds — for state that changes on the
/// writer's own timer (retries), never as a stand-in for a completion the API reports.
func eventually(_ what: Comment, within limit: Duration = .seconds(10), _ condition: () async -> Bool) async {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return }
        await Task.yield()
    }
    Issue.record("timed out waiting: \(what)")
}

let quietLogger: Logger = {
    var l = Logger(label: "audit-test")
    l.logLevel = .critical
    return l
}()
