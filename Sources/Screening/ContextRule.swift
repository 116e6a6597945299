import Normalization
import Yams

/// A surrounding of a match that changes what its rule does: a warning before a promise
/// ("谨防“保本保息”"), a question after it ("零风险，是真的吗？"), a label before a number
/// (订单号 before an 18-digit number). See `Lexicons/README.md` §7 ("Context").
///
/// A rule lists its clauses in order; the first clause whose conditions all hold decides, and
/// its action replaces the rule's action for that match **only when it is weaker** (a context
/// can turn block into flag or mask into allow, never the other way), so a deployment's own
/// action overrides are never strengthened by a lexicon author's context.
public struct ContextClause: Sendable {
    /// Reported with the match (`context: quoted-warning`).
    public let name: String
    /// What the match does in this context: `nil` allows it (it is reported, never acted on).
    public let action: Action?
    /// Cues of which one must end at most `within` characters before the match.
    let before: CueWindow?
    /// Cues of which none may end at most `within` characters before the match.
    let notBefore: CueWindow?
    /// Cues of which one must start at most `within` characters after the match.
    let after: CueWindow?
    /// Cues of which none may start at most `within` characters after the match.
    let notAfter: CueWindow?
    /// The match is inside quotation marks opened at most this many characters before it and
    /// closed at most this many after it.
    let quoted: Int?
    /// The sentence of the match ends with a question mark at most this many characters after it.
    let question: Int?
    /// Where the clause is written, for messages.
    public let source: SourceLocation

    /// How many characters after a match this clause may read: a stream holds a match (and the
    /// text from it on) at most this long before deciding.
    var lookahead: Int {
        max(after.map { $0.within + $0.longestCue } ?? 0, notAfter.map { $0.within + $0.longestCue } ?? 0, quoted ?? 0, question ?? 0)
    }
    /// How many characters before a match this clause may read.
    var lookbehind: Int {
        max(before.map { $0.within + $0.longestCue } ?? 0, notBefore.map { $0.within + $0.longestCue } ?? 0, quoted ?? 0)
    }
}

/// Cue phrases looked for next to a match, normalized for comparison (see ``ContextText``).
struct CueWindow: Sendable {
    /// How far (in characters) a cue may be from the match.
    let within: Int
    /// Cue phrases, normalized.
    let cues: [[UInt32]]
    /// Phrases that are not cues although they contain one (`谨防错过` is marketing, not a
    /// warning): a cue occurrence inside one of these does not count.
    let exceptions: [[UInt32]]
    /// Characters (folded) that end the window, like a sentence end does: with `stop: "：:"` a
    /// denial before a colon ("It isn't: risk-free") does not reach the claim after it.
    let stops: [UInt32]
    var longestCue: Int { max(cues.map(\.count).max() ?? 0, exceptions.map(\.count).max() ?? 0) }
}

/// A clause as written (YAML, or the flow mapping of a term list's `@context:` header), before
/// its cue-set names are resolved.
struct ContextClauseSpec: Sendable {
    struct Window: Sendable {
        var within = 0
        /// Literal cues (`any:`), `!`-prefixed ones being exceptions.
        var literals: [String] = []
        /// Names of cue sets (`cues:`).
        var sets: [String] = []
        /// Characters that end the window (`stop:`).
        var stops = ""
    }
    var name = ""
    var action: Action?
    var before: Window?
    var notBefore: Window?
    var after: Window?
    var notAfter: Window?
    var quoted: Int?
    var question: Int?
    var line = 1

    /// The longest window a clause may declare: a stream may hold an answer this long.
    static let maximumWithin = 200

