import CPCRE2

/// A PCRE2 pattern compiled once (with JIT) and shared read-only by every scanner.
///
/// Compiled with `PCRE2_MATCH_INVALID_UTF | PCRE2_UCP`: stream chunks can end inside a UTF-8
/// sequence, and plain `PCRE2_UTF` would turn that into an error (or, on the JIT fast path,
/// undefined behaviour) instead of a match result.
public final class PCRE2Pattern: @unchecked Sendable {
    // The compiled code is immutable after JIT compilation, so sharing it across threads is
    // safe; match data is per scanner (see `MatchData`).
    let code: OpaquePointer
    public let pattern: String
    public let jitCompiled: Bool
    /// The longest lookbehind, in characters, so streams keep enough settled text before the
    /// resume point.
    public let maxLookbehind: Int
    /// The number of capture groups.
    public let captureCount: Int

    /// A pattern that does not compile.
    public struct CompileError: Error, Sendable, CustomStringConvertible {
        public let message: String
        /// Offset in the pattern, in code units.
        public let offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    public init(_ pattern: String, caseInsensitive: Bool = false) throws(CompileError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        var options = UInt32(PCRE2_UCP) | UInt32(PCRE2_MATCH_INVALID_UTF)
        if caseInsensitive { options |= UInt32(PCRE2_CASELESS) }
        let compiled: OpaquePointer? = pattern.withCString { p in
            p.withMemoryRebound(to: UInt8.self, capacity: 1) {
                pcre2_compile_8($0, pattern.utf8.count, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            throw CompileError(message: PCRE2Pattern.message(for: errorCode), offset: errorOffset)
        }
        self.code = compiled
        self.pattern = pattern
        self.jitCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE) | UInt32(PCRE2_JIT_PARTIAL_HARD)) == 0
        var lookbehind: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_MAXLOOKBEHIND), &lookbehind)
        self.maxLookbehind = Int(lookbehind)
        var captures: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        self.captureCount = Int(captures)
    }

    deinit { pcre2_code_free_8(code) }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(code)"
    }

    /// The outcome of one match attempt.
    public enum MatchResult: Equatable, Sendable {
        /// A complete match: the whole range and the selected group's range (byte offsets).
        case match(whole: Range<Int>, group: Range<Int>?)
        /// The subject ended inside a possible match starting at this offset (partial hard).
        case partial(start: Int)
        case noMatch
        /// A matching error (for example a resource limit). Callers fail closed.
        case error(Int32)
    }

    /// Per-scanner scratch space for match results.
    public final class MatchData: @unchecked Sendable {
        // Owned by one scanner at a time; never shared between concurrent scans.
        let pointer: OpaquePointer
        init(for pattern: PCRE2Pattern) {
            pointer = pcre2_match_data_create_from_pattern_8(pattern.code, nil)
        }
        /// Room for `pairs` offset pairs (the whole match plus capture groups), so one block can
        /// serve several patterns matched one after another.
        public init(pairs: Int) {
            pointer = pcre2_match_data_create_8(UInt32(max(1, pairs)), nil)
        }
        deinit { pcre2_match_data_free_8(pointer) }
    }

    public func makeMatchData() -> MatchData { MatchData(for: self) }

    /// Matches in `subject` from `start`. With `partial`, an end of subject inside a possible
    /// match is reported as ``MatchResult/partial(start:)`` (PCRE2_PARTIAL_HARD), which is how
    /// streams know what to hold back.
    public func match(_ subject: UnsafeBufferPointer<UInt8>, from start: Int, group: Int, partial: Bool,
                      data: MatchData) -> MatchResult {
        let options: UInt32 = partial ? UInt32(PCRE2_PARTIAL_HARD) : 0
        let base = subject.baseAddress ?? UnsafePointer(bitPattern: 1)!
        let rc = pcre2_match_8(code, base, subject.count, start, options, data.pointer, nil)
        let ovector = pcre2_get_ovector_pointer_8(data.pointer)!
        if rc == PCRE2_ERROR_NOMATCH { return .noMatch }
        if rc == PCRE2_ERROR_PARTIAL { return .partial(start: Int(ovector[0])) }
        if rc < 0 { return .error(rc) }
        let whole = Int(ovector[0])..<Int(ovector[1])
        var groupRange: Range<Int>? = whole
        if group > 0 {
            let lo = ovector[2 * group], hi = ovector[2 * group + 1]
            groupRange = (group < Int(rc) && lo != ~0) ? Int(lo)..<Int(hi) : nil
        }
        return .match(whole: whole, group: groupRange)
    }
}
