import Foundation
import Screening

/// Everything `menshen eval` reports about one corpus run: metrics per category and per
/// decision, spans, rules, shadow rules, the false positives and negatives, throughput,
/// thresholds and (with a baseline) the cases whose verdict changed.
///
/// Definitions (also in `docs/eval.md`):
/// * A case is **positive for category C** if its expected categories include C, and
///   **predicted positive** if at least one non-shadow match of a rule of category C fires.
///   Cases without category labels (see ``CorpusCase/resolvedCategories(in:)``) are left out
///   of category metrics.
/// * For a **decision** D, a case is positive if its expected decision is D and predicted
///   positive if Menshen's decision is D; the decision is correct if the two are equal.
public struct EvaluationReport: Sendable, Codable {
    public struct LexiconInfo: Sendable, Codable {
        public let path: String
        public let version: String
        public let rules: Int
    }
    public struct CorpusInfo: Sendable, Codable {
        public let files: [String]
        public let cases: Int
        public let inputCases: Int
        public let outputCases: Int
        /// Cases whose categories are labelled (they count for category metrics).
        public let labelledCases: Int
        public let casesWithSpans: Int
    }
    public struct CategoryMetrics: Sendable, Codable {
        public let category: String
        public let confusion: Confusion
    }
    public struct Overall: Sendable, Codable {
        /// Sum of the per-category counts.
        public let micro: Confusion
        /// Mean of the per-category F1 scores that are defined.
        public let macroF1: Double?
        /// One question per case: should anything fire, and did anything fire?
        public let anyCategory: Confusion
    }
    public struct DecisionMetrics: Sendable, Codable {
        public struct PerDecision: Sendable, Codable {
            public let decision: Decision
            public let confusion: Confusion
        }
        public let cases: Int
        public let correct: Int
        public let accuracy: Double?
        /// `matrix[expected][got]`: number of cases.
        public let matrix: [String: [String: Int]]
        public let perDecision: [PerDecision]
    }
    public struct SpanScore: Sendable, Codable {
        /// Predicted spans that match an expected span.
        public let matchedPredicted: Int
        /// Expected spans that a predicted span matches.
        public let matchedExpected: Int
        public let precision: Double?
        public let recall: Double?
    }
    public struct SpanMetrics: Sendable, Codable {
        public let cases: Int
        public let expected: Int
        public let predicted: Int
        /// Same start and end (code points).
        public let exact: SpanScore
        /// At least one code point in common.
        public let overlap: SpanScore
    }
    /// A case whose predicted spans are not exactly its expected spans (offsets only, no text).
    public struct SpanMismatch: Sendable, Codable {
        public let caseId: String
        public let source: String
        /// `[start, end)` in code points.
        public let expected: [[Int]]
        public let predicted: [[Int]]
    }
    public struct RuleActivity: Sendable, Codable {
        public let rule: String
        public let category: String
        /// The rule's action in its lexicon file.
        public let lexiconAction: Action
        /// Where the rule is defined (`file:line`).
        public let source: String
        /// Texts with at least one non-shadow match of the rule.
        public let texts: Int
        /// Texts with a shadow match of the rule only.
        public let shadowTexts: Int
        /// Of the texts it fired on (shadow or not), labelled with / without its category.
        public let onLabelledPositive: Int
        public let onLabelledNegative: Int
        /// onLabelledPositive / (onLabelledPositive + onLabelledNegative).
        public let precision: Double?
    }
    public struct ShadowSummary: Sendable, Codable {
        /// Rules whose action is `shadow` in some direction under the policy.
        public let rules: [String]
        public let texts: Int
        /// Texts with at least one shadow match.
        public let textsWithShadowMatch: Int
        public let wouldFireRate: Double?
        /// Texts not blocked whose decision would be `block` if shadow matches acted.
        public let wouldHaveBlocked: Int
        public let wouldHaveBlockedRate: Double?
        /// Texts whose decision would differ at all.
        public let wouldChangeDecision: Int
        /// Would-have-blocked texts that are expected to be blocked / expected otherwise.
        public let wouldHaveBlockedCorrectly: Int
        public let wouldHaveBlockedWrongly: Int
        public let intentForShadowRules: Action
    }
    /// One match shown in a listing: rule, where its term or pattern is written, and the text
    /// around it with every match masked.
    public struct Hit: Sendable, Codable {
        public let rule: String
        public let category: String
        public let action: Action
        /// `file:line` of the term (term lists) or the rule (regex rules).
        public let source: String
        /// UTF-8 byte offsets.
        public let start: Int
        public let end: Int
        public let context: String
    }
    public struct FalsePositive: Sendable, Codable {
        public let caseId: String
        public let source: String
        public let direction: Direction
        public let category: String
        public let expectedDecision: Decision
        public let decision: Decision
        public let hits: [Hit]
    }
    public struct FalseNegative: Sendable, Codable {
        public let caseId: String
        public let source: String
        public let direction: Direction
        public let category: String
        public let expectedDecision: Decision
        public let decision: Decision
        public let firedCategories: [String]
        public let note: String?
    }
    public struct DecisionMismatch: Sendable, Codable {
        public let caseId: String
        public let source: String
        public let direction: Direction
        public let expected: Decision
        public let got: Decision
        public let rules: [String]
        public let note: String?
    }

