/// Server-sent events, parsed per the WHATWG rules: lines end in LF, CRLF or CR; `data:` lines of
/// one event are joined with LF; lines starting with `:` are comments; a blank line ends an
/// event; an event can be split across reads at any byte.
public struct SSEParser: Sendable {
    /// Whether an event's data is the OpenAI end marker `[DONE]` (spaces and tabs around it
    /// allowed). Byte-wise: this runs for every event of every stream.
    public static func isDone(_ data: String) -> Bool {
        var utf8 = Substring(data).utf8[...]
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        return utf8.elementsEqual("[DONE]".utf8)
    }

    /// One event: its fields in order (so it can be written back as it came).
    public struct Event: Sendable, Equatable {
        public var fields: [(name: String, value: String)] = []

        public init(fields: [(name: String, value: String)] = []) { self.fields = fields }

        /// The joined `data` value, or nil when the event has no data field.
        public var data: String? {
            let values = fields.filter { $0.name == "data" }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: "\n")
        }

        public static func == (a: Event, b: Event) -> Bool {
            a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
        }

        /// Serializes with LF line endings; a multi-line data value becomes several `data:` lines.
        public func serialized() -> [UInt8] {
            var out: [UInt8] = []
            for field in fields {
                if field.name.isEmpty {                 // a comment
                    out += Array(":\(field.value)\n".utf8)
                } else {
                    for line in field.value.split(separator: "\n", omittingEmptySubsequences: false) {
                        out += Array("\(field.name): \(line)\n".utf8)
                    }
                }
            }
            out.append(UInt8(ascii: "\n"))
            return out
        }

        public static func data(_ value: String) -> Event { Event(fields: [("data", value)]) }

        /// The fields an EventSource parser acts on (the empty name is a comment).
        public static let knownFieldNames: Set<String> = ["data", "event", "id", "retry", ""]

        /// Why a client could read this event differently from its `data`, or nil: a field
        /// EventSource ignores but a lenient client may read (`Data:`, a line of JSON with no
        /// field name), an event name or id that is not a plain token, a `retry` that is not a
        /// number. Such an event is not forwarded.
        public var unreadableField: String? {
            for field in fields {
                guard Self.knownFieldNames.contains(field.name) else { return "an event has a field other than data, event, id or retry" }
                switch field.name {
                case "event", "id":
                    let plain = field.value.utf8.count <= 128 && field.value.utf8.allSatisfy { b in
                        (0x21...0x7E).contains(b) && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\")
                    }
                    if !plain { return "an event's \(field.name) is not a plain token" }
                case "retry":
                    if field.value.isEmpty || !field.value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                        return "an event's retry is not a number"
                    }
                default:
                    break
                }
            }
            return nil
        }

        /// The event with comments emptied: a comment keeps a connection alive, its text is
        /// for no one (and raw stream readers would show it).
        public var withoutCommentText: Event {
            guard fields.contains(where: { $0.name.isEmpty && !$0.value.isEmpty }) else { return self }
            return Event(fields: fields.map { $0.name.isEmpty ? ("", "") : $0 })
        }
    }

    private var line: [UInt8] = []
    /// How much of a leading UTF-8 byte order mark has been seen (nil once the stream's first
    /// bytes are decided). EventSource parsers strip one BOM at the start of a stream; a
    /// parser that did not would read `\u{FEFF}data` as an unknown field and skip the event
    /// that clients show.
    private var byteOrderMark: Int? = 0
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    private var current = Event()
    private var lastWasCR = false
    /// Bytes waiting in `line` are bounded; a line longer than this is an error (a broken or
    /// hostile upstream must not make Menshen buffer without limit).
    public let maximumLineBytes: Int

    public init(maximumLineBytes: Int = 4 << 20) { self.maximumLineBytes = maximumLineBytes }

    public struct LineTooLong: Error {}
    /// An event's fields together went past `maximumLineBytes` (endless `data:` lines with no
    /// blank line would otherwise grow one event without limit).
    public struct EventTooLarge: Error {}
    /// Bytes of the event being read (its lines, each counted with room for its field entry).
    private var currentBytes = 0

    /// Feeds bytes; returns the events completed by them.
    public mutating func feed<C: Collection>(_ bytes: C) throws -> [Event] where C.Element == UInt8 {
        var events: [Event] = []
        for b in bytes {
            if let seen = byteOrderMark {
                if b == Self.bom[seen] {
                    byteOrderMark = seen + 1 == Self.bom.count ? nil : seen + 1
                    continue
                }
                byteOrderMark = nil
                line.append(contentsOf: Self.bom[0..<seen])      // not a BOM after all: ordinary bytes
            }
            if lastWasCR {
                lastWasCR = false
                if b == 0x0A { continue }               // CRLF: the CR ended the line
            }
            if b == 0x0A || b == 0x0D {
                lastWasCR = b == 0x0D
                if let event = try endLine() { events.append(event) }
            } else {
                line.append(b)
                if line.count > maximumLineBytes { throw LineTooLong() }
            }
        }
        return events
    }

    /// Ends the stream: an event not terminated by a blank line is dispatched anyway (servers
    /// that close without the final blank line still get their last event through).
    public mutating func finish() -> [Event] {
        var events: [Event] = []
        if let seen = byteOrderMark, seen > 0 { line.append(contentsOf: Self.bom[0..<seen]) }
        byteOrderMark = nil
        if !line.isEmpty {
            do {
                if let e = try endLine() { events.append(e) }
            } catch {
                // The unfinished event went past the limit: it is dropped, not cut short.
                current = Event()
            }
        }
        if !current.fields.isEmpty { events.append(current); current = Event() }
        currentBytes = 0
        return events
    }

    private mutating func endLine() throws -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard !current.fields.isEmpty else { return nil }
            let event = current
            current = Event()
            currentBytes = 0
            return event
        }
        currentBytes += line.count + 8
        if currentBytes > maximumLineBytes { throw EventTooLarge() }
        // Split on the first colon *byte*, as EventSource parsers do. Not on a `Character`: a
        // prepended mark (U+0600) before the colon joins it into one grapheme, and a
        // Character-wise search would not see the colon at all (found by fuzz-sse).
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            current.fields.append((String(decoding: line, as: UTF8.self), ""))
            return nil
        }
        var valueStart = colon + 1
        // A comment (`:` first) keeps its text as it came; a field's value loses one leading space.
        if colon > 0 && valueStart < line.count && line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        current.fields.append((name, String(decoding: line[valueStart...], as: UTF8.self)))
        return nil
    }
}
