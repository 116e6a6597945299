/// The longest run of ASCII digits in a text: the prefilter of number rules (`digit_run:` in a
/// regex rule file).
///
/// A run counts digits. Between two digits of one run there may be up to ``maximumGap`` bytes
/// of the separators people type inside numbers (space `.` `-` `_` `/` `(` `)` `+`), so
/// `138 1234 5678`, `138-1234-5678` and `(212) 555-1234` are runs of 11, 11 and 10 digits; any
/// other byte ends a run. Regex rules read width-folded text, so full-width digits count too.
///
/// A rule that declares `digit_run: N` promises that every match holds a run of at least N
/// digits by this measure; a whole text whose longest run is shorter is not searched for it.
/// `menshen lexicon test` checks the promise on every regression case (a case a rule matches
/// only when fed as a stream is reported).
enum DigitRun {
    /// The largest `digit_run:` a rule may declare.
    static let maximumDeclared = 64
    /// Separator bytes allowed between two digits of one run.
    static let maximumGap = 3

    /// The length of the longest run in `bytes`, or `enough` as soon as a run reaches it
    /// (the caller needs to know no more).
    static func longest(in bytes: UnsafeBufferPointer<UInt8>, enough: Int) -> Int {
        var best = 0, run = 0, gap = 0
        for byte in bytes {
            if byte &- 0x30 < 10 {
                run += 1
                gap = 0
                if run > best {
                    best = run
                    if best >= enough { return best }
                }
            } else if run > 0 && isSeparator(byte) && gap < maximumGap {
                gap += 1
            } else {
                run = 0
                gap = 0
            }
        }
        return best
    }

    @inline(__always)
    private static func isSeparator(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x2E, 0x2D, 0x5F, 0x2F, 0x28, 0x29, 0x2B: return true     // space . - _ / ( ) +
        default: return false
        }
    }
}
