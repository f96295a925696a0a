import Model

/// Prometheus text exposition format 0.0.4 of a snapshot.
///
/// Every numeric metric of every slot (slot `0` is the chassis's own devices) appears under its
/// descriptor's `prometheusName`, with the descriptor's labels plus `chassis`, `slot` and `label`;
/// `HELP` and `TYPE` once per name; then status, alert and role gauges of our own.
public enum PrometheusExposition {
    /// - Parameter notifications: the active manager's delivery counts (staff only).
    public static func render(snapshot: ChassisSnapshot, stale: Bool, local: LocalView?,
                              notifications: [NotificationStatus]? = nil) -> String {
        var families: [String: Family] = [:]
        var order: [String] = []
        let chassisID = snapshot.chassis.chassisID

        func add(_ name: String, help: String, type: String, labels: [(String, String)], value: Double) {
            let name = metricName(name)
            if families[name] == nil {
                families[name] = Family(help: help, type: type)
                order.append(name)
            }
            families[name]!.add(labels: labels, value: value)
        }

        func addMetric(_ metric: MetricValue, slot: Int) {
            guard var value = metric.value, metric.descriptor.unit != "text" else { return }
            let descriptor = metric.descriptor
            let name = descriptor.prometheusName.isEmpty ? "chassis_" + descriptor.key : descriptor.prometheusName
            // Prometheus' base units: a percentage is exported as a ratio, days as seconds.
            switch descriptor.unit {
            case "percent": value /= 100
            case "days": value *= 86_400
            default: break
            }
            // node_exporter's series keep node_exporter's labels (and ours for the place): no `label`,
            // so that the queries and dashboards written for node_exporter work unchanged.
            let ours: [(String, String)] = name.hasPrefix("node_")
                ? [("chassis", chassisID), ("slot", String(slot))]
                : [("chassis", chassisID), ("slot", String(slot)), ("label", descriptor.label)]
            var labels = ours
            for (name, labelValue) in descriptor.prometheusLabels.sorted(by: { $0.key < $1.key }) {
                let clean = labelName(name)
                // The chassis, slot and label labels are ours; a descriptor's own keeps its value as exported_NAME.
                if ours.contains(where: { $0.0 == clean }) {
                    labels.append(("exported_" + clean, labelValue))
                } else if !labels.contains(where: { $0.0 == clean }) {
                    labels.append((clean, labelValue))
                }
            }
            let type = name.hasSuffix("_total") ? "counter" : "gauge"
            let unit = descriptor.unit.isEmpty || descriptor.unit == "state" ? ""
                : " (\(descriptor.unit == "percent" ? "ratio" : descriptor.unit == "days" ? "seconds" : descriptor.unit))"
            add(name, help: "Chassis Manager \(descriptor.metricClass.rawValue) metric\(unit), per chassis and slot.", type: type,
                labels: labels, value: value)
            // A sensor's human label, as node_exporter gives it: an info series beside the values.
            if name.hasPrefix("node_hwmon_"), let chip = descriptor.prometheusLabels["chip"],
               let sensor = descriptor.prometheusLabels["sensor"] {
                add("node_hwmon_sensor_label", help: "Label of a hardware sensor (libsensors).", type: "gauge",
                    labels: [("chassis", chassisID), ("slot", String(slot)), ("chip", chip), ("sensor", sensor),
                             ("label", descriptor.label)], value: 1)
            }
        }

        for metric in snapshot.chassisMetrics { addMetric(metric, slot: 0) }
        for slot in snapshot.slots {
            for metric in slot.metrics { addMetric(metric, slot: slot.slotID) }
        }

        for status in Status.allCases {
            add("chassis_manager_chassis_status", help: "Chassis status: 1 for the current status, 0 for the others.",
                type: "gauge", labels: [("chassis", chassisID), ("status", status.rawValue)],
                value: snapshot.chassis.status == status ? 1 : 0)
        }
        // The module in each slot, as node_exporter's *_info series: the identity is in the labels.
        for slot in snapshot.slots {
            guard let module = slot.module else { continue }
            add("chassis_manager_module_info", help: "The module in a slot: serial, model, revision and manufacturer.",
                type: "gauge", labels: [("chassis", chassisID), ("slot", String(slot.slotID)), ("serial", module.serial),
                                        ("model", module.model), ("revision", module.revision),
                                        ("manufacturer", module.manufacturer)], value: 1)
        }
        for slot in snapshot.slots {
            for status in Status.allCases {
                add("chassis_manager_slot_status", help: "Slot status: 1 for the current status, 0 for the others.",
                    type: "gauge", labels: [("chassis", chassisID), ("slot", String(slot.slotID)), ("status", status.rawValue)],
                    value: slot.status == status ? 1 : 0)
            }
        }
        for severity in [Severity.warning, Severity.critical] {
            let raised = snapshot.alerts.filter { $0.severity == severity && $0.clearedAt == nil }.count
            let unacknowledged = snapshot.alerts.filter { $0.severity == severity && $0.acknowledgedAt == nil }.count
            add("chassis_manager_alerts_raised", help: "Alerts raised and not yet cleared.", type: "gauge",
                labels: [("chassis", chassisID), ("severity", severity.rawValue)], value: Double(raised))
            add("chassis_manager_alerts_unacknowledged", help: "Alerts not yet acknowledged by an operator.", type: "gauge",
                labels: [("chassis", chassisID), ("severity", severity.rawValue)], value: Double(unacknowledged))
        }
        add("chassis_manager_engine_stale", help: "1 when the engine stopped updating the store; values are the last known.",
            type: "gauge", labels: [("chassis", chassisID)], value: stale ? 1 : 0)
        if let updatedAt = snapshot.engine.updatedAt {
            add("chassis_manager_engine_last_update_timestamp_seconds", help: "When the engine last updated the store.",
                type: "gauge", labels: [("chassis", chassisID)], value: updatedAt)
        }
        if let local {
            let labels = [("chassis", chassisID), ("slot", String(local.slotID)), ("blade", local.blade)]
            add("chassis_manager_active", help: "1 when this blade is the active manager with a valid lease.",
                type: "gauge", labels: labels, value: RedirectRule.isActive(local) ? 1 : 0)
            add("chassis_manager_term", help: "Election term this blade knows.", type: "gauge", labels: labels,
                value: Double(local.term))
        }
        for status in notifications ?? [] {
            let labels = [("chassis", chassisID), ("target", status.target)]
            add("chassis_notifications_sent_total", help: "Notifications delivered by this blade as active manager.",
                type: "counter", labels: labels, value: Double(status.sent))
            add("chassis_notifications_failed_total", help: "Notification deliveries that failed (each retried).",
                type: "counter", labels: labels, value: Double(status.failed))
            add("chassis_notifications_dropped_total", help: "Events the log no longer held when their target could take them.",
                type: "counter", labels: labels, value: Double(status.dropped))
        }

        var out = ""
        for name in order {
            let family = families[name]!
            out += "# HELP \(name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(name) \(family.type)\n"
            for sample in family.samples {
                out += name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " " + number(sample.value) + "\n"
            }
        }
        return out
    }

