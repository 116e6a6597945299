@testable import Audit
import Foundation
import Testing

struct VerifierTests {
    /// A 50-record log in one file.
    func writeLog(_ dir: TemporaryDirectory, count: Int = 50) async throws -> String {
        let log = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        for i in 1...count { try await log.record(event("e\(i)")) }
        await log.close()
        return try #require(dir.logFiles.first)
    }

    /// (name, edit of the lines (index 0 = line 1), the first problem's line, a fragment of its message)
    static let tamperings: [(String, @Sendable (inout [String]) -> Void, Int, String)] = [
        ("deleted", { $0.remove(at: 16) }, 17, "prev does not match line 16 (deleted or reordered"),
        ("edited", { $0[41] = $0[41].replacingOccurrences(of: "这款产品****", with: "这款产品很好") }, 42, "hash mismatch (edited)"),
        ("reordered", { $0.swapAt(19, 20) }, 20, "prev does not match line 19 (deleted or reordered"),
        ("edited with a recomputed hash", { lines in
            var record = try! AuditRecord(line: Array(lines[9].utf8))
            record.event.action = .flag
            lines[9] = String(decoding: try! AuditRecord.line(for: record.event, seq: record.seq, prev: record.prev).bytes.dropLast(), as: UTF8.self)
        }, 11, "prev does not match line 10"),
        ("inserted", { $0.insert($0[5], at: 30) }, 31, "prev does not match line 30"),
        ("torn", { $0[49] = String($0[49].prefix(40)); $0.removeLast() }, 50, "torn last line"),
        ("garbage", { $0[3] = "{\"time\":" }, 4, "not an audit record"),
    ]

    @Test(arguments: tamperings)
    func findsTheBrokenLink(name: String, edit: @Sendable (inout [String]) -> Void, line: Int, message: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try await writeLog(dir)
        #expect(AuditVerifier.verify(files: [file]).isIntact)
        var text = try lines(file)          // the last element is "" (the file ends with a newline)
        edit(&text)
        try write(text, to: file)
        let result = AuditVerifier.verify(files: [file])
        let first = try #require(result.problems.first, "\(name) not detected")
        #expect(first.line == line, "\(name): \(first)")
        #expect(first.message.contains(message), "\(name): \(first)")
        #expect(first.description.hasPrefix("\(file):\(line): "))
    }

    @Test func oneEditIsReportedOnce() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try await writeLog(dir)
        var text = try lines(file)
        text[41] = text[41].replacingOccurrences(of: "\"block\"", with: "\"flag\"")
        try write(text, to: file)
        #expect(AuditVerifier.verify(files: [file]).problems.count == 1)
    }

    @Test func brokenLinkAcrossFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let log = try AuditLog(configuration: configuration(dir.path) { $0.maxFileBytes = 4096 }, logger: quietLogger)
        for i in 0..<20 { try await log.record(event("e\(i)")) }
        await log.close()
        let files = dir.logFiles
        #expect(files.count >= 2)
        let previousLast = try lines(files[0]).filter { !$0.isEmpty }.count
        var second = try lines(files[1])
        second.removeFirst()                                 // the first record of the second file
        try write(second, to: files[1])
        let problem = try #require(AuditVerifier.verify(files: files).problems.first)
        #expect(problem.file == files[1] && problem.line == 1)
        #expect(problem.message.contains("prev does not match \(URL(fileURLWithPath: files[0]).lastPathComponent):\(previousLast)"), "\(problem)")
        // Files given out of order break at the first file's start.
        #expect(!AuditVerifier.verify(files: files.reversed()).isIntact)
    }
}

struct CrashRecoveryTests {
    /// Crash debris appended to a good log: (name, bytes).
    static let debris: [(String, [UInt8])] = [
        ("half a line", Array("{\"action\":\"block\",\"categories\":[\"fin".utf8)),
        ("zeros from a lost page", [UInt8](repeating: 0, count: 300)),
        ("a garbage line and half a line", Array("\0\0\0\0\n{\"action\":".utf8)),
    ]

