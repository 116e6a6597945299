import Testing
@testable import Screening

// Context clauses (Lexicons/README.md §8): parsing with file:line, what each condition means,
// that a context only weakens, and that a stream decides exactly as the whole text does.

private let cues = """
cues:
  warning: [谨防, 警惕, beware of, "!谨防错过"]
  exposed: [骗局, scam, "!不是骗局"]
  selling: [想, 要不要]
"""

private let promises = """
@id: t.promise
@category: finance-marketing
@action: block
@direction: output
@context: {name: quoted-warning, quoted: 20, before: {within: 30, cues: [warning]}, action: allow}
@context: {name: warning, before: {within: 10, cues: [warning]}, action: flag}
@context: {name: exposed, after: {within: 12, cues: [exposed]}, action: allow}
@context: {name: question, question: 12, not_before: {within: 10, cues: [selling]}, not_after: {within: 12, cues: [selling]}, action: allow}
保本保息
guaranteed returns
"""

/// A number rule that a label before it excludes (订单号) and one whose absence weakens (身份证).
private let numbers = """
rules:
  - id: t.id-number
    category: personal-information
    action: mask
    direction: both
    pattern: '(?<![0-9])[0-9]{18}(?![0-9])'
    context:
      - {name: order-number, before: {within: 4, any: [订单号, 批次号, order no]}, action: allow}
      - {name: unlabelled, not_before: {within: 12, any: [身份证, 证件号]}, action: flag}
"""

private let lexicons: LexiconSet = try! LexiconSet.compile(files: [("cues.yaml", cues), ("promises.txt", promises), ("numbers.yaml", numbers)])

/// The decision and, per match, the context name ("-" for none), whole and streamed alike.
private func screen(_ text: String, direction: Direction = .output) -> (decision: Decision, contexts: [String]) {
    let result = lexicons.screen(text, direction: direction)
    let names = (result.matches + result.allowedByContext).sorted().map { lexicons.context(of: $0)?.name ?? "-" }
    return (result.decision, names)
}

@Test(arguments: [
    ("本产品保本保息。", Decision.block, ["-"]),
    ("谨防“保本保息”的宣传。", .allow, ["quoted-warning"]),
    ("谨防保本保息的宣传。", .flag, ["warning"]),
    ("谨防错过保本保息的机会。", .block, ["-"]),            // a cue exception
    ("谨防。本产品保本保息", .block, ["-"]),                  // windows stay in their sentence
    ("保本保息是骗局。", .allow, ["exposed"]),
    ("保本保息，不是骗局！", .block, ["-"]),
    ("真的保本保息吗？", .allow, ["question"]),
    ("想要保本保息吗？", .block, ["-"]),                      // a selling question
    ("保本保息，要不要？", .block, ["-"]),
    ("Beware of guaranteed returns.", .flag, ["warning"]),
    ("Guaranteed returns are a scam.", .allow, ["exposed"]),
    ("Guaranteed returns, a scammer's dream.", .block, ["-"]),  // whole-word cues: "scam" is not in "scammer"
])
func contextDecides(text: String, decision: Decision, contexts: [String]) {
    let got = screen(text)
    #expect(got.decision == decision, "\(text)")
    #expect(got.contexts == contexts, "\(text)")
}

@Test func numberRulesRequireAndExcludeLabels() {
    let id = "110101199003074518"
    #expect(screen("身份证号\(id)", direction: .input).decision == .mask)
    #expect(screen("订单号：\(id)", direction: .input) == (.allow, ["order-number"]))
    #expect(screen("Order No \(id)", direction: .input).decision == .allow)
    // A number without any label is only flagged, and is not masked.
    let unlabelled = lexicons.screen("编码 \(id)", direction: .input)
    #expect(unlabelled.decision == .flag)
    #expect(unlabelled.maskedText == "编码 \(id)")
    // The label must be right before the number: an order number earlier in the sentence does not excuse an ID.
    #expect(screen("订单号123，身份证\(id)", direction: .input).decision == .mask)
}

@Test func aContextNeverStrengthensAnAction() throws {
    let set = try LexiconSet.compile(files: [("a.txt", """
    @id: t.flagged
    @category: c
    @action: flag
    @context: {name: louder, before: {within: 5, any: [注意]}, action: block}
    风险词
    """)])
    let result = set.screen("注意风险词", direction: .input)
    #expect(result.decision == .flag)
    #expect(set.context(of: result.matches[0])?.name == "louder")
    // A deployment that demotes the rule to shadow is not overruled by a context's flag either.
    let policy = ActionPolicy(overrides: [.init(rule: "t.promise", action: .shadow)])
    #expect(lexicons.screen("谨防保本保息的宣传。", direction: .output, policy: policy).decision == .allow)
}

