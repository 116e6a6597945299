import Foundation
import Screening
import Testing
@testable import Evaluation

/// Two tiny lexicons written to disk: `money` (block, output only, with an exception) and
/// `greeting` (flag, both directions).
private let tinyLexicons: [String: String] = [
    "money.txt": """
    @id: test.money
    @category: money
    @action: block
    @direction: output
    稳赚
    保本
    !不保本
    """,
    "greeting.txt": """
    @id: test.greeting
    @category: greeting
    @action: flag
    hello
    """,
]

/// Seven cases; the expected counts below are worked out by hand, case by case.
private let tinyCorpus = """
{"id": "c1", "text": "稳赚的产品", "direction": "output", "expect": {"action": "block", "categories": ["money"]}}
{"id": "c2", "text": "本产品不保本", "direction": "output", "expect": {"action": "allow", "categories": []}}
{"id": "c3", "text": "保本", "direction": "output", "expect": {"action": "allow", "categories": []}}
{"id": "c4", "text": "一定赚钱", "direction": "output", "expect": {"action": "block", "categories": ["money"]}}
{"id": "c5", "text": "hello 稳赚", "direction": "output", "expect": {"action": "block", "categories": ["money", "greeting"]}}
{"id": "c6", "text": "hello", "direction": "input", "expect": {"action": "allow", "categories": []}}
# c7: money rules screen output only, so this one is missed
{"id": "c7", "text": "稳赚", "direction": "input", "expect": {"action": "block", "categories": ["money"]}}
"""

private func tinyReport(thresholds: [Threshold] = []) throws -> EvaluationReport {
    let dir = try TemporaryDirectory(tinyLexicons.merging(["corpus.jsonl": tinyCorpus]) { a, _ in a })
    defer { dir.remove() }
    let lexicons = try LexiconSet.load(directory: dir.path + "/")
    let cases = try Corpus.load(paths: [dir.path + "/corpus.jsonl"])
    return EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: lexicons),
                                 options: quickOptions { $0.thresholds = thresholds })
}

@Test func categoryCountsMatchHandComputation() throws {
    let report = try tinyReport()
    let money = try #require(report.categories.first { $0.category == "money" }).confusion
    // TP: c1, c5. FP: c3 (保本 outside the exception). FN: c4 (no term), c7 (input). TN: c2, c6.
    #expect(money == Confusion(truePositives: 2, falsePositives: 1, falseNegatives: 2, trueNegatives: 2))
    #expect(money.precision == 2.0 / 3)
    #expect(money.recall == 0.5)
    #expect(money.f1 == 4.0 / 7)
    #expect(money.falsePositiveRate == 1.0 / 3)

    let greeting = try #require(report.categories.first { $0.category == "greeting" }).confusion
    // TP: c5. FP: c6. TN: the other five.
    #expect(greeting == Confusion(truePositives: 1, falsePositives: 1, falseNegatives: 0, trueNegatives: 5))
    #expect(greeting.recall == 1)
    #expect(greeting.falsePositiveRate == 1.0 / 6)

    #expect(report.categories.map(\.category) == ["greeting", "money"])
    #expect(report.overall.micro == Confusion(truePositives: 3, falsePositives: 2, falseNegatives: 2, trueNegatives: 7))
    // Any category: expected c1 c4 c5 c7, predicted c1 c3 c5 c6.
    #expect(report.overall.anyCategory == Confusion(truePositives: 2, falsePositives: 2, falseNegatives: 2, trueNegatives: 1))
    #expect(report.overall.macroF1 == (4.0 / 7 + 2.0 / 3) / 2)
}

@Test func decisionCountsMatchHandComputation() throws {
    let report = try tinyReport()
    // Correct: c1 (block), c2 (allow), c5 (block). Wrong: c3 allow→block, c4 block→allow,
    // c6 allow→flag, c7 block→allow.
    #expect(report.decisions.correct == 3)
    #expect(report.decisions.cases == 7)
    #expect(report.decisions.matrix["allow"] == ["allow": 1, "block": 1, "flag": 1])
    #expect(report.decisions.matrix["block"] == ["block": 2, "allow": 2])
    let block = try #require(report.decisions.perDecision.first { $0.decision == .block }).confusion
    #expect(block == Confusion(truePositives: 2, falsePositives: 1, falseNegatives: 2, trueNegatives: 2))
    #expect(report.decisionMismatches.map(\.caseId) == ["c3", "c4", "c6", "c7"])
}