    /// Parses one clause from a YAML mapping node; problems go to `fail(line, message)`.
    static func parse(_ node: Node, line fallbackLine: Int, fail: (Int, String) -> Void) -> ContextClauseSpec? {
        let line = node.mark?.line ?? fallbackLine
        guard let mapping = node.mapping else {
            fail(line, "a context clause must be a mapping such as {name: quoted-warning, quoted: 30, action: allow}")
            return nil
        }
        var spec = ContextClauseSpec()
        spec.line = line
        var failed = false
        var hasAction = false
        func problem(_ at: Int, _ message: String) { failed = true; fail(at, message) }
        func within(_ node: Node, _ key: String, _ at: Int) -> Int? {
            guard let n = node.string.flatMap({ Int($0) }), (1...maximumWithin).contains(n) else {
                problem(at, "context '\(key)': within must be a whole number of characters from 1 to \(maximumWithin)")
                return nil
            }
            return n
        }
        func window(_ node: Node, _ key: String, _ at: Int) -> Window? {
            guard let fields = node.mapping else {
                problem(at, "context '\(key)' must be a mapping: {within: N, any: [cue, …], cues: [set name, …]}")
                return nil
            }
            var w = Window()
            var hasWithin = false
            for (k, v) in fields {
                let kat = v.mark?.line ?? at
                switch k.string ?? "" {
                case "within":
                    if let n = within(v, key, kat) { w.within = n; hasWithin = true }
                case "any":
                    let items = v.sequence.map(Array.init) ?? []
                    let strings = items.compactMap { $0.scalar != nil ? $0.string : nil }
                    if items.isEmpty || strings.count != items.count || strings.contains(where: { $0.isEmpty || $0 == "!" }) {
                        problem(kat, "context '\(key)': any must be a non-empty list of cue phrases")
                    } else { w.literals = strings }
                case "stop":
                    if let text = v.string, !text.isEmpty { w.stops = text } else { problem(kat, "context '\(key)': stop must be a string of characters that end the window") }
                case "cues":
                    let items = v.sequence.map(Array.init) ?? (v.scalar != nil ? [v] : [])
                    let names = items.compactMap(\.string)
                    if names.isEmpty || names.count != items.count || !names.allSatisfy(isIdentifier) {
                        problem(kat, "context '\(key)': cues must name cue sets (lower-case letters, digits, '.', '_' or '-')")
                    } else { w.sets = names }
                default:
                    problem(k.mark?.line ?? at, "context '\(key)': unknown key '\(k.string ?? "?")' (expected within, any, cues, stop)")
                }
            }
            if !hasWithin { problem(at, "context '\(key)' needs within: N (characters)") }
            if w.literals.isEmpty && w.sets.isEmpty { problem(at, "context '\(key)' needs any: [cue, …] or cues: [set name, …]") }
            return w
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let at = value.mark?.line ?? line
            switch key {
            case "name":
                if let s = value.string, isIdentifier(s) { spec.name = s } else { problem(at, "context name '\(value.string ?? "")' must be lower-case letters, digits, '.', '_' or '-'") }
            case "action":
                hasAction = true
                if value.string == "allow" {
                    spec.action = nil
                } else if let a = value.string.flatMap(Action.init(rawValue:)) {
                    spec.action = a
                } else {
                    problem(at, "context action '\(value.string ?? "")' must be allow, shadow, flag, mask or block")
                }
            case "before": spec.before = window(value, key, at)
            case "not_before": spec.notBefore = window(value, key, at)
            case "after": spec.after = window(value, key, at)
            case "not_after": spec.notAfter = window(value, key, at)
            case "quoted": spec.quoted = within(value, key, at)
            case "question": spec.question = within(value, key, at)
            default:
                problem(keyNode.mark?.line ?? line, "unknown context key '\(key)' (expected name, action, before, not_before, after, not_after, quoted, question)")
            }
        }
        if spec.name.isEmpty && !mapping.keys.contains(where: { $0.string == "name" }) { problem(line, "a context clause needs a name") }
        if !hasAction { problem(line, "context '\(spec.name)' needs an action (allow, shadow, flag, mask or block)") }
        let conditions: Set<String> = ["before", "not_before", "after", "not_after", "quoted", "question"]
        if !mapping.keys.contains(where: { conditions.contains($0.string ?? "") }) {
            problem(line, "context '\(spec.name)' has no condition (before, not_before, after, not_after, quoted, question)")
        }
        return failed ? nil : spec
    }

    /// Parses a list of clauses (`context:` in a YAML rule).
    static func parseList(_ node: Node, line: Int, fail: (Int, String) -> Void) -> [ContextClauseSpec] {
        guard let items = node.sequence else {
            fail(node.mark?.line ?? line, "context must be a list of clauses")
            return []
        }
        return items.compactMap { parse($0, line: line, fail: fail) }
    }

