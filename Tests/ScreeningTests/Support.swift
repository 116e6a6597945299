import Foundation
@testable import Screening
import TestSupport

/// How a text is cut into pieces for a stream scanner.
enum Chunking: CustomStringConvertible, Sendable {
    case whole
    case bytes(Int)
    case random(seed: UInt64)

    var description: String {
        switch self {
        case .whole: return "whole"
        case .bytes(let n): return "\(n)-byte"
        case .random(let seed): return "random(\(seed))"
        }
    }

    func split(_ bytes: [UInt8]) -> [[UInt8]] {
        switch self {
        case .whole: return [bytes]
        case .bytes(let n): return stride(from: 0, to: bytes.count, by: n).map { Array(bytes[$0..<min($0 + n, bytes.count)]) }
        case .random(let seed):
            var rng = SplitMix64(state: seed)
            var out: [[UInt8]] = []
            var i = 0
            while i < bytes.count {
                let n = Int.random(in: 0...7, using: &rng)   // empty chunks too
                out.append(Array(bytes[i..<min(i + n, bytes.count)]))
                i += n
            }
            return out
        }
    }

    static let all: [Chunking] = [.whole, .bytes(1), .bytes(2), .bytes(3), .bytes(64)] + (1...5).map { .random(seed: $0) }
}

/// Streams `text` through a scanner in pieces; returns the matches and checks on the way that
/// `settled` never passes the start of a match reported later (the proxy relies on that).
func streamScan(_ lexicons: LexiconSet, _ bytes: [UInt8], direction: Direction, chunking: Chunking) -> (matches: [Match], settledViolations: Int) {
    var scanner = StreamScanner(lexicons: lexicons, direction: direction)
    var matches: [Match] = []
    var settled = 0
    var violations = 0
    for chunk in chunking.split(bytes) {
        let progress = scanner.feed(chunk)
        violations += progress.matches.filter { $0.range.lowerBound < settled }.count
        matches += progress.matches
        if progress.settled < settled { violations += 1 }
        settled = progress.settled
    }
    let end = scanner.finish()
    violations += end.matches.filter { $0.range.lowerBound < settled }.count
    matches += end.matches
    if end.settled != bytes.count { violations += 1 }
    return (matches.sorted(), violations)
}
