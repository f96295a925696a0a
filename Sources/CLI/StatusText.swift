import Foundation
import Model

/// The console view of a snapshot: the hierarchy with current values, statuses and alerts.
enum StatusText {
    static func render(_ snapshot: ChassisSnapshot, local: LocalView, now: Double) -> String {
        var out = ""
        let chassis = snapshot.chassis
        let location = [("site", chassis.site), ("row", chassis.row), ("rack", chassis.rack), ("shelf", chassis.shelf)]
            .filter { !$0.1.isEmpty }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        out += "\(chassis.name) (chassis \(chassis.chassisID))  \(location)  [\(chassis.status.rawValue.uppercased())]\n"
        out += "this blade: \(local.blade) \(local.address), role \(local.role), term \(local.term)"
        if let active = local.activeAddress { out += ", active manager \(active)" }
        out += "\n"
        if let updated = snapshot.engine.updatedAt {
            out += snapshot.engine.stale
                ? "ENGINE STALE since \(time(updated)): values below are the last known\n"
                : "engine updated \(String(format: "%.1f", max(0, now - updated))) s ago\n"
        } else {
            out += "ENGINE NOT RUNNING: no values yet\n"
        }
        let open = snapshot.alerts.filter { $0.clearedAt == nil }
        if !open.isEmpty {
            out += "\nALERTS (\(open.count) raised)\n"
            for alert in open.prefix(20) {
                let place = alert.slotID.map { "slot \($0)" } ?? "chassis"
                let acknowledged = alert.acknowledgedAt != nil ? " (acknowledged by \(alert.acknowledgedBy ?? "?"))" : ""
                out += "  #\(alert.id) \(alert.severity.rawValue.uppercased()) \(place): \(alert.message), since \(time(alert.raisedAt))\(acknowledged)\n"
            }
        }
        for slot in snapshot.slots {
            out += "\nslot \(slot.slotID)"
            if !slot.name.isEmpty { out += " \"\(slot.name)\"" }
            out += " (\(slot.moduleType.role)) [\(slot.status.rawValue.uppercased())]"
            if let down = slot.downSince { out += " down since \(time(down))" }
            if let power = slot.power, !power.powered {
                out += " powered off" + (power.changedBy.map { " by \($0)" } ?? "") + (power.changedAt.map { " at \(time($0))" } ?? "")
            }
            if slot.power?.identify == true { out += " (identify LED lit)" }
            out += "\n"
            guard let module = slot.module else {
                if slot.metrics.isEmpty { out += "  empty\n" }
                continue
            }
            out += "  module \(module.serial) \(module.model) rev \(module.revision), \(module.manufacturer), installed \(time(module.installedAt))\n"
            let components = Dictionary(grouping: slot.metrics.filter {
                $0.descriptor.unit != "text" && $0.descriptor.component != MetricDescriptor.countersComponent
            }, by: { $0.descriptor.component })
            for component in components.keys.sorted() {
                out += "  \(component)\n"
                for metric in components[component]!.sorted(by: { $0.descriptor.key < $1.descriptor.key }) {
                    let marker = metric.status == .ok ? " " : "!"
                    out += "   \(marker) \(pad(metric.descriptor.label, 32)) \(value(metric)) \(metric.status == .ok ? "" : metric.status.rawValue)\n"
                }
            }
        }
        if !snapshot.chassisMetrics.isEmpty {
            out += "\nchassis devices\n"
            for metric in snapshot.chassisMetrics {
                out += "    \(pad(metric.descriptor.label, 32)) \(value(metric)) \(metric.status.rawValue)\n"
            }
        }
        return out
    }

    static func value(_ metric: MetricValue) -> String {
        Format.value(metric.value, text: metric.text, fault: metric.fault, unit: metric.descriptor.unit)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }

    static func time(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
