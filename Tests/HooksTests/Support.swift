import AsyncHTTPClient
import Foundation
@testable import Hooks
import Hummingbird
import Logging
import MetricsTestKit
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Screening
import Testing
import TestSupport

/// What a fake classifier answers to one request.
enum FakeReply: Sendable {
    /// A body with a status (JSON content type).
    case json(String, status: Int = 200)
    /// Waits, then answers `body` (for timeouts). Bounded by the wait itself.
    case slow(milliseconds: Int, body: String)
}

/// An in-process classifier on 127.0.0.1 (a Hummingbird app on port 0): real HTTP, real
/// JSON. Records every request; answers from a script that may inspect the request.
final class FakeClassifier: Sendable {
    struct Received: Sendable {
        let path: String
        let headers: [String: String]
        let body: Data
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        /// The text a hook sent, whatever its kind.
        var text: String {
            let j = json
            if let t = j["text"] as? String { return t }
            if let t = j["input"] as? String { return t }
            if let m = j["messages"] as? [[String: Any]], let t = m.last?["content"] as? String { return t }
            return j["prompt"] as? String ?? ""
        }
    }

    typealias Script = @Sendable (Received) async -> FakeReply

    private let state: NIOLockedValueBox<(script: Script, received: [Received])>
    private let server = LoopbackServer()

    init(_ script: @escaping Script) {
        state = NIOLockedValueBox((script, []))
    }

    /// Starts a fake that answers every request with `script`.
    static func start(_ script: @escaping Script) async throws -> FakeClassifier {
        let fake = FakeClassifier(script)
        try await fake.start()
        return fake
    }

    /// A fake that always answers the same.
    static func start(always reply: FakeReply) async throws -> FakeClassifier {
        try await start { _ in reply }
    }

    var port: Int { server.port }
    var url: String { "http://127.0.0.1:\(port)/classify" }
    var received: [Received] { state.withLockedValue { $0.received } }
    var callCount: Int { state.withLockedValue { $0.received.count } }
    func script(_ s: @escaping Script) { state.withLockedValue { $0.script = s } }

    private func start() async throws {
        let router = Router()
        router.post("/**") { [state] request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 4 << 20).readableBytesView)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let received = Received(path: request.uri.path, headers: headers, body: body)
            let script = state.withLockedValue { s -> Script in
                s.received.append(received)
                return s.script
            }
            switch await script(received) {
            case .json(let text, let status):
                return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: text)))
            case .slow(let ms, let text):
                try? await Task.sleep(for: .milliseconds(ms))
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        await server.start(router: router, label: "fake-classifier")
    }

    func stop() { server.stop() }
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed): connections are refused.
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 1
    try await channel.close()
    return port
}

/// A clock the test moves by hand (circuit breakers, cache TTL).
final class ManualClock: Sendable {
    private let offset = NIOLockedValueBox<Duration>(.zero)
    private let base = ContinuousClock.now
    var now: @Sendable () -> ContinuousClock.Instant { { [base, offset] in base + offset.withLockedValue { $0 } } }
    func advance(by d: Duration) { offset.withLockedValue { $0 += d } }
}

/// A one-shot flag another task can wait for, with a bound (never used as a sleep).
final class Gate: Sendable {
    private let signal = LexiconSignal()
    func open() { signal.fulfill(.clean) }
    /// `true` once opened; `false` if `timeout` passes first.
    func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.signal.value != nil }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

/// A runner over a YAML `hooks:` document, with its own client.
struct RunnerFixture {
    let runner: HookRunner
    let client: HTTPClient
    let clock: ManualClock
    let metrics: TestMetrics

    init(_ yaml: String, environment: [String: String] = [:], files: [String: String] = [:]) throws {
        let settings = try HookSettings.parse(yaml: yaml, source: "test.yaml")
        clock = ManualClock()
        metrics = TestMetrics()
        client = HookRunner.makeHTTPClient(for: settings)
        do {
            runner = try HookRunner(settings: settings, httpClient: client, environment: environment,
                                    readFile: { files[$0] }, now: clock.now, metrics: metrics,
                                    logger: Logger(label: "hooks-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        } catch {
            try? client.syncShutdown()
            throw error
        }
    }

    func evaluate(_ text: String, direction: Direction = .input, role: String? = nil,
                  lexicon: LexiconSummary = .clean) async -> HookOutcome {
        await runner.evaluate(HookInput(text: text, direction: direction, role: role, requestID: "req-1"), lexicon: lexicon)
    }

    func shutdown() async { try? await client.shutdown() }
}

/// A webhook answer.
func webhookAnswer(score: Double, categories: [String: Double] = [:], action: String? = nil) -> String {
    var o: [String: Any] = ["score": score, "categories": categories]
    if let action { o["action"] = action }
    return String(decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
}

/// A chat completion whose message content is `content`.
func chatAnswer(_ content: String) -> String {
    let o: [String: Any] = ["id": "chatcmpl-1", "object": "chat.completion", "model": "guard",
                            "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
}
