import Foundation
import Screening

extension EvaluationReport {
    /// The report as JSON (sorted keys, snake_case, `null` for undefined ratios).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Every value here is encodable; a failure would be a programming error.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// The report as Markdown: tables a reviewer reads top to bottom.
    public func markdown() -> String {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }

        line("# Menshen evaluation")
        line()
        line("- Lexicons: `\(lexicons.path)` (version `\(lexicons.version)`, \(lexicons.rules) rules)\(policy.map { "; action overrides from `\($0)`" } ?? "")")
        line("- Corpus: \(corpus.cases) cases (\(corpus.inputCases) input, \(corpus.outputCases) output) from \(corpus.files.isEmpty ? "memory" : corpus.files.map { "`\($0)`" }.joined(separator: ", "))")
        line("- Labelled with categories: \(corpus.labelledCases); with spans: \(corpus.casesWithSpans)")
        line("- Throughput: \(format(throughput.textsPerSecond, 0)) texts/s, \(format(throughput.megabytesPerSecond, 2)) MB/s (\(throughput.bytes) bytes × \(throughput.passes) pass\(throughput.passes == 1 ? "" : "es") in \(format(throughput.seconds, 3)) s)")
        if !thresholds.isEmpty {
            let failed = thresholds.filter { !$0.passed }.count
            line("- Thresholds: \(failed == 0 ? "all \(thresholds.count) met" : "**\(failed) of \(thresholds.count) not met**") (exit \(exitStatus))")
        }
        for w in warnings { line("- Warning: \(w)") }
        line()

        line("## Categories")
        line()
        line("Positive for C = C is among the case's expected categories; predicted positive = a non-shadow rule of category C fired.")
        line()
        line("| Category | Positives | TP | FP | FN | TN | Precision | Recall | F1 | FP rate |")
        line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for c in categories { line(confusionRow(c.category, c.confusion)) }
        line(confusionRow("**overall (micro)**", overall.micro))
        line(confusionRow("any category", overall.anyCategory))
        line()
        line("Macro-averaged F1: \(format(overall.macroF1))")
        line()

        line("## Decisions")
        line()
        line("Correct when Menshen's decision equals the expected `action`: \(decisions.correct) of \(decisions.cases) (accuracy \(format(decisions.accuracy))).")
        line()
        line("| expected ↓ / got → | " + Decision.allCases.map(\.rawValue).joined(separator: " | ") + " |")
        line("| --- |" + String(repeating: " ---: |", count: Decision.allCases.count))
        for e in Decision.allCases {
            let row = decisions.matrix[e.rawValue] ?? [:]
            line("| \(e.rawValue) | " + Decision.allCases.map { String(row[$0.rawValue] ?? 0) }.joined(separator: " | ") + " |")
        }
        line()
        line("| Decision | Precision | Recall | F1 |")
        line("| --- | ---: | ---: | ---: |")
        for d in decisions.perDecision {
            line("| \(d.decision.rawValue) | \(format(d.confusion.precision)) | \(format(d.confusion.recall)) | \(format(d.confusion.f1)) |")
        }
        line()

        if let spans {
            line("## Spans")
            line()
            line("\(spans.cases) cases give spans: \(spans.expected) expected, \(spans.predicted) predicted (leftmost-longest non-shadow matches, code-point offsets).")
            line()
            line("| Matching | Precision | Recall |")
            line("| --- | ---: | ---: |")
            line("| exact (same start and end) | \(format(spans.exact.precision)) | \(format(spans.exact.recall)) |")
            line("| overlap (any common character) | \(format(spans.overlap.precision)) | \(format(spans.overlap.recall)) |")
            line()
            if !spanMismatches.isEmpty {
                line("Cases whose spans differ (code-point offsets):")
                line()
                line("| Case | Expected | Predicted |")
                line("| --- | --- | --- |")
                for m in spanMismatches {
                    func list(_ spans: [[Int]]) -> String { spans.isEmpty ? "—" : spans.map { "[\($0[0]), \($0[1]))" }.joined(separator: " ") }
                    line("| \(cell(m.caseId)) (`\(m.source)`) | \(list(m.expected)) | \(list(m.predicted)) |")
                }
                line()
            }
        }

