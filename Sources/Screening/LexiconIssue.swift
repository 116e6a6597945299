/// One problem found in a lexicon file, with the place it is at.
public struct LexiconIssue: Sendable, Hashable, CustomStringConvertible, Codable {
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `Lexicons/finance/guaranteed-returns.txt:42: empty term`
    public var description: String { "\(file):\(line): \(message)" }
}

/// A lexicon directory that cannot be loaded. Carries every problem found, so an analyst fixes
/// them all in one pass; loading yields a complete lexicon set or none.
public struct LexiconLoadError: Error, Sendable, CustomStringConvertible {
    public let issues: [LexiconIssue]

    public init(issues: [LexiconIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
