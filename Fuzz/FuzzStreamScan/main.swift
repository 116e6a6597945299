// libFuzzer target for normalization + stream scanning with the shipped lexicons
// (docs/fuzzing.md).
//
// The lexicons are loaded once, from $MENSHEN_LEXICONS, else the repository's Lexicons/ (found
// from this source file's path), else ./Lexicons.
//
// Input layout: byte 0: bit 0 the direction (input/output), bit 1 whether a 1-byte feed is also
// compared; byte 1: the number of split points n (mod 32); the next 2n bytes: split points
// (little-endian UInt16, modulo the text length + 1; empty pieces allowed); the rest: the text
// (any bytes, invalid UTF-8 included).
//
// Properties:
// 1. Scanning never crashes or traps.
// 2. Split invariance: the text fed to a `StreamScanner` in the chosen pieces (and, if chosen,
//    one byte at a time) gives the same matches as the text fed whole, and so the same verdict.
// 3. `settled` never decreases, no match reported later starts before it, and `finish` settles
//    the whole text. Every match lies inside the text.
// 4. Whole-text screening agrees with the stream: `LexiconSet.scan` (the scanner fed once,
//    where anchored regex rules may be skipped) finds the same matches unless an anchored
//    rule's anchors are missing (`rulesMissedByPrefilters`: a lexicon bug, reported); for
//    valid UTF-8, `LexiconSet.screen` gives the same matches and the decision the default
//    policy gives the streamed matches; its text is unchanged when no match masks.
import Foundation
import Normalization
import Screening

let lexicons: LexiconSet = {
    let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Lexicons").path
    let candidates = [ProcessInfo.processInfo.environment["MENSHEN_LEXICONS"], fromSource, "Lexicons"].compactMap { $0 }
    for directory in candidates where FileManager.default.fileExists(atPath: directory) {
        do {
            let set = try LexiconSet.load(directory: directory)
            FileHandle.standardError.write(Data("fuzz-stream-scan: \(set.rules.count) rules from \(directory)\n".utf8))
            return set
        } catch {
            fatalError("fuzz-stream-scan: cannot load \(directory): \(error)")
        }
    }
    fatalError("fuzz-stream-scan: no lexicon directory (set MENSHEN_LEXICONS); tried \(candidates)")
}()

func fail(_ message: String, _ text: [UInt8], _ direction: Direction) -> Never {
    fatalError("fuzz-stream-scan: \(direction): \(message) for text \(String(decoding: text.prefix(512), as: UTF8.self).debugDescription)")
}

func ids(_ matches: [Match]) -> String {
    matches.map { "\(lexicons.rules[$0.rule].id)@\($0.range)" }.joined(separator: ", ")
}

/// Feeds the pieces; checks the settled offset on the way (property 3); returns sorted matches.
func stream(_ pieces: [ArraySlice<UInt8>], text: [UInt8], direction: Direction) -> [Match] {
    var scanner = StreamScanner(lexicons: lexicons, direction: direction)
    var matches: [Match] = []
    var settled = 0
    for piece in pieces {
        let progress = Array(piece).withUnsafeBytes { scanner.feed($0) }
        for m in progress.matches where m.range.lowerBound < settled {
            fail("match \(ids([m])) starts before the settled offset \(settled)", text, direction)
        }
        guard progress.settled >= settled, progress.settled <= scanner.offset else {
            fail("settled went from \(settled) to \(progress.settled) (offset \(scanner.offset))", text, direction)
        }
        settled = progress.settled
        matches += progress.matches
    }
    let end = scanner.finish()
    for m in end.matches where m.range.lowerBound < settled {
        fail("match \(ids([m])) at finish starts before the settled offset \(settled)", text, direction)
    }
    guard end.settled == text.count else { fail("finish settled \(end.settled) of \(text.count) bytes", text, direction) }
    matches += end.matches
    for m in matches where m.range.isEmpty || m.range.lowerBound < 0 || m.range.upperBound > text.count {
        fail("match \(ids([m])) outside the \(text.count)-byte text", text, direction)
    }
    return matches.sorted()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamScan(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 2 else { return 0 }
    let direction: Direction = input[0] & 1 == 0 ? .input : .output
    let compareBytewise = input[0] & 2 != 0
    let n = Int(input[1] & 31)
    let header = min(input.count, 2 + 2 * n)
    let text = Array(input[header...])
    var cuts: [Int] = []
    var k = 2
    while k + 1 < header {
        cuts.append((Int(input[k]) | Int(input[k + 1]) << 8) % (text.count + 1))
        k += 2
    }
    cuts.sort()
    var pieces: [ArraySlice<UInt8>] = []
    var at = 0
    for cut in cuts {
        pieces.append(text[at..<cut])
        at = cut
    }
    pieces.append(text[at...])

    // 2. and 3.
    let whole = stream([text[...]], text: text, direction: direction)
    let split = stream(pieces, text: text, direction: direction)
    guard split == whole else {
        fail("split at \(cuts) finds [\(ids(split))], whole [\(ids(whole))]", text, direction)
    }
    if compareBytewise {
        let bytewise = stream(text.indices.map { text[$0..<($0 + 1)] }, text: text, direction: direction)
        guard bytewise == whole else { fail("1-byte feed finds [\(ids(bytewise))], whole [\(ids(whole))]", text, direction) }
    }

    // 4. Whole-text screening.
    let scanned = lexicons.scan(text, direction: direction)
    if scanned != whole {
        let missing = lexicons.rulesMissedByPrefilters(text, direction: direction)
        fail("whole-text scan finds [\(ids(scanned))], the stream [\(ids(whole))]; rules matching without their anchors: \(missing)", text, direction)
    }
    if let string = String(validating: text, as: UTF8.self) {
        let policy = ActionPolicy()
        let result = lexicons.screen(string, direction: direction)
        guard result.matches == whole else { fail("screen finds [\(ids(result.matches))], the stream [\(ids(whole))]", text, direction) }
        let decision = policy.decision(for: whole, lexicons: lexicons, direction: direction)
        guard result.decision == decision else { fail("screen decides \(result.decision), the stream's matches \(decision)", text, direction) }
        let masks = policy.matches(whole, withAction: .mask, lexicons: lexicons, direction: direction)
        if masks.isEmpty {
            guard result.maskedText == string else { fail("text changed without a mask match", text, direction) }
        } else {
            let masked = Array(result.maskedText.utf8)
            guard String(validating: masked, as: UTF8.self) != nil else { fail("masked text is not valid UTF-8", text, direction) }
        }
    }
    return 0
}
