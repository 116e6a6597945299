/// What the labels say. Validated once (`validate()`, also run by `Labeler.init`).
///
/// Policy file keys (section `labels:`): `explicit_text`, `explicit_position`,
/// `content_producer`, `content_propagator`, `propagate_id`, `key_id`, and the key source
/// `key_file` or `key_env` (read with `LabelKey`).
public struct LabelConfiguration: Sendable, Equatable {
    /// The explicit label shown to the reader; must name 人工智能/AI and 生成/合成.
    public var explicitText = "本回答由人工智能生成"
    /// Where the explicit label goes. Default the end, so streaming starts without delay.
    public var explicitPosition: ExplicitLabel.Position = .end
    /// The generating service's code: `00` + 20-character subject code + 5-character
    /// service code (27 ASCII letters or digits). Required: there is no sensible default.
    public var contentProducer: String
    /// The delivering service's name or code; `nil` means the producer (a sidecar in front
    /// of its own model both produces and propagates).
    public var contentPropagator: String?
    /// The propagator's id for every answer; `nil` means each answer's `ProduceID`.
    public var propagateID: String?
    /// Names the signing key in `ReservedCode2`, so verifiers pick the right key after a
    /// rotation. 1–32 ASCII letters, digits, `-` or `_`.
    public var keyID = "k1"

    public init(contentProducer: String) { self.contentProducer = contentProducer }

    /// Checks every field; the error names the first bad one.
    public func validate() throws(LabelError) {
        try ExplicitLabel.validate(explicitText)
        try LabelValue.checkProviderCode(contentProducer, field: "labels.content_producer")
        if let contentPropagator {
            if contentPropagator.isEmpty { throw .invalidValue("labels.content_propagator", contentPropagator, "is empty") }
            try LabelValue.check(contentPropagator, field: "labels.content_propagator")
        }
        if let propagateID {
            if propagateID.isEmpty { throw .invalidValue("labels.propagate_id", propagateID, "is empty") }
            try LabelValue.check(propagateID, field: "labels.propagate_id")
        }
        try Self.checkKeyID(keyID)
    }

    /// A key id is 1–32 ASCII letters, digits, `-` or `_` (never `.`, which ends it in
    /// `ReservedCode2`).
    static func checkKeyID(_ id: String) throws(LabelError) {
        let ok = !id.isEmpty && id.utf8.count <= 32 && id.utf8.allSatisfy { b in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
        }
        if !ok { throw .invalidValue("labels.key_id", id, "must be 1–32 ASCII letters, digits, - or _") }
    }
}
