import AsyncHTTPClient
import Audit
import Foundation
import NIOCore
@testable import Proxy
import Testing
import TestSupport

/// The boundary's cases that need a Menshen of their own: external upstreams, the audit log,
/// request ids, the admin listener, limits (docs/hostile-catalogue.md, classes E, L, I, M, Z).
@Suite(.serialized) struct BoundaryTests {
    static let phone = HostileCatalogueTests.phone

    /// Every line of every audit file in `directory`.
    static func auditLines(_ directory: String) throws -> [String] {
        try AuditVerifier.files(inDirectory: directory).flatMap { try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init) }
    }

    // MARK: E: external upstreams

    @Test func anExternalUpstreamNeverGetsAnUnscreenedBody() async throws {
        let h = try await DesensitizationTests.externalOnly { c in c.screening.passthroughPaths += ["/upload"] }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(#"{"object":"list","data":[]}"#))
        // E01: a pass-through body to an allowed path.
        let upload = try await h.post("/upload", Array(#"{"text":"电话\#(Self.phone)"}"#.utf8))
        #expect(upload.status == 403)
        #expect((upload.json?["error"] as? [String: Any])?["code"] as? String == "external_passthrough_refused")
        // E02: a pass-through query.
        #expect(try await h.get("/v1/models?q=\(Self.phone)").status == 403)
        // E03: a pass-through POST to a metadata path.
        #expect(try await h.post("/api/show", Array(#"{"name":"\#(Self.phone)"}"#.utf8)).status == 403)
        #expect(h.upstream.received.isEmpty, "nothing unscreened left the data centre")
        // E04: a plain GET of the model list still passes.
        #expect(try await h.get("/v1/models").status == 200)
        // E05: embeddings to an external upstream are screened and desensitized.
        h.upstream.script(.json(#"{"object":"list","data":[]}"#))
        #expect(try await h.post("/v1/embeddings", Array(#"{"model":"e","input":"电话\#(Self.phone)"}"#.utf8)).status == 200)
        for r in h.upstream.received { #expect(!String(decoding: r.body, as: UTF8.self).contains(Self.phone)) }
        // E06: a request header carrying personal data does not leave with a screened request.
        h.upstream.script(.json(chatAnswer("好")))
        let headed = try await h.post("/v1/chat/completions", Array(HostileCatalogueTests.clean.utf8),
                                      headers: [("content-type", "application/json"), ("x-note", "客户电话\(Self.phone)"), ("x-trace", "abc")])
        #expect(headed.status == 200)
        let sent = try #require(h.upstream.received.last)
        #expect(!sent.headers.contains { $0.1.contains(Self.phone) }, "the header with the phone number stayed home")
        #expect(sent.headers.contains { $0.0 == "x-trace" && $0.1 == "abc" }, "clean headers still go")
    }

    // MARK: L: the audit log

    @Test func aStreamBlockedWithUnsettledPersonalDataLeavesNoRawDataInTheLog() async throws {
        let auditDir = NSTemporaryDirectory() + "menshen-audit-" + UUID().uuidString
        let h = try await SidecarHarness.start { $0.audit.log.directory = auditDir }
        defer { Task { await h.stop() } }
        // L01: the promise blocks while the phone number at the end is still unsettled (a longer
        // digit run could follow), so the number's own match has not fired yet.
        h.upstream.script(HostileCatalogueTests.stream([HostileCatalogueTests.delta(#"{"content":"这款产品稳赚不赔，客户电话\#(Self.phone)"}"#)]))
        let reply = try await h.post("/v1/chat/completions", Array(HostileCatalogueTests.cleanStream.utf8))
        #expect(reply.finishReasons.contains("content_filter"))
        let lines = try Self.auditLines(auditDir)
        #expect(lines.contains { $0.contains("\"block\"") }, "the block is on disk")
        #expect(!lines.joined().contains(Self.phone), "no raw phone number in the audit log")
        #expect(!lines.joined().contains("稳赚不赔"), "no blocked text in the audit log")
        // L02: a blocked prompt with personal data beside an overlapping term.
        #expect(AuditRecorder.maskingUnion(Array("ab13812345678cd".utf8), [2..<8, 4..<13]) == Array("ab***********cd".utf8))
    }

    // MARK: I: request ids

    @Test func clientRequestIDsArePlainOrReplaced() async throws {
        let auditDir = NSTemporaryDirectory() + "menshen-audit-" + UUID().uuidString
        let h = try await SidecarHarness.start { $0.audit.log.directory = auditDir }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer("好的")))
        let prompt = Array(HostileCatalogueTests.phonePrompt.utf8)
        // I01: a plain id is kept (clients correlate with it).
        let plain = try await h.post("/v1/chat/completions", prompt, headers: [("content-type", "application/json"), ("x-request-id", "req-42_a.b:c")])
        #expect(plain.header("x-request-id") == "req-42_a.b:c")
        // I02–I04: text, raw personal data and an over-long id are replaced by Menshen's own.
        for hostile in ["手机\(Self.phone)", "a\"}{\"forged\":1", String(repeating: "a", count: 129)] {
            let reply = try await h.post("/v1/chat/completions", prompt, headers: [("content-type", "application/json"), ("x-request-id", hostile)])
            #expect(reply.status == 200)
            #expect(reply.header("x-request-id") != hostile)
            #expect(RequestIDs.isPlain(reply.header("x-request-id") ?? ""))
            #expect(h.upstream.received.last?.headers.first { $0.0 == "x-request-id" }?.1 != hostile)
        }
        let log = try Self.auditLines(auditDir).joined()
        #expect(!log.contains(Self.phone) && !log.contains("forged"), "the log holds no client-written id")
    }

    // MARK: M: the admin listener

    @Test func theAdminListenerTrustsOnlyItsOwnHost() async throws {
        let h = try await SidecarHarness.start()
        defer { Task { await h.stop() } }
        // M01: a state-changing call without X-Menshen-Admin (what a web page's form could send).
        #expect(try await h.admin("/admin/reload", method: .POST, intent: false).status == 403)
        // M02: from a web page (Origin), even with the header.
        #expect(try await h.admin("/admin/reload", method: .POST, headers: [("origin", "http://evil.example")]).status == 403)
        // M03: DNS rebinding: a name that resolves here, sent as Host.
        #expect(try await h.admin("/admin/lexicons", headers: [("host", "evil.example")]).status == 403)
        #expect(try await h.admin("/admin/lexicons", headers: [("host", "127.evil.example:9090")]).status == 403)
        // M04: what the operator's own tools send.
        #expect(try await h.admin("/admin/lexicons", headers: [("host", "localhost:9090")]).status == 200)
        #expect(try await h.admin("/admin/lexicons", headers: [("host", "[::1]:9090")]).status == 200)
        #expect(try await h.admin("/admin/reload", method: .POST).status == 200)
        // M05: loopback is parsed, not a prefix.
        #expect(!SidecarConfiguration.HostPort(host: "127.evil.example", port: 9090).isLoopback)
        #expect(SidecarConfiguration.HostPort(host: "127.0.0.2", port: 9090).isLoopback)
        #expect(AdminAccess.isLoopbackHost("127.0.0.1:80") && AdminAccess.isLoopbackHost("localhost"))
        #expect(!AdminAccess.isLoopbackHost("127.0.0.1.evil.example") && !AdminAccess.isLoopbackHost("localhost.evil.example:80"))
        var beyond = SidecarConfiguration()
        beyond.demo = true
        beyond.admin.listen = .init(host: "127.evil.example", port: 9090)
        #expect(beyond.validate().contains { $0.hasPrefix("admin.token_file") }, "a name beyond loopback needs a token")
    }

    // MARK: Z: limits

    @Test func anOversizedAnswerIsNamedAsSuch() async throws {
        let h = try await SidecarHarness.start { $0.limits.maxResponseBytes = 2048 }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer(String(repeating: "好", count: 2000))))
        let reply = try await h.post("/v1/chat/completions", Array(HostileCatalogueTests.clean.utf8))
        #expect(reply.status == 502)
        #expect((reply.json?["error"] as? [String: Any])?["code"] as? String == "upstream_answer_too_large")
    }

    @Test func aStreamedEventIsBoundedNotOnlyItsLines() async throws {
        // Z04: short `data:` lines with no blank line grow one event; past limits.max_event_bytes
        // the stream ends with an error event instead of buffering on.
        let h = try await SidecarHarness.start { $0.limits.maxEventBytes = 4096 }
        defer { Task { await h.stop() } }
        h.upstream.script(HostileCatalogueTests.stream([String(repeating: "data: {\"x\":1}\n", count: 2_000)], raw: true))
        let reply = try await h.post("/v1/chat/completions", Array(HostileCatalogueTests.cleanStream.utf8))
        #expect(reply.status == 200)
        #expect(reply.text.contains("upstream_stream_error"), "\(reply.text.prefix(300))")
    }

    @Test func passThroughBodiesAreBounded() async throws {
        let h = try await SidecarHarness.start { c in
            c.limits.maxRequestBytes = 4096
            c.screening.passthroughPaths += ["/upload"]
        }
        defer { Task { await h.stop() } }
        h.upstream.script(.json("{}"))
        // Z01: declared too large: refused before a byte is read.
        let declared = try await h.post("/upload", [UInt8](repeating: 0x78, count: 10_000))
        #expect(declared.status == 413)
        // Z02: chunked, no length: the upload stops at the limit.
        var request = HTTPClientRequest(url: h.url + "/upload")
        request.method = .POST
        let pieces = (0..<10).map { _ in ByteBuffer(repeating: 0x78, count: 1000) }
        request.body = .stream(pieces.async, length: .unknown)
        let chunked = try await h.send(request)
        #expect(chunked.status == 413)
        #expect(h.upstream.received.allSatisfy { $0.body.count <= 4096 })
        h.upstream.script(.json("{}"))
        #expect(try await h.post("/upload", [UInt8](repeating: 0x78, count: 100)).status == 200, "still serving")
    }
}

extension Array where Element == ByteBuffer {
    /// The buffers as an async sequence (a streamed request body).
    var async: AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for b in self { continuation.yield(b) }
            continuation.finish()
        }
    }
}
