import Foundation
import Testing
@testable import Screening

/// A fresh directory under the system temporary directory, removed by the caller.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "menshen-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func write(_ text: String, to path: String) {
    try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
}

@Test func everyErrorIsReportedWithFileAndLine() throws {
    let dir = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write("""
    @id: a.terms
    @category: cat
    @action: explode
    @severity: high
    term one
    @direction: output
    """, to: dir + "/a.txt")
    write("""
    @id: b.terms
    @category: Bad Category
    @action: block
    @normalize: all,-colour
    ...
    """, to: dir + "/sub/b.txt")
    write("""
    rules:
      - id: r.one
        category: pii
        action: mask
        pattern: '(unclosed'
      - id: r.two
        category: pii
        action: mask
        validator: crc32
        pattern: 'x'
    """, to: dir + "/c.yaml")
    write("rules: [\n  - id: x\n", to: dir + "/d.yaml")
    write("@id: a.terms\n@category: c\n@action: flag\nduplicate id\n", to: dir + "/e.txt")

    let error = #expect(throws: LexiconLoadError.self) { try LexiconSet.load(directory: dir) }
    let messages = error?.issues.map(\.description) ?? []
    #expect(messages.contains("\(dir)/a.txt:3: @action 'explode' must be block, mask, flag or shadow"))
    #expect(messages.contains("\(dir)/a.txt:6: header line after the first term (move it above the terms, or escape a literal @ as \\@)"))
    #expect(messages.contains("\(dir)/sub/b.txt:2: @category 'Bad Category' must be lower-case letters, digits, '.', '_' or '-'"))
    #expect(messages.contains("\(dir)/sub/b.txt:4: @normalize: unknown step 'colour' (known: all, none, markup, invisible, width, digits, case, confusables, t2s, variants, noise)"))
    #expect(messages.contains { $0.hasPrefix("\(dir)/c.yaml:9: unknown validator 'crc32'") })
    #expect(messages.contains { $0.hasPrefix("\(dir)/d.yaml:") && $0.contains("YAML syntax error") })
    // The regex compile error and the duplicate id are found in the compile pass, after the
    // per-file problems are fixed; here the per-file problems stop loading first.
    #expect(messages.count >= 6)
}

@Test func compilePassErrorsNameTheLine() throws {
    let error = #expect(throws: LexiconLoadError.self) {
        try LexiconSet.compile(files: [
            ("a.txt", "@id: same\n@category: c\n@action: flag\nfoo\n   \n-- --\n"),
            ("b.yaml", "rules:\n  - id: same\n    category: c\n    action: flag\n    pattern: 'x'\n  - id: bad\n    category: c\n    action: flag\n    pattern: '(x'\n"),
        ])
    }
    let messages = error?.issues.map(\.description) ?? []
    #expect(messages.contains("a.txt:6: term '-- --' is empty after normalization (all)"))
    #expect(messages.contains("b.yaml:2: duplicate rule id 'same' (first defined at a.txt:1)"))
    #expect(messages.contains { $0.hasPrefix("b.yaml:6: rule 'bad': pattern does not compile: missing closing parenthesis") })
}

@Test func duplicatesAfterNormalizationWarn() throws {
    let set = try LexiconSet.compile(files: [("a.txt", "@id: a\n@category: c\n@action: flag\n稳赚\n穩賺\n")])
    #expect(set.warnings.map(\.description) == ["a.txt:5: '穩賺' is the same as line 4 after normalization"])
}

@Test func configMapLayoutIsFollowed() throws {
    // Kubernetes mounts a ConfigMap as `..data -> ..2026_11_29_…` plus visible symlinks into it.
    let dir = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let fm = FileManager.default
    write("@id: cm\n@category: c\n@action: block\n禁止词\n", to: dir + "/..2026_11_29_01/cm.txt")
    try fm.createSymbolicLink(atPath: dir + "/..data", withDestinationPath: "..2026_11_29_01")
    try fm.createSymbolicLink(atPath: dir + "/cm.txt", withDestinationPath: "..data/cm.txt")
    let set = try LexiconSet.load(directory: dir)
    #expect(set.rules.map(\.id) == ["cm"])
    #expect(set.screen("有禁止词", direction: .output).decision == .block)
}

