#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@preconcurrency import CSensors
import Model

/// Health readings from the real libsensors: every chip and feature it reports (temperature,
/// fan, voltage, power, current, humidity, intrusion) with the hardware's limits.
///
/// Keys are `hwmon.<chip>.<feature>` (`hwmon.coretemp-isa-0000.temp1`). A subfeature whose value
/// cannot be read (a garbage or empty file, a vanished chip) becomes a reading with a `fault`.
public final class SensorsCollector: Collector {
    public let name = "libsensors"
    public let group = SamplingGroup.sensors
    public let library: SensorsLibrary
    /// A bound on features per sample, so that a broken driver listing thousands cannot flood the store.
    public static let featuresMax = 1_024
    private var cache: [String: (label: String, limits: Limits, descriptor: MetricDescriptor)] = [:]

    public init(library: SensorsLibrary) {
        self.library = library
    }

    public func collect() throws -> [Reading] {
        guard library.isInitialised else {
            throw SensorsLibrary.OpenError.initFailed(code: 0, message: "libsensors is not initialised (failed rescan)")
        }
        let samples = library.withLock { Self.readSamples() }
        var readings: [Reading] = []
        readings.reserveCapacity(samples.count)
        for sample in samples {
            var reading = SensorMapping.reading(sample, source: name)
            // Reuse the descriptor when nothing about it changed, so strings and dictionaries
            // are shared rather than rebuilt on every sample.
            let key = reading.descriptor.key
            if let cached = cache[key], cached.label == sample.label, cached.limits == reading.descriptor.limits {
                reading.descriptor = cached.descriptor
            } else if cache.count < Self.featuresMax {
                cache[key] = (sample.label, reading.descriptor.limits, reading.descriptor)
            }
            readings.append(reading)
        }
        return readings
    }

    /// Walks libsensors' chips and features. Call with the library lock held.
    static func readSamples() -> [SensorFeatureSample] {
        var samples: [SensorFeatureSample] = []
        var chipIndex: Int32 = 0
        var nameBuffer = [CChar](repeating: 0, count: 256)
        while let chip = sensors_get_detected_chips(nil, &chipIndex) {
            let written = sensors_snprintf_chip_name(&nameBuffer, nameBuffer.count, chip)
            let chipName = written > 0 ? String(cString: nameBuffer) : "unknown-chip-\(chipIndex)"
            var featureIndex: Int32 = 0
            while let feature = sensors_get_features(chip, &featureIndex) {
                guard samples.count < featuresMax else { return samples }
                if let sample = sample(chip: chip, chipName: chipName, feature: feature) {
                    samples.append(sample)
                }
            }
        }
        return samples
    }

    private static func kind(_ type: sensors_feature_type) -> SensorKind? {
        switch type.rawValue {
        case SENSORS_FEATURE_TEMP.rawValue: return .temperature
        case SENSORS_FEATURE_FAN.rawValue: return .fan
        case SENSORS_FEATURE_IN.rawValue: return .voltage
        case SENSORS_FEATURE_POWER.rawValue: return .power
        case SENSORS_FEATURE_CURR.rawValue: return .current
        case SENSORS_FEATURE_HUMIDITY.rawValue: return .humidity
        case SENSORS_FEATURE_INTRUSION.rawValue: return .intrusion
        default: return nil
        }
    }

    /// What a subfeature is for: the input, a limit, the fault flag, or nothing we use.
    private enum Role {
        case input
        case averageInput
        case limit(LimitRole)
        case fault
    }

