import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
@testable import Proxy
@testable import Screening
import Testing
import TestSupport

/// A lexicon directory laid out like a Kubernetes ConfigMap volume (`..data` → a timestamped
/// directory, visible names are symlinks into it) plus a plain file edited editor-style.
struct LexiconFixture {
    let root: String
    private var generation = 0

    init() throws {
        root = NSTemporaryDirectory() + "menshen-reload-" + UUID().uuidString
        let fm = FileManager.default
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        // The shipped lexicons, so real traffic is screened as usual.
        for sub in ["finance", "pii", "secrets", "context"] {
            try fm.copyItem(atPath: repositoryRoot + "/Lexicons/" + sub, toPath: root + "/" + sub)
        }
    }

    /// Editor-style save of `editor.txt`: write a temp file, rename it over the old one.
    func saveEditorFile(_ text: String) throws {
        let temp = root + "/.editor.txt.swp"
        try text.write(toFile: temp, atomically: false, encoding: .utf8)
        guard rename(temp, root + "/editor.txt") == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    /// ConfigMap-style update of `cm.txt`: a new data directory, then an atomic swap of `..data`.
    mutating func swapConfigMap(_ text: String) throws {
        generation += 1
        let fm = FileManager.default
        let dataDir = "..gen_\(generation)"
        try fm.createDirectory(atPath: root + "/" + dataDir, withIntermediateDirectories: true)
        try text.write(toFile: root + "/" + dataDir + "/cm.txt", atomically: false, encoding: .utf8)
        try? fm.removeItem(atPath: root + "/..data_tmp")
        try fm.createSymbolicLink(atPath: root + "/..data_tmp", withDestinationPath: dataDir)
        guard rename(root + "/..data_tmp", root + "/..data") == 0 else { throw CocoaError(.fileWriteUnknown) }
        if (try? fm.destinationOfSymbolicLink(atPath: root + "/cm.txt")) == nil {
            try fm.createSymbolicLink(atPath: root + "/cm.txt", withDestinationPath: "..data/cm.txt")
        }
        if generation > 2 { try? fm.removeItem(atPath: root + "/..gen_\(generation - 2)") }
    }

    /// The version the directory's current files would load as, or nil when they are invalid.
    var currentVersion: String? {
        (try? LexiconSet.load(directory: root))?.version
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

func editorLexicon(_ terms: [String]) -> String {
    "@id: reload.editor\n@category: reload-test\n@action: block\n@direction: output\n" + terms.joined(separator: "\n") + "\n"
}

func configMapLexicon(_ n: Int) -> String {
    "@id: reload.cm\n@category: reload-test\n@action: flag\n@direction: input\n配置版本\(n)号\n"
}

@Suite(.serialized) struct HotReloadTests {

    @Test func rewritesUnderLoadNeverFailARequest() async throws {
        var fixture = try LexiconFixture()
        defer { fixture.remove() }
        try fixture.saveEditorFile(editorLexicon(["旋转门"]))
        try fixture.swapConfigMap(configMapLexicon(0))
        let h = try await SidecarHarness.start { c in
            c.lexicons = fixture.root
            c.reload.watch = true
            c.reload.debounce = .milliseconds(20)
            c.reload.pollInterval = .milliseconds(500)
        }
        defer { Task { await h.stop() } }

        // Which versions are valid, and whether each blocks the test term.
        let versions = NIOLockedValueBox<[String: Bool]>([fixture.currentVersion!: true])
        // The upstream streams an answer containing the term slowly, so reloads land mid-stream.
        h.upstream.script(.stream(pieces(sseAnswer(["开始", "旋", "转", "门", "结束"]), size: 40), gapMs: 3))
        let done = NIOLockedValueBox(false)
        let failures = NIOLockedValueBox<[String]>([])
        let responses = NIOLockedValueBox(0)
        let observed = NIOLockedValueBox<[(version: String, blocked: Bool?)]>([])
        let writerFixture = fixture

        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<3 {
                group.addTask {
                    var i = 0
                    while !done.withLockedValue({ $0 }) && i < 2000 {
                        i += 1
                        let stream = (i + client) % 2 == 0
                        let reply = try await h.post("/v1/chat/completions", json: chatRequest("配置版本3号 hi", stream: stream))
                        responses.withLockedValue { $0 += 1 }
                        let version = reply.header("x-menshen-lexicon-version") ?? "none"
                        guard reply.status == 200 else { failures.withLockedValue { $0.append("status \(reply.status)") }; continue }
                        // Checked after the run: the writer records each version once its write is done,
                        // and Menshen may serve a version before the writer has recorded it.
                        observed.withLockedValue { $0.append((version, stream ? reply.finishReasons == ["content_filter"] : nil)) }
                    }
                }
            }
            group.addTask {
                defer { done.withLockedValue { $0 = true } }
                var fixture = writerFixture
                for n in 1...210 {
                    switch n % 5 {
                    case 0:     // an invalid version: the last good one must keep serving
                        try fixture.saveEditorFile("@id: reload.editor\n@category: reload-test\n@action: explode\n旋转门\n")
                    case 1, 3:  // editor-style renames, alternating whether the term is listed
                        try fixture.saveEditorFile(editorLexicon(n % 4 == 1 ? ["旋转门", "词\(n)"] : ["别的词\(n)"]))
                    default:    // ConfigMap-style symlink swaps
                        try fixture.swapConfigMap(configMapLexicon(n))
                    }
                    if n % 5 != 0, let v = LexiconSet.contentVersion(directory: fixture.root) {
                        let listsTerm = (try? String(contentsOfFile: fixture.root + "/editor.txt", encoding: .utf8))?.contains("旋转门") ?? false
                        versions.withLockedValue { $0[v] = listsTerm }
                    }
                    try await Task.sleep(for: .milliseconds(12))
                }
                // End on a known valid version.
                try fixture.saveEditorFile(editorLexicon(["最终版本"]))
                let last = fixture.currentVersion!
                versions.withLockedValue { $0[last] = false }
            }
            try await group.waitForAll()
        }
        let known = versions.withLockedValue { $0 }
        for (version, blocked) in observed.withLockedValue({ $0 }) {
            guard let blocks = known[version] else { failures.withLockedValue { $0.append("unknown version \(version)") }; continue }
            // A stream used one snapshot from start to end: blocked iff that version lists the term.
            if let blocked, blocked != blocks { failures.withLockedValue { $0.append("stream under \(version): blocked=\(blocked), expected \(blocks)") } }
        }
        #expect(failures.withLockedValue { $0 }.isEmpty, "\(failures.withLockedValue { Array($0.prefix(10)) })")
        #expect(responses.withLockedValue { $0 } > 10, "requests kept flowing during the rewrites")

        // After the last valid write, that version serves within 2 seconds (40 × 50 ms).
        let last = fixture.currentVersion!
        var served = ""
        for _ in 0..<40 {
            served = try await h.get("/readyz").json?["lexicon_version"] as? String ?? ""
            if served == last { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(served == last)

        // An invalid write: the previous version keeps serving and the admin endpoint names the line.
        try fixture.saveEditorFile("@id: reload.editor\n@category: reload-test\n@action: block\n旋转门\n@severity: high\n")
        var errors: [String] = []
        for _ in 0..<40 {
            errors = try await h.admin("/admin/lexicons").json?["errors"] as? [String] ?? []
            if !errors.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(errors.contains { $0.hasSuffix("/editor.txt:5: header line after the first term (move it above the terms, or escape a literal @ as \\@)") }, "\(errors)")
        #expect(try await h.get("/readyz").json?["lexicon_version"] as? String == last)
        let blocked = try await h.post("/v1/screen", json: ["text": "最终版本", "direction": "output"])
        #expect(blocked.json?["decision"] as? String == "block", "the last good lexicons still apply")
    }

    @Test func adminReloadFunnelAndOutcomes() async throws {
        var fixture = try LexiconFixture()
        defer { fixture.remove() }
        try fixture.saveEditorFile(editorLexicon(["甲"]))
        try fixture.swapConfigMap(configMapLexicon(0))
        let h = try await SidecarHarness.start { $0.lexicons = fixture.root }
        defer { Task { await h.stop() } }
        let before = try await h.get("/readyz").json?["lexicon_version"] as? String

        var r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "unchanged")

        try fixture.saveEditorFile(editorLexicon(["甲", "乙"]))
        r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "applied")
        let after = r.json?["version"] as? String
        #expect(after != before)
        #expect(after == fixture.currentVersion)
        #expect(try await h.post("/v1/screen", json: ["text": "乙", "direction": "output"]).json?["decision"] as? String == "block")

        try fixture.saveEditorFile("@id: broken\n")
        r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.status == 422)
        #expect(r.json?["outcome"] as? String == "rejected")
        #expect((r.json?["errors"] as? [String])?.contains { $0.contains("editor.txt:1: missing header @category") } == true)
        #expect(try await h.get("/readyz").json?["lexicon_version"] as? String == after)

        let metrics = try await h.admin("/metrics").text
        #expect(metrics.contains(#"menshen_reloads_total{outcome="rejected"} 1"#))
        #expect(metrics.contains(#"menshen_reloads_total{outcome="applied"} 1"#))
        #expect(metrics.contains("menshen_lexicon_info{version=\"\(after ?? "")\"} 1"))
    }

    @Test func policyChangesAReloadCannotApplyAreNamed() async throws {
        let policy = NSTemporaryDirectory() + "menshen-policy-" + UUID().uuidString + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let original = "screening:\n  output_refusal: \"first refusal\"\nlimits:\n  max_request_bytes: 1048576\n"
        try original.write(toFile: policy, atomically: true, encoding: .utf8)
        let h = try await SidecarHarness.start { $0.policyFile = policy }
        defer { Task { await h.stop() } }
        // A screening change applies; a limits change is named as needing a restart.
        try original.replacingOccurrences(of: "first refusal", with: "second refusal")
            .replacingOccurrences(of: "1048576", with: "2048").write(toFile: policy, atomically: true, encoding: .utf8)
        var r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "applied")
        #expect(r.json?["restart_required"] as? [String] == ["limits"])
        #expect(try await h.admin("/admin/lexicons").json?["restart_required"] as? [String] == ["limits"])
        // Back to the start's limits: nothing waits for a restart any more.
        try original.replacingOccurrences(of: "first refusal", with: "third refusal").write(toFile: policy, atomically: true, encoding: .utf8)
        r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "applied")
        #expect(r.json?["restart_required"] as? [String] == [])
    }

