import Foundation

/// When a lexicon file last changed: the last commit touching it when the file is in a git
/// work tree and has no uncommitted changes, its modification time otherwise.
public struct FileDates: Sendable {
    public enum Source: String, Sendable, Codable {
        /// `git log -1 --format=%cI -- FILE`.
        case git
        /// File modification time (not in a git work tree, or git is not installed).
        case mtime
        /// File modification time because the file has uncommitted changes or is untracked.
        case uncommitted = "mtime (uncommitted)"
    }

    /// Whether to ask git at all (tests of mtime handling turn it off).
    public var useGit: Bool

    public init(useGit: Bool = true) { self.useGit = useGit }

    public func lastChange(of path: String) -> (date: Date, source: Source)? {
        let mtime = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        guard useGit else { return mtime.map { ($0, .mtime) } }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path, name = url.lastPathComponent
        guard let status = git(["-C", directory, "status", "--porcelain", "--", name]) else {
            return mtime.map { ($0, .mtime) }
        }
        if !status.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return mtime.map { ($0, .uncommitted) } }
        guard let log = git(["-C", directory, "log", "-1", "--format=%cI", "--", name]),
              let date = ISO8601DateFormatter().date(from: log.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return mtime.map { ($0, .uncommitted) }
        }
        return (date, .git)
    }

    /// Standard output of `git ARGS`, or nil if git is missing or fails (e.g. not a work tree).
    private func git(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
