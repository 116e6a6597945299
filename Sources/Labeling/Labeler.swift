import Crypto
import Foundation

/// Makes the labels of GB 45438-2025 for answers: the explicit sentence and the implicit
/// metadata object (Appendix E), signed so that a later reader with the key can tell whether
/// the text or the label was changed.
///
/// ```swift
/// let labeler = try Labeler(configuration: config, key: try LabelKey.load(file: "label.key"))
/// let delivered = labeler.explicit.apply(to: answer)          // what the client receives
/// let label = labeler.implicitLabel(for: delivered)           // its "AIGC" object
/// labeler.verify(text: delivered, label: label)               // .intact
/// ```
///
/// ## What the MACs cover
///
/// Both are HMAC-SHA256 with the label key, written as 64 lowercase hex digits. Values
/// never contain a newline, so joining them with `\n` is unambiguous.
///
/// - `ReservedCode1` = HMAC over the UTF-8 bytes of
///   `"aigc-rc1\n" + ProduceID + "\n" + hex(SHA-256(UTF-8 of the delivered text))`.
///   It binds this answer's id to its exact text, explicit label included.
/// - `ReservedCode2` = `keyID + "." + ` HMAC over
///   `"aigc-rc2\n" + Label + "\n" + ContentProducer + "\n" + ProduceID + "\n" + ReservedCode1
///   + "\n" + ContentPropagator + "\n" + PropagateID + "\n" + keyID`.
///   It makes the label self-consistent, so an edit of any field — a swapped `ProduceID`, a
///   changed producer — is told apart from an edit of the text.
///
/// The `aigc-rc1`/`aigc-rc2` prefixes keep the two messages from ever being equal.
/// To recompute `ReservedCode1` by hand:
/// `printf 'aigc-rc1\n%s\n%s' "$ID" "$(printf %s "$TEXT" | sha256sum | cut -c1-64)" | openssl dgst -sha256 -hmac "$(cat label.key)"`.
public struct Labeler: Sendable {
    public let configuration: LabelConfiguration
    /// The explicit label to put into each answer.
    public let explicit: ExplicitLabel
    private let secret: SendableKey
    private var key: SymmetricKey { secret.key }

    /// Validates the configuration and the key (at least `LabelKey.minimumBytes`).
    public init(configuration: LabelConfiguration, key: SymmetricKey) throws(LabelError) {
        try configuration.validate()
        guard key.bitCount >= LabelKey.minimumBytes * 8 else {
            throw .key("given", "\(key.bitCount / 8) bytes; at least \(LabelKey.minimumBytes) are needed")
        }
        self.configuration = configuration
        self.explicit = try ExplicitLabel(text: configuration.explicitText, position: configuration.explicitPosition)
        self.secret = SendableKey(key: key)
    }

    /// The implicit label for `deliveredText` — the text exactly as the client receives it,
    /// explicit label included; for several choices, `LabeledAnswer.coveredText(ofChoices:)`.
    /// A new time-ordered `ProduceID` each call.
    public func implicitLabel(for deliveredText: String) -> AIGCLabel {
        // A fresh ProduceID is 32 hex digits and the configuration was validated, so every
        // value is valid; the throwing variant cannot fail here.
        do { return try implicitLabel(for: deliveredText, produceID: ProduceID.make()) } catch {
            preconditionFailure("a validated labeler made an invalid label: \(error)")
        }
    }

    /// The implicit label with a given `ProduceID` (e.g. the audit event id, to join the two).
    /// Throws if the id breaks the value rules or is empty.
    public func implicitLabel(for deliveredText: String, produceID: String) throws(LabelError) -> AIGCLabel {
        var digest = DeliveredTextDigest()
        digest.append(deliveredText)
        return try implicitLabel(digest: digest, produceID: produceID)
    }

    /// The implicit label for a text hashed as it streamed (see `DeliveredTextDigest`), so
    /// a streamed answer need not be kept whole. A new `ProduceID` unless one is given.
    public func implicitLabel(digest: DeliveredTextDigest, produceID: String? = nil) throws(LabelError) -> AIGCLabel {
        let produceID = produceID ?? ProduceID.make()
        if produceID.isEmpty { throw .invalidValue("ProduceID", produceID, "is empty") }
        try LabelValue.check(produceID, field: "ProduceID")
        var label = AIGCLabel(contentProducer: configuration.contentProducer, produceID: produceID,
                              reservedCode1: LabelMAC.textCode(produceID: produceID, textSHA256: digest.hexDigest, key: key),
                              contentPropagator: configuration.contentPropagator ?? configuration.contentProducer,
                              propagateID: configuration.propagateID ?? produceID, reservedCode2: "")
        label.reservedCode2 = LabelMAC.labelCode(label, keyID: configuration.keyID, key: key)
        try label.validate()
        return label
    }

    /// Checks a label and a text against this labeler's key.
    public func verify(text: String, label: AIGCLabel) -> LabelVerification {
        LabelVerifier(keys: [configuration.keyID: key]).verify(text: text, label: label)
    }
}

/// What checking a text and its implicit label found.
public enum LabelVerification: Sendable, Equatable, CustomStringConvertible {
    /// The label is Menshen's, unchanged, and was issued for exactly this text.
    case intact
    /// The label is unchanged but the text is not the one it was issued for (edited, explicit
    /// label removed, or a label copied from another answer).
    case textAltered
    /// A field of the label was changed after signing (the reason says what failed).
    case labelAltered(String)
    /// Not a Menshen label: a value breaks the rules or a MAC is not in Menshen's format.
    case malformed(String)
    /// Signed with a key this verifier does not hold (the key id the label names).
    case unknownKey(String)

