#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging

/// The log's files in one directory: `audit-<first seq, 16 digits>-<start, UTC>.jsonl`.
///
/// Names sort in write order (by sequence number, not by the clock, which can step back).
/// The newest file is the one being written; the others are closed and fsynced.
///
/// - Rotation: before a line would take the file past `maxFileBytes`, or when the file is
///   older than `rotateInterval`; the new file's first record links to the old file's last.
/// - Retention (at open and after each rotation): a closed file is deleted once its last
///   record — the start of the next file — is older than `retentionDays`; then the oldest
///   go until at most `maxFiles` remain. The file being written is never deleted.
/// - Recovery (at open and reopen): a crash can leave the newest file with a torn last line
///   (no newline) or with garbage complete lines (a power loss after the size grew but
///   before the data landed). Those trailing bytes are moved to `<file>.torn-<time>` and
///   the file is truncated to its last parseable record, so the log appends to whole lines
///   only and the chain continues from that record. Lines that parse but fail their hash are
///   *not* touched: that is tampering, for the verifier to report, not crash debris.
final class FileSink: AuditSink {
    let directory: String
    let configuration: AuditConfiguration
    let logger: Logger
    var name: String { "file \(directory)" }
    let holdsChain = true
    var isOpen: Bool { fd >= 0 }

    /// Torn tails moved aside since start (for statistics).
    private(set) var tornTails = 0

    private var fd: Int32 = -1
    private var current: LogFile?
    /// Bytes of complete lines in the current file: where a failed write is cut back to.
    private var size = 0
    private var unsynced = false

    init(directory: String, configuration: AuditConfiguration, logger: Logger) {
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
    }

    // MARK: Opening and recovery

