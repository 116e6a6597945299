/// A screening result in the JSON shape `menshen check --json` and `POST /v1/screen` return.
/// It names rules and offsets and shows matches masked: it never carries the matched text.
public struct ScreeningReport: Codable, Sendable {
    public struct Hit: Codable, Sendable {
        public let rule: String
        public let category: String
        public let risk: String?
        public let action: Action
        public let severity: Severity
        /// Byte offsets into the screened UTF-8 text.
        public let start: Int
        public let end: Int
        /// Where the rule or term is written (`file:line`).
        public let source: String
        /// The matched text, masked.
        public let masked: String
        /// The context clause that changed the action, if any (`quoted-warning`).
        public let context: String?
    }
    public let decision: Decision
    public let direction: Direction
    public let lexiconVersion: String
    public let matches: [Hit]
    /// Matches a context clause allowed: they changed nothing, and say why.
    public let allowedByContext: [Hit]
    public let maskedText: String

    enum CodingKeys: String, CodingKey {
        case decision, direction, matches
        case lexiconVersion = "lexicon_version"
        case maskedText = "masked_text"
        case allowedByContext = "allowed_by_context"
    }

    public init(result: ScreeningResult, text: String, direction: Direction, lexicons: LexiconSet) {
        let bytes = Array(text.utf8)
        decision = result.decision
        self.direction = direction
        lexiconVersion = result.lexiconVersion
        maskedText = result.maskedText
        func hit(_ m: Match, action: Action) -> Hit {
            let rule = lexicons.rules[m.rule]
            return Hit(rule: rule.id, category: rule.category, risk: rule.risk, action: action, severity: rule.severity,
                       start: m.range.lowerBound, end: m.range.upperBound,
                       source: "\(rule.source.file):\(m.line)",
                       masked: String(decoding: Masker.render(bytes[m.range], style: rule.mask), as: UTF8.self),
                       context: lexicons.context(of: m)?.name)
        }
        let policy = ActionPolicy()
        matches = result.matches.map { hit($0, action: policy.action(for: $0, lexicons: lexicons, direction: direction)) }
        allowedByContext = result.allowedByContext.map { hit($0, action: lexicons.rules[$0.rule].action) }
    }
}
