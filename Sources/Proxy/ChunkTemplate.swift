import Foundation

/// The top-level fields of a stream's latest chunk (`id`, `object`, `created`, `model`,
/// `system_fingerprint`), which the events Menshen writes itself (label deltas, finishes,
/// `content_filter` ends) carry too.
///
/// Most chunks pass on their bytes and are never decoded into objects; the latest of those is
/// kept as it is and decoded only when an event has to be written from scratch.
struct ChunkTemplate {
    static let keys: Set<String> = ["id", "object", "created", "model", "system_fingerprint"]

    private var decoded: [String: Any] = [:]
    /// The latest chunk, when it is newer than `decoded`.
    private var latest: JSONDocument?

    /// A chunk read on its bytes.
    mutating func note(_ chunk: JSONDocument) { latest = chunk }

    /// A chunk already decoded.
    mutating func note(_ chunk: [String: Any]) {
        var fields = self.fields
        for key in Self.keys { if let value = chunk[key] { fields[key] = value } }
        decoded = fields
        latest = nil
    }

    /// The fields, latest values first.
    var fields: [String: Any] {
        guard let latest, let object = try? JSONSerialization.jsonObject(with: Data(latest.bytes)) as? [String: Any] else { return decoded }
        var fields = decoded
        for key in Self.keys { if let value = object[key] { fields[key] = value } }
        return fields
    }
}