@Test func versionIsAContentHash() throws {
    let a = try LexiconSet.compile(files: [("a.txt", "@id: a\n@category: c\n@action: flag\nfoo\n")])
    let b = try LexiconSet.compile(files: [("a.txt", "@id: a\n@category: c\n@action: flag\nfoo\n")])
    let c = try LexiconSet.compile(files: [("a.txt", "@id: a\n@category: c\n@action: flag\nbar\n")])
    #expect(a.version == b.version)
    #expect(a.version != c.version)
    #expect(a.version.count == 12)
}

@Test func validators() {
    #expect(Validator.cnResidentID.validate(Array("11010519491231002X".utf8)))
    #expect(Validator.cnResidentID.validate(Array("110105 19491231 002x".utf8)))
    #expect(!Validator.cnResidentID.validate(Array("110105194912310021".utf8)))      // check character
    #expect(!Validator.cnResidentID.validate(Array("110105194902300027".utf8)))      // 30 February
    #expect(!Validator.cnResidentID.validate(Array("11010519491231002".utf8)))       // length
    #expect(Validator.luhn.validate(Array("4111 1111 1111 1111".utf8)))
    #expect(Validator.luhn.validate(Array("6222021234567890128".utf8)) == luhnReference("6222021234567890128"))
    #expect(!Validator.luhn.validate(Array("4111111111111112".utf8)))
    #expect(Validator.uscc.validate(Array("91350100M000100Y43".utf8)))
    #expect(!Validator.uscc.validate(Array("91350100M000100Y44".utf8)))
    #expect(!Validator.uscc.validate(Array("91350100M000100Y4".utf8)))
}

/// An independent Luhn, written the textbook way.
func luhnReference(_ s: String) -> Bool {
    let digits = s.compactMap { $0.wholeNumberValue }
    let sum = digits.reversed().enumerated().map { i, d in i % 2 == 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d }.reduce(0, +)
    return sum % 10 == 0
}

@Test func anchorsMustBeAListOfNonEmptyStrings() throws {
    let parseError = #expect(throws: LexiconLoadError.self) {
        try LexiconSet.compile(files: [("a.yaml", """
        rules:
          - id: r.empty-list
            category: c
            action: flag
            pattern: 'x'
            anchors: []
          - id: r.not-a-list
            category: c
            action: flag
            pattern: 'x'
            anchors: x
        """)])
    }
    let parseMessages = parseError?.issues.map(\.description) ?? []
    #expect(parseMessages.contains("a.yaml:6: anchors must be a non-empty list of non-empty strings"))
    #expect(parseMessages.contains("a.yaml:11: anchors must be a non-empty list of non-empty strings"))
    let compileError = #expect(throws: LexiconLoadError.self) {
        try LexiconSet.compile(files: [("b.yaml", "rules:\n  - id: r.noise\n    category: c\n    action: flag\n    pattern: '@'\n    anchors: ['@']\n")])
    }
    #expect(compileError?.issues.map(\.description) == ["b.yaml:2: rule 'r.noise': anchor '@' is empty after normalization (anchors are matched with normalization 'all')"])
}

/// The matched texts of `text` screened whole (input direction).
private func wholeTextMatches(_ set: LexiconSet, _ text: String) -> [String] {
    set.scan(Array(text.utf8), direction: .input).map { String(decoding: Array(text.utf8)[$0.range], as: UTF8.self) }
}

