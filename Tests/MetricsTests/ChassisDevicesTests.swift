import Foundation
import Metrics
import Model
import Testing

@Suite struct ChassisDevicesTests {
    @Test func parsesCommandOutput() {
        let readings = ChassisDevicesCollector.parse("""
            chassis.psu1.state 1
            chassis.psu2.state 0
            chassis.fan1.rpm 4200
            chassis.fan2.rpm garbage
            chassis.unknown 5
            not a line
            chassis.midplane.temperature 33.5
            """)
        let byKey = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0) })
        #expect(byKey["chassis.psu1.state"]?.value == 1)
        #expect(byKey["chassis.psu2.state"]?.value == 0)
        #expect(byKey["chassis.fan1.rpm"]?.value == 4200)
        #expect(byKey["chassis.fan2.rpm"]?.fault != nil, "an unreadable value is a fault, not a crash")
        #expect(byKey["chassis.midplane.temperature"]?.value == 33.5)
        #expect(byKey["chassis.unknown"] == nil)
        #expect(byKey["chassis.psu2.state"]?.descriptor.limits.lowCritical == 0.5)
    }

    @Test func simulatedDevicesDriftAndHonourPins() throws {
        let directory = NSTemporaryDirectory() + "chassis-devices-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = ChassisDevicesCollector(source: .simulated(directory: directory, seed: 7))
        let first = try collector.collect()
        #expect(first.count == ChassisDevicesCollector.descriptors.count + 1, "the devices and the redundancy")
        #expect(first.allSatisfy { $0.value != nil })
        #expect(first.last?.descriptor.key == "chassis.power.redundancy" && first.last?.value == 1)
        try ChassisDevicesCollector.setPin("chassis.psu2.state", "0", in: directory)
        try ChassisDevicesCollector.setPin("chassis.fan3.rpm", "fault", in: directory)
        let pinned = Dictionary(uniqueKeysWithValues: try collector.collect().map { ($0.descriptor.key, $0) })
        #expect(pinned["chassis.psu2.state"]?.value == 0)
        #expect(pinned["chassis.fan3.rpm"]?.fault != nil)
        #expect(pinned["chassis.power.redundancy"]?.value == 0, "one supply left: N+1 is lost")
        try ChassisDevicesCollector.setPin("chassis.psu2.state", nil, in: directory)
        #expect(try collector.collect().first { $0.descriptor.key == "chassis.psu2.state" }?.value == 1)
        #expect(throws: ChassisDevicesError.self) { try ChassisDevicesCollector.setPin("chassis.nope", "1", in: directory) }
        #expect(throws: ChassisDevicesError.self) { try ChassisDevicesCollector.setPin("chassis.fan1.rpm", "fast", in: directory) }
    }

    @Test func redundancyNeedsOneSupplyMoreThanTheLoadNeeds() {
        func readings(_ states: [Double?], watts: [Double]) -> [Reading] {
            let psus = ChassisDevicesCollector.descriptors.filter { $0.key.hasPrefix("chassis.psu") }
            var list: [Reading] = []
            for (index, state) in states.enumerated() {
                let descriptor = psus.first { $0.key == "chassis.psu\(index + 1).state" } ?? psus[0]
                list.append(state.map { Reading(descriptor: descriptor, value: $0) } ?? Reading(descriptor: descriptor, fault: "gone"))
                if let output = psus.first(where: { $0.key == "chassis.psu\(index + 1).output_watts" }) {
                    list.append(Reading(descriptor: output, value: watts[index]))
                }
            }
            return list
        }
        let held = ChassisDevicesCollector.redundancy(readings([1, 1], watts: [600, 600]), supplyWatts: 2_000)
        #expect(held?.value == 1, "1,200 W needs one 2,000 W supply: two hold N+1")
        #expect(ChassisDevicesCollector.redundancy(readings([1, 1], watts: [1_200, 1_200]), supplyWatts: 2_000)?.value == 0,
                "2,400 W needs both: nothing to spare")
        #expect(ChassisDevicesCollector.redundancy(readings([1, 0], watts: [700, 0]), supplyWatts: 2_000)?.value == 0)
        #expect(ChassisDevicesCollector.redundancy(readings([1, nil], watts: [700, 0]), supplyWatts: 2_000)?.fault != nil)
        #expect(ChassisDevicesCollector.redundancy([], supplyWatts: 2_000) == nil)
        #expect(held?.descriptor.limits.lowWarning == 0.5, "lost redundancy is a warning")
    }

    @Test func aFailingCommandFailsTheCollector() {
        let collector = ChassisDevicesCollector(source: .command("false"), run: { _ in nil })
        #expect(throws: ChassisDevicesError.self) { try collector.collect() }
    }
}
