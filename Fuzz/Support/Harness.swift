// Shared by every fuzz entry (compiled into each one's main module): how an entry reports a
// broken invariant, and the verbose mode for replaying one input by hand.
#if canImport(Glibc)
import Glibc
#endif

/// `FUZZ_VERBOSE=1 .build/fuzz/<target> <input>` prints what the input decoded to.
let fuzzVerbose: Bool = getenv("FUZZ_VERBOSE") != nil

/// Prints what an input decoded to, in verbose mode only.
@inline(__always)
func note(_ message: @autoclosure () -> String) {
    if fuzzVerbose { print(message()) }
}

/// A broken invariant (a round trip that changed the value, an encoding the decoder refuses):
/// libFuzzer sees the abort as a crash and keeps the input.
func invariantFailed(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fputs("FUZZ INVARIANT FAILED (\(file):\(line)): \(message)\n", stderr)
    fflush(stderr)
    abort()
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
           file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { invariantFailed(message(), file: file, line: line) }
}

/// The input as an array (libFuzzer's buffer is only valid during the call).
func inputBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

func hex<Bytes: Sequence>(_ bytes: Bytes, limit: Int = 96) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var out = ""
    var count = 0
    for byte in bytes {
        if count == limit { return out + "..." }
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
        count += 1
    }
    return out
}
