import Foundation
import Screening
import Testing
@testable import Evaluation
import TestSupport

/// The shipped finance list, and a copy with one over-broad term (`保证`) appended: the review
/// must list exactly the cases that term turns into false positives, and name the term's line.
@Test func baselineDiffListsExactlyTheChangedCasesAndTheResponsibleTerm() throws {
    let shipped = try String(contentsOfFile: repositoryRoot + "/Lexicons/finance/guaranteed-returns.txt", encoding: .utf8)
    let base = shipped.hasSuffix("\n") ? shipped : shipped + "\n"
    let addedLine = base.split(separator: "\n", omittingEmptySubsequences: false).count   // the line after the last newline
    // The list's context clauses name cue sets defined in context/cues.yaml: it comes along.
    let cues = try String(contentsOfFile: repositoryRoot + "/Lexicons/context/cues.yaml", encoding: .utf8)
    let old = try TemporaryDirectory(["finance/guaranteed-returns.txt": base, "context/cues.yaml": cues])
    let new = try TemporaryDirectory(["finance/guaranteed-returns.txt": base + "保证\n", "context/cues.yaml": cues])
    let corpus = try TemporaryDirectory(["c.jsonl": """
        {"id": "service", "text": "我们保证7×24小时在线服务。", "direction": "output", "expect": {"action": "allow", "categories": []}}
        {"id": "balance", "text": "请保证账户余额充足，以免扣款失败。", "direction": "output", "expect": {"action": "allow", "categories": []}}
        {"id": "claim", "text": "本产品保证收益，放心购买。", "direction": "output", "expect": {"action": "block", "categories": ["finance-marketing"]}}
        {"id": "disclaimer", "text": "基金经理不能保证收益，过往业绩仅供参考。", "direction": "output", "expect": {"action": "allow", "categories": []}}
        {"id": "question", "text": "你们能保证收益吗？", "direction": "input", "expect": {"action": "allow", "categories": []}}
        {"id": "clean", "text": "贷款审批一般需要3到5个工作日。", "direction": "output", "expect": {"action": "allow", "categories": []}}
        """])
    defer { old.remove(); new.remove(); corpus.remove() }

    let cases = try Corpus.load(paths: [corpus.path + "/c.jsonl"])
    let report = EvaluationReport.make(
        cases: cases, evaluator: Evaluator(lexicons: try LexiconSet.load(directory: new.path)),
        baseline: Evaluator(lexicons: try LexiconSet.load(directory: old.path)),
        options: quickOptions {
            $0.lexiconsPath = new.path
            $0.baselinePath = old.path
            $0.thresholds = [Threshold(metric: .noRegressions, value: 0)]
        })
    let diff = try #require(report.baseline)
    #expect(report.exitStatus == 2)   // --fail-on-regression
    #expect(report.thresholds == [ThresholdResult(metric: .noRegressions, scope: "baseline", bound: 0, actual: 2, passed: false)])

    // "claim" gains a 保证 match but was already blocked; "disclaimer" is covered by the
    // exception 不能保证收益; "question" is input, which the list does not screen.
    #expect(diff.changed.map(\.caseId) == ["service", "balance"])
    for change in diff.changed {
        #expect(change.status == .regressed)
        #expect(change.before == BaselineComparison.Verdict(decision: .allow, categories: []))
        #expect(change.after == BaselineComparison.Verdict(decision: .block, categories: ["finance-marketing"]))
        #expect(change.newFalsePositives == ["finance-marketing"])
        #expect(change.removed.isEmpty && change.actionChanged.isEmpty)
        #expect(change.added.map(\.rule) == ["finance.guaranteed-returns"])
        #expect(change.added.map(\.source) == [new.path + "/finance/guaranteed-returns.txt:\(addedLine)"])
        #expect(change.added.allSatisfy { $0.context.contains("«**»") && !$0.context.contains("保证") })
    }
    let finance = try #require(diff.categories.first { $0.category == "finance-marketing" })
    #expect(finance.before.falsePositives == 0 && finance.after.falsePositives == 2)
    #expect(finance.before.truePositives == 1 && finance.after.truePositives == 1)
    #expect(diff.regressedCount == 2 && diff.fixedCount == 0)
    let markdown = report.markdown()
    #expect(markdown.contains("2 case(s) changed verdict, 0 fixed, 2 regressed"))
    #expect(markdown.contains("**new FP** finance-marketing"))
}

