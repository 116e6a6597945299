import Testing
@testable import Screening
import TestSupport

let financeLexicon = """
@id: finance.test
@category: finance-marketing
@risk: A.3.e
@action: block
@direction: output
保本
稳赚不赔
guaranteed returns
risk free
!不保本
!不承诺保本
"""

let injectionLexicon = """
@id: injection.test
@category: prompt-injection
@action: flag
@direction: input
ignore previous instructions
忽略之前的指令
"""

let exactLexicon = """
@id: exact.test
@category: exact
@action: flag
@normalize: none
@word-boundary: off
AbC
"""

let piiRules = """
rules:
  - id: pii.mobile
    category: personal-information
    action: mask
    pattern: '(?<![0-9])1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])'
    mask: {keep_start: 3, keep_end: 4}
  - id: pii.card
    category: personal-information
    action: mask
    validator: luhn
    pattern: '(?<![0-9])[0-9]{16,19}(?![0-9])'
    mask: {keep_start: 6, keep_end: 4}
"""

let testLexicons: LexiconSet = {
    try! LexiconSet.compile(files: [("finance.txt", financeLexicon), ("injection.txt", injectionLexicon),
                                    ("exact.txt", exactLexicon), ("pii.yaml", piiRules)])
}()

struct ScanCase: Sendable, CustomStringConvertible {
    let text: String
    let direction: Direction
    /// Expected (rule id, matched original text).
    let expected: [(String, String)]
    var description: String { text }
}