    /// Parses a term list's `@context:` header value, a YAML flow mapping on one line.
    static func parseHeader(_ value: String, line: Int, fail: (Int, String) -> Void) -> ContextClauseSpec? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: value)
        } catch let error as YamlError {
            fail(line, "@context is not a YAML flow mapping: \(YAMLSupport.problem(of: error))")
            return nil
        } catch {
            fail(line, "@context is not a YAML flow mapping: \(error)")
            return nil
        }
        guard let node else { fail(line, "@context is empty"); return nil }
        // Lines inside a header value are always the header's own line.
        var spec = parse(node, line: line) { _, message in fail(line, message) }
        spec?.line = line
        return spec
    }
}

/// Named lists of cue phrases shared by every lexicon file (`cues:` in a YAML file).
struct CueSetSpec: Sendable {
    let name: String
    let phrases: [String]
    let location: SourceLocation
}

extension ContextClauseSpec {
    /// Resolves cue-set names and normalizes every cue. Unknown set names are issues at the
    /// clause's line.
    func compile(sets: [String: CueSetSpec], path: String, issues: inout [LexiconIssue]) -> ContextClause? {
        var ok = true
        func resolve(_ w: Window?, _ key: String) -> CueWindow? {
            guard let w else { return nil }
            var phrases = w.literals
            for name in w.sets {
                if let set = sets[name] { phrases += set.phrases } else {
                    issues.append(LexiconIssue(file: path, line: line, message: "context '\(self.name)': unknown cue set '\(name)' in '\(key)' (cue sets are defined under 'cues:' in a YAML lexicon file)"))
                    ok = false
                }
            }
            var cues: [[UInt32]] = [], exceptions: [[UInt32]] = []
            for phrase in phrases {
                let isException = phrase.hasPrefix("!")
                let folded = ContextText.normalize(isException ? String(phrase.dropFirst()) : phrase)
                if folded.isEmpty {
                    issues.append(LexiconIssue(file: path, line: line, message: "context '\(self.name)': cue '\(phrase)' is empty after normalization"))
                    ok = false
                } else if isException { exceptions.append(folded) } else { cues.append(folded) }
            }
            if cues.isEmpty && ok {
                issues.append(LexiconIssue(file: path, line: line, message: "context '\(self.name)': '\(key)' has exceptions but no cue"))
                ok = false
            }
            return CueWindow(within: w.within, cues: cues, exceptions: exceptions, stops: ContextText.normalize(w.stops).filter { $0 != 0x20 })
        }
        let clause = ContextClause(name: name, action: action, before: resolve(before, "before"), notBefore: resolve(notBefore, "not_before"),
                                   after: resolve(after, "after"), notAfter: resolve(notAfter, "not_after"),
                                   quoted: quoted, question: question, source: SourceLocation(file: path, line: line))
        return ok ? clause : nil
    }
}

extension RegexRuleFile {
    /// Parses a top-level `cues:` mapping (set name → list of phrases).
    static func parseCueSets(_ node: Node, path: String, fail: (Int, String) -> Void) -> [CueSetSpec] {
        guard let mapping = node.mapping else {
            fail(node.mark?.line ?? 1, "'cues' must be a mapping of cue-set names to lists of phrases")
            return []
        }
        var sets: [CueSetSpec] = []
        for (key, value) in mapping {
            let at = key.mark?.line ?? 1
            guard let name = key.string, isIdentifier(name) else {
                fail(at, "cue-set name '\(key.string ?? "?")' must be lower-case letters, digits, '.', '_' or '-'")
                continue
            }
            let items = value.sequence.map(Array.init) ?? []
            let phrases = items.compactMap { $0.scalar != nil ? $0.string : nil }
            guard !items.isEmpty, phrases.count == items.count, !phrases.contains(where: { $0.isEmpty || $0 == "!" }) else {
                fail(at, "cue set '\(name)' must be a non-empty list of phrases")
                continue
            }
            sets.append(CueSetSpec(name: name, phrases: phrases, location: SourceLocation(file: path, line: at)))
        }
        return sets
    }
}
