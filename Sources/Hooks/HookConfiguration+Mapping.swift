import Screening

extension HookConfiguration {
    /// The Menshen matches a verdict fires.
    ///
    /// - Each reported category at or above its threshold (its `categories:` entry, the `*`
    ///   entry, or the hook's `threshold`) fires its mapped category and action.
    /// - The overall verdict fires `category` with `action` when the hook names an action
    ///   (webhook), or when nothing fired above and the score is at or above `threshold` —
    ///   except for openai-moderation, whose score is only the highest category score, so its
    ///   categories alone decide (a stricter per-category threshold stays stricter).
    /// - A webhook's explicit `"action": "allow"` fires no overall verdict.
    public func matches(for verdict: HookVerdict) -> [HookMatch] {
        var out: [HookMatch] = []
        for (name, score) in verdict.categories.sorted(by: { $0.key < $1.key }) {
            let mapping = categories[name.lowercased()] ?? categories["*"]
            guard score >= (mapping?.threshold ?? threshold) else { continue }
            out.append(HookMatch(hook: self.name, category: mapping?.category ?? "hook.\(self.name).\(name)", hookCategory: name,
                                 score: score, action: mapping?.action ?? action))
        }
        if verdict.explicitAllow { return out }
        if let named = verdict.action {
            out.append(HookMatch(hook: name, category: overallCategory, hookCategory: nil, score: nil, action: named))
            return out
        }
        let categoriesDecide = kind == .openAIModeration && !verdict.categories.isEmpty
        if out.isEmpty && !categoriesDecide && verdict.score >= threshold {
            out.append(HookMatch(hook: name, category: overallCategory, hookCategory: nil, score: verdict.score, action: action))
        }
        return out
    }

    /// Cascade: whether this hook is unsure about `score` and hands the text to `next`.
    func escalates(_ score: Double) -> Bool {
        guard next != nil, let low = decideBelow, let high = decideAbove else { return false }
        return score >= low && score < high
    }

    /// Whether the hook screens this text (its directions and roles; cascade targets are
    /// reached only through their cascade and are not asked).
    func screens(_ input: HookInput) -> Bool {
        guard directions.contains(input.direction) else { return false }
        if input.direction == .input, let roles, !roles.contains(input.role) { return false }
        return true
    }
}
