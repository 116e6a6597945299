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

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        var object: [String: Any] = [
            "time": ISO8601DateFormatter.withFractions.string(from: Date()),
            "level": level.rawValue,
            "label": label,
            "source": source,
            "message": message.description,
        ]
        for (k, v) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }) { object[k] = "\(v)" }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
