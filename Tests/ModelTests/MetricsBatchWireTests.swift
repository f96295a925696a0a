import Foundation
import Model
import Testing

/// The binary form of metrics batches between blades: round trips, the JSON form of an older
/// blade, and hostile bytes.
@Suite struct MetricsBatchWireTests {
    static let descriptor = MetricDescriptor(key: "hwmon.coretemp.temp1", label: "Package <id> \"0\"", metricClass: .health,
                                             unit: "celsius", source: "libsensors", replication: .dynamic, group: .sensors,
                                             component: "coretemp", prometheusName: "node_hwmon_temp_celsius",
                                             prometheusLabels: ["chip": "coretemp", "sensor": "temp1"],
                                             limits: Limits(highWarning: 80, highCritical: 95))

    static let batch = MetricsBatch(blade: "blade-ß", slotID: 12, sequence: 1 << 40, run: 77, sampledAt: 1_795_637_482.386_839_4,
                                    full: true, values: [
                                        ReplicatedValue(key: "hwmon.coretemp.temp1", descriptor: descriptor, value: 47.25, text: nil,
                                                        fault: nil, status: .warning),
                                        ReplicatedValue(key: "id.serial", descriptor: nil, value: nil, text: "CMB7\u{0}2281946",
                                                        fault: nil, status: .ok),
                                        ReplicatedValue(key: "fan1", descriptor: nil, value: nil, text: nil,
                                                        fault: "read failed: EIO", status: .unknown),
                                        ReplicatedValue(key: "zero", descriptor: nil, value: -0.0, text: "", fault: "", status: .critical),
                                    ])

    @Test func roundTripsEveryField() throws {
        let bytes = Self.batch.wireEncoded()
        #expect(bytes.first == 0xB1)
        #expect(try MetricsBatch.decode(wire: bytes) == Self.batch)
        // The common batch: values that changed, no descriptors.
        var changes = Self.batch
        changes.full = false
        changes.values = (0..<30).map { ReplicatedValue(key: "cpu.core\($0).utilisation", descriptor: nil, value: Double($0) * 1.5,
                                                         text: nil, fault: nil, status: .ok) }
        let binary = changes.wireEncoded().count
        let json = try JSONEncoder().encode(changes).count
        #expect(binary < json, "binary \(binary) bytes, JSON \(json)") // 1,008 and 1,874 bytes
        #expect(try MetricsBatch.decode(wire: changes.wireEncoded()) == changes)
    }

    @Test func readsTheJSONFormOfABladeNotYetUpgraded() throws {
        let json = Array(try JSONEncoder().encode(Self.batch))
        #expect(try MetricsBatch.decode(wire: json) == Self.batch)
    }

    @Test func refusesEveryTruncationAndTrailingBytes() {
        let bytes = Self.batch.wireEncoded()
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self, "truncated at \(length)") { try MetricsBatch.decode(wire: Array(bytes.prefix(length))) }
        }
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: bytes + [0]) }
    }

    @Test func refusesHostileBytes() {
        var huge: [UInt8] = [0xB1, 1, UInt8(ascii: "b"), 1, 1, 1] + [UInt8](repeating: 0, count: 8) + [0]
        huge += [0xFF, 0xFF, 0xFF, 0xFF, 0x0F] // 4 billion values claimed
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: huge) }
        let unknown: [UInt8] = [0x42, 0, 0]
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: unknown) }
        // A NaN value, undefined flags, an unknown status, bad UTF-8: each refused.
        func one(flags: UInt8, status: UInt8, tail: [UInt8], key: [UInt8] = [UInt8(ascii: "k")]) -> [UInt8] {
            [0xB1, 1, UInt8(ascii: "b"), 1, 1, 1] + [UInt8](repeating: 0, count: 8) + [0, 1, UInt8(key.count)] + key
                + [flags, status] + tail
        }
        let nan = withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) }
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: one(flags: 2, status: 0, tail: nan)) }
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: one(flags: 0x10, status: 0, tail: [])) }
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: one(flags: 0, status: 9, tail: [])) }
        #expect(throws: MetricsBatch.WireError.self) { try MetricsBatch.decode(wire: one(flags: 0, status: 0, tail: [], key: [0xC3, 0x28])) }
        #expect((try? MetricsBatch.decode(wire: one(flags: 0, status: 0, tail: []))) != nil, "the well-formed neighbour decodes")
    }

    @Test func randomBytesNeverCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let valid = Self.batch.wireEncoded()
        for _ in 0..<2_000 {
            var bytes = valid
            for _ in 0..<(1 + Int(next() % 4)) {
                bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
            }
            _ = try? MetricsBatch.decode(wire: bytes)
        }
    }
}
