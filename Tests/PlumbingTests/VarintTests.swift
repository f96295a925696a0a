import Foundation
import Testing
@testable import Plumbing

/// The one LEB128 codec of both wire formats: round trips at every width, and the bytes of
/// another process refused cleanly, never trapped on.
@Suite struct VarintTests {
    @Test func everyWidthRoundTrips() throws {
        var values: [UInt64] = [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, UInt64(UInt32.max), UInt64.max - 1, UInt64.max]
        for shift in 0..<64 { values.append(1 << UInt64(shift)) }
        for value in values {
            var bytes: [UInt8] = [0xAA]
            Varint.append(value, to: &bytes)
            #expect(bytes.count - 1 == max(1, (64 - value.leadingZeroBitCount + 6) / 7), "\(value)")
            var offset = 1
            #expect(try Varint.read(bytes, at: &offset) == value)
            #expect(offset == bytes.count)
        }
        // Known encodings (the protocol buffers' examples).
        var three: [UInt8] = []
        Varint.append(300, to: &three)
        #expect(three == [0xAC, 0x02])
    }

    @Test func brokenNumbersAreErrorsAndTheOffsetStays() throws {
        let cases: [([UInt8], Varint.Failure)] = [
            ([], .truncated), ([0x80], .truncated), ([0xFF, 0xFF], .truncated),
            (Array(repeating: 0xFF, count: 9) + [0x02], .overlong),
            (Array(repeating: 0x80, count: 10) + [0x01], .overlong),
        ]
        for (bytes, failure) in cases {
            var offset = 0
            do {
                _ = try Varint.read(bytes, at: &offset)
                Issue.record("read a number from \(bytes)")
            } catch {
                #expect(error == failure, "\(bytes)")
            }
            #expect(offset == 0, "\(bytes)")
        }
        #expect(throws: Varint.Failure.truncated) {
            var past = 5
            _ = try Varint.read([0x01], at: &past)
        }
        // The largest value: nine 0xFF and a final 0x01.
        var offset = 0
        #expect(try Varint.read(Array(repeating: 0xFF, count: 9) + [0x01], at: &offset) == UInt64.max)
    }
}

@Suite struct SplitMix64Tests {
    @Test func aSeedGivesTheSameSequenceAndTheReferenceValues() {
        var first = SplitMix64(seed: 1234567)
        var second = SplitMix64(seed: 1234567)
        let a = (0..<100).map { _ in first.next() }
        #expect(a == (0..<100).map { _ in second.next() })
        // The reference implementation's first outputs for seed 1234567.
        var reference = SplitMix64(seed: 1234567)
        #expect(reference.next() == 6457827717110365317)
        #expect(reference.next() == 3203168211198807973)
        var other = SplitMix64(seed: 1234568)
        #expect(other.next() != a[0])
    }

    @Test func unitValuesStayBelowOne() {
        var random = SplitMix64(seed: 9)
        let units = (0..<10_000).map { _ in random.nextUnit() }
        #expect(units.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = units.reduce(0, +) / Double(units.count)
        #expect(abs(mean - 0.5) < 0.02)
    }
}

@Suite struct HostClockTests {
    @Test func theSystemClocksMoveForwardAndAgreeWithFoundation() {
        let first = HostClock.system.monotonicNanoseconds()
        let second = HostClock.system.monotonicNanoseconds()
        #expect(second >= first)
        let wall = HostClock.system.wallSeconds()
        #expect(abs(wall - Date().timeIntervalSince1970) < 1)
        #expect(abs(HostClock.system.monotonicSeconds() - Double(HostClock.system.monotonicNanoseconds()) / 1e9) < 0.1)
    }
}
