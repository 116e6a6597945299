/// A labelling configuration, key or label that cannot be used. The message names the
/// culprit (`labels.content_producer '00ABC': must be 27 characters …`); `kind` is a
/// payload-free label for metrics.
public struct LabelError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case explicitText(text: String, problem: String)
        case invalidValue(field: String, value: String, problem: String)
        case key(source: String, problem: String)
        case malformedLabel(String)
        case notAnAnswer(String)
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    /// The explicit label text is empty, too long, or lacks a required word.
    static func explicitText(_ text: String, _ problem: String) -> LabelError { .init(.explicitText(text: text, problem: problem)) }
    /// A value of the implicit label (configured or produced) breaks its rules.
    static func invalidValue(_ field: String, _ value: String, _ problem: String) -> LabelError {
        .init(.invalidValue(field: field, value: value, problem: problem))
    }
    /// The signing key cannot be read or is too weak.
    static func key(_ source: String, _ problem: String) -> LabelError { .init(.key(source: source, problem: problem)) }
    /// A label text that is not an Appendix E metadata object.
    static func malformedLabel(_ reason: String) -> LabelError { .init(.malformedLabel(reason)) }
    /// A response body from which no answer text and label can be taken.
    static func notAnAnswer(_ reason: String) -> LabelError { .init(.notAnAnswer(reason)) }

    /// `explicit_text`, `invalid_value`, `key`, `malformed_label` or `not_an_answer`.
    public var kind: String {
        switch code {
        case .explicitText: return "explicit_text"
        case .invalidValue: return "invalid_value"
        case .key: return "key"
        case .malformedLabel: return "malformed_label"
        case .notAnAnswer: return "not_an_answer"
        }
    }

    public var description: String {
        switch code {
        case .explicitText(let text, let problem): return "labels.explicit_text '\(text)': \(problem)"
        case .invalidValue(let field, let value, let problem): return "\(field) '\(value)': \(problem)"
        case .key(let source, let problem): return "label key (\(source)): \(problem)"
        case .malformedLabel(let reason): return "malformed AIGC label: \(reason)"
        case .notAnAnswer(let reason): return "not a labelled answer: \(reason)"
        }
    }
}
