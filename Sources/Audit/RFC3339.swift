#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// RFC 3339 timestamps in UTC with microseconds: `2025-09-01T08:30:00.123456Z`.
/// Formatted by hand: it is on the write path, and fixed-width output sorts as text.
enum RFC3339 {
    static func format(_ date: Date) -> String {
        let total = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var micros = Int64(total)
        var seconds = micros / 1_000_000
        micros %= 1_000_000
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(Int(micros), 6))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ r: Range<Int>) -> Int? {
            guard r.upperBound <= b.count else { return nil }
            var n = 0
            for i in r { guard (0x30...0x39).contains(b[i]) else { return nil }; n = n * 10 + Int(b[i] - 0x30) }
            return n
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = num(0..<4), let month = num(5..<7), let day = num(8..<10),
              let hour = num(11..<13), let minute = num(14..<16), let second = num(17..<19) else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, (0x30...0x39).contains(b[i]) { fraction += Double(b[i] - 0x30) * scale; scale /= 10; i += 1 }
            if i == start { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard b.count == i + 6, b[i + 3] == UInt8(ascii: ":"), let h = num(i + 1..<i + 3), let m = num(i + 4..<i + 6) else { return nil }
            offset = (h * 60 + m) * 60 * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else { return nil }
        guard i == b.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }

    /// `20250901T083000Z`: second precision, for file names.
    static func compact(_ date: Date) -> String {
        let b = Array(format(date).utf8)       // 2025-09-01T08:30:00.000000Z
        var out: [UInt8] = []
        for r in [0..<4, 5..<7, 8..<13, 14..<16, 17..<19] { out += b[r] }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func parseCompact(_ text: some StringProtocol) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        var out: [UInt8] = []
        out += b[0..<4]; out.append(UInt8(ascii: "-"))
        out += b[4..<6]; out.append(UInt8(ascii: "-"))
        out += b[6..<8]; out.append(UInt8(ascii: "T"))
        out += b[9..<11]; out.append(UInt8(ascii: ":"))
        out += b[11..<13]; out.append(UInt8(ascii: ":"))
        out += b[13..<15]; out.append(UInt8(ascii: "Z"))
        return parse(String(decoding: out, as: UTF8.self))
    }
}
