import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `menshen serve --demo`: a scripted stand-in for a model server, so Menshen can be tried with
/// nothing else running. It is NOT a model: it picks a canned answer by keywords of the last
/// user message and streams it in vLLM's SSE framing, split at awkward places (inside UTF-8
/// sequences, inside terms, inside SSE lines) to show that screening survives any split.
enum DemoUpstream {
    struct Running {
        let baseURL: String
        let service: any Service
    }

    /// Canned answers: (keywords, answer).
    static let script: [(keywords: [String], answer: String)] = [
        (["理财", "invest", "收益"], "（演示回答）这款理财产品非常稳健，历史业绩优秀，可以说是稳赚不赔，欢迎购买。"),
        (["客服", "电话", "phone", "contact"], "（演示回答）您可以拨打客户经理的手机 13812345678 咨询，工作日 9:00-17:00。"),
        (["密钥", "key", "secret"], "（演示回答）配置示例：aws_access_key_id = AKIAIOSFODNN7EXAMPLE，请妥善保管。"),
    ]
    static let defaultAnswer = "（演示回答）您好！我是演示用的脚本上游，不是真正的模型。Menshen 会在这段回答到达您之前逐段完成检查。"

    static func answer(for body: Data, logger: Logger? = nil) -> String {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        var prompt = object["prompt"] as? String ?? ""
        if let messages = object["messages"] as? [[String: Any]], let last = messages.last(where: { $0["role"] as? String == "user" }) {
            if let s = last["content"] as? String { prompt = s }
            else if let parts = last["content"] as? [[String: Any]] { prompt = parts.compactMap { $0["text"] as? String }.joined(separator: " ") }
        }
        let lower = prompt.lowercased()
        // What this (possibly external) upstream saw: with desensitization on, placeholders only.
        logger?.notice("demo upstream received prompt: \(prompt)")
        if lower.contains("复述") || lower.contains("repeat") { return "（演示回答）您说的是：\(prompt)" }
        return script.first { $0.keywords.contains { lower.contains($0) } }?.answer ?? defaultAnswer
    }

    /// Starts the demo server on a free loopback port.
    static func start(logger: Logger) async throws -> Running {
        let port = try await freePort()
        let router = Router()
        router.get("/v1/models") { _, _ -> Response in
            jsonResponse(["object": "list", "data": [["id": "menshen-demo", "object": "model", "owned_by": "menshen-demo"]]])
        }
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 22).readableBytesView)
            return respond(body: body, chat: true, logger: logger)
        }
        router.post("/v1/completions") { request, _ -> Response in
            let body = Data(try await request.body.collect(upTo: 1 << 22).readableBytesView)
            return respond(body: body, chat: false, logger: logger)
        }
        router.post("/v1/embeddings") { _, _ -> Response in
            jsonResponse(["object": "list", "model": "menshen-demo", "data": [["object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]]]])
        }
        var demoLogger = logger
        demoLogger[metadataKey: "component"] = "demo-upstream"
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
                              logger: demoLogger)
        return Running(baseURL: "http://127.0.0.1:\(port)", service: app)
    }

    static func respond(body: Data, chat: Bool, logger: Logger) -> Response {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        let text = answer(for: body, logger: logger)
        let stream = object["stream"] as? Bool ?? false
        let id = "demo-\(UInt32.random(in: 0...UInt32.max))"
        let created = Int(Date().timeIntervalSince1970)
        guard stream else {
            let choice: [String: Any] = chat
                ? ["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": "stop"]
                : ["index": 0, "text": text, "finish_reason": "stop"]
            return jsonResponse(["id": id, "object": chat ? "chat.completion" : "text_completion", "created": created,
                                 "model": "menshen-demo", "choices": [choice],
                                 "usage": ["prompt_tokens": 10, "completion_tokens": text.count, "total_tokens": 10 + text.count]])
        }
        // Deltas of two or three characters, as a tokenizer would produce.
        var deltas: [String] = []
        var current = ""
        for (i, ch) in text.enumerated() {
            current.append(ch)
            if i % 3 == 2 { deltas.append(current); current = "" }
        }
        if !current.isEmpty { deltas.append(current) }
        var wire: [UInt8] = []
        func event(_ object: [String: Any]) {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data()
            wire += Array("data: ".utf8) + Array(data) + Array("\n\n".utf8)
        }
        let base: [String: Any] = ["id": id, "object": chat ? "chat.completion.chunk" : "text_completion", "created": created, "model": "menshen-demo"]
        func chunk(_ choice: [String: Any]) -> [String: Any] { var c = base; c["choices"] = [choice]; return c }
        if chat { event(chunk(["index": 0, "delta": ["role": "assistant", "content": ""], "finish_reason": NSNull()])) }
        for d in deltas {
            event(chunk(chat ? ["index": 0, "delta": ["content": d], "finish_reason": NSNull()] : ["index": 0, "text": d, "finish_reason": NSNull()]))
        }
        event(chunk(chat ? ["index": 0, "delta": [String: Any](), "finish_reason": "stop"] : ["index": 0, "text": "", "finish_reason": "stop"]))
        wire += Array("data: [DONE]\n\n".utf8)
        // Cut the wire into pieces of 1–23 bytes: splits land inside UTF-8 sequences and SSE lines.
        var pieces: [ByteBuffer] = []
        var i = 0
        var size = 7
        while i < wire.count {
            let n = min(size, wire.count - i)
            pieces.append(ByteBuffer(bytes: wire[i..<i + n]))
            i += n
            size = size % 23 + 5
        }
        let toSend = pieces
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: ResponseBody { writer in
                            for piece in toSend {
                                try await writer.write(piece)
                                try await Task.sleep(for: .milliseconds(15))     // a model's pace, so streaming is visible
                            }
                            try await writer.finish(nil)
                        })
    }

    static func jsonResponse(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    /// Asks the kernel for a free loopback port.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
