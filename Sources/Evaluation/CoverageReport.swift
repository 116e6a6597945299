import Foundation
import Screening

/// How a lexicon directory covers the 31 Appendix A risks of TC260-003 / GB/T 45654-2025:
/// keywords per risk against the standard's minimums, the age of every file against the weekly
/// update it expects, and the risks nothing covers. Lexicons name their risk with `@risk:`
/// (term lists) or `risk:` (regex rules).
///
/// A **keyword** is a term of a term list (`*.txt`), exception lines (`!…`) excluded and
/// duplicates after normalization counted once — what `menshen lexicon stats` counts. Regex
/// rules are counted separately: a pattern is not a keyword.
public struct CoverageReport: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        /// No rule names the risk.
        case none = "no coverage"
        /// Rules name it, with fewer keywords than the standard's minimum for it.
        case belowMinimum = "below minimum"
        /// Keywords at or above the minimum.
        case meetsMinimum = "meets minimum"
        /// Rules name it and the standard sets no keyword minimum for it.
        case covered = "covered (no minimum set)"
    }
    public struct RiskEntry: Sendable, Codable {
        public let risk: AppendixARisk
        public let rules: [String]
        public let keywords: Int
        public let regexRules: Int
        public let keywordMinimum: Int?
        public let status: Status
    }
    public struct FileEntry: Sendable, Codable {
        public let path: String
        public let rules: [String]
        public let keywords: Int
        public let regexRules: Int
        public let risks: [String]
        public let lastChange: Date?
        public let dateSource: FileDates.Source?
        public let ageDays: Double?
        /// Older than ``AppendixA/updateIntervalDays`` days (or of unknown date).
        public let stale: Bool
    }
    public struct UnmappedRule: Sendable, Codable {
        public let rule: String
        public let category: String
        public let keywords: Int
        public let isRegex: Bool
        public let source: String
    }

    public let lexicons: String
    public let version: String
    public let generated: Date
    public let totalKeywords: Int
    public let totalKeywordMinimum: Int
    public let risks: [RiskEntry]
    public let files: [FileEntry]
    /// Rules with no `risk`.
    public let unmapped: [UnmappedRule]
    /// Codes lexicons use that are not one of the 31 (e.g. `A.1.z`).
    public let unknownCodes: [String]
    public let staleAfterDays: Int

    public var coveredRisks: [RiskEntry] { risks.filter { $0.status != .none } }
    public var uncoveredRisks: [RiskEntry] { risks.filter { $0.status == .none } }
    /// Whether the directory meets every keyword minimum of the standard (total, A.1, A.2).
    public var meetsKeywordMinimums: Bool {
        totalKeywords >= totalKeywordMinimum && risks.allSatisfy { r in r.keywordMinimum.map { r.keywords >= $0 } ?? true }
    }

    /// Builds the report for the lexicons loaded from `directory`.
    ///
    /// ```swift
    /// let set = try LexiconSet.load(directory: "Lexicons")
    /// print(try CoverageReport.make(lexicons: set, directory: "Lexicons").markdown())
    /// ```
    public static func make(lexicons: LexiconSet, directory: String, dates: FileDates = FileDates(), now: Date = Date(),
                            staleAfterDays: Int = AppendixA.updateIntervalDays) throws(LexiconLoadError) -> CoverageReport {
        // Keywords per term-list rule, as the compiler counted them (deduplicated after
        // normalization, exceptions excluded).
        let keywordsOf = lexicons.stats.termsByRule

        func isRegex(_ rule: Rule) -> Bool { if case .regex = rule.kind { return true } else { return false } }

        let risks = AppendixA.risks.map { risk -> RiskEntry in
            let rules = lexicons.rules.filter { $0.risk == risk.code }
            let keywords = rules.reduce(0) { $0 + (keywordsOf[$1.id] ?? 0) }
            let status: Status
            if rules.isEmpty { status = .none }
            else if let minimum = risk.keywordMinimum { status = keywords >= minimum ? .meetsMinimum : .belowMinimum }
            else { status = .covered }
            return RiskEntry(risk: risk, rules: rules.map(\.id), keywords: keywords, regexRules: rules.filter(isRegex).count,
                             keywordMinimum: risk.keywordMinimum, status: status)
        }

        var files: [FileEntry] = []
        var order: [String] = []
        var rulesByFile: [String: [Rule]] = [:]
        for rule in lexicons.rules {
            if rulesByFile[rule.source.file] == nil { order.append(rule.source.file) }
            rulesByFile[rule.source.file, default: []].append(rule)
        }
        for path in order {
            let rules = rulesByFile[path]!
            let change = dates.lastChange(of: path)
            let age = change.map { now.timeIntervalSince($0.date) / 86_400 }
            files.append(FileEntry(path: path, rules: rules.map(\.id), keywords: rules.reduce(0) { $0 + (keywordsOf[$1.id] ?? 0) },
                                   regexRules: rules.filter(isRegex).count, risks: Array(Set(rules.compactMap(\.risk))).sorted(),
                                   lastChange: change?.date, dateSource: change?.source, ageDays: age,
                                   stale: age.map { $0 > Double(staleAfterDays) } ?? true))
        }

        let unmapped = lexicons.rules.filter { $0.risk == nil }.map {
            UnmappedRule(rule: $0.id, category: $0.category, keywords: keywordsOf[$0.id] ?? 0, isRegex: isRegex($0), source: $0.source.description)
        }
        let unknown = Set(lexicons.rules.compactMap(\.risk)).filter { AppendixA.risk($0) == nil }.sorted()
        return CoverageReport(lexicons: directory, version: lexicons.version, generated: now,
                              totalKeywords: keywordsOf.values.reduce(0, +), totalKeywordMinimum: AppendixA.totalKeywordMinimum,
                              risks: risks, files: files, unmapped: unmapped, unknownCodes: unknown, staleAfterDays: staleAfterDays)
    }
}