    func open(now: Date) throws -> ChainHead? {
        if fd >= 0 { POSIXFile.closeFile(fd); fd = -1 }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SystemError(operation: "create directory", path: directory, reason: "\(error.localizedDescription)")
        }
        let files = try LogFile.list(directory)
        var head: ChainHead?
        if let newest = files.last {
            let path = self.path(newest)
            let newFD = try POSIXFile.openFile(path, flags: O_RDWR | O_APPEND)
            do {
                let fileSize = try POSIXFile.fileSize(newFD, path: path)
                let scan = try Self.scanTail(newFD, size: fileSize, path: path)
                if scan.goodLength < fileSize { try moveAside(newFD, path: path, from: scan.goodLength, to: fileSize, now: now) }
                size = scan.goodLength
                head = scan.head
            } catch {
                POSIXFile.closeFile(newFD)
                throw error
            }
            fd = newFD
            current = newest
            // An empty newest file (crash right after a rotation): the chain continues from
            // the last record of the files before it.
            for older in files.dropLast().reversed() where head == nil {
                let olderPath = self.path(older)
                let olderFD = try POSIXFile.openFile(olderPath, flags: O_RDONLY)
                defer { POSIXFile.closeFile(olderFD) }
                head = try Self.scanTail(olderFD, size: try POSIXFile.fileSize(olderFD, path: olderPath), path: olderPath).head
            }
        } else {
            // Created now rather than at the first record, so an unwritable directory shows at start.
            try create(LogFile(seq: 1, start: now), now: now)
        }
        unsynced = false
        applyRetention(now: now)
        return head
    }

    /// Finds the end of the last parseable record in a file: everything after it is torn.
    static func scanTail(_ fd: Int32, size: Int, path: String) throws -> (goodLength: Int, head: ChainHead?) {
        var chunk = 64 << 10
        while true {
            let start = max(0, size - chunk)
            let bytes = try POSIXFile.readAt(fd, offset: start, count: size - start, path: path)
            // Walk back over complete lines: `end` is the newline that ends the candidate.
            var end = bytes.lastIndex(of: UInt8(ascii: "\n"))
            while let e = end {
                let previous = bytes[..<e].lastIndex(of: UInt8(ascii: "\n"))
                if previous == nil && start > 0 { break }          // the line begins before this chunk
                if let record = try? AuditRecord(line: bytes[(previous.map { $0 + 1 } ?? 0)..<e]) {
                    return (start + e + 1, ChainHead(seq: record.seq, hash: record.hash))
                }
                end = previous
            }
            if start == 0 { return (0, nil) }                       // the whole file holds no record
            chunk *= 4
        }
    }

    /// Copies the torn bytes `[from, to)` to `<file>.torn-<time>` and truncates the file to `from`.
    private func moveAside(_ fd: Int32, path: String, from: Int, to: Int, now: Date) throws {
        let torn = try POSIXFile.readAt(fd, offset: from, count: to - from, path: path)
        var asidePath = "\(path).torn-\(RFC3339.compact(now))"
        var n = 1
        while FileManager.default.fileExists(atPath: asidePath) { n += 1; asidePath = "\(path).torn-\(RFC3339.compact(now))-\(n)" }
        let aside = try POSIXFile.openFile(asidePath, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { POSIXFile.closeFile(aside) }
        try POSIXFile.writeAll(aside, torn, path: asidePath)
        try POSIXFile.sync(aside, path: asidePath)
        try POSIXFile.truncateFile(fd, to: from, path: path)
        try POSIXFile.sync(fd, path: path)
        try POSIXFile.syncDirectory(directory)
        tornTails += 1
        logger.warning("audit log: torn tail after a crash moved aside", metadata: [
            "file": "\(path)", "kept_bytes": "\(from)", "torn_bytes": "\(to - from)", "moved_to": "\(asidePath)"])
    }

    // MARK: Writing

    func write(_ lines: [(seq: UInt64, bytes: [UInt8])], now: Date) throws {
        guard fd >= 0, current != nil else {
            throw SinkFailure(written: 0, underlying: SystemError(operation: "write", path: directory, errno: EBADF))
        }
        var buffer: [UInt8] = []
        var buffered = 0
        var written = 0
        do {
            for line in lines {
                let fileBytes = size + buffer.count
                if fileBytes > 0 && (fileBytes + line.bytes.count > configuration.maxFileBytes || isDue(now)) {
                    try flush(&buffer)
                    written += buffered; buffered = 0
                    try rotate(firstSeq: line.seq, now: now)
                }
                buffer += line.bytes
                buffered += 1
            }
            try flush(&buffer)
            written += buffered
        } catch {
            // Cut a partial write back to the last whole line, so later lines never follow a
            // fragment; if even that fails, reopening will find and move the fragment aside.
            if fd >= 0 {
                if let path = current.map({ self.path($0) }) { try? POSIXFile.truncateFile(fd, to: size, path: path) }
                POSIXFile.closeFile(fd)
                fd = -1
            }
            throw SinkFailure(written: written, underlying: error)
        }
    }

    private func flush(_ buffer: inout [UInt8]) throws {
        guard !buffer.isEmpty, let current else { return }
        try POSIXFile.writeAll(fd, buffer, path: path(current))
        size += buffer.count
        unsynced = true
        buffer.removeAll(keepingCapacity: true)
    }

    private func isDue(_ now: Date) -> Bool {
        guard let interval = configuration.rotateInterval, let current else { return false }
        return now.timeIntervalSince(current.start) >= Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
    }

    /// Closes the current file (fsynced) and starts the next one.
    private func rotate(firstSeq: UInt64, now: Date) throws {
        try sync()
        POSIXFile.closeFile(fd)
        fd = -1
        try create(LogFile(seq: firstSeq, start: now), now: now)
        logger.info("audit log rotated", metadata: ["file": "\(path(current!))"])
        applyRetention(now: now)
    }

    private func create(_ file: LogFile, now: Date) throws {
        let path = self.path(file)
        let newFD = try POSIXFile.openFile(path, flags: O_RDWR | O_APPEND | O_CREAT)
        do {
            size = try POSIXFile.fileSize(newFD, path: path)
            try POSIXFile.syncDirectory(directory)      // the new name survives a crash
        } catch {
            POSIXFile.closeFile(newFD)
            throw error
        }
        fd = newFD
        current = file
    }

    func sync() throws {
        guard fd >= 0, unsynced, let current else { return }
        do { try POSIXFile.sync(fd, path: path(current)) } catch {
            // After a failed fsync the page cache's state is unknown: reopen and rescan.
            POSIXFile.closeFile(fd)
            fd = -1
            throw error
        }
        unsynced = false
    }

    func close() {
        try? sync()
        if fd >= 0 { POSIXFile.closeFile(fd); fd = -1 }
    }

    // MARK: Retention

    private func applyRetention(now: Date) {
        guard let files = try? LogFile.list(directory), files.count > 1 else { return }
        let limit = now.addingTimeInterval(-Double(configuration.retentionDays) * 86_400)
        var doomed: [LogFile] = []
        for (i, file) in files.dropLast().enumerated() where files[i + 1].start < limit {
            doomed.append(file)        // its last record was written before the next file began
        }
        if let maxFiles = configuration.maxFiles {
            let remaining = files.count - doomed.count
            if remaining > maxFiles {
                let kept = Set(doomed.map(\.name))
                doomed += files.dropLast().filter { !kept.contains($0.name) }.prefix(remaining - maxFiles)
            }
        }
        guard !doomed.isEmpty else { return }
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in doomed {
            for name in siblings where name == file.name || name.hasPrefix(file.name + ".torn-") {
                do {
                    try FileManager.default.removeItem(atPath: directory + "/" + name)
                    logger.info("audit log file deleted by retention", metadata: ["file": "\(name)"])
                } catch {
                    logger.warning("audit log retention could not delete a file", metadata: ["file": "\(name)", "error": "\(error)"])
                }
            }
        }
        try? POSIXFile.syncDirectory(directory)
    }

    private func path(_ file: LogFile) -> String { directory + "/" + file.name }
}

/// A log file's name: `audit-<first seq>-<start>.jsonl`.
struct LogFile: Sendable, Equatable {
    let seq: UInt64
    let start: Date
    let name: String

    init(seq: UInt64, start: Date) {
        self.seq = seq
        let digits = String(seq)
        self.name = "audit-" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + "-" + RFC3339.compact(start) + ".jsonl"
        self.start = RFC3339.parseCompact(RFC3339.compact(start)) ?? start        // what the name says
    }

    /// Parses a name; nil for anything else in the directory (torn tails, stray files).
    init?(name: String) {
        guard name.hasPrefix("audit-"), name.hasSuffix(".jsonl") else { return nil }
        let middle = name.dropFirst(6).dropLast(6)
        let parts = middle.split(separator: "-")
        guard parts.count == 2, parts[0].count == 16, let seq = UInt64(parts[0]), let start = RFC3339.parseCompact(parts[1]) else { return nil }
        self.seq = seq
        self.start = start
        self.name = name
    }

    /// The log files of a directory, oldest first.
    static func list(_ directory: String) throws -> [LogFile] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw SystemError(operation: "list", path: directory, reason: error.localizedDescription)
        }
        return names.compactMap(LogFile.init(name:)).sorted { ($0.seq, $0.start.timeIntervalSince1970, $0.name) < ($1.seq, $1.start.timeIntervalSince1970, $1.name) }
    }
}
