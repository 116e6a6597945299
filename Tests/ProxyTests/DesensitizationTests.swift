import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
@testable import Proxy
@testable import Screening
import Testing

/// Hybrid IDC + cloud: what leaves the data centre, and what comes back.
@Suite(.serialized) struct DesensitizationTests {
    /// Sensitive values (valid checksums where a validator applies).
    static let values = ["13812345678", "11010519491231002X", "4111111111111111", "zhang.san@example.com"]
    static let prompts = [
        "我的手机是 13812345678，请回电",
        "身份证 11010519491231002X 办理开户",
        "卡号 4111111111111111 的余额是多少？联系 13812345678",
        "请把对账单发到 zhang.san@example.com，谢谢",
        "手机 138 1234 5678 和 13812345678 是同一个号码吗",
    ]

    /// Menshen with one external upstream only (a cloud model).
    static func externalOnly(_ configure: (inout SidecarConfiguration) -> Void = { _ in }) async throws -> SidecarHarness {
        try await SidecarHarness.start { c in
            c.upstreams = [UpstreamConfiguration(name: "cloud", url: c.upstream!, trust: .external)]
            configure(&c)
        }
    }

    func assertNothingLeaked(_ upstream: FakeUpstream, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for received in upstream.received {
            let text = String(decoding: received.body, as: UTF8.self)
            for value in Self.values + ["1381234", "12345678"] {
                #expect(!text.contains(value), "external upstream received \(value): \(text)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func externalUpstreamSeesPlaceholdersAndTheClientGetsValuesBack() async throws {
        let h = try await Self.externalOnly()
        defer { Task { await h.stop() } }
        h.upstream.script(.echo(stream: false, pieceSize: 0))
        for prompt in Self.prompts {
            let reply = try await h.post("/v1/chat/completions", json: chatRequest(prompt))
            let content = ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            // One value, one placeholder: both spellings of the same phone come back as the first one.
            let expected = prompt == Self.prompts[4] ? "收到：手机 138 1234 5678 和 138 1234 5678 是同一个号码吗" : "收到：" + prompt
            #expect(content == expected, "values restored for the analyst")
            #expect(reply.header("x-menshen-upstream") == "cloud")
        }
        assertNothingLeaked(h.upstream)
        let sent = h.upstream.received.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(sent[0].contains("[PHONE_1]"))
        #expect(sent[2].contains("[CARD_1]") && sent[2].contains("[PHONE_1]"))
        // The same value gets the same placeholder within a request, whatever its spacing.
        #expect(sent[4].components(separatedBy: "[PHONE_1]").count == 3, "\(sent[4])")
    }

    @Test func clientCredentialsNeverTravelToAnExternalUpstream() async throws {
        let clientHeaders = [("content-type", "application/json"), ("authorization", "Bearer sk-idc-client-key"),
                             ("api-key", "azure-style-key"), ("x-api-key", "anthropic-style-key"), ("cookie", "session=abc")]
        let body = Array(try JSONSerialization.data(withJSONObject: chatRequest("你好")))
        func credentials(_ r: FakeUpstream.Received?) -> [String] {
            (r?.headers ?? []).filter { SidecarResponder.credentialHeaders.contains($0.0) }.map { "\($0.0): \($0.1)" }
        }
        // External, no key of its own: the client's credentials are dropped.
        let bare = try await Self.externalOnly()
        bare.upstream.script(.json(chatAnswer("好")))
        #expect(try await bare.post("/v1/chat/completions", body, headers: clientHeaders).status == 200)
        #expect(credentials(bare.upstream.received.last) == [])
        await bare.stop()
        // External with api_key_env: its own key replaces the client's (screened and pass-through routes).
        var configuration = SidecarConfiguration()
        configuration.upstreams = [UpstreamConfiguration(name: "cloud", url: "http://127.0.0.1:1", trust: .external)]
        configuration.upstreams[0].apiKeyEnv = "MENSHEN_TEST_CLOUD_KEY"
        #expect(throws: ConfigurationError.self) { try configuration.apply(environment: [:]) }
        try configuration.apply(environment: ["MENSHEN_TEST_CLOUD_KEY": "sk-cloud-key\n"])
        let resolved = configuration.upstreams[0]
        #expect(resolved.apiKey == "sk-cloud-key")
        let keyed = try await Self.externalOnly { c in c.upstreams[0].apiKeyEnv = resolved.apiKeyEnv; c.upstreams[0].apiKey = resolved.apiKey }
        keyed.upstream.script(.json(chatAnswer("好")))
        #expect(try await keyed.post("/v1/chat/completions", body, headers: clientHeaders).status == 200)
        #expect(credentials(keyed.upstream.received.last) == ["authorization: Bearer sk-cloud-key"])
        keyed.upstream.script(.json(#"{"object":"list","data":[]}"#))
        let embedding = Array(#"{"model":"m","input":"你好"}"#.utf8)
        #expect(try await keyed.post("/v1/embeddings", embedding, headers: clientHeaders).status == 200)
        #expect(credentials(keyed.upstream.received.last) == ["authorization: Bearer sk-cloud-key"])
        keyed.upstream.script(.json(#"{"object":"list","data":[]}"#))
        #expect(try await keyed.get("/v1/models", headers: clientHeaders).status == 200)
        #expect(credentials(keyed.upstream.received.last) == ["authorization: Bearer sk-cloud-key"])
        await keyed.stop()
        // Internal, no key: the client's credentials go to the model server as they came.
        let idc = try await SidecarHarness.start()
        defer { Task { await idc.stop() } }
        idc.upstream.script(.json(chatAnswer("好")))
        #expect(try await idc.post("/v1/chat/completions", body, headers: clientHeaders).status == 200)
        #expect(Set(credentials(idc.upstream.received.last)) == ["authorization: Bearer sk-idc-client-key", "api-key: azure-style-key",
                                                                "x-api-key: anthropic-style-key", "cookie: session=abc"])
    }

    @Test("streamed restoration with placeholders split at every position", arguments: [1, 2, 3, 5, 8, 13, 4096])
    func streamedRestoration(pieceSize: Int) async throws {
        let h = try await Self.externalOnly()
        defer { Task { await h.stop() } }
        h.upstream.script(.echo(stream: true, pieceSize: pieceSize))
        let prompt = Self.prompts[2]
        let reply = try await h.post("/v1/chat/completions", json: chatRequest(prompt, stream: true))
        #expect(reply.streamedContent == "收到：" + prompt)
        #expect(reply.finishReasons == ["stop"])
        assertNothingLeaked(h.upstream)
    }

    @Test func reformattedPlaceholdersAreRestoredAndInventedOnesAreNot() {
        let map = PseudonymMap()
        #expect(map.placeholder(for: "13812345678", type: "PHONE") == "[PHONE_1]")
        #expect(map.placeholder(for: "138 1234 5678", type: "PHONE") == "[PHONE_1]")
        #expect(map.placeholder(for: "11010519491231002X", type: "CN_ID") == "[CN_ID_1]")
        let r = PlaceholderRestorer(map: map)
        #expect(r.restore("call [phone_1] now") == "call 13812345678 now")
        #expect(r.restore("电话［ＰＨＯＮＥ＿１］") == "电话13812345678")
        #expect(r.restore("[ PHONE _1 ] / [CN_ID_1]") == "13812345678 / 11010519491231002X")
        #expect(r.restore("[PHONE_7] and [link](x)") == "[PHONE_7] and [link](x)", "a placeholder the map did not mint stays")
        // Split anywhere in a stream.
        let whole = "号码是[PHONE_1]，证件[CN_ID_1]。"
        for cut in 0...whole.count {
            var s = PlaceholderRestorer(map: map)
            let out = s.feed(String(whole.prefix(cut))) + s.feed(String(whole.dropFirst(cut))) + s.finish()
            #expect(out == "号码是13812345678，证件11010519491231002X。", "cut at \(cut)")
        }
    }

    @Test func c3DataNeverLeaves() async throws {
        let h = try await Self.externalOnly()
        defer { Task { await h.stop() } }
        h.upstream.script(.echo(stream: false, pieceSize: 0))
        let reply = try await h.post("/v1/chat/completions", json: chatRequest("卡片 CVV 123，密码：Abc12345，帮我查余额"))
        #expect(reply.status == 400)
        #expect((reply.json?["error"] as? [String: Any])?["reason"] as? String == "sensitive_data_external")
        #expect(h.upstream.received.isEmpty)
        // With `remove`, the request goes without the values.
        let removing = try await Self.externalOnly { $0.desensitization.c3External = .remove }
        defer { Task { await removing.stop() } }
        removing.upstream.script(.echo(stream: false, pieceSize: 0))
        let ok = try await removing.post("/v1/chat/completions", json: chatRequest("卡片 CVV 123，帮我查余额"))
        #expect(ok.status == 200)
        let sent = String(decoding: removing.upstream.received.first?.body ?? Data(), as: UTF8.self)
        #expect(!sent.contains("123"), "\(sent)")
        #expect(sent.contains("[REMOVED]"))
    }

    @Test func overflowToTheCloudUnderConcurrencyIsMasked() async throws {
        let cloud = FakeUpstream()
        try await cloud.start()
        defer { cloud.stop() }
        cloud.script(.echo(stream: false, pieceSize: 0))
        let h = try await SidecarHarness.start { c in
            var idc = UpstreamConfiguration(name: "idc", url: c.upstream!, trust: .internal)
            idc.maxInFlight = 1
            idc.queueWait = .milliseconds(20)
            c.upstreams = [idc, UpstreamConfiguration(name: "cloud", url: cloud.url, trust: .external)]
        }
        defer { Task { await h.stop() } }
        // Hold the IDC model at its limit with an endless stream.
        h.upstream.script(.endless)
        var hold = HTTPClientRequest(url: h.url + "/v1/chat/completions")
        hold.method = .POST
        hold.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: chatRequest("hi", stream: true))))
        let held = try await h.client.execute(hold, timeout: .seconds(10))
        var iterator = held.body.makeAsyncIterator()
        _ = try await iterator.next()        // the IDC slot is taken for as long as we hold this
        let reply = try await h.post("/v1/chat/completions", json: chatRequest(Self.prompts[0]))
        #expect(reply.header("x-menshen-upstream") == "cloud")
        let content = ((reply.json?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        #expect(content == "收到：" + Self.prompts[0])
        #expect(cloud.received.count == 1)
        assertNothingLeaked(cloud)
        _ = consume iterator
    }

    @Test func unhealthyPrimaryOverflowsMasked() async throws {
        let cloud = FakeUpstream()
        try await cloud.start()
        defer { cloud.stop() }
        cloud.script(.echo(stream: false, pieceSize: 0))
        let h = try await SidecarHarness.start { c in
            c.upstreams = [UpstreamConfiguration(name: "idc", url: "http://127.0.0.1:9", trust: .internal),
                           UpstreamConfiguration(name: "cloud", url: cloud.url, trust: .external)]
            c.timeouts.connect = .milliseconds(300)
        }
        defer { Task { await h.stop() } }
        for prompt in Self.prompts.prefix(4) {
            let reply = try await h.post("/v1/chat/completions", json: chatRequest(prompt))
            #expect(reply.status == 200)
            #expect(reply.header("x-menshen-upstream") == "cloud")
        }
        assertNothingLeaked(cloud)
        let metrics = try await h.admin("/metrics").text
        #expect(metrics.contains(#"menshen_upstream_requests_total{upstream="cloud",trust="external"} 4"#))
        #expect(metrics.contains(#"menshen_desensitized_values_total{upstream="cloud",type="PHONE"}"#))
    }
}
