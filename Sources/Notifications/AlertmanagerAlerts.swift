#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Model

/// The body of Alertmanager's `POST /api/v2/alerts`: every open alert (sent again while it is
/// open, so that Alertmanager keeps it firing and a new active manager re-asserts what it
/// inherits) and the recently cleared ones with their `endsAt` (so that it resolves them).
///
/// Alertmanager tells alerts apart by their labels, so the labels are what identifies the
/// condition: `alertname`, `chassis`, `chassis_id`, `slot`, `metric` and `severity`, with the
/// module's serial as `module` where known. The same condition sent by two active managers in
/// turn is one alert there.
public enum AlertmanagerAlerts {
    /// An open alert is sent with an `endsAt` this far ahead, renewed on every send: if every
    /// manager of the chassis is gone, Alertmanager resolves it after this long (as Prometheus
    /// does with four times its evaluation interval).
    public static let openValiditySeconds = 180.0
    /// How often open alerts are sent again while nothing changes.
    public static let resendSeconds = 30.0
    /// Cleared alerts are sent with their end for this long after they cleared.
    public static let clearedResendSeconds = 600.0

    struct Entry: Encodable {
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String?
    }

    public struct Context: Sendable {
        public var chassisID: String
        public var chassisName: String
        /// The serial number of the module in each slot.
        public var modules: [Int: String]
        /// The chassis' address (`https://…`), for links back.
        public var baseURL: String?

        public init(chassisID: String, chassisName: String, modules: [Int: String], baseURL: String?) {
            self.chassisID = chassisID
            self.chassisName = chassisName
            self.modules = modules
            self.baseURL = baseURL
        }
    }

    public static func labels(_ alert: Alert, _ context: Context) -> [String: String] {
        var labels = ["alertname": alertName(alert.metricKey), "chassis": context.chassisName, "chassis_id": context.chassisID,
                      "slot": alert.slotID.map(String.init) ?? "chassis", "metric": alert.metricKey,
                      "severity": alert.severity.rawValue]
        if let slot = alert.slotID, let module = context.modules[slot], !module.isEmpty { labels["module"] = module }
        return labels
    }

    /// `ChassisCpuUsage` from `cpu.usage`: a name in Alertmanager's label alphabet.
    public static func alertName(_ metricKey: String) -> String {
        var name = "Chassis"
        var upper = true
        for scalar in metricKey.unicodeScalars {
            let isAlphanumeric = (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
                || (scalar.value >= 0x61 && scalar.value <= 0x7A)
            guard isAlphanumeric else { upper = true; continue }
            let text = String(Character(scalar))
            name += upper ? text.uppercased() : text
            upper = false
        }
        return String(name.prefix(128))
    }

    public static func body(_ alerts: [Alert], context: Context, now: Double) throws -> [UInt8] {
        let entries = alerts.map { alert in
            var annotations = ["summary": alert.message, "label": alert.metricLabel, "alert_id": String(alert.id)]
            if let value = alert.value { annotations["value"] = "\(value)" }
            if let by = alert.acknowledgedBy { annotations["acknowledged_by"] = by }
            let link = context.baseURL.map { base in
                "\(base)/alerts?slot=\(alert.slotID ?? 0)&state=all"
            }
            return Entry(labels: labels(alert, context), annotations: annotations, startsAt: timestamp(alert.raisedAt),
                         endsAt: timestamp(alert.clearedAt ?? now + openValiditySeconds), generatorURL: link)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(entries))
    }

    static func timestamp(_ at: Double) -> String { SyslogMessage.timestamp(at) }
}
