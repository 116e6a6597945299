/// What a rule does when it fires.
public enum Action: String, Sendable, Codable, CaseIterable, Comparable {
    /// Record only: "would have" fired. Never changes what is delivered.
    case shadow
    /// Deliver unchanged and record.
    case flag
    /// Deliver with the matched text masked.
    case mask
    /// Refuse: the text is not forwarded / not delivered.
    case block

    /// Strength for choosing a verdict: block > mask > flag > shadow.
    var strength: Int {
        switch self {
        case .shadow: return 0
        case .flag: return 1
        case .mask: return 2
        case .block: return 3
        }
    }
    public static func < (a: Action, b: Action) -> Bool { a.strength < b.strength }
}

/// Which traffic a rule screens: prompts (`input`), answers (`output`), or both.
public enum Direction: String, Sendable, Codable, CaseIterable {
    case input, output

    /// Bit for ``DirectionSet``.
    var bit: UInt8 { self == .input ? 1 : 2 }
}

/// The directions a rule applies to.
public enum DirectionSet: String, Sendable, Codable {
    case input, output, both

    public func contains(_ d: Direction) -> Bool {
        switch self {
        case .both: return true
        case .input: return d == .input
        case .output: return d == .output
        }
    }
}

/// How bad a hit is, for audit and alerting.
public enum Severity: String, Sendable, Codable, CaseIterable {
    case low, medium, high, critical
}

/// JR/T 0171-2020 personal financial information classes that matter to routing.
public enum Sensitivity: String, Sendable, Codable {
    /// Card, ID and phone numbers, account data: may leave the data centre only masked.
    case c2 = "C2"
    /// Passwords, CVV/CVN, track data, one-time codes: never leaves the data centre.
    case c3 = "C3"
}

/// How a matched value is shown when masked.
public enum MaskStyle: Sendable, Equatable {
    /// Every letter and digit becomes `*`; separators stay.
    case full
    /// Keep the first `start` and last `end` letters/digits; the rest become `*`.
    case keep(start: Int, end: Int)
    /// Replace the whole match with a fixed text.
    case replace(String)
}

/// Where a rule (or a term of it) was written, for messages and audit.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public init(file: String, line: Int) { self.file = file; self.line = line }
    public var description: String { "\(file):\(line)" }
}

/// A compiled rule: a term list (one rule per file) or one regex rule.
public struct Rule: Sendable, Identifiable {
    public enum Kind: Sendable {
        case terms
        case regex(pattern: String, validator: Validator?)
    }
    /// Stable identifier (`finance.guaranteed-returns`, `pii.cn-mobile`).
    public let id: String
    public let kind: Kind
    public let category: String
    /// TC260-003 Appendix A risk code, if the lexicon names one (`A.4.f`).
    public let risk: String?
    public let action: Action
    public let severity: Severity
    public let direction: DirectionSet
    public let mask: MaskStyle
    public let sensitivity: Sensitivity?
    /// Type name for reversible pseudonymization placeholders (`PHONE` → `[PHONE_1]`).
    public let placeholder: String?
    public let description: String
    public let source: SourceLocation
}
