import Foundation
import Logging

/// swift-log handler writing one JSON object per line to standard error:
/// `{"time":…,"level":"notice","label":"menshen","message":…, metadata…}`. Operators' log
/// collectors parse it without patterns; request-scoped lines carry `request_id` in metadata.
/// (The audit log is separate: this is the operational log, and nothing at info or above is
/// written per request.)
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": Date().formatted(Self.timeFormat),
            "level": event.level.rawValue,
            "label": label,
            "source": event.source,
            "message": event.message.description,
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { object[k] = "\(v)" }
        if let error = event.error { object["error"] = "\(error)" }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }

    /// RFC 3339 with fractions, UTC. A format style is a value: unlike a shared
    /// `ISO8601DateFormatter`, it is safe to use from every thread that logs.
    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
