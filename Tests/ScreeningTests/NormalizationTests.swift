import Foundation
import Testing
import Normalization
import TestSupport

struct NormalizationCase: Codable, Sendable, CustomStringConvertible {
    let name: String
    let input: String
    let expected: String
    let steps: [String]
    var description: String { name }
}

let normalizationCases: [NormalizationCase] = {
    let url = URL(fileURLWithPath: repositoryRoot + "/Tests/ScreeningTests/Fixtures/normalization-cases.json")
    return try! JSONDecoder().decode([NormalizationCase].self, from: Data(contentsOf: url))
}()

@Test("normalization table cases", arguments: normalizationCases)
func normalizationCase(_ c: NormalizationCase) throws {
    let steps = try NormalizationSteps.parse(c.steps.joined(separator: ",")).get()
    let folded = c.input.unicodeScalars.flatMap { UnicodeFolding.shared.fold($0.value, steps: steps) }
    let got = String(String.UnicodeScalarView(folded.compactMap(Unicode.Scalar.init)))
    #expect(got == c.expected)
}

@Test func fixtureIsNotTrivial() {
    #expect(normalizationCases.count >= 60)
    #expect(Set(normalizationCases.flatMap(\.steps)) == ["width", "digits", "case", "t2s", "variants", "invisible", "confusables"])
}

/// The new tables through the public façade, whole strings (the fixture covers them step by step).
struct FoldCase: Sendable, CustomStringConvertible {
    let input: String
    let steps: NormalizationSteps
    let expected: String
    init(_ input: String, _ steps: NormalizationSteps, _ expected: String) {
        self.input = input
        self.steps = steps
        self.expected = expected
    }
    var description: String { "\(input) (\(steps))" }
}

@Test("digits, variants and TR39 confusables", arguments: [
    FoldCase("٣٠٠元", .digits, "300元"),                                       // Arabic-Indic
    FoldCase("۱۲۳", .digits, "123"),                                           // extended Arabic-Indic
    FoldCase("१००", .digits, "100"),                                           // Devanagari
    FoldCase("0123456789", .digits, "0123456789"),                             // ASCII unchanged
    FoldCase("穏賺不賠", [.traditionalToSimplified, .variants], "稳赚不赔"),      // shinjitai + traditional
    FoldCase("穏賺不賠", .variants, "稳賺不賠"),                                  // variants alone: no t2s
    FoldCase("稳赚不赔", .variants, "稳赚不赔"),                                  // common Simplified unchanged
    FoldCase("予", .all, "予"),                                                 // common Chinese, own meaning
    FoldCase("retuгns", .confusables, "returns"),                              // Cyrillic г (TR39)
    FoldCase("օ", .confusables, "o"),                                          // Armenian oh (TR39)
    FoldCase("Guaranteed retuгns", .all, "guaranteedreturns"),
    FoldCase("hello world", .all, "helloworld"),                               // ASCII: only case and noise
])
func newTables(_ c: FoldCase) {
    let folded = UnicodeFolding.shared.normalize(c.input, steps: c.steps)
    #expect(String(String.UnicodeScalarView(folded.compactMap(Unicode.Scalar.init))) == c.expected)
}

@Test func noiseSkippingDropsSeparatorsFromTerms() {
    let all = UnicodeFolding.shared.normalize("Guaranteed-Returns！", steps: .all)
    #expect(String(String.UnicodeScalarView(all.compactMap(Unicode.Scalar.init))) == "guaranteedreturns")
    let none = UnicodeFolding.shared.normalize("Ａ b", steps: [])
    #expect(none.count == 3)
}

@Test func stepNamesParse() throws {
    #expect(try NormalizationSteps.parse("all").get() == .all)
    #expect(try NormalizationSteps.parse("none").get() == [])
    #expect(try NormalizationSteps.parse("all,-noise").get() == NormalizationSteps.all.subtracting(.noise))
    #expect(try NormalizationSteps.parse("width, case").get() == [.width, .caseFold])
    if case .failure(let e) = NormalizationSteps.parse("width,fancy") { #expect(e.word == "fancy") } else { Issue.record("accepted an unknown step") }
    #expect(try NormalizationSteps.parse("digits,variants,markup").get() == [.digits, .variants, .markup])
    #expect(NormalizationSteps([.variants, .width, .digits]).description == "width,digits,variants")
    #expect(NormalizationSteps.all.description == "all")
    #expect(NormalizationSteps.all.rawValue == 0x1FF)
    #expect(NormalizationSteps.named.count == 9)
    #expect(NormalizationSteps.named.reduce(into: NormalizationSteps()) { $0.formUnion($1.step) } == .all)
}

@Test func markupIsNotAPerScalarStep() {
    for scalar: UInt32 in [0x26, 0x3C, 0x1B, 0x61] {          // & < ESC a
        #expect(UnicodeFolding.shared.fold(scalar, steps: .markup) == [scalar])
    }
}

@Test func classTableKinds() {
    let table = ScalarClassTable(steps: .all) { $0 == 0x61 ? 1 : 0 }    // alphabet: "a"
    #expect(ScalarClassTable.kind(table.entry(0x20)) == ScalarClassTable.Kind.noise.rawValue)
    #expect(ScalarClassTable.kind(table.entry(0x200B)) == ScalarClassTable.Kind.drop.rawValue)
    #expect(ScalarClassTable.payload(table.entry(0xFF41)) == 1)          // ａ → a
    #expect(ScalarClassTable.payload(table.entry(0x41)) == 1)            // A → a
    #expect(ScalarClassTable.kind(table.entry(0x2469)) == ScalarClassTable.Kind.expansion.rawValue)   // ⑩ → 1 0
    #expect(ScalarClassTable.kind(table.entry(0x1F600)) == ScalarClassTable.Kind.noise.rawValue)     // 😀
    #expect(ScalarClassTable.payload(table.entry(0x0663)) == 0)          // ٣ → 3, not in the alphabet
    #expect(ScalarClassTable.isWord(table.entry(0x0663)))
    #expect(ScalarClassTable.payload(table.entry(0x0430)) == 1)          // Cyrillic а → a
    #expect(ScalarClassTable.isWord(table.entry(0x62)))
    #expect(!ScalarClassTable.isWord(table.entry(0x4E2D)))              // 中 is not a word character
}
