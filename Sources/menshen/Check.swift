import ArgumentParser
import Foundation
import Screening

/// `menshen check`: screen one text with the lexicons and say what Menshen would do.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Screen a text with the lexicons.",
        discussion: """
        Prints every match (rule, category, action, byte range, the matched text masked) and the
        decision. Exit code: 0 allow, 2 flag, 3 mask, 4 block, 1 on an error.
        """)

    @Option(help: "The lexicon directory.")
    var lexicons: String = "Lexicons"

    @Option(help: "input (a prompt) or output (an answer).")
    var direction: Direction = .output

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Argument(help: "The text to screen, or - to read standard input.")
    var text: String = "-"

    func run() throws {
        let set = try loadLexicons(lexicons)
        var input = text
        if text == "-" {
            input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            if input.hasSuffix("\n") { input.removeLast() }
        }
        let result = set.screen(input, direction: direction)
        let report = ScreeningReport(result: result, text: input, direction: direction, lexicons: set)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("\(report.decision.rawValue.uppercased())  (direction \(direction.rawValue), lexicons \(report.lexiconVersion))")
            for hit in report.matches {
                print("  \(hit.action.rawValue)\t\(hit.rule)\t\(hit.category)\(hit.risk.map { " [\($0)]" } ?? "")\tbytes \(hit.start)..<\(hit.end)\t\(hit.masked)\t\(hit.source)\(hit.context.map { "\tcontext: \($0)" } ?? "")")
            }
            for hit in report.allowedByContext {
                print("  allow\t\(hit.rule)\t\(hit.category)\tbytes \(hit.start)..<\(hit.end)\t\(hit.masked)\t\(hit.source)\tcontext: \(hit.context ?? "?")")
            }
            if report.decision == .mask { print("masked: \(report.maskedText)") }
        }
        switch report.decision {
        case .allow: return
        case .flag: throw ExitCode(2)
        case .mask: throw ExitCode(3)
        case .block: throw ExitCode(4)
        }
    }
}

extension Direction: ExpressibleByArgument {}

/// Loads lexicons or exits 1 with every `file:line` problem on standard error.
func loadLexicons(_ directory: String) throws -> LexiconSet {
    do {
        return try LexiconSet.load(directory: directory)
    } catch {
        for issue in error.issues { printError(issue.description) }
        printError("\(error.issues.count) problem(s); no lexicons loaded.")
        throw ExitCode(1)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