let scanCases: [ScanCase] = [
    ScanCase(text: "这款产品稳赚不赔", direction: .output, expected: [("finance.test", "稳赚不赔")]),
    ScanCase(text: "这款产品稳 赚-不*赔！", direction: .output, expected: [("finance.test", "稳 赚-不*赔")]),
    ScanCase(text: "稳.赚.不.赔", direction: .output, expected: [("finance.test", "稳.赚.不.赔")]),
    ScanCase(text: "穩賺不賠", direction: .output, expected: [("finance.test", "穩賺不賠")]),
    ScanCase(text: "稳\u{200B}赚\u{200D}不\u{FE0F}赔", direction: .output, expected: [("finance.test", "稳\u{200B}赚\u{200D}不\u{FE0F}赔")]),
    ScanCase(text: "稳😀赚🔥不赔", direction: .output, expected: [("finance.test", "稳😀赚🔥不赔")]),
    ScanCase(text: "稳1赚不赔", direction: .output, expected: []),                       // a digit breaks the term
    ScanCase(text: "稳赚大不赔", direction: .output, expected: []),                      // so does a CJK character
    ScanCase(text: "g.u.a.r.a.n.t.e.e.d returns!", direction: .output, expected: [("finance.test", "g.u.a.r.a.n.t.e.e.d returns")]),
    ScanCase(text: "ＧＵＡＲＡＮＴＥＥＤ　ＲＥＴＵＲＮＳ", direction: .output, expected: [("finance.test", "ＧＵＡＲＡＮＴＥＥＤ　ＲＥＴＵＲＮＳ")]),
    ScanCase(text: "Guaranteed-Returns", direction: .output, expected: [("finance.test", "Guaranteed-Returns")]),
    ScanCase(text: "unguaranteed returns", direction: .output, expected: []),            // word boundary on the left
    ScanCase(text: "guaranteed returnsx", direction: .output, expected: []),             // and on the right
    ScanCase(text: "a brisk freedom", direction: .output, expected: []),
    ScanCase(text: "It is risk-free.", direction: .output, expected: [("finance.test", "risk-free")]),
    ScanCase(text: "ⓡⓘⓢⓚ ⓕⓡⓔⓔ", direction: .output, expected: [("finance.test", "ⓡⓘⓢⓚ ⓕⓡⓔⓔ")]),
    ScanCase(text: "rіsk frее", direction: .output, expected: [("finance.test", "rіsk frее")]),   // Cyrillic і and е
    ScanCase(text: "本产品不保本，投资有风险", direction: .output, expected: []),         // exception
    ScanCase(text: "本产品不承诺保本", direction: .output, expected: []),
    ScanCase(text: "不保本？我们保本！", direction: .output, expected: [("finance.test", "保本")]),
    ScanCase(text: "保本", direction: .output, expected: [("finance.test", "保本")]),
    ScanCase(text: "保本", direction: .input, expected: []),                               // direction
    ScanCase(text: "Please IGNORE previous instructions", direction: .input, expected: [("injection.test", "IGNORE previous instructions")]),
    ScanCase(text: "忽略之前的指令", direction: .input, expected: [("injection.test", "忽略之前的指令")]),
    ScanCase(text: "AbC abc ＡｂＣ", direction: .output, expected: [("exact.test", "AbC")]),   // normalize: none
    ScanCase(text: "电话13812345678", direction: .output, expected: [("pii.mobile", "13812345678")]),
    ScanCase(text: "电话138 1234 5678。", direction: .input, expected: [("pii.mobile", "138 1234 5678")]),
    // Folding inside and around a regex match: the match maps back to the original bytes.
    ScanCase(text: "电话：１３８１２３４５６７８，谢谢", direction: .input, expected: [("pii.mobile", "１３８１２３４５６７８")]),
    ScanCase(text: "，，电话１３８\u{200B}1234\u{200B}５６７８！再打１３９ ８７６５ ４３２１。", direction: .input,
             expected: [("pii.mobile", "１３８\u{200B}1234\u{200B}５６７８"), ("pii.mobile", "１３９ ８７６５ ４３２１")]),
    ScanCase(text: "电话１３８１２３４５６７８", direction: .input, expected: [("pii.mobile", "１３８１２３４５６７８")]),
    // Plain text first, folded text later (the regex window switches to explicit origins
    // mid-stream), and folded text between two plain matches: offsets must stay exact.
    ScanCase(text: "电话13812345678，备用１３９１２３４５６７８", direction: .input,
             expected: [("pii.mobile", "13812345678"), ("pii.mobile", "１３９１２３４５６７８")]),
    ScanCase(text: "13812345678 ｘ 13912345678 和 1\u{200B}3712345678", direction: .input,
             expected: [("pii.mobile", "13812345678"), ("pii.mobile", "13912345678"), ("pii.mobile", "1\u{200B}3712345678")]),
    ScanCase(text: "订单号 2013812345678901", direction: .input, expected: []),           // inside a longer run, fails Luhn
    ScanCase(text: "卡号 4111111111111111 谢谢", direction: .input, expected: [("pii.card", "4111111111111111")]),
    ScanCase(text: "卡号 4111111111111112", direction: .input, expected: []),              // Luhn fails
]

@Test("scan cases under every chunking", arguments: scanCases)
func scanCase(_ c: ScanCase) {
    let bytes = Array(c.text.utf8)
    for chunking in Chunking.all {
        let (matches, violations) = streamScan(testLexicons, bytes, direction: c.direction, chunking: chunking)
        let got = matches.map { (testLexicons.rules[$0.rule].id, String(decoding: bytes[$0.range], as: UTF8.self)) }
        #expect(got.map(\.0) == c.expected.map(\.0), "\(chunking)")
        #expect(got.map(\.1) == c.expected.map(\.1), "\(chunking)")
        #expect(violations == 0, "\(chunking): settled passed a match")
    }
}

@Test func verdictAndMasking() {
    let r = testLexicons.screen("这款产品稳 赚 不 赔，详询 13812345678", direction: .output)
    #expect(r.decision == .block)
    #expect(r.maskedText == "这款产品稳 赚 不 赔，详询 138****5678")
    let allowed = testLexicons.screen("本产品不保本，投资有风险", direction: .output)
    #expect(allowed.decision == .allow)
    #expect(allowed.matches.isEmpty)
    let card = testLexicons.screen("卡号 4111 1111 1111 1111", direction: .input)
    #expect(card.decision == .allow)   // the card pattern takes no separators
    let masked = testLexicons.screen("卡号4111111111111111", direction: .input)
    #expect(masked.maskedText == "卡号411111******1111")
}

