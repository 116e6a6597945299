import Testing
import Normalization
@testable import Screening

// The markup step (NormalizationSteps.markup): HTML references and tags, terminal escapes read
// as the text they render to, beside the plain reading, whole and streamed alike.

/// Decodes `text` in pieces of `piece` bytes; returns the reading and each output byte's input start.
private func read(_ text: String, piece: Int = .max) -> (String, MarkupOffsetMap) {
    var decoder = MarkupDecoder()
    var map = MarkupOffsetMap()
    var out: [UInt8] = []
    let bytes = Array(text.utf8)
    var i = 0
    repeat {
        let j = min(bytes.count, i + min(piece, bytes.count))
        var chunk: [UInt8] = []
        let final = j == bytes.count
        bytes[i..<j].withUnsafeBufferPointer { p in
            decoder.decode(UnsafeBufferPointer(rebasing: p[...]), base: i, final: final, into: &chunk, outputBase: out.count, map: &map)
        }
        out += chunk
        i = j
    } while i < bytes.count
    return (String(decoding: out, as: UTF8.self), map)
}

@Test(arguments: [
    ("稳&#36186;不赔", "稳赚不赔"), ("稳&#x8D5A;不赔", "稳赚不赔"), ("稳&#X8d5a;不赔", "稳赚不赔"),
    ("稳<b></b>赚", "稳赚"), ("稳<span class=\"a\">赚</span>", "稳赚"), ("a<!-- note -->b", "ab"),
    ("稳\u{1B}[31;1m赚\u{1B}[0m", "稳赚"), ("稳\u{1B}]0;title\u{07}赚", "稳赚"), ("a\u{1B}7b", "ab"),
    ("&lt;b&gt; &amp; &quot;", "<b> & \""), ("caf&eacute;", "café"), ("&amp;#36186;", "&#36186;"),   // decoded once, as browsers do
    ("a < b, 3<4", "a < b, 3<4"), ("AT&T &unknown; &#;", "AT&T &unknown; &#;"), ("x &#99999999; y", "x \u{FFFD} y"),
    ("&#0;", "\u{FFFD}"), ("<a href=x", "<a href=x"), ("&&#36186;", "&赚"), ("<<b>x", "<x"),
])
func markupReadsAsItRenders(input: String, expected: String) {
    for piece in [Int.max, 1, 2, 3] {
        #expect(read(input, piece: piece).0 == expected, "\(input.debugDescription) in \(piece)-byte pieces")
    }
}

@Test func offsetsMapBackToTheMarkup() {
    let (reading, map) = read("稳&#36186;不赔")
    #expect(reading == "稳赚不赔")
    // 赚 is output bytes 3..<6 and stands for the reference at input 3..<11.
    #expect(map.inputStart(of: 3) == 3)
    #expect(map.inputEnd(of: 6) == 11)
    #expect(map.inputStart(of: 6) == 11)
    #expect(map.inputEnd(of: 12) == 17)
}

private let finance = try! LexiconSet.compile(files: [("f.txt", "@id: t.f\n@category: c\n@action: block\n稳赚不赔\n"),
                                                      ("plain.txt", "@id: t.plain\n@category: c\n@action: block\n@normalize: all,-markup\n保本保息\n")])

@Test func markupRevealsTermsButNeverHidesThem() {
    // Revealed: the match covers the markup it was read from, so masking removes all of it.
    let revealed = finance.screen("本产品稳&#36186;<b>不</b>赔哦", direction: .output)
    #expect(revealed.decision == .block)
    #expect(revealed.matches.map(\.range) == [9..<33])
    // Not hidden: an unclosed "tag" or a reference that decodes to something else leaves the plain reading.
    #expect(finance.screen("<a 稳赚不赔", direction: .output).decision == .block)
    #expect(finance.screen("稳赚不赔&#36186", direction: .output).decision == .block)
    // A lexicon without the step does not read markup.
    #expect(finance.screen("保本&#20445;息", direction: .output).decision == .allow)
    #expect(finance.screen("保本保息", direction: .output).decision == .block)
}

@Test func markupStreamsAsWholeText() {
    let texts = ["稳&#36186;不赔", "x稳<i>赚</i>不\u{1B}[1m赔", "稳赚不赔 & 稳&#x8d5a;不赔 <p>稳赚不赔</p>", "&lt;稳赚不赔&gt;",
                 "a < b 稳赚不赔", "稳赚不&#36180", "<a 稳赚不赔 <b>稳</b>赚不赔"]
    for text in texts {
        let bytes = Array(text.utf8)
        let whole = finance.scan(bytes, direction: .output)
        #expect(!whole.isEmpty, "\(text)")
        for chunking in Chunking.all {
            let (split, violations) = streamScan(finance, bytes, direction: .output, chunking: chunking)
            #expect(split == whole, "\(text.debugDescription) \(chunking)")
            #expect(violations == 0, "\(text.debugDescription) \(chunking)")
        }
    }
}

@Test func shippedLexiconsReadMarkupAndVariants() {
    for text in ["这款产品稳&#36186;不赔", "这款产品稳<b></b>赚不赔", "这款产品稳\u{1B}[31m赚\u{1B}[0m不赔", "穏賺不賠", "This fund offers guaranteed retuгns."] {
        #expect(shippedLexicons.screen(text, direction: .output).decision == .block, "\(text.debugDescription)")
    }
}
