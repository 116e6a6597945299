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
    #expect(Set(normalizationCases.flatMap(\.steps)) == ["width", "case", "t2s", "invisible", "confusables"])
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
}

@Test func classTableKinds() {
    let table = ScalarClassTable(steps: .all) { $0 == 0x61 ? 1 : 0 }    // alphabet: "a"
    #expect(ScalarClassTable.kind(table.entry(0x20)) == ScalarClassTable.Kind.noise.rawValue)
    #expect(ScalarClassTable.kind(table.entry(0x200B)) == ScalarClassTable.Kind.drop.rawValue)
    #expect(ScalarClassTable.payload(table.entry(0xFF41)) == 1)          // ａ → a
    #expect(ScalarClassTable.payload(table.entry(0x41)) == 1)            // A → a
    #expect(ScalarClassTable.kind(table.entry(0x2469)) == ScalarClassTable.Kind.expansion.rawValue)   // ⑩ → 1 0
    #expect(ScalarClassTable.kind(table.entry(0x1F600)) == ScalarClassTable.Kind.noise.rawValue)     // 😀
    #expect(ScalarClassTable.isWord(table.entry(0x62)))
    #expect(!ScalarClassTable.isWord(table.entry(0x4E2D)))              // 中 is not a word character
}
