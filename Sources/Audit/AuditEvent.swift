import Crypto
import Foundation

/// One audit event: a screening decision (block, mask, flag, shadow) or a classifier failure.
///
/// The caller fills it; `AuditLog` adds `seq`, `prev` and `hash` when it writes the line.
/// Nothing here may hold raw user text: `excerpt` is supplied already masked, and the text
/// itself is only referenced by its SHA-256 (`AuditEvent.sha256(_:)`).
///
/// ```swift
/// var event = AuditEvent(requestID: id, route: "/v1/chat/completions", direction: .output, action: .block)
/// event.ruleIDs = ["finance.guaranteed-returns"]; event.categories = ["finance"]
/// event.textSHA256 = AuditEvent.sha256(answer); event.excerpt = "这款产品***"
/// try await log.recordDurably(event)
/// ```
public struct AuditEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A lexicon/regex decision (`action` says which).
        case screening
        /// A classifier hook failed (timeout, error); `detail` says how, `action` what the
        /// fail mode did, if anything.
        case classifierFailure = "classifier_failure"
        /// The model server's answer could not be screened (not JSON, an unexpected shape) and
        /// was refused; `detail` says what was wrong with it, `upstream` who sent it.
        case unscreenableAnswer = "unscreenable_answer"
    }

    /// What Menshen did to the text.
    public enum Action: String, Codable, Sendable, CaseIterable { case block, mask, flag, shadow }

    /// Whether the text was a prompt (input) or an answer (output).
    public enum Direction: String, Codable, Sendable, CaseIterable { case input, output }

    /// When it was decided (written as RFC 3339 UTC with microseconds).
    public var time: Date
    /// Unique per event (UUID).
    public var eventID: String
    /// The request's `x-request-id`.
    public var requestID: String
    public var kind: Kind
    /// The strongest action taken; `nil` for a classifier failure that changed nothing.
    public var action: Action?
    /// The API path, e.g. `/v1/chat/completions`.
    public var route: String
    /// The model the request named.
    public var model: String?
    /// The upstream that served (or would have served) it.
    public var upstream: String?
    public var direction: Direction
    /// Every rule that fired, in text order.
    public var ruleIDs: [String] = []
    /// Their categories (same order as `ruleIDs`).
    public var categories: [String] = []
    /// Their severities / risk levels (same order).
    public var severities: [String] = []
    /// The lexicon version that decided.
    public var lexiconVersion: String?
    /// Byte ranges (UTF-8 offsets into the screened text) of the matches.
    public var matchOffsets: [Range<Int>] = []
    /// SHA-256 (lowercase hex) of the screened text, so the text can be matched later
    /// without being stored.
    public var textSHA256: String?
    /// A short excerpt around the match, already masked by the caller. Never raw text.
    /// Cut to `AuditConfiguration.maxExcerptCharacters` when written.
    public var excerpt: String?
    /// Client identity headers (e.g. `x-user-id`, `x-app-id`), names lowercased.
    public var client: [String: String] = [:]
    /// Time from receiving the request to this decision, in milliseconds.
    public var latencyMs: Double?
    /// The `ProduceID` of the answer's AIGC label, joining audit and label.
    public var produceID: String?
    /// Free-form detail for failures (`classifier timeout after 2s`). No user text.
    public var detail: String?

    public init(time: Date = Date(), eventID: String = UUID().uuidString.lowercased(), requestID: String,
                kind: Kind = .screening, action: Action?, route: String, model: String? = nil, upstream: String? = nil,
                direction: Direction) {
        self.time = time
        self.eventID = eventID
        self.requestID = requestID
        self.kind = kind
        self.action = action
        self.route = route
        self.model = model
        self.upstream = upstream
        self.direction = direction
    }

    /// SHA-256 of the UTF-8 text, lowercase hex — the form of `textSHA256`.
    public static func sha256(_ text: String) -> String { hexString(SHA256.hash(data: Array(text.utf8))) }
}