/// A whole text runs an anchored rule only if one of its anchors occurs in it (in any case,
/// width or spacing); a stream runs it regardless. Here the anchors deliberately leave out
/// `bar`, so the difference shows — and is what `lexicon test` reports.
@Test func anchoredRulesRunOnlyWhereAnAnchorOccurs() throws {
    let set = try LexiconSet.compile(files: [("a.yaml", """
    rules:
      - id: r.code
        category: c
        action: flag
        case_insensitive: true
        pattern: '(?:foo|bar)-?([0-9]{3})'
        group: 1
        anchors: [foo]
    """)])
    #expect(wholeTextMatches(set, "foo123 and bar456") == ["123", "456"])        // armed by foo: the rule runs on all of it
    #expect(wholeTextMatches(set, "ＦＯＯ-789") == ["789"])                        // the anchor after width and case folding
    #expect(wholeTextMatches(set, "bar456").isEmpty)                              // no anchor: not run
    #expect(set.rulesMissedByPrefilters(Array("bar456".utf8), direction: .input) == ["r.code"])
    #expect(set.rulesMissedByPrefilters(Array("foo456".utf8), direction: .input).isEmpty)
    let (streamed, _) = streamScan(set, Array("bar456".utf8), direction: .input, chunking: .bytes(2))
    #expect(streamed.count == 1)
    let failures = RegressionSuite.run([try JSONDecoder().decode(RegressionCase.self, from: Data(#"{"text": "bar456", "direction": "input", "expect": "flag", "rules": ["r.code"]}"#.utf8))], lexicons: set)
    #expect(failures.first?.problems.contains { $0.hasPrefix("rule 'r.code' matches this text fed as a stream but not whole") } == true)
}

/// The digit-run measure: digits with up to 3 separators between them make one run.
@Test func digitRunsCountDigitsAcrossSeparators() {
    func longest(_ text: String, enough: Int = 64) -> Int {
        Array(text.utf8).withUnsafeBufferPointer { DigitRun.longest(in: $0, enough: enough) }
    }
    #expect(longest("手机 138 1234 5678。") == 11)
    #expect(longest("(212) 555-1234") == 10)
    #expect(longest("( 212 ) 555-1234") == 10)          // three separators between 2 and 5
    #expect(longest("2024年12月3日") == 4)
    #expect(longest("1 -  2") == 1)                     // four separators end a run
    #expect(longest("138a1234") == 4)                    // any other byte ends one
    #expect(longest("") == 0)
    #expect(longest("12345678901234567890", enough: 11) == 11)   // stops once it knows enough
}

/// A whole text runs a rule with `digit_run:` only where a run that long occurs; a stream runs
/// it regardless. The declared run here is deliberately too long for the 9-digit form, so the
/// difference shows — and is what `lexicon test` reports.
@Test func numberRulesRunOnlyWhereTheirDigitRunOccurs() throws {
    let set = try LexiconSet.compile(files: [("a.yaml", """
    rules:
      - id: r.number
        category: c
        action: flag
        pattern: '(?<![0-9])(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{11})(?![0-9])'
        digit_run: 11
    """)])
    #expect(wholeTextMatches(set, "号码 13812345678") == ["13812345678"])
    #expect(wholeTextMatches(set, "号码 １３８１２３４５６７８") == ["１３８１２３４５６７８"])       // full-width digits count once folded
    #expect(wholeTextMatches(set, "123-45-6789 and 13812345678") == ["123-45-6789", "13812345678"])   // the long run lets the rule run
    #expect(wholeTextMatches(set, "123-45-6789").isEmpty)                                          // the promise is broken: not run
    #expect(set.rulesMissedByPrefilters(Array("123-45-6789".utf8), direction: .input) == ["r.number"])
    #expect(set.rulesMissedByPrefilters(Array("13812345678".utf8), direction: .input).isEmpty)
    let failures = RegressionSuite.run([try JSONDecoder().decode(RegressionCase.self, from: Data(#"{"text": "123-45-6789", "direction": "input", "expect": "flag", "rules": ["r.number"]}"#.utf8))], lexicons: set)
    #expect(failures.first?.problems.contains { $0.hasPrefix("rule 'r.number' matches this text fed as a stream but not whole") } == true)
    let parseError = #expect(throws: LexiconLoadError.self) {
        try LexiconSet.compile(files: [("b.yaml", "rules:\n  - id: r.x\n    category: c\n    action: flag\n    pattern: '[0-9]+'\n    digit_run: 0\n")])
    }
    #expect(parseError?.issues.map(\.description) == ["b.yaml:6: digit_run must be a whole number from 1 to 64"])
}
