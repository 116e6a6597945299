import Crypto
import Foundation
@testable import Labeling
import Testing

/// `00` + a 20-character subject code + a 5-character service code.
let producer = "00" + "91110000MA01ABCDE1X2" + "SVC01"
var key: SymmetricKey { SymmetricKey(data: [UInt8](repeating: 0x42, count: 32)) }

func makeLabeler(_ change: (inout LabelConfiguration) -> Void = { _ in }) throws(LabelError) -> Labeler {
    var configuration = LabelConfiguration(contentProducer: producer)
    change(&configuration)
    return try Labeler(configuration: configuration, key: key)
}

struct ExplicitLabelTests {
    /// (text, nil if valid, else a fragment the error must contain)
    static let cases: [(String, String?)] = [
        ("本回答由人工智能生成", nil),
        ("本内容由AI合成", nil),
        ("AI生成", nil),
        ("由人工智能生成合成，仅供参考", nil),
        ("本回答由ai生成", "must contain 人工智能 or AI"),          // "AI" is case-sensitive
        ("本回答由ＡＩ生成", "must contain 人工智能 or AI"),         // full-width is not ASCII AI
        ("本回答由人工智能提供", "must contain 生成 or 合成"),
        ("仅供参考", "must contain 人工智能 or AI and 生成 or 合成"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("AI生成\n", "control character"),
        (String(repeating: "人工智能生成", count: 34), "longer than 200"),
    ]

    @Test(arguments: cases)
    func validation(text: String, problem: String?) {
        do {
            let label = try ExplicitLabel(text: text)
            #expect(problem == nil, "'\(text)' was accepted")
            #expect(label.text == text)
        } catch {
            #expect(problem != nil, "'\(text)' was rejected: \(error)")
            if let problem { #expect(error.description.contains(problem), "\(error)") }
            #expect(error.kind == "explicit_text")
            #expect(error.description.hasPrefix("labels.explicit_text"))
        }
    }

    @Test func placement() throws {
        let end = try ExplicitLabel(text: "本回答由人工智能生成")
        #expect(end.position == .end)
        #expect(end.apply(to: "您好。") == "您好。\n\n本回答由人工智能生成")
        #expect(end.leading + "您好。" + end.trailing == end.apply(to: "您好。"))
        let start = try ExplicitLabel(text: "AI生成", position: .start)
        #expect(start.apply(to: "您好。") == "AI生成\n\n您好。")
        #expect(start.trailing.isEmpty)
    }
}

struct ImplicitLabelTests {
    @Test func shapeKeyOrderAndCharacters() throws {
        let labeler = try makeLabeler()
        let label = labeler.implicitLabel(for: "答案")
        let json = label.jsonString
        // Exactly Appendix E's keys, in its order, compact.
        let keys = ["Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"]
        var expected = "{\"AIGC\":{"
        expected += keys.map { name in "\"\(name)\":\"\(label.fields.first { $0.name == name }!.value)\"" }.joined(separator: ",")
        expected += "}}"
        #expect(json == expected)
        #expect(json.hasPrefix("{\"AIGC\":{\"Label\":\"1\",\"ContentProducer\":\"\(producer)\",\"ProduceID\":\""))
        #expect(!json.contains(" "))
        // Every value: printable ASCII without space, quote or backslash.
        for field in label.fields {
            #expect(!field.value.isEmpty, "\(field.name) is empty")
            #expect(field.value.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != 0x22 && $0 != 0x5C }, "\(field.name): \(field.value)")
        }
        #expect(label.contentPropagator == producer)           // defaults to the producer
        #expect(label.propagateID == label.produceID)          // defaults to the ProduceID
        #expect(label.reservedCode1.count == 64)
        #expect(label.reservedCode2.hasPrefix("k1.") && label.reservedCode2.count == 67)
        // It parses back, as JSON and via Codable.
        #expect(try AIGCLabel(jsonString: json) == label)
        #expect(try AIGCLabel(jsonString: label.fieldsJSONString) == label)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: String]]
        #expect(object?["AIGC"]?["ProduceID"] == label.produceID)
        let decoded = try JSONDecoder().decode(AIGCLabel.self, from: JSONEncoder().encode(label))
        #expect(decoded == label)
    }

    @Test func configuredPropagator() throws {
        let other = "00" + "91310000MA02ZYXWV9Q8" + "CDN02"
        let labeler = try makeLabeler { $0.contentPropagator = other; $0.propagateID = "bank-app-7"; $0.keyID = "2025-09" }
        let label = labeler.implicitLabel(for: "x")
        #expect(label.contentPropagator == other)
        #expect(label.propagateID == "bank-app-7")
        #expect(label.reservedCode2.hasPrefix("2025-09."))
        #expect(labeler.verify(text: "x", label: label) == .intact)
    }

    @Test func produceIDsAreUniqueAndTimeOrdered() {
        let ids = (0..<2000).map { _ in ProduceID.make() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(50) {
            #expect(id.count == 32 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }, "\(id)")
            #expect(Array(id)[12] == "7")                        // UUIDv7
            #expect("89ab".contains(Array(id)[16]), "\(id)")      // RFC 9562 variant
        }
        // One millisecond, many answers: the ids still differ, and not only in their last digits.
        let sameTime = Date(timeIntervalSince1970: 1_756_684_800)
        let burst = (0..<1000).map { _ in ProduceID.make(now: sameTime) }
        #expect(Set(burst).count == burst.count)
        #expect(Set(burst.map { $0.dropFirst(13).prefix(3) }).count > 500)   // rand_a: ~885 of 4,096 expected
        let earlier = ProduceID.make(now: Date(timeIntervalSince1970: 1_756_684_800))
        let later = ProduceID.make(now: Date(timeIntervalSince1970: 1_756_684_800.002))
        #expect(earlier < later)
    }

    @Test func streamedDigestMatchesTheWholeText() throws {
        let labeler = try makeLabeler()
        let pieces = ["理财", "有风险，", "投资需", "谨慎。"]
        var digest = DeliveredTextDigest()
        digest.append(labeler.explicit.leading)
        for piece in pieces { digest.append(piece) }
        digest.append(labeler.explicit.trailing)
        let streamed = try labeler.implicitLabel(digest: digest, produceID: "p1")
        let whole = try labeler.implicitLabel(for: labeler.explicit.apply(to: pieces.joined()), produceID: "p1")
        #expect(streamed == whole)
        #expect(labeler.verify(text: labeler.explicit.apply(to: pieces.joined()), label: streamed) == .intact)
        var two = DeliveredTextDigest()
        two.append("甲"); two.appendChoiceSeparator(); two.append("乙")
        let label = try labeler.implicitLabel(digest: two)
        #expect(labeler.verify(text: LabeledAnswer.coveredText(ofChoices: ["甲", "乙"]), label: label) == .intact)
    }

    @Test func givenProduceIDIsChecked() throws {
        let labeler = try makeLabeler()
        #expect(try labeler.implicitLabel(for: "x", produceID: "evt-123").produceID == "evt-123")
        #expect(throws: LabelError.self) { try labeler.implicitLabel(for: "x", produceID: "evt 123") }
        #expect(throws: LabelError.self) { try labeler.implicitLabel(for: "x", produceID: "") }
    }

    /// (value, nil if valid, else a fragment of the error)
    static let valueCases: [(String, String?)] = [
        ("abcXYZ-_.:/~!0189", nil),
        ("", nil),
        ("a b", "a space"),
        ("a\"b", "'\"'"),
        ("a\\b", "'\\'"),
        ("中文", "U+4E2D"),
        ("tab\there", "U+9"),
        ("del\u{7F}", "U+7F"),
        (String(repeating: "x", count: 257), "longer than 256"),
    ]

    @Test(arguments: valueCases)
    func valueCharacterSet(value: String, problem: String?) {
        do {
            try LabelValue.check(value, field: "ProduceID")
            #expect(problem == nil, "'\(value)' was accepted")
        } catch {
            #expect(problem != nil, "'\(value)' was rejected: \(error)")
            if let problem { #expect(error.description.contains(problem), "\(error)") }
            #expect(error.description.hasPrefix("ProduceID '"))
        }
    }

    /// (producer code, nil if valid, else a fragment of the error)
    static let producerCases: [(String, String?)] = [
        (producer, nil),
        ("00" + "91110000ma01abcde1x2" + "svc01", nil),                 // lower case is ASCII alphanumeric too
        ("00" + "91110000MA01ABCDE1X2" + "SVC0", "must be 27 characters"),
        ("00" + "91110000MA01ABCDE1X2" + "SVC012", "must be 27 characters"),
        ("01" + "91110000MA01ABCDE1X2" + "SVC01", "must start with 00"),
        ("00" + "91110000MA01ABCDE-X2" + "SVC01", "subject code"),
        ("00" + "91110000MA01ABCDE1X2" + "SVC_1", "service code"),
        ("00" + "91110000MA01ABCDE1X" + "中" , "must be 27 characters"),
        ("", "must be 27 characters"),
    ]

    @Test(arguments: producerCases)
    func producerCodeShape(code: String, problem: String?) {
        do {
            _ = try makeLabeler { $0.contentProducer = code }
            #expect(problem == nil, "'\(code)' was accepted")
        } catch {
            #expect(problem != nil, "'\(code)' was rejected: \(error)")
            if let problem { #expect(error.description.contains(problem), "\(error)") }
            #expect(error.description.hasPrefix("labels.content_producer"))
        }
    }

    @Test func configurationErrorsNameTheKey() {
        let cases: [((inout LabelConfiguration) -> Void, String)] = [
            ({ $0.contentPropagator = "My Bank" }, "labels.content_propagator"),
            ({ $0.contentPropagator = "" }, "labels.content_propagator"),
            ({ $0.propagateID = "a\"b" }, "labels.propagate_id"),
            ({ $0.keyID = "k.1" }, "labels.key_id"),
            ({ $0.keyID = "" }, "labels.key_id"),
            ({ $0.explicitText = "仅供参考" }, "labels.explicit_text"),
        ]
        for (change, key) in cases {
            do { _ = try makeLabeler(change); Issue.record("accepted, expected an error naming \(key)") } catch {
                #expect(error.description.hasPrefix(key), "\(error)")
            }
        }
    }
}

struct VerificationTests {
    static let answer = "理财有风险，投资需谨慎。\n\n本回答由人工智能生成"

    @Test func intact() throws {
        let labeler = try makeLabeler()
        let label = labeler.implicitLabel(for: Self.answer)
        #expect(labeler.verify(text: Self.answer, label: label) == .intact)
        #expect(LabelVerifier(key: key).verify(text: Self.answer, label: label) == .intact)
    }

    @Test func alteredText() throws {
        let labeler = try makeLabeler()
        let label = labeler.implicitLabel(for: Self.answer)
        #expect(labeler.verify(text: Self.answer.replacingOccurrences(of: "有风险", with: "稳赚"), label: label) == .textAltered)
        #expect(labeler.verify(text: "理财有风险，投资需谨慎。", label: label) == .textAltered)    // explicit label cut off
        #expect(labeler.verify(text: Self.answer + " ", label: label) == .textAltered)
        // A genuine label from another answer, attached to this one.
        let other = labeler.implicitLabel(for: "另一个回答")
        #expect(labeler.verify(text: Self.answer, label: other) == .textAltered)
    }

    /// Every field edit is a label edit, told apart from a text edit by ReservedCode2.
    @Test(arguments: AIGCLabel.CodingKeys.allCases.filter { $0 != .reservedCode1 && $0 != .reservedCode2 })
    func alteredLabelField(field: AIGCLabel.CodingKeys) throws {
        let labeler = try makeLabeler()
        var label = labeler.implicitLabel(for: Self.answer)
        switch field {
        case .label: label.label = "2"
        case .contentProducer: label.contentProducer = "00" + "91110000MA01ABCDE1X2" + "SVC02"
        case .produceID: label.produceID = labeler.implicitLabel(for: Self.answer).produceID     // swapped ProduceID
        case .contentPropagator: label.contentPropagator = "someone-else"
        case .propagateID: label.propagateID = "p-1"
        default: Issue.record("unexpected field")
        }
        guard case .labelAltered(let reason) = labeler.verify(text: Self.answer, label: label) else {
            Issue.record("editing \(field.rawValue) was not reported as a label edit")
            return
        }
        #expect(reason.contains("ReservedCode2"))
    }

    @Test func swappedReservedCode1IsALabelEdit() throws {
        let labeler = try makeLabeler()
        var label = labeler.implicitLabel(for: Self.answer)
        label.reservedCode1 = labeler.implicitLabel(for: "别的").reservedCode1
        #expect(labeler.verify(text: Self.answer, label: label) != .intact)
        if case .labelAltered = labeler.verify(text: Self.answer, label: label) {} else { Issue.record("not a label edit") }
    }

    @Test func malformedAndUnknownKey() throws {
        let labeler = try makeLabeler()
        let good = labeler.implicitLabel(for: Self.answer)
        var spaced = good; spaced.propagateID = "a b"
        var shortMAC = good; shortMAC.reservedCode1 = "abc"
        var noKeyID = good; noKeyID.reservedCode2 = String(good.reservedCode2.dropFirst(3))
        for label in [spaced, shortMAC, noKeyID] {
            guard case .malformed = labeler.verify(text: Self.answer, label: label) else {
                Issue.record("\(label.jsonString) not reported malformed"); continue
            }
        }
        var otherID = good; otherID.reservedCode2 = "k9." + good.reservedCode2.dropFirst(3)
        #expect(labeler.verify(text: Self.answer, label: otherID) == .unknownKey("k9"))
        // With a key that fits any id, a changed id is a changed label.
        if case .labelAltered = LabelVerifier(key: key).verify(text: Self.answer, label: otherID) {} else { Issue.record("id edit not caught") }
        // Another key: the label does not authenticate.
        let otherKey = SymmetricKey(data: [UInt8](repeating: 0x43, count: 32))
        if case .labelAltered = LabelVerifier(key: otherKey).verify(text: Self.answer, label: good) {} else { Issue.record("wrong key not caught") }
    }

    @Test func parsingRejectsWrongShapes() {
        let cases = [
            "not json", "[]", "{\"AIGC\":\"x\"}", "{\"AIGC\":{\"Label\":\"1\"}}",
            "{\"AIGC\":{\"Label\":1,\"ContentProducer\":\"a\",\"ProduceID\":\"a\",\"ReservedCode1\":\"a\",\"ContentPropagator\":\"a\",\"PropagateID\":\"a\",\"ReservedCode2\":\"a\"}}",
            "{\"AIGC\":{\"Label\":\"1\",\"ContentProducer\":\"a\",\"ProduceID\":\"a\",\"ReservedCode1\":\"a\",\"ContentPropagator\":\"a\",\"PropagateID\":\"a\",\"ReservedCode2\":\"a\",\"Extra\":\"x\"}}",
        ]
        for text in cases {
            #expect(throws: LabelError.self, "\(text)") { try AIGCLabel(jsonString: text) }
        }
    }
}

struct KeyAndAnswerTests {
    func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("menshen-key-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func keyLoading() throws {
        let good = try temporaryFile(Array("0123456789abcdef0123456789abcdef\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: good) }
        #expect(try LabelKey.load(file: good).bitCount == 256)          // the newline is not key material
        let short = try temporaryFile(Array("0123456789abcdef0123456789abcde\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: short) }
        let tooShort = #expect(throws: LabelError.self) { try LabelKey.load(file: short) }
        #expect(tooShort?.description.contains("31 bytes; at least 32") == true)
        let missing = #expect(throws: LabelError.self) { try LabelKey.load(file: "/nonexistent/label.key") }
        #expect(missing?.description.contains("no such file") == true)
        let unset = #expect(throws: LabelError.self) { try LabelKey.load(environmentVariable: "MENSHEN_LABEL_KEY", environment: [:]) }
        #expect(unset?.description == "label key ($MENSHEN_LABEL_KEY): the variable is not set")
        let fromEnvironment = try LabelKey.load(environmentVariable: "K", environment: ["K": String(repeating: "z", count: 40)])
        #expect(fromEnvironment.bitCount == 320)
        #expect(throws: LabelError.self) { try Labeler(configuration: LabelConfiguration(contentProducer: producer), key: SymmetricKey(size: .bits128)) }
    }

    @Test func answerFromChatCompletionBody() throws {
        let labeler = try makeLabeler()
        let content = "您好\n\n本回答由人工智能生成"
        let label = labeler.implicitLabel(for: content)
        let body = """
        {"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"您好\\n\\n本回答由人工智能生成"},"finish_reason":"stop"}],"AIGC":\(label.fieldsJSONString)}
        """
        let answer = try LabeledAnswer.parse(body: Data(body.utf8))
        #expect(answer.text == content)
        #expect(answer.label == label)
        #expect(labeler.verify(text: answer.text, label: answer.label) == .intact)
    }

    @Test func answerWithSeveralChoices() throws {
        let labeler = try makeLabeler()
        let label = labeler.implicitLabel(for: LabeledAnswer.coveredText(ofChoices: ["甲", "乙"]))
        let body = """
        {"choices":[{"index":1,"message":{"content":"乙"}},{"index":0,"message":{"content":"甲"}}],"AIGC":\(label.fieldsJSONString)}
        """
        let answer = try LabeledAnswer.parse(body: Data(body.utf8))
        #expect(answer.text == "甲\u{1E}乙")
        #expect(labeler.verify(text: answer.text, label: answer.label) == .intact)
    }

    @Test func answerFromStream() throws {
        let labeler = try makeLabeler()
        let label = labeler.implicitLabel(for: "你好，世界\n\n本回答由人工智能生成")
        let stream = """
        data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"你好"}}]}

        : keep-alive

        data: {"id":"c1","choices":[{"index":0,"delta":{"content":"，世界"}}]}

        data: {"id":"c1","choices":[{"index":0,"delta":{"content":"\\n\\n本回答由人工智能生成"},"finish_reason":"stop"}],"AIGC":\(label.fieldsJSONString)}

        data: [DONE]

        """
        let answer = try LabeledAnswer.parse(body: Data(stream.utf8))
        #expect(answer.text == "你好，世界\n\n本回答由人工智能生成")
        #expect(labeler.verify(text: answer.text, label: answer.label) == .intact)
    }

    @Test func bodyWithoutLabel() {
        let error = #expect(throws: LabelError.self) { try LabeledAnswer.parse(body: Data("{\"choices\":[]}".utf8)) }
        #expect(error?.kind == "not_an_answer")
    }
}
