import Audit
import Foundation
import Logging

/// The child process of the crash test: writes audit events until it is killed.
///
/// `AuditCrashHelper DIR`: one task records events durably and prints each event id to
/// standard output once `recordDurably` has returned (the acknowledgement the test checks
/// against the log); another task records plain events meanwhile, so the writer is busy —
/// and small files rotate — when SIGKILL arrives.
///
/// `AuditCrashHelper DIR COUNT`: stops after COUNT acknowledged events, closes the log and
/// exits 0 (scripts/e2e.sh uses it to make a log for `menshen audit verify`).
@main
struct AuditCrashHelper {
    static func main() async throws {
        let directory = CommandLine.arguments[1]
        let count = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) : nil
        var configuration = AuditConfiguration()
        configuration.directory = directory
        configuration.maxFileBytes = 16 << 10
        configuration.queueCapacity = 16
        var logger = Logger(label: "audit-crash-helper")
        logger.logLevel = .warning
        let log = try AuditLog(configuration: configuration, logger: logger)
        @Sendable func event(_ id: String, excerpt: Int) -> AuditEvent {
            var e = AuditEvent(eventID: id, requestID: "req-\(id)", action: .block, route: "/v1/chat/completions", direction: .output)
            e.excerpt = String(repeating: "稳赚不赔", count: excerpt)
            return e
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var i = 0
                while !Task.isCancelled { try await log.record(event("noise-\(i)", excerpt: 10)); i += 1 }
            }
            group.addTask {
                var i = 0
                while i != count {
                    let id = "ack-\(i)"
                    try await log.recordDurably(event(id, excerpt: 2))
                    FileHandle.standardOutput.write(Data((id + "\n").utf8))
                    i += 1
                }
            }
            try await group.next()           // only the acknowledging task ends (after COUNT)
            group.cancelAll()
        }
        await log.close()
    }
}
