import Normalization
import Yams

/// A term list as written by an analyst (`*.txt`): a header of `@key: value` lines, then one
/// term per line; `!term` is an exception. See `Lexicons/README.md`.
struct TermListFile: Sendable {
    struct Term: Sendable {
        let text: String
        let line: Int
        let isException: Bool
    }
    var id = ""
    var category = ""
    var risk: String?
    var action: Action = .flag
    var severity: Severity = .medium
    var direction: DirectionSet = .both
    var steps: NormalizationSteps = .all
    var wordBoundary: WordBoundary = .auto
    var description = ""
    var terms: [Term] = []
    var headerLine = 1
    /// `@context:` clauses, in order (the first that holds decides).
    var contexts: [ContextClauseSpec] = []

    enum WordBoundary: String, Sendable {
        case auto, on, off
    }

    /// Parses `text` from `path`, appending every problem to `issues`.
    static func parse(_ text: String, path: String, issues: inout [LexiconIssue]) -> TermListFile? {
        var file = TermListFile()
        var seen: Set<String> = []
        var inHeader = true
        let issueCountBefore = issues.count
        func fail(_ line: Int, _ message: String) { issues.append(LexiconIssue(file: path, line: line, message: message)) }

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingCharacters(in: " \t\u{FEFF}")
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("@") {
                guard inHeader else { fail(lineNumber, "header line after the first term (move it above the terms, or escape a literal @ as \\@)"); continue }
                guard let colon = trimmed.firstIndex(of: ":") else { fail(lineNumber, "header line without ':' (expected @key: value)"); continue }
                let key = trimmed[trimmed.index(after: trimmed.startIndex)..<colon].trimmingCharacters(in: " \t")
                let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: " \t")
                if seen.contains(key) && key != "context" { fail(lineNumber, "duplicate header @\(key)") }
                seen.insert(key)
                switch key {
                case "id":
                    if isIdentifier(value) { file.id = value; file.headerLine = lineNumber } else { fail(lineNumber, "@id '\(value)' must be lower-case letters, digits, '.', '_' or '-'") }
                case "category":
                    if isIdentifier(value) { file.category = value } else { fail(lineNumber, "@category '\(value)' must be lower-case letters, digits, '.', '_' or '-'") }
                case "risk":
                    if isRiskCode(value) { file.risk = value } else { fail(lineNumber, "@risk '\(value)' is not a TC260-003 Appendix A code such as A.4.f") }
                case "action":
                    if let a = Action(rawValue: value) { file.action = a } else { fail(lineNumber, "@action '\(value)' must be block, mask, flag or shadow") }
                case "severity":
                    if let s = Severity(rawValue: value) { file.severity = s } else { fail(lineNumber, "@severity '\(value)' must be low, medium, high or critical") }
                case "direction":
                    if let d = DirectionSet(rawValue: value) { file.direction = d } else { fail(lineNumber, "@direction '\(value)' must be input, output or both") }
                case "normalize":
                    switch NormalizationSteps.parse(value) {
                    case .success(let steps): file.steps = steps
                    case .failure(let e): fail(lineNumber, "@normalize: unknown step '\(e.word)' (known: all, none, \(NormalizationSteps.named.map(\.name).joined(separator: ", ")))")
                    }
                case "word-boundary":
                    if let w = WordBoundary(rawValue: value) { file.wordBoundary = w } else { fail(lineNumber, "@word-boundary '\(value)' must be auto, on or off") }
                case "description":
                    file.description = value
                case "context":
                    if let clause = ContextClauseSpec.parseHeader(value, line: lineNumber, fail: fail) { file.contexts.append(clause) }
                default:
                    fail(lineNumber, "unknown header @\(key)")
                }
                continue
            }
            inHeader = false
            var term = trimmed
            var isException = false
            if term.hasPrefix("!") {
                isException = true
                term = String(term.dropFirst()).trimmingCharacters(in: " \t")
            } else if term.hasPrefix("\\") && term.count > 1 && "!@#".contains(term[term.index(after: term.startIndex)]) {
                term = String(term.dropFirst())
            }
            if term.isEmpty { fail(lineNumber, "empty exception term"); continue }
            file.terms.append(Term(text: term, line: lineNumber, isException: isException))
        }
        if file.id.isEmpty && !seen.contains("id") { fail(1, "missing header @id") }
        if file.category.isEmpty && !seen.contains("category") { fail(1, "missing header @category") }
        if !seen.contains("action") { fail(1, "missing header @action (block, mask, flag or shadow)") }
        if !file.terms.contains(where: { !$0.isException }) { fail(max(1, file.headerLine), "no terms") }
        return issues.count == issueCountBefore ? file : nil
    }
}