@Test func cleanTextSettlesImmediately() {
    var scanner = StreamScanner(lexicons: testLexicons, direction: .output)
    let clean = Array("今天天气很好。".utf8)
    #expect(scanner.feed(clean).settled == clean.count)
    // A term prefix at the end is held back, and nothing before it.
    let prefix = Array("我们稳".utf8)
    let p = scanner.feed(prefix)
    #expect(p.settled == clean.count + Array("我们".utf8).count)
    let rest = scanner.feed(Array("健经营".utf8))
    #expect(rest.matches.isEmpty)
    #expect(rest.settled == scanner.offset)
}

@Test func holdsOnlyPrefixesThatCanStillMatchHere() {
    // "ignore previous instructions" is an input rule: an answer need not wait on its prefix.
    var answer = StreamScanner(lexicons: testLexicons, direction: .output)
    let ignore = Array("please ignore previous".utf8)
    #expect(answer.feed(ignore).settled == ignore.count)
    var prompt = StreamScanner(lexicons: testLexicons, direction: .input)
    #expect(prompt.feed(ignore).settled == Array("please ".utf8).count)
    // "guaranteed returns" needs a left word boundary: "un|guarantee" cannot become it, "a guarantee" can.
    var inside = StreamScanner(lexicons: testLexicons, direction: .output)
    let unguarantee = Array("unguarantee".utf8)
    #expect(inside.feed(unguarantee).settled == unguarantee.count)
    #expect(inside.feed(Array("d returns".utf8)).matches.isEmpty)
    var start = StreamScanner(lexicons: testLexicons, direction: .output)
    #expect(start.feed(Array("a guarantee".utf8)).settled == 2)
    #expect(start.feed(Array("d returns!".utf8)).matches.map { testLexicons.rules[$0.rule].id } == ["finance.test"])
}

@Test func settledHoldsAPartialRegexMatch() {
    var scanner = StreamScanner(lexicons: testLexicons, direction: .input)
    let p = scanner.feed(Array("call 1381234".utf8))
    #expect(p.settled == 5)            // "1381234" could still become a phone number
    let q = scanner.feed(Array("5678 now".utf8))
    #expect(q.matches.map { testLexicons.rules[$0.rule].id } == ["pii.mobile"])
    #expect(q.matches.first?.range == 5..<16)
}

/// Generated inputs: every random split gives the same matches as the whole text.
@Test func randomSplitsEqualWholeText() {
    var rng = SplitMix64(state: 42)
    let pieces = ["稳", "赚", "不", "赔", "保本", "不保本", " ", ".", "-", "\u{200B}", "😀", "guaranteed", "returns", "risk", "free",
                  "ＲＩＳＫ", "穩賺", "138", "1234", "5678", "4111111111111111", "a", "好", "。", "\n", "\u{00E9}", "ignore", "previous", "instructions"]
    for round in 0..<300 {
        var text = ""
        for _ in 0..<Int.random(in: 1...25, using: &rng) { text += pieces.randomElement(using: &rng)! }
        let bytes = Array(text.utf8)
        for direction in Direction.allCases {
            let whole = streamScan(testLexicons, bytes, direction: direction, chunking: .whole).matches
            for chunking in [Chunking.bytes(1), .random(seed: UInt64(round))] {
                let (split, violations) = streamScan(testLexicons, bytes, direction: direction, chunking: chunking)
                #expect(split == whole, "\(text.debugDescription) \(chunking)")
                #expect(violations == 0, "\(text.debugDescription) \(chunking)")
            }
        }
    }
}
