import AhoCorasick
import Crypto
import Normalization

/// A complete, compiled, immutable set of lexicons: every rule, one automaton per
/// normalization profile, and the JIT-compiled regex rules. Built off the request path and
/// shared by every scan; a reload builds a new one and swaps it whole.
public final class LexiconSet: Sendable {
    /// Every rule, indexed by ``Match/rule``.
    public let rules: [Rule]
    /// Short content hash of the files it was built from (12 hex characters).
    public let version: String
    /// Problems that do not stop loading (duplicate terms and the like).
    public let warnings: [LexiconIssue]
    /// Size and timing figures for `menshen lexicon stats`.
    public let stats: Stats

    let profiles: [CompiledProfile]
    let regexRules: [CompiledRegex]
    /// Folding applied before regex rules (width and invisible characters).
    let regexFolding: FoldTable?
    /// Per rule: whether it has exception terms (its matches wait until no exception can still contain them).
    let ruleHasExceptions: [Bool]
    /// Every context clause of every rule (``Match/context`` indexes it).
    public let contexts: [ContextClause]
    /// Per rule: its context clauses, in order (indices into ``contexts``; empty for most rules).
    let ruleContexts: [[Int32]]
    /// Per direction (input, output): whether an active rule has context clauses.
    let hasContexts: [Bool]
    /// Per direction: the most characters before and after a match any active rule's clauses read.
    let contextReach: [(before: Int, after: Int)]

    /// Figures about a compiled set.
    public struct Stats: Sendable {
        public struct Profile: Sendable {
            public let steps: String
            public let patterns: Int
            public let states: Int
            public let alphabet: Int
            public let bytes: Int
        }
        public var termsByCategory: [String: Int]
        /// Terms per term-list rule id (deduplicated after normalization, exceptions excluded).
        public var termsByRule: [String: Int] = [:]
        public var exceptionTerms: Int
        public var regexRules: Int
        public var profiles: [Profile]
        public var compileSeconds: Double
        public var automatonBytes: Int { profiles.reduce(0) { $0 + $1.bytes } }
    }

    init(rules: [Rule], version: String, warnings: [LexiconIssue], stats: Stats, profiles: [CompiledProfile],
         regexRules: [CompiledRegex], regexFolding: FoldTable?, ruleHasExceptions: [Bool],
         contexts: [ContextClause] = [], ruleContexts: [[Int32]]? = nil) {
        self.rules = rules
        self.version = version
        self.warnings = warnings
        self.stats = stats
        self.profiles = profiles
        self.regexRules = regexRules
        self.regexFolding = regexFolding
        self.ruleHasExceptions = ruleHasExceptions
        self.contexts = contexts
        let ruleContexts = ruleContexts ?? Array(repeating: [], count: rules.count)
        self.ruleContexts = ruleContexts
        hasContexts = Direction.allCases.map { d in rules.indices.contains { rules[$0].direction.contains(d) && !ruleContexts[$0].isEmpty } }
        contextReach = Direction.allCases.map { d in
            var reach = (before: 0, after: 0)
            for r in rules.indices where rules[r].direction.contains(d) {
                for c in ruleContexts[r] {
                    reach.before = max(reach.before, contexts[Int(c)].lookbehind)
                    reach.after = max(reach.after, contexts[Int(c)].lookahead)
                }
            }
            return reach
        }
        // Computed once here rather than by every scanner: a proxy starts several scanners per
        // request (one per message), so per-scanner set-up is on the hot path.
        var plans: [ScanPlan] = []
        for direction in Direction.allCases {
            let active = rules.map { $0.direction.contains(direction) }
            let regex = regexRules.filter { active[Int($0.rule)] }
            let folded = regex.filter { $0.normalize }, raw = regex.filter { !$0.normalize }
            let profileScans = profiles.map { ProfileScan(profile: $0, active: active, live: $0.liveStates(for: direction),
                                                           open: $0.openStates(for: direction), hasExceptions: ruleHasExceptions) }
            var channels: [RegexChannel] = []
            if !folded.isEmpty, let table = regexFolding { channels.append(RegexChannel(rules: folded, folding: table)) }
            if !raw.isEmpty { channels.append(RegexChannel(rules: raw, folding: nil)) }
            plans.append(ScanPlan(profiles: profileScans, regex: channels,
                                  markupProfiles: profiles.indices.filter { profiles[$0].steps.contains(.markup) }))
        }
        self.plans = plans
    }