    public var isIntact: Bool { self == .intact }

    public var description: String {
        switch self {
        case .intact: return "intact"
        case .textAltered: return "text altered: the text is not the one this label was issued for"
        case .labelAltered(let reason): return "label altered: \(reason)"
        case .malformed(let reason): return "malformed label: \(reason)"
        case .unknownKey(let id): return "unknown key: the label was signed with key id '\(id)'"
        }
    }
}

/// Verifies labels with one or more keys (several during a key rotation).
public struct LabelVerifier: Sendable {
    private let keys: [String: SendableKey]
    private let anyID: SendableKey?

    /// Picks the key by the id in `ReservedCode2`.
    public init(keys: [String: SymmetricKey]) { self.keys = keys.mapValues(SendableKey.init); self.anyID = nil }

    /// Uses `key` whatever id the label names (the id is covered by the MAC, so a wrong one
    /// shows as an altered label).
    public init(key: SymmetricKey) { self.keys = [:]; self.anyID = SendableKey(key: key) }

    /// Order of checks: value rules → MAC formats → key → `ReservedCode2` (label fields) →
    /// `ReservedCode1` (text). Only a self-consistent label can say the text changed.
    public func verify(text: String, label: AIGCLabel) -> LabelVerification {
        do { try label.validate() } catch { return .malformed(error.description) }
        guard LabelMAC.isHexMAC(label.reservedCode1) else {
            return .malformed("ReservedCode1 is not a 64-digit lowercase hex HMAC")
        }
        guard let dot = label.reservedCode2.firstIndex(of: ".") else {
            return .malformed("ReservedCode2 is not <key id>.<hmac>")
        }
        let keyID = String(label.reservedCode2[..<dot])
        guard (try? LabelConfiguration.checkKeyID(keyID)) != nil,
              LabelMAC.isHexMAC(label.reservedCode2[label.reservedCode2.index(after: dot)...]) else {
            return .malformed("ReservedCode2 is not <key id>.<hmac>")
        }
        guard let key = (keys[keyID] ?? anyID)?.key else { return .unknownKey(keyID) }
        guard LabelMAC.isValid(label.reservedCode2[label.reservedCode2.index(after: dot)...],
                               message: LabelMAC.labelMessage(label, keyID: keyID), key: key) else {
            return .labelAltered("ReservedCode2 does not authenticate the label's fields (a field was edited, or another key signed it)")
        }
        let textSHA256 = hex(SHA256.hash(data: Array(text.utf8)))
        guard LabelMAC.isValid(label.reservedCode1, message: LabelMAC.textMessage(produceID: label.produceID, textSHA256: textSHA256), key: key) else {
            return .textAltered
        }
        return .intact
    }
}

/// The SHA-256 of the delivered text, fed piece by piece as the answer streams.
///
/// ```swift
/// var digest = DeliveredTextDigest()
/// digest.append(labeler.explicit.leading)
/// for piece in deliveredContentDeltas { digest.append(piece) }
/// digest.append(labeler.explicit.trailing)
/// let label = try labeler.implicitLabel(digest: digest)
/// ```
///
/// For several choices, feed each choice whole, in index order, with
/// `appendChoiceSeparator()` between them (the same text as
/// `LabeledAnswer.coveredText(ofChoices:)`); interleaved streams must be kept per choice.
public struct DeliveredTextDigest {
    private var hasher = SHA256()

    public init() {}

    /// Adds the next piece of delivered text (its UTF-8 bytes).
    public mutating func append(_ piece: String) { hasher.update(data: Array(piece.utf8)) }

    /// Adds the separator between two choices.
    public mutating func appendChoiceSeparator() { append(LabeledAnswer.choiceSeparator) }

    /// Lowercase hex of the digest so far.
    public var hexDigest: String { hex(hasher.finalize()) }
}

/// swift-crypto 3.x does not mark `SymmetricKey` `Sendable`, though it is an immutable value
/// (its storage is written once, at init, and only read after). This box says so.
struct SendableKey: @unchecked Sendable {
    let key: SymmetricKey
}

/// The two MACs, kept in one place so signing and checking cannot drift apart.
enum LabelMAC {
    static func textMessage(produceID: String, textSHA256: String) -> [UInt8] {
        Array("aigc-rc1\n\(produceID)\n\(textSHA256)".utf8)
    }

    static func labelMessage(_ label: AIGCLabel, keyID: String) -> [UInt8] {
        let parts = [label.label, label.contentProducer, label.produceID, label.reservedCode1,
                     label.contentPropagator, label.propagateID, keyID]
        return Array(("aigc-rc2\n" + parts.joined(separator: "\n")).utf8)
    }

    static func textCode(produceID: String, textSHA256: String, key: SymmetricKey) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: textMessage(produceID: produceID, textSHA256: textSHA256), using: key))
    }

    static func labelCode(_ label: AIGCLabel, keyID: String, key: SymmetricKey) -> String {
        keyID + "." + hex(HMAC<SHA256>.authenticationCode(for: labelMessage(label, keyID: keyID), using: key))
    }

    static func isHexMAC<S: StringProtocol>(_ s: S) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Constant-time comparison (swift-crypto's `isValidAuthenticationCode`).
    static func isValid<S: StringProtocol>(_ hexMAC: S, message: [UInt8], key: SymmetricKey) -> Bool {
        guard let mac = bytes(hex: hexMAC) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: key)
    }

    static func bytes<S: StringProtocol>(hex s: S) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        for i in stride(from: 0, to: u.count, by: 2) {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }
}