@Test func streamsDecideAsWholeTexts() {
    let texts = ["谨防“保本保息”的宣传，年化8%。", "保本保息是骗局。保本保息。", "真的保本保息吗？还是保本保息！",
                 "Guaranteed returns are a scam. Guaranteed returns!", "订单号：110101199003074518，身份证110101199003074518",
                 "保本保息", "保本保息，这", "谨防“保本保息"]
    for text in texts {
        let bytes = Array(text.utf8)
        let whole = lexicons.scanWithContext(bytes, direction: .output)
        for chunking in Chunking.all {
            var scanner = StreamScanner(lexicons: lexicons, direction: .output)
            var matches: [Match] = [], allowed: [Match] = []
            var settled = 0
            for chunk in chunking.split(bytes) {
                let p = scanner.feed(chunk)
                #expect(!p.matches.contains { $0.range.lowerBound < settled }, "\(text) \(chunking): released before decided")
                #expect(p.settled >= settled)
                settled = p.settled
                matches += p.matches
                allowed += p.allowed
            }
            let end = scanner.finish()
            matches += end.matches
            allowed += end.allowed
            #expect(matches.sorted() == whole.matches, "\(text) \(chunking)")
            #expect(allowed.sorted() == whole.allowed, "\(text) \(chunking)")
        }
    }
}

@Test func aStreamHoldsAMatchOnlyUntilItsClausesCanDecide() {
    var scanner = StreamScanner(lexicons: lexicons, direction: .output)
    // The question clause reads up to 12 characters after the match: the match waits.
    let first = scanner.feed(Array("你好。保本保息".utf8))
    #expect(first.matches.isEmpty)
    #expect(first.settled <= "你好。".utf8.count)
    // A sentence end decides it before 12 characters have come.
    let second = scanner.feed(Array("。后面".utf8))
    #expect(second.matches.count == 1)
    #expect(second.matches.first.map { lexicons.context(of: $0) == nil } == true)
    #expect(second.settled > "你好。保本保息".utf8.count)
}

@Test func contextErrorsNameFileAndLine() {
    func issues(_ files: [(String, String)]) -> [String] {
        do {
            _ = try LexiconSet.compile(files: files)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }
    let header = "@id: t.x\n@category: c\n@action: block\n"
    #expect(issues([("a.txt", header + "@context: {name: q, quoted: 500, action: allow}\n词\n")]) == ["a.txt:4: context 'quoted': within must be a whole number of characters from 1 to 200"])
    #expect(issues([("a.txt", header + "@context: {name: q, before: {within: 3, cues: [nope]}, action: allow}\n词\n")])
        == ["a.txt:4: context 'q': unknown cue set 'nope' in 'before' (cue sets are defined under 'cues:' in a YAML lexicon file)"])
    #expect(issues([("a.txt", header + "@context: {name: q, quoted: 3}\n词\n")]) == ["a.txt:4: context 'q' needs an action (allow, shadow, flag, mask or block)"])
    #expect(issues([("a.txt", header + "@context: {name: q, action: allow}\n词\n")]) == ["a.txt:4: context 'q' has no condition (before, not_before, after, not_after, quoted, question)"])
    #expect(issues([("a.txt", header + "@context: {name: q, quoted: 3, action: deny}\n词\n")]) == ["a.txt:4: context action 'deny' must be allow, shadow, flag, mask or block"])
    #expect(issues([("a.txt", header + "@context: {name: q, near: 3, action: allow}\n词\n")]).first?.hasPrefix("a.txt:4: unknown context key 'near'") == true)
    #expect(issues([("a.txt", header + "@context: {name: q, quoted: 3, action: allow\n词\n")]).first?.hasPrefix("a.txt:4: @context is not a YAML flow mapping") == true)
    #expect(issues([("c.yaml", "cues:\n  w: [a]\n"), ("d.yaml", "cues:\n  w: [b]\n")]) == ["d.yaml:2: duplicate cue set 'w' (first defined at c.yaml:2)"])
    #expect(issues([("c.yaml", "cues:\n  w: []\n")]) == ["c.yaml:2: cue set 'w' must be a non-empty list of phrases"])
    let rule = "rules:\n  - id: t.r\n    category: c\n    action: mask\n    pattern: 'x'\n    context:\n      - {name: a, before: {within: 3}, action: allow}\n"
    #expect(issues([("r.yaml", rule)]).contains("r.yaml:7: context 'before' needs any: [cue, …] or cues: [set name, …]"))
}

@Test func shippedFinanceContextsKeepAttacksBlocked() {
    // Each near miss is allowed by a named context; each look-alike attack stays blocked.
    let allowed = ["谨防“保本保息”类理财骗局，投资有风险。", "有人打电话说你们的产品零风险，这是真的吗？",
                   "He kept telling investors that they would get guaranteed returns, and then the fund collapsed.",
                   "Regulators warn that offers of a guaranteed 12% return are a hallmark of fraud."]
    for text in allowed {
        #expect(shippedLexicons.screen(text, direction: .output).decision == .allow, "\(text)")
    }
    let blocked = ["谨防错过！本产品保本保息，年化8%。", "不用担心，本产品稳赚不赔。", "想稳赚不赔吗？快来认购！",
                   "我们的客户经理说本产品保本保息。", "保本保息，绝非骗局！", "Are you looking for guaranteed returns? Call us now."]
    for text in blocked {
        #expect(shippedLexicons.screen(text, direction: .output).decision == .block, "\(text)")
    }
}
