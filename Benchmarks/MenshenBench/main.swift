// menshen-bench: lexicon matching throughput, compile time and memory on the shared benchmark
// data (../shared/bench/make_data.py), so the figures sit next to the anchors' (Hyperscan,
// Rust's aho-corasick …) measured by bench_anchors.py on the same files.
//
// Every measurement first checks its match count: raw mode must find exactly the
// leftmost-longest counts the anchors find; normalized mode must find at least as many; and
// streaming in 64-byte chunks must find exactly what whole-text scanning finds.
//
//   swift build -c release --product menshen-bench
//   .build/release/menshen-bench --data bench-data --sizes 1k,10k,100k --runs 5 --json out.json
import Foundation
import Screening

struct Options {
    var data = "bench-data"
    var sizes = ["1k", "10k", "100k"]
    var runs = 5
    var json: String?
    /// Also measure the normalization steps of issue #16: `all` without markup, digits and
    /// variants (the steps before it), and `all` over the corpus with a tag on every line.
    var stepCosts = false
    /// Leftmost-longest counts of the anchors on the raw data (shared/bench/README.md).
    var expected: [String: Int] = ["1k": 6876, "10k": 8016, "100k": 17456]

    init(_ args: [String]) {
        var i = 1
        func value() -> String { i += 1; guard i < args.count else { fatalError("missing value for \(args[i - 1])") }; return args[i] }
        while i < args.count {
            switch args[i] {
            case "--data": data = value()
            case "--sizes": sizes = value().split(separator: ",").map(String.init)
            case "--runs": runs = Int(value())!
            case "--json": json = value()
            case "--step-costs": stepCosts = true
            case "--expect":
                for pair in value().split(separator: ",") {
                    let kv = pair.split(separator: "=")
                    expected[String(kv[0])] = Int(kv[1])!
                }
            default: fatalError("unknown option \(args[i]) (--data DIR --sizes 1k,10k --runs N --json FILE --expect 1k=N,… --step-costs)")
            }
            i += 1
        }
    }
}

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

/// Builds a term-list file from the benchmark lexicon (one term per line, already normalized).
func lexiconFile(terms: [Substring], normalize: String, wordBoundary: String) -> String {
    var text = "@id: bench\n@category: bench\n@action: flag\n@normalize: \(normalize)\n@word-boundary: \(wordBoundary)\n"
    text.reserveCapacity(terms.reduce(0) { $0 + $1.utf8.count + 2 } + 200)
    for term in terms {
        if let first = term.first, "!@#\\".contains(first) { text += "\\" }
        text += term
        text += "\n"
    }
    return text
}

struct Mode {
    let name: String
    let normalize: String
    let wordBoundary: String
    /// Scans the corpus with markup added (`<br>` before every line break): the markup reading runs.
    var markupCorpus = false
}

let options = Options(CommandLine.arguments)
let corpus = try! Array(Data(contentsOf: URL(fileURLWithPath: options.data + "/corpus.txt")))
/// The corpus with `<br>` before every line break, for the markup step's cost when markup is present.
let markupCorpus: [UInt8] = options.stepCosts ? Array(String(decoding: corpus, as: UTF8.self).replacingOccurrences(of: "\n", with: "<br>\n").utf8) : []
let clock = ContinuousClock()
var results: [[String: Any]] = []
var failures: [String] = []

print("corpus: \(corpus.count) bytes; runs: \(options.runs)")
print(String(repeating: "-", count: 118))
print("size  mode        terms   compile_s  rss_MB  automaton_MB  count_ll   whole_MB/s  (min-max)        stream64_MB/s  stream/whole")