    @Test func hooksChangeWithAReload() async throws {
        let classifier = FakeUpstream()
        try await classifier.start()
        defer { classifier.stop() }
        classifier.script(.classifier(unsafe: "越狱"))
        let policy = NSTemporaryDirectory() + "menshen-policy-" + UUID().uuidString + ".yaml"
        defer { try? FileManager.default.removeItem(atPath: policy) }
        let noHooks = "screening:\n  output_refusal: \"refused\"\n"
        let withHook = noHooks + """
        hooks:
          - name: scorer
            kind: webhook
            url: \(classifier.url)/classify
            on_failure: allow
            timeout: 2s
            directions: [input]
            threshold: 0.5
            action: block
            cache: off

        """
        try noHooks.write(toFile: policy, atomically: true, encoding: .utf8)
        let h = try await SidecarHarness.start { $0.policyFile = policy }
        defer { Task { await h.stop() } }
        h.upstream.script(.json(chatAnswer("好的")))
        #expect(try await h.post("/v1/chat/completions", json: chatRequest("一段越狱话术")).status == 200, "no hooks yet")

        // Adding a hook applies at the reload: no restart.
        try withHook.write(toFile: policy, atomically: true, encoding: .utf8)
        var r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "applied")
        #expect(r.json?["restart_required"] as? [String] == [])
        #expect(try await h.post("/v1/chat/completions", json: chatRequest("一段越狱话术")).status == 400, "the new hook blocks")
        #expect(!classifier.received.isEmpty)

