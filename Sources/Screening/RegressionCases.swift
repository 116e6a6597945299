import Foundation

/// One regression case written beside a lexicon (`NAME.cases.jsonl`): a text, a direction,
/// and what the whole lexicon directory must decide about it — like a WAF's regression corpus.
public struct RegressionCase: Sendable, Codable {
    public let text: String
    public let direction: Direction
    /// The overall decision expected from the whole directory.
    public let expect: Decision
    /// Rule ids that must fire.
    public let rules: [String]?
    /// Rule ids that must not fire.
    public let absent: [String]?
    /// The exact text after masking, when given.
    public let masked: String?
    /// Names of context clauses that must have applied to some match (`quoted-warning`).
    public let contexts: [String]?
    public let note: String?
    /// Where the case is written (filled in when loading).
    public var source: SourceLocation?

    enum CodingKeys: String, CodingKey { case text, direction, expect, rules, absent, masked, contexts, note }
}

/// A case that did not come out as written.
public struct RegressionFailure: Sendable, CustomStringConvertible {
    public let testCase: RegressionCase
    public let problems: [String]
    public var description: String {
        "\(testCase.source.map(\.description) ?? "?"): \(problems.joined(separator: "; "))"
    }
}

public enum RegressionSuite {
    /// Reads every `*.cases.jsonl` under `directory`. Lines that do not parse are issues.
    public static func load(directory: String) throws(LexiconLoadError) -> [RegressionCase] {
        var cases: [RegressionCase] = []
        var issues: [LexiconIssue] = []
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(atPath: directory) else {
            throw LexiconLoadError(issues: [LexiconIssue(file: directory, line: 0, message: "not a directory")])
        }
        var paths: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".cases.jsonl") && !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { paths.append(relative) }
        }
        let decoder = JSONDecoder()
        for relative in paths.sorted() {
            let path = directory + "/" + relative
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                issues.append(LexiconIssue(file: path, line: 1, message: "cannot read file"))
                continue
            }
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: " \t\r")
                if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("//") { continue }
                do {
                    var c = try decoder.decode(RegressionCase.self, from: Data(trimmed.utf8))
                    c.source = SourceLocation(file: path, line: index + 1)
                    cases.append(c)
                } catch {
                    issues.append(LexiconIssue(file: path, line: index + 1, message: "not a regression case: \(describe(error))"))
                }
            }
        }
        guard issues.isEmpty else { throw LexiconLoadError(issues: issues) }
        return cases
    }

    /// Runs the cases against `lexicons`; returns those that failed.
    public static func run(_ cases: [RegressionCase], lexicons: LexiconSet) -> [RegressionFailure] {
        cases.compactMap { c in
            let result = lexicons.screen(c.text, direction: c.direction)
            let fired = Set(result.matches.map { lexicons.rules[$0.rule].id })
            var problems: [String] = []
            if result.decision != c.expect {
                problems.append("expected \(c.expect), got \(result.decision) (fired: \(fired.sorted().joined(separator: ", ")))")
            }
            for id in c.rules ?? [] where !fired.contains(id) {
                problems.append(lexicons.rule(id: id) == nil ? "rule '\(id)' does not exist" : "rule '\(id)' did not fire")
            }
            for id in c.absent ?? [] where fired.contains(id) { problems.append("rule '\(id)' fired but must not") }
            for id in lexicons.rulesMissedByPrefilters(Array(c.text.utf8), direction: c.direction) {
                problems.append("rule '\(id)' matches this text fed as a stream but not whole: none of its anchors occurs in it (add the keyword it matched to its anchors), or its digit_run is longer than the digits it matched")
            }
            let applied = Set((result.matches + result.allowedByContext).compactMap { lexicons.context(of: $0)?.name })
            for name in c.contexts ?? [] where !applied.contains(name) {
                problems.append("context '\(name)' did not apply (applied: \(applied.sorted().joined(separator: ", ")))")
            }
            if let masked = c.masked, masked != result.maskedText {
                problems.append("masked text is \(result.maskedText.debugDescription), expected \(masked.debugDescription)")
            }
            return problems.isEmpty ? nil : RegressionFailure(testCase: c, problems: problems)
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case DecodingError.dataCorrupted(let context): return context.debugDescription
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "bad '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