    @Test(arguments: debris)
    func tornTailIsMovedAsideAndTheChainContinues(name: String, tail: [UInt8]) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let first = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        for i in 0..<5 { try await first.recordDurably(event("e\(i)")) }
        await first.close()
        let file = try #require(dir.logFiles.first)
        let good = try Data(contentsOf: URL(fileURLWithPath: file))
        let handle = try #require(FileHandle(forWritingAtPath: file))
        handle.seekToEndOfFile()
        handle.write(Data(tail))
        handle.closeFile()
        #expect(!AuditVerifier.verify(files: [file]).isIntact)

        let reopened = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        #expect(reopened.statistics.tornTails == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == good, "\(name): the good part must stay byte for byte")
        let aside = try #require(dir.contents(".torn-").first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + aside)) == Data(tail))
        try await reopened.recordDurably(event("after"))
        await reopened.close()

        let all = try records(dir.logFiles)
        #expect(all.map(\.event.eventID) == ["e0", "e1", "e2", "e3", "e4", "after"])
        #expect(all[5].prev == all[4].hash && all[5].seq == 6)
        let result = AuditVerifier.verify(files: dir.logFiles)
        #expect(result.isIntact, "\(result.problems)")
        #expect(dir.logFiles.count == 1)                    // .torn files are not log files
    }

    @Test func emptyNewestFileContinuesFromThePreviousOne() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let first = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        for i in 0..<3 { try await first.recordDurably(event("e\(i)")) }
        await first.close()
        // A crash right after a rotation leaves a new, empty file.
        let empty = dir.path + "/" + LogFile(seq: 4, start: Date()).name
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let reopened = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        try await reopened.recordDurably(event("after"))
        await reopened.close()
        #expect(dir.logFiles.count == 2)
        #expect(try records([empty]).map(\.event.eventID) == ["after"])
        #expect(AuditVerifier.verify(files: dir.logFiles).isIntact)
    }

    /// The real thing: a child process writing hard is killed with SIGKILL; every event it
    /// acknowledged (printed after `recordDurably` returned) must be in the log, and after
    /// reopening, the chain must verify.
    @Test func killedWriterLosesNothingAcknowledged() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let helper = try #require(Self.helperPath(), "AuditCrashHelper not built next to the test bundle")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = [dir.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()

        let wanted = 40
        let acknowledged: [String] = await withCheckedContinuation { continuation in
            // Blocking reads, off the cooperative pool. A watchdog kills a child that stalls.
            DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            DispatchQueue.global().async {
                var buffer = Data()
                var killed = false
                while true {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }                   // EOF: the child is gone
                    buffer.append(chunk)
                    if !killed && buffer.filter({ $0 == UInt8(ascii: "\n") }).count >= wanted {
                        kill(process.processIdentifier, SIGKILL)
                        killed = true
                    }
                }
                process.waitUntilExit()
                // Only whole lines are acknowledgements.
                let text = String(decoding: buffer, as: UTF8.self)
                var ids = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                ids.removeLast()                                 // after the last newline: partial or empty
                continuation.resume(returning: ids)
            }
        }
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
        #expect(acknowledged.count >= wanted)

        let reopened = try AuditLog(configuration: configuration(dir.path), logger: quietLogger)
        try await reopened.recordDurably(event("after-crash"))
        await reopened.close()
        let files = dir.logFiles
        let result = AuditVerifier.verify(files: files)
        #expect(result.isIntact, "\(result.problems.prefix(3))")
        let ids = Set(try records(files).map(\.event.eventID))
        let missing = acknowledged.filter { !ids.contains($0) }
        #expect(missing.isEmpty, "acknowledged but not in the log: \(missing.prefix(5))")
        #expect(ids.contains("after-crash"))
        #expect(files.count > 1, "the helper's small files should have rotated")
    }

    /// The helper is built beside the test bundle (the test target depends on it).
    static func helperPath() -> String? {
        var candidates: [URL] = []
        #if os(Linux)
        candidates.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
        #endif
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return candidates.map { $0.appendingPathComponent("AuditCrashHelper").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