        line("## Rules")
        line()
        line("| Rule | Category | Action | Texts | Shadow-only | On labelled + | On labelled − | Precision | Defined at |")
        line("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in rules {
            line("| `\(r.rule)` | \(r.category) | \(r.lexiconAction.rawValue) | \(r.texts) | \(r.shadowTexts) | \(r.onLabelledPositive) | \(r.onLabelledNegative) | \(format(r.precision)) | `\(r.source)` |")
        }
        if !rulesNeverFired.isEmpty {
            line()
            line("Never fired on this corpus: " + rulesNeverFired.map { "`\($0)`" }.joined(separator: ", "))
        }
        line()

        if let shadow {
            line("## Shadow rules")
            line()
            line("Shadow matches never change a decision and are not counted as predictions above. Shadow rules: " + shadow.rules.map { "`\($0)`" }.joined(separator: ", ") + ".")
            line()
            line("| | Texts | Rate |")
            line("| --- | ---: | ---: |")
            line("| would have fired | \(shadow.textsWithShadowMatch) | \(percent(shadow.wouldFireRate)) |")
            line("| **would have blocked** | \(shadow.wouldHaveBlocked) | \(percent(shadow.wouldHaveBlockedRate)) |")
            line("| … of which expected `block` | \(shadow.wouldHaveBlockedCorrectly) | |")
            line("| … of which not expected `block` | \(shadow.wouldHaveBlockedWrongly) | |")
            line("| would have changed the decision | \(shadow.wouldChangeDecision) | |")
            line()
            line("A rule demoted to shadow by the policy would do its lexicon action; a rule written with `shadow` is assumed to become `\(shadow.intentForShadowRules.rawValue)`.")
            line()
        }

        line("## False positives (\(falsePositives.count))")
        line()
        if falsePositives.isEmpty { line("None.") } else {
            line("Every match is masked `«**»`; the rule's term or pattern is at *Source*.")
            line()
            line("| Case | Category | Expected → got | Rule | Source | Context |")
            line("| --- | --- | --- | --- | --- | --- |")
            for fp in falsePositives {
                for (i, h) in fp.hits.enumerated() {
                    let head = i == 0 ? "\(cell(fp.caseId)) (`\(fp.source)`, \(fp.direction.rawValue)) | \(fp.category) | \(fp.expectedDecision.rawValue) → \(fp.decision.rawValue)" : " | | "
                    line("| \(head) | `\(h.rule)` | `\(h.source)` | \(cell(h.context)) |")
                }
            }
        }
        line()

        line("## False negatives (\(falseNegatives.count))")
        line()
        if falseNegatives.isEmpty { line("None.") } else {
            line("| Case | Category | Expected → got | Fired instead | Note |")
            line("| --- | --- | --- | --- | --- |")
            for fn in falseNegatives {
                line("| \(cell(fn.caseId)) (`\(fn.source)`, \(fn.direction.rawValue)) | \(fn.category) | \(fn.expectedDecision.rawValue) → \(fn.decision.rawValue) | \(fn.firedCategories.joined(separator: ", ")) | \(cell(fn.note ?? "")) |")
            }
        }
        line()

        let onlyDecision = decisionMismatches.filter { m in
            !falsePositives.contains { $0.caseId == m.caseId } && !falseNegatives.contains { $0.caseId == m.caseId }
        }
        if !onlyDecision.isEmpty {
            line("## Other decision mismatches (\(onlyDecision.count))")
            line()
            line("Categories as expected, decision not (e.g. a policy or a rule's action).")
            line()
            line("| Case | Expected → got | Rules fired | Note |")
            line("| --- | --- | --- | --- |")
            for m in onlyDecision {
                line("| \(cell(m.caseId)) (`\(m.source)`) | \(m.expected.rawValue) → \(m.got.rawValue) | \(m.rules.map { "`\($0)`" }.joined(separator: ", ")) | \(cell(m.note ?? "")) |")
            }
            line()
        }

        if !thresholds.isEmpty {
            line("## Thresholds")
            line()
            line("| Metric | Scope | Bound | Actual | |")
            line("| --- | --- | ---: | ---: | --- |")
            for t in thresholds {
                let digits = t.metric == .noRegressions ? 0 : 3
                line("| \(t.metric.rawValue) | \(t.scope) | \(format(t.bound, digits)) | \(format(t.actual, digits)) | \(t.passed ? "ok" : "**FAILED**") |")
            }
            line()
        }