@Test func listingsNameRuleSourceAndMaskTheMatch() throws {
    let report = try tinyReport()
    #expect(report.falsePositives.map { "\($0.caseId) \($0.category)" } == ["c3 money", "c6 greeting"])
    let c3 = try #require(report.falsePositives.first)
    let hit = try #require(c3.hits.first)
    #expect(hit.rule == "test.money")
    #expect(hit.source.hasSuffix("money.txt:6"), "\(hit.source)")   // 保本 is on line 6
    #expect(hit.context == "«**»")
    #expect(!hit.context.contains("保本"))
    #expect(report.falseNegatives.map { "\($0.caseId) \($0.category)" } == ["c4 money", "c7 money"])
    #expect(report.rulesNeverFired.isEmpty)
    let money = try #require(report.rules.first { $0.rule == "test.money" })
    #expect(money.texts == 3)               // c1, c3, c5
    #expect(money.onLabelledPositive == 2)  // c1, c5
    #expect(money.onLabelledNegative == 1)  // c3
}

@Test func maskedContextKeepsSurroundingWordsOnly() {
    let text = "第一句话。这款理财产品保本保息，另外手机13812345678可以联系。"
    let claim = byteRange(of: "保本保息", in: text), phone = byteRange(of: "13812345678", in: text)
    let excerpt = MaskedContext.excerpt(Array(text.utf8), masking: [claim, phone], focus: claim, radius: 6)
    #expect(excerpt == "…这款理财产品«****»，另外手机«…")
    let wide = MaskedContext.excerpt(Array(text.utf8), masking: [claim, phone], focus: phone, radius: 40)
    #expect(wide == "第一句话。这款理财产品«****»，另外手机«***********»可以联系。")
}

/// UTF-8 offsets of the first occurrence of `needle`.
func byteRange(of needle: String, in text: String) -> Range<Int> {
    let r = text.range(of: needle)!
    let start = text.utf8.distance(from: text.startIndex, to: r.lowerBound)
    return start..<(start + needle.utf8.count)
}

@Test func thresholdsSetTheExitStatus() throws {
    // money recall 0.5, greeting recall 1.0, overall recall 3/5.
    #expect(try tinyReport(thresholds: [Threshold(metric: .minRecall, value: 0.5)]).exitStatus == 0)
    let failing = try tinyReport(thresholds: [Threshold(metric: .minRecall, value: 0.6)])
    #expect(failing.exitStatus == 2)
    #expect(failing.thresholds.filter { !$0.passed }.map(\.scope) == ["money"])
    #expect(failing.thresholds.map(\.scope) == ["greeting", "money", "overall"])

    // greeting FP rate is 1/6 ≈ 0.167; money precision 2/3.
    #expect(try tinyReport(thresholds: [Threshold(metric: .maxFalsePositiveRate, category: "greeting", value: 0.2)]).exitStatus == 0)
    #expect(try tinyReport(thresholds: [Threshold(metric: .maxFalsePositiveRate, category: "greeting", value: 0.1)]).exitStatus == 2)
    #expect(try tinyReport(thresholds: [Threshold(metric: .minPrecision, category: "money", value: 0.66)]).exitStatus == 0)
    #expect(try tinyReport(thresholds: [Threshold(metric: .minPrecision, category: "money", value: 0.7)]).exitStatus == 2)
    // A named category the corpus says nothing about fails rather than passing silently.
    let unknown = try tinyReport(thresholds: [Threshold(metric: .minRecall, category: "weather", value: 0.1)])
    #expect(unknown.exitStatus == 2)
    #expect(unknown.thresholds == [ThresholdResult(metric: .minRecall, scope: "weather", bound: 0.1, actual: nil, passed: false)])
}

@Test(arguments: [
    ("0.9", nil, 0.9), ("90%", nil, 0.9), ("finance-marketing=0.95", "finance-marketing", 0.95), ("1", nil, 1.0),
] as [(String, String?, Double)])
func thresholdArgumentsParse(argument: String, category: String?, value: Double) throws {
    let t = try #require(Threshold(metric: .minRecall, argument: argument))
    #expect(t.category == category)
    #expect(abs(t.value - value) < 1e-12)
}

@Test(arguments: ["1.5", "=0.5", "abc", "x=", "-0.1", "120%"])
func badThresholdArgumentsAreRejected(argument: String) {
    #expect(Threshold(metric: .minPrecision, argument: argument) == nil)
}

@Test func reportRendersAsMarkdownAndJSON() throws {
    let report = try tinyReport(thresholds: [Threshold(metric: .minRecall, value: 0.6)])
    let markdown = report.markdown()
    #expect(markdown.contains("| money | 4 | 2 | 1 | 2 | 2 | 0.667 | 0.500 | 0.571 | 0.333 |"))
    #expect(markdown.contains("**FAILED**"))
    #expect(!markdown.contains("保本"))   // the only raw occurrence would be the masked FP
    let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
    let categories = try #require(json["categories"] as? [[String: Any]])
    let money = try #require(categories.first { $0["category"] as? String == "money" }?["confusion"] as? [String: Any])
    #expect(money["tp"] as? Int == 2 && money["fn"] as? Int == 2)
    #expect(json["false_positives"] != nil && json["throughput"] != nil)
}
