import Foundation
import Testing
import Model
@testable import Metrics

@Suite("Simulated blade hardware")
struct SimulatedHardwareTests {
    static let package = "hwmon.coretemp-isa-0000.temp1"
    static let cpuFan = "hwmon.nct6798-isa-0290.fan1"
    static let power = "hwmon.power_meter-acpi-0.power1"
    static let twelveVolts = "hwmon.nct6798-isa-0290.in1"

    func run(seed: UInt64, steps: Int, load: Double, in directory: TemporaryDirectory) throws -> SimulatedHardware {
        let simulator = try SimulatedHardware(directory: directory.path, seed: seed)
        for _ in 0..<steps { try simulator.step(cpuLoadPercent: load, elapsedSeconds: 2) }
        return simulator
    }

    @Test func writesTheHwmonLayout() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try SimulatedHardware(directory: directory.path, seed: 7)
        #expect(directory.read("class/hwmon/hwmon0/name") == "coretemp\n")
        #expect(directory.read("class/hwmon/hwmon0/temp1_label") == "Package id 0\n")
        #expect(directory.read("class/hwmon/hwmon0/temp1_max") == "84000\n")
        #expect(directory.read("class/hwmon/hwmon1/in1_lcrit") == "10800\n")
        #expect(directory.read("class/hwmon/hwmon2/power1_crit") == "350000000\n")
        #expect(directory.read("psu") == "ok\n")
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: directory.file("class/hwmon/hwmon0/device"))
        #expect(link == "../../_devices/coretemp.0")
        let package = Int(directory.read("class/hwmon/hwmon0/temp1_input")!.dropLast())!
        // Idle: inlet 24 + 14 degrees, in millidegrees.
        #expect(abs(package - 38_000) < 1_500)
        #expect(directory.read("class/dmi/id/product_name") == "CM-Blade 2000\n")
        #expect(directory.read("class/net/eth0/address")!.hasPrefix("02:"))
    }

    @Test func driftFollowsLoad() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let simulator = try SimulatedHardware(directory: directory.path, seed: 1)
        let idle = simulator.values
        for _ in 0..<60 { try simulator.step(cpuLoadPercent: 100, elapsedSeconds: 2) }
        let loaded = simulator.values
        #expect(loaded[Self.package]! > idle[Self.package]! + 30)
        #expect(loaded[Self.package]! < 84)
        #expect(loaded[Self.cpuFan]! > idle[Self.cpuFan]! + 1_500)
        #expect(abs(loaded[Self.power]! - 230) < 10)
        #expect(abs(loaded[Self.twelveVolts]! - 11.88) < 0.1)
        // The temperature follows with a time constant: one short step moves it only part way.
        let fresh = TemporaryDirectory()
        defer { fresh.remove() }
        let stepped = try run(seed: 1, steps: 1, load: 100, in: fresh)
        #expect(stepped.values[Self.package]! > idle[Self.package]! + 2)
        #expect(stepped.values[Self.package]! < idle[Self.package]! + 20)
        // And cools down again.
        for _ in 0..<90 { try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 2) }
        #expect(abs(simulator.values[Self.package]! - idle[Self.package]!) < 2)
    }

    @Test func sameSeedSameRunDifferentSeedDifferentRun() throws {
        let a = TemporaryDirectory(), b = TemporaryDirectory(), c = TemporaryDirectory()
        defer { a.remove(); b.remove(); c.remove() }
        let first = try run(seed: 42, steps: 20, load: 55, in: a)
        let second = try run(seed: 42, steps: 20, load: 55, in: b)
        let third = try run(seed: 43, steps: 20, load: 55, in: c)
        #expect(first.values == second.values)
        #expect(first.values != third.values)
        #expect(a.read("class/hwmon/hwmon1/fan1_input") == b.read("class/hwmon/hwmon1/fan1_input"))
        #expect(first.identity == second.identity)
        #expect(first.identity.serial != third.identity.serial)
    }

    @Test func pinsHoldAndReleaseFromAnotherProcessesFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let simulator = try SimulatedHardware(directory: directory.path, seed: 3)
        // What `chassisctl demo set-sensor` does: it only touches the pins file.
        try SimulatedHardware.setPin(Self.package, .value(95), in: directory.path)
        for _ in 0..<10 { try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 2) }
        #expect(simulator.values[Self.package] == 95)
        #expect(directory.read("class/hwmon/hwmon0/temp1_input") == "95000\n")
        #expect(directory.read("pins")!.contains("hwmon.coretemp-isa-0000.temp1 95\n"))
        // The cores still drift around the pinned package temperature.
        #expect(simulator.values["hwmon.coretemp-isa-0000.temp2"]! > 85)
        try SimulatedHardware.removePin(Self.package, in: directory.path)
        try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 2)
        let released = simulator.values[Self.package]!
        #expect(released < 95 && released > 80)  // drifting down from where it was pinned
        for _ in 0..<60 { try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 2) }
        #expect(simulator.values[Self.package]! < 42)
    }

    @Test(arguments: [("hwmon0/temp1", "hwmon.coretemp-isa-0000.temp1"),
                      ("hwmon1/fan2_input", "hwmon.nct6798-isa-0290.fan2"),
                      ("hwmon.power_meter-acpi-0.curr1", "hwmon.power_meter-acpi-0.curr1"),
                      ("sim.cpu_load_percent", "sim.cpu_load_percent"),
                      ("psu.state", "psu.state")])
    func keyAliases(alias: String, key: String) {
        #expect(SimulatedHardware.canonicalKey(alias) == key)
    }

    @Test func unknownKeysAndBadValuesAreRejected() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: SimulatedHardware.SimulationError.self) {
            try SimulatedHardware.setPin("hwmon.nope.temp9", .value(1), in: directory.path)
        }
        #expect(SimulatedHardware.PinValue("12.5") == .value(12.5))
        #expect(SimulatedHardware.PinValue("fault") == .fault)
        #expect(SimulatedHardware.PinValue("hot") == nil)
        #expect(SimulatedHardware.PinValue("nan") == nil)
        // Hand-edited pins files with junk keep the lines that parse.
        directory.write("pins", "# comment\nhwmon0/temp1 70 # trailing\nbogus line here\nhwmon.x.y 3\nhwmon1/fan1 fault\n")
        #expect(SimulatedHardware.pins(in: directory.path)
            == ["hwmon.coretemp-isa-0000.temp1": .value(70), "hwmon.nct6798-isa-0290.fan1": .fault])
    }

    @Test func faultPinWritesAnUnreadableValue() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let simulator = try SimulatedHardware(directory: directory.path, seed: 3)
        try SimulatedHardware.setPin("hwmon1/fan1", .fault, in: directory.path)
        try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 1)
        #expect(directory.read("class/hwmon/hwmon1/fan1_input") == "fault\n")
    }

    @Test func loadPinOverridesTheMeasuredLoad() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let simulator = try SimulatedHardware(directory: directory.path, seed: 3)
        try SimulatedHardware.setPin(SimulatedHardware.loadKey, .value(100), in: directory.path)
        for _ in 0..<30 { try simulator.step(cpuLoadPercent: 0, elapsedSeconds: 2) }
        #expect(simulator.lastLoadPercent == 100)
        #expect(simulator.values[Self.power]! > 200)
    }

    @Test func pinsSurviveRecreation() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try SimulatedHardware.setPin(Self.cpuFan, .value(0), in: directory.path)
        try SimulatedHardware.setPowerSupply(ok: false, in: directory.path)
        let simulator = try SimulatedHardware(directory: directory.path, seed: 9)
        #expect(simulator.values[Self.cpuFan] == 0)
        #expect(directory.read("class/hwmon/hwmon1/fan1_input") == "0\n")
        #expect(directory.read("psu") == "failed\n")
    }

    @Test func powerSupplyCollector() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let collector = SimulatedPowerCollector(directory: directory.path)
        #expect(try collector.collect()[0].fault != nil)  // no file yet
        try SimulatedHardware.setPowerSupply(ok: true, in: directory.path)
        let ok = try collector.collect()[0]
        #expect(ok.value == 1)
        #expect(ok.descriptor.key == "psu.state")
        #expect(ok.descriptor.metricClass == .health)
        #expect(ok.descriptor.unit == "state")
        #expect(ok.descriptor.limits == Limits(lowCritical: 0.5))
        try SimulatedHardware.setPowerSupply(ok: false, in: directory.path)
        #expect(try collector.collect()[0].value == 0)
        directory.write("psu", "smoke\n")
        #expect(try collector.collect()[0].fault != nil)
        try SimulatedHardware.setPin(SimulatedHardware.powerSupplyKey, .value(1), in: directory.path)
        #expect(try collector.collect()[0].value == 1)
    }

    @Test(arguments: [("ok\n", 1.0 as Double?), ("failed", 0), (" ok ", 1), ("", nil), ("OK", nil), ("failed!", nil)])
    func powerSupplyParser(text: String, expected: Double?) {
        #expect(parsePowerSupplyState(text) == expected)
    }

    @Test func notBoundOutsideTheNamespace() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try SimulatedHardware(directory: directory.path, seed: 5)
        #expect(!SimulatedHardware.isBoundOverSysClass(directory: directory.path))
        let set = CollectorSet(settings: CollectorSettings(chassisID: "C", slotID: "1", simulatedDirectory: directory.path))
        #expect(set.setupErrors.contains { $0.contains("not bound over /sys/class") })
    }

    @Test func replaceModuleRewritesIdentity() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = try SimulatedHardware(directory: directory.path, seed: 5)
        var identity = SimulatedHardware.Identity.generated(seed: 6)
        identity.serial = "REPLACED1"
        try SimulatedHardware.replaceModule(identity: identity, in: directory.path)
        let collector = IdentificationCollector(chassisID: "660007770088", slotID: "3",
                                                classRoot: directory.file("class"))
        let serial = try collector.collect().first { $0.descriptor.key == "id.serial" }
        #expect(serial?.text == "REPLACED1")
    }
}