for size in options.sizes {
    let lexiconText = try! String(contentsOfFile: options.data + "/lexicon_\(size).txt", encoding: .utf8)
    let terms = lexiconText.split(separator: "\n").filter { !$0.isEmpty }
    var rawCount: Int?
    var modes = [Mode(name: "raw", normalize: "none", wordBoundary: "off"),
                 Mode(name: "normalized", normalize: "all", wordBoundary: "auto")]
    if options.stepCosts {
        modes += [Mode(name: "normalized-pre16", normalize: "all,-markup,-digits,-variants", wordBoundary: "auto"),
                  Mode(name: "normalized-html", normalize: "all", wordBoundary: "auto", markupCorpus: true)]
    }
    for mode in modes {
        let text = mode.markupCorpus ? markupCorpus : corpus
        let textMB = Double(text.count) / 1e6
        let file = lexiconFile(terms: terms, normalize: mode.normalize, wordBoundary: mode.wordBoundary)
        let rssBefore = residentBytes()
        let compileStart = clock.now
        let lexicons: LexiconSet
        do {
            lexicons = try LexiconSet.compile(files: [("bench.txt", file)])
        } catch {
            fatalError("lexicon \(size) does not compile: \(error.issues.prefix(5))")
        }
        let compileSeconds = seconds(clock.now - compileStart)
        let rssAfter = residentBytes()

        // Whole text, `runs` times; the count must be the same every time.
        var wholeTimes: [Double] = []
        var count = -1
        for _ in 0..<options.runs {
            let start = clock.now
            let matches = lexicons.scan(text, direction: .output)
            let selected = Match.leftmostLongest(matches).count
            wholeTimes.append(seconds(clock.now - start))
            if count >= 0 && selected != count { failures.append("\(size) \(mode.name): count changed between runs") }
            count = selected
        }
        // Streaming in 64-byte chunks.
        var streamTimes: [Double] = []
        for _ in 0..<max(1, options.runs / 2) {
            let start = clock.now
            var scanner = StreamScanner(lexicons: lexicons, direction: .output)
            var matches: [Match] = []
            text.withUnsafeBytes { raw in
                var i = 0
                while i < raw.count {
                    let n = min(64, raw.count - i)
                    matches += scanner.feed(UnsafeRawBufferPointer(rebasing: raw[i..<i + n])).matches
                    i += n
                }
            }
            matches += scanner.finish().matches
            let selected = Match.leftmostLongest(matches).count
            streamTimes.append(seconds(clock.now - start))
            if selected != count { failures.append("\(size) \(mode.name): 64-byte streaming found \(selected), whole text \(count)") }
        }

        if mode.name == "raw" {
            rawCount = count
            if let expected = options.expected[size], expected != count {
                failures.append("\(size) raw: leftmost-longest count \(count), anchors find \(expected)")
            }
        } else if mode.name == "normalized", let rawCount, count < rawCount {
            failures.append("\(size) normalized: \(count) matches, fewer than raw \(rawCount)")
        }
        let whole = textMB / median(wholeTimes)
        let stream = textMB / median(streamTimes)
        let automatonMB = Double(lexicons.stats.automatonBytes) / 1e6
        print(String(format: "%-5@ %-10@ %7d  %9.3f  %6.1f  %12.1f  %8d  %10.1f  (%.1f-%.1f)  %13.1f  %12.2f",
                     size as NSString, mode.name as NSString, terms.count, compileSeconds, Double(rssAfter - rssBefore) / 1e6,
                     automatonMB, count, whole, textMB / wholeTimes.max()!, textMB / wholeTimes.min()!, stream, stream / whole))
        results.append([
            "size": size, "mode": mode.name, "terms": terms.count, "compile_s": compileSeconds,
            "rss_delta_mb": Double(rssAfter - rssBefore) / 1e6, "rss_mb": Double(rssAfter) / 1e6, "automaton_mb": automatonMB,
            "count_ll": count, "whole_mbps": whole, "whole_mbps_runs": wholeTimes.map { textMB / $0 },
            "stream64_mbps": stream, "stream_ratio": stream / whole,
        ])
    }
}

if let path = options.json {
    let data = try! JSONSerialization.data(withJSONObject: ["corpus_bytes": corpus.count, "results": results, "failures": failures],
                                          options: [.prettyPrinted, .sortedKeys])
    try! data.write(to: URL(fileURLWithPath: path))
}
if !failures.isEmpty {
    for f in failures { print("FAIL: \(f)") }
    exit(1)
}
print("all match counts verified")