    private static func role(_ type: sensors_subfeature_type) -> Role? {
        switch type.rawValue {
        case SENSORS_SUBFEATURE_TEMP_INPUT.rawValue, SENSORS_SUBFEATURE_FAN_INPUT.rawValue,
             SENSORS_SUBFEATURE_IN_INPUT.rawValue, SENSORS_SUBFEATURE_POWER_INPUT.rawValue,
             SENSORS_SUBFEATURE_CURR_INPUT.rawValue, SENSORS_SUBFEATURE_HUMIDITY_INPUT.rawValue,
             SENSORS_SUBFEATURE_INTRUSION_ALARM.rawValue:
            return .input
        case SENSORS_SUBFEATURE_POWER_AVERAGE.rawValue:
            return .averageInput
        case SENSORS_SUBFEATURE_TEMP_MAX.rawValue, SENSORS_SUBFEATURE_IN_MAX.rawValue,
             SENSORS_SUBFEATURE_FAN_MAX.rawValue, SENSORS_SUBFEATURE_POWER_MAX.rawValue,
             SENSORS_SUBFEATURE_CURR_MAX.rawValue:
            return .limit(.highWarning)
        case SENSORS_SUBFEATURE_TEMP_CRIT.rawValue, SENSORS_SUBFEATURE_IN_CRIT.rawValue,
             SENSORS_SUBFEATURE_POWER_CRIT.rawValue, SENSORS_SUBFEATURE_CURR_CRIT.rawValue:
            return .limit(.highCritical)
        case SENSORS_SUBFEATURE_TEMP_MIN.rawValue, SENSORS_SUBFEATURE_IN_MIN.rawValue,
             SENSORS_SUBFEATURE_FAN_MIN.rawValue, SENSORS_SUBFEATURE_POWER_MIN.rawValue,
             SENSORS_SUBFEATURE_CURR_MIN.rawValue:
            return .limit(.lowWarning)
        case SENSORS_SUBFEATURE_TEMP_LCRIT.rawValue, SENSORS_SUBFEATURE_IN_LCRIT.rawValue,
             SENSORS_SUBFEATURE_POWER_LCRIT.rawValue, SENSORS_SUBFEATURE_CURR_LCRIT.rawValue:
            return .limit(.lowCritical)
        case SENSORS_SUBFEATURE_TEMP_FAULT.rawValue, SENSORS_SUBFEATURE_FAN_FAULT.rawValue:
            return .fault
        default:
            return nil
        }
    }

    private static func sample(chip: UnsafePointer<sensors_chip_name>, chipName: String,
                               feature: UnsafePointer<sensors_feature>) -> SensorFeatureSample? {
        guard let kind = kind(feature.pointee.type), let namePointer = feature.pointee.name else { return nil }
        let featureName = String(cString: namePointer)
        var label = featureName
        if let labelPointer = sensors_get_label(chip, feature) {
            label = String(cString: labelPointer)
            free(labelPointer)
        }
        var input: Result<Double, SensorReadError>?
        var averageInput: Result<Double, SensorReadError>?
        var limits: [LimitRole: Double] = [:]
        var faulted = false
        var subfeatureIndex: Int32 = 0
        while let subfeature = sensors_get_all_subfeatures(chip, feature, &subfeatureIndex) {
            guard subfeature.pointee.flags & UInt32(SENSORS_MODE_R) != 0,
                  let role = role(subfeature.pointee.type) else { continue }
            var value = 0.0
            let code = sensors_get_value(chip, subfeature.pointee.number, &value)
            let result: Result<Double, SensorReadError> = code == 0
                ? .success(value)
                : .failure(SensorReadError(code: code, message: SensorsLibrary.message(-code)))
            switch role {
            case .input: input = result
            case .averageInput: averageInput = result
            case .limit(let limit): if case .success(let value) = result { limits[limit] = value }
            case .fault: if case .success(let value) = result, value != 0 { faulted = true }
            }
        }
        // power1_input is preferred; power_meter and many PMBus drivers only offer power1_average.
        let powerAverage = input == nil && averageInput != nil
        guard let value = input ?? averageInput else {
            // A feature without any readable input subfeature (say, only an alarm): nothing to show.
            return nil
        }
        return SensorFeatureSample(chip: chipName, feature: featureName, label: label, kind: kind,
                                   input: value, limits: limits, driverReportsFault: faulted,
                                   powerAverage: powerAverage)
    }
}
