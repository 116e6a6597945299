import Foundation

/// A request's target, read once: the route is decided on it and exactly it is forwarded.
///
/// Why: a proxy that decides the route on one reading of the target (its parser's path) and
/// forwards another (the raw target, re-read by the upstream client) can be walked around with
/// one character. `POST /v1/chat/completions#` was routed as an unknown path and passed through
/// unscreened, and the forwarding client dropped the fragment, so the model server ran a chat
/// completion. So Menshen accepts only an origin-form target written in the characters RFC 3986
/// allows unencoded (`%XX` escapes well formed), refuses everything else with 400 — fragments,
/// spaces, backslashes, non-ASCII, the asterisk form — and checks that the upstream client
/// reads the forwarded URL back to the same path and query. (An absolute-form target reaches
/// Menshen as its path alone: the HTTP layer splits it before anyone reads it, so it too is
/// read once.)
struct RequestTarget: Sendable, Equatable {
    /// The target as it came and as it is forwarded (path and query).
    let raw: String
    /// The path part of `raw` (before the first `?`), still percent-encoded.
    let path: Substring
    /// The query part (after the first `?`), if any.
    let query: Substring?
    /// The path as any model server could read it (see ``RoutingPath``): what routes are decided on.
    let routing: String

    /// Why a target is refused (names the problem, never echoes the target).
    struct Refusal: Error, Equatable {
        let reason: String
    }

    /// Longest target accepted: model APIs use short paths, and a long one only serves smuggling.
    static let maximumBytes = 4096

    /// Reads a raw request target (HTTP/1.1 request line, or h2c `:path`).
    static func parse(_ raw: String) throws(Refusal) -> RequestTarget {
        let bytes = raw.utf8
        guard !bytes.isEmpty else { throw Refusal(reason: "the request target is empty") }
        guard bytes.count <= maximumBytes else { throw Refusal(reason: "the request target is longer than \(maximumBytes) bytes") }
        guard bytes.first == UInt8(ascii: "/") else {
            throw Refusal(reason: "the request target must be a path starting with '/' (origin form)")
        }
        var queryStart: String.Index?
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let b = bytes[index]
            if b == UInt8(ascii: "#") { throw Refusal(reason: "the request target carries a fragment ('#'), which a forwarding client would drop") }
            if b == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                guard first != bytes.endIndex, JSONParserCore.hexValue(bytes[first]) != nil else {
                    throw Refusal(reason: "the request target has a malformed percent-escape")
                }
                let second = bytes.index(after: first)
                guard second != bytes.endIndex, JSONParserCore.hexValue(bytes[second]) != nil else {
                    throw Refusal(reason: "the request target has a malformed percent-escape")
                }
            } else if !Self.allowed(b) {
                throw Refusal(reason: "the request target has a character that must be percent-encoded (RFC 3986)")
            }
            if b == UInt8(ascii: "?") && queryStart == nil { queryStart = index }
            index = bytes.index(after: index)
        }
        let path: Substring, query: Substring?
        if let q = queryStart {
            path = raw[..<q]
            query = raw[raw.index(after: q)...]
        } else {
            path = raw[...]
            query = nil
        }
        return RequestTarget(raw: raw, path: path, query: query, routing: RoutingPath.canonical(String(path)))
    }

    /// `pchar`, `/` and `?` of RFC 3986 §3.3–3.4, less `%` (checked as an escape).
    private static func allowed(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),                       // unreserved
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),  // sub-delims
             UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"):
            return true
        default:
            return false
        }
    }

    /// The URL the upstream client is given for this target on `base` (an upstream's URL,
    /// possibly with a path prefix). Refuses when the client's URL parser would read the result
    /// to another path or query than the one routed — the second reading this type exists to
    /// rule out.
    func upstreamURL(base: String) throws(Refusal) -> String {
        let url = base.hasSuffix("/") ? String(base.dropLast()) + raw : base + raw
        // The upstream client (AsyncHTTPClient) sends `URLComponents.percentEncodedPath` and the
        // URL's query; both must be the bytes Menshen routed.
        guard let parsed = URL(string: url), let components = URLComponents(url: parsed, resolvingAgainstBaseURL: true) else {
            throw Refusal(reason: "the request target cannot be forwarded as it is")
        }
        let basePath = URLComponents(string: base)?.percentEncodedPath ?? ""
        let expectedPath = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + path
        guard components.percentEncodedPath == expectedPath, components.percentEncodedQuery == query.map(String.init),
              components.fragment == nil else {
            throw Refusal(reason: "the request target would be forwarded as another path than the one screened")
        }
        return url
    }
}
