#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model
import Plumbing

/// Chassis-level devices: power supplies, chassis fans, the midplane temperature. Sampled by the
/// active manager only and shown at chassis level (slot 0).
///
/// On hardware the values come from a configured command (the chassis management controller's
/// tool, IPMI) printing one reading a line, `KEY VALUE`, for the keys below. In the demo they are
/// simulated: they drift with a seeded generator, and `DIR/pins` (`KEY VALUE` lines, as for the
/// blades' simulated sensors) holds an operator's overrides.
public final class ChassisDevicesCollector: Collector {
    public enum Source: Sendable, Equatable {
        case simulated(directory: String, seed: UInt64)
        case command(String)
    }

    public let name = "chassis.devices"
    public let group = SamplingGroup.sensors
    public let source: Source
    private var generator: SplitMix64
    private var values: [String: Double] = [:]
    private let run: (String) -> String?

    /// The devices of a chassis, with their descriptors: two power supplies, four fans, the midplane.
    public static let descriptors: [MetricDescriptor] = {
        var list: [MetricDescriptor] = []
        for psu in 1...2 {
            list.append(MetricDescriptor(
                key: "chassis.psu\(psu).state", label: "Power supply \(psu)", metricClass: .health, unit: "state",
                source: "chassis", replication: .dynamic, group: .sensors, component: "power supply \(psu)",
                prometheusName: "chassis_power_supply_up", prometheusLabels: ["psu": String(psu)],
                limits: Limits(lowCritical: 0.5)))
            list.append(MetricDescriptor(
                key: "chassis.psu\(psu).output_watts", label: "Power supply \(psu) output", metricClass: .health,
                unit: "watts", source: "chassis", replication: .dynamic, group: .sensors, component: "power supply \(psu)",
                prometheusName: "chassis_power_supply_output_watts", prometheusLabels: ["psu": String(psu)],
                limits: Limits(highWarning: 1_800, highCritical: 2_000)))
        }
        for fan in 1...4 {
            list.append(MetricDescriptor(
                key: "chassis.fan\(fan).rpm", label: "Chassis fan \(fan)", metricClass: .health, unit: "rpm",
                source: "chassis", replication: .dynamic, group: .sensors, component: "chassis fans",
                prometheusName: "chassis_fan_rpm", prometheusLabels: ["fan": String(fan)],
                limits: Limits(lowCritical: 800, lowWarning: 1_500)))
        }
        list.append(MetricDescriptor(
            key: "chassis.midplane.temperature", label: "Midplane temperature", metricClass: .health, unit: "celsius",
            source: "chassis", replication: .dynamic, group: .sensors, component: "midplane",
            prometheusName: "chassis_midplane_temperature_celsius", limits: Limits(highWarning: 45, highCritical: 55)))
        return list
    }()

    public init(source: Source, run: @escaping (String) -> String? = ChassisDevicesCollector.runCommand) {
        self.source = source
        self.run = run
        if case .simulated(_, let seed) = source {
            generator = SplitMix64(seed: seed)
        } else {
            generator = SplitMix64(seed: 1)
        }
    }

    /// What one power supply delivers at most (watts): the load decides how many are needed.
    public var supplyWatts = 2_000.0

    /// N+1 held (1) or lost (0), derived from the supplies' states and the load they carry: the
    /// working supplies must carry the load with one to spare. Lost is a warning (the chassis is
    /// still powered, one more failure is not survived).
    public static let redundancyDescriptor = MetricDescriptor(
        key: "chassis.power.redundancy", label: "Power redundancy (N+1)", metricClass: .health, unit: "state",
        source: "chassis", replication: .dynamic, group: .sensors, component: "power supplies",
        prometheusName: "chassis_power_redundancy_held", limits: Limits(lowWarning: 0.5))

    /// The redundancy reading of `readings` (nil when they hold no supply's state).
    public static func redundancy(_ readings: [Reading], supplyWatts: Double) -> Reading? {
        let states = readings.filter { $0.descriptor.key.hasPrefix("chassis.psu") && $0.descriptor.key.hasSuffix(".state") }
        guard !states.isEmpty else { return nil }
        if states.contains(where: { $0.fault != nil || $0.value == nil }) {
            return Reading(descriptor: redundancyDescriptor, fault: "a power supply's state is unreadable")
        }
        let working = states.filter { ($0.value ?? 0) >= 0.5 }.count
        let load = readings.filter { $0.descriptor.key.hasSuffix(".output_watts") }.compactMap(\.value).filter { $0 > 0 }.reduce(0, +)
        // In Double: a command's absurd load (1e300 W) must not trap a conversion to Int.
        let needed = max(1, (load / max(supplyWatts, 1)).rounded(.up))
        return Reading(descriptor: redundancyDescriptor, value: Double(working) >= needed + 1 ? 1 : 0)
    }