    /// What a scanner of one direction starts from: its automaton and regex states at the start
    /// of a text, for the rules active in that direction. A new scanner copies them
    /// (copy-on-write) instead of building them, since the proxy starts one per message.
    struct ScanPlan: Sendable {
        let profiles: [ProfileScan]
        /// Each channel's PCRE2 scratch belongs to this prototype: a scanner gets its own.
        let regex: [RegexChannel]
        /// Indices of the profiles with the markup step.
        let markupProfiles: [Int]
    }
    let plans: [ScanPlan]
    func plan(for direction: Direction) -> ScanPlan { plans[direction == .input ? 0 : 1] }

    /// The rule with `id`, if any.
    public func rule(id: String) -> Rule? { rules.first { $0.id == id } }

    /// The context clause that changed what `match` does, if any.
    public func context(of match: Match) -> ContextClause? {
        match.context >= 0 ? contexts[Int(match.context)] : nil
    }
}

/// One entry of a pattern: which rule wants it and how.
struct PatternEntry: Sendable {
    let rule: Int32
    let isException: Bool
    /// An anchor of regex rule `rule`: seeing it only arms the rule (see `CompiledRegex.anchored`).
    var isAnchor = false
    let needsLeftBoundary: Bool
    let needsRightBoundary: Bool
    /// The term's line in its file, for explanations.
    let line: Int32
}

/// The automaton for all term lists that share a set of normalization steps.
struct CompiledProfile: Sendable {
    let steps: NormalizationSteps
    let automaton: Automaton
    let classes: ScalarClassTable
    /// `entries[entryStart[p]..<entryStart[p + 1]]` are pattern p's entries.
    let entryStart: [Int32]
    let entries: [PatternEntry]
    /// Per direction (input, output): the states from which a pattern with an entry of a rule
    /// active in that direction can still be completed. A stream holds text back only for
    /// these: an answer need not wait on a prefix of a prompt-only term.
    let liveStates: [StateSet]
    /// Per direction, the subset of `liveStates` from which such a pattern that needs no left
    /// word boundary can be completed. A prefix that begins right after a word character can
    /// only grow into one of those (`measu|re` is not the start of `returns guaranteed`).
    let openStates: [StateSet]

    func liveStates(for direction: Direction) -> StateSet { liveStates[direction == .input ? 0 : 1] }
    func openStates(for direction: Direction) -> StateSet { openStates[direction == .input ? 0 : 1] }
}

/// A regex rule ready to run.
struct CompiledRegex: Sendable {
    let rule: Int32
    let pattern: PCRE2Pattern
    let group: Int
    let normalize: Bool
    let validator: Validator?
    /// The rule declares `anchors:`, literals of which every match contains one. A whole text
    /// in which the profile automaton (normalization `all`) saw none of them cannot match, so
    /// the pattern is not run on it: PCRE2 cannot skip ahead for case-insensitive keyword
    /// alternations that mix Chinese and English, and runs them at almost every position.
    let anchored: Bool
    /// The rule declares `digit_run: N`: every match holds N ASCII digits in one run (see
    /// ``DigitRun``). A whole text whose longest run is shorter cannot match, so the pattern is
    /// not run on it. Number rules need this more than keyword rules need anchors: their
    /// label preambles (`订单号 …(*SKIP)(*F)`) start with letters or Chinese, so PCRE2 tries
    /// them at nearly every position of every text, digits or not.
    let digitRun: Int
}

// MARK: - Compiling

extension LexiconSet {
    /// A parsed source file, ready to compile.
    enum Source: Sendable {
        case terms(TermListFile, path: String)
        case regex(RegexRuleFile, path: String)
    }