/// One line of the log: an event and its place in the hash chain.
///
/// ## Line format
///
/// A line is `B` with `,"hash":"<h>"` inserted before its final `}`, then `\n`, where `B` is
/// the compact JSON object of every event field plus `seq` and `prev` (keys sorted, absent
/// values as `null`) and `h` = lowercase hex SHA-256 of the bytes of `B`. `prev` is the `hash`
/// of the line before (64 zeros for the very first). So `hash` covers everything on its line
/// but itself, and each line covers the one before: an edit, a deletion or a swap breaks the
/// chain at a line the verifier can name. The verifier strips the suffix to recover `B`
/// byte for byte; nothing is re-serialised.
public struct AuditRecord: Sendable, Equatable {
    public var event: AuditEvent
    /// Position in the log, from 1, across rotated files.
    public var seq: UInt64
    /// The `hash` of the record before.
    public var prev: String
    /// SHA-256 of this record's line without its `hash` field.
    public var hash: String

    /// `prev` of the first record ever written.
    public static let genesis = String(repeating: "0", count: 64)

    /// The line (with `\n`) for `event` at `seq` after a record whose hash is `prev`.
    static func line(for event: AuditEvent, seq: UInt64, prev: String) throws -> (bytes: [UInt8], hash: String) {
        var body = try encoder.encode(LineBody(event: event, seq: seq, prev: prev))
        // The encoder writes one object: `{…}`. Drop its `}` and append the hash field.
        guard body.last == UInt8(ascii: "}") else { throw EncodingError.invalidValue(event, .init(codingPath: [], debugDescription: "not an object")) }
        let hash = hexString(SHA256.hash(data: body))
        body.removeLast()
        body.append(contentsOf: Array(",\"hash\":\"\(hash)\"}\n".utf8))
        return ([UInt8](body), hash)
    }

    /// Splits a line (without `\n`) into `B` and the hash it claims, or nil if it does not
    /// end in `,"hash":"<64 hex>"}`.
    static func split(line: some Collection<UInt8>) -> (body: [UInt8], hash: String)? {
        let bytes = Array(line)
        // The suffix `,"hash":"` (9 bytes) + 64 hex digits + `"}` (2) is 75 bytes; `B` needs
        // at least its `{` before it.
        guard bytes.count > 75 else { return nil }
        let suffixStart = bytes.count - 75
        guard Array(bytes[suffixStart..<suffixStart + 9]) == Array(",\"hash\":\"".utf8),
              bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}") else { return nil }
        let digits = bytes[(suffixStart + 9)..<(bytes.count - 2)]
        guard digits.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return (Array(bytes[..<suffixStart]) + [UInt8(ascii: "}")], String(decoding: digits, as: UTF8.self))
    }

    /// Parses a line (without `\n`). Does not check the hash (that is `AuditVerifier`'s job).
    public init(line: some Collection<UInt8>) throws {
        guard let parts = Self.split(line: line) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "line does not end with the hash field"))
        }
        let decoded = try JSONDecoder().decode(LineBody.self, from: Data(parts.body))
        self.init(event: decoded.event, seq: decoded.seq, prev: decoded.prev, hash: parts.hash)
    }

    public init(event: AuditEvent, seq: UInt64, prev: String, hash: String) {
        self.event = event
        self.seq = seq
        self.prev = prev
        self.hash = hash
    }

    /// Sorted keys: the output depends only on the values.
    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()
}

/// The JSON object of a line without its hash: every field, snake_case, nulls written out
/// so that every line has the same keys.
struct LineBody: Codable {
    var event: AuditEvent
    var seq: UInt64
    var prev: String

    enum Key: String, CodingKey, CaseIterable {
        case time, seq, prev
        case eventID = "event_id", requestID = "request_id", kind, action, route, model, upstream, direction
        case ruleIDs = "rule_ids", categories, severities, lexiconVersion = "lexicon_version"
        case matchOffsets = "match_offsets", textSHA256 = "text_sha256", excerpt, client
        case latencyMs = "latency_ms", produceID = "produce_id", detail
    }

