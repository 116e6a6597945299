/// How the audit log writes. Policy file section `audit:`; the keys are the snake_case of
/// the fields (`directory`, `max_file_bytes`, `rotate_interval`, `retention_days`,
/// `max_files`, `fsync_interval`, `queue_capacity`, `on_write_failure`, `stdout`,
/// `retry_interval`, `max_excerpt_characters`).
public struct AuditConfiguration: Sendable, Equatable {
    /// What `record` does when the log cannot be written (disk full, directory gone).
    public enum WriteFailurePolicy: String, Sendable, CaseIterable {
        /// Keep serving: count the error, log it, lose the record from the file (the stdout
        /// sink, if on, still carries it). `record*` does not throw.
        case `continue` = "continue"
        /// Stop serving: `record*` throws `AuditError.unavailable` until a write succeeds
        /// again, so the proxy answers 503 rather than serve unrecorded decisions.
        case failClosed = "fail_closed"
    }

    /// Directory of the log files (`audit-<first seq>-<start time>.jsonl`); `nil` for no file
    /// sink. Created if missing.
    public var directory: String? = "audit"
    /// A file is rotated before a line would take it past this size. Default 64 MiB.
    public var maxFileBytes = 64 << 20
    /// A file is rotated once it is this old (at its next write); `nil` for size only.
    /// Default one day.
    public var rotateInterval: Duration? = .seconds(86_400)
    /// Rotated files are deleted once their last record is this many days old. The
    /// Cybersecurity Law asks for at least six months of network logs: default 180.
    public var retentionDays = 180
    /// At most this many files are kept (the oldest go first); `nil` for no limit. A safety
    /// net for disk space: it can delete records younger than `retentionDays`.
    public var maxFiles: Int?
    /// Records written with `record` are fsynced at most this long after being written;
    /// `recordDurably` fsyncs at once (sharing the fsync with whatever else is pending).
    public var fsyncInterval: Duration = .milliseconds(50)
    /// Records waiting for the writer. When full, `record` waits for room (backpressure);
    /// nothing is dropped.
    public var queueCapacity = 4096
    /// See `WriteFailurePolicy`. Default fail-closed: the records are a legal duty.
    public var onWriteFailure: WriteFailurePolicy = .failClosed
    /// Also write every line to standard output, for the cluster's log collector.
    public var stdout = false
    /// While failing, how often the writer tries to reopen the log.
    public var retryInterval: Duration = .seconds(1)
    /// Excerpts longer than this are cut (they are masked already; this keeps lines short).
    public var maxExcerptCharacters = 200

    public init() {}

    /// Problems, each naming its key; empty when usable.
    public func validate() -> [String] {
        var problems: [String] = []
        if directory == nil && !stdout { problems.append("audit: no sink (set audit.directory or audit.stdout)") }
        if let directory, directory.isEmpty { problems.append("audit.directory: empty") }
        if maxFileBytes < 4096 { problems.append("audit.max_file_bytes: must be at least 4096") }
        if let rotateInterval, rotateInterval < .seconds(1) { problems.append("audit.rotate_interval: must be at least 1s") }
        if retentionDays < 1 { problems.append("audit.retention_days: must be at least 1") }
        if let maxFiles, maxFiles < 2 { problems.append("audit.max_files: must be at least 2") }
        if fsyncInterval < .zero || fsyncInterval > .seconds(10) { problems.append("audit.fsync_interval: must be between 0 and 10s") }
        if queueCapacity < 1 { problems.append("audit.queue_capacity: must be at least 1") }
        if retryInterval < .milliseconds(10) { problems.append("audit.retry_interval: must be at least 10ms") }
        if maxExcerptCharacters < 0 { problems.append("audit.max_excerpt_characters: must not be negative") }
        return problems
    }
}