    /// Compiles parsed sources. Reports problems that need the whole set (duplicate ids, terms
    /// empty after normalization, patterns PCRE2 rejects) into `issues`; returns nil if any.
    static func compile(sources: [Source], contentHash: String, issues: inout [LexiconIssue]) -> LexiconSet? {
        let clock = ContinuousClock()
        let started = clock.now
        let before = issues.count
        var warnings: [LexiconIssue] = []
        var rules: [Rule] = []
        var ruleHasExceptions: [Bool] = []
        var firstDefinition: [String: SourceLocation] = [:]
        var termsByCategory: [String: Int] = [:]
        var termsByRule: [String: Int] = [:]
        var exceptionCount = 0
        var normalizer = TermNormalizer()

        // Group term lists by their normalization steps: one automaton per group.
        struct PendingTerm { let symbols: [UInt32]; let entry: PatternEntry; let location: SourceLocation }
        var termsBySteps: [NormalizationSteps: [PendingTerm]] = [:]
        var regexRules: [CompiledRegex] = []
        var contexts: [ContextClause] = []
        var ruleContexts: [[Int32]] = []

        // Cue sets first: any file's clauses may name any file's sets.
        var cueSets: [String: CueSetSpec] = [:]
        for case .regex(let file, let path) in sources {
            for set in file.cueSets {
                if let first = cueSets[set.name] {
                    issues.append(LexiconIssue(file: path, line: set.location.line, message: "duplicate cue set '\(set.name)' (first defined at \(first.location))"))
                } else {
                    cueSets[set.name] = set
                }
            }
        }
        func compileContexts(_ specs: [ContextClauseSpec], path: String) -> [Int32] {
            var names: Set<String> = []
            var indices: [Int32] = []
            for spec in specs {
                if !names.insert(spec.name).inserted {
                    issues.append(LexiconIssue(file: path, line: spec.line, message: "duplicate context name '\(spec.name)' in one rule"))
                    continue
                }
                guard let clause = spec.compile(sets: cueSets, path: path, issues: &issues) else { continue }
                indices.append(Int32(contexts.count))
                contexts.append(clause)
            }
            return indices
        }

        func register(id: String, at location: SourceLocation) -> Bool {
            if let first = firstDefinition[id] {
                issues.append(LexiconIssue(file: location.file, line: location.line, message: "duplicate rule id '\(id)' (first defined at \(first))"))
                return false
            }
            firstDefinition[id] = location
            return true
        }

        for source in sources {
            switch source {
            case .terms(let file, let path):
                let location = SourceLocation(file: path, line: file.headerLine)
                guard register(id: file.id, at: location) else { continue }
                let ruleIndex = Int32(rules.count)
                rules.append(Rule(id: file.id, kind: .terms, category: file.category, risk: file.risk, action: file.action,
                                  severity: file.severity, direction: file.direction, mask: .full, sensitivity: nil,
                                  placeholder: nil, description: file.description, source: location))
                ruleHasExceptions.append(file.terms.contains { $0.isException })
                ruleContexts.append(compileContexts(file.contexts, path: path))
                var seenTerms: [[UInt32]: Int] = [:]
                seenTerms.reserveCapacity(file.terms.count)      // growing a dictionary of arrays rehashes them all
                for term in file.terms {
                    let symbols = normalizer.normalize(term.text, steps: file.steps)
                    if symbols.isEmpty {
                        issues.append(LexiconIssue(file: path, line: term.line, message: "term '\(term.text)' is empty after normalization (\(file.steps))"))
                        continue
                    }
                    if let first = seenTerms[symbols] {
                        warnings.append(LexiconIssue(file: path, line: term.line, message: "'\(term.text)' is the same as line \(first) after normalization"))
                        continue
                    }
                    seenTerms[symbols] = term.line
                    let boundary: (Bool, Bool)
                    switch file.wordBoundary {
                    case .off: boundary = (false, false)
                    case .on: boundary = (true, true)
                    case .auto: boundary = (normalizer.isWord(symbols.first!), normalizer.isWord(symbols.last!))
                    }
                    let entry = PatternEntry(rule: ruleIndex, isException: term.isException, needsLeftBoundary: boundary.0,
                                             needsRightBoundary: boundary.1, line: Int32(term.line))
                    termsBySteps[file.steps, default: []].append(PendingTerm(symbols: symbols, entry: entry, location: SourceLocation(file: path, line: term.line)))
                    if term.isException { exceptionCount += 1 } else {
                        termsByCategory[file.category, default: 0] += 1
                        termsByRule[file.id, default: 0] += 1
                    }
                }
            case .regex(let file, let path):
                for spec in file.rules {
                    let location = SourceLocation(file: path, line: spec.line)
                    guard register(id: spec.id, at: location) else { continue }
                    let pattern: PCRE2Pattern
                    do {
                        pattern = try PCRE2Pattern(spec.pattern, caseInsensitive: spec.caseInsensitive)
                    } catch {
                        issues.append(LexiconIssue(file: path, line: spec.line, message: "rule '\(spec.id)': pattern does not compile: \(error)"))
                        continue
                    }
                    if spec.group > pattern.captureCount {
                        issues.append(LexiconIssue(file: path, line: spec.line, message: "rule '\(spec.id)': group \(spec.group) but the pattern has \(pattern.captureCount) capture group(s)"))
                        continue
                    }
                    let ruleIndex = Int32(rules.count)
                    rules.append(Rule(id: spec.id, kind: .regex(pattern: spec.pattern, validator: spec.validator), category: spec.category,
                                      risk: spec.risk, action: spec.action, severity: spec.severity, direction: spec.direction,
                                      mask: spec.mask, sensitivity: spec.sensitivity, placeholder: spec.placeholder,
                                      description: spec.description, source: location))
                    ruleHasExceptions.append(false)
                    ruleContexts.append(compileContexts(spec.contexts, path: path))
                    regexRules.append(CompiledRegex(rule: ruleIndex, pattern: pattern, group: spec.group,
                                                    normalize: spec.normalize, validator: spec.validator, anchored: !spec.anchors.isEmpty,
                                                    digitRun: spec.digitRun))
                    // Anchors join the automaton of normalization `all`: what the regex reads
                    // (width- and invisible-folded, or raw) normalizes to a superset of the anchor's
                    // symbols, so a match's anchor is always seen — in any case, any width, any
                    // spacing — and the automaton already runs over every text.
                    for anchor in spec.anchors {
                        let symbols = normalizer.normalize(anchor, steps: .all)
                        if symbols.isEmpty {
                            issues.append(LexiconIssue(file: path, line: spec.line, message: "rule '\(spec.id)': anchor '\(anchor)' is empty after normalization (anchors are matched with normalization 'all')"))
                            continue
                        }
                        let entry = PatternEntry(rule: ruleIndex, isException: false, isAnchor: true, needsLeftBoundary: false,
                                                 needsRightBoundary: false, line: Int32(spec.line))
                        termsBySteps[.all, default: []].append(PendingTerm(symbols: symbols, entry: entry, location: location))
                    }
                    termsByCategory[spec.category, default: 0] += 0
                }
            }
        }
        guard issues.count == before else { return nil }

        var profiles: [CompiledProfile] = []
        var profileStats: [Stats.Profile] = []
        for (steps, terms) in termsBySteps.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            // Symbols by frequency, so the busiest characters get small ids and pack densely.
            // (Counted in an array for the BMP: hashing every symbol of 100k terms costs more.)
            var bmpFrequency = [Int](repeating: 0, count: 0x10000)
            var astralFrequency: [UInt32: Int] = [:]
            for term in terms {
                for s in term.symbols {
                    if s < 0x10000 { bmpFrequency[Int(s)] += 1 } else { astralFrequency[s, default: 0] += 1 }
                }
            }
            var counted: [(key: UInt32, value: Int)] = astralFrequency.map { ($0.key, $0.value) }
            for (s, n) in bmpFrequency.enumerated() where n > 0 { counted.append((UInt32(s), n)) }
            let alphabet = counted.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
            var bmpSymbol = [UInt32](repeating: 0, count: 0x10000)
            var astralSymbol: [UInt32: UInt32] = [:]
            for (i, scalar) in alphabet.enumerated() {
                if scalar < 0x10000 { bmpSymbol[Int(scalar)] = UInt32(i + 1) } else { astralSymbol[scalar] = UInt32(i + 1) }
            }
            func symbolOf(_ scalar: UInt32) -> UInt32 {
                scalar < 0x10000 ? bmpSymbol[Int(scalar)] : astralSymbol[scalar] ?? 0
            }

            // Deduplicate patterns across files; each keeps a list of entries.
            var patternIndex: [[UInt32]: Int] = [:]
            patternIndex.reserveCapacity(terms.count)
            var patterns: [[UInt32]] = []
            var entriesOf: [[PatternEntry]] = []
            for term in terms {
                let mapped = term.symbols.map { symbolOf($0) }
                if let p = patternIndex[mapped] {
                    entriesOf[p].append(term.entry)
                } else {
                    patternIndex[mapped] = patterns.count
                    patterns.append(mapped)
                    entriesOf.append([term.entry])
                }
            }
            let automaton: Automaton
            do {
                automaton = try AutomatonBuilder(patterns: patterns, alphabetSize: alphabet.count).build()
            } catch {
                issues.append(LexiconIssue(file: terms[0].location.file, line: terms[0].location.line, message: "cannot build automaton: \(error)"))
                return nil
            }
            let classes = ScalarClassTable(steps: steps, astralAlphabet: alphabet.filter { $0 > 0xFFFF }) { symbolOf($0) }
            var entryStart: [Int32] = [0]
            var entries: [PatternEntry] = []
            for list in entriesOf {
                entries.append(contentsOf: list)
                entryStart.append(Int32(entries.count))
            }
            func prefixStates(_ direction: Direction, where wanted: (PatternEntry) -> Bool) -> StateSet {
                automaton.prefixStates(of: patterns.indices
                    .filter { p in entriesOf[p].contains { rules[Int($0.rule)].direction.contains(direction) && wanted($0) } }
                    .lazy.map { patterns[$0] })
            }
            let directions: [Direction] = [.input, .output]
            profiles.append(CompiledProfile(steps: steps, automaton: automaton, classes: classes, entryStart: entryStart, entries: entries,
                                            liveStates: directions.map { prefixStates($0) { !$0.isAnchor } },
                                            openStates: directions.map { prefixStates($0) { !$0.isAnchor && !$0.needsLeftBoundary } }))
            profileStats.append(Stats.Profile(steps: steps.description, patterns: patterns.count, states: automaton.stateCount,
                                              alphabet: alphabet.count,
                                              bytes: automaton.memoryFootprint + 0x10000 * 4 + entries.count * MemoryLayout<PatternEntry>.stride))
        }
        let regexFolding = regexRules.contains { $0.normalize } ? FoldTable(steps: [.width, .invisible, .traditionalToSimplified, .variants]) : nil
        let elapsed = clock.now - started
        let stats = Stats(termsByCategory: termsByCategory, termsByRule: termsByRule, exceptionTerms: exceptionCount, regexRules: regexRules.count,
                          profiles: profileStats,
                          compileSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return LexiconSet(rules: rules, version: contentHash, warnings: warnings, stats: stats, profiles: profiles,
                          regexRules: regexRules, regexFolding: regexFolding, ruleHasExceptions: ruleHasExceptions,
                          contexts: contexts, ruleContexts: ruleContexts)
    }

