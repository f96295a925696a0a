import Foundation
import XCTest
import Model
@testable import Metrics

/// The libsensors collector against a fake hwmon tree, with the real libsensors.
///
/// libsensors always reads `/sys`, so the test binary re-runs itself in a private mount
/// namespace with the fake tree bound over `/sys/class`, selecting only `SensorsChildProbe`,
/// which collects and writes JSON files the parent then checks. The parent changes files from
/// outside the namespace between two reads, through a small file handshake.
final class SensorsNamespaceTests: XCTestCase {
    /// Writes the fake tree: three chips with realistic names, one without a device (virtual),
    /// a garbage and an empty value file.
    func writeFakeTree(_ root: TemporaryDirectory) throws {
        func chip(_ hwmon: String, name: String, device: String?, subsystem: String?, files: [String: String]) throws {
            root.write("hwmon/\(hwmon)/name", name + "\n")
            for (file, value) in files { root.write("hwmon/\(hwmon)/\(file)", value) }
            if let device, let subsystem {
                try FileManager.default.createDirectory(atPath: root.file("_devices/\(device)"),
                                                        withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(atPath: root.file("hwmon/\(hwmon)/device"),
                                                           withDestinationPath: "../../_devices/\(device)")
                try FileManager.default.createSymbolicLink(atPath: root.file("_devices/\(device)/subsystem"),
                                                           withDestinationPath: "../../_bus/\(subsystem)")
            }
        }
        try chip("hwmon0", name: "coretemp", device: "coretemp.0", subsystem: "platform", files: [
            "temp1_input": "45000\n", "temp1_max": "84000\n", "temp1_crit": "100000\n", "temp1_label": "Package id 0\n",
            "temp2_input": "garbage\n", "temp2_label": "Core 0\n",
            "temp3_input": "",
        ])
        try chip("hwmon1", name: "nct6779", device: "nct6779.656", subsystem: "platform", files: [
            "fan1_input": "1200\n", "fan1_min": "300\n", "fan1_label": "CPU Fan\n",
            "in0_input": "12100\n", "in0_min": "11400\n", "in0_max": "12600\n", "in0_lcrit": "10800\n",
            "in0_crit": "13200\n", "in0_label": "+12V\n",
            "temp1_input": "30000\n", "temp1_min": "5000\n", "temp1_lcrit": "0\n",
        ])
        try chip("hwmon2", name: "power_meter", device: "ACPI000D:00", subsystem: "acpi", files: [
            "power1_input": "150000000\n", "power1_max": "300000000\n",
            "curr1_input": "2500\n", "curr1_crit": "30000\n",
        ])
        try chip("hwmon3", name: "fakechip", device: nil, subsystem: nil, files: ["temp1_input": "21500\n"])
    }

    /// How to enter a private mount namespace here, or nil (with the reason) if we cannot.
    static func namespacePrefix() -> [String]? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
        return geteuid() == 0 ? ["-m", "--propagation", "private"] : ["-Urm", "--propagation", "private"]
    }

