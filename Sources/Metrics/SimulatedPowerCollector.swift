import Model

/// Parses the simulated power-supply file: `ok` is 1, `failed` is 0, anything else nil.
public func parsePowerSupplyState(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    let range = ByteParsing.trimmed(bytes, 0..<bytes.count)
    if ByteParsing.equals(bytes, range, "ok") { return 1 }
    if ByteParsing.equals(bytes, range, "failed") { return 0 }
    return nil
}

public func parsePowerSupplyState(_ text: String) -> Double? {
    ByteParsing.withBytes(of: text) { parsePowerSupplyState($0) }
}

/// The simulated blade's power supply (`psu.state`: 1 ok, 0 failed), read from the `psu` file
/// of a `SimulatedHardware` directory; a `psu.state` pin overrides the file. Real power supplies
/// are not in hwmon; on real hardware this would come from PMBus or IPMI.
public final class SimulatedPowerCollector: Collector {
    public let name = "simulated"
    public let group = SamplingGroup.sensors
    public let directory: String
    private let reader = BoundedFileReader(maximumBytes: 256)
    private let descriptor: MetricDescriptor

    public init(directory: String) {
        self.directory = directory
        self.descriptor = MetricDescriptor(
            key: "psu.state", label: "Power supply", metricClass: .health, unit: "state", source: "simulated",
            replication: .dynamic, group: .sensors, component: "power supply",
            prometheusName: "chassis_power_supply_up", prometheusLabels: ["psu": "psu1"],
            limits: Limits(lowCritical: 0.5))
    }

    public func collect() throws -> [Reading] {
        if case .value(let pinned)? = SimulatedHardware.pins(in: directory)[SimulatedHardware.powerSupplyKey] {
            return [Reading(descriptor: descriptor, value: pinned >= 0.5 ? 1 : 0)]
        }
        let path = directory + "/psu"
        do {
            let state = try reader.withContents(of: path) { parsePowerSupplyState($0) }
            if let state { return [Reading(descriptor: descriptor, value: state)] }
            return [Reading(descriptor: descriptor, fault: "unrecognised state in \(path)")]
        } catch {
            return [Reading(descriptor: descriptor, fault: String(describing: error))]
        }
    }
}
