/// Reversible masking (pseudonymization) for prompts that leave the data centre: each sensitive
/// value becomes a typed placeholder (`[PHONE_1]`), the same value always the same placeholder
/// within one map, and answers get the values back.
///
/// The map lives only in memory, for one request (or one conversation key) — never logged,
/// never audited, never sent anywhere.
public final class PseudonymMap: @unchecked Sendable {
    // Used by one request at a time (its own task); not shared between requests.
    private var placeholderOf: [String: String] = [:]
    private var valueOf: [String: String] = [:]
    private var counters: [String: Int] = [:]

    public init() {}

    /// How many values of each type were replaced (for audit and metrics: counts, never values).
    public var countsByType: [String: Int] { counters }

    /// The placeholder for `value` of `type`, minting `[TYPE_n]` on first sight.
    public func placeholder(for value: String, type: String) -> String {
        let key = type + "\u{0}" + Self.canonical(value)
        if let p = placeholderOf[key] { return p }
        let n = (counters[type] ?? 0) + 1
        counters[type] = n
        let p = "[\(type)_\(n)]"
        placeholderOf[key] = p
        valueOf[p] = value
        return p
    }

    /// The original value of a canonical placeholder (`[PHONE_1]`), if this map minted it.
    public func value(of placeholder: String) -> String? { valueOf[placeholder] }

    public var isEmpty: Bool { valueOf.isEmpty }

    /// Separators do not make a different value: `138 1234 5678` and `13812345678` are one phone.
    static func canonical(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil })).uppercased()
    }
}

/// Replaces matched values with placeholders.
public enum Pseudonymizer {
    /// `text` with every match of a rule that has a placeholder type replaced by its placeholder
    /// (leftmost-longest); other matches are left to the caller.
    public static func apply(to text: String, matches: [Match], rules: [Rule], map: PseudonymMap) -> String {
        let bytes = Array(text.utf8)
        let selected = Match.leftmostLongest(matches.filter { rules[$0.rule].placeholder != nil && $0.context < 0 })
        guard !selected.isEmpty else { return text }
        var out: [UInt8] = []
        var cursor = 0
        for m in selected {
            out += bytes[cursor..<m.range.lowerBound]
            let value = String(decoding: bytes[m.range], as: UTF8.self)
            out += Array(map.placeholder(for: value, type: rules[m.rule].placeholder!).utf8)
            cursor = m.range.upperBound
        }
        out += bytes[cursor...]
        return String(decoding: out, as: UTF8.self)
    }
}

/// How C3 data (passwords, CVV/CVN, track data, one-time codes) is treated on its way out.
public enum C3Handling: String, Sendable, Equatable {
    /// The request is refused.
    case block
    /// The value is cut out (replaced by `[REMOVED]`) and the rest goes.
    case remove
}

/// Builds the text that may leave the data centre.
public enum Desensitizer {
    /// `text` with C2 values pseudonymized (rules with a placeholder type), C3 values removed
    /// (or reported, for the caller to block), and other mask-action matches masked.
    /// - Returns: the text, and whether C3 data was found.
    public static func external(_ text: String, matches: [Match], lexicons: LexiconSet, policy: ActionPolicy,
                                map: PseudonymMap, c3: C3Handling) -> (text: String, foundC3: Bool) {
        let rules = lexicons.rules
        let bytes = Array(text.utf8)
        var foundC3 = false
        let relevant = matches.filter { m in
            let rule = rules[m.rule]
            if rule.sensitivity == .c3 { foundC3 = true; return true }
            // A context that changed the action (an order number, not an ID) also says the value
            // is not personal data: it is not pseudonymized either.
            return (rule.placeholder != nil && m.context < 0) || policy.action(for: m, lexicons: lexicons, direction: .input) == .mask
        }
        var out: [UInt8] = []
        var cursor = 0
        for m in Match.leftmostLongest(relevant) {
            out += bytes[cursor..<m.range.lowerBound]
            let rule = rules[m.rule]
            let value = String(decoding: bytes[m.range], as: UTF8.self)
            if rule.sensitivity == .c3 {
                out += c3 == .remove ? Array("[REMOVED]".utf8) : Masker.render(bytes[m.range], style: .full)
            } else if let type = rule.placeholder {
                out += Array(map.placeholder(for: value, type: type).utf8)
            } else {
                out += Masker.render(bytes[m.range], style: rule.mask)
            }
            cursor = m.range.upperBound
        }
        out += bytes[cursor...]
        return (String(decoding: out, as: UTF8.self), foundC3)
    }
}