    /// First 12 hex characters of the SHA-256 over the sources, in path order.
    static func contentHash(of files: [(path: String, bytes: [UInt8])]) -> String {
        var hasher = SHA256()
        for file in files.sorted(by: { $0.path < $1.path }) {
            hasher.update(data: Array(file.path.utf8))
            hasher.update(data: [0])
            hasher.update(data: file.bytes)
            hasher.update(data: [0])
        }
        return hasher.finalize().prefix(6).map { String(format2($0)) }.joined()
    }
}

/// `UnicodeFolding.normalize` with the per-scalar work memoized: a 100k-term lexicon has a few
/// thousand distinct scalars, and folding each occurrence afresh (allocating on every step) was a
/// quarter of compile time. Results are identical by construction: the cache holds exactly what
/// `normalize` produces for the scalar alone, and `normalize` works scalar by scalar.
struct TermNormalizer {
    let folding = UnicodeFolding.shared
    private var steps: NormalizationSteps?
    /// Per BMP scalar: where its folded scalars start in `folded` (-1: not computed yet).
    private var start = [Int32]()
    private var count = [UInt8]()
    private var folded: [UInt32] = []
    /// Per BMP scalar: word character or not (-1: not computed yet).
    private var word = [Int8](repeating: -1, count: 0x10000)

