// menshen-feature-bench: the costs of hot reload and of desensitization, measured on the
// shared benchmark data and the shipped lexicons. Each figure is checked before it is reported
// (the new lexicon set must differ from the old one; masked text must carry no raw value and
// must restore to the original).
//
//   swift build -c release --product menshen-feature-bench
//   .build/release/menshen-feature-bench --data bench-data --lexicons Lexicons [--runs 5]
//       [--request Benchmarks/proxy/chat-4k.json] [--skip-reload] [--screening-only]
import Foundation
import Screening

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }
func percentile(_ xs: [Double], _ p: Double) -> Double { let s = xs.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }

/// Resident and peak resident memory (VmRSS, VmHWM) in MB.
func memory() -> (rss: Double, peak: Double) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Double {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return 0 }
        return Double(line.split(separator: " ").dropFirst().first { Double($0) != nil }.flatMap { Double($0) } ?? 0) / 1024
    }
    return (field("VmRSS:"), field("VmHWM:"))
}

var args = CommandLine.arguments.dropFirst()
var data = "bench-data", lexiconDir = "Lexicons", runs = 5, request = "Benchmarks/proxy/chat-4k.json", skipReload = false, screeningOnly = false
func usage(_ problem: String?) -> Never {
    if let problem { FileHandle.standardError.write(Data("menshen-feature-bench: \(problem)\n".utf8)) }
    FileHandle.standardError.write(Data("usage: menshen-feature-bench [--data DIR] [--lexicons DIR] [--runs N] [--request FILE] [--skip-reload] [--screening-only]\n".utf8))
    exit(problem == nil ? 0 : 2)
}
@MainActor func value(of option: String) -> String {
    guard let v = args.popFirst() else { usage("\(option) needs a value") }
    return v
}
while let a = args.popFirst() {
    switch a {
    case "--data": data = value(of: a)
    case "--lexicons": lexiconDir = value(of: a)
    case "--runs":
        guard let n = Int(value(of: a)), n > 0 else { usage("--runs needs a positive whole number") }
        runs = n
    case "--request": request = value(of: a)
    case "--skip-reload": skipReload = true
    case "--screening-only": screeningOnly = true; skipReload = true
    case "--help", "-h": usage(nil)
    default: usage("unknown option \(a)")
    }
}
let clock = ContinuousClock()
var failures: [String] = []

// MARK: Reload: compile a new set while the old one still serves, as a hot reload does.
if !skipReload { print("== reload (full normalization; the old set stays alive during the build, as in a swap)") }
if !skipReload { print("size   terms    reload_s  rss_before_MB  peak_during_swap_MB  rss_after_MB") }
for size in skipReload ? [] : ["10k", "100k"] {
    let terms = try! String(contentsOfFile: "\(data)/lexicon_\(size).txt", encoding: .utf8).split(separator: "\n")
    func file(_ extra: String) -> String {
        "@id: bench\n@category: bench\n@action: flag\n" + terms.map { t in "!@#\\".contains(t.first!) ? "\\" + t : String(t) }.joined(separator: "\n") + "\n\(extra)\n"
    }
    let old = try! LexiconSet.compile(files: [("bench.txt", file("旧版本专用词"))])
    let before = memory()
    var times: [Double] = []
    var newer: LexiconSet?
    for i in 0..<max(1, runs / 2) {
        newer = nil
        let start = clock.now
        newer = try! LexiconSet.compile(files: [("bench.txt", file("新版本专用词\(i)"))])
        times.append(seconds(clock.now - start))
    }
    let during = memory()
    if newer!.version == old.version { failures.append("\(size): the new set has the old version") }
    withExtendedLifetime(old) {}
    print(String(format: "%-5@ %7d  %9.3f  %13.1f  %19.1f  %12.1f", size as NSString, terms.count, median(times), before.rss, during.peak, during.rss))
}

let lexicons = try! LexiconSet.load(directory: lexiconDir)