/// A regex rule file as written by an analyst (`*.yaml`).
struct RegexRuleFile: Sendable {
    struct Spec: Sendable {
        var id = ""
        var description = ""
        var category = ""
        var risk: String?
        var action: Action = .flag
        var severity: Severity = .medium
        var direction: DirectionSet = .both
        var pattern = ""
        var group = 0
        var caseInsensitive = false
        var validator: Validator?
        var mask: MaskStyle = .full
        var sensitivity: Sensitivity?
        var placeholder: String?
        var normalize = true
        /// Literals of which every match contains at least one (see `CompiledRegex.anchored`).
        var anchors: [String] = []
        /// `digit_run:` every match holds a run of at least this many ASCII digits (0: not declared;
        /// see `CompiledRegex.digitRun`).
        var digitRun = 0
        /// `context:` clauses, in order.
        var contexts: [ContextClauseSpec] = []
        var line = 1
    }
    var rules: [Spec] = []
    /// Cue sets defined under `cues:`, shared by every file's context clauses.
    var cueSets: [CueSetSpec] = []

    static func parse(_ text: String, path: String, issues: inout [LexiconIssue]) -> RegexRuleFile? {
        let before = issues.count
        func fail(_ line: Int, _ message: String) { issues.append(LexiconIssue(file: path, line: line, message: message)) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            fail(YAMLSupport.line(of: error), "YAML syntax error: \(YAMLSupport.problem(of: error))")
            return nil
        } catch {
            fail(1, "YAML syntax error: \(error)")
            return nil
        }
        guard let root, let mapping = root.mapping else { fail(1, "expected a mapping with a 'rules' list"); return nil }
        for (key, _) in mapping where key.string != "rules" && key.string != "cues" {
            fail(key.mark?.line ?? 1, "unknown key '\(key.string ?? "?")' (expected 'rules' or 'cues')")
        }
        var file = RegexRuleFile()
        if let cues = root["cues"] { file.cueSets = parseCueSets(cues, path: path, fail: fail) }
        let list: Node.Sequence
        if let rules = root["rules"]?.sequence {
            list = rules
        } else if root["rules"] == nil && root["cues"] != nil {
            list = Node.Sequence([])        // a file of cue sets only
        } else {
            fail(root.mark?.line ?? 1, "'rules' must be a list"); return nil
        }
        for item in list {
            let line = item.mark?.line ?? 1
            guard let fields = item.mapping else { fail(line, "each rule must be a mapping"); continue }
            var spec = Spec()
            spec.line = line
            var seen: Set<String> = []
            for (keyNode, value) in fields {
                let key = keyNode.string ?? ""
                let at = value.mark?.line ?? keyNode.mark?.line ?? line
                seen.insert(key)
                let string = value.string ?? ""
                switch key {
                case "id":
                    if isIdentifier(string) { spec.id = string } else { fail(at, "id '\(string)' must be lower-case letters, digits, '.', '_' or '-'") }
                case "description": spec.description = string
                case "category":
                    if isIdentifier(string) { spec.category = string } else { fail(at, "category '\(string)' must be lower-case letters, digits, '.', '_' or '-'") }
                case "risk":
                    if isRiskCode(string) { spec.risk = string } else { fail(at, "risk '\(string)' is not a TC260-003 Appendix A code such as A.4.f") }
                case "action":
                    if let a = Action(rawValue: string) { spec.action = a } else { fail(at, "action '\(string)' must be block, mask, flag or shadow") }
                case "severity":
                    if let s = Severity(rawValue: string) { spec.severity = s } else { fail(at, "severity '\(string)' must be low, medium, high or critical") }
                case "direction":
                    if let d = DirectionSet(rawValue: string) { spec.direction = d } else { fail(at, "direction '\(string)' must be input, output or both") }
                case "pattern":
                    if string.isEmpty { fail(at, "empty pattern") }
                    spec.pattern = string
                case "group":
                    if let g = Int(string), g >= 0 { spec.group = g } else { fail(at, "group must be a non-negative integer") }
                case "case_insensitive":
                    if let b = YAMLSupport.bool(value) { spec.caseInsensitive = b } else { fail(at, "case_insensitive must be true or false") }
                case "normalize":
                    if let b = YAMLSupport.bool(value) { spec.normalize = b } else { fail(at, "normalize must be true or false") }
                case "anchors":
                    let items = value.sequence.map(Array.init) ?? []
                    let strings = items.compactMap { $0.scalar != nil ? $0.string : nil }
                    if items.isEmpty || strings.count != items.count || strings.contains(where: \.isEmpty) {
                        fail(at, "anchors must be a non-empty list of non-empty strings")
                    } else {
                        spec.anchors = strings
                    }
                case "digit_run":
                    if let n = Int(string), (1...DigitRun.maximumDeclared).contains(n) { spec.digitRun = n }
                    else { fail(at, "digit_run must be a whole number from 1 to \(DigitRun.maximumDeclared)") }
                case "context":
                    spec.contexts = ContextClauseSpec.parseList(value, line: at, fail: fail)
                case "validator":
                    if let v = Validator(rawValue: string) { spec.validator = v } else { fail(at, "unknown validator '\(string)' (known: \(Validator.allCases.map(\.rawValue).joined(separator: ", ")))") }
                case "sensitivity":
                    if let s = Sensitivity(rawValue: string.uppercased()) { spec.sensitivity = s } else { fail(at, "sensitivity '\(string)' must be C2 or C3") }
                case "placeholder":
                    if !string.isEmpty, string.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || $0 == "_" || ("0"..."9").contains($0) }) {
                        spec.placeholder = string
                    } else { fail(at, "placeholder '\(string)' must be upper-case letters, digits or '_'") }
                case "mask":
                    switch YAMLSupport.maskStyle(value) {
                    case .success(let m): spec.mask = m
                    case .failure(let problem): fail(at, problem.message)
                    }
                default:
                    fail(keyNode.mark?.line ?? line, "unknown key '\(key)'")
                }
            }
            for required in ["id", "category", "action", "pattern"] where !seen.contains(required) {
                fail(line, "rule is missing '\(required)'")
            }
            file.rules.append(spec)
        }
        return issues.count == before ? file : nil
    }
}

