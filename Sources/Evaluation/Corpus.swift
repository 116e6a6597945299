import Foundation
import Screening

/// One labelled text of an evaluation corpus (`*.jsonl`, one JSON object per line).
///
/// ```json
/// {"id": "fin-01", "text": "本产品保本保息", "direction": "output",
///  "expect": {"action": "block", "categories": ["finance-marketing"], "spans": [[3, 7]]}}
/// ```
///
/// The flatter regression-case shape (`"expect": "block", "rules": [...]`) is accepted too, so
/// `Lexicons/**/*.cases.jsonl` can be evaluated as they are. See `docs/eval.md`.
public struct CorpusCase: Sendable {
    /// Unique within a run: the line's `id`, or `FILE-STEM:LINE`.
    public var id: String
    public var text: String
    public var direction: Direction
    /// The decision the whole lexicon set should reach (`allow` when nothing should fire).
    public var expectedDecision: Decision
    /// Every category that should fire on this text. `nil`: the line does not say (it then
    /// counts for the decision metrics only). See ``CorpusCase/resolvedCategories(in:)``.
    public var expectedCategories: Set<String>?
    /// Rule ids that should fire (regression-case shape); used for categories when
    /// `categories` is absent.
    public var expectedRules: [String]?
    /// Spans that should be reported, as half-open **Unicode scalar (code point)** offsets —
    /// what Python's `len()` and slicing count. `nil`: the line gives no spans.
    public var expectedSpans: [Range<Int>]?
    public var note: String?
    /// Where the line is (`Tests/Corpora/finance-marketing.jsonl:12`).
    public var source: SourceLocation

    public init(id: String, text: String, direction: Direction, expectedDecision: Decision,
                expectedCategories: Set<String>? = nil, expectedRules: [String]? = nil,
                expectedSpans: [Range<Int>]? = nil, note: String? = nil,
                source: SourceLocation = SourceLocation(file: "inline", line: 0)) {
        self.id = id
        self.text = text
        self.direction = direction
        self.expectedDecision = expectedDecision
        self.expectedCategories = expectedCategories
        self.expectedRules = expectedRules
        self.expectedSpans = expectedSpans
        self.note = note
        self.source = source
    }

    /// The categories this case is labelled with: `categories` if given; else the categories of
    /// the `rules` it names (looked up in `lexicons`); else none when the expected decision is
    /// `allow`; else `nil` (not labelled for categories).
    public func resolvedCategories(in lexicons: [LexiconSet]) -> Set<String>? {
        if let expectedCategories { return expectedCategories }
        if let expectedRules {
            return Set(expectedRules.compactMap { id in lexicons.lazy.compactMap { $0.rule(id: id)?.category }.first })
        }
        return expectedDecision == .allow ? [] : nil
    }
}

