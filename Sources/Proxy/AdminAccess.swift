#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import HTTPTypes
import NIOCore

/// Who may call the admin listener.
///
/// With a bearer token (`admin.token_file`, required beyond loopback) the token decides. Without
/// one the listener trusts its host, and a web page is the attacker to keep out: the operator's
/// browser runs on that host and can be made to send requests to it. So a request without a
/// token must come from a loopback peer (parsed from the socket, not a string prefix of a
/// name), name a loopback host (`Host: evil.example` resolving to 127.0.0.1 is DNS rebinding),
/// carry no `Origin` (browsers send one with every cross-site request that matters), and a call
/// that changes state (`POST /admin/reload`) must carry `X-Menshen-Admin`, a header no web page
/// can add without a CORS preflight, which this listener never grants.
enum AdminAccess {
    /// The header a state-changing admin call needs when no token is configured.
    static let intentHeader = HTTPField.Name("X-Menshen-Admin")!

    /// Why a request is refused, or nil when it may proceed.
    static func refusal(method: HTTPRequest.Method, host: String?, origin: String?, intent: Bool, peer: SocketAddress?) -> String? {
        guard let peer, isLoopback(peer) else { return "the admin listener without a token answers only loopback clients" }
        guard let host, isLoopbackHost(host) else { return "the admin listener without a token answers only requests for a loopback host name" }
        guard origin == nil else { return "admin requests from web pages are refused" }
        if method != .get && method != .head && !intent {
            return "state-changing admin requests need the header X-Menshen-Admin (or a bearer token)"
        }
        return nil
    }

    /// Whether a socket address is on this host (127.0.0.0/8, ::1, or IPv4-mapped 127/8).
    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let a):
            return UInt32(bigEndian: a.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            // ::ffff:127.x.y.z
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
        case .unixDomainSocket:
            return true
        }
    }

    /// Whether a host name (a `Host` header or `:authority`, port allowed) is a loopback literal
    /// or `localhost`.
    static func isLoopbackHost(_ authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.first == ":" && rest.dropFirst().allSatisfy(\.isASCII) && rest.dropFirst().allSatisfy(\.isNumber)) else { return false }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = host[..<colon]
        }
        return host.lowercased() == "localhost" || isLoopbackLiteral(String(host))
    }

    /// Whether `text` is an IPv4 literal in 127.0.0.0/8 or the IPv6 literal `::1` — parsed, so
    /// `127.evil.example` is not one.
    static func isLoopbackLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return bytes == [UInt8](repeating: 0, count: 15) + [1]
        }
        return false
    }
}

/// The admin listener's request context: the peer's address, for ``AdminAccess``.
struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Applies ``AdminAccess`` (without a token) or checks the bearer token (constant-time).
struct AdminGuardMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token {
            let presented = request.headers[.authorization] ?? ""
            let expected = "Bearer " + token
            guard presented.utf8.count == expected.utf8.count,
                  zip(presented.utf8, expected.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
                return AdminServer.json(["error": ["message": "admin endpoints need Authorization: Bearer <token>", "type": "authentication_error",
                                                   "code": "unauthorized"]], status: .unauthorized)
            }
            return try await next(request, context)
        }
        if let reason = AdminAccess.refusal(method: request.method, host: request.head.authority,
                                            origin: request.headers[.origin], intent: request.headers[AdminAccess.intentHeader] != nil,
                                            peer: context.remoteAddress) {
            return AdminServer.json(["error": ["message": reason, "type": "permission_error", "code": "forbidden"]], status: .forbidden)
        }
        return try await next(request, context)
    }
}