    static func testBinary() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    /// Starts the probe in a namespace with `tree` over /sys/class.
    func startProbe(tree: String, output: String, mode: String, simulated: String? = nil) throws -> Process {
        guard let prefix = Self.namespacePrefix() else { throw XCTSkip("no /usr/bin/unshare") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = prefix + ["--", "sh", "-c", "mount --bind \"$0\" /sys/class && exec \"$@\"", tree,
                                      try Self.testBinary(), "MetricsTests.SensorsChildProbe/testProbe"]
        var environment = ProcessInfo.processInfo.environment
        environment["CHASSIS_SENSORS_PROBE_OUT"] = output
        environment["CHASSIS_SENSORS_PROBE_MODE"] = mode
        environment["CHASSIS_SENSORS_PROBE_SIM"] = simulated
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = output + "/child.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        return process
    }

    func waitForFile(_ path: String, process: Process, seconds: Double = 60) throws -> [Reading] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
                return try JSONDecoder().decode([Reading].self, from: data)
            }
            if !process.isRunning {
                // Let the last write land, then look once more.
                if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
                    return try JSONDecoder().decode([Reading].self, from: data)
                }
                let log = (try? String(contentsOfFile: (path as NSString).deletingLastPathComponent + "/child.log",
                                       encoding: .utf8)) ?? ""
                if log.contains("mount:") || log.contains("unshare:") {
                    throw XCTSkip("cannot create a private mount namespace here: \(log.prefix(300))")
                }
                XCTFail("probe exited (\(process.terminationStatus)) without \(path): \(log.suffix(2000))")
                return []
            }
            usleep(20_000)
        }
        process.terminate()
        XCTFail("timed out waiting for \(path)")
        return []
    }

    func byKey(_ readings: [Reading]) -> [String: Reading] {
        Dictionary(readings.map { ($0.descriptor.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func testRealLibsensorsReadsFakeTree() throws {
        let tree = TemporaryDirectory("hwmon-tree")
        let output = TemporaryDirectory("probe-out")
        defer { tree.remove(); output.remove() }
        try writeFakeTree(tree)
        let process = try startProbe(tree: tree.path, output: output.path, mode: "sensors")
        defer { if process.isRunning { process.terminate() } }

        let first = byKey(try waitForFile(output.file("first.json"), process: process))
        XCTAssertFalse(first.isEmpty)
        let package = try XCTUnwrap(first["hwmon.coretemp-isa-0000.temp1"])
        XCTAssertEqual(package.value, 45)
        XCTAssertEqual(package.descriptor.label, "Package id 0")
        XCTAssertEqual(package.descriptor.unit, "celsius")
        XCTAssertEqual(package.descriptor.limits, Limits(highWarning: 84, highCritical: 100))
        XCTAssertEqual(package.descriptor.prometheusName, "node_hwmon_temp_celsius")
        XCTAssertEqual(package.descriptor.prometheusLabels, ["chip": "coretemp-isa-0000", "sensor": "temp1"])
        XCTAssertEqual(package.descriptor.component, "coretemp-isa-0000")

        let garbage = try XCTUnwrap(first["hwmon.coretemp-isa-0000.temp2"])
        XCTAssertNil(garbage.value)
        XCTAssertEqual(garbage.descriptor.label, "Core 0")
        XCTAssertTrue(garbage.fault?.contains("-3") == true, "\(garbage.fault ?? "no fault")")
        let empty = try XCTUnwrap(first["hwmon.coretemp-isa-0000.temp3"])
        XCTAssertNil(empty.value)
        XCTAssertNotNil(empty.fault)

        let fan = try XCTUnwrap(first["hwmon.nct6779-isa-0290.fan1"])
        XCTAssertEqual(fan.value, 1200)
        XCTAssertEqual(fan.descriptor.unit, "rpm")
        XCTAssertEqual(fan.descriptor.label, "CPU Fan")
        XCTAssertEqual(fan.descriptor.limits, Limits(lowWarning: 300))

        let volts = try XCTUnwrap(first["hwmon.nct6779-isa-0290.in0"])
        XCTAssertEqual(try XCTUnwrap(volts.value), 12.1, accuracy: 1e-9)
        XCTAssertEqual(volts.descriptor.unit, "volts")
        XCTAssertEqual(volts.descriptor.prometheusName, "node_hwmon_in_volts")
        XCTAssertEqual(volts.descriptor.limits, Limits(lowCritical: 10.8, lowWarning: 11.4, highWarning: 12.6, highCritical: 13.2))

        let board = try XCTUnwrap(first["hwmon.nct6779-isa-0290.temp1"])
        XCTAssertEqual(board.value, 30)
        XCTAssertEqual(board.descriptor.limits, Limits(lowCritical: 0, lowWarning: 5))

        let power = try XCTUnwrap(first["hwmon.power_meter-acpi-0.power1"])
        XCTAssertEqual(power.value, 150)
        XCTAssertEqual(power.descriptor.unit, "watts")
        XCTAssertEqual(power.descriptor.limits, Limits(highWarning: 300))
        let current = try XCTUnwrap(first["hwmon.power_meter-acpi-0.curr1"])
        XCTAssertEqual(current.value, 2.5)
        XCTAssertEqual(current.descriptor.unit, "amperes")
        XCTAssertEqual(current.descriptor.limits, Limits(highCritical: 30))

        XCTAssertEqual(first["hwmon.fakechip-virtual-0.temp1"]?.value, 21.5)
        XCTAssertTrue(first.values.allSatisfy { $0.descriptor.metricClass == .health && $0.descriptor.group == .sensors })

        // From outside the namespace: change a value, repair the garbage file, add a chip.
        tree.write("hwmon/hwmon0/temp1_input", "77000\n")
        tree.write("hwmon/hwmon0/temp2_input", "50000\n")
        tree.write("hwmon/hwmon4/name", "latechip\n")
        tree.write("hwmon/hwmon4/temp1_input", "33000\n")
        tree.write("go", "")
        // The probe also waits for this file; it sits in the tree the probe sees as /sys/class.
        let second = byKey(try waitForFile(output.file("second.json"), process: process))
        XCTAssertEqual(second["hwmon.coretemp-isa-0000.temp1"]?.value, 77)
        XCTAssertEqual(second["hwmon.coretemp-isa-0000.temp2"]?.value, 50)
        XCTAssertNil(second["hwmon.coretemp-isa-0000.temp2"]?.fault)
        XCTAssertNil(second["hwmon.latechip-virtual-0.temp1"], "a new chip needs a rescan")
        let third = byKey(try waitForFile(output.file("third.json"), process: process))
        XCTAssertEqual(third["hwmon.latechip-virtual-0.temp1"]?.value, 33)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    func testCollectorSetDrivesSimulatedBlade() throws {
        let simulated = TemporaryDirectory("sim-blade")
        let output = TemporaryDirectory("probe-out")
        defer { simulated.remove(); output.remove() }
        // What `chassisctl demo up` does before starting the engine: the tree must exist to be bound.
        _ = try SimulatedHardware(directory: simulated.path, seed: 11)
        try SimulatedHardware.setPin("hwmon.nct6798-isa-0290.fan2", .value(0), in: simulated.path)
        try SimulatedHardware.setPin("hwmon.nct6798-isa-0290.in2", .fault, in: simulated.path)
        try SimulatedHardware.setPowerSupply(ok: false, in: simulated.path)
        let process = try startProbe(tree: simulated.file("class"), output: output.path, mode: "set",
                                     simulated: simulated.path)
        defer { if process.isRunning { process.terminate() } }
        let readings = byKey(try waitForFile(output.file("first.json"), process: process))
        process.waitUntilExit()

        let expectedKeys = SimulatedHardware.pinnableKeys.filter { $0.hasPrefix("hwmon.") }
        for key in expectedKeys { XCTAssertNotNil(readings[key], "missing \(key)") }
        XCTAssertEqual(readings["hwmon.coretemp-isa-0000.temp1"]?.descriptor.label, "Package id 0")
        let package = try XCTUnwrap(readings["hwmon.coretemp-isa-0000.temp1"]?.value)
        XCTAssertTrue(package > 30 && package < 60, "\(package)")
        // Labels come from the simulated *_label files; no system sensors.conf rule renames them.
        XCTAssertEqual(readings["hwmon.nct6798-isa-0290.in1"]?.descriptor.label, "+12V")
        XCTAssertEqual(readings["hwmon.nct6798-isa-0290.fan1"]?.descriptor.label, "CPU Fan")
        XCTAssertEqual(readings["hwmon.nct6798-isa-0290.fan2"]?.value, 0)
        XCTAssertEqual(readings["hwmon.nct6798-isa-0290.fan2"]?.descriptor.limits, Limits(lowWarning: 600))
        XCTAssertNotNil(readings["hwmon.nct6798-isa-0290.in2"]?.fault)
        XCTAssertEqual(readings["hwmon.nct6798-isa-0290.in1"]?.descriptor.limits,
                       Limits(lowCritical: 10.8, lowWarning: 11.4, highWarning: 12.6, highCritical: 13.2))
        XCTAssertEqual(readings["hwmon.power_meter-acpi-0.power1"]?.descriptor.limits,
                       Limits(highWarning: 300, highCritical: 350))
        XCTAssertEqual(readings["psu.state"]?.value, 0)
        XCTAssertEqual(readings["collector.libsensors.success"]?.value, 1)
        XCTAssertEqual(readings["collector.simulated.success"]?.value, 1)
        let serial = try XCTUnwrap(readings["id.serial"]?.text)
        XCTAssertEqual(serial, SimulatedHardware.Identity.generated(seed: 11).serial)
    }
}

/// Runs only inside the namespace, started by `SensorsNamespaceTests`; passes trivially otherwise.
final class SensorsChildProbe: XCTestCase {
    func testProbe() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let output = environment["CHASSIS_SENSORS_PROBE_OUT"] else { return }
        func write(_ readings: [Reading], _ name: String) throws {
            let data = try JSONEncoder().encode(readings)
            let temporary = output + "/." + name
            try data.write(to: URL(fileURLWithPath: temporary))
            try FileManager.default.moveItem(atPath: temporary, toPath: output + "/" + name)
        }
        switch environment["CHASSIS_SENSORS_PROBE_MODE"] {
        case "sensors":
            let library = try SensorsLibrary(configPath: "/dev/null")
            let collector = SensorsCollector(library: library)
            try write(try collector.collect(), "first.json")
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: "/sys/class/go") && Date() < deadline { usleep(20_000) }
            try write(try collector.collect(), "second.json")
            try library.rescan()
            try write(try collector.collect(), "third.json")
        case "set":
            let settings = CollectorSettings(chassisID: "660007770088", slotID: "4",
                                             simulatedDirectory: environment["CHASSIS_SENSORS_PROBE_SIM"],
                                             simulationSeed: 11)  // the system's sensors.conf, as the demo runs
            let set = CollectorSet(settings: settings)
            XCTAssertEqual(set.setupErrors, [])
            _ = set.sample(.sensors)
            let readings = set.sample(.sensors).readings + set.sample(.identification).readings
            try write(readings, "first.json")
        default:
            XCTFail("unknown probe mode")
        }
    }
}
