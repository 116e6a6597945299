import Crypto
import Foundation

/// Checks the hash chain of audit files, in order, and names the first broken link.
///
/// ```swift
/// let result = AuditVerifier.verify(files: try AuditVerifier.files(inDirectory: "/var/log/menshen/audit"))
/// result.isIntact        // false
/// result.problems[0]     // audit-…jsonl:42: hash mismatch (edited)
/// ```
///
/// What it proves: every line is unchanged since it was written and follows the line before,
/// across files. What it cannot: that lines are missing *after* the last one (a truncated
/// tail), or that whole files are missing *before* the first (retention deletes them, so the
/// first `prev` is taken as given — `startsAtGenesis` says whether it is the very start).
/// Someone able to rewrite the files can also rebuild the chain; compare the last `hash`
/// with the copy the stdout collector keeps to rule that out.
public enum AuditVerifier {
    /// One broken link: `file:line: message`.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let file: String
        /// 1-based line number within `file`.
        public let line: Int
        public let message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// What the verifier found.
    public struct Result: Sendable, Equatable {
        /// Records read (well-formed lines).
        public var records = 0
        /// Problems in file order, at most `maximumProblems`.
        public var problems: [Problem] = []
        /// The first record's `prev` is the genesis value: nothing was written before it.
        public var startsAtGenesis = false
        /// The last record's hash (compare with an external copy to detect a cut tail).
        public var lastHash: String?
        public var isIntact: Bool { problems.isEmpty }
    }

    /// After this many, stop collecting (one broken link tends to cascade only a little,
    /// but a wrong file order breaks every line).
    public static let maximumProblems = 100

    /// Verifies `files` as one chain, in the order given.
    public static func verify(files: [String]) -> Result {
        var result = Result()
        var previous: (hash: String, seq: UInt64, place: String)?
        var first = true
        func problem(_ file: String, _ line: Int, _ message: String) {
            if result.problems.count < maximumProblems { result.problems.append(Problem(file: file, line: line, message: message)) }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                problem(file, 0, "cannot be read")
                continue
            }
            let bytes = [UInt8](data)
            var lineNumber = 0
            var start = 0
            while start < bytes.count {
                lineNumber += 1
                let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? bytes.count
                let line = bytes[start..<end]
                defer { start = end + 1 }
                if newline == nil {
                    problem(file, lineNumber, "torn last line (no newline: a crash mid-write; reopening the log moves it aside)")
                    continue
                }
                guard let parts = AuditRecord.split(line: line), let record = try? AuditRecord(line: line) else {
                    problem(file, lineNumber, line.isEmpty ? "empty line" : "not an audit record")
                    continue
                }
                result.records += 1
                let claimed = parts.hash
                if hexString(SHA256.hash(data: parts.body)) != claimed {
                    problem(file, lineNumber, "hash mismatch (edited)")
                }
                let here = files.count > 1 ? "\(file.split(separator: "/").last.map(String.init) ?? file):\(lineNumber)" : "line \(lineNumber)"
                if let previous {
                    if record.prev != previous.hash {
                        problem(file, lineNumber, "prev does not match \(previous.place) (deleted or reordered; seq \(record.seq) follows \(previous.seq))")
                    }
                } else if first {
                    result.startsAtGenesis = record.prev == AuditRecord.genesis
                }
                first = false
                // Continue from this line's claimed hash, so one edit is reported once.
                previous = (claimed, record.seq, here)
            }
        }
        result.lastHash = previous?.hash
        return result
    }

    /// The log files of a directory in write order (torn-tail files and others skipped).
    public static func files(inDirectory directory: String) throws(AuditError) -> [String] {
        do { return try LogFile.list(directory).map { directory + "/" + $0.name } } catch {
            throw .cannotOpen(directory, "\(error)")
        }
    }
}