    mutating func normalize(_ text: String, steps: NormalizationSteps) -> [UInt32] {
        if steps != self.steps {
            self.steps = steps
            start = [Int32](repeating: -1, count: 0x10000)
            count = [UInt8](repeating: 0, count: 0x10000)
            folded.removeAll(keepingCapacity: true)
        }
        var out: [UInt32] = []
        for scalar in text.unicodeScalars {
            let v = scalar.value
            guard v < 0x10000 else {
                out.append(contentsOf: folding.normalize(String(scalar), steps: steps))
                continue
            }
            if start[Int(v)] < 0 {
                let list = folding.normalize(String(scalar), steps: steps)
                if list.count > Int(UInt8.max) {      // never in practice; keep it uncached
                    out.append(contentsOf: list)
                    continue
                }
                start[Int(v)] = Int32(folded.count)
                count[Int(v)] = UInt8(list.count)
                folded.append(contentsOf: list)
            }
            let from = Int(start[Int(v)])
            out.append(contentsOf: folded[from..<from + Int(count[Int(v)])])
        }
        return out
    }

    mutating func isWord(_ scalar: UInt32) -> Bool {
        guard scalar < 0x10000 else { return UnicodeFolding.isWordCharacter(scalar) }
        if word[Int(scalar)] < 0 { word[Int(scalar)] = UnicodeFolding.isWordCharacter(scalar) ? 1 : 0 }
        return word[Int(scalar)] == 1
    }
}

@inline(__always) func format2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
