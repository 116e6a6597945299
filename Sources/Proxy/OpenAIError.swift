import Foundation
import Hummingbird
import HTTPTypes
import Screening

/// Errors in the OpenAI shape clients already parse:
/// `{"error": {"message": …, "type": …, "param": null, "code": …}}`.
public struct OpenAIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    public let type: String
    public let code: String
    /// Extra members of the `error` object (content filter details).
    var details: [String: JSONFragment] = [:]

    public init(status: HTTPResponse.Status, message: String, type: String, code: String) {
        self.status = status
        self.message = message
        self.type = type
        self.code = code
    }

    static func badRequest(_ message: String, code: String = "invalid_request") -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, type: "invalid_request_error", code: code)
    }
    static func tooLarge(limit: Int) -> OpenAIError {
        OpenAIError(status: .contentTooLarge, message: "request body exceeds the limit of \(limit) bytes", type: "invalid_request_error", code: "request_too_large")
    }
    static func badGateway(_ message: String, code: String = "upstream_unreachable") -> OpenAIError {
        OpenAIError(status: .badGateway, message: message, type: "upstream_error", code: code)
    }
    /// An answer on a screened route that Menshen cannot read is refused, never delivered unscreened.
    static func unscreenableAnswer(_ problem: String) -> OpenAIError {
        OpenAIError(status: .badGateway, message: "the model server's answer cannot be screened: \(problem)", type: "upstream_error",
                    code: "upstream_answer_unscreenable")
    }
    /// A streamed answer that ended badly (sent as the stream's last event, not as a status).
    static func streamFailure(_ message: String) -> OpenAIError {
        OpenAIError(status: .badGateway, message: message, type: "upstream_error", code: "upstream_stream_error")
    }
    static func gatewayTimeout(_ message: String) -> OpenAIError {
        OpenAIError(status: .gatewayTimeout, message: message, type: "upstream_error", code: "upstream_timeout")
    }
    static func unavailable(_ message: String, code: String) -> OpenAIError {
        OpenAIError(status: .serviceUnavailable, message: message, type: "server_error", code: code)
    }

    /// The JSON object `{"error": {...}}`.
    var jsonObject: [String: Any] {
        var error: [String: Any] = ["message": message, "type": type, "param": NSNull(), "code": code]
        for (k, v) in details { error[k] = v.value }
        return ["error": error]
    }

    func response(requestID: String, extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        headers[.menshenRequestID] = requestID
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Azure OpenAI's `content_filter_result(s)` shape, filled from Menshen's matches: rule ids,
/// categories and severities — never the matched text.
enum ContentFilterDetails {
    static func object(for matches: [Match], lexicons: LexiconSet, policy: ActionPolicy, direction: Direction) -> [String: Any] {
        var byCategory: [String: [String: Any]] = [:]
        for m in matches {
            let rule = lexicons.rules[m.rule]
            let action = policy.action(for: m, lexicons: lexicons, direction: direction)
            var entry = byCategory[rule.category] ?? ["filtered": false, "detected": true, "severity": rule.severity.rawValue, "rules": [String]()]
            if action == .block || action == .mask { entry["filtered"] = true }
            var rules = entry["rules"] as! [String]
            if !rules.contains(rule.id) { rules.append(rule.id) }
            entry["rules"] = rules
            entry["action"] = Self.stronger(entry["action"] as? String, action.rawValue)
            if let risk = rule.risk { entry["risk"] = risk }
            byCategory[rule.category] = entry
        }
        return byCategory
    }

    private static func stronger(_ a: String?, _ b: String) -> String {
        guard let a, let x = Action(rawValue: a), let y = Action(rawValue: b) else { return b }
        return max(x, y).rawValue
    }
}

extension HTTPField.Name {
    static let menshenRequestID = HTTPField.Name("X-Request-Id")!
    static let menshenLexiconVersion = HTTPField.Name("X-Menshen-Lexicon-Version")!
    static let menshenDecision = HTTPField.Name("X-Menshen-Decision")!
    static let menshenUpstream = HTTPField.Name("X-Menshen-Upstream")!
    /// GB 45438 Appendix E implicit label of a non-streamed answer.
    static let aigcLabel = HTTPField.Name("X-AIGC-Label")!
}

/// A JSON value built for serialization (dictionaries, arrays, strings, numbers). Such graphs
/// are never mutated after they are built, so passing them between tasks is safe.
struct JSONFragment: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
