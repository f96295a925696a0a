/// Unsigned LEB128 varints: seven bits a byte, least significant first, the top bit set on every
/// byte but the last. The wire formats of the consensus messages and of the metrics batches both
/// write their numbers so; this is the one codec of both. Reading never trusts the bytes: a
/// number that runs past the end, or past 64 bits, is an error, never a crash or a wrap.
public enum Varint {
    public enum Failure: Error, Equatable, Sendable {
        /// The bytes ended inside the number.
        case truncated
        /// More than 64 bits (a tenth byte above 1, or an eleventh byte).
        case overlong
    }

    /// At most this many bytes for a 64-bit value.
    public static let bytesMax = 10

    public static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The number that starts at `offset`; `offset` moves past it.
    public static func read(_ bytes: [UInt8], at offset: inout Int) throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var position = offset
        while true {
            guard position >= 0, position < bytes.count else { throw .truncated }
            let next = bytes[position]
            position += 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            if shift == 63 && next > 1 { throw .overlong }
            value |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 {
                offset = position
                return value
            }
            shift += 7
            if shift > 63 { throw .overlong }
        }
    }
}
