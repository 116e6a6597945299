// libFuzzer target for the lexicon file parsers of Screening (docs/fuzzing.md).
//
// Input layout: byte 0 picks what the rest is (bits 0-1):
//   0: a term list (`fuzz.txt`), 1: a regex rule file (`fuzz.yaml`), read by
//   `LexiconSet.compile(files:)`;
//   2: regression cases (`fuzz.cases.jsonl`), written to a temporary directory (created once)
//   and read by `RegressionSuite.load(directory:)`, which has no in-memory entry point;
//   3: a term list and a regex rule file, separated by the first NUL byte (duplicate rule ids
//   across files, two kinds of rule in one set).
// and (bits 2-3) whether a set that parses is also compiled: only when both bits are set. A
// compile builds a normalization class table per profile (all of the BMP), tens of
// milliseconds even in a release build, so it is kept to a quarter of the inputs. Otherwise a
// second file that never parses (`~never.txt`) is passed along: `compile(files:)` collects
// every file's issues and stops before compiling, which makes it a parse-only entry point.
//
// Properties:
// 1. Parsing and compiling return or throw; they never crash or trap (Yams, PCRE2 compile,
//    automaton construction included).
// 2. Every error names its file and a line inside it: `file` is one of the names given and
//    1 <= line <= the file's line count + 1 (a YAML error may point just past the last line;
//    lines are counted as YAML counts them, CR, NEL, LS and PS included).
//    Warnings of a compiled set obey the same rule.
// 3. A set that compiles scans: the input text itself (which holds the terms), fed to a stream
//    scanner whole and one byte at a time, gives the same matches, in both directions, and the
//    same matches as `LexiconSet.scan` unless an anchored regex rule's anchors are missing
//    (`rulesMissedByPrefilters`, which the regression suite reports).
// 4. Regression cases that load carry their file and line, and run against a small fixed set.
import Foundation
import Screening

func fail(_ message: String, _ input: [UInt8]) -> Never {
    fatalError("fuzz-lexicon: \(message) for input \(String(decoding: input.prefix(512), as: UTF8.self).debugDescription)")
}

