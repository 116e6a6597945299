import Foundation
import Screening
import Testing
@testable import Evaluation
import TestSupport

@Test func coverageCountsKeywordsPerRiskAndFlagsStaleFiles() throws {
    let dir = try TemporaryDirectory([
        // 4 term lines, one a duplicate after normalization (full-width), plus an exception: 3 keywords.
        "a1/subversion.txt": "@id: t.a1a\n@category: politics\n@risk: A.1.a\n@action: block\nalpha\nbeta\nＢＥＴＡ\ngamma\n!not gamma\n",
        "a2/gender.txt": "@id: t.a2e\n@category: discrimination\n@risk: A.2.e\n@action: flag\none\ntwo\n",
        "pii.yaml": """
        rules:
          - id: t.phone
            category: personal-information
            risk: A.4.f
            action: mask
            pattern: '1[3-9][0-9]{9}'
        """,
        "misc.txt": "@id: t.misc\n@category: prompt-injection\n@action: flag\nignore previous instructions\n",
    ])
    defer { dir.remove() }
    let now = Date()
    let old = now.addingTimeInterval(-30 * 86_400)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir.path + "/a1/subversion.txt")
    for f in ["a2/gender.txt", "pii.yaml", "misc.txt"] {
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-86_400)], ofItemAtPath: dir.path + "/" + f)
    }
    let set = try LexiconSet.load(directory: dir.path)
    let report = try CoverageReport.make(lexicons: set, directory: dir.path, dates: FileDates(useGit: false), now: now)

    func risk(_ code: String) throws -> CoverageReport.RiskEntry { try #require(report.risks.first { $0.risk.code == code }) }
    #expect(report.risks.count == 31)
    #expect(try risk("A.1.a").keywords == 3)
    #expect(try risk("A.1.a").status == .belowMinimum)
    #expect(try risk("A.1.a").keywordMinimum == 200)
    #expect(try risk("A.2.e").keywords == 2)
    #expect(try risk("A.2.e").keywordMinimum == 100)
    #expect(try risk("A.4.f").keywords == 0)
    #expect(try risk("A.4.f").regexRules == 1)
    #expect(try risk("A.4.f").status == .covered)
    #expect(try risk("A.5.b").status == .none)
    #expect(report.coveredRisks.map(\.risk.code) == ["A.1.a", "A.2.e", "A.4.f"])
    #expect(report.uncoveredRisks.count == 28)
    #expect(report.totalKeywords == 6)   // 3 + 2 + 1 (misc) + 0 (regex)
    #expect(!report.meetsKeywordMinimums)
    #expect(report.unmapped.map(\.rule) == ["t.misc"])

    let stale = report.files.filter(\.stale).map { URL(fileURLWithPath: $0.path).lastPathComponent }
    #expect(stale == ["subversion.txt"])
    let a1 = try #require(report.files.first { $0.path.hasSuffix("subversion.txt") })
    #expect(a1.dateSource == .mtime)
    #expect(abs((a1.ageDays ?? 0) - 30) < 0.01)

    let markdown = report.markdown()
    #expect(markdown.contains("28 of the 31 Appendix A risks have no rule at all"))
    #expect(markdown.contains("| A.1.a | 煽动颠覆国家政权、推翻社会主义制度 |"))
    #expect(markdown.contains("below minimum (3 of 200)"))
    #expect(markdown.contains("STALE (> 7 days)"))
    let html = report.html()
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(html.contains("<tr class=\"none\"><td>A.1.b</td>"))
    #expect(!html.contains("> 7 days") && html.contains("&gt; 7 days"))
}

@Test func appendixAHasThirtyOneRisksInFiveGroups() {
    let codes = AppendixA.risks.map(\.code)
    #expect(codes.count == 31 && Set(codes).count == 31)
    let perGroup = Dictionary(grouping: AppendixA.risks, by: \.group).mapValues(\.count)
    #expect(perGroup == ["A.1": 8, "A.2": 9, "A.3": 5, "A.4": 7, "A.5": 2])
    #expect(AppendixA.risks.filter { $0.keywordMinimum != nil }.count == 17)
}

@Test func shippedLexiconsCoverageIsReportedHonestly() throws {
    let set = try LexiconSet.load(directory: repositoryRoot + "/Lexicons")
    let report = try CoverageReport.make(lexicons: set, directory: repositoryRoot + "/Lexicons", dates: FileDates(useGit: false))
    #expect(report.coveredRisks.map(\.risk.code) == ["A.3.e", "A.4.f"])
    #expect(report.totalKeywords == set.stats.termsByCategory.values.reduce(0, +))
    #expect(report.markdown().contains("do not meet the keyword-library requirements"))
}