    /// Every key of a line, `hash` included — the schema collectors can rely on.
    static let keys: [String] = Key.allCases.map(\.rawValue) + ["hash"]

    init(event: AuditEvent, seq: UInt64, prev: String) { self.event = event; self.seq = seq; self.prev = prev }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        let e = event
        try c.encode(RFC3339.format(e.time), forKey: .time)
        try c.encode(seq, forKey: .seq)
        try c.encode(prev, forKey: .prev)
        try c.encode(e.eventID, forKey: .eventID)
        try c.encode(e.requestID, forKey: .requestID)
        try c.encode(e.kind, forKey: .kind)
        try c.encode(e.action, forKey: .action)            // Optional: writes null
        try c.encode(e.route, forKey: .route)
        try c.encode(e.model, forKey: .model)
        try c.encode(e.upstream, forKey: .upstream)
        try c.encode(e.direction, forKey: .direction)
        try c.encode(e.ruleIDs, forKey: .ruleIDs)
        try c.encode(e.categories, forKey: .categories)
        try c.encode(e.severities, forKey: .severities)
        try c.encode(e.lexiconVersion, forKey: .lexiconVersion)
        try c.encode(e.matchOffsets.map { [$0.lowerBound, $0.upperBound] }, forKey: .matchOffsets)
        try c.encode(e.textSHA256, forKey: .textSHA256)
        try c.encode(e.excerpt, forKey: .excerpt)
        try c.encode(e.client, forKey: .client)
        try c.encode(e.latencyMs, forKey: .latencyMs)
        try c.encode(e.produceID, forKey: .produceID)
        try c.encode(e.detail, forKey: .detail)
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let timeText = try c.decode(String.self, forKey: .time)
        guard let time = RFC3339.parse(timeText) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: c, debugDescription: "not RFC 3339: \(timeText)")
        }
        var e = AuditEvent(time: time, eventID: try c.decode(String.self, forKey: .eventID),
                           requestID: try c.decode(String.self, forKey: .requestID),
                           kind: try c.decode(AuditEvent.Kind.self, forKey: .kind),
                           action: try c.decodeIfPresent(AuditEvent.Action.self, forKey: .action),
                           route: try c.decode(String.self, forKey: .route),
                           model: try c.decodeIfPresent(String.self, forKey: .model),
                           upstream: try c.decodeIfPresent(String.self, forKey: .upstream),
                           direction: try c.decode(AuditEvent.Direction.self, forKey: .direction))
        e.ruleIDs = try c.decode([String].self, forKey: .ruleIDs)
        e.categories = try c.decode([String].self, forKey: .categories)
        e.severities = try c.decode([String].self, forKey: .severities)
        e.lexiconVersion = try c.decodeIfPresent(String.self, forKey: .lexiconVersion)
        let offsets = try c.decode([[Int]].self, forKey: .matchOffsets)
        guard offsets.allSatisfy({ $0.count == 2 && $0[0] <= $0[1] }) else {
            throw DecodingError.dataCorruptedError(forKey: .matchOffsets, in: c, debugDescription: "expected [[start,end],…]")
        }
        e.matchOffsets = offsets.map { $0[0]..<$0[1] }
        e.textSHA256 = try c.decodeIfPresent(String.self, forKey: .textSHA256)
        e.excerpt = try c.decodeIfPresent(String.self, forKey: .excerpt)
        e.client = try c.decode([String: String].self, forKey: .client)
        e.latencyMs = try c.decodeIfPresent(Double.self, forKey: .latencyMs)
        e.produceID = try c.decodeIfPresent(String.self, forKey: .produceID)
        e.detail = try c.decodeIfPresent(String.self, forKey: .detail)
        self.event = e
        self.seq = try c.decode(UInt64.self, forKey: .seq)
        self.prev = try c.decode(String.self, forKey: .prev)
    }
}

/// Lowercase hex of bytes.
func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
    return String(decoding: out, as: UTF8.self)
}