/// Puts original values back where an answer names a placeholder, tolerating what models do to
/// them: case (`[phone_1]`), width (`［ＰＨＯＮＥ＿１］`), spaces (`[ PHONE_1 ]`, `[PHONE _1]`).
/// A placeholder this map did not mint (the model invented `[PHONE_7]`) stays as it is:
/// nothing is ever "restored" into something else.
///
/// For streams it holds back only a possible placeholder's beginning — an open bracket and
/// what follows it, up to ``maximumPlaceholderLength`` characters.
public struct PlaceholderRestorer: Sendable {
    public let map: PseudonymMap
    private var pending = ""
    public static let maximumPlaceholderLength = 48

    public init(map: PseudonymMap) { self.map = map }

    /// Restores a whole text.
    public func restore(_ text: String) -> String {
        var copy = self
        return copy.feed(text) + copy.finish()
    }

    /// Feeds released answer text; returns what may be delivered now.
    public mutating func feed(_ text: String) -> String {
        pending += text
        var out = ""
        var scalars = Array(pending.unicodeScalars)
        var i = 0
        var holdFrom: Int?
        while i < scalars.count {
            let s = scalars[i]
            guard Self.isOpen(s) else { out.unicodeScalars.append(s); i += 1; continue }
            switch Self.parse(scalars, from: i) {
            case .incomplete:
                holdFrom = i
            case .notPlaceholder:
                out.unicodeScalars.append(s)
                i += 1
                continue
            case .placeholder(let canonical, let end):
                if let value = map.value(of: canonical) {
                    out += value
                } else {
                    out.unicodeScalars.append(contentsOf: scalars[i..<end])
                }
                i = end
                continue
            }
            break
        }
        if let h = holdFrom {
            scalars.removeFirst(h)
            pending = String(String.UnicodeScalarView(scalars))
        } else {
            pending = ""
        }
        return out
    }

    /// The stream ended: whatever was held is not a placeholder.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }

    enum Parsed { case incomplete, notPlaceholder, placeholder(String, end: Int) }

    static func isOpen(_ s: Unicode.Scalar) -> Bool { s == "[" || s == "［" || s == "【" }
    static func isClose(_ s: Unicode.Scalar) -> Bool { s == "]" || s == "］" || s == "】" }

    /// Parses `[ TYPE _ n ]` loosely from an opening bracket.
    static func parse(_ s: [Unicode.Scalar], from start: Int) -> Parsed {
        var type = ""
        var digits = ""
        var i = start + 1
        var sawUnderscore = false
        while i < s.count {
            if i - start > maximumPlaceholderLength { return .notPlaceholder }
            var c = s[i]
            // Fold full-width ASCII (Ａ → A, ＿ → _, １ → 1).
            if c.value >= 0xFF01 && c.value <= 0xFF5E { c = Unicode.Scalar(c.value - 0xFEE0)! }
            if c == " " || c == "\u{3000}" { i += 1; continue }
            if isClose(s[i]) {
                guard !type.isEmpty, !digits.isEmpty, sawUnderscore else { return .notPlaceholder }
                return .placeholder("[\(type)_\(digits)]", end: i + 1)
            }
            if c == "_" || c == "-" {
                if !digits.isEmpty { return .notPlaceholder }
                sawUnderscore = true
            } else if ("0"..."9").contains(c) {
                guard sawUnderscore else { return .notPlaceholder }
                digits.unicodeScalars.append(c)
            } else if ("A"..."Z").contains(c) || ("a"..."z").contains(c) {
                guard digits.isEmpty else { return .notPlaceholder }
                if sawUnderscore { type += "_"; sawUnderscore = false }
                type += String(c).uppercased()
            } else {
                return .notPlaceholder
            }
            i += 1
        }
        return .incomplete
    }
}
