/// Checks run on a regex match before it counts, so that random digit runs do not fire.
///
/// Each works on the letters and digits of the match (separators such as spaces and hyphens
/// are ignored), upper-cased.
public enum Validator: String, Sendable, CaseIterable {
    /// GB 11643 resident identity number: 18 characters, ISO 7064 MOD 11-2 check character and
    /// a real birth date between 1900 and today.
    case cnResidentID = "cn-resident-id"
    /// Luhn (ISO/IEC 7812) check digit, for bank card numbers.
    case luhn
    /// GB 32100 unified social credit code: 18 characters, check character mod 31.
    case uscc

    /// Whether `text` (the matched UTF-8 bytes) passes.
    public func validate<C: Collection>(_ text: C) -> Bool where C.Element == UInt8 {
        var chars: [UInt8] = []
        chars.reserveCapacity(24)
        for b in text {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"): chars.append(b)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): chars.append(b - 32)
            default: continue
            }
        }
        switch self {
        case .cnResidentID: return Self.residentID(chars)
        case .luhn: return Self.luhn(chars)
        case .uscc: return Self.uscc(chars)
        }
    }

    static func residentID(_ c: [UInt8]) -> Bool {
        guard c.count == 18 else { return false }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for i in 0..<17 {
            guard c[i] >= 48 && c[i] <= 57 else { return false }
            sum += Int(c[i] - 48) * weights[i]
        }
        let checks = Array("10X98765432".utf8)
        guard checks[sum % 11] == c[17] else { return false }
        func number(_ r: Range<Int>) -> Int { r.reduce(0) { $0 * 10 + Int(c[$1] - 48) } }
        let year = number(6..<10), month = number(10..<12), day = number(12..<14)
        guard year >= 1900, year <= currentYear, (1...12).contains(month) else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    static func luhn(_ c: [UInt8]) -> Bool {
        guard c.count >= 12 else { return false }
        var sum = 0
        for (i, ch) in c.reversed().enumerated() {
            guard ch >= 48 && ch <= 57 else { return false }
            var d = Int(ch - 48)
            if i % 2 == 1 { d *= 2; if d > 9 { d -= 9 } }
            sum += d
        }
        return sum % 10 == 0
    }

    static func uscc(_ c: [UInt8]) -> Bool {
        guard c.count == 18 else { return false }
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
        let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
        var sum = 0
        for i in 0..<17 {
            guard let v = alphabet.firstIndex(of: c[i]) else { return false }
            sum += v * weights[i]
        }
        let check = (31 - sum % 31) % 31
        return alphabet[check] == c[17]
    }

    /// The current year (UTC), for birth-date plausibility.
    static let currentYear: Int = {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        return Int(parts.tm_year) + 1900
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
