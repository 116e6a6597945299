/// Per-deployment overrides of what rules do: a security team may block prompt injection on
/// input while the shipped lexicon only flags it, or shadow a new lexicon for a week.
public struct ActionPolicy: Sendable, Equatable {
    /// One override: rules of `category` (or one rule `id`) in `direction` (or both) get `action`.
    public struct Override: Sendable, Equatable {
        public var category: String?
        public var rule: String?
        public var direction: Direction?
        public var action: Action
        public init(category: String? = nil, rule: String? = nil, direction: Direction? = nil, action: Action) {
            self.category = category
            self.rule = rule
            self.direction = direction
            self.action = action
        }
    }

    /// Later overrides win over earlier ones; a rule id override wins over a category one.
    public var overrides: [Override]

    public init(overrides: [Override] = []) { self.overrides = overrides }

    /// What `rule` does in `direction` under this policy.
    public func action(for rule: Rule, direction: Direction) -> Action {
        var byCategory: Action?
        var byRule: Action?
        for o in overrides where o.direction == nil || o.direction == direction {
            if let id = o.rule, id == rule.id { byRule = o.action }
            else if o.rule == nil, let c = o.category, c == rule.category { byCategory = o.action }
        }
        return byRule ?? byCategory ?? rule.action
    }

    /// What one match does in `direction`: its rule's action under this policy, weakened by
    /// the context clause that applied to it (a context never strengthens an action).
    public func action(for match: Match, lexicons: LexiconSet, direction: Direction) -> Action {
        let ruleAction = action(for: lexicons.rules[match.rule], direction: direction)
        guard let clause = lexicons.context(of: match) else { return ruleAction }
        return clause.action.map { min(ruleAction, $0) } ?? .shadow
    }

    /// The strongest decision `matches` lead to.
    public func decision(for matches: [Match], lexicons: LexiconSet, direction: Direction) -> Decision {
        matches.reduce(.allow) { max($0, Decision(action(for: $1, lexicons: lexicons, direction: direction))) }
    }

    /// The matches whose action under this policy is `action`.
    public func matches(_ matches: [Match], withAction action: Action, lexicons: LexiconSet, direction: Direction) -> [Match] {
        matches.filter { self.action(for: $0, lexicons: lexicons, direction: direction) == action }
    }
}

extension LexiconSet {
    /// Screens a whole text under a policy's action overrides.
    public func screen(_ text: String, direction: Direction, policy: ActionPolicy) -> ScreeningResult {
        let bytes = Array(text.utf8)
        let (matches, allowed) = scanWithContext(bytes, direction: direction)
        guard !matches.isEmpty else {          // the common case: nothing to decide or mask
            return ScreeningResult(decision: .allow, matches: [], maskedText: text, lexiconVersion: version, allowedByContext: allowed)
        }
        let masks = policy.matches(matches, withAction: .mask, lexicons: self, direction: direction)
        return ScreeningResult(decision: policy.decision(for: matches, lexicons: self, direction: direction), matches: matches,
                               maskedText: masks.isEmpty ? text : String(decoding: Masker.apply(to: bytes, matches: masks, rules: rules), as: UTF8.self),
                               lexiconVersion: version, allowedByContext: allowed)
    }
}
