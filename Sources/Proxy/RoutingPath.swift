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
        var bytes = Array(raw.utf8)
        for _ in 0..<4 {                       // bounded: each round only shortens the path
            let decoded = percentDecoded(bytes)
            if decoded == bytes { break }
            bytes = decoded
        }
        var segments: [ArraySlice<UInt8>] = []
        for var segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if let semicolon = segment.firstIndex(of: UInt8(ascii: ";")) { segment = segment[..<semicolon] }
            switch Array(segment) {
            case [], [UInt8(ascii: ".")]: continue
            case [UInt8(ascii: "."), UInt8(ascii: ".")]: _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        var out: [UInt8] = []
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: segment.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 })
        }
        return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
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
