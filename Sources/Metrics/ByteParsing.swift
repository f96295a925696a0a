/// Cheap parsing of kernel text files straight from bytes: no regular expressions, no
/// Foundation, no intermediate strings except the names the caller keeps.
///
/// Kernel files are ASCII with fields separated by spaces, tabs or (in `/proc/net/dev`) a colon.
public enum ByteParsing {
    /// Calls `body` with the range of every line (without its newline), the last one too
    /// when the file does not end in a newline.
    @inlinable
    public static func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>,
                                   _ body: (Range<Int>) throws -> Void) rethrows {
        var start = 0
        var index = 0
        let end = bytes.count
        while index < end {
            if bytes[index] == 0x0A {
                try body(start..<index)
                start = index + 1
            }
            index += 1
        }
        if start < end { try body(start..<end) }
    }

    /// Whether `byte` separates fields: space, tab, or carriage return.
    @inlinable
    public static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D
    }

    /// Splits the range into whitespace-separated fields and writes up to `fields.count` of
    /// them into `fields`; returns how many were found (which may exceed the capacity).
    @inlinable
    public static func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                             into fields: inout [Range<Int>]) -> Int {
        var count = 0
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            while index < end && isSpace(bytes[index]) { index += 1 }
            if index >= end { break }
            let start = index
            while index < end && !isSpace(bytes[index]) { index += 1 }
            if count < fields.count { fields[count] = start..<index }
            count += 1
        }
        return count
    }

    /// Parses an unsigned decimal integer that fills the whole range; nil on anything else
    /// (a sign, garbage, overflow, an empty range).
    @inlinable
    public static func unsigned(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64? {
        if range.isEmpty { return nil }
        var value: UInt64 = 0
        for index in range {
            let digit = bytes[index] &- 0x30
            if digit > 9 { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// Parses a plain decimal number (`-12.75`, `0.21`, `42`) that fills the whole range.
    /// Exponents are not accepted: the kernel never writes them in the files read here. Fraction
    /// digits past the 18th are below a Double's precision and are read but not added; a number
    /// too large for a Double is nil (never infinity, never NaN).
    @inlinable
    public static func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
        var index = range.lowerBound
        let end = range.upperBound
        var negative = false
        if index < end && (bytes[index] == 0x2D || bytes[index] == 0x2B) {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var integer: Double = 0
        var fraction: Double = 0
        var scale: Double = 1
        var digits = 0
        var seenPoint = false
        while index < end {
            let byte = bytes[index]
            if byte == 0x2E {
                if seenPoint { return nil }
                seenPoint = true
            } else {
                let digit = byte &- 0x30
                if digit > 9 { return nil }
                digits += 1
                if seenPoint {
                    if scale < 1e18 {
                        scale *= 10
                        fraction = fraction * 10 + Double(digit)
                    }
                } else {
                    integer = integer * 10 + Double(digit)
                }
            }
            index += 1
        }
        if digits == 0 { return nil }
        let value = integer + fraction / scale
        guard value.isFinite else { return nil }
        return negative ? -value : value
    }

    /// Whether the range holds exactly `literal`.
    @inlinable
    public static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                              _ literal: StaticString) -> Bool {
        if range.count != literal.utf8CodeUnitCount { return false }
        let pointer = literal.utf8Start
        var offset = 0
        for index in range {
            if bytes[index] != pointer[offset] { return false }
            offset += 1
        }
        return true
    }

    /// Whether the range starts with `literal`.
    @inlinable
    public static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                                 _ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        if range.count < length { return false }
        return equals(bytes, range.lowerBound..<(range.lowerBound + length), literal)
    }

    /// A new string from the range (for names the caller keeps, such as a device name).
    @inlinable
    public static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Runs `body` over the UTF-8 bytes of `text`; the way tests and callers holding a
    /// `String` reach the byte parsers.
    public static func withBytes<T>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        var copy = text
        return try copy.withUTF8 { try body($0) }
    }

    /// Removes trailing whitespace and newlines from a range (sysfs values end in a newline).
    @inlinable
    public static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper && (isSpace(bytes[lower]) || bytes[lower] == 0x0A) { lower += 1 }
        while upper > lower && (isSpace(bytes[upper - 1]) || bytes[upper - 1] == 0x0A) { upper -= 1 }
        return lower..<upper
    }
}
