// libFuzzer target for Wire's SSE parser (docs/fuzzing.md).
//
// Input layout: byte 0 picks `maximumLineBytes` (low 2 bits) and whether a 1-byte feed is also
// compared (bit 2); byte 1 is the number of split points n (mod 16); the next 2n bytes are the
// split points (little-endian UInt16, modulo the stream length + 1, empty pieces allowed); the
// rest is the stream.
//
// Properties, written for whatever `SSEParser` does (it is being changed: they compare the
// parser with itself and do not encode the field rules):
// 1. `feed` / `finish` return or throw; they never crash or trap.
// 2. Split invariance: the stream fed whole, fed in the chosen pieces, and (if chosen) fed one
//    byte at a time gives the same events and the same thrown error (type and description).
//    When feeding throws, the events returned before the error by a split feed must be a prefix
//    of the events the 1-byte feed returned before its error (the whole feed returns none).
// 3. Bounded lines and events: `LineTooLong` is thrown only when some line of the input (bytes
//    between CR/LF) is longer than `maximumLineBytes` (an event's lines together are bounded by
//    the same limit, with `EventTooLarge`); a line longer than `maximumLineBytes` + 3 (room for a
//    BOM) always makes feeding throw; no event field is longer than 3 × `maximumLineBytes`
//    bytes (an invalid byte decodes to the 3-byte U+FFFD).
// 4. Write-back: every event, serialized and parsed again, is the same event.
import Wire

struct Outcome: Equatable {
    var events: [SSEParser.Event] = []
    /// The thrown error as "Type: description", or nil.
    var error: String?
}

func describe(_ error: Error) -> String { "\(type(of: error)): \(error)" }

func run(_ pieces: [ArraySlice<UInt8>], maximumLineBytes: Int) -> Outcome {
    var parser = SSEParser(maximumLineBytes: maximumLineBytes)
    var out = Outcome()
    do {
        for piece in pieces { out.events += try parser.feed(piece) }
        out.events += parser.finish()
    } catch {
        out.error = describe(error)
    }
    return out
}

func fail(_ message: String, _ stream: ArraySlice<UInt8>) -> Never {
    fatalError("fuzz-sse: \(message) for stream \(String(decoding: stream.prefix(512), as: UTF8.self).debugDescription)")
}

func longestLine(_ stream: ArraySlice<UInt8>) -> Int {
    var longest = 0, current = 0
    for b in stream {
        if b == 0x0A || b == 0x0D { current = 0 } else { current += 1; longest = max(longest, current) }
    }
    return longest
}

let lineLimits = [8, 64, 1024, 4 << 20]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSSE(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 2 else { return 0 }
    let maximumLineBytes = lineLimits[Int(input[0] & 3)]
    let compareBytewise = input[0] & 4 != 0
    let n = Int(input[1] & 15)
    let header = min(input.count, 2 + 2 * n)
    let stream = input[header...]
    var cuts: [Int] = []
    var k = 2
    while k + 1 < header {
        cuts.append(stream.startIndex + (Int(input[k]) | Int(input[k + 1]) << 8) % (stream.count + 1))
        k += 2
    }
    cuts.sort()
    var pieces: [ArraySlice<UInt8>] = []
    var at = stream.startIndex
    for cut in cuts {
        pieces.append(stream[at..<cut])
        at = cut
    }
    pieces.append(stream[at...])

    let whole = run([stream], maximumLineBytes: maximumLineBytes)
    let split = run(pieces, maximumLineBytes: maximumLineBytes)
    let bytewise = compareBytewise ? run(stream.indices.map { stream[$0..<($0 + 1)] }, maximumLineBytes: maximumLineBytes) : nil

    // 2. Split invariance.
    guard whole.error == split.error else {
        fail("whole feed gives error \(whole.error ?? "none"), split feed at \(cuts) gives \(split.error ?? "none")", stream)
    }
    if let bytewise, bytewise.error != whole.error {
        fail("whole feed gives error \(whole.error ?? "none"), 1-byte feed gives \(bytewise.error ?? "none")", stream)
    }
    if whole.error == nil {
        guard whole.events == split.events else {
            fail("split feed at \(cuts) gives \(split.events.count) events \(split.events.map(\.fields).description.prefix(300)), whole feed \(whole.events.count) \(whole.events.map(\.fields).description.prefix(300))", stream)
        }
        if let bytewise, bytewise.events != whole.events {
            fail("1-byte feed gives \(bytewise.events.count) events, whole feed \(whole.events.count)", stream)
        }
    } else if let bytewise {
        guard split.events.count <= bytewise.events.count, Array(bytewise.events.prefix(split.events.count)) == split.events else {
            fail("before the error, the split feed gave events that the 1-byte feed did not", stream)
        }
    }

    // 3. Bounded lines.
    let longest = longestLine(stream)
    if let error = whole.error, error.hasPrefix("LineTooLong"), longest <= maximumLineBytes {
        fail("LineTooLong although the longest line is \(longest) bytes (limit \(maximumLineBytes))", stream)
    }
    if longest > maximumLineBytes + 3, whole.error == nil {
        fail("a \(longest)-byte line passed the \(maximumLineBytes)-byte limit", stream)
    }
    for event in whole.events {
        for field in event.fields where field.name.utf8.count + field.value.utf8.count > 3 * maximumLineBytes {
            fail("a field of \(field.name.utf8.count + field.value.utf8.count) bytes passed the \(maximumLineBytes)-byte line limit", stream)
        }
    }

    // 4. Write-back.
    for event in whole.events {
        // After a blank line, so that a field name beginning with U+FEFF is not a stream-start BOM.
        let serialized = [UInt8(ascii: "\n")] + event.serialized()
        let again = run([serialized[...]], maximumLineBytes: 3 * maximumLineBytes + 16)
        guard again.error == nil, again.events == [event] else {
            fail("event \(event.fields) written back as \(String(decoding: serialized, as: UTF8.self).debugDescription) reads as \(again.events.map(\.fields)) \(again.error ?? "")", stream)
        }
    }
    return 0
}
