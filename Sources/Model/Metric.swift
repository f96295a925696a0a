/// The classes of metric of the original design's Table I.
public enum MetricClass: String, Sendable, Codable, CaseIterable {
    /// Sensor-based: temperature, voltage, fan speed, power, current, power-supply state.
    case health
    /// Operating-system based: CPU, memory, disk space and IO, network IO.
    case performance
    /// Static: chassis ID, slot ID, serial, model, revision, MAC addresses.
    case identification
}

/// How a metric travels between blades.
public enum ReplicationClass: String, Sendable, Codable, CaseIterable {
    /// Replicated once, and again on change.
    case `static`
    /// Replicated periodically.
    case dynamic
    /// Never leaves the blade.
    case local
}

/// The sampling groups, each with its own interval in the configuration file.
public enum SamplingGroup: String, Sendable, Codable, CaseIterable {
    case sensors
    case cpu
    case memory
    case disk
    case network
    case system
    case identification

    /// Default sampling interval in milliseconds; identification is sampled on start and on change.
    public var defaultIntervalMs: Int {
        switch self {
        case .sensors: return 2_000
        case .cpu, .memory, .system: return 1_000
        case .disk, .network: return 5_000
        case .identification: return 60_000
        }
    }

    /// The replicated setting holding the interval an operator set for this group.
    public var intervalSettingKey: String { "interval_ms." + rawValue }

    /// The group's interval in milliseconds: the chassis' (`setting`, when it holds a number),
    /// else the blade's configuration file's, else the default; and whether it is the chassis'.
    public func interval(setting: String?, fileMs: Int?) -> (ms: Int, fromChassis: Bool) {
        if let setting, let value = Int(setting) { return (value, true) }
        return (fileMs ?? defaultIntervalMs, false)
    }
}

/// Low and high limits, warning and critical. Any of them may be absent.
public struct Limits: Sendable, Codable, Equatable, Hashable {
    public var lowCritical: Double?
    public var lowWarning: Double?
    public var highWarning: Double?
    public var highCritical: Double?

    public init(lowCritical: Double? = nil, lowWarning: Double? = nil,
                highWarning: Double? = nil, highCritical: Double? = nil) {
        self.lowCritical = lowCritical
        self.lowWarning = lowWarning
        self.highWarning = highWarning
        self.highCritical = highCritical
    }

    public static let none = Limits()
    public var isEmpty: Bool { self == .none }
}

/// What a metric is: its stable key, how to show it and how to export it.
///
/// Keys are dotted and stable across restarts, for example `hwmon.coretemp-isa-0000.temp1`,
/// `cpu.total.utilisation`, `filesystem./.free_bytes`, `id.serial`.
extension MetricDescriptor {
    /// The component of node_exporter's raw counters (CPU seconds, bytes received …): exported on
    /// `/metrics` for Prometheus to take rates of, kept local to the blade, not shown as rows or
    /// charts (the rates beside them are).
    public static let countersComponent = "counters"

    /// A Prometheus counter (`…_total`): its value only grows, so no history of it is kept.
    public var isCounter: Bool { prometheusName.hasSuffix("_total") }
}

public struct MetricDescriptor: Sendable, Codable, Equatable, Hashable {
    public var key: String
    /// Human label, e.g. "Package id 0" or "CPU utilisation".
    public var label: String
    public var metricClass: MetricClass
    /// Unit: `celsius`, `rpm`, `volts`, `watts`, `amperes`, `percent`, `bytes`,
    /// `bytes_per_second`, `per_second`, `seconds`, `ratio`, `state` or `text` (identification).
    public var unit: String
    /// The collector that produced it (`proc.cpu`, `libsensors`, `dmi`, `simulated` ...).
    public var source: String
    public var replication: ReplicationClass
    public var group: SamplingGroup
    /// Component it belongs to, for the tree: `cpu`, `memory`, `disk sda`, `eth0`, `coretemp-isa-0000`.
    public var component: String
    /// Prometheus metric name, node_exporter's where one exists (`node_hwmon_temp_celsius`).
    public var prometheusName: String
    /// Prometheus labels besides chassis and slot (`chip`, `sensor`, `cpu`, `device` ...).
    public var prometheusLabels: [String: String]
    /// Limits reported by the hardware (libsensors min/max/crit), kept as default thresholds.
    public var limits: Limits

    public init(key: String, label: String, metricClass: MetricClass, unit: String, source: String,
                replication: ReplicationClass, group: SamplingGroup, component: String,
                prometheusName: String, prometheusLabels: [String: String] = [:], limits: Limits = .none) {
        self.key = key
        self.label = label
        self.metricClass = metricClass
        self.unit = unit
        self.source = source
        self.replication = replication
        self.group = group
        self.component = component
        self.prometheusName = prometheusName
        self.prometheusLabels = prometheusLabels
        self.limits = limits
    }
}

/// One sampled value. Numeric metrics carry `value`; identification carries `text`.
/// A reading with neither is a fault (unreadable sensor, garbage in a file) with `fault` saying why.
public struct Reading: Sendable, Codable, Equatable {
    public var descriptor: MetricDescriptor
    public var value: Double?
    public var text: String?
    public var fault: String?

    public init(descriptor: MetricDescriptor, value: Double? = nil, text: String? = nil, fault: String? = nil) {
        self.descriptor = descriptor
        self.value = value
        self.text = text
        self.fault = fault
    }
}
