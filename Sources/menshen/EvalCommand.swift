import ArgumentParser
import Evaluation
import Foundation
import Proxy
import Screening

/// `menshen eval`: measure lexicons against labelled corpora before they ship.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure lexicons on labelled corpora: precision/recall per category, false positives, baseline diff.",
        discussion: """
        Each CORPUS.jsonl line: {"text": …, "direction": "input"|"output", "expect": {"action": \
        "block"|"mask"|"flag"|"allow", "categories": [...], "spans": [[start, end], …]}, "id": …, \
        "note": …}. Spans are Unicode code-point offsets, end exclusive. See docs/eval.md.

        Exit code: 0 when every threshold holds (or none is given), 2 when a threshold is not \
        met (or, with --fail-on-regression, a case regressed against the baseline), 1 when the \
        lexicons, the policy or a corpus cannot be read.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case markdown, json }

    @Option(help: "The lexicon directory to evaluate. Default: the policy file's `lexicons`, else ./Lexicons.")
    var lexicons: String?
    @Option(help: "YAML policy file; its screening.actions overrides apply (as in `menshen serve`).")
    var config: String?
    @Option(help: "An older lexicon directory: list every case whose verdict changed, with the responsible rules.")
    var baseline: String?
    @Option(help: "Output format: markdown or json.")
    var format: Format = .markdown
    @Option(help: ArgumentHelp("Fail (exit 2) if recall is below X: for every category and overall, or CATEGORY=X for one.", valueName: "X"))
    var minRecall: [String] = []
    @Option(help: ArgumentHelp("Fail (exit 2) if the false-positive rate FP/(FP+TN) is above Y (every category and overall, or CATEGORY=Y).", valueName: "Y"))
    var maxFalsePositiveRate: [String] = []
    @Option(help: ArgumentHelp("Fail (exit 2) if precision is below Z (every category and overall, or CATEGORY=Z).", valueName: "Z"))
    var minPrecision: [String] = []
    @Flag(help: "With --baseline: fail (exit 2) if any case regressed (was right before, is wrong now).")
    var failOnRegression = false
    @Option(help: "What a rule written with `@action: shadow` would do if promoted (for the would-have-blocked rate).")
    var shadowAs: Action = .block
    @Option(help: "Minimum seconds spent measuring throughput (the corpus is screened repeatedly); 0 for one pass.")
    var throughputSeconds: Double = 0.25
    @Argument(help: "Corpus files (JSON Lines).")
    var corpus: [String]

    func validate() throws {
        if corpus.isEmpty { throw ValidationError("give at least one corpus file") }
        if failOnRegression && baseline == nil { throw ValidationError("--fail-on-regression needs --baseline") }
        if shadowAs == .shadow { throw ValidationError("--shadow-as must be block, mask or flag") }
        _ = try thresholds()
    }

    func thresholds() throws -> [Threshold] {
        var result: [Threshold] = []
        for (metric, arguments) in [(Threshold.Metric.minRecall, minRecall), (.minPrecision, minPrecision),
                                    (.maxFalsePositiveRate, maxFalsePositiveRate)] {
            for argument in arguments {
                guard let t = Threshold(metric: metric, argument: argument) else {
                    throw ValidationError("--\(metric.rawValue) '\(argument)': expected a number from 0 to 1 (or a percentage), optionally CATEGORY=…")
                }
                result.append(t)
            }
        }
        if failOnRegression { result.append(Threshold(metric: .noRegressions, value: 0)) }
        return result
    }

    func run() throws {
        var policy = ActionPolicy()
        var directory = lexicons ?? "Lexicons"
        if let config {
            do {
                let configuration = try SidecarConfiguration.load(file: config)
                policy = configuration.screening.actions
                if lexicons == nil { directory = configuration.lexicons }
            } catch {
                for p in error.problems { printError("configuration: \(p)") }
                throw ExitCode(1)
            }
        }
        let current = try loadLexicons(directory)
        let old = try baseline.map { try loadLexicons($0) }
        let cases: [CorpusCase]
        do { cases = try Corpus.load(paths: corpus) } catch {
            for issue in error.issues { printError(issue.description) }
            printError("\(error.issues.count) corpus problem(s).")
            throw ExitCode(1)
        }
        var options = EvaluationOptions()
        options.lexiconsPath = directory
        options.baselinePath = baseline ?? "baseline"
        options.policyPath = config
        options.corpusFiles = corpus
        options.thresholds = try thresholds()
        options.throughputMinimumSeconds = throughputSeconds
        let report = EvaluationReport.make(
            cases: cases, evaluator: Evaluator(lexicons: current, policy: policy, shadowIntent: shadowAs),
            baseline: old.map { Evaluator(lexicons: $0, policy: policy, shadowIntent: shadowAs) }, options: options)
        print(format == .json ? report.json() : report.markdown(), terminator: "")
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}

/// `menshen coverage`: Appendix A coverage of a lexicon directory, for compliance files.
struct Coverage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Map lexicons to the TC260-003 / GB/T 45654-2025 Appendix A risks: keywords per risk, file ages, gaps.",
        discussion: """
        Lexicons name their risk with @risk: (term lists) or risk: (regex rules). File dates come \
        from `git log` when the directory is in a git work tree (mtime for uncommitted files).

        Exit code: 0, or 2 with --strict when a keyword minimum is not met or a risk has no rule; \
        1 when the lexicons cannot be loaded.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case markdown, html, json }

    @Option(help: "The lexicon directory.")
    var lexicons: String = "Lexicons"
    @Option(help: "Output format: markdown, html or json.")
    var format: Format = .markdown
    @Option(help: "Files unchanged for more than this many days are flagged (the standard expects weekly updates).")
    var staleAfterDays: Int = 7
    @Flag(help: "Exit 2 unless every risk has a rule and every keyword minimum is met.")
    var strict = false

    func run() throws {
        let set = try loadLexicons(lexicons)
        let report: CoverageReport
        do {
            report = try CoverageReport.make(lexicons: set, directory: lexicons, staleAfterDays: staleAfterDays)
        } catch {
            for issue in error.issues { printError(issue.description) }
            throw ExitCode(1)
        }
        switch format {
        case .markdown: print(report.markdown(), terminator: "")
        case .html: print(report.html(), terminator: "")
        case .json: print(report.json())
        }
        if strict && !(report.meetsKeywordMinimums && report.uncoveredRisks.isEmpty) { throw ExitCode(2) }
    }
}

extension Action: ExpressibleByArgument {}