    public let lexicons: LexiconInfo
    /// The policy file whose action overrides applied, if any.
    public let policy: String?
    public let corpus: CorpusInfo
    public let categories: [CategoryMetrics]
    public let overall: Overall
    public let decisions: DecisionMetrics
    public let spans: SpanMetrics?
    public let spanMismatches: [SpanMismatch]
    public let rules: [RuleActivity]
    public let rulesNeverFired: [String]
    public let shadow: ShadowSummary?
    public let falsePositives: [FalsePositive]
    public let falseNegatives: [FalseNegative]
    public let decisionMismatches: [DecisionMismatch]
    public let throughput: Throughput
    public internal(set) var thresholds: [ThresholdResult]
    public internal(set) var baseline: BaselineComparison?
    public let warnings: [String]

    /// True when every threshold holds (or none was given).
    public var passed: Bool { thresholds.allSatisfy(\.passed) }

    /// The process exit status `menshen eval` uses: 0 when every threshold holds, 2 when one
    /// does not. (1 is for errors before a report exists.)
    public var exitStatus: Int32 { passed ? 0 : 2 }
}

/// Knobs of a run that are not part of the corpus or the lexicons.
public struct EvaluationOptions: Sendable {
    /// Shown in the report (`Lexicons`).
    public var lexiconsPath = "Lexicons"
    public var baselinePath = "baseline"
    /// Shown in the report when a policy file supplied the action overrides.
    public var policyPath: String?
    public var corpusFiles: [String] = []
    public var thresholds: [Threshold] = []
    /// Minimum wall time of the throughput measurement (0: one pass).
    public var throughputMinimumSeconds = 0.25
    /// Characters of context either side of a match in listings.
    public var contextRadius = 24
    /// Most hits shown per listed case.
    public var maxHitsPerCase = 5

    public init() {}
}

