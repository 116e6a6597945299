import Foundation

/// The implicit label of GB 45438-2025 Appendix E: the metadata object
/// `{"AIGC":{"Label":"1","ContentProducer":…,"ProduceID":…,"ReservedCode1":…,
/// "ContentPropagator":…,"PropagateID":…,"ReservedCode2":…}}`.
///
/// `jsonString` writes it compactly, keys in exactly that order. `Codable` reads and writes
/// the inner object (the value of `"AIGC"`), which is what a response body embeds.
/// Parsing checks the shape only; `validate()` checks every value, and `Labeler.verify`
/// does both and the MACs.
public struct AIGCLabel: Codable, Sendable, Equatable {
    /// `"1"`: the content is AI-generated (Appendix E also defines "2" possibly, "3" suspected).
    public var label: String
    /// The generating service: `00` + 20-character subject code + 5-character service code.
    public var contentProducer: String
    /// Unique per answer.
    public var produceID: String
    /// Menshen: lowercase hex HMAC-SHA256 binding `ProduceID` to the delivered text (see `Labeler`).
    public var reservedCode1: String
    /// The service delivering the content (often the producer itself).
    public var contentPropagator: String
    /// The propagator's id for the content (often the `ProduceID`).
    public var propagateID: String
    /// Menshen: `<key id>.<lowercase hex HMAC-SHA256 over the other six fields>` (see `Labeler`).
    public var reservedCode2: String

    public init(label: String = "1", contentProducer: String, produceID: String, reservedCode1: String,
                contentPropagator: String, propagateID: String, reservedCode2: String) {
        self.label = label
        self.contentProducer = contentProducer
        self.produceID = produceID
        self.reservedCode1 = reservedCode1
        self.contentPropagator = contentPropagator
        self.propagateID = propagateID
        self.reservedCode2 = reservedCode2
    }

    /// Appendix E's names, in Appendix E's order.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case label = "Label"
        case contentProducer = "ContentProducer"
        case produceID = "ProduceID"
        case reservedCode1 = "ReservedCode1"
        case contentPropagator = "ContentPropagator"
        case propagateID = "PropagateID"
        case reservedCode2 = "ReservedCode2"
    }

    /// The top-level key of the metadata object.
    public static let key = "AIGC"

    /// The fields as (Appendix E name, value), in Appendix E order.
    public var fields: [(name: String, value: String)] {
        [("Label", label), ("ContentProducer", contentProducer), ("ProduceID", produceID),
         ("ReservedCode1", reservedCode1), ("ContentPropagator", contentPropagator),
         ("PropagateID", propagateID), ("ReservedCode2", reservedCode2)]
    }

    /// The inner object, compact, in Appendix E order: `{"Label":"1",…}`. Values are written
    /// without escaping, which is valid JSON only for values that pass `validate()` — the
    /// ones a `Labeler` makes always do.
    public var fieldsJSONString: String {
        "{" + fields.map { "\"\($0.name)\":\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    /// The whole metadata object, compact: `{"AIGC":{"Label":"1",…}}`.
    public var jsonString: String { "{\"\(Self.key)\":\(fieldsJSONString)}" }

    /// Reads `{"AIGC":{…}}` or the bare inner object. Every Appendix E key must be present
    /// with a string value; other keys are refused, so nothing unsigned rides along.
    public init(jsonString: String) throws(LabelError) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(jsonString.utf8)) } catch {
            throw .malformedLabel("not JSON")
        }
        try self.init(jsonObject: object)
    }

    /// Reads a parsed `{"AIGC":{…}}` or inner object (as `JSONSerialization` returns it).
    public init(jsonObject: Any) throws(LabelError) {
        guard var inner = jsonObject as? [String: Any] else { throw .malformedLabel("not a JSON object") }
        if inner.keys.contains(Self.key) {
            guard inner.count == 1, let nested = inner[Self.key] as? [String: Any] else {
                throw .malformedLabel("expected {\"AIGC\":{…}} and nothing else")
            }
            inner = nested
        }
        var values: [CodingKeys: String] = [:]
        for key in CodingKeys.allCases {
            guard let raw = inner[key.rawValue] else { throw .malformedLabel("\(key.rawValue) is missing") }
            guard let value = raw as? String else { throw .malformedLabel("\(key.rawValue) is not a string") }
            values[key] = value
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let extra = inner.keys.sorted().first(where: { !known.contains($0) }) {
            throw .malformedLabel("unknown key \(extra)")
        }
        self.init(label: values[.label]!, contentProducer: values[.contentProducer]!, produceID: values[.produceID]!,
                  reservedCode1: values[.reservedCode1]!, contentPropagator: values[.contentPropagator]!,
                  propagateID: values[.propagateID]!, reservedCode2: values[.reservedCode2]!)
    }

    /// Checks every value against `LabelValue.check` (printable ASCII, no space, `"` or `\`,
    /// at most 256 characters).
    public func validate() throws(LabelError) {
        for field in fields { try LabelValue.check(field.value, field: field.name) }
    }
}

/// The rules every value of the implicit label follows.
public enum LabelValue {
    /// Longest value accepted; Appendix E sets no limit, this keeps labels small.
    public static let maximumLength = 256

    /// Printable ASCII without space, `"` or `\`: so the label can be written into JSON,
    /// HTTP headers and file metadata without escaping, and reads the same everywhere.
    public static func isAllowed(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }

    /// Throws naming `field` if `value` breaks the character rules. Empty values pass
    /// (Appendix E leaves reserved fields optional).
    public static func check(_ value: String, field: String) throws(LabelError) {
        if value.utf8.count > maximumLength { throw .invalidValue(field, value, "longer than \(maximumLength) characters") }
        if let bad = value.unicodeScalars.first(where: { !$0.isASCII || !isAllowed(UInt8($0.value)) }) {
            let shown = bad == " " ? "a space" : bad.isASCII && bad.properties.generalCategory != .control ? "'\(bad)'" : "U+\(String(bad.value, radix: 16, uppercase: true))"
            throw .invalidValue(field, value, "contains \(shown); only printable ASCII without space, \" or \\ is allowed")
        }
    }

    /// Checks a provider code: 27 characters, `00` then a 20-character subject code and a
    /// 5-character service code, both ASCII letters or digits. This is the shape only; whether
    /// the codes are registered cannot be checked offline.
    public static func checkProviderCode(_ value: String, field: String) throws(LabelError) {
        let bytes = Array(value.utf8)
        guard bytes.count == 27 else {
            throw .invalidValue(field, value, "must be 27 characters (00 + 20-character subject code + 5-character service code), got \(value.count)")
        }
        guard bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0") else {
            throw .invalidValue(field, value, "must start with 00")
        }
        func alphanumeric(_ b: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b)
        }
        guard bytes[2..<22].allSatisfy(alphanumeric) else {
            throw .invalidValue(field, value, "characters 3–22 (the subject code) must be ASCII letters or digits")
        }
        guard bytes[22..<27].allSatisfy(alphanumeric) else {
            throw .invalidValue(field, value, "characters 23–27 (the service code) must be ASCII letters or digits")
        }
    }
}
