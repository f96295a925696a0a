import Testing
import Model
@testable import Metrics

@Suite("libsensors features to readings (pure)")
struct SensorMappingTests {
    @Test(arguments: [
        (SensorKind.temperature, "celsius", "node_hwmon_temp_celsius"),
        (.fan, "rpm", "node_hwmon_fan_rpm"),
        (.voltage, "volts", "node_hwmon_in_volts"),
        (.power, "watts", "node_hwmon_power_input_watt"),
        (.current, "amperes", "node_hwmon_curr_amps"),
        (.humidity, "percent", "chassis_hwmon_humidity_ratio"),
        (.intrusion, "state", "chassis_hwmon_intrusion_alarm"),
    ])
    func unitsAndNames(kind: SensorKind, unit: String, prometheusName: String) {
        #expect(kind.unit == unit)
        #expect(kind.prometheusName() == prometheusName)
    }

    @Test func powerAverageUsesNodeExporterName() {
        #expect(SensorKind.power.prometheusName(powerAverage: true) == "node_hwmon_power_average_watt")
    }

    @Test(arguments: [
        ([LimitRole.highWarning: 84.0, .highCritical: 100.0], Limits(highWarning: 84, highCritical: 100)),
        ([.lowCritical: 10.8, .lowWarning: 11.4, .highWarning: 12.6, .highCritical: 13.2],
         Limits(lowCritical: 10.8, lowWarning: 11.4, highWarning: 12.6, highCritical: 13.2)),
        ([.lowWarning: 600], Limits(lowWarning: 600)),
        // A high limit of 0 is a driver's "not set"; a low limit of 0 is kept.
        ([.lowWarning: 0, .highWarning: 0, .highCritical: 0], Limits(lowWarning: 0)),
        ([:], Limits.none),
    ])
    func limitsTable(values: [LimitRole: Double], expected: Limits) {
        #expect(SensorMapping.limits(values) == expected)
    }

    @Test func readingCarriesKeyLabelsAndLimits() {
        let sample = SensorFeatureSample(chip: "coretemp-isa-0000", feature: "temp1", label: "Package id 0",
                                         kind: .temperature, input: .success(45.5),
                                         limits: [.highWarning: 84, .highCritical: 100])
        let reading = SensorMapping.reading(sample, source: "libsensors")
        #expect(reading.value == 45.5)
        #expect(reading.fault == nil)
        let descriptor = reading.descriptor
        #expect(descriptor.key == "hwmon.coretemp-isa-0000.temp1")
        #expect(descriptor.label == "Package id 0")
        #expect(descriptor.metricClass == .health)
        #expect(descriptor.group == .sensors)
        #expect(descriptor.component == "coretemp-isa-0000")
        #expect(descriptor.prometheusLabels == ["chip": "coretemp-isa-0000", "sensor": "temp1"])
        #expect(descriptor.limits == Limits(highWarning: 84, highCritical: 100))
    }

    @Test(arguments: [
        (Result<Double, SensorReadError>.failure(SensorReadError(code: -3, message: "Can't read")), false, "libsensors error -3: Can't read"),
        (.success(.nan), false, "not a finite number: nan"),
        (.success(40), true, "the driver reports a sensor fault"),
    ])
    func faults(input: Result<Double, SensorReadError>, driverFault: Bool, message: String) {
        let sample = SensorFeatureSample(chip: "nct6779-isa-0290", feature: "fan1", label: "CPU Fan", kind: .fan,
                                         input: input, driverReportsFault: driverFault)
        let reading = SensorMapping.reading(sample, source: "libsensors")
        #expect(reading.value == nil)
        #expect(reading.fault == message)
    }

    @Test func intrusionIsCriticalWhenSet() {
        let sample = SensorFeatureSample(chip: "it87-isa-0290", feature: "intrusion0", label: "Chassis",
                                         kind: .intrusion, input: .success(1))
        #expect(SensorMapping.reading(sample, source: "libsensors").descriptor.limits == Limits(highCritical: 0.5))
    }
}
