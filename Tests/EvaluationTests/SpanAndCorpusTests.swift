import Foundation
import Screening
import Testing
@testable import Evaluation
import TestSupport

@Test func spansAreScoredExactlyAndByOverlapInCodePoints() throws {
    let dir = try TemporaryDirectory([
        "money.txt": "@id: test.money\n@category: money\n@action: block\n稳赚\n保本\n",
        "corpus.jsonl": """
        {"id": "s1", "text": "保本和稳赚", "direction": "output", "expect": {"action": "block", "categories": ["money"], "spans": [[0, 2], [3, 5]]}}
        {"id": "s2", "text": "稳赚不赔", "direction": "output", "expect": {"action": "block", "categories": ["money"], "spans": [[0, 4]]}}
        {"id": "s3", "text": "ａ😀保本", "direction": "output", "expect": {"action": "block", "categories": ["money"], "spans": [[2, 4]]}}
        {"id": "s4", "text": "稳赚", "direction": "output", "expect": {"action": "block", "categories": ["money"]}}
        """,
    ])
    defer { dir.remove() }
    let report = EvaluationReport.make(cases: try Corpus.load(paths: [dir.path + "/corpus.jsonl"]),
                                       evaluator: Evaluator(lexicons: try LexiconSet.load(directory: dir.path)), options: quickOptions())
    let spans = try #require(report.spans)
    // s1: 2 predicted, both exact. s2: predicted [0,2) against expected [0,4): overlap only.
    // s3: 'ａ' (3 bytes) and '😀' (4 bytes) are one code point each, so 保本 is [2,4): exact.
    // s4 gives no spans and is left out.
    #expect(spans.cases == 3)
    #expect(spans.expected == 4)
    #expect(spans.predicted == 4)
    #expect(spans.exact.matchedPredicted == 3 && spans.exact.matchedExpected == 3)
    #expect(spans.exact.precision == 0.75 && spans.exact.recall == 0.75)
    #expect(spans.overlap.precision == 1 && spans.overlap.recall == 1)
    #expect(report.spanMismatches.map(\.caseId) == ["s2"])
    #expect(report.spanMismatches.first?.expected == [[0, 4]] && report.spanMismatches.first?.predicted == [[0, 2]])
}

@Test func corpusAcceptsTheRegressionCaseShape() throws {
    let lexicons = try LexiconSet.compile(files: [("money.txt", "@id: test.money\n@category: money\n@action: block\n稳赚\n")])
    var issues: [LexiconIssue] = []
    let cases = Corpus.parse("""
        {"text": "稳赚", "direction": "output", "expect": "block", "rules": ["test.money"]}
        {"text": "你好", "direction": "output", "expect": "allow", "absent": ["test.money"]}
        {"text": "?", "direction": "input", "expect": "flag"}
        {"text": "x", "direction": "input", "expect": "mask", "categories": ["personal-information"]}
        """, path: "dir/flat.cases.jsonl", issues: &issues)
    #expect(issues.isEmpty)
    #expect(cases.map(\.id) == ["flat.cases:1", "flat.cases:2", "flat.cases:3", "flat.cases:4"])
    #expect(cases.map { $0.resolvedCategories(in: [lexicons]) } == [["money"], [], nil, ["personal-information"]])
    #expect(cases[0].expectedDecision == .block)
}

@Test func badCorpusLinesAreReportedWithFileAndLine() throws {
    let dir = try TemporaryDirectory(["bad.jsonl": """
        {"id": "a", "text": "x", "direction": "output", "expect": {"action": "allow"}}
        {"id": "b", "text": "abc", "direction": "sideways", "expect": "allow"}
        {"id": "c", "text": "abc", "direction": "input", "expect": {"action": "block", "spans": [[2, 9]]}}
        {"id": "a", "text": "y", "direction": "input", "expect": "allow"}
        {"id": "d", "text": "z", "direction": "input", "expect": "blocked"}
        not json
        {"id": "e", "direction": "input", "expect": "allow"}
        """])
    defer { dir.remove() }
    let path = dir.path + "/bad.jsonl"
    let error = try #require(#expect(throws: CorpusLoadError.self) { try Corpus.load(paths: [path]) })
    #expect(error.issues.map(\.line) == [2, 3, 5, 6, 7, 4])
    #expect(error.issues.allSatisfy { $0.file == path })
    #expect(error.issues[1].message.contains("code points"), "\(error.issues[1])")
    #expect(error.issues[2].message.contains("not allow, flag, mask or block"), "\(error.issues[2])")
    #expect(error.issues[4].message.contains("missing 'text'"), "\(error.issues[4])")
    #expect(error.issues[5].message.contains("duplicate id 'a'"), "\(error.issues[5])")
}

@Test func sampleCorporaExerciseEveryShippedRule() throws {
    let directory = repositoryRoot + "/Tests/Corpora"
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jsonl") }.sorted()
    let cases = try Corpus.load(paths: files.map { directory + "/" + $0 })
    #expect(cases.count >= 150)
    let lexicons = try LexiconSet.load(directory: repositoryRoot + "/Lexicons")
    let report = EvaluationReport.make(cases: cases, evaluator: Evaluator(lexicons: lexicons), options: quickOptions())
    #expect(report.rulesNeverFired.isEmpty, "\(report.rulesNeverFired)")
    #expect(report.warnings.isEmpty, "\(report.warnings)")
    for category in Set(lexicons.rules.map(\.category)) {
        let c = try #require(report.categories.first { $0.category == category }).confusion
        #expect(c.positives >= 10, "\(category)")
        #expect(c.negatives >= 10, "\(category)")
    }
    // Evasion variants are present for every term list: they carry an "evasion" note.
    #expect(cases.filter { $0.note?.hasPrefix("evasion") == true }.count >= 20)
    // No listing shows what a rule matched.
    for fp in report.falsePositives {
        let text = Array(cases.first { $0.id == fp.caseId }!.text.utf8)
        for hit in fp.hits {
            let matched = String(decoding: text[hit.start..<hit.end], as: UTF8.self)
            #expect(!hit.context.contains(matched), "\(fp.caseId): \(hit.context)")
        }
    }
}
