import ArgumentParser
import Audit
import Foundation

/// `menshen audit …`: tools for the people who keep and inspect the audit log.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Inspect the audit log.",
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain of audit log files.",
            discussion: """
            Files are checked as one chain in the order given; a directory stands for its log
            files in write order. Exit 0 when intact, 1 with the first broken link named
            (file:line), 2 when nothing can be read.
            """)

        @Argument(help: "Audit log files in order, or a directory of them.")
        var paths: [String]

        func run() throws {
            var files: [String] = []
            for path in paths {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    printError("\(path): no such file or directory")
                    throw ExitCode(2)
                }
                if isDirectory.boolValue {
                    do { files += try AuditVerifier.files(inDirectory: path) } catch {
                        printError(error.description)
                        throw ExitCode(2)
                    }
                } else {
                    files.append(path)
                }
            }
            if files.isEmpty {
                printError("no audit log files in \(paths.joined(separator: " "))")
                throw ExitCode(2)
            }
            let result = AuditVerifier.verify(files: files)
            if result.isIntact {
                let start = result.startsAtGenesis ? "from the first record ever written" : "from a record whose predecessors are not among these files"
                print("intact: \(result.records) records in \(files.count) file(s), chained \(start); last hash \(result.lastHash ?? "-")")
                return
            }
            print("BROKEN: \(result.problems[0])")
            for problem in result.problems.dropFirst() { print("  also: \(problem)") }
            if result.problems.count == AuditVerifier.maximumProblems { print("  (stopped after \(AuditVerifier.maximumProblems) problems)") }
            throw ExitCode(1)
        }
    }
}