    public func collect() throws -> [Reading] {
        let readings = try collectDevices()
        return readings + [Self.redundancy(readings, supplyWatts: supplyWatts)].compactMap { $0 }
    }

    private func collectDevices() throws -> [Reading] {
        switch source {
        case .command(let command):
            guard let output = run(command) else { throw ChassisDevicesError.commandFailed(command) }
            return Self.parse(output)
        case .simulated(let directory, _):
            step()
            let pins = Self.pins(in: directory)
            return Self.descriptors.map { descriptor in
                switch pins[descriptor.key] {
                case .some(.some(let value)): return Reading(descriptor: descriptor, value: value)
                case .some(.none): return Reading(descriptor: descriptor, fault: "unreadable (simulated fault)")
                case .none: return Reading(descriptor: descriptor, value: values[descriptor.key])
                }
            }
        }
    }

    /// Parses `KEY VALUE` lines; unknown keys and unreadable values are skipped or faults.
    public static func parse(_ text: String) -> [Reading] {
        var found: [String: Reading] = [:]
        for line in text.split(whereSeparator: \.isNewline).prefix(256) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, let descriptor = descriptors.first(where: { $0.key == words[0] }) else { continue }
            if let value = Double(words[1]), value.isFinite {
                found[descriptor.key] = Reading(descriptor: descriptor, value: value)
            } else {
                found[descriptor.key] = Reading(descriptor: descriptor, fault: "unreadable value \(words[1].prefix(32))")
            }
        }
        return descriptors.compactMap { found[$0.key] }
    }

    /// Pinned values (`nil` for a simulated fault) from `DIR/pins`.
    public static func pins(in directory: String) -> [String: Double?] {
        guard let text = try? String(contentsOfFile: directory + "/pins", encoding: .utf8) else { return [:] }
        var pins: [String: Double?] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ")
            guard words.count == 2, descriptors.contains(where: { $0.key == words[0] }) else { continue }
            if words[1] == "fault" {
                pins[String(words[0])] = .some(nil)
            } else if let value = Double(words[1]), value.isFinite {
                pins[String(words[0])] = value
            }
        }
        return pins
    }

    /// Pins (or with nil, releases) a chassis device's value for the simulation.
    public static func setPin(_ key: String, _ value: String?, in directory: String) throws {
        guard descriptors.contains(where: { $0.key == key }) else {
            throw ChassisDevicesError.unknownKey(key, known: descriptors.map(\.key))
        }
        if let value, value != "fault", Double(value) == nil { throw ChassisDevicesError.badValue(value) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lines = ((try? String(contentsOfFile: directory + "/pins", encoding: .utf8)) ?? "")
            .split(whereSeparator: \.isNewline).map(String.init).filter { !$0.hasPrefix(key + " ") }
        if let value { lines.append("\(key) \(value)") }
        let temporary = directory + "/pins.tmp"
        try (lines.joined(separator: "\n") + "\n").write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, directory + "/pins") == 0 else { throw ChassisDevicesError.cannotWrite(directory) }
    }

    /// Drift: power follows a slow wave with noise, fans follow the midplane temperature.
    private func step() {
        func noise(_ amplitude: Double) -> Double { (generator.nextUnit() * 2 - 1) * amplitude }
        let midplane = (values["chassis.midplane.temperature"] ?? 31) * 0.9 + (31 + noise(2.5)) * 0.1
        values["chassis.midplane.temperature"] = midplane
        for psu in 1...2 {
            values["chassis.psu\(psu).state"] = 1
            let previous = values["chassis.psu\(psu).output_watts"] ?? 640
            values["chassis.psu\(psu).output_watts"] = max(0, previous * 0.8 + (640 + noise(60)) * 0.2)
        }
        for fan in 1...4 {
            let target = 4_000 + (midplane - 30) * 180 + noise(80)
            values["chassis.fan\(fan).rpm"] = max(0, (values["chassis.fan\(fan).rpm"] ?? target) * 0.7 + target * 0.3)
        }
    }

    /// How long the devices command may take before it is killed and the sample counts as failed.
    public static let commandTimeoutSeconds = 5.0

    public static func runCommand(_ command: String) -> String? {
        let result = ShellCommand.run(command, timeoutSeconds: commandTimeoutSeconds, includeErrors: false)
        return result.status == 0 ? result.text : nil
    }
}

public enum ChassisDevicesError: Error, CustomStringConvertible, Equatable {
    case commandFailed(String)
    case unknownKey(String, known: [String])
    case badValue(String)
    case cannotWrite(String)

    public var description: String {
        switch self {
        case .commandFailed(let command): return "the chassis devices command failed: \(command)"
        case .unknownKey(let key, let known): return "unknown chassis device \(key); known: \(known.joined(separator: ", "))"
        case .badValue(let value): return "value must be a number, 'fault' or 'release' (got \(value))"
        case .cannotWrite(let directory): return "cannot write the pins in \(directory)"
        }
    }
}
