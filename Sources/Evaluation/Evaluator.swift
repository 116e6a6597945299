import Screening

/// What one lexicon set decided about one corpus case.
public struct CaseOutcome: Sendable {
    /// Index into the corpus the outcome belongs to.
    public let index: Int
    public let decision: Decision
    /// Every match, shadow ones included, in text order.
    public let matches: [Match]
    /// Per match: its action under the policy in the case's direction.
    public let actions: [Action]
    /// Categories with at least one non-shadow match: the predicted positives.
    public let categories: Set<String>
    /// Categories with at least one shadow match.
    public let shadowCategories: Set<String>
    /// The decision if every shadow match acted as intended (see ``Evaluator/shadowIntent``).
    public let decisionWithShadow: Decision

    /// The non-shadow matches.
    public var firingMatches: [Match] { zip(matches, actions).filter { $0.1 != .shadow }.map(\.0) }
}

/// Runs a corpus through one lexicon set under one action policy.
///
/// ```swift
/// let evaluator = Evaluator(lexicons: try LexiconSet.load(directory: "Lexicons"))
/// let outcomes = evaluator.run(cases)
/// ```
public struct Evaluator: Sendable {
    public let lexicons: LexiconSet
    /// Deployment overrides (`screening.actions` of a policy file); empty means lexicon actions.
    public let policy: ActionPolicy
    /// What a shadow match "would have" done. A rule that a policy demoted to `shadow` would
    /// have done its lexicon action; a rule written with `@action: shadow` is assumed to become
    /// this action (default `block`, the question a team trialling a lexicon asks).
    public let shadowIntent: Action

    public init(lexicons: LexiconSet, policy: ActionPolicy = ActionPolicy(), shadowIntent: Action = .block) {
        self.lexicons = lexicons
        self.policy = policy
        self.shadowIntent = shadowIntent
    }

    /// Screens every case; outcomes are in corpus order.
    public func run(_ cases: [CorpusCase]) -> [CaseOutcome] {
        cases.enumerated().map { index, c in outcome(of: c, index: index) }
    }

    func outcome(of c: CorpusCase, index: Int) -> CaseOutcome {
        let result = lexicons.screen(c.text, direction: c.direction, policy: policy)
        var categories: Set<String> = []
        var shadowCategories: Set<String> = []
        var withShadow = result.decision
        var actions: [Action] = []
        actions.reserveCapacity(result.matches.count)
        for m in result.matches {
            let rule = lexicons.rules[m.rule]
            let action = policy.action(for: m, lexicons: lexicons, direction: c.direction)
            actions.append(action)
            if action == .shadow {
                shadowCategories.insert(rule.category)
                withShadow = max(withShadow, Decision(rule.action == .shadow ? shadowIntent : rule.action))
            } else {
                categories.insert(rule.category)
            }
        }
        return CaseOutcome(index: index, decision: result.decision, matches: result.matches, actions: actions,
                           categories: categories, shadowCategories: shadowCategories, decisionWithShadow: withShadow)
    }

    /// Screening throughput over `cases`: runs the whole corpus until at least `minimumSeconds`
    /// have passed (once if 0), so a small corpus still gives a stable figure.
    public func throughput(_ cases: [CorpusCase], minimumSeconds: Double) -> Throughput {
        let bytes = cases.reduce(0) { $0 + $1.text.utf8.count }
        let clock = ContinuousClock()
        let start = clock.now
        var passes = 0
        repeat {
            for c in cases { _ = lexicons.screen(c.text, direction: c.direction, policy: policy) }
            passes += 1
        } while (clock.now - start).seconds < minimumSeconds
        let seconds = max((clock.now - start).seconds, 1e-9)
        return Throughput(texts: cases.count, bytes: bytes, passes: passes, seconds: seconds,
                          textsPerSecond: Double(cases.count * passes) / seconds,
                          megabytesPerSecond: Double(bytes * passes) / seconds / 1e6)
    }
}

/// How fast the corpus was screened (whole-text `screen`, masking included).
public struct Throughput: Sendable, Codable, Equatable {
    public let texts: Int
    /// UTF-8 bytes of all texts in one pass.
    public let bytes: Int
    /// How many times the corpus was screened for the measurement.
    public let passes: Int
    public let seconds: Double
    public let textsPerSecond: Double
    /// Megabytes (10^6 bytes) of UTF-8 text per second.
    public let megabytesPerSecond: Double
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
