import Model

/// The kinds of libsensors feature the health collector reports, with their units and names.
public enum SensorKind: String, Sendable, CaseIterable {
    case temperature
    case fan
    case voltage
    case power
    case current
    case humidity
    case intrusion

    /// The unit of libsensors' already scaled values (it divides sysfs millidegrees, millivolts,
    /// microwatts and milliamperes for us).
    public var unit: String {
        switch self {
        case .temperature: return "celsius"
        case .fan: return "rpm"
        case .voltage: return "volts"
        case .power: return "watts"
        case .current: return "amperes"
        case .humidity: return "percent"
        case .intrusion: return "state"
        }
    }

    /// node_exporter's hwmon metric name where it has one.
    public func prometheusName(powerAverage: Bool = false) -> String {
        switch self {
        case .temperature: return "node_hwmon_temp_celsius"
        case .fan: return "node_hwmon_fan_rpm"
        case .voltage: return "node_hwmon_in_volts"
        case .power: return powerAverage ? "node_hwmon_power_average_watt" : "node_hwmon_power_input_watt"
        case .current: return "node_hwmon_curr_amps"
        case .humidity: return "chassis_hwmon_humidity_ratio"
        case .intrusion: return "chassis_hwmon_intrusion_alarm"
        }
    }
}

/// Which of the four limits a libsensors limit subfeature stands for.
public enum LimitRole: Sendable, Equatable {
    case lowCritical
    case lowWarning
    case highWarning
    case highCritical
}

/// Everything one libsensors feature said in one sample, before it becomes a reading. Built by
/// the collector from libsensors; tests build it by hand, so the mapping is tested without it.
public struct SensorFeatureSample: Sendable, Equatable {
    /// libsensors chip name, e.g. `coretemp-isa-0000`.
    public var chip: String
    /// libsensors feature name, e.g. `temp1`, `fan2`, `in0`.
    public var feature: String
    /// `temp1_label` or a sensors.conf label; the feature name when there is none.
    public var label: String
    public var kind: SensorKind
    /// The input value, or why it could not be read.
    public var input: Result<Double, SensorReadError>
    /// Limit values by role; unreadable limits are simply absent.
    public var limits: [LimitRole: Double]
    /// The driver's own fault flag (`temp1_fault`, `fan1_fault`) is set.
    public var driverReportsFault: Bool
    /// The input came from `power1_average` rather than `power1_input`.
    public var powerAverage: Bool

    public init(chip: String, feature: String, label: String, kind: SensorKind,
                input: Result<Double, SensorReadError>, limits: [LimitRole: Double] = [:],
                driverReportsFault: Bool = false, powerAverage: Bool = false) {
        self.chip = chip
        self.feature = feature
        self.label = label
        self.kind = kind
        self.input = input
        self.limits = limits
        self.driverReportsFault = driverReportsFault
        self.powerAverage = powerAverage
    }
}

/// A libsensors error code, with libsensors' own message.
public struct SensorReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "libsensors error \(code): \(message)" }
}

public enum SensorMapping {
    /// The metric key of a feature: `hwmon.<chip>.<feature>`, e.g. `hwmon.coretemp-isa-0000.temp1`.
    public static func key(chip: String, feature: String) -> String {
        "hwmon.\(chip).\(feature)"
    }

    /// Limits from the hardware's own thresholds. Temperatures, voltages, currents and power:
    /// `max` is a warning and `crit` critical, `min` and `lcrit` their low counterparts. Fans:
    /// `min` is a low warning, `max` a high warning. A high limit of exactly 0 is how many
    /// drivers say "not set", so it is dropped; low limits of 0 are harmless and kept.
    public static func limits(_ values: [LimitRole: Double]) -> Limits {
        func high(_ value: Double?) -> Double? {
            guard let value, value != 0, value.isFinite else { return nil }
            return value
        }
        func low(_ value: Double?) -> Double? {
            guard let value, value.isFinite else { return nil }
            return value
        }
        return Limits(lowCritical: low(values[.lowCritical]), lowWarning: low(values[.lowWarning]),
                      highWarning: high(values[.highWarning]), highCritical: high(values[.highCritical]))
    }

    /// The reading for one sample, with a fault when the input could not be read or the driver
    /// flags one.
    public static func reading(_ sample: SensorFeatureSample, source: String) -> Reading {
        let descriptor = descriptor(sample, source: source)
        if sample.driverReportsFault {
            return Reading(descriptor: descriptor, fault: "the driver reports a sensor fault")
        }
        switch sample.input {
        case .success(let value) where value.isFinite:
            return Reading(descriptor: descriptor, value: value)
        case .success(let value):
            return Reading(descriptor: descriptor, fault: "not a finite number: \(value)")
        case .failure(let error):
            return Reading(descriptor: descriptor, fault: error.description)
        }
    }

    public static func descriptor(_ sample: SensorFeatureSample, source: String) -> MetricDescriptor {
        var limits = limits(sample.limits)
        if sample.kind == .intrusion {
            // An intrusion alarm is 0 when closed and 1 once the chassis was opened.
            limits = Limits(highCritical: 0.5)
        }
        return MetricDescriptor(
            key: key(chip: sample.chip, feature: sample.feature), label: sample.label, metricClass: .health,
            unit: sample.kind.unit, source: source, replication: .dynamic, group: .sensors,
            component: sample.chip, prometheusName: sample.kind.prometheusName(powerAverage: sample.powerAverage),
            prometheusLabels: ["chip": sample.chip, "sensor": sample.feature],
            limits: limits)
    }
}