        // A hook whose secret is missing is rejected with its key; the running hook stays.
        try (withHook.replacingOccurrences(of: "    cache: off\n", with: "    cache: off\n    headers:\n      Authorization: {env: MENSHEN_TEST_UNSET_\(UUID().uuidString.prefix(8)), prefix: \"Bearer \"}\n"))
            .write(toFile: policy, atomically: true, encoding: .utf8)
        r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "rejected")
        #expect((r.json?["errors"] as? [String])?.contains { $0.contains("hooks[0].headers.Authorization") } == true, "\(r.json ?? [:])")
        #expect(try await h.post("/v1/chat/completions", json: chatRequest("一段越狱话术")).status == 400, "the last good hooks keep serving")

        // Removing it applies too.
        try noHooks.write(toFile: policy, atomically: true, encoding: .utf8)
        r = try await h.admin("/admin/reload", method: .POST)
        #expect(r.json?["outcome"] as? String == "applied")
        h.upstream.script(.json(chatAnswer("好的")))
        #expect(try await h.post("/v1/chat/completions", json: chatRequest("一段越狱话术")).status == 200, "the hook is gone")
    }

    @Test func adminBeyondLoopbackNeedsAToken() async throws {
        let tokenFile = NSTemporaryDirectory() + "menshen-token-" + UUID().uuidString
        try "s3cret-token-value".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        var c = SidecarConfiguration()
        c.upstream = "http://127.0.0.1:1"
        c.admin.listen = .init(host: "0.0.0.0", port: 0)
        #expect(c.validate().contains { $0.hasPrefix("admin.token_file: required") })
        let h = try await SidecarHarness.start { $0.admin.tokenFile = tokenFile }
        defer { Task { await h.stop() } }
        #expect(try await h.admin("/admin/lexicons").status == 401)
        #expect(try await h.admin("/admin/lexicons", token: "wrong").status == 401)
        #expect(try await h.admin("/admin/lexicons", token: "s3cret-token-value").status == 200)
    }
}
