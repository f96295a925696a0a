import Foundation
import Testing
import Model
@testable import Web

/// Parses the text exposition format back, strictly, to check what we write.
struct ParsedExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var help: [String: String] = [:]
    var types: [String: String] = [:]
    var samples: [Sample] = []

    struct ParseError: Error, CustomStringConvertible { var description: String }

    init(_ text: String) throws {
        #expect(text.hasSuffix("\n"))
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = String(rest.prefix(while: { $0 != " " }))
                guard help[name] == nil else { throw ParseError(description: "HELP twice for \(name)") }
                guard samples.allSatisfy({ $0.name != name }) else { throw ParseError(description: "HELP after samples of \(name)") }
                help[name] = String(rest.dropFirst(name.count + 1))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, types[String(parts[0])] == nil else { throw ParseError(description: "bad TYPE \(line)") }
                guard ["gauge", "counter", "untyped"].contains(parts[1]) else { throw ParseError(description: "type \(parts[1])") }
                types[String(parts[0])] = String(parts[1])
            } else {
                samples.append(try Self.sample(line))
            }
        }
    }

    static func sample(_ line: Substring) throws -> Sample {
        var index = line.startIndex
        var name = ""
        while index < line.endIndex, line[index] != "{", line[index] != " " {
            name.append(line[index])
            index = line.index(after: index)
        }
        guard name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else {
            throw ParseError(description: "bad metric name \(name)")
        }
        var labels: [String: String] = [:]
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while line[index] != "}" {
                var labelName = ""
                while line[index] != "=" {
                    labelName.append(line[index])
                    index = line.index(after: index)
                }
                guard labelName.range(of: "^[a-zA-Z_][a-zA-Z0-9_]*$", options: .regularExpression) != nil else {
                    throw ParseError(description: "bad label name \(labelName)")
                }
                index = line.index(after: index)
                guard line[index] == "\"" else { throw ParseError(description: "label value must be quoted in \(line)") }
                index = line.index(after: index)
                var value = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        index = line.index(after: index)
                        switch line[index] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw ParseError(description: "bad escape in \(line)")
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                guard labels[labelName] == nil else { throw ParseError(description: "label \(labelName) twice") }
                labels[labelName] = value
                index = line.index(after: index)
                if line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index)
        }
        guard index < line.endIndex, line[index] == " " else { throw ParseError(description: "no value in \(line)") }
        let valueText = line[line.index(after: index)...]
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let parsed = Double(valueText) else { throw ParseError(description: "bad value \(valueText)") }
            value = parsed
        }
        return Sample(name: name, labels: labels, value: value)
    }
}

@Suite struct PrometheusTests {
    func exposition() throws -> (Response, ParsedExposition) {
        let response = try Fixture.app().get("/metrics", MemoryStateSource())
        return (response, try ParsedExposition(response.bodyText))
    }