/// An upper bound of the line count as any reader counts lines: YAML also breaks lines at CR,
/// NEL, U+2028 and U+2029 (a CR-only file is one line to the term-list reader, many to Yams).
func lineCount(_ text: String) -> Int {
    text.unicodeScalars.reduce(1) { $0 + ([0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains($1.value) ? 1 : 0) }
}

func checkIssues(_ issues: [LexiconIssue], files: [(name: String, text: String)], input: [UInt8], what: String) {
    for issue in issues {
        guard let file = files.first(where: { $0.name == issue.file || issue.file.hasSuffix("/" + $0.name) }) else {
            fail("\(what) names no given file: \(issue)", input)
        }
        guard issue.line >= 1, issue.line <= lineCount(file.text) + 1 else {
            fail("\(what) line out of range (\(lineCount(file.text)) lines): \(issue)", input)
        }
        guard !issue.message.isEmpty else { fail("\(what) without a message: \(issue)", input) }
    }
}

func scanStreamed(_ lexicons: LexiconSet, _ bytes: [UInt8], direction: Direction, bytewise: Bool) -> [Match] {
    var scanner = StreamScanner(lexicons: lexicons, direction: direction)
    var matches: [Match] = []
    if bytewise {
        for b in bytes { matches += scanner.feed([b]).matches }
    } else {
        matches += scanner.feed(bytes).matches
    }
    matches += scanner.finish().matches
    return matches.sorted()
}

func checkCompiled(_ lexicons: LexiconSet, text: [UInt8], files: [(name: String, text: String)], input: [UInt8]) {
    checkIssues(lexicons.warnings, files: files, input: input, what: "warning")
    let sample = Array(text.prefix(2048))
    for direction in Direction.allCases {
        let whole = scanStreamed(lexicons, sample, direction: direction, bytewise: false)
        let bytewise = scanStreamed(lexicons, sample, direction: direction, bytewise: true)
        guard whole == bytewise else {
            fail("\(direction): 1-byte feed finds \(bytewise.count) matches, whole feed \(whole.count)", input)
        }
        for m in whole where m.range.lowerBound < 0 || m.range.upperBound > sample.count || m.range.isEmpty {
            fail("match \(m) outside the \(sample.count)-byte text", input)
        }
        let scanned = lexicons.scan(sample, direction: direction)
        if scanned != whole, lexicons.rulesMissedByPrefilters(sample, direction: direction).isEmpty {
            fail("\(direction): whole-text scan finds \(scanned.count) matches, the stream \(whole.count)", input)
        }
        _ = lexicons.screen(String(decoding: sample, as: UTF8.self), direction: direction)
    }
}

/// A small fixed set for running fuzzed regression cases.
let caseLexicons: LexiconSet = try! LexiconSet.compile(files: [
    (name: "finance.txt", text: "@id: finance.test\n@category: finance-marketing\n@action: block\n稳赚不赔\nguaranteed returns\n!不保本\n"),
    (name: "pii.yaml", text: "rules:\n  - id: pii.mobile\n    category: pii\n    action: mask\n    pattern: '1[3-9]\\d{9}'\n    mask: {keep_start: 3, keep_end: 4}\n"),
])

let casesDirectory: String = {
    let path = NSTemporaryDirectory() + "/menshen-fuzz-lexicon-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLexicon(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = input.first else { return 0 }
    let body = Array(input.dropFirst())
    var files: [(name: String, text: String)]
    let compiles = mode & 0x0C == 0x0C
    switch mode & 3 {
    case 0: files = [("fuzz.txt", String(decoding: body, as: UTF8.self))]
    case 1: files = [("fuzz.yaml", String(decoding: body, as: UTF8.self))]
    case 2:
        let text = String(decoding: body, as: UTF8.self)
        let path = casesDirectory + "/fuzz.cases.jsonl"
        // An empty file is written as one newline: reading an empty file with
        // String(contentsOfFile:encoding:) leaks a 4 KB buffer in FoundationEssentials
        // (readBytesFromFile, Swift 6.3.1), which LeakSanitizer reports. Not Menshen's leak.
        guard FileManager.default.createFile(atPath: path, contents: Data((text.isEmpty ? "\n" : text).utf8)) else { fatalError("cannot write \(path)") }
        let files = [(name: path, text: text)]
        do {
            let cases = try RegressionSuite.load(directory: casesDirectory)
            for c in cases {
                guard let source = c.source, source.file == path, source.line >= 1, source.line <= lineCount(text) else {
                    fail("case without its place: \(String(describing: c.source))", input)
                }
            }
            _ = RegressionSuite.run(cases, lexicons: caseLexicons).map(\.description)
        } catch {
            checkIssues(error.issues, files: files, input: input, what: "error")
        }
        return 0
    default:
        let cut = body.firstIndex(of: 0) ?? body.count
        files = [("fuzz.txt", String(decoding: body[..<cut], as: UTF8.self)),
                 ("fuzz.yaml", String(decoding: body[min(cut + 1, body.count)...], as: UTF8.self))]
    }
    let never = (name: "~never.txt", text: "")
    do {
        let lexicons = try LexiconSet.compile(files: compiles ? files : files + [never])
        guard compiles else { fail("a file that cannot parse was accepted", input) }
        checkCompiled(lexicons, text: body, files: files, input: input)
    } catch {
        guard !error.issues.isEmpty else { fail("an error without issues", input) }
        if !compiles, !error.issues.contains(where: { $0.file == never.name }) {
            fail("the file that cannot parse gave no issue", input)
        }
        checkIssues(error.issues.filter { $0.file != never.name }, files: files, input: input, what: "error")
    }
    return 0
}