/// A corpus that cannot be read: every bad line, with `file:line`.
public struct CorpusLoadError: Error, Sendable, CustomStringConvertible {
    public let issues: [LexiconIssue]
    public init(issues: [LexiconIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

public enum Corpus {
    /// Reads every file (JSON Lines). Blank lines and lines starting with `#` or `//` are
    /// skipped. Every problem in every file is collected before throwing.
    public static func load(paths: [String]) throws(CorpusLoadError) -> [CorpusCase] {
        var cases: [CorpusCase] = []
        var issues: [LexiconIssue] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                issues.append(LexiconIssue(file: path, line: 0, message: "cannot read file"))
                continue
            }
            guard let text = String(validating: [UInt8](data), as: UTF8.self) else {
                issues.append(LexiconIssue(file: path, line: 0, message: "not valid UTF-8"))
                continue
            }
            cases += parse(text, path: path, issues: &issues)
        }
        var firstSeen: [String: SourceLocation] = [:]
        for c in cases {
            if let first = firstSeen[c.id] {
                issues.append(LexiconIssue(file: c.source.file, line: c.source.line, message: "duplicate id '\(c.id)' (first at \(first))"))
            } else {
                firstSeen[c.id] = c.source
            }
        }
        if cases.isEmpty && issues.isEmpty {
            issues.append(LexiconIssue(file: paths.joined(separator: ", "), line: 0, message: "no cases"))
        }
        guard issues.isEmpty else { throw CorpusLoadError(issues: issues) }
        return cases
    }

    /// Parses JSON Lines text from `path`, appending problems to `issues`.
    public static func parse(_ text: String, path: String, issues: inout [LexiconIssue]) -> [CorpusCase] {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let decoder = JSONDecoder()
        var cases: [CorpusCase] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let trimmed = line.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r"))
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("//") { continue }
            func fail(_ message: String) { issues.append(LexiconIssue(file: path, line: lineNumber, message: message)) }
            let raw: RawLine
            do {
                raw = try decoder.decode(RawLine.self, from: Data(trimmed.utf8))
            } catch {
                fail("not a corpus line: \(describe(error))")
                continue
            }
            var spans: [Range<Int>]?
            if let given = raw.expect.spans ?? raw.spans {
                let length = raw.text.unicodeScalars.count
                var valid: [Range<Int>] = []
                for pair in given {
                    guard pair.count == 2, pair[0] >= 0, pair[0] < pair[1], pair[1] <= length else {
                        fail("span \(pair) is not [start, end] with 0 <= start < end <= \(length) (code points)")
                        continue
                    }
                    valid.append(pair[0]..<pair[1])
                }
                spans = valid
            }
            let categories = raw.expect.categories ?? raw.categories
            cases.append(CorpusCase(
                id: raw.id ?? "\(stem):\(lineNumber)", text: raw.text, direction: raw.direction,
                expectedDecision: raw.expect.action, expectedCategories: categories.map(Set.init),
                expectedRules: raw.expect.rules ?? raw.rules, expectedSpans: spans, note: raw.note,
                source: SourceLocation(file: path, line: lineNumber)))
        }
        return cases
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing '\(key.stringValue)'"
        case DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "invalid JSON" : "bad '\(path)': \(context.debugDescription)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "bad '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// The JSON shape of a line: `expect` is an object or, in the regression-case shape, a bare
/// decision with `rules` / `categories` / `spans` beside it.
private struct RawLine: Decodable {
    struct Expect: Decodable {
        var action: Decision
        var categories: [String]?
        var rules: [String]?
        var spans: [[Int]]?

        init(from decoder: Decoder) throws {
            if let single = try? decoder.singleValueContainer(), let word = try? single.decode(String.self) {
                guard let action = Decision(rawValue: word) else {
                    throw DecodingError.dataCorruptedError(in: single, debugDescription: "'\(word)' is not allow, flag, mask or block")
                }
                self.action = action
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            action = try c.decode(Decision.self, forKey: .action)
            categories = try c.decodeIfPresent([String].self, forKey: .categories)
            rules = try c.decodeIfPresent([String].self, forKey: .rules)
            spans = try c.decodeIfPresent([[Int]].self, forKey: .spans)
        }
        enum CodingKeys: String, CodingKey { case action, categories, rules, spans }
    }
    var id: String?
    var text: String
    var direction: Direction
    var expect: Expect
    var categories: [String]?
    var rules: [String]?
    var spans: [[Int]]?
    var note: String?

    enum CodingKeys: String, CodingKey { case id, text, direction, expect, categories, rules, spans, note }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try? c.decodeIfPresent(String.self, forKey: .id) { id = s }
        else if let n = try? c.decodeIfPresent(Int.self, forKey: .id) { id = String(n) }
        else if c.contains(.id) { throw DecodingError.typeMismatch(String.self, .init(codingPath: [CodingKeys.id], debugDescription: "id must be a string or an integer")) }
        text = try c.decode(String.self, forKey: .text)
        direction = try c.decode(Direction.self, forKey: .direction)
        expect = try c.decode(Expect.self, forKey: .expect)
        categories = try c.decodeIfPresent([String].self, forKey: .categories)
        rules = try c.decodeIfPresent([String].self, forKey: .rules)
        spans = try c.decodeIfPresent([[Int]].self, forKey: .spans)
        note = try c.decodeIfPresent(String.self, forKey: .note)
    }
}
