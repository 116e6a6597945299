import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import Proxy
import ServiceLifecycle
import Testing
import TestSupport


/// What the fake upstream does for one request.
enum UpstreamScript: Sendable {
    /// A JSON body with a status (and extra response headers).
    case json(String, status: Int = 200, headers: [(String, String)] = [])
    /// SSE bytes written in these pieces (split anywhere), each after a pause of `gapMs`.
    case stream([[UInt8]], gapMs: Int = 0)
    /// Streams `pieces`, then closes the connection without finishing the response.
    case dieAfter([[UInt8]])
    /// Waits before answering (for timeouts).
    case slow(milliseconds: Int)
    /// Streams forever (one event per 20 ms) until the client goes away; records cancellation.
    case endless
    /// Answers with what it was asked (the last user message), as JSON or streamed in pieces
    /// of `pieceSize` bytes — so tests see what a model would repeat back.
    case echo(stream: Bool, pieceSize: Int)
    /// A webhook classifier: score 0.9 when the text contains `unsafe`, else 0.1.
    case classifier(unsafe: String)
    /// Streams `events` clean events of about `bytes` each as fast as the connection takes them,
    /// counting how many were written (`floodWritten`).
    case flood(events: Int, bytes: Int)
    /// Answers with this JSON at once, before reading the request body (as nginx's `return`
    /// does); the body is recorded as empty.
    case early(String)
    /// A body with a Content-Encoding header (the body itself is whatever the test gives).
    case encoded(String, encoding: String)
    /// Declares a Content-Length, sends only `text`, then closes the connection.
    case truncated(String, declaredLength: Int)
}

/// An in-process model server on 127.0.0.1 that records every request it receives and
/// answers from a script.
final class FakeUpstream: Sendable {
    struct Received: Sendable {
        let method: String
        let path: String
        let headers: [(String, String)]
        let body: Data
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    private let state = NIOLockedValueBox<(script: UpstreamScript, received: [Received], cancelled: Int)>((.json("{}"), [], 0))
    private let flooded = NIOLockedValueBox(0)
    /// Events a `.flood` script has handed to the connection so far.
    var floodWritten: Int { flooded.withLockedValue { $0 } }
    private let server = LoopbackServer()
    var port: Int { server.port }

    var received: [Received] { state.withLockedValue { $0.received } }
    /// How many endless streams noticed that their client (Menshen) went away.
    var cancelledStreams: Int { state.withLockedValue { $0.cancelled } }
    func script(_ s: UpstreamScript) { state.withLockedValue { $0.script = s } }

    func start() async throws {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { [state, flooded] request, _ in
            if case .early(let text) = state.withLockedValue({ $0.script }) {
                state.withLockedValue { $0.received.append(Received(method: request.method.rawValue, path: request.uri.path, headers: [], body: Data())) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            let body = Data(try await request.body.collect(upTo: 64 << 20).readableBytesView)
            let script = state.withLockedValue { s -> UpstreamScript in
                s.received.append(Received(method: request.method.rawValue, path: request.uri.path,
                                           headers: request.headers.map { ($0.name.canonicalName, $0.value) }, body: body))
                return s.script
            }
            switch script {
            case .early(let text):
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            case .json(let text, let status, let extra):
                var headers: HTTPFields = [.contentType: "application/json"]
                for (name, value) in extra { if let n = HTTPField.Name(name) { headers[n] = value } }
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
            case .slow(let ms):
                try await Task.sleep(for: .milliseconds(ms))
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
            case .stream(let pieces, let gap):
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    for p in pieces {
                        try await writer.write(ByteBuffer(bytes: p))
                        if gap > 0 { try await Task.sleep(for: .milliseconds(gap)) }
                    }
                    try await writer.finish(nil)
                })
            case .encoded(let text, let encoding):
                return Response(status: .ok, headers: [.contentType: "application/json", .contentEncoding: encoding],
                                body: .init(byteBuffer: ByteBuffer(string: text)))
            case .truncated(let text, let declared):
                return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "\(declared)"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: text))
                    throw CancellationError()          // Hummingbird closes the connection mid-body
                })
            case .dieAfter(let pieces):
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    for p in pieces { try await writer.write(ByteBuffer(bytes: p)) }
                    throw CancellationError()          // Hummingbird closes the connection mid-body
                })
            case .flood(let events, let bytes):
                let event = sseChunk(content: String(repeating: "好", count: max(1, bytes / 3)))
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    for _ in 0..<events {
                        try await writer.write(ByteBuffer(bytes: event))
                        flooded.withLockedValue { $0 += 1 }
                    }
                    try await writer.write(ByteBuffer(bytes: sseChunk(content: "", finish: "stop") + Array("data: [DONE]\n\n".utf8)))
                    try await writer.finish(nil)
                })
            case .classifier(let unsafe):
                let text = String(decoding: body, as: UTF8.self)
                let score = text.contains(unsafe) ? 0.9 : 0.1
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"score": \#(score)}"#)))
            case .echo(let stream, let size):
                let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
                let messages = object["messages"] as? [[String: Any]] ?? []
                let prompt = messages.last { $0["role"] as? String == "user" }?["content"] as? String ?? ""
                let answer = "收到：" + prompt
                if !stream {
                    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: chatAnswer(answer))))
                }
                let wire = sseAnswer(answer.map(String.init))
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    for p in pieces(wire, size: size) { try await writer.write(ByteBuffer(bytes: p)) }
                    try await writer.finish(nil)
                })
            case .endless:
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { [state] writer in
                    do {
                        for i in 0..<1500 {        // bounded: 30 s at most
                            try await writer.write(ByteBuffer(bytes: sseChunk(content: "tick \(i) ")))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        try await writer.finish(nil)
                    } catch {
                        state.withLockedValue { $0.cancelled += 1 }
                        throw error
                    }
                })
            }
        }
        router.on("/**", method: .post, use: handler)
        router.on("/**", method: .get, use: handler)
        await server.start(router: router, label: "fake-upstream")
    }

    func stop() { server.stop() }
    var url: String { "http://127.0.0.1:\(port)" }
}