extension EvaluationReport {
    /// Runs `cases` through `evaluator` (and `baseline`, when given) and builds the report.
    ///
    /// ```swift
    /// let report = EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: set))
    /// print(report.markdown())
    /// exit(report.exitStatus)
    /// ```
    public static func make(cases: [CorpusCase], evaluator: Evaluator, baseline: Evaluator? = nil,
                            options: EvaluationOptions = EvaluationOptions()) -> EvaluationReport {
        let sets = [evaluator.lexicons] + (baseline.map { [$0.lexicons] } ?? [])
        let labels = cases.map { $0.resolvedCategories(in: sets) }
        let outcomes = evaluator.run(cases)
        var report = build(cases: cases, labels: labels, outcomes: outcomes, evaluator: evaluator, options: options)
        if let baseline {
            let before = baseline.run(cases)
            let baselineReport = build(cases: cases, labels: labels, outcomes: before, evaluator: baseline,
                                       options: { var o = options; o.throughputMinimumSeconds = 0; o.lexiconsPath = options.baselinePath; return o }())
            report.baseline = BaselineComparison.make(cases: cases, labels: labels, before: before, after: outcomes,
                                                      baseline: baseline, current: evaluator, beforeReport: baselineReport,
                                                      afterReport: report, options: options)
        }
        report.thresholds = options.thresholds.flatMap { $0.check(report) }
        return report
    }