    @Test func contentTypeIsTextFormat004() throws {
        let (response, _) = try exposition()
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test func everyNumericMetricOfEverySlotAppears() throws {
        let (_, parsed) = try exposition()
        let snapshot = Fixture.snapshot()
        var expected = 0
        for slot in snapshot.slots {
            for metric in slot.metrics where metric.value != nil && metric.descriptor.unit != "text" {
                expected += 1
                let descriptor = metric.descriptor
                // node_exporter's series carry its labels only (no `label`), as node_exporter's do.
                let isNode = descriptor.prometheusName.hasPrefix("node_")
                let match = parsed.samples.first { (sample: ParsedExposition.Sample) -> Bool in
                    guard sample.name == descriptor.prometheusName, sample.labels["slot"] == String(slot.slotID) else { return false }
                    if !isNode { return sample.labels["label"] == descriptor.label }
                    if sample.labels["label"] != nil { return false }
                    return descriptor.prometheusLabels.allSatisfy { sample.labels[$0.key] == $0.value }
                }
                // Prometheus' base units: a percentage is a ratio.
                let exported = metric.descriptor.unit == "percent" ? metric.value.map { $0 / 100 } : metric.value
                #expect(match?.value == exported, "\(slot.slotID) \(metric.descriptor.key)")
                #expect(match?.labels["chassis"] == Fixture.chassisID)
                for (name, value) in metric.descriptor.prometheusLabels { #expect(match?.labels[name] == value) }
            }
        }
        let metricSamples = parsed.samples.filter { !$0.name.hasPrefix("chassis_manager_") && $0.name != "node_hwmon_sensor_label" }
        #expect(metricSamples.count == expected + snapshot.chassisMetrics.count)
    }

    @Test func helpAndTypeOncePerNameBeforeItsSamples() throws {
        let (response, parsed) = try exposition()
        for sample in parsed.samples {
            #expect(parsed.help[sample.name] != nil, "\(sample.name)")
            #expect(parsed.types[sample.name] != nil, "\(sample.name)")
        }
        #expect(parsed.types["node_network_receive_bytes_total"] == "counter")
        #expect(parsed.types["node_hwmon_temp_celsius"] == "gauge")
        // Samples of one name are contiguous.
        var seen: [String] = []
        for line in response.bodyText.split(separator: "\n") where !line.hasPrefix("#") {
            let name = String(line.prefix(while: { $0 != "{" && $0 != " " }))
            if seen.last != name {
                #expect(!seen.contains(name), "\(name) is not contiguous")
                seen.append(name)
            }
        }
    }

    @Test func hostileLabelValuesRoundTrip() throws {
        let (_, parsed) = try exposition()
        // A sensor's label is node_exporter's info series' (its values carry none), escaped and parsed back whole.
        #expect(parsed.samples.contains {
            $0.name == "node_hwmon_sensor_label" && $0.labels["label"] == "Package \"id\" 0\\n\n<b>" && $0.labels["slot"] == "2"
                && $0.labels["chip"] == "coretemp-isa-0000" && $0.labels["sensor"] == "temp1" && $0.value == 1
        })
        #expect(parsed.samples.contains { $0.name == "chassis_manager_module_info" && $0.labels["serial"] == "SN-2<x>" })
    }

    @Test func ourLabelsWinAndTheirsAreKept() throws {
        let (_, parsed) = try exposition()
        let fan = try #require(parsed.samples.first { $0.name == "node_hwmon_fan_rpm" })
        #expect(fan.labels["slot"] == "0")
        #expect(fan.labels["exported_slot"] == "tray")
    }

    @Test func statusAlertAndRoleGauges() throws {
        let (_, parsed) = try exposition()
        let chassis = parsed.samples.filter { $0.name == "chassis_manager_chassis_status" }
        #expect(chassis.count == Status.allCases.count)
        #expect(chassis.first { $0.labels["status"] == "critical" }?.value == 1)
        #expect(chassis.filter { $0.value == 1 }.count == 1)
        #expect(parsed.samples.first { $0.name == "chassis_manager_slot_status" && $0.labels["slot"] == "4" && $0.labels["status"] == "down" }?.value == 1)
        #expect(parsed.samples.first { $0.name == "chassis_manager_alerts_unacknowledged" && $0.labels["severity"] == "warning" }?.value == 1)
        #expect(parsed.samples.first { $0.name == "chassis_manager_alerts_raised" && $0.labels["severity"] == "critical" }?.value == 1)
        #expect(parsed.samples.first { $0.name == "chassis_manager_active" }?.value == 1)
        #expect(parsed.samples.first { $0.name == "chassis_manager_engine_stale" }?.value == 0)
    }

    @Test(arguments: [
        ("node_hwmon_temp_celsius", "node_hwmon_temp_celsius"), ("9lives", "_lives"), ("a.b-c", "a_b_c"), ("", "_"), ("a:b", "a:b"),
    ])
    func metricNames(raw: String, expected: String) {
        #expect(PrometheusExposition.metricName(raw) == expected)
    }

    @Test(arguments: [(Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (42.0, "42"), (0.5, "0.5"), (1e-7, "1e-07")])
    func numbers(value: Double, expected: String) {
        #expect(PrometheusExposition.number(value) == expected)
    }
}
