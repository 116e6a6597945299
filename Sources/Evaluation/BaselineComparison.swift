import Screening

/// The same corpus through an older lexicon version (`--baseline OLD_DIR`): the metrics side by
/// side, and every case whose verdict changed with the matches responsible — the review a team
/// wants before pushing a lexicon change.
///
/// A case's **verdict** is its decision and its set of categories with non-shadow matches; it
/// changed if either differs. A match is identified by rule id and byte range, so moving a term
/// to another line is not a change, and the responsible matches are those only one version has
/// (`added`, `removed`) or whose action differs (`actionChanged`).
public struct BaselineComparison: Sendable, Codable {
    public struct Verdict: Sendable, Codable, Equatable {
        public let decision: Decision
        public let categories: [String]
    }
    public enum Status: String, Sendable, Codable {
        /// Wrong before, right now.
        case fixed
        /// Right before, wrong now.
        case regressed
        /// Wrong both times (differently), or unlabelled.
        case changed
    }
    /// A match only one version has, or whose action differs.
    public struct MatchChange: Sendable, Codable {
        public let rule: String
        public let category: String
        public let action: Action
        /// `file:line` in the version that has it.
        public let source: String
        public let start: Int
        public let end: Int
        public let context: String
    }
    public struct ChangedCase: Sendable, Codable {
        public let caseId: String
        public let source: String
        public let direction: Direction
        public let expectedDecision: Decision
        public let expectedCategories: [String]?
        public let before: Verdict
        public let after: Verdict
        public let status: Status
        /// Categories that are false positives now and were not before (and so on).
        public let newFalsePositives: [String]
        public let newFalseNegatives: [String]
        public let fixedFalsePositives: [String]
        public let fixedFalseNegatives: [String]
        public let added: [MatchChange]
        public let removed: [MatchChange]
        public let actionChanged: [MatchChange]
    }
    public struct CategoryDelta: Sendable, Codable {
        public let category: String
        public let before: Confusion
        public let after: Confusion
    }

    public let path: String
    public let version: String
    public let categories: [CategoryDelta]
    public let overallBefore: Confusion
    public let overallAfter: Confusion
    public let accuracyBefore: Double?
    public let accuracyAfter: Double?
    public let changed: [ChangedCase]

    public var fixedCount: Int { changed.filter { $0.status == .fixed }.count }
    public var regressedCount: Int { changed.filter { $0.status == .regressed }.count }

    static func make(cases: [CorpusCase], labels: [Set<String>?], before: [CaseOutcome], after: [CaseOutcome],
                     baseline: Evaluator, current: Evaluator, beforeReport: EvaluationReport, afterReport: EvaluationReport,
                     options: EvaluationOptions) -> BaselineComparison {
        let old = baseline.lexicons, new = current.lexicons
        var changed: [ChangedCase] = []
        for (i, c) in cases.enumerated() {
            let b = before[i], a = after[i]
            let vb = Verdict(decision: b.decision, categories: b.categories.sorted())
            let va = Verdict(decision: a.decision, categories: a.categories.sorted())
            guard vb != va else { continue }
            let label = labels[i]
            func correct(_ o: CaseOutcome) -> Bool { o.decision == c.expectedDecision && (label == nil || label! == o.categories) }
            let status: Status = !correct(b) && correct(a) ? .fixed : (correct(b) && !correct(a) ? .regressed : .changed)

            struct Key: Hashable { let rule: String; let range: Range<Int> }
            func keyed(_ o: CaseOutcome, _ set: LexiconSet) -> [Key: (Match, Action)] {
                var d: [Key: (Match, Action)] = [:]
                for (m, action) in zip(o.matches, o.actions) { d[Key(rule: set.rules[m.rule].id, range: m.range)] = (m, action) }
                return d
            }
            let kb = keyed(b, old), ka = keyed(a, new)
            let bytes = Array(c.text.utf8)
            let allRanges = b.matches.map(\.range) + a.matches.map(\.range)
            func change(_ m: Match, _ action: Action, _ set: LexiconSet) -> MatchChange {
                let rule = set.rules[m.rule]
                return MatchChange(rule: rule.id, category: rule.category, action: action, source: "\(rule.source.file):\(m.line)",
                                   start: m.range.lowerBound, end: m.range.upperBound,
                                   context: MaskedContext.excerpt(bytes, masking: allRanges, focus: m.range, radius: options.contextRadius))
            }
            let added = ka.filter { kb[$0.key] == nil }.values.sorted { $0.0 < $1.0 }.map { change($0.0, $0.1, new) }
            let removed = kb.filter { ka[$0.key] == nil }.values.sorted { $0.0 < $1.0 }.map { change($0.0, $0.1, old) }
            let actionChanged = ka.compactMap { key, value -> (Match, Action)? in
                guard let prior = kb[key], prior.1 != value.1 else { return nil }
                return value
            }.sorted { $0.0 < $1.0 }.map { change($0.0, $0.1, new) }

            let fpBefore = label.map { b.categories.subtracting($0) } ?? [], fpAfter = label.map { a.categories.subtracting($0) } ?? []
            let fnBefore = label.map { $0.subtracting(b.categories) } ?? [], fnAfter = label.map { $0.subtracting(a.categories) } ?? []
            changed.append(ChangedCase(
                caseId: c.id, source: c.source.description, direction: c.direction, expectedDecision: c.expectedDecision,
                expectedCategories: label?.sorted(), before: vb, after: va, status: status,
                newFalsePositives: fpAfter.subtracting(fpBefore).sorted(), newFalseNegatives: fnAfter.subtracting(fnBefore).sorted(),
                fixedFalsePositives: fpBefore.subtracting(fpAfter).sorted(), fixedFalseNegatives: fnBefore.subtracting(fnAfter).sorted(),
                added: added, removed: removed, actionChanged: actionChanged))
        }
        let names = Set(beforeReport.categories.map(\.category)).union(afterReport.categories.map(\.category)).sorted()
        let deltas = names.map { name in
            CategoryDelta(category: name,
                          before: beforeReport.categories.first { $0.category == name }?.confusion ?? Confusion(),
                          after: afterReport.categories.first { $0.category == name }?.confusion ?? Confusion())
        }
        return BaselineComparison(path: options.baselinePath, version: old.version, categories: deltas,
                                  overallBefore: beforeReport.overall.micro, overallAfter: afterReport.overall.micro,
                                  accuracyBefore: beforeReport.decisions.accuracy, accuracyAfter: afterReport.decisions.accuracy,
                                  changed: changed)
    }
}