    static func build(cases: [CorpusCase], labels: [Set<String>?], outcomes: [CaseOutcome], evaluator: Evaluator,
                      options: EvaluationOptions) -> EvaluationReport {
        let lexicons = evaluator.lexicons
        var warnings: [String] = []

        // Categories: every category of a rule, of a label, or predicted on a labelled case.
        let ruleCategories = Set(lexicons.rules.map(\.category))
        var categorySet = ruleCategories
        for (label, outcome) in zip(labels, outcomes) {
            guard let label else { continue }
            categorySet.formUnion(label)
            categorySet.formUnion(outcome.categories)
        }
        let unknown = Set(labels.compactMap { $0 }.joined()).subtracting(ruleCategories)
        for category in unknown.sorted() {
            warnings.append("category '\(category)' is labelled in the corpus but no rule in \(options.lexiconsPath) has it")
        }
        for c in cases {
            for id in c.expectedRules ?? [] where lexicons.rule(id: id) == nil {
                warnings.append("\(c.source): rule '\(id)' does not exist in \(options.lexiconsPath)")
            }
        }
        let unlabelled = labels.filter { $0 == nil }.count
        if unlabelled > 0 {
            warnings.append("\(unlabelled) case(s) expect a non-allow decision but name no categories or rules; they count for decision metrics only")
        }

        // Category confusion.
        var confusion: [String: Confusion] = [:]
        var any = Confusion()
        for (label, outcome) in zip(labels, outcomes) {
            guard let label else { continue }
            for category in categorySet {
                confusion[category, default: Confusion()].add(expected: label.contains(category), predicted: outcome.categories.contains(category))
            }
            any.add(expected: !label.isEmpty, predicted: !outcome.categories.isEmpty)
        }
        let categories = categorySet.sorted().map { CategoryMetrics(category: $0, confusion: confusion[$0] ?? Confusion()) }
        let micro = categories.reduce(Confusion()) { $0 + $1.confusion }
        let f1s = categories.compactMap(\.confusion.f1)
        let overall = Overall(micro: micro, macroF1: f1s.isEmpty ? nil : f1s.reduce(0, +) / Double(f1s.count), anyCategory: any)

        // Decisions.
        var matrix: [String: [String: Int]] = [:]
        var perDecision: [Decision: Confusion] = [:]
        var correct = 0
        for (c, outcome) in zip(cases, outcomes) {
            matrix[c.expectedDecision.rawValue, default: [:]][outcome.decision.rawValue, default: 0] += 1
            if c.expectedDecision == outcome.decision { correct += 1 }
            for d in Decision.allCases {
                perDecision[d, default: Confusion()].add(expected: c.expectedDecision == d, predicted: outcome.decision == d)
            }
        }
        let decisions = DecisionMetrics(cases: cases.count, correct: correct, accuracy: ratio(correct, cases.count), matrix: matrix,
                                        perDecision: Decision.allCases.map { .init(decision: $0, confusion: perDecision[$0] ?? Confusion()) })

        // Spans (code points), over the leftmost-longest selection of non-shadow matches.
        var spanCases = 0, expectedSpans = 0, predictedSpans = 0
        var exactPredicted = 0, exactExpected = 0, overlapPredicted = 0, overlapExpected = 0
        var spanMismatches: [SpanMismatch] = []
        for (c, outcome) in zip(cases, outcomes) {
            guard let expected = c.expectedSpans else { continue }
            spanCases += 1
            let offsets = ScalarOffsets(Array(c.text.utf8))
            let predicted = Match.leftmostLongest(outcome.firingMatches).map { offsets.scalars($0.range) }
            expectedSpans += expected.count
            predictedSpans += predicted.count
            let expectedSet = Set(expected), predictedSet = Set(predicted)
            exactPredicted += predicted.filter { expectedSet.contains($0) }.count
            exactExpected += expected.filter { predictedSet.contains($0) }.count
            overlapPredicted += predicted.filter { p in expected.contains { $0.overlaps(p) } }.count
            overlapExpected += expected.filter { e in predicted.contains { $0.overlaps(e) } }.count
            if expectedSet != predictedSet {
                spanMismatches.append(SpanMismatch(caseId: c.id, source: c.source.description,
                                                   expected: expected.map { [$0.lowerBound, $0.upperBound] },
                                                   predicted: predicted.map { [$0.lowerBound, $0.upperBound] }))
            }
        }
        let spans = spanCases == 0 ? nil : SpanMetrics(
            cases: spanCases, expected: expectedSpans, predicted: predictedSpans,
            exact: SpanScore(matchedPredicted: exactPredicted, matchedExpected: exactExpected,
                             precision: ratio(exactPredicted, predictedSpans), recall: ratio(exactExpected, expectedSpans)),
            overlap: SpanScore(matchedPredicted: overlapPredicted, matchedExpected: overlapExpected,
                               precision: ratio(overlapPredicted, predictedSpans), recall: ratio(overlapExpected, expectedSpans)))

        // Rules.
        var fired = [Int](repeating: 0, count: lexicons.rules.count)
        var shadowOnly = fired, onPositive = fired, onNegative = fired
        for (label, outcome) in zip(labels, outcomes) {
            var firing: Set<Int> = [], shadowed: Set<Int> = []
            for (m, action) in zip(outcome.matches, outcome.actions) {
                if action == .shadow { shadowed.insert(m.rule) } else { firing.insert(m.rule) }
            }
            for r in firing { fired[r] += 1 }
            for r in shadowed.subtracting(firing) { shadowOnly[r] += 1 }
            if let label {
                for r in firing.union(shadowed) {
                    if label.contains(lexicons.rules[r].category) { onPositive[r] += 1 } else { onNegative[r] += 1 }
                }
            }
        }
        var rules: [RuleActivity] = []
        var neverFired: [String] = []
        for (i, rule) in lexicons.rules.enumerated() {
            if fired[i] + shadowOnly[i] == 0 { neverFired.append(rule.id); continue }
            rules.append(RuleActivity(rule: rule.id, category: rule.category, lexiconAction: rule.action, source: rule.source.description,
                                      texts: fired[i], shadowTexts: shadowOnly[i], onLabelledPositive: onPositive[i], onLabelledNegative: onNegative[i],
                                      precision: ratio(onPositive[i], onPositive[i] + onNegative[i])))
        }

        // Shadow.
        let shadowRules = lexicons.rules.filter { rule in
            Direction.allCases.contains { rule.direction.contains($0) && evaluator.policy.action(for: rule, direction: $0) == .shadow }
        }
        var shadow: ShadowSummary?
        if !shadowRules.isEmpty {
            var withShadow = 0, wouldBlock = 0, wouldChange = 0, blockRight = 0, blockWrong = 0
            for (c, outcome) in zip(cases, outcomes) {
                if !outcome.shadowCategories.isEmpty { withShadow += 1 }
                if outcome.decisionWithShadow != outcome.decision { wouldChange += 1 }
                if outcome.decisionWithShadow == .block && outcome.decision != .block {
                    wouldBlock += 1
                    if c.expectedDecision == .block { blockRight += 1 } else { blockWrong += 1 }
                }
            }
            shadow = ShadowSummary(rules: shadowRules.map(\.id), texts: cases.count, textsWithShadowMatch: withShadow,
                                   wouldFireRate: ratio(withShadow, cases.count), wouldHaveBlocked: wouldBlock,
                                   wouldHaveBlockedRate: ratio(wouldBlock, cases.count), wouldChangeDecision: wouldChange,
                                   wouldHaveBlockedCorrectly: blockRight, wouldHaveBlockedWrongly: blockWrong,
                                   intentForShadowRules: evaluator.shadowIntent)
        }

        // Listings.
        var falsePositives: [FalsePositive] = []
        var falseNegatives: [FalseNegative] = []
        var mismatches: [DecisionMismatch] = []
        for (c, (label, outcome)) in zip(cases, zip(labels, outcomes)) {
            let bytes = Array(c.text.utf8)
            if let label {
                for category in outcome.categories.subtracting(label).sorted() {
                    let hits = zip(outcome.matches, outcome.actions)
                        .filter { $0.1 != .shadow && lexicons.rules[$0.0.rule].category == category }
                        .prefix(options.maxHitsPerCase)
                        .map { hit($0.0, action: $0.1, bytes: bytes, outcome: outcome, lexicons: lexicons, options: options) }
                    falsePositives.append(FalsePositive(caseId: c.id, source: c.source.description, direction: c.direction, category: category,
                                                        expectedDecision: c.expectedDecision, decision: outcome.decision, hits: hits))
                }
                for category in label.subtracting(outcome.categories).sorted() {
                    falseNegatives.append(FalseNegative(caseId: c.id, source: c.source.description, direction: c.direction, category: category,
                                                        expectedDecision: c.expectedDecision, decision: outcome.decision,
                                                        firedCategories: outcome.categories.sorted(), note: c.note))
                }
            }
            if outcome.decision != c.expectedDecision {
                let ids = Set(outcome.firingMatches.map { lexicons.rules[$0.rule].id })
                mismatches.append(DecisionMismatch(caseId: c.id, source: c.source.description, direction: c.direction,
                                                   expected: c.expectedDecision, got: outcome.decision, rules: ids.sorted(), note: c.note))
            }
        }

        let throughput = evaluator.throughput(cases, minimumSeconds: options.throughputMinimumSeconds)
        return EvaluationReport(
            lexicons: LexiconInfo(path: options.lexiconsPath, version: lexicons.version, rules: lexicons.rules.count),
            policy: options.policyPath,
            corpus: CorpusInfo(files: options.corpusFiles, cases: cases.count,
                               inputCases: cases.filter { $0.direction == .input }.count,
                               outputCases: cases.filter { $0.direction == .output }.count,
                               labelledCases: labels.filter { $0 != nil }.count,
                               casesWithSpans: spanCases),
            categories: categories, overall: overall, decisions: decisions, spans: spans, spanMismatches: spanMismatches, rules: rules,
            rulesNeverFired: neverFired, shadow: shadow, falsePositives: falsePositives, falseNegatives: falseNegatives,
            decisionMismatches: mismatches, throughput: throughput, thresholds: [], baseline: nil, warnings: warnings)
    }

    static func hit(_ m: Match, action: Action, bytes: [UInt8], outcome: CaseOutcome, lexicons: LexiconSet,
                    options: EvaluationOptions, alsoMask extra: [Range<Int>] = []) -> Hit {
        let rule = lexicons.rules[m.rule]
        return Hit(rule: rule.id, category: rule.category, action: action, source: "\(rule.source.file):\(m.line)",
                   start: m.range.lowerBound, end: m.range.upperBound,
                   context: MaskedContext.excerpt(bytes, masking: outcome.matches.map(\.range) + extra, focus: m.range,
                                                  radius: options.contextRadius))
    }
}