/// One SSE event with a chat chunk whose delta content is `content`.
func sseChunk(content: String, finish: String? = nil, index: Int = 0) -> [UInt8] {
    var choice: [String: Any] = ["index": index, "delta": ["content": content], "finish_reason": finish ?? NSNull()]
    if content.isEmpty { choice["delta"] = [String: Any]() }
    let object: [String: Any] = ["id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "test-model", "choices": [choice]]
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return Array("data: ".utf8) + Array(data) + Array("\n\n".utf8)
}

/// SSE bytes of a whole streamed answer: a delta per element, a stop, `[DONE]`.
func sseAnswer(_ deltas: [String]) -> [UInt8] {
    deltas.flatMap { sseChunk(content: $0) } + sseChunk(content: "", finish: "stop") + Array("data: [DONE]\n\n".utf8)
}

/// Cuts bytes into pieces of `size`.
func pieces(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}

/// Menshen in-process, in front of a fake upstream.
final class SidecarHarness: Sendable {
    let upstream: FakeUpstream
    let port: Int
    let adminPort: Int
    private let group: ServiceGroup
    let client: HTTPClient

    static func start(configure: (inout SidecarConfiguration) -> Void = { _ in }) async throws -> SidecarHarness {
        let upstream = FakeUpstream()
        try await upstream.start()
        var config = SidecarConfiguration()
        config.listen = .init(host: "127.0.0.1", port: 0)
        config.upstream = upstream.url
        config.lexicons = repositoryRoot + "/Lexicons"
        config.admin.listen = .init(host: "127.0.0.1", port: 0)
        config.reload.watch = false
        // Scenario tests look at content byte for byte; label tests turn labels on themselves.
        config.labels.enabled = false
        config.audit.log.directory = NSTemporaryDirectory() + "menshen-audit-" + UUID().uuidString
        configure(&config)
        let sidecar = try Sidecar(configuration: config, logger: Logger(label: "menshen-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let (stream, continuation) = AsyncStream<(String, Int)>.makeStream()
        // Stopped gracefully (see FakeUpstream.start): Sidecar.run drains when its outer group does.
        let group = ServiceGroup(services: [ClosureService {
            try await sidecar.run(gracefulShutdownSignals: [], onListening: { continuation.yield(("proxy", $0)) },
                                  onAdminListening: { continuation.yield(("admin", $0)) })
        }], gracefulShutdownSignals: [], logger: Logger(label: "menshen-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        Task { try await group.run() }
        var ports: [String: Int] = [:]
        for await (name, p) in stream {
            ports[name] = p
            if ports.count == 2 { break }
        }
        return SidecarHarness(upstream: upstream, port: ports["proxy"]!, adminPort: ports["admin"]!, group: group)
    }

    private init(upstream: FakeUpstream, port: Int, adminPort: Int, group: ServiceGroup) {
        self.upstream = upstream
        self.port = port
        self.adminPort = adminPort
        self.group = group
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    }

    func stop() async {
        try? await client.shutdown()
        await group.triggerGracefulShutdown()
        upstream.stop()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    struct Reply {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        /// The `data:` payloads of an SSE body.
        var events: [String] { text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { $0.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined(separator: "\n") } }
        /// The streamed content, joined.
        var streamedContent: String {
            events.compactMap { e -> String? in
                guard let o = (try? JSONSerialization.jsonObject(with: Data(e.utf8))) as? [String: Any],
                      let choices = o["choices"] as? [[String: Any]] else { return nil }
                return choices.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }.joined()
            }.joined()
        }
        var finishReasons: [String] {
            events.compactMap { e -> [String]? in
                guard let o = (try? JSONSerialization.jsonObject(with: Data(e.utf8))) as? [String: Any],
                      let choices = o["choices"] as? [[String: Any]] else { return nil }
                return choices.compactMap { $0["finish_reason"] as? String }
            }.flatMap { $0 }
        }
    }

    func post(_ path: String, _ body: [UInt8], headers: [(String, String)] = [("content-type", "application/json")]) async throws -> Reply {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request)
    }

    func post(_ path: String, json: [String: Any]) async throws -> Reply {
        try await post(path, Array(try JSONSerialization.data(withJSONObject: json)))
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: url + path)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        return try await send(request)
    }

    var adminURL: String { "http://127.0.0.1:\(adminPort)" }

    /// An admin call; `intent` adds the header a state-changing call needs without a token.
    func admin(_ path: String, method: HTTPMethod = .GET, token: String? = nil, intent: Bool = true,
               headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: adminURL + path)
        request.method = method
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if intent { request.headers.add(name: "x-menshen-admin", value: "1") }
        for (k, v) in headers { request.headers.replaceOrAdd(name: k, value: v) }
        return try await send(request)
    }

    func send(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(body.readableBytesView))
    }
}

func chatRequest(_ content: String, stream: Bool = false, role: String = "user") -> [String: Any] {
    ["model": "test-model", "stream": stream, "messages": [["role": role, "content": content]]]
}

func chatAnswer(_ content: String) -> String {
    let object: [String: Any] = ["id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
                                 "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
                                 "usage": ["prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

/// A service that runs a closure (the sidecar inside a test's service group).
struct ClosureService: Service {
    let body: @Sendable () async throws -> Void
    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }
    func run() async throws { try await body() }
}
