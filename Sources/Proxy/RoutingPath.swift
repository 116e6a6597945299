/// The path a request's route is decided on: what any model server could make of the raw path.
///
/// Why: Menshen decides from the path whether a request is screened, refused or passed through,
/// and the model server decides from the same path which handler runs. If the server reads a
/// path as `/v1/chat/completions` where Menshen did not, the prompt reaches the model
/// unscreened. Servers differ: uvicorn (vLLM) and Go (Ollama) percent-decode the path, Go
/// cleans `//` and dot segments, Java servlet containers drop `;parameters`, some routers
/// ignore case or a trailing slash. The canonical form does all of that (decoding until the
/// path stops changing, against double encoding), so a path is screened when *any* server
/// could route it to a screened endpoint — screening too much is safe, too little is not.
/// The request is still forwarded with its raw path.
enum RoutingPath {
    /// The canonical form of a raw request path: percent-decoded, `;parameters` dropped,
    /// empty and `.` segments removed, `..` applied, no trailing slash, lowercased ASCII.
    static func canonical(_ raw: String) -> String {
        if isCanonical(raw) { return raw }          // nearly every request: no copy at all
        var bytes = Array(raw.utf8)
        for _ in 0..<4 {                       // bounded: each round only shortens the path
            let decoded = percentDecoded(bytes)
            if decoded == bytes { break }
            bytes = decoded
        }
        var segments: [ArraySlice<UInt8>] = []
        for var segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if let semicolon = segment.firstIndex(of: UInt8(ascii: ";")) { segment = segment[..<semicolon] }
            if segment.isEmpty || segment.elementsEqual([UInt8(ascii: ".")]) { continue }
            if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) { _ = segments.popLast(); continue }
            segments.append(segment)
        }
        var out: [UInt8] = []
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: segment.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 })
        }
        return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
    }

    /// Whether `path` is a prefix of, or equal to, `routing`, by whole segments (both canonical).
    static func isUnder(_ routing: String, _ prefix: String) -> Bool {
        prefix == "/" || routing == prefix || routing.hasPrefix(prefix + "/")
    }

    /// Already canonical: starts with `/`, no `%` or `;`, no uppercase ASCII, no empty, `.` or
    /// `..` segment, no trailing slash (unless the path is `/`). One pass, no allocation.
    private static func isCanonical(_ raw: String) -> Bool {
        var previous: UInt8 = 0, beforePrevious: UInt8 = 0, count = 0
        for b in raw.utf8 {
            if b == UInt8(ascii: "%") || b == UInt8(ascii: ";") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b) { return false }
            if b == UInt8(ascii: "/") {
                if count > 0 && (previous == UInt8(ascii: "/") || isDotSegmentEnd(previous, beforePrevious)) { return false }
            }
            beforePrevious = previous; previous = b; count += 1
        }
        guard count > 0, raw.utf8.first == UInt8(ascii: "/") else { return false }
        return count == 1 || (previous != UInt8(ascii: "/") && !isDotSegmentEnd(previous, beforePrevious))
    }

    /// Whether the bytes before a `/` (or the end) close a `.` or `..` segment. Conservative: any
    /// segment ending in `.` after `/` or `.` counts, which only sends more paths the long way.
    private static func isDotSegmentEnd(_ last: UInt8, _ beforeLast: UInt8) -> Bool {
        last == UInt8(ascii: ".") && (beforeLast == UInt8(ascii: "/") || beforeLast == UInt8(ascii: "."))
    }

    /// One round of `%XX` decoding; malformed escapes stay as they are.
    private static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(UInt8(ascii: "%")) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = JSONParserCore.hexValue(bytes[i + 1]), let lo = JSONParserCore.hexValue(bytes[i + 2]) {
                out.append(UInt8(hi << 4 | lo))
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