/// Small helpers for reading Yams nodes with useful messages.
enum YAMLSupport {
    struct Problem: Error { let message: String; init(_ message: String) { self.message = message } }

    static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        case .reader(let problem, _, _, _): return problem
        default: return "\(error)"
        }
    }

    static func bool(_ node: Node) -> Bool? {
        switch node.string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    static func maskStyle(_ node: Node) -> Result<MaskStyle, Problem> {
        if let s = node.scalar?.string {
            return s == "full" ? .success(.full) : .failure(Problem("mask must be 'full', {keep_start: N, keep_end: M} or {replace: TEXT}"))
        }
        guard let m = node.mapping else { return .failure(Problem("mask must be 'full', {keep_start: N, keep_end: M} or {replace: TEXT}")) }
        if let r = node["replace"]?.string { return m.count == 1 ? .success(.replace(r)) : .failure(Problem("mask: 'replace' cannot be combined with other keys")) }
        var start = 0, end = 0
        for (k, v) in m {
            guard let n = v.string.flatMap({ Int($0) }), n >= 0 else { return .failure(Problem("mask: \(k.string ?? "?") must be a non-negative integer")) }
            switch k.string {
            case "keep_start": start = n
            case "keep_end": end = n
            default: return .failure(Problem("mask: unknown key '\(k.string ?? "?")'"))
            }
        }
        return .success(.keep(start: start, end: end))
    }
}

func isIdentifier(_ s: String) -> Bool {
    !s.isEmpty && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-" }
}

/// TC260-003 Appendix A risk codes: `A.1.a` … `A.5.b`.
func isRiskCode(_ s: String) -> Bool {
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0] == "A", let major = Int(parts[1]), (1...5).contains(major),
          parts[2].count == 1, let c = parts[2].unicodeScalars.first, ("a"..."z").contains(c) else { return false }
    return true
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var slice = Substring(self)
        while let f = slice.first, chars.contains(f) { slice.removeFirst() }
        while let l = slice.last, chars.contains(l) { slice.removeLast() }
        return String(slice)
    }
}
