import ArgumentParser
import Foundation
import Screening

/// `menshen lexicon …`: tools for the people who edit lexicons.
struct LexiconCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lexicon",
        abstract: "Validate, measure and test lexicon directories.",
        subcommands: [Validate.self, Stats.self, TestCases.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every file in a lexicon directory; exit 1 with every file:line error.")
        @Argument(help: "The lexicon directory.") var directory: String = "Lexicons"

        func run() throws {
            let set = try loadLexicons(directory)
            for warning in set.warnings { printError("warning: \(warning)") }
            let terms = set.stats.termsByCategory.values.reduce(0, +)
            print("ok: \(set.rules.count) rules, \(terms) terms, \(set.stats.exceptionTerms) exceptions, \(set.stats.regexRules) regex rules; version \(set.version)")
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Terms per category, automaton size, memory and compile time.")
        @Argument(help: "The lexicon directory.") var directory: String = "Lexicons"

        func run() throws {
            let set = try loadLexicons(directory)
            let s = set.stats
            print("version \(set.version)")
            print("compile time: \(String(format: "%.3f", s.compileSeconds)) s")
            print("terms per category:")
            for (category, count) in s.termsByCategory.sorted(by: { $0.key < $1.key }) { print("  \(category)\t\(count)") }
            print("exception terms: \(s.exceptionTerms)")
            print("regex rules: \(s.regexRules)")
            for p in s.profiles {
                print("automaton [\(p.steps)]: \(p.patterns) patterns, \(p.states) states, alphabet \(p.alphabet), \(p.bytes / 1024) KiB")
            }
            print("automata memory: \(s.automatonBytes / 1024) KiB")
        }
    }

    struct TestCases: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test", abstract: "Run every *.cases.jsonl regression case against its directory.")
        @Argument(help: "The lexicon directory.") var directory: String = "Lexicons"

        func run() throws {
            let set = try loadLexicons(directory)
            let cases: [RegressionCase]
            do { cases = try RegressionSuite.load(directory: directory) } catch {
                for issue in error.issues { printError(issue.description) }
                throw ExitCode(1)
            }
            let failures = RegressionSuite.run(cases, lexicons: set)
            for f in failures { print("FAIL \(f)") }
            print("\(cases.count - failures.count) passed, \(failures.count) failed")
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }
}
