import Model

/// Checks a control request before anything is applied: a bad request changes nothing and gets
/// a message that says what is wrong.
public enum ControlValidation {
    public static let nameBytesMax = 256
    public static let keyBytesMax = 256
    public static let slotIDRange = 1...16
    public static let intervalMsRange = 100...3_600_000
    public static let minimumDurationSecondsMax = 86_400.0

    public static func problem(in request: ControlRequest) -> String? {
        switch request {
        case .ping:
            return nil
        case .setThreshold(let rule):
            return problem(in: rule)
        case .removeThreshold(let id):
            return id > 0 ? nil : "threshold id must be positive"
        case .setChassisInfo(let name, let site, let row, let rack, let shelf):
            for (field, value) in [("name", name), ("site", site), ("row", row), ("rack", rack), ("shelf", shelf)] {
                if let value, let problem = textProblem(value, field: field) { return problem }
            }
            return nil
        case .setSlot(let slotID, let name, let moduleType):
            guard slotIDRange.contains(slotID) else { return "slot must be between 1 and 16" }
            if let name, let problem = textProblem(name, field: "name") { return problem }
            if let moduleType {
                for (field, value) in [("role", moduleType.role), ("function", moduleType.function),
                                       ("expected model", moduleType.expectedModel)] {
                    if let problem = textProblem(value, field: field) { return problem }
                }
                if moduleType.role.isEmpty { return "role must not be empty" }
            }
            return nil
        case .acknowledgeAlert(let id, let by):
            guard id > 0 else { return "alert id must be positive" }
            return textProblem(by, field: "acknowledged by") ?? (by.isEmpty ? "say who acknowledges" : nil)
        case .setInterval(_, let intervalMs):
            return intervalMsRange.contains(intervalMs) ? nil
                : "interval must be between \(intervalMsRange.lowerBound) and \(intervalMsRange.upperBound) ms"
        case .addMember(let name, let address, let slot, let port, let priority, _):
            if name.isEmpty || name.utf8.count > 64
                || !name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }) {
                return "member name must be 1 to 64 letters, digits, '-', '_' or '.'"
            }
            let parts = address.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count != 4 || !parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) && Int($0)! <= 255 }) {
                return "member address must be an IPv4 address"
            }
            if let slot, !slotIDRange.contains(slot) { return "slot must be between 1 and 16" }
            if !(1...65535).contains(port) { return "port must be between 1 and 65535" }
            if let priority, !(-1000...1000).contains(priority) { return "priority must be between -1000 and 1000" }
            return nil
        case .removeMember(let name):
            return name.isEmpty || name.utf8.count > 64 ? "name the member to remove" : nil
        case .handOver(let target):
            return target.flatMap { textProblem($0, field: "member") }
        case .setSensor(let key, let value):
            if key.isEmpty || key.utf8.count > keyBytesMax { return "sensor key must be 1 to \(keyBytesMax) bytes" }
            if let value, !value.isFinite { return "sensor value must be a finite number" }
            return nil
        }
    }

    public static func problem(in rule: ThresholdRule) -> String? {
        if rule.metricKey.isEmpty || rule.metricKey.utf8.count > keyBytesMax {
            return "metric key must be 1 to \(keyBytesMax) bytes"
        }
        if rule.metricKey.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "metric key contains a control character"
        }
        if case .slot(let slot) = rule.scope, !slotIDRange.contains(slot) { return "slot must be between 1 and 16" }
        if case .chassis(let id) = rule.scope, let problem = textProblem(id, field: "chassis") { return problem }
        if case .moduleType(let role) = rule.scope, let problem = textProblem(role, field: "module type") { return problem }
        let limits = [rule.limits.lowCritical, rule.limits.lowWarning, rule.limits.highWarning, rule.limits.highCritical]
        if limits.contains(where: { $0.map { !$0.isFinite } ?? false }) { return "limits must be finite numbers" }
        let present = limits.compactMap { $0 }
        if present.isEmpty { return "give at least one limit" }
        if present != present.sorted() {
            return "limits must be ordered: low critical ≤ low warning ≤ high warning ≤ high critical"
        }
        if !rule.hysteresis.isFinite || rule.hysteresis < 0 { return "hysteresis must be zero or more" }
        if !rule.minimumDurationSeconds.isFinite || rule.minimumDurationSeconds < 0
            || rule.minimumDurationSeconds > minimumDurationSecondsMax {
            return "minimum duration must be between 0 and \(Int(minimumDurationSecondsMax)) seconds"
        }
        return nil
    }

    /// Names may hold any printable text (it is escaped when shown) but no control characters.
    public static func textProblem(_ value: String, field: String) -> String? {
        if value.utf8.count > nameBytesMax { return "\(field) is longer than \(nameBytesMax) bytes" }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(field) contains a control character"
        }
        return nil
    }
}