@Test func baselineDiffNamesRemovedTermsAndFixedCases() throws {
    let old = try TemporaryDirectory(["m.txt": "@id: test.money\n@category: money\n@action: block\n稳赚\n保本\n"])
    let new = try TemporaryDirectory(["m.txt": "@id: test.money\n@category: money\n@action: block\n稳赚\n保本\n!不保本\n"])
    defer { old.remove(); new.remove() }
    let cases = [
        CorpusCase(id: "disclosure", text: "本产品不保本", direction: .output, expectedDecision: .allow, expectedCategories: []),
        CorpusCase(id: "claim", text: "稳赚", direction: .output, expectedDecision: .block, expectedCategories: ["money"]),
    ]
    let report = EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: try LexiconSet.load(directory: new.path)),
                                       baseline: Evaluator(lexicons: try LexiconSet.load(directory: old.path)),
                                       options: quickOptions { $0.thresholds = [Threshold(metric: .noRegressions, value: 0)] })
    #expect(report.exitStatus == 0)   // a fix is not a regression
    let diff = try #require(report.baseline)
    #expect(diff.changed.map(\.caseId) == ["disclosure"])
    let change = try #require(diff.changed.first)
    #expect(change.status == .fixed)
    #expect(change.fixedFalsePositives == ["money"])
    #expect(change.added.isEmpty)
    #expect(change.removed.map(\.source) == [old.path + "/m.txt:5"])

    // Without a baseline, --fail-on-regression cannot pass.
    let alone = EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: try LexiconSet.load(directory: new.path)),
                                      options: quickOptions { $0.thresholds = [Threshold(metric: .noRegressions, value: 0)] })
    #expect(alone.exitStatus == 2)
}

@Test func shadowRulesAreCountedApart() throws {
    let dir = try TemporaryDirectory([
        "m.txt": "@id: test.money\n@category: money\n@action: block\n稳赚\n",
        "trial.txt": "@id: test.trial\n@category: money\n@action: shadow\n保证\n",
    ])
    defer { dir.remove() }
    let lexicons = try LexiconSet.load(directory: dir.path)
    let cases = [
        CorpusCase(id: "a", text: "保证收益", direction: .output, expectedDecision: .block, expectedCategories: ["money"]),
        CorpusCase(id: "b", text: "我们保证服务", direction: .output, expectedDecision: .allow, expectedCategories: []),
        CorpusCase(id: "c", text: "稳赚，保证", direction: .output, expectedDecision: .block, expectedCategories: ["money"]),
        CorpusCase(id: "d", text: "你好", direction: .output, expectedDecision: .allow, expectedCategories: []),
    ]
    let report = EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: lexicons), options: quickOptions())
    // Shadow matches are not predictions: "a" is a false negative, "b" is not a false positive.
    let money = try #require(report.categories.first { $0.category == "money" }).confusion
    #expect(money == Confusion(truePositives: 1, falsePositives: 0, falseNegatives: 1, trueNegatives: 2))
    let shadow = try #require(report.shadow)
    #expect(shadow.rules == ["test.trial"])
    #expect(shadow.textsWithShadowMatch == 3)
    #expect(shadow.wouldHaveBlocked == 2)          // a and b; c is blocked already
    #expect(shadow.wouldHaveBlockedCorrectly == 1 && shadow.wouldHaveBlockedWrongly == 1)
    #expect(shadow.wouldHaveBlockedRate == 0.5)

    // A policy that demotes the block rule to shadow: it would have done its lexicon action.
    let demoted = Evaluator(lexicons: lexicons, policy: ActionPolicy(overrides: [.init(rule: "test.money", action: .shadow)]))
    let r2 = EvaluationReport.make(cases: cases, evaluator: demoted, options: quickOptions())
    #expect(r2.shadow?.rules == ["test.money", "test.trial"])
    #expect(r2.shadow?.wouldHaveBlocked == 3)
    #expect(r2.categories.first { $0.category == "money" }?.confusion.truePositives == 0)
}