        if let baseline { out.append(contentsOf: baseline.markdownLines(current: lexicons)) }
        return out.joined(separator: "\n") + "\n"
    }

    private func confusionRow(_ name: String, _ c: Confusion) -> String {
        "| \(name) | \(c.positives) | \(c.truePositives) | \(c.falsePositives) | \(c.falseNegatives) | \(c.trueNegatives) | \(format(c.precision)) | \(format(c.recall)) | \(format(c.f1)) | \(format(c.falsePositiveRate)) |"
    }
}

extension BaselineComparison {
    func markdownLines(current: EvaluationReport.LexiconInfo) -> [String] {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }
        line("## Changes against the baseline")
        line()
        line("Baseline `\(path)` (version `\(version)`) → `\(current.path)` (version `\(current.version)`): \(changed.count) case(s) changed verdict, \(fixedCount) fixed, \(regressedCount) regressed.")
        line()
        line("| Category | Precision before → after | Recall before → after | FP before → after | FN before → after |")
        line("| --- | --- | --- | --- | --- |")
        for d in categories {
            line("| \(d.category) | \(format(d.before.precision)) → \(format(d.after.precision)) | \(format(d.before.recall)) → \(format(d.after.recall)) | \(d.before.falsePositives) → \(d.after.falsePositives) | \(d.before.falseNegatives) → \(d.after.falseNegatives) |")
        }
        line("| **overall (micro)** | \(format(overallBefore.precision)) → \(format(overallAfter.precision)) | \(format(overallBefore.recall)) → \(format(overallAfter.recall)) | \(overallBefore.falsePositives) → \(overallAfter.falsePositives) | \(overallBefore.falseNegatives) → \(overallAfter.falseNegatives) |")
        line()
        line("Decision accuracy: \(format(accuracyBefore)) → \(format(accuracyAfter))")
        line()
        if changed.isEmpty {
            line("No case changed verdict.")
            line()
            return out
        }
        line("| Case | Status | Expected | Before | After | Responsible matches (masked) |")
        line("| --- | --- | --- | --- | --- | --- |")
        for c in changed {
            let expected = c.expectedDecision.rawValue + (c.expectedCategories.map { $0.isEmpty ? "" : " " + $0.joined(separator: ", ") } ?? "")
            var notes: [String] = []
            if !c.newFalsePositives.isEmpty { notes.append("**new FP** " + c.newFalsePositives.joined(separator: ", ")) }
            if !c.newFalseNegatives.isEmpty { notes.append("**new FN** " + c.newFalseNegatives.joined(separator: ", ")) }
            if !c.fixedFalsePositives.isEmpty { notes.append("fixed FP " + c.fixedFalsePositives.joined(separator: ", ")) }
            if !c.fixedFalseNegatives.isEmpty { notes.append("fixed FN " + c.fixedFalseNegatives.joined(separator: ", ")) }
            let status = c.status.rawValue + (notes.isEmpty ? "" : "<br>" + notes.joined(separator: "<br>"))
            var responsible: [String] = []
            responsible += c.added.map { "+ `\($0.rule)` \($0.action.rawValue) `\($0.source)`: \(cell($0.context))" }
            responsible += c.removed.map { "− `\($0.rule)` \($0.action.rawValue) `\($0.source)`: \(cell($0.context))" }
            responsible += c.actionChanged.map { "± `\($0.rule)` now \($0.action.rawValue) `\($0.source)`: \(cell($0.context))" }
            line("| \(cell(c.caseId)) (`\(c.source)`) | \(status) | \(expected) | \(verdict(c.before)) | \(verdict(c.after)) | \(responsible.joined(separator: "<br>")) |")
        }
        line()
        return out
    }

    private func verdict(_ v: Verdict) -> String {
        v.decision.rawValue + (v.categories.isEmpty ? "" : " (" + v.categories.joined(separator: ", ") + ")")
    }
}

/// `0.875`, or `—` when undefined.
func format(_ x: Double?, _ digits: Int = 3) -> String {
    guard let x else { return "—" }
    return String(format: "%.\(digits)f", x)
}

func percent(_ x: Double?) -> String {
    guard let x else { return "—" }
    return String(format: "%.1f%%", x * 100)
}

/// Text safe inside a Markdown table cell.
func cell(_ s: String) -> String {
    s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
        .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "`", with: "\\`")
        .replacingOccurrences(of: "<", with: "&lt;")
}