// MARK: Screening a chat request as the proxy does: each message's text on its own.
print("\n== screening the prompts of a chat request (shipped lexicons, input direction)")
let chat = try! JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: request))) as! [String: Any]
let messageTexts = (chat["messages"] as! [[String: Any]]).compactMap { $0["content"] as? String }
var requestTimes: [Double] = []
for _ in 0..<(runs * 400) {
    let start = clock.now
    var found = 0
    for text in messageTexts { found += lexicons.screen(text, direction: .input).matches.count }
    requestTimes.append(seconds(clock.now - start))
    if found != 0 { failures.append("the clean chat request has \(found) matches") }
}
print(String(format: "%@: %d texts, %d bytes: p50 %.1f µs p99 %.1f µs per request",
             (request as NSString).lastPathComponent, messageTexts.count, messageTexts.reduce(0) { $0 + $1.utf8.count },
             median(requestTimes) * 1e6, percentile(requestTimes, 0.99) * 1e6))

if screeningOnly {            // for profiling the prompt's screening alone
    if !failures.isEmpty { failures.forEach { print("FAIL: \($0)") }; exit(1) }
    exit(0)
}

// MARK: Desensitization
print("\n== desensitization (shipped lexicons)")
let values = ["13812345678", "11010519491231002X", "4111111111111111", "zhang.san@example.com", "13987654321"]
var prompt = ""
while prompt.utf8.count < 4096 {
    prompt += "客户来电咨询理财产品与账户问题，请根据记录回复。联系电话 \(values[0])，身份证 \(values[1])，卡号 \(values[2])。"
    prompt += "Please summarise the customer's request and reply by e-mail to \(values[3]) or call \(values[4]). "
}
var screenTimes: [Double] = [], maskTimes: [Double] = [], restoreTimes: [Double] = []
for _ in 0..<(runs * 40) {
    var start = clock.now
    let result = lexicons.screen(prompt, direction: .input)
    screenTimes.append(seconds(clock.now - start))
    let map = PseudonymMap()
    start = clock.now
    let external = Desensitizer.external(prompt, matches: result.matches, lexicons: lexicons, policy: ActionPolicy(), map: map, c3: .block).text
    maskTimes.append(seconds(clock.now - start))
    for v in values where external.contains(v) { failures.append("masked prompt still contains \(v)") }
    start = clock.now
    let restored = PlaceholderRestorer(map: map).restore(external)
    restoreTimes.append(seconds(clock.now - start))
    if restored.replacingOccurrences(of: " ", with: "") != prompt.replacingOccurrences(of: " ", with: "") { failures.append("restore differs") }
}
print(String(format: "4 KB prompt (%d bytes, %d values): screen p50 %.1f µs p99 %.1f µs; pseudonymize p50 %.1f µs p99 %.1f µs; restore p50 %.1f µs p99 %.1f µs",
             prompt.utf8.count, values.count, median(screenTimes) * 1e6, percentile(screenTimes, 0.99) * 1e6, median(maskTimes) * 1e6,
             percentile(maskTimes, 0.99) * 1e6, median(restoreTimes) * 1e6, percentile(restoreTimes, 0.99) * 1e6))

// A streamed answer of 500 deltas carrying placeholders split across deltas.
let map = PseudonymMap()
_ = Desensitizer.external(prompt, matches: lexicons.screen(prompt, direction: .input).matches, lexicons: lexicons, policy: ActionPolicy(), map: map, c3: .block)
var answer = ""
while answer.count < 1500 { answer += "好的，已记录[PHONE_1]与[CN_ID_1]，并发送到[EMAIL_1]。" }
let chars = Array(answer)
let deltas = stride(from: 0, to: chars.count, by: 3).map { String(chars[$0..<min($0 + 3, chars.count)]) }
var streamTimes: [Double] = []
var perDelta: [Double] = []
for _ in 0..<runs * 10 {
    var restorer = PlaceholderRestorer(map: map)
    var out = ""
    let start = clock.now
    for d in deltas {
        let t = clock.now
        out += restorer.feed(d)
        perDelta.append(seconds(clock.now - t))
    }
    out += restorer.finish()
    streamTimes.append(seconds(clock.now - start))
    if out.contains("[PHONE_1]") || !out.contains(values[0]) { failures.append("stream restore failed") }
}
print(String(format: "streamed answer, %d deltas: restore total p50 %.1f µs; per delta p50 %.2f µs p99 %.2f µs",
             deltas.count, median(streamTimes) * 1e6, median(perDelta) * 1e6, percentile(perDelta, 0.99) * 1e6))

if !failures.isEmpty { failures.forEach { print("FAIL: \($0)") }; exit(1) }
print("all checks passed")
