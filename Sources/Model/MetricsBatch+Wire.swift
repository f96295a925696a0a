#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Plumbing

/// The binary form of a metrics batch between blades.
///
/// Every blade sends its batch to every other blade once a second: a 16-blade active manager
/// decoded fifteen JSON batches a second, most of its replication CPU after the heartbeats
/// (measured with perf). The hot part (keys, values, statuses) is binary here; a descriptor,
/// sent only in full batches and when it changes, stays JSON inside its record.
///
/// Layout: the tag byte 0xB1, then blade (string), slot (varint), sequence (varint), run
/// (varint), sampledAt (IEEE 754 double, little-endian), full (byte), value count (varint), and per
/// value: key (string), flags (byte: 1 descriptor, 2 value, 4 text, 8 fault), status (byte, the
/// index in `Status.allCases`), then the parts the flags name in that order. A string is a varint
/// length and UTF-8 bytes. Numbers are LEB128 varints.
///
/// `decode` also reads the JSON form (its first byte is `{`), so a blade of the previous version
/// is understood while a chassis is upgraded blade by blade.
extension MetricsBatch {
    static let wireTag: UInt8 = 0xB1

    /// What a decoder accepts at most, so that a forged batch cannot make it allocate without bound.
    public enum WireLimits {
        public static let valuesMax = 4_096
        public static let stringBytesMax = 4_096
        public static let descriptorBytesMax = 16 << 10
    }

    public struct WireError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public func wireEncoded() -> [UInt8] {
        var out: [UInt8] = [Self.wireTag]
        out.reserveCapacity(64 + values.count * 40)
        Self.appendString(&out, blade)
        Self.appendVarint(&out, UInt64(max(0, slotID)))
        Self.appendVarint(&out, sequence)
        Self.appendVarint(&out, run)
        Self.appendDouble(&out, sampledAt)
        out.append(full ? 1 : 0)
        Self.appendVarint(&out, UInt64(values.count))
        let encoder = JSONEncoder()
        for value in values {
            Self.appendString(&out, value.key)
            let descriptor = value.descriptor.flatMap { try? encoder.encode($0) }
            var flags: UInt8 = 0
            if descriptor != nil { flags |= 1 }
            if value.value != nil { flags |= 2 }
            if value.text != nil { flags |= 4 }
            if value.fault != nil { flags |= 8 }
            out.append(flags)
            out.append(UInt8(Status.allCases.firstIndex(of: value.status) ?? 0))
            if let descriptor {
                Self.appendVarint(&out, UInt64(descriptor.count))
                out += descriptor
            }
            if let number = value.value { Self.appendDouble(&out, number) }
            if let text = value.text { Self.appendString(&out, text) }
            if let fault = value.fault { Self.appendString(&out, fault) }
        }
        return out
    }

    /// Reads either form; throws on anything malformed, oversized or trailing.
    public static func decode(wire bytes: [UInt8]) throws -> MetricsBatch {
        guard let first = bytes.first else { throw WireError(description: "an empty batch") }
        if first == UInt8(ascii: "{") {
            return try JSONDecoder().decode(MetricsBatch.self, from: Data(bytes))
        }
        guard first == wireTag else { throw WireError(description: "unknown batch format \(first)") }
        var reader = Reader(bytes: bytes, offset: 1)
        let blade = try reader.string()
        let slotID = try reader.varint(maximum: UInt64(Int32.max))
        let sequence = try reader.varint()
        let run = try reader.varint()
        let sampledAt = try reader.double()
        let full = try reader.byte()
        guard full <= 1 else { throw WireError(description: "bad full flag") }
        let count = try reader.varint(maximum: UInt64(WireLimits.valuesMax))
        var values: [ReplicatedValue] = []
        values.reserveCapacity(Int(count))
        let decoder = JSONDecoder()
        for _ in 0..<count {
            let key = try reader.string()
            let flags = try reader.byte()
            guard flags & ~0x0F == 0 else { throw WireError(description: "undefined flags \(flags)") }
            let statusIndex = Int(try reader.byte())
            guard statusIndex < Status.allCases.count else { throw WireError(description: "unknown status \(statusIndex)") }
            var descriptor: MetricDescriptor?
            if flags & 1 != 0 {
                let length = try reader.varint(maximum: UInt64(WireLimits.descriptorBytesMax))
                descriptor = try decoder.decode(MetricDescriptor.self, from: Data(try reader.bytes(Int(length))))
            }
            let number = flags & 2 != 0 ? try reader.double() : nil
            if let number, !number.isFinite { throw WireError(description: "a value that is not a finite number") }
            let text = flags & 4 != 0 ? try reader.string() : nil
            let fault = flags & 8 != 0 ? try reader.string() : nil
            values.append(ReplicatedValue(key: key, descriptor: descriptor, value: number, text: text, fault: fault,
                                          status: Status.allCases[statusIndex]))
        }
        guard reader.offset == bytes.count else { throw WireError(description: "\(bytes.count - reader.offset) trailing bytes") }
        return MetricsBatch(blade: blade, slotID: Int(slotID), sequence: sequence, run: run, sampledAt: sampledAt,
                            full: full == 1, values: values)
    }

    private static func appendVarint(_ out: inout [UInt8], _ value: UInt64) { Varint.append(value, to: &out) }

    private static func appendDouble(_ out: inout [UInt8], _ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 }
    }

    private static func appendString(_ out: inout [UInt8], _ value: String) {
        let utf8 = Array(value.utf8)
        appendVarint(&out, UInt64(utf8.count))
        out += utf8
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset: Int

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw WireError(description: "truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint(maximum: UInt64 = .max) throws -> UInt64 {
            let value: UInt64
            do {
                value = try Varint.read(bytes, at: &offset)
            } catch .truncated {
                throw WireError(description: "truncated")
            } catch {
                throw WireError(description: "number too large")
            }
            guard value <= maximum else { throw WireError(description: "\(value) over the limit \(maximum)") }
            return value
        }

        mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count <= bytes.count - offset else { throw WireError(description: "truncated") }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func double() throws -> Double {
            let raw = try bytes(8)
            var bits: UInt64 = 0
            for (index, byte) in raw.enumerated() { bits |= UInt64(byte) << (8 * UInt64(index)) }
            return Double(bitPattern: bits)
        }

        mutating func string() throws -> String {
            let length = try varint(maximum: UInt64(WireLimits.stringBytesMax))
            let raw = try bytes(Int(length))
            guard let text = String(validating: raw, as: UTF8.self) else { throw WireError(description: "a string that is not UTF-8") }
            return text
        }
    }
}
