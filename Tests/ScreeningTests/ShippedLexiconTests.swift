import Testing
@testable import Screening
import TestSupport

let shippedLexicons: LexiconSet = try! LexiconSet.load(directory: repositoryRoot + "/Lexicons")

@Test func shippedLexiconsLoadWithoutWarnings() {
    #expect(shippedLexicons.warnings.isEmpty, "\(shippedLexicons.warnings)")
    #expect(shippedLexicons.stats.termsByCategory["prompt-injection", default: 0] >= 150)
    #expect(shippedLexicons.stats.termsByCategory["finance-marketing", default: 0] >= 100)
    #expect(shippedLexicons.rule(id: "pii.cn-mobile")?.action == .mask)
    #expect(shippedLexicons.rule(id: "secrets.private-key")?.action == .block)
}

@Test func everyShippedRegressionCasePasses() throws {
    let cases = try RegressionSuite.load(directory: repositoryRoot + "/Lexicons")
    #expect(cases.count >= 150)
    let failures = RegressionSuite.run(cases, lexicons: shippedLexicons)
    for failure in failures { Issue.record("\(failure)") }
    // Every lexicon file has positive and negative cases of its own.
    for rule in shippedLexicons.rules {
        let file = rule.source.file.replacingOccurrences(of: ".txt", with: ".cases.jsonl")
            .replacingOccurrences(of: ".yaml", with: ".cases.jsonl")
        let own = cases.filter { $0.source?.file == file }
        #expect(own.contains { $0.expect != .allow }, "\(file) has no positive case")
        #expect(own.contains { $0.expect == .allow }, "\(file) has no negative case")
    }
}

@Test func shippedCasesHoldUnderStreaming() throws {
    // The regression corpus streamed in 1-byte and random pieces finds what whole text finds.
    let cases = try RegressionSuite.load(directory: repositoryRoot + "/Lexicons")
    for (i, c) in cases.enumerated() {
        let bytes = Array(c.text.utf8)
        let whole = streamScan(shippedLexicons, bytes, direction: c.direction, chunking: .whole).matches
        for chunking in [Chunking.bytes(1), .random(seed: UInt64(i))] {
            let (split, violations) = streamScan(shippedLexicons, bytes, direction: c.direction, chunking: chunking)
            #expect(split == whole, "\(c.source!) \(chunking)")
            #expect(violations == 0, "\(c.source!) \(chunking)")
        }
    }
}

@Test func issueExamples() {
    let blocked = shippedLexicons.screen("这款产品稳 赚 不 赔，详询 13812345678", direction: .output)
    #expect(blocked.decision == .block)
    #expect(blocked.matches.contains { shippedLexicons.rules[$0.rule].category == "finance-marketing" })
    #expect(blocked.maskedText.hasSuffix("138****5678"))
    #expect(shippedLexicons.screen("本产品不保本，投资有风险", direction: .output).decision == .allow)
}
