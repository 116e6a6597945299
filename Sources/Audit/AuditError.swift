/// A failure of the audit log. `kind` is payload-free (for metrics and for deciding what to
/// answer); the description names the file or key.
public struct AuditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Equatable {
        /// The log cannot write and the policy is `fail_closed`: answer 503.
        case unavailable
        /// `record` after `close()`.
        case closed
        /// The log directory or a file in it cannot be opened, read or created at start-up.
        case cannotOpen = "cannot_open"
        /// The configuration has problems (each names its key).
        case invalidConfiguration = "invalid_configuration"
    }

    private enum Code: Sendable, Equatable {
        case unavailable(reason: String)
        case closed
        case cannotOpen(path: String, reason: String)
        case invalidConfiguration([String])
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    static func unavailable(_ reason: String) -> AuditError { .init(.unavailable(reason: reason)) }
    static let closed = AuditError(.closed)
    static func cannotOpen(_ path: String, _ reason: String) -> AuditError { .init(.cannotOpen(path: path, reason: reason)) }
    static func invalidConfiguration(_ problems: [String]) -> AuditError { .init(.invalidConfiguration(problems)) }

    public var kind: Kind {
        switch code {
        case .unavailable: return .unavailable
        case .closed: return .closed
        case .cannotOpen: return .cannotOpen
        case .invalidConfiguration: return .invalidConfiguration
        }
    }

    public var description: String {
        switch code {
        case .unavailable(let reason): return "audit log unavailable (on_write_failure: fail_closed): \(reason)"
        case .closed: return "audit log is closed"
        case .cannotOpen(let path, let reason): return "\(path): \(reason)"
        case .invalidConfiguration(let problems): return problems.joined(separator: "\n")
        }
    }
}