    struct Family {
        var help: String
        var type: String
        var samples: [(labels: [(String, String)], value: Double)] = []
        var seen: Set<[String]> = []

        /// A second sample with the same labels would make the exposition invalid: keep the first.
        mutating func add(labels: [(String, String)], value: Double) {
            let identity = labels.flatMap { [$0.0, $0.1] }
            guard seen.insert(identity).inserted else { return }
            samples.append((labels, value))
        }
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else becomes `_`.
    public static func metricName(_ name: String) -> String {
        sanitise(name, allowColon: true)
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`; anything else becomes `_`.
    public static func labelName(_ name: String) -> String {
        sanitise(name, allowColon: false)
    }

    private static func sanitise(_ name: String, allowColon: Bool) -> String {
        var out = ""
        for (index, scalar) in name.unicodeScalars.enumerated() {
            let isLetter = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
                || (allowColon && scalar == ":")
            let isDigit = ("0"..."9").contains(scalar)
            if isLetter || (isDigit && index > 0) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "_"
            }
        }
        return out.isEmpty ? "_" : out
    }

    /// Label values escape backslash, double quote and line feed.
    public static func escapeLabelValue(_ value: String) -> String { escape(value, quotes: true) }

    /// HELP text escapes backslash and line feed.
    public static func escapeHelp(_ value: String) -> String { escape(value, quotes: false) }

    private static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"" where quotes: out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// Go's float syntax as Prometheus parses it: `+Inf`, `-Inf`, `NaN`, else a decimal.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
